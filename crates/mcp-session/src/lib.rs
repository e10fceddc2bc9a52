//! Open initialized MCP sessions on demand, over stdio, legacy SSE and streamable HTTP.
//!
//! This crate will hold `MCPClientSessionManager`: hand it any [`mcp_config::ServerConfig`] and
//! get back a connected, initialized session that is cleaned up on every exit path (no leaked
//! child processes, no dangling HTTP sessions). It is built on `rmcp`, with [`mcp_sse`] for the
//! legacy HTTP+SSE transport. It is empty until that work lands; see `docs/architecture.md`.
//!
//! Server configurations come from [`mcp_config`], re-exported here so that one dependency is
//! enough to describe and open sessions.

pub use mcp_config;
