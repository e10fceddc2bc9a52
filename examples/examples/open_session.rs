//! Opens an MCP session, shows what the server offers, optionally calls one tool, and closes.
//!
//! ```text
//! cargo run -p examples --example open_session -- stdio COMMAND [ARGS...]
//! cargo run -p examples --example open_session -- http URL
//! cargo run -p examples --example open_session -- config FILE SERVER
//! ```
//!
//! Set `MCP_CALL='TOOL {"json": "arguments"}'` to call a tool before closing.
//! Exits 1 with the error when the session cannot be opened or a request fails.

use std::process::ExitCode;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::{MCPConfig, ServerConfig, StdioConfig, StreamableHttpConfig};

const USAGE: &str = "usage: open_session stdio COMMAND [ARGS...] | http URL | config FILE SERVER";

fn server_from_args(args: &[String]) -> Result<ServerConfig, String> {
    match args {
        [kind, command, rest @ ..] if kind == "stdio" => {
            Ok(StdioConfig::new("stdio-server", command.as_str())
                .args(rest.iter().map(String::as_str))
                .into())
        }
        [kind, url] if kind == "http" => {
            StreamableHttpConfig::new("http-server", url).map(Into::into).map_err(|e| e.to_string())
        }
        [kind, file, name] if kind == "config" => {
            let loaded = MCPConfig::load(file).map_err(|e| e.to_string())?;
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            loaded.config.get(name).cloned().map_err(|e| e.to_string())
        }
        _ => Err(USAGE.to_owned()),
    }
}

async fn run(server: ServerConfig) -> Result<(), Box<dyn std::error::Error>> {
    let manager = MCPClientSessionManager::new();
    let session = manager.open_session(&server).await?;
    let info = session.server_info();
    println!(
        "connected to {} {} over {}, protocol {}",
        info.as_ref().map_or("?", |i| i.name.as_str()),
        info.as_ref().map_or("?", |i| i.version.as_str()),
        session.transport(),
        session.protocol_version().unwrap_or_default()
    );
    for tool in session.list_tools().await? {
        println!("tool {}: {}", tool.name, tool.description.as_deref().unwrap_or(""));
    }
    if let Ok(call) = std::env::var("MCP_CALL") {
        let (name, arguments) = call.split_once(' ').unwrap_or((call.as_str(), "{}"));
        let result = session.call_tool(name, serde_json::from_str(arguments)?).await?;
        let text: Vec<&str> =
            result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
        println!(
            "{name} -> {}{}",
            text.join(""),
            if result.is_error == Some(true) { " (tool error)" } else { "" }
        );
    }
    session.close().await?;
    println!("closed");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let server = match server_from_args(&args) {
        Ok(server) => server,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(server).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
