//! Prints every configured server's tools as JSON: opens each server of an MCP config file in
//! turn, lists its tools (all pages), closes it, and prints one line per server.
//!
//! ```text
//! cargo run -p examples --example catalog -- CONFIG_FILE [SERVER...]
//! ```
//!
//! Each line is `{"server": NAME, "tools": [TOOL, ...]}`, the tools as the server listed them,
//! in its order (`cargo xtask catalogs` uses it to record real servers' catalogs). Without
//! `SERVER`s, every server of the file, in the file's order. A server that cannot be opened or
//! listed is reported on stderr and the others still run; the exit code is then 1. A file that
//! does not load, or a `SERVER` it does not name, exits 1 before any server starts; no
//! `CONFIG_FILE` exits 2.

use std::process::ExitCode;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::{MCPConfig, ServerConfig};

const USAGE: &str = "usage: catalog CONFIG_FILE [SERVER...]";

/// The servers to list from config file `file`: those named in `names`, or all of them.
fn servers(file: &str, names: &[String]) -> Result<Vec<ServerConfig>, String> {
    let loaded = MCPConfig::load(file).map_err(|e| e.to_string())?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    if names.is_empty() {
        return Ok(loaded.config.servers().to_vec());
    }
    names.iter().map(|name| loaded.config.get(name).cloned().map_err(|e| e.to_string())).collect()
}

/// Opens `server`, lists its tools and closes it; returns its line of output.
async fn catalog(
    manager: &MCPClientSessionManager,
    server: &ServerConfig,
) -> Result<String, Box<dyn std::error::Error>> {
    let session = manager.open_session(server).await?;
    let tools = session.list_tools().await;
    session.close().await?;
    let line = serde_json::json!({ "server": server.server_name(), "tools": tools? });
    Ok(line.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, names @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let servers = match servers(file, names) {
        Ok(servers) => servers,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let manager = MCPClientSessionManager::new();
    let mut failed = false;
    for server in &servers {
        match catalog(&manager, server).await {
            Ok(line) => println!("{line}"),
            Err(err) => {
                // The error names the server.
                eprintln!("error: {err}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
