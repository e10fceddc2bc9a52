//! Everything arXiv: the Atom feed of its API, a client of the API, and an MCP server over it.

pub mod api;
pub mod atom;
pub mod server;
