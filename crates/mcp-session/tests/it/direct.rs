//! Requests past rmcp's service loop (`mcp_sse::direct`): over stdio and legacy SSE a session
//! writes each request itself and its transport's reader hands it the answer; over streamable
//! HTTP on our own connections the caller `POST`s it and reads the answer itself. Seen from the
//! server through the progress token (sent when the session has a handler), which such a
//! request takes from its own id (numbered from `mcp_sse::direct::FIRST_ID` up), where rmcp's
//! requests number theirs from 0.

// Sampling is deprecated by SEP-2577 (2026-07-28) but part of every earlier version.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use mcp_session::mcp_config::{Protocol, ServerConfig, SseConfig};
use mcp_session::rmcp::ErrorData;
use mcp_session::rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, NumberOrString, ProgressNotificationParam,
    Role, SamplingMessage, SamplingMessageContentBlock,
};
use mcp_session::{HandlerCapabilities, MCPClientSessionManager, Session, SessionHandler};
use mcp_sse::direct::FIRST_ID;
use serde_json::json;

use crate::{HttpServer, stdio_server};

/// Records the progress tokens the server sends, and answers sampling when it announces it.
#[derive(Clone, Default)]
struct Recorder {
    tokens: Arc<Mutex<Vec<NumberOrString>>>,
    sampling: bool,
}

impl SessionHandler for Recorder {
    fn capabilities(&self) -> HandlerCapabilities {
        if self.sampling { HandlerCapabilities::default().sampling() } else { Default::default() }
    }

    fn on_progress(&self, _server: &str, progress: &ProgressNotificationParam) {
        self.tokens.lock().unwrap().push(progress.progress_token.0.clone());
    }

    fn create_message(
        &self,
        _server: &str,
        _request: CreateMessageRequestParams,
    ) -> futures::future::BoxFuture<'static, Result<CreateMessageResult, ErrorData>> {
        let message =
            SamplingMessage::new(Role::Assistant, SamplingMessageContentBlock::text("sampled"));
        Box::pin(async move { Ok(CreateMessageResult::new(message, "test-model".to_owned())) })
    }
}

/// Opens `config` with `recorder` as its handler, runs testkit's `progress` tool, and says
/// whether the request went past rmcp's loop (its progress token a direct request's id).
async fn went_direct(config: &ServerConfig, recorder: &Recorder) -> (Session, bool) {
    let manager = MCPClientSessionManager::builder().handler(recorder.clone()).build();
    let session = manager.open_session(config).await.unwrap();
    let result = session.call_tool("progress", json!({"steps": 2})).await.unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "2 steps done");
    // rmcp hands each notification to a task of its own: the answer may come first.
    for _ in 0..500 {
        if recorder.tokens.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let tokens = std::mem::take(&mut *recorder.tokens.lock().unwrap());
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let direct =
        tokens.iter().all(|token| matches!(token, NumberOrString::Number(n) if *n >= FIRST_ID));
    let through_rmcp =
        tokens.iter().all(|token| matches!(token, NumberOrString::Number(n) if *n < FIRST_ID));
    assert!(direct || through_rmcp, "{tokens:?}");
    (session, direct)
}

/// Sixteen calls at once, each answered with its own text.
async fn sixteen_at_once(session: &Session) {
    let calls = (0..16).map(|n| {
        let session = session.clone();
        tokio::spawn(async move {
            let text = format!("call {n}");
            let result = session.call_tool("echo", json!({ "text": text })).await.unwrap();
            assert_eq!(result.content[0].as_text().unwrap().text, text);
        })
    });
    for call in calls {
        call.await.unwrap();
    }
}

#[tokio::test]
async fn stdio_and_legacy_sse_requests_go_past_rmcps_loop() {
    let sse = HttpServer::start_mode("sse", &[]);
    let configs: [ServerConfig; 3] = [
        // 2025-11-25, through `initialize`.
        stdio_server(&[]).into(),
        // 2026-07-28, where every request carries the protocol version and the client's info
        // and capabilities in its `_meta`: rmcp's server refuses one without them.
        stdio_server(&[]).protocol(Protocol::Auto).into(),
        SseConfig::new("testkit-sse", &sse.url).unwrap().timeouts(crate::quick_timeouts()).into(),
    ];
    for config in &configs {
        let (session, direct) = went_direct(config, &Recorder::default()).await;
        let version = session.protocol_version();
        assert!(direct, "{} ({version:?})", config.server_name());
        sixteen_at_once(&session).await;
        // An error answer comes back the same way.
        let err = session.call_tool("no-such-tool", json!({})).await.unwrap_err();
        assert_eq!(err.kind(), "rpc", "{err}");
        session.close().await.unwrap();
    }
}

/// Without a handler, progress has nowhere to go: a call written past rmcp asks for none (its
/// `_meta` has no progress token), on every transport. rmcp's own path still asks.
#[tokio::test]
async fn without_a_handler_calls_ask_for_no_progress() {
    let (sse, http) = (HttpServer::start_mode("sse", &[]), HttpServer::start(&[]));
    let configs: [ServerConfig; 4] = [
        stdio_server(&[]).into(),
        stdio_server(&[]).protocol(Protocol::Auto).into(),
        SseConfig::new("testkit-sse", &sse.url).unwrap().timeouts(crate::quick_timeouts()).into(),
        http.config(),
    ];
    let manager = MCPClientSessionManager::new();
    for config in &configs {
        let session = manager.open_session(config).await.unwrap();
        let result = session.call_tool("progress", json!({"steps": 2})).await.unwrap();
        let text = &result.content[0].as_text().unwrap().text;
        assert_eq!(text, "no progress token", "{}", config.server_name());
        session.close().await.unwrap();
    }
}

/// Over streamable HTTP on our own connections, once the session's standalone stream is open:
/// what the server sends on a request's stream besides its answer (here progress, and a
/// sampling request) reaches the handler through that stream.
#[tokio::test]
async fn streamable_http_requests_go_past_rmcp() {
    let server = HttpServer::start(&[]);
    let recorder = Recorder { sampling: true, ..Recorder::default() };
    let (session, direct) = went_direct(&server.config(), &recorder).await;
    assert_eq!(session.protocol_version().as_deref(), Some("2025-11-25"));
    assert!(direct);
    sixteen_at_once(&session).await;
    let err = session.call_tool("no-such-tool", json!({})).await.unwrap_err();
    assert_eq!(err.kind(), "rpc", "{err}");
    let asked = session.call_tool("ask_client", json!({"what": "sampling"})).await.unwrap();
    let answer = &asked.content[0].as_text().unwrap().text;
    assert!(answer.contains("test-model"), "{answer}");
    session.close().await.unwrap();

    // From 2026-07-28 rmcp sends headers of each request's own (`Mcp-Method`, ...): rmcp's way.
    let config: ServerConfig = match server.config() {
        ServerConfig::StreamableHttp(http) => http.protocol(Protocol::Auto).into(),
        other => other,
    };
    let (session, direct) = went_direct(&config, &Recorder::default()).await;
    assert_eq!(session.protocol_version().as_deref(), Some("2026-07-28"));
    assert!(!direct);
    session.close().await.unwrap();
}

/// From 2026-07-28 a server's request must come while a request rmcp knows of is in flight
/// (SEP-2260), so a client that announces sampling keeps its requests on rmcp's path there
/// (rmcp's own servers send none on that protocol). Older protocols ask nothing of the kind:
/// there the requests go direct, and a sampling request that comes during one is answered.
#[tokio::test]
async fn a_client_that_announces_sampling() {
    let recorder = Recorder { sampling: true, ..Recorder::default() };
    let config: ServerConfig = stdio_server(&[]).protocol(Protocol::Auto).into();
    let (session, direct) = went_direct(&config, &recorder).await;
    assert_eq!(session.protocol_version().as_deref(), Some("2026-07-28"));
    assert!(!direct);
    session.close().await.unwrap();

    let config: ServerConfig = stdio_server(&[]).protocol(Protocol::Initialize).into();
    let (session, direct) = went_direct(&config, &recorder).await;
    assert_eq!(session.protocol_version().as_deref(), Some("2025-11-25"));
    assert!(direct);
    let asked = session.call_tool("ask_client", json!({"what": "sampling"})).await.unwrap();
    let answer = &asked.content[0].as_text().unwrap().text;
    assert!(answer.contains("test-model"), "{answer}");
    session.close().await.unwrap();
}

/// What [`held_initialized_server`] saw: whether the session's `GET` came while `initialized`
/// was still unanswered, and the requests in the order they came.
#[derive(Default)]
struct Seen {
    get_before_initialized_answered: Option<bool>,
    requests: Vec<String>,
}

/// A streamable HTTP server written by hand (one request per connection) that answers
/// `notifications/initialized` only once the session's standalone `GET` came, or after 2 s;
/// with `slow_get`, it answers `initialized` at once and the `GET` that much later.
async fn held_initialized_server(
    slow_get: Option<std::time::Duration>,
) -> (String, Arc<Mutex<Seen>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let got = Arc::new(tokio::sync::Notify::new());
    let state = (Arc::clone(&seen), got);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let (seen, got) = state.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0; 4096];
                let (head, body) = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break (head.to_owned(), body.to_owned());
                        }
                    }
                };
                let message: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let method = message["method"].as_str().unwrap_or_default().to_owned();
                let verb = head.split(' ').next().unwrap_or_default().to_owned();
                seen.lock().unwrap().requests.push(format!("{verb} {method}").trim().to_owned());
                let close = "connection: close\r\nmcp-session-id: held";
                let answer = match (verb.as_str(), method.as_str()) {
                    ("GET", _) => {
                        got.notify_one();
                        if let Some(delay) = slow_get {
                            tokio::time::sleep(delay).await;
                        }
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n{close}\r\n\r\n"
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        // Open until the client closes it.
                        let _ = stream.read(&mut buf).await;
                        return;
                    }
                    ("POST", "notifications/initialized") => {
                        let hold =
                            std::time::Duration::from_secs(if slow_get.is_some() { 0 } else { 2 });
                        let came = tokio::time::timeout(hold, got.notified()).await.is_ok();
                        seen.lock().unwrap().get_before_initialized_answered = Some(came);
                        format!("HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n{close}\r\n\r\n")
                    }
                    ("POST", _) => {
                        let reply = testkit::faults::answer(&message).unwrap().to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{close}\r\n\r\n{reply}",
                            reply.len()
                        )
                    }
                    _ => format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{close}\r\n\r\n"),
                };
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

/// Opens a session to a [`held_initialized_server`], lists its tools, closes it, and returns what
/// the server saw.
async fn list_and_close(slow_get: Option<std::time::Duration>) -> Seen {
    let (url, seen) = held_initialized_server(slow_get).await;
    let config: ServerConfig = mcp_session::mcp_config::StreamableHttpConfig::new("held", &url)
        .unwrap()
        .timeouts(crate::quick_timeouts())
        .into();
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    let tools = session.list_tools().await.unwrap();
    assert_eq!(tools[0].name, "echo");
    session.close().await.unwrap();
    std::mem::take(&mut *seen.lock().unwrap())
}

/// The session's standalone `GET` goes out beside `notifications/initialized`, not after its
/// answer (one round trip fewer before the first request, which waits for the stream); the
/// session works as before, and its close ends it with one `DELETE`.
#[tokio::test]
async fn the_standalone_get_goes_out_beside_initialized() {
    let seen = list_and_close(None).await;
    let requests = &seen.requests;
    assert_eq!(seen.get_before_initialized_answered, Some(true), "{requests:?}");
    assert_eq!(requests.iter().filter(|r| *r == "GET").count(), 1, "{requests:?}");
    // Ended once: by the session's own `DELETE`, beside rmcp's winding down, which sends none.
    assert_eq!(requests.last().map(String::as_str), Some("DELETE"), "{requests:?}");
    assert_eq!(requests.iter().filter(|r| *r == "DELETE").count(), 1, "{requests:?}");
}

/// A standalone `GET` answered well after `initialized` does not hold the handshake; rmcp's
/// worker takes it when it comes (no second `GET`), and the first request waits for it.
#[tokio::test]
async fn a_slow_standalone_get_is_taken_when_it_comes() {
    let seen = list_and_close(Some(std::time::Duration::from_millis(200))).await;
    let requests = &seen.requests;
    assert_eq!(requests.iter().filter(|r| *r == "GET").count(), 1, "{requests:?}");
    assert_eq!(requests.iter().filter(|r| *r == "DELETE").count(), 1, "{requests:?}");
}
