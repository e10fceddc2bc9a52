//! The research assistant of the seed notebook, and its arXiv and Wikipedia MCP servers.
//!
//! Built so far: [`arxiv::atom`], the parser of the arXiv API's Atom feed. The servers, the
//! fixtures they answer from offline, and the assistant's command line come next (see
//! `docs/architecture.md`).

pub mod arxiv;
