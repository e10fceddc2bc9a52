//! The research assistant of the seed notebook, and its arXiv and Wikipedia MCP servers.
//!
//! - [`assistant::ResearchAssistant`]: the notebook's flow, a tool that opens an MCP session
//!   inside the call and runs a temporary agent with the server's tools (or, made with
//!   [`keep_alive`](assistant::ResearchAssistant::keep_alive), takes a lease on a session pool
//!   instead), and `check_mcp_servers`, a tool that reports each server's health;
//! - [`arxiv::server::ArxivServer`]: the arXiv MCP server that `research-demo serve arxiv` serves
//!   over stdio, over [`arxiv::api`] (a client of the arXiv API) and [`arxiv::atom`] (its feed);
//! - [`wikipedia::server::WikipediaServer`]: the Wikipedia MCP server that
//!   `research-demo serve wikipedia` serves over legacy SSE and streamable HTTP, over
//!   [`wikipedia::api`] (a client of MediaWiki's action and REST APIs);
//! - [`fixtures::FixtureServer`]: recorded answers of the real APIs, served on loopback.
//!
//! ```no_run
//! use agent_core::{LLMConfig, ModelConfig};
//! use mcp_config::{MCPConfig, StdioConfig};
//! use research_demo::assistant::ResearchAssistant;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let arxiv = StdioConfig::new("ArxivServer", "research-demo").args(["serve", "arxiv"]);
//! let assistant = ResearchAssistant::new(
//!     MCPConfig::new([arxiv.into()])?,
//!     LLMConfig::new(ModelConfig::offline()),
//! );
//! let response = assistant
//!     .ask("Search for recent papers about large language models on ArxivServer", 2, None)
//!     .await?;
//! println!("{}", response.summary());
//! # Ok(())
//! # }
//! ```

pub mod arxiv;
pub mod assistant;
pub mod fixtures;
mod http;
pub mod wikipedia;
