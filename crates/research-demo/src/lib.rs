//! The research assistant of the seed notebook, and its arXiv and Wikipedia MCP servers.
//!
//! Built so far: [`arxiv::atom`], the parser of the arXiv API's Atom feed; [`arxiv::api`], a
//! client of the API; [`arxiv::server::ArxivServer`], the arXiv MCP server that
//! `research-demo serve arxiv` serves over stdio; and [`fixtures::FixtureServer`], which serves
//! recorded answers on loopback. The assistant and the Wikipedia server come next (see
//! `docs/architecture.md`).

pub mod arxiv;
pub mod assistant;
pub mod fixtures;
