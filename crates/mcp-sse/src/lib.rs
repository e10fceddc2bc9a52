//! Legacy MCP HTTP+SSE transport (protocol revision 2024-11-05) for `rmcp`.
//!
//! `rmcp` 3.x dropped the legacy transport in which a client opens `GET /sse`, receives an
//! `endpoint` event and then `POST`s its JSON-RPC messages to that endpoint. Many deployed MCP
//! servers (the seed notebook's Wikipedia server among them) still speak only this transport.
//!
//! This crate will hold both halves: a client [`rmcp` `Transport`] built on `reqwest` and
//! `sse-stream`, and an `axum` router that serves any `rmcp` server handler at `/sse` and
//! `/message?sessionId=…`. It is empty until that work lands; see `docs/architecture.md`.
//!
//! [`rmcp` `Transport`]: https://docs.rs/rmcp/latest/rmcp/transport/trait.Transport.html
