//! The handshake: `initialize` by default, `server/discover` (2026-07-28) when a server opts in.

use mcp_session::mcp_config::{Protocol, ServerConfig, StreamableHttpConfig};
use mcp_session::{MCPClientSessionManager, SessionError};
use serde_json::json;

use crate::{HttpServer, quick_timeouts, stdio_server};

async fn version_of(config: ServerConfig) -> Result<String, SessionError> {
    let session = MCPClientSessionManager::new().open_session(&config).await?;
    // Whatever the handshake, the session works.
    let echoed = session.call_tool("echo", json!({"text": "hi"})).await?;
    assert_eq!(echoed.content[0].as_text().unwrap().text, "hi");
    let version = session.protocol_version().expect("a negotiated version");
    session.close().await?;
    Ok(version)
}

#[tokio::test]
async fn initialize_by_default() {
    let version = version_of(stdio_server(&[]).into()).await.unwrap();
    assert_eq!(version, "2025-11-25");
}

#[tokio::test]
async fn auto_and_discover_reach_2026_07_28() {
    for protocol in [Protocol::Auto, Protocol::Discover] {
        let version = version_of(stdio_server(&[]).protocol(protocol).into()).await.unwrap();
        assert_eq!(version, "2026-07-28", "{protocol:?}");
    }
    let server = HttpServer::start(&[]);
    let http = StreamableHttpConfig::new("http", &server.url)
        .unwrap()
        .timeouts(quick_timeouts())
        .protocol(Protocol::Auto);
    assert_eq!(version_of(http.into()).await.unwrap(), "2026-07-28");
}

#[tokio::test]
async fn auto_falls_back_to_initialize_on_a_legacy_server() {
    let version =
        version_of(stdio_server(&["--legacy"]).protocol(Protocol::Auto).into()).await.unwrap();
    // The fallback's `initialize` offers the newest version that has one.
    assert_eq!(version, "2025-11-25");
}

#[tokio::test]
async fn discover_alone_fails_on_a_legacy_server() {
    let err = version_of(stdio_server(&["--legacy"]).protocol(Protocol::Discover).into())
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::Handshake { .. }), "{err:?}");
}
