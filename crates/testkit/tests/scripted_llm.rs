//! The scripted OpenAI-compatible server, checked over raw HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};

/// POSTs `body` to `base/chat/completions`; returns the status, the raw head and the body.
async fn post(base: &str, body: Value) -> (u16, String, String) {
    let address = base.trim_start_matches("http://").trim_end_matches("/v1").to_owned();
    tokio::task::spawn_blocking(move || {
        let body = body.to_string();
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, head.to_ascii_lowercase(), body.to_owned())
    })
    .await
    .unwrap()
}

fn request(system: &str, last: &str, tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| json!({"type": "function", "function": {"name": name, "parameters": {}}}))
        .collect();
    json!({
        "model": "gpt-test",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": last}],
        "tools": tools,
    })
}

#[tokio::test]
async fn rules_match_requests_and_the_queue_is_the_fallback() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().offers_tool("search").last_message("papers"),
        Reply::tool_call("search", json!({"q": "llm"})),
    );
    llm.when(Match::any().system("You are terse"), Reply::text("ok"));
    llm.push(Reply::text("from the queue"));

    let (status, _, body) =
        post(llm.base_url(), request("helpful", "find papers", &["search"])).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "search");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"q": "llm"})
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(body["usage"]["total_tokens"], 15);

    let (_, _, body) = post(llm.base_url(), request("You are terse", "hi", &[])).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["choices"][0]["message"]["content"],
        "ok"
    );

    let (_, _, body) = post(llm.base_url(), request("other", "hi", &[])).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["choices"][0]["message"]["content"],
        "from the queue"
    );

    let (status, _, body) = post(llm.base_url(), request("other", "hi", &[])).await;
    assert_eq!(status, 500);
    assert!(body.contains("no reply for this request"), "{body}");
    assert_eq!(llm.requests().len(), 4);
    assert_eq!(llm.requests()[0]["messages"][1]["content"], "find papers");
}

#[tokio::test]
async fn errors_carry_openai_bodies_and_retry_after() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(Match::any(), Reply::Status { code: 429, retry_after: Some(1) }, 1);
    llm.when(Match::any(), Reply::text("after the limit"));
    let (status, head, body) = post(llm.base_url(), request("s", "hi", &[])).await;
    assert_eq!(status, 429);
    assert!(head.contains("retry-after: 1"), "{head}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["type"],
        "rate_limit_exceeded"
    );
    let (status, _, _) = post(llm.base_url(), request("s", "hi", &[])).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn streaming_replies_end_with_done() {
    let llm = ScriptedLlm::start().await;
    llm.push(Reply::ToolCalls(vec![("a".into(), json!({})), ("b".into(), json!({"x": 1}))]));
    let mut body = request("s", "hi", &["a", "b"]);
    body["stream"] = json!(true);
    let (status, head, text) = post(llm.base_url(), body).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let calls: Vec<String> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e.strip_prefix("data: ")?).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["name"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(calls, ["a", "b"]);
}

#[tokio::test]
async fn garbage_and_slow_replies() {
    let llm = ScriptedLlm::start().await;
    llm.push(Reply::Garbage);
    llm.push(Reply::Slow {
        delay: std::time::Duration::from_millis(200),
        then: Box::new(Reply::text("late")),
    });
    let (status, _, body) = post(llm.base_url(), request("s", "hi", &[])).await;
    assert_eq!((status, body.as_str()), (200, "this is not JSON"));
    let started = std::time::Instant::now();
    let (_, _, body) = post(llm.base_url(), request("s", "hi", &[])).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert!(body.contains("late"));
}
