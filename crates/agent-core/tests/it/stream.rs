//! Streamed answers (`RunOptions::stream`): text deltas, tool calls put together from their
//! pieces, usage, broken streams, retries and the deadline of the opening request, and the
//! offline planner, against the scripted LLM's `text/event-stream` answers over HTTP.

use std::sync::Arc;
use std::time::Duration;

use agent_core::{
    AgentError, ConversableAgent, Event, LLMConfig, ModelConfig, Role, RunOptions, StopReason, Tool,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{agent, llm_config};

/// Every event received so far.
fn received(receiver: &mut UnboundedReceiver<Event>) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        events.push(event);
    }
    events
}

/// The deltas among `events`.
fn deltas(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

const ANSWER: &str = "Here are two recent papers about large language models.";

#[tokio::test]
async fn text_deltas_arrive_in_order_and_make_the_final_text() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text(ANSWER));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let response = agent(&llm, "assistant", "s")
        .run(RunOptions::new("hi").stream(true).events(sender))
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.summary(), ANSWER);
    let events = received(&mut receiver);
    let pieces = deltas(&events);
    assert!(pieces.len() > 3, "several pieces: {pieces:?}");
    assert_eq!(pieces.concat(), ANSWER);
    // Every delta comes before the whole message, and names the agent.
    let whole = events.iter().position(|e| matches!(e, Event::TextMessage { .. })).unwrap();
    assert!(
        events[..whole]
            .iter()
            .all(|e| matches!(e, Event::TextDelta { agent, .. } if agent == "assistant"))
    );
    assert_eq!(
        events[whole],
        Event::TextMessage { agent: "assistant".into(), content: ANSWER.into() }
    );
    // Deltas are streamed only: the response keeps the whole message.
    assert!(!response.events.iter().any(|e| matches!(e, Event::TextDelta { .. })));
    assert_eq!(
        events.iter().filter(|e| !matches!(e, Event::TextDelta { .. })).collect::<Vec<_>>(),
        response.events.iter().collect::<Vec<_>>()
    );
    // Usage from the last chunk; the request asked for a stream with usage.
    assert_eq!(response.usage.total_tokens, 15);
    assert_eq!(llm.streamed(), [true]);
    assert_eq!(llm.requests()[0]["stream_options"], json!({"include_usage": true}));
    // The JSON line of a delta.
    let line = serde_json::to_string(&events[1]).unwrap();
    assert!(line.starts_with(r#"{"type":"text_delta","agent":"assistant","delta":"#), "{line}");
}

#[tokio::test]
async fn streaming_is_off_by_default() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text(ANSWER));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let response =
        agent(&llm, "assistant", "s").run(RunOptions::new("hi").events(sender)).await.unwrap();
    assert_eq!(response.summary(), ANSWER);
    assert!(deltas(&received(&mut receiver)).is_empty());
    assert_eq!(llm.streamed(), [false]);
    assert_eq!(llm.requests()[0].get("stream_options"), None);
}

#[derive(Deserialize, JsonSchema)]
struct Search {
    /// What to look for.
    query: String,
    /// How many results.
    max_results: u32,
}

fn search_tool(seen: Arc<std::sync::Mutex<Vec<(String, u32)>>>) -> Tool {
    Tool::from_async_fn("search_papers", "Searches arXiv.", move |args: Search| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push((args.query.clone(), args.max_results));
            format!("found {} papers about {}", args.max_results, args.query)
        }
    })
}

#[tokio::test]
async fn tool_calls_are_put_together_from_their_pieces_and_run() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::ToolCalls(vec![
            (
                "search_papers".into(),
                json!({"query": "large language models and their evaluation", "max_results": 3}),
            ),
            (
                "search_papers".into(),
                json!({"query": "retrieval-augmented generation", "max_results": 2}),
            ),
        ]),
    );
    llm.when(Match::any().last_role("tool"), Reply::text("Five papers in all."));
    let seen = Arc::default();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let response = agent(&llm, "assistant", "s")
        .run(
            RunOptions::new("search")
                .tools([search_tool(Arc::clone(&seen))])
                .stream(true)
                .events(sender),
        )
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("large language models and their evaluation".to_owned(), 3),
            ("retrieval-augmented generation".to_owned(), 2)
        ]
    );
    let call = &response.messages[2];
    assert_eq!(call.role, Role::Assistant);
    assert_eq!(call.content, None, "a reply that only calls tools has no text");
    let ids: Vec<&str> = call.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_1_0", "call_1_1"]);
    let arguments: Value = serde_json::from_str(&call.tool_calls[1].arguments).unwrap();
    assert_eq!(arguments, json!({"query": "retrieval-augmented generation", "max_results": 2}));
    // The scripted server sent the arguments in many fragments.
    let fragments = call.tool_calls[0].arguments.chars().count() / testkit::llm::ARGUMENT_FRAGMENT;
    assert!(fragments > 5, "{fragments}");
    let results: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(
        results,
        [
            "found 3 papers about large language models and their evaluation",
            "found 2 papers about retrieval-augmented generation"
        ]
    );
    assert_eq!(response.summary(), "Five papers in all.");
    assert_eq!(response.usage.total_tokens, 30, "usage summed over both streamed requests");
    assert_eq!(llm.streamed(), [true, true]);
    assert_eq!(deltas(&received(&mut receiver)).concat(), "Five papers in all.");
}

#[tokio::test]
async fn deltas_arrive_before_the_stream_ends() {
    let llm = ScriptedLlm::start().await;
    let resume = Arc::new(Notify::new());
    // The role chunk and two words, then the stream waits for the test.
    llm.when(
        Match::any(),
        Reply::PausedStream {
            after: 3,
            resume: resume.clone(),
            then: Box::new(Reply::text(ANSWER)),
        },
    );
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let assistant = agent(&llm, "assistant", "s");
    let run = assistant.run(RunOptions::new("hi").stream(true).events(sender));
    tokio::pin!(run);
    let first = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::select! {
            event = receiver.recv() => event.expect("an event"),
            _ = &mut run => panic!("the run ended before any delta arrived"),
        }
    })
    .await
    .expect("no delta within 30 s");
    assert_eq!(first, Event::TextDelta { agent: "assistant".into(), delta: "Here ".into() });
    resume.notify_one();
    let response = tokio::time::timeout(Duration::from_secs(30), run).await.unwrap().unwrap();
    assert_eq!(response.summary(), ANSWER);
    let rest = received(&mut receiver);
    assert_eq!(format!("Here {}", deltas(&rest).concat()), ANSWER);
}

#[tokio::test]
async fn a_stream_cut_midway_is_a_typed_error() {
    let replies = [
        (Reply::text(ANSWER), vec!["Here ", "are ", "two "]),
        (Reply::tool_call("search_papers", json!({"query": "LLMs"})), vec![]),
    ];
    for (reply, before_the_cut) in replies {
        let llm = ScriptedLlm::start().await;
        llm.when(Match::any(), Reply::CutStream { after: 4, then: Box::new(reply) });
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let err = agent(&llm, "assistant", "s")
            .run(
                RunOptions::new("hi")
                    .tools([search_tool(Arc::default())])
                    .stream(true)
                    .events(sender),
            )
            .await
            .unwrap_err();
        assert!(matches!(&err, AgentError::LlmStream { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("the LLM's streamed answer broke off: "), "{text}");
        assert!(
            text.ends_with("; try again, or turn streaming off (RunOptions::stream(false))"),
            "{text}"
        );
        assert!(text.contains("the connection failed"), "{text}");
        assert!(!text.contains("OpenAIError") && !text.contains("reqwest"), "{text}");
        assert_eq!(llm.requests().len(), 1, "a stream that began is not resent");
        // What arrived before the cut was passed on; no whole message followed.
        let events = received(&mut receiver);
        assert_eq!(deltas(&events), before_the_cut);
        assert!(!events.iter().any(|e| matches!(e, Event::TextMessage { .. })), "{events:?}");
    }
}

#[tokio::test]
async fn the_opening_request_is_retried() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(Match::any(), Reply::Status { code: 429, retry_after: Some(1) }, 1);
    llm.when(Match::any(), Reply::text(ANSWER));
    let response = agent(&llm, "a", "s").run(RunOptions::new("hi").stream(true)).await.unwrap();
    assert_eq!(response.summary(), ANSWER);
    assert_eq!(llm.streamed(), [true, true]);

    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::Status { code: 500, retry_after: None });
    let err = agent(&llm, "a", "s").run(RunOptions::new("hi").stream(true)).await.unwrap_err();
    assert!(matches!(&err, AgentError::Llm { status: Some(500), .. }), "{err:?}");
    assert_eq!(llm.requests().len(), 4, "one request and async-openai's three retries");
}

#[tokio::test]
async fn the_deadline_covers_the_opening_request() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any(),
        Reply::Slow { delay: Duration::from_secs(5), then: Box::new(Reply::text("late")) },
    );
    let config = llm_config(&llm).request_timeout(Duration::from_millis(300));
    let agent = ConversableAgent::builder("a").llm_config(config).build();
    let err = agent.run(RunOptions::new("hi").stream(true)).await.unwrap_err();
    assert!(
        matches!(err, AgentError::LlmTimeout { after } if after == Duration::from_millis(300)),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_offline_planner_sends_each_message_as_one_delta() {
    let tool = Tool::new(
        "search_papers",
        "Searches arXiv for papers matching a query.",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        |_| async { "2 papers: 2401.00001, 2401.00002" },
    );
    let offline = ConversableAgent::builder("assistant")
        .llm_config(LLMConfig::new(ModelConfig::offline()))
        .build();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let response = offline
        .run(
            RunOptions::new("Search for recent papers about large language models")
                .tools([tool])
                .stream(true)
                .events(sender),
        )
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    let events = received(&mut receiver);
    let pieces = deltas(&events);
    assert_eq!(pieces, [response.summary()], "the whole answer as one delta");
    assert!(response.summary().starts_with("[offline planner]"));
    let calls = events.iter().filter(|e| matches!(e, Event::ToolCall { .. })).count();
    assert_eq!(calls, 1, "the tool call is not a delta");
}
