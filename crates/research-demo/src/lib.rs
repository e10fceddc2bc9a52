//! The research assistant of the seed notebook, and its arXiv and Wikipedia MCP servers.
//!
//! Built so far: [`arxiv::atom`], the parser of the arXiv API's Atom feed; [`arxiv::api`], a
//! client of the API; and [`fixtures::FixtureServer`], which serves recorded answers on loopback.
//! The MCP servers and the assistant's command line come next (see `docs/architecture.md`).

pub mod arxiv;
pub mod fixtures;
