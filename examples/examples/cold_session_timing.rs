//! Times cold sessions: open (spawn or connect, plus `initialize`) → `tools/list` → one
//! `tools/call` → close, N times, and prints the median and p95 of each phase.
//!
//! ```text
//! cargo run --release -p examples --example cold_session_timing -- N stdio COMMAND [ARGS...]
//! cargo run --release -p examples --example cold_session_timing -- N http URL
//! ```
//!
//! The tool called is `echo` with `{"text": "hi"}` (testkit-mcp has it). A quick measurement, not
//! the benchmark suite: run it against `testkit-mcp` (`target/release/testkit-mcp`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::{ServerConfig, StdioConfig, StreamableHttpConfig};

fn parse(args: &[String]) -> Option<(usize, ServerConfig)> {
    let count = args.first()?.parse().ok()?;
    let server = match &args[1..] {
        [kind, command, rest @ ..] if kind == "stdio" => {
            StdioConfig::new("timed", command.as_str()).args(rest.iter().map(String::as_str)).into()
        }
        [kind, url] if kind == "http" => StreamableHttpConfig::new("timed", url).ok()?.into(),
        _ => return None,
    };
    Some((count, server))
}

fn summary(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!("{name:<8} median {:>9.3} ms   p95 {:>9.3} ms", ms(at(0.5)), ms(at(0.95)));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((count, server)) = parse(&args) else {
        eprintln!("usage: cold_session_timing N stdio COMMAND [ARGS...] | N http URL");
        return ExitCode::from(2);
    };
    let manager = MCPClientSessionManager::new();
    let (mut open, mut list, mut call, mut close, mut total) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..count {
        let start = Instant::now();
        let session = match manager.open_session(&server).await {
            Ok(session) => session,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        };
        let opened = Instant::now();
        let listed = session.list_tools().await.map(|_| Instant::now());
        let called = session
            .call_tool("echo", serde_json::json!({"text": "hi"}))
            .await
            .map(|_| Instant::now());
        let (Ok(listed), Ok(called)) = (listed, called) else {
            eprintln!("error: a request failed");
            return ExitCode::FAILURE;
        };
        if let Err(err) = session.close().await {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
        let closed = Instant::now();
        open.push(opened - start);
        list.push(listed - opened);
        call.push(called - listed);
        close.push(closed - called);
        total.push(closed - start);
    }
    println!("{count} cold sessions ({})", server.transport());
    summary("open", &mut open);
    summary("list", &mut list);
    summary("call", &mut call);
    summary("close", &mut close);
    summary("total", &mut total);
    ExitCode::SUCCESS
}
