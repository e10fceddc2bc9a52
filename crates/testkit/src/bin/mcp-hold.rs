//! `mcp-hold COMMAND [ARGS…]`: opens a stdio session to `COMMAND ARGS…` with mcp-session, prints
//! `open PID` (the server's process id) and holds the session until killed.
//!
//! Tests kill it with SIGKILL to check that a client that dies does not leave its servers
//! behind (the servers' parent-death signal).

use std::io::Write as _;
use std::process::ExitCode;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::StdioConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprintln!("usage: mcp-hold COMMAND [ARGS…]");
        return ExitCode::from(2);
    };
    let config = StdioConfig::new("held", command).args(args.collect::<Vec<_>>());
    let manager = MCPClientSessionManager::new();
    let session = match manager.open_session(&config.into()).await {
        Ok(session) => session,
        Err(err) => {
            eprintln!("mcp-hold: {err}");
            return ExitCode::FAILURE;
        }
    };
    let pid = session.process_id().unwrap_or_default();
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "open {pid}").and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
