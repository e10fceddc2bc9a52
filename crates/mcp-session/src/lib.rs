//! Open initialized MCP sessions on demand, over stdio and streamable HTTP, always cleaned up.
//!
//! Hand [`MCPClientSessionManager::open_session`] any [`ServerConfig`](mcp_config::ServerConfig)
//! and get back a [`Session`] that is connected **and** initialized. Close it with
//! [`Session::close`], or let [`MCPClientSessionManager::with_session`] close it on every way
//! out. A stdio server runs as the leader of its own process group, and closing (or dropping)
//! the session ends the whole group: no server, and nothing it started, outlives its session.
//!
//! ```no_run
//! use mcp_session::MCPClientSessionManager;
//! use mcp_session::mcp_config::MCPConfig;
//! use serde_json::json;
//!
//! # #[allow(dead_code)]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = MCPConfig::load("mcp.json")?.config;
//! let manager = MCPClientSessionManager::new();
//! let session = manager.open_session(config.get("ArxivServer")?).await?;
//! let result = session.call_tool("search_papers", json!({"query": "llm"})).await?;
//! println!("{:?}", result.content);
//! session.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every wait is bounded by the server's [`Timeouts`](mcp_config::Timeouts): `startup` for
//! spawning or connecting plus the handshake, `request` for each request (overridable per call
//! with [`CallOptions`]). A request that times out sends the server `notifications/cancelled`,
//! and the session stays usable.
//!
//! Legacy HTTP+SSE servers are not supported yet: [`mcp_sse`] will bring them.
//!
//! Built on [`rmcp`], re-exported for its model types.

#![doc(test(attr(deny(warnings))))]

mod error;
mod handler;
mod http;
mod manager;
mod session;
mod stdio;

pub use error::SessionError;
pub use handler::{HandlerCapabilities, ListKind, SessionHandler};
pub use manager::{Builder, MCPClientSessionManager};
pub use session::{CallOptions, Session};
pub use {mcp_config, rmcp};

/// A URL for messages: the password, if any, replaced by `***`.
pub(crate) fn redact_url(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}
