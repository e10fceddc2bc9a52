//! Open initialized MCP sessions on demand, over stdio, streamable HTTP and legacy HTTP+SSE,
//! always cleaned up.
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
//! Legacy HTTP+SSE servers (protocol 2024-11-05) are reached through [`mcp_sse`]'s client. A
//! server configured by `url` alone is tried as streamable HTTP first and falls back to legacy
//! SSE when the URL is not a streamable HTTP endpoint (the spec's backwards-compatibility rule);
//! the manager remembers which URLs speak SSE.
//!
//! A remote server whose `auth` is `oauth` gets its bearer tokens from [`mcp_auth`]: the manager
//! keeps one [`Authorizer`](mcp_auth::Authorizer) per server and URL, every request carries its
//! token, and a 401 (or a 403 `insufficient_scope`) renews the token and sends the request again.
//! Whether a login may reach a person is the builder's [`login`](Builder::login) (default
//! [`LoginMode::Never`](mcp_auth::LoginMode::Never)); where tokens are kept, its
//! [`token_store`](Builder::token_store).
//!
//! The manager keeps track of the sessions it opened: [`MCPClientSessionManager::shutdown`]
//! closes every one still open. For agents that run for hours across many servers,
//! [`SessionPool`] keeps one session per server open and shared, limits calls in flight,
//! closes idle sessions, reopens dead ones with backoff inside a restart budget, retries only
//! what cannot run twice, and reports each server's [`Health`]. Every crate of the stack that
//! speaks HTTP builds its client with [`HttpClientBuilder`], so TLS trust and socket settings
//! are the same everywhere.
//!
//! Built on [`rmcp`], re-exported for its model types.

#![doc(test(attr(deny(warnings))))]

mod connection;
mod error;
mod handler;
mod http;
mod http_client;
mod manager;
mod pool;
mod remote;
mod session;
mod sse;
mod stdio;
mod validate;

pub use error::{PagingProblem, SessionError, TokenProblem};
pub use handler::{HandlerCapabilities, ListKind, SessionHandler};
pub use http_client::{HttpClientBuilder, HttpClientError, Redirects};
pub use manager::{Builder, MCPClientSessionManager};
pub use pool::{Health, Lease, PoolBuilder, ServerStats, SessionPool, ToolsByServer};
pub use session::{CallOptions, Session};
pub use validate::{SchemaProblem, SchemaSide, SchemaViolation, ToolValidator};
pub use {mcp_auth, mcp_config, reqwest, rmcp};
