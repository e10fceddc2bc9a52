//! The OpenAI-compatible client: retries, deadlines and errors, over real HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_core::{
    AgentError, ConversableAgent, LLMConfig, LlmConfigError, ModelConfig, RunOptions,
};
use testkit::llm::{Match, Reply, ScriptedLlm};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A loopback endpoint that answers every request with `status` and a body that is not OpenAI's
/// error JSON (testkit's scripted server always answers errors in OpenAI's format). Returns its
/// base URL and the count of requests.
async fn non_json_endpoint(status: u16, body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                // Read the head and the body it announces, then answer and close.
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 {status} Scripted\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, requests)
}

async fn error_of(status: u16, body: &'static str) -> (AgentError, usize) {
    let (base, requests) = non_json_endpoint(status, body).await;
    let config = LLMConfig::new(
        ModelConfig::openai("gpt-test").api_key("sk-test").base_url(base.parse().unwrap()),
    );
    let agent = ConversableAgent::builder("a").llm_config(config).build();
    let err = agent.run(RunOptions::new("hi")).await.unwrap_err();
    (err, requests.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_401_with_an_html_body_says_to_check_the_api_key() {
    let (err, requests) =
        error_of(401, "<html><body>\n<h1>401 Authorization Required</h1>\n</body></html>").await;
    assert!(matches!(&err, AgentError::Llm { status: Some(401), .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the LLM endpoint refused the request (HTTP 401): <html><body> <h1>401 Authorization Required</h1> </body></html>; check the API key (OPENAI_API_KEY)"
    );
    assert_eq!(requests, 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_404_with_a_text_body_says_to_check_the_model_and_base_url() {
    let (err, requests) = error_of(404, "404 page not found").await;
    assert_eq!(
        err.to_string(),
        "the LLM endpoint has no such model or path (HTTP 404): 404 page not found; check the model name and the base URL (OPENAI_MODEL, OPENAI_BASE_URL)"
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_500_with_an_html_body_is_reported_after_the_retries() {
    let (err, requests) = error_of(500, "<h1>Internal Server Error</h1>").await;
    assert_eq!(
        err.to_string(),
        "the LLM endpoint is failing (HTTP 500, still after 3 retries): <h1>Internal Server Error</h1>; try again later, or check the endpoint"
    );
    assert_eq!(requests, 4, "one request and three retries");
}

#[tokio::test]
async fn an_openai_shaped_500_reports_its_message() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::Status { code: 500, retry_after: None });
    let err = agent(&llm, "a", "s").run(RunOptions::new("hi")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the LLM endpoint is failing (HTTP 500, still after 3 retries): server_error: scripted failure (code: server_error); try again later, or check the endpoint"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_names_the_cause() {
    // A port that was free a moment ago: nothing listens there.
    let port =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let config = LLMConfig::new(ModelConfig::openai("m").base_url(base.parse().unwrap()));
    let err = ConversableAgent::builder("a")
        .llm_config(config)
        .build()
        .run(RunOptions::new("hi"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(&err, AgentError::Llm { status: None, .. }), "{err:?}");
    assert!(text.starts_with("the LLM request failed: error sending request for url"), "{text}");
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
    assert!(!text.contains("reqwest") && !text.contains("OpenAIError"), "{text}");
}

#[test]
fn configuration_errors_say_what_to_do() {
    let agent = ConversableAgent::builder("lonely").build();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let err = runtime.block_on(agent.run(RunOptions::new("hi"))).unwrap_err();
    assert!(
        matches!(&err, AgentError::Config(LlmConfigError::NoLlm { agent }) if agent == "lonely")
    );
    assert_eq!(
        err.to_string(),
        "agent \"lonely\" has no LLM; give it one with AgentBuilder::llm_config or AgentBuilder::llm_client"
    );
    let mut empty = LLMConfig::new(ModelConfig::offline());
    empty.config_list.clear();
    assert_eq!(
        empty.client().unwrap_err().to_string(),
        "the LLM config_list is empty; give LLMConfig::new a ModelConfig"
    );
    assert_eq!(
        AgentError::from(LlmConfigError::MissingApiKey).to_string(),
        "no LLM endpoint is configured; set OPENAI_API_KEY (or OPENAI_BASE_URL for a local endpoint), or use the offline planner"
    );
}
