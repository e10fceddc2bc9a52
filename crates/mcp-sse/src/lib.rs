//! Legacy MCP HTTP+SSE transport (protocol revision 2024-11-05) for `rmcp` 3.
//!
//! `rmcp` 3 dropped the transport in which a client opens `GET /sse`, receives an `endpoint`
//! event naming where to `POST`, and then reads the server's messages from the event stream.
//! Many deployed MCP servers still speak only this transport. This crate has both halves:
//!
//! - [`client::SseClientTransport`] (feature `client`): an rmcp [`Transport`] for such servers;
//! - [`server::router`] and [`server::SseServer`] (feature `server`): serve any rmcp server
//!   handler at `/sse` and `/message?sessionId=…`, loopback-only by default;
//! - [`decode::ResultDecoder`] (feature `client`): decodes a server's answer straight into the
//!   result type its request expects, where rmcp tries about twenty; the SSE client uses it, and
//!   so does mcp-session's stdio transport;
//! - [`encode::encode`] (feature `client`): a client's message as JSON, a `tools/call` without
//!   rmcp's detour through `serde_json::Value`; both of those transports write with it;
//! - [`direct::Direct`] (feature `client`): requests a client writes itself and whose answers
//!   its transport's reader hands straight back, past rmcp's service loop;
//! - [`post::DirectPoster`] (feature `client`): `POST`s to a plain `http://` URL on kept-alive
//!   HTTP/1.1 connections of its own, written and read in the caller's task; the SSE client
//!   sends its messages with it, and mcp-session's streamable HTTP client its requests.
//!
//! ```no_run
//! # #![allow(dead_code)]
//! use mcp_sse::client::{SseClientConfig, SseClientTransport};
//! use rmcp::ServiceExt as _;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SseClientConfig::new("http://127.0.0.1:8000/sse".parse()?);
//! let transport = SseClientTransport::connect(config).await?;
//! let client = ().serve(transport).await?;
//! let tools = client.list_all_tools().await?;
//! # let _ = tools;
//! # Ok(())
//! # }
//! ```
//!
//! [`Transport`]: rmcp::transport::Transport

#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "client")]
mod bearer;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod decode;
#[cfg(feature = "client")]
pub mod direct;
#[cfg(feature = "client")]
pub mod encode;
#[cfg(feature = "client")]
mod events;
#[cfg(feature = "client")]
pub mod post;
#[cfg(feature = "server")]
pub mod server;
