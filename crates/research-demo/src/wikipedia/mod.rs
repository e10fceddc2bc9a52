//! Everything Wikipedia: a client of the MediaWiki action and REST APIs, and an MCP server over it.

pub mod api;
pub mod server;
