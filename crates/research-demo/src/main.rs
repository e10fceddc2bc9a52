//! `research-demo`: the research assistant of the seed notebook.
//!
//! The assistant itself (arXiv over stdio, Wikipedia over legacy SSE, a tool that opens an MCP
//! session inside the call) is not built yet. Until it is, this binary shows the server
//! configuration it will use, built with `mcp-config` exactly as the seed writes it, and says so.

use std::process::ExitCode;
use std::time::Duration;

use mcp_config::{ConfigError, MCPConfig, SseConfig, StdioConfig};

/// This binary's path, which will serve arXiv as `research-demo serve arxiv`.
fn current_exe() -> String {
    std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "research-demo".to_owned())
}

/// The seed's two servers. The arXiv server will be this binary's own `serve arxiv` subcommand.
fn seed_config() -> Result<MCPConfig, ConfigError> {
    let arxiv = StdioConfig::new("ArxivServer", current_exe()).args([
        "serve",
        "arxiv",
        "--storage-path",
        "/tmp/arxiv_papers",
    ]);
    let wikipedia = SseConfig::new("WikipediaServer", "http://127.0.0.1:8000/sse")?
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    MCPConfig::new([arxiv.into(), wikipedia.into()])
}

fn main() -> ExitCode {
    let query = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let config = match seed_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("research-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "research-demo: the research assistant is not built yet: its arXiv and Wikipedia servers come next."
    );
    if !query.is_empty() {
        eprintln!("research-demo: your query was: {query}");
    }
    eprintln!("research-demo: it will use these MCP servers:");
    for server in &config {
        eprintln!("  - {server}");
    }
    ExitCode::SUCCESS
}
