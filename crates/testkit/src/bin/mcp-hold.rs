//! `mcp-hold [--close-on-input] COMMAND [ARGS…]`: opens a stdio session to `COMMAND ARGS…` with
//! mcp-session, prints `open PID` (the server's process id), and holds the session until killed;
//! with `--close-on-input`, until a line (or the end) arrives on stdin, then closes it, prints
//! `closed` and exits 0.
//!
//! Tests kill it with SIGKILL to check that a client that dies does not leave its servers
//! behind (the servers' parent-death signal), and run it as an ordinary user to check that
//! cleanup needs no privilege.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::StdioConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let close_on_input = args.first().is_some_and(|a| a == "--close-on-input");
    if close_on_input {
        args.remove(0);
    }
    if args.is_empty() {
        eprintln!("usage: mcp-hold [--close-on-input] COMMAND [ARGS…]");
        return ExitCode::from(2);
    }
    let command = args.remove(0);
    let config = StdioConfig::new("held", command).args(args);
    let manager = MCPClientSessionManager::new();
    let session = match manager.open_session(&config.into()).await {
        Ok(session) => session,
        Err(err) => {
            eprintln!("mcp-hold: {err}");
            return ExitCode::FAILURE;
        }
    };
    let pid = session.process_id().unwrap_or_default();
    if say(&format!("open {pid}")).is_err() {
        return ExitCode::FAILURE;
    }
    if !close_on_input {
        std::future::pending::<()>().await;
    }
    let _ =
        tokio::task::spawn_blocking(|| std::io::stdin().lock().read_line(&mut String::new())).await;
    if let Err(err) = session.close().await {
        eprintln!("mcp-hold: {err}");
        return ExitCode::FAILURE;
    }
    if say("closed").is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn say(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}
