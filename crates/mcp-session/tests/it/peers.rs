//! Against real peers nobody here wrote: the reference server-everything (Node) and a FastMCP
//! server (Python), installed by `cargo xtask peers`. Skipped without them, except with
//! `CI=true`, where a missing peer fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_session::mcp_config::{ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig};
#[allow(deprecated)]
use mcp_session::rmcp::model::LoggingMessageNotificationParam;
use mcp_session::rmcp::model::{ProgressNotificationParam, Tool};
use mcp_session::{MCPClientSessionManager, Session, SessionHandler};
use serde_json::{Map, Value, json};
use testkit::peers::{Peers, peers};

use crate::quick_timeouts;

/// Tools that need a human or a capability this client does not offer.
const NEEDS_MORE_THAN_A_CALL: &[(&str, &str)] = &[
    ("simulate-research-query", "needs the tasks extension"),
    ("fail", "fails by design, checked on its own"),
];

/// Arguments for a tool: the overrides given, and a plain value for each other required field.
fn arguments_for(tool: &Tool, overrides: &Value) -> Value {
    let mut args = Map::new();
    let schema = tool.input_schema.as_ref();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in required {
        let property = properties.and_then(|p| p.get(name)).cloned().unwrap_or_default();
        let value = if let Some(default) = property.get("default") {
            default.clone()
        } else if let Some(first) = property.get("enum").and_then(|e| e.get(0)) {
            first.clone()
        } else {
            match property.get("type").and_then(Value::as_str) {
                Some("number" | "integer") => json!(1),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                Some("object") => json!({}),
                _ => json!("test"),
            }
        };
        args.insert(name.to_owned(), value);
    }
    if let Some(overrides) = overrides.as_object() {
        args.extend(overrides.clone());
    }
    Value::Object(args)
}

/// Lists the tools and calls each one that needs no human; returns the names called.
async fn call_every_tool(session: &Session, overrides: &Value) -> Vec<String> {
    let tools = session.list_tools().await.expect("tools/list");
    assert!(!tools.is_empty());
    let mut called = Vec::new();
    for tool in &tools {
        if let Some((_, why)) = NEEDS_MORE_THAN_A_CALL.iter().find(|(name, _)| *name == tool.name) {
            eprintln!("not calling {}: {why}", tool.name);
            continue;
        }
        let args = arguments_for(tool, &overrides[tool.name.as_ref()]);
        let result = session
            .call_tool(&tool.name, args.clone())
            .await
            .unwrap_or_else(|err| panic!("{} with {args}: {err}", tool.name));
        assert_ne!(
            result.is_error,
            Some(true),
            "{} with {args} failed: {:?}",
            tool.name,
            result.content
        );
        called.push(tool.name.to_string());
    }
    called
}

fn stdio(name: &str, (command, args): (String, Vec<String>)) -> ServerConfig {
    StdioConfig::new(name, command).args(args).timeouts(quick_timeouts()).into()
}

fn http(name: &str, url: &str) -> ServerConfig {
    StreamableHttpConfig::new(name, url).expect("valid URL").timeouts(quick_timeouts()).into()
}

fn everything_overrides() -> Value {
    json!({
        "trigger-long-running-operation": {"duration": 1, "steps": 2},
        // A data: URL keeps the tool off the network.
        "gzip-file-as-resource": {"data": "data:text/plain;base64,SGVsbG8sIE1DUA==", "outputType": "resource"},
    })
}

/// Counts the notifications a session receives.
#[derive(Clone, Default)]
struct Seen {
    progress: Arc<AtomicUsize>,
    logs: Arc<AtomicUsize>,
}

impl SessionHandler for Seen {
    fn on_progress(&self, _server: &str, _progress: &ProgressNotificationParam) {
        self.progress.fetch_add(1, Ordering::SeqCst);
    }

    #[allow(deprecated)]
    fn on_log(&self, _server: &str, _message: &LoggingMessageNotificationParam) {
        self.logs.fetch_add(1, Ordering::SeqCst);
    }
}

/// A manager whose sessions count their notifications in the returned [`Seen`].
fn counting_manager() -> (MCPClientSessionManager, Seen) {
    let seen = Seen::default();
    (MCPClientSessionManager::builder().handler(seen.clone()).build(), seen)
}

/// Waits (at most 10 s) until `counter` reaches `at_least`.
async fn reaches(counter: &AtomicUsize, at_least: usize) -> bool {
    for _ in 0..1000 {
        if counter.load(Ordering::SeqCst) >= at_least {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

async fn check_everything(session: &Session, seen: &Seen) {
    assert_eq!(session.server_info().unwrap().name, "mcp-servers/everything");
    let called = call_every_tool(session, &everything_overrides()).await;
    // `toggle-simulated-logging` logs at once; `trigger-long-running-operation` reports each step.
    assert!(reaches(&seen.logs, 1).await, "no logging notification");
    assert!(reaches(&seen.progress, 2).await, "no progress notifications");
    for expected in
        ["echo", "get-sum", "get-tiny-image", "get-structured-content", "gzip-file-as-resource"]
    {
        assert!(called.iter().any(|c| c == expected), "{expected} not called: {called:?}");
    }
    let sum = session.call_tool("get-sum", json!({"a": 2, "b": 3})).await.unwrap();
    assert_eq!(sum.content[0].as_text().unwrap().text, "The sum of 2 and 3 is 5.");
    let resources = session.list_resources().await.unwrap();
    assert!(!resources.is_empty());
    let read = session.read_resource(&resources[0].uri).await.unwrap();
    assert!(!read.contents.is_empty());
    let templates = session.list_resource_templates().await.unwrap();
    assert!(
        templates.iter().any(|t| t.uri_template == "demo://resource/dynamic/text/{resourceId}"),
        "{templates:?}"
    );
    let text = session.read_resource("demo://resource/dynamic/text/1").await.unwrap();
    assert!(!text.contents.is_empty());
    let prompts = session.list_prompts().await.unwrap();
    assert!(!prompts.is_empty());
    let simple = prompts
        .iter()
        .find(|p| {
            p.arguments.as_ref().is_none_or(|args| args.iter().all(|a| a.required != Some(true)))
        })
        .expect("a prompt without required arguments");
    let got = session.get_prompt(&simple.name, Value::Null).await.unwrap();
    assert!(!got.messages.is_empty(), "{got:?}");
    session.ping().await.unwrap();
}

#[tokio::test]
async fn server_everything_over_stdio() {
    let Some(peers) = peers() else { return };
    let (manager, seen) = counting_manager();
    let session =
        manager.open_session(&stdio("everything", peers.everything_stdio())).await.unwrap();
    check_everything(&session, &seen).await;
    session.close().await.unwrap();
}

#[tokio::test]
async fn server_everything_over_streamable_http_and_delete_on_close() {
    let Some(peers) = peers() else { return };
    let log = std::env::temp_dir().join(format!("server-everything-{}.log", std::process::id()));
    let server = peers.start_everything_http(&log);
    let (manager, seen) = counting_manager();
    let session = manager.open_session(&http("everything-http", &server.url)).await.unwrap();
    check_everything(&session, &seen).await;
    session.close().await.unwrap();
    // Closing DELETEs the HTTP session: the server logs its termination.
    let mut terminated = false;
    for _ in 0..200 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Received session termination request") {
            terminated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(server);
    let _ = std::fs::remove_file(&log);
    assert!(terminated, "server-everything saw no DELETE of the session");
}

async fn check_fastmcp(session: &Session) {
    assert_eq!(session.server_info().unwrap().name, "fastmcp-peer");
    assert_eq!(session.instructions().as_deref(), Some("FastMCP peer for interop tests."));
    // `fail` fails by design; it is checked on its own below.
    let called = call_every_tool(session, &json!({})).await;
    assert!(called.iter().any(|c| c == "describe"), "{called:?}");
    let added = session.call_tool("add", json!({"a": 1.5, "b": 2})).await.unwrap();
    assert_eq!(added.content[0].as_text().unwrap().text, "3.5");
    let described =
        session.call_tool("describe", json!({"name": "ada", "tags": ["x"]})).await.unwrap();
    assert_eq!(
        described.structured_content,
        Some(json!({"name": "ada", "tags": ["x"], "length": 3}))
    );
    let failed = session.call_tool("fail", json!({"message": "as designed"})).await.unwrap();
    assert_eq!(failed.is_error, Some(true));
    assert_eq!(failed.content[0].as_text().unwrap().text, "as designed");
    let read = session.read_resource("peer://greeting").await.unwrap();
    assert_eq!(read.contents.len(), 1);
    let prompt = session.get_prompt("greet", json!({"name": "Ada"})).await.unwrap();
    assert_eq!(prompt.messages.len(), 1);
}

/// Opens a session to a FastMCP server, checks it, closes it.
async fn fastmcp_session(config: ServerConfig) {
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    check_fastmcp(&session).await;
    session.close().await.unwrap();
}

#[tokio::test]
async fn fastmcp_over_stdio() {
    let Some(peers) = peers() else { return };
    fastmcp_session(stdio("fastmcp", peers.fastmcp_stdio())).await;
}

#[tokio::test]
async fn fastmcp_over_streamable_http() {
    let Some(peers) = peers() else { return };
    let server = peers.start_fastmcp("http");
    fastmcp_session(http("fastmcp-http", &server.url)).await;
}

#[tokio::test]
async fn fastmcp_over_stateless_json_response_http() {
    let Some(peers) = peers() else { return };
    let server = peers.start_fastmcp("http-stateless-json");
    fastmcp_session(http("fastmcp-json", &server.url)).await;
}

#[tokio::test]
async fn server_everything_over_legacy_sse() {
    let Some(peers) = peers() else { return };
    let log =
        std::env::temp_dir().join(format!("server-everything-sse-{}.log", std::process::id()));
    let server = peers.start_everything("sse", &log);
    let config = SseConfig::new("everything-sse", &server.url).unwrap().timeouts(quick_timeouts());
    let (manager, seen) = counting_manager();
    let session = manager.open_session(&config.into()).await.unwrap();
    check_everything(&session, &seen).await;
    session.close().await.unwrap();
    drop(server);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn fastmcp_over_legacy_sse() {
    let Some(peers) = peers() else { return };
    let server = peers.start_fastmcp("sse");
    fastmcp_session(
        SseConfig::new("fastmcp-sse", &server.url).unwrap().timeouts(quick_timeouts()).into(),
    )
    .await;
}

#[tokio::test]
async fn python_sdk_client_against_our_sse_server() {
    let Some(peers) = peers() else { return };
    let server = crate::HttpServer::start_mode("sse", &[]);
    let output = tokio::process::Command::new(peers.python())
        .arg(Peers::python_client())
        .arg(&server.url)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["text"], "from python");
    assert!(report["tools"].as_array().unwrap().iter().any(|t| t == "echo"), "{report}");
}

#[test]
fn peer_paths_are_where_xtask_puts_them() {
    assert!(Peers::loopback_preload().is_file());
    assert!(Peers::fastmcp_script().is_file());
    assert!(Peers::python_client().is_file());
}
