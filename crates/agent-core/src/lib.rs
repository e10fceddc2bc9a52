//! Conversable agents on top of MCP sessions.
//!
//! This crate will hold the agent layer of the seed notebook: `ConversableAgent`, LLM clients
//! (any OpenAI-compatible endpoint, plus a clearly labelled offline planner), typed tools with
//! JSON Schemas, toolkits made from an MCP session, handoffs and `ReplyResult`. It is empty until
//! that work lands; see `docs/architecture.md`.
//!
//! Everything MCP-related comes through [`mcp_session`], re-exported here.

pub use mcp_session;
