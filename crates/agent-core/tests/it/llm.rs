//! The OpenAI-compatible client: retries, deadlines and errors, over real HTTP.

use std::time::Duration;

use agent_core::{AgentError, RunOptions};
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::{agent, llm_config};

#[tokio::test]
async fn a_429_then_success() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(Match::any(), Reply::Status { code: 429, retry_after: Some(1) }, 1);
    llm.when(Match::any(), Reply::text("answered after the rate limit"));
    let response = agent(&llm, "a", "s").run(RunOptions::new("hi")).await.unwrap();
    assert_eq!(response.summary(), "answered after the rate limit");
    assert_eq!(llm.requests().len(), 2);
}

#[tokio::test]
async fn five_hundreds_until_the_retry_budget_is_spent() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::Status { code: 500, retry_after: None });
    let err = agent(&llm, "a", "s").run(RunOptions::new("hi")).await.unwrap_err();
    assert!(matches!(&err, AgentError::Llm { status: Some(500), .. }), "{err:?}");
    // One request and async-openai's three retries.
    assert_eq!(llm.requests().len(), 4);
}

#[tokio::test]
async fn the_total_deadline_covers_retries() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any(),
        Reply::Slow { delay: Duration::from_secs(5), then: Box::new(Reply::text("late")) },
    );
    let config = llm_config(&llm).request_timeout(Duration::from_millis(300));
    let agent = agent_core::ConversableAgent::builder("a").llm_config(config).build();
    let started = std::time::Instant::now();
    let err = agent.run(RunOptions::new("hi")).await.unwrap_err();
    assert!(
        matches!(err, AgentError::LlmTimeout { after } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn garbage_is_a_typed_error() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::Garbage);
    let err = agent(&llm, "a", "s").run(RunOptions::new("hi")).await.unwrap_err();
    assert!(
        matches!(&err, AgentError::Llm { message, .. } if message.contains("not a chat completion")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_trailing_slash_on_the_base_url_is_fine() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text("ok"));
    let base = format!("{}/", llm.base_url());
    let config = agent_core::LLMConfig::new(
        agent_core::ModelConfig::openai("m").base_url(base.parse().unwrap()),
    );
    let agent = agent_core::ConversableAgent::builder("a").llm_config(config).build();
    assert_eq!(agent.run(RunOptions::new("hi")).await.unwrap().summary(), "ok");
}

#[test]
fn api_keys_never_print() {
    let config = agent_core::LLMConfig::new(
        agent_core::ModelConfig::openai("gpt-4o").api_key("sk-secret-123"),
    );
    assert!(!format!("{config:?}").contains("sk-secret-123"));
    let client = config.client().unwrap();
    assert_eq!(client.describe(), "gpt-4o at https://api.openai.com/v1");
}
