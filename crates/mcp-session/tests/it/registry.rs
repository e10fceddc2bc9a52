//! The manager's registry of the sessions it opened, and `shutdown()`.

use std::time::Duration;

use mcp_session::mcp_config::{ServerConfig, SseConfig, StreamableHttpConfig};
use mcp_session::{MCPClientSessionManager, SessionError};

use crate::{quick_timeouts, stdio_server};

fn marked_server(marker: &str) -> ServerConfig {
    stdio_server(&[])
        .env(testkit::procs::MARKER_VAR, marker)
        .timeouts(quick_timeouts().close_grace(Duration::from_millis(200)))
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_open_session_and_only_those() {
    let marker = format!("registry-{}", std::process::id());
    let config = marked_server(&marker);
    let manager = MCPClientSessionManager::new();
    let clone = manager.clone();
    let (a, b, c) = tokio::join!(
        manager.open_session(&config),
        clone.open_session(&config),
        manager.open_session(&config),
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(manager.sessions().len(), 3, "clones share the registry");

    // A closed session and a dropped one leave the registry.
    a.close().await.unwrap();
    drop(b);
    let open = manager.sessions();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].process_id(), c.process_id());
    drop(open);

    clone.shutdown().await;
    assert!(manager.sessions().is_empty());
    assert!(c.is_closed());
    let err = c.ping().await.unwrap_err();
    assert!(matches!(&err, SessionError::Closed { .. }), "{err:?}");
    assert_eq!(err.to_string(), "testkit: the session is closed; open a new one");
    // The dropped session ended its server by itself; shutdown ended the open one.
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(15)), Vec::<String>::new());
}

#[tokio::test]
async fn shutdown_with_nothing_open_returns_at_once() {
    let manager = MCPClientSessionManager::new();
    manager.shutdown().await;
    assert!(manager.sessions().is_empty());
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_hung_request() {
    let manager = MCPClientSessionManager::new();
    let config: ServerConfig =
        stdio_server(&[]).timeouts(quick_timeouts().close_grace(Duration::from_millis(300))).into();
    let session = manager.open_session(&config).await.unwrap();
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let call = {
        let session = session.clone();
        async move {
            let call = session.call_tool("sleep", serde_json::json!({"ms": 60_000}));
            let _ = started.send(());
            call.await
        }
    };
    let shutdown = async {
        running.await.unwrap();
        manager.shutdown().await;
    };
    let (result, ()) = tokio::join!(call, shutdown);
    let err = result.unwrap_err();
    assert!(
        matches!(&err, SessionError::Cancelled { .. } | SessionError::Closed { .. }),
        "{err:?}"
    );
    assert!(session.is_closed());
}

/// A closed port on loopback: connecting to it is refused at once.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn errors_never_show_url_secrets() {
    let port = closed_port();
    let url = format!("https://user:pw@127.0.0.1:{port}/mcp?token=abc&page=2");
    let http: ServerConfig =
        StreamableHttpConfig::new("secret-http", &url).unwrap().timeouts(quick_timeouts()).into();
    let sse: ServerConfig =
        SseConfig::new("secret-sse", &url).unwrap().timeouts(quick_timeouts()).into();
    for config in [http, sse] {
        let err = MCPClientSessionManager::new().open_session(&config).await.unwrap_err();
        assert!(matches!(&err, SessionError::Connect { .. }), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("pw"), "{shown}");
            assert!(!shown.contains("abc"), "{shown}");
            assert!(shown.contains("page=2") && shown.contains("***"), "{shown}");
        }
    }
}

#[tokio::test]
async fn an_invalid_header_is_named() {
    let config: ServerConfig = StreamableHttpConfig::new("headers", "http://127.0.0.1:1/mcp")
        .unwrap()
        .header("Mcp-Session-Id", "mine")
        .timeouts(quick_timeouts())
        .into();
    let err = MCPClientSessionManager::new().open_session(&config).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::InvalidHeader { header, .. } if header == "Mcp-Session-Id"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "headers: the header `Mcp-Session-Id` is set by the MCP transport itself; remove it from the config"
    );
}

#[tokio::test]
async fn arguments_that_are_not_an_object_are_refused() {
    let config: ServerConfig = stdio_server(&[]).into();
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    let err = session.call_tool("echo", serde_json::json!([1, 2])).await.unwrap_err();
    assert!(matches!(&err, SessionError::InvalidArguments { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "testkit: the arguments of tools/call echo must be a JSON object, not [1,2]"
    );
    session.close().await.unwrap();
}
