//! Every session method, over stdio and over streamable HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_session::mcp_config::{ServerConfig, TransportKind};
use mcp_session::rmcp::model::{ProgressNotificationParam, ResourceContents};
use mcp_session::{CallOptions, ListKind, MCPClientSessionManager, SessionError, SessionHandler};
use serde_json::json;

use crate::{HttpServer, stdio_server};

/// Records what the handler sees.
#[derive(Clone, Default)]
struct Recorder {
    progress: Arc<Mutex<Vec<f64>>>,
    logs: Arc<Mutex<Vec<String>>>,
    changes: Arc<Mutex<Vec<ListKind>>>,
}

impl SessionHandler for Recorder {
    fn on_progress(&self, _server: &str, progress: &ProgressNotificationParam) {
        self.progress.lock().unwrap().push(progress.progress);
    }

    #[allow(deprecated)]
    fn on_log(
        &self,
        _server: &str,
        message: &mcp_session::rmcp::model::LoggingMessageNotificationParam,
    ) {
        self.logs.lock().unwrap().push(message.data.to_string());
    }

    fn on_list_changed(&self, _server: &str, list: ListKind) {
        self.changes.lock().unwrap().push(list);
    }
}

fn text_of(result: &mcp_session::rmcp::model::CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect()
}

/// Runs every method against `config`.
pub(crate) async fn exercise(config: ServerConfig, transport: TransportKind) {
    let recorder = Recorder::default();
    let manager = MCPClientSessionManager::builder()
        .client_info("mcp-session-tests", "0.0.0")
        .handler(recorder.clone())
        .build();
    let session = manager.open_session(&config).await.expect("session opens");
    assert_eq!(session.transport(), transport);

    // initialize: already done, idempotent.
    let first = session.initialize().await.unwrap();
    let second = session.initialize().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(session.server_info().unwrap().name, "testkit-mcp");
    let version = session.protocol_version().unwrap();
    // `initialize` offers the newest version that has an `initialize` handshake.
    assert_eq!(version, "2025-11-25");
    assert_eq!(session.instructions().as_deref(), Some("A server for tests."));

    // list_tools follows pagination (the server pages by 3).
    let mut names: Vec<String> =
        session.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add",
            "ask_client",
            "change_tools",
            "echo",
            "fail",
            "increment",
            "large_output",
            "log",
            "lookup",
            "progress",
            "request_headers",
            "request_meta",
            "sleep",
            "stats",
            "structured"
        ]
    );

    let echoed = session.call_tool("echo", json!({"text": "hello"})).await.unwrap();
    assert_eq!(text_of(&echoed), "hello");
    assert_ne!(echoed.is_error, Some(true));
    assert_eq!(
        text_of(&session.call_tool("add", json!({"a": 2, "b": 40.5})).await.unwrap()),
        "42.5"
    );

    // A tool's own failure is a result, not an error.
    let failed = session.call_tool("fail", json!({"message": "no such paper"})).await.unwrap();
    assert_eq!(failed.is_error, Some(true));
    assert_eq!(text_of(&failed), "no such paper");

    // An unknown tool is a JSON-RPC error, named.
    let err = session.call_tool("nope", json!({})).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::Rpc { method, .. } if method == "tools/call nope"),
        "{err}"
    );

    // Large output arrives whole.
    let big = session.call_tool("large_output", json!({"bytes": 1_000_000})).await.unwrap();
    assert_eq!(text_of(&big).len(), 1_000_000);

    // Progress and logging notifications reach the handler.
    let progress = session.call_tool("progress", json!({"steps": 3})).await.unwrap();
    assert_eq!(text_of(&progress), "3 steps done");
    let steps = wait_for(|| recorder.progress.lock().unwrap().clone(), |p| p.len() == 3).await;
    assert_eq!(steps, [1.0, 2.0, 3.0]);
    session.call_tool("change_tools", json!({})).await.unwrap();
    let changes = wait_for(|| recorder.changes.lock().unwrap().clone(), |c| !c.is_empty()).await;
    assert_eq!(changes, [ListKind::Tools]);
    session.call_tool("log", json!({"level": "warning", "message": "careful"})).await.unwrap();
    let logs = wait_for(|| recorder.logs.lock().unwrap().clone(), |l| !l.is_empty()).await;
    assert_eq!(logs, ["\"careful\""]);

    // Resources and prompts.
    let resources = session.list_resources().await.unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, "testkit://greeting");
    let read = session.read_resource("testkit://greeting").await.unwrap();
    assert!(
        matches!(&read.contents[0], ResourceContents::TextResourceContents { text, .. } if text == "Hello from testkit-mcp")
    );
    let missing = session.read_resource("testkit://nothing").await.unwrap_err();
    assert!(matches!(missing, SessionError::Rpc { .. }), "{missing}");
    let prompts = session.list_prompts().await.unwrap();
    assert_eq!(prompts[0].name, "greet");
    let prompt = session.get_prompt("greet", json!({"name": "Ada"})).await.unwrap();
    assert_eq!(prompt.messages.len(), 1);

    session.ping().await.unwrap();

    // A call past its own timeout: Timeout, the server is told to cancel, the session goes on.
    let err = session
        .call_tool_with(
            "sleep",
            json!({"ms": 30_000}),
            CallOptions::new().timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::Timeout { operation, after, .. } if operation == "tools/call sleep" && *after == Duration::from_millis(200)),
        "{err}"
    );
    let stats = crate::stats_once_cancelled(&session).await;
    assert_eq!(stats["cancelled"], 1, "the server saw notifications/cancelled");
    assert_eq!(
        text_of(&session.call_tool("echo", json!({"text": "still here"})).await.unwrap()),
        "still here"
    );

    // Arguments must be an object.
    let err = session.call_tool("echo", json!(["x"])).await.unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");

    session.close().await.unwrap();
}

/// Polls `get` until `done` holds (bounded: notifications travel on their own).
async fn wait_for<T>(get: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    for _ in 0..500 {
        let value = get();
        if done(&value) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for a notification");
}

#[tokio::test]
async fn every_method_over_stdio() {
    exercise(stdio_server(&["--page-size", "3"]).into(), TransportKind::Stdio).await;
}

#[tokio::test]
async fn every_method_over_streamable_http() {
    let server = HttpServer::start(&["--page-size", "3"]);
    exercise(server.config(), TransportKind::StreamableHttp).await;
}

#[tokio::test]
async fn with_session_closes_on_success_and_error() {
    let manager = MCPClientSessionManager::new();
    let config: ServerConfig = stdio_server(&[]).into();
    let names = manager
        .with_session(&config, async |session| {
            Ok::<_, SessionError>(session.list_tools().await?.len())
        })
        .await
        .unwrap();
    assert_eq!(names, 15);
    let err = manager
        .with_session(&config, async |session| session.call_tool("nope", json!({})).await.map(drop))
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::Rpc { .. }));
}

#[tokio::test]
async fn env_and_working_dir_are_applied() {
    // `sh` checks both, then becomes the server; it fails the handshake if either is wrong.
    let dir = std::env::temp_dir();
    let shell = mcp_session::mcp_config::StdioConfig::new("sh", "sh")
        .args(["-c", &format!("test \"$TESTKIT_MARKER\" = from-config && test \"$(pwd -P)\" = \"$(cd {} && pwd -P)\" && exec {} stdio", dir.display(), testkit::testkit_mcp().display())])
        .env("TESTKIT_MARKER", "from-config")
        .working_dir(&dir)
        .timeouts(crate::quick_timeouts());
    let session = MCPClientSessionManager::new()
        .open_session(&shell.into())
        .await
        .expect("env and cwd as configured");
    session.close().await.unwrap();
}

#[tokio::test]
async fn http_headers_from_the_config_reach_the_server() {
    let server = HttpServer::start(&[]);
    let config = mcp_session::mcp_config::StreamableHttpConfig::new("headers", &server.url)
        .unwrap()
        .timeouts(crate::quick_timeouts())
        .header("X-Team", "research")
        .header("Authorization", "Bearer s3cret-token");
    let session = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap();
    let seen = session.call_tool("request_headers", json!({})).await.unwrap();
    let headers: serde_json::Value = serde_json::from_str(&text_of(&seen)).unwrap();
    assert_eq!(headers["x-team"], "research", "{headers}");
    assert_eq!(headers["authorization"], "Bearer s3cret-token", "{headers}");
    assert!(headers["mcp-session-id"].is_string(), "a stateful session: {headers}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn clones_share_the_session_and_close_closes_it_for_all() {
    let session =
        MCPClientSessionManager::new().open_session(&stdio_server(&[]).into()).await.unwrap();
    let clone = session.clone();
    assert_eq!(
        text_of(&clone.call_tool("echo", json!({"text": "via a clone"})).await.unwrap()),
        "via a clone"
    );
    session.close().await.unwrap();
    let err = clone.call_tool("echo", json!({"text": "late"})).await.unwrap_err();
    assert_eq!(err.to_string(), "testkit: the session is closed; open a new one");
    assert!(clone.process_id().is_none(), "the server is gone");
}

#[tokio::test]
async fn close_does_not_wait_for_a_request_in_flight_beyond_the_grace() {
    let config =
        stdio_server(&[]).timeouts(crate::quick_timeouts().close_grace(Duration::from_millis(300)));
    let session = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap();
    let busy = session.clone();
    let call = tokio::spawn(async move { busy.call_tool("sleep", json!({"ms": 30_000})).await });
    crate::until_sleeping(&session).await;
    let started = std::time::Instant::now();
    session.close().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "close waited for the call: {:?}",
        started.elapsed()
    );
    assert!(call.await.unwrap().is_err(), "the call in flight fails");
}

/// A manager's HTTP sessions share a client and its idle connections: a session opened after
/// the server restarted on the same port must not be handed a connection to the old process.
#[tokio::test]
async fn a_new_session_after_an_http_server_restart_opens_cleanly() {
    let manager = MCPClientSessionManager::new();
    let mut server = HttpServer::start(&[]);
    let port = url::Url::parse(&server.url).unwrap().port().unwrap().to_string();
    let config = server.config();
    for round in 0..3 {
        let session = manager.open_session(&config).await.unwrap();
        let echoed = session.call_tool("echo", json!({"text": round.to_string()})).await.unwrap();
        assert_eq!(text_of(&echoed), round.to_string());
        session.close().await.unwrap();
        server.kill();
        server = HttpServer::start(&["--port", &port]);
    }
}
