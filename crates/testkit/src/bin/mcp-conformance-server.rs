//! `mcp-conformance-server [--port PORT]`: [`testkit::conformance_server`] over streamable HTTP
//! on 127.0.0.1 (any free port by default), for the official MCP conformance runner's server
//! scenarios (`cargo xtask interop`).
//!
//! Prints its URL (`http://127.0.0.1:PORT/mcp`) as the first line of stdout, then serves until it
//! is killed.

use std::io::Write as _;
use std::process::ExitCode;

const USAGE: &str = "usage: mcp-conformance-server [--port PORT]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [] => 0,
        [flag, port] if flag == "--port" => match port.parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mcp-conformance-server: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    println!("{url}");
    std::io::stdout().flush()?;
    eprintln!("mcp-conformance-server: serving MCP at {url}");
    axum::serve(listener, testkit::conformance_server::router()).await?;
    Ok(())
}
