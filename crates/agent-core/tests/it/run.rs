//! The tool loop of `ConversableAgent::run`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_core::{Role, RunOptions, StopReason, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::{agent, search_tool};

#[tokio::test]
async fn a_two_turn_tool_loop() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::tool_call("search_papers", json!({"query": "LLMs"})),
    );
    llm.when(
        Match::any().last_role("tool").last_message("found 2 papers"),
        Reply::text("Here are 2 papers about LLMs."),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let assistant = agent(&llm, "research_assistant", "You are a research assistant.");
    let response = assistant
        .run(
            RunOptions::new("Search for recent papers about LLMs")
                .tools([search_tool(calls.clone())])
                .max_turns(5),
        )
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.summary(), "Here are 2 papers about LLMs.");
    assert_eq!(response.last_speaker, "research_assistant");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let roles: Vec<Role> = response.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
    assert_eq!(response.usage.total_tokens, 30, "usage summed over both requests");

    // What went over the wire: the system message, the tool's schema, the tool result.
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["messages"][0]["content"], "You are a research assistant.");
    assert_eq!(requests[0]["tools"][0]["function"]["name"], "search_papers");
    assert_eq!(requests[0]["tools"][0]["function"]["parameters"]["required"], json!(["query"]));
    assert_eq!(requests[1]["messages"][3]["role"], "tool");
    assert_eq!(requests[1]["messages"][3]["content"], "found 2 papers about LLMs");
    assert_eq!(
        requests[1]["messages"][3]["tool_call_id"],
        requests[1]["messages"][2]["tool_calls"][0]["id"]
    );
}

#[derive(Deserialize, JsonSchema)]
struct Wait {
    /// A label.
    label: String,
}

#[tokio::test]
async fn parallel_tool_calls_run_concurrently_and_keep_their_order() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::ToolCalls(vec![
            ("wait".into(), json!({"label": "first"})),
            ("wait".into(), json!({"label": "second"})),
            ("wait".into(), json!({"label": "third"})),
        ]),
    );
    llm.when(Match::any().last_role("tool"), Reply::text("done"));
    // Each call waits until all three are running: run one after another, they never finish.
    let all_running = Arc::new(tokio::sync::Barrier::new(3));
    let wait = Tool::from_async_fn("wait", "Waits.", move |args: Wait| {
        let all_running = all_running.clone();
        async move {
            all_running.wait().await;
            args.label
        }
    });
    let waiter = agent(&llm, "a", "s");
    let run = waiter.run(RunOptions::new("go").tools([wait]));
    let response = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the three calls did not all run at once")
        .unwrap();
    let results: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(results, ["first", "second", "third"]);
}

#[tokio::test]
async fn bad_arguments_and_tool_errors_go_back_to_the_model() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(
        Match::any().last_role("user"),
        Reply::tool_call("search_papers", json!({"q": "wrong key"})),
        1,
    );
    llm.when_times(
        Match::any().last_message("invalid arguments"),
        Reply::tool_call("fail", json!({})),
        1,
    );
    llm.when(
        Match::any().last_message("Error: the archive is down"),
        Reply::text("Sorry, the archive is down."),
    );
    let fail = Tool::new("fail", "Always fails.", json!({"type": "object"}), |_| async {
        Err::<String, String>("the archive is down".to_owned())
    });
    let response = agent(&llm, "a", "s")
        .run(RunOptions::new("search").tools([search_tool(Arc::default()), fail]))
        .await
        .unwrap();
    let tool_texts: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(tool_texts.len(), 2);
    assert!(
        tool_texts[0].starts_with("Error: invalid arguments: missing field `query`"),
        "{}",
        tool_texts[0]
    );
    assert_eq!(tool_texts[1], "Error: the archive is down");
    assert_eq!(response.summary(), "Sorry, the archive is down.");
}

#[tokio::test]
async fn an_unknown_tool_is_reported_to_the_model() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(Match::any().last_role("user"), Reply::tool_call("nope", json!({})), 1);
    llm.when(Match::any().last_role("tool"), Reply::text("ok"));
    let response = agent(&llm, "a", "s")
        .run(RunOptions::new("go").tools([search_tool(Arc::default())]))
        .await
        .unwrap();
    let tool = response.messages.iter().find(|m| m.role == Role::Tool).unwrap();
    assert_eq!(
        tool.text(),
        "Error: there is no tool called \"nope\" to run; the tools are: search_papers"
    );
}

#[tokio::test]
async fn max_turns_ends_a_run_that_keeps_calling_tools() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::tool_call("search_papers", json!({"query": "again"})));
    let calls = Arc::new(AtomicUsize::new(0));
    let response = agent(&llm, "a", "s")
        .run(RunOptions::new("go").tools([search_tool(calls.clone())]).max_turns(3))
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::MaxTurns);
    assert_eq!(llm.requests().len(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn events_stream_during_the_run_and_stay_in_the_response() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::tool_call("search_papers", json!({"query": "LLMs"})),
    );
    llm.when(Match::any().last_role("tool"), Reply::text("Two papers."));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let response = agent(&llm, "assistant", "s")
        .run(RunOptions::new("go").tools([search_tool(Arc::default())]).events(sender))
        .await
        .unwrap();
    let mut streamed = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        streamed.push(event);
    }
    assert_eq!(streamed, response.events);
    let lines: Vec<String> = response.events.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            r#"assistant calls search_papers({"query":"LLMs"})"#,
            "  search_papers -> found 2 papers about LLMs",
            "assistant: Two papers.",
            "(run ended: answered)",
        ]
    );
    let processed = response.process().await.unwrap();
    assert_eq!(processed.last_message().unwrap().text(), "Two papers.");
}

#[tokio::test]
async fn events_arrive_before_the_run_ends() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().last_role("user"), Reply::tool_call("gate", json!({})));
    llm.when(Match::any().last_role("tool"), Reply::text("through the gate"));
    // The tool finishes only once the test has seen its call, so the run cannot end before.
    let (open, opened) = tokio::sync::oneshot::channel::<()>();
    let opened = Arc::new(tokio::sync::Mutex::new(Some(opened)));
    let gate = Tool::new("gate", "Waits for the test.", json!({"type": "object"}), move |_| {
        let opened = opened.clone();
        async move {
            if let Some(opened) = opened.lock().await.take() {
                let _ = opened.await;
            }
            "opened"
        }
    });
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let assistant = agent(&llm, "assistant", "s");
    let run = assistant.run(RunOptions::new("go").tools([gate]).events(sender));
    tokio::pin!(run);
    let first = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::select! {
            event = receiver.recv() => event.expect("an event"),
            _ = &mut run => panic!("the run ended before the test received any event"),
        }
    })
    .await
    .expect("no event within 30 s");
    assert!(
        matches!(&first, agent_core::Event::ToolCall { name, .. } if name == "gate"),
        "{first:?}"
    );
    open.send(()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), run).await.unwrap().unwrap();
    assert_eq!(response.summary(), "through the gate");
    let mut rest = vec![first];
    while let Ok(event) = receiver.try_recv() {
        rest.push(event);
    }
    assert_eq!(rest, response.events);
}
