//! `mcp-bench TESTKIT_MCP N CALLS`: measures our MCP client against `testkit-mcp` and prints the
//! results as one JSON document. `cargo xtask bench` builds it in release and runs it.
//!
//! - cold sessions, N per transport (stdio, legacy SSE, streamable HTTP): open (spawn or connect,
//!   and `initialize`) → `tools/list` → `tools/call echo` → close, each phase timed;
//! - warm calls over one session (stdio and streamable HTTP): CALLS sequential calls, then CALLS
//!   calls sixteen at a time;
//! - scale: 100 sessions opened at once (stdio and streamable HTTP), the time to open them all
//!   and this process's RSS with them open;
//! - leaks: this process's open file descriptors and child processes before and after each
//!   phase.

use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_session::mcp_config::{ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig};
use mcp_session::{MCPClientSessionManager, Session};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [testkit, n, calls] => n.parse().ok().zip(calls.parse().ok()).map(|nc| (testkit, nc)),
        _ => None,
    };
    let Some((testkit, (n, calls))) = parsed else {
        eprintln!("usage: mcp-bench TESTKIT_MCP N CALLS");
        return ExitCode::from(2);
    };
    match run(testkit, n, calls).await {
        Ok(report) => {
            println!("{report:#}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mcp-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(testkit: &str, n: usize, calls: usize) -> Result<Value, Error> {
    let stdio: ServerConfig = StdioConfig::new("stdio", testkit).args(["stdio"]).into();
    let http_server = Server::start(testkit, "http").await?;
    let sse_server = Server::start(testkit, "sse").await?;
    let http: ServerConfig = StreamableHttpConfig::new("http", &http_server.url)?.into();
    let sse: ServerConfig = SseConfig::new("sse", &sse_server.url)?.into();
    let manager = MCPClientSessionManager::new();
    let mut leaks = Vec::new();
    let mut cold_results = serde_json::Map::new();
    for (name, config) in [("stdio", &stdio), ("sse", &sse), ("http", &http)] {
        let before = Resources::now();
        cold_results.insert(name.to_owned(), cold(&manager, config, n).await?);
        leaks.push(before.compare(&format!("cold {name}")).await);
    }
    let mut warm_results = serde_json::Map::new();
    for (name, config) in [("stdio", &stdio), ("http", &http)] {
        let before = Resources::now();
        warm_results.insert(name.to_owned(), warm(&manager, config, calls).await?);
        leaks.push(before.compare(&format!("warm {name}")).await);
    }
    let mut scale_results = serde_json::Map::new();
    for (name, config) in [("stdio", &stdio), ("http", &http)] {
        let before = Resources::now();
        scale_results.insert(name.to_owned(), scale(&manager, config, 100).await?);
        leaks.push(before.compare(&format!("scale {name}")).await);
    }
    Ok(json!({
        "n": n,
        "calls": calls,
        "cold": cold_results,
        "warm": warm_results,
        "scale": scale_results,
        "leaks": leaks,
    }))
}

/// `testkit-mcp MODE` on a free loopback port, killed when dropped.
struct Server {
    url: String,
    _child: tokio::process::Child,
}

impl Server {
    async fn start(testkit: &str, mode: &str) -> Result<Server, Error> {
        let mut child = tokio::process::Command::new(testkit)
            .args([mode, "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        tokio::io::BufReader::new(stdout).read_line(&mut line).await?;
        Ok(Server { url: line.trim().to_owned(), _child: child })
    }
}

async fn cold(
    manager: &MCPClientSessionManager,
    config: &ServerConfig,
    n: usize,
) -> Result<Value, Error> {
    let mut phases: [Vec<Duration>; 5] = Default::default();
    for _ in 0..n {
        let start = Instant::now();
        let session = manager.open_session(config).await?;
        let opened = Instant::now();
        session.list_tools().await?;
        let listed = Instant::now();
        session.call_tool("echo", json!({"text": "hi"})).await?;
        let called = Instant::now();
        session.close().await?;
        let closed = Instant::now();
        for (phase, took) in phases.iter_mut().zip([
            opened - start,
            listed - opened,
            called - listed,
            closed - called,
            closed - start,
        ]) {
            phase.push(took);
        }
    }
    let mut out = serde_json::Map::new();
    for (name, samples) in ["open", "list", "call", "close", "total"].into_iter().zip(&mut phases) {
        out.insert(name.to_owned(), stats(samples));
    }
    Ok(Value::Object(out))
}

async fn warm(
    manager: &MCPClientSessionManager,
    config: &ServerConfig,
    calls: usize,
) -> Result<Value, Error> {
    let session = manager.open_session(config).await?;
    let started = Instant::now();
    let mut sequential = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        session.call_tool("echo", json!({"text": "hi"})).await?;
        sequential.push(start.elapsed());
    }
    let sequential_rate = calls as f64 / started.elapsed().as_secs_f64();
    let (mut concurrent, concurrent_rate) = concurrently(&session, calls, 16).await?;
    session.close().await?;
    Ok(json!({
        "sequential": {"calls_per_s": sequential_rate, "latency": stats(&mut sequential)},
        "concurrency_16": {"calls_per_s": concurrent_rate, "latency": stats(&mut concurrent)},
    }))
}

/// `calls` calls, `width` in flight at a time: their latencies and the rate.
async fn concurrently(
    session: &Session,
    calls: usize,
    width: usize,
) -> Result<(Vec<Duration>, f64), Error> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..width {
        let (session, next) = (session.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < calls {
                let start = Instant::now();
                session.call_tool("echo", json!({"text": "hi"})).await?;
                latencies.push(start.elapsed());
            }
            Ok::<_, Error>(latencies)
        }));
    }
    let mut all = Vec::with_capacity(calls);
    for worker in workers {
        all.extend(worker.await??);
    }
    Ok((all, calls as f64 / started.elapsed().as_secs_f64()))
}

/// `sessions` sessions opened at once: the time to open all, and RSS with them open.
async fn scale(
    manager: &MCPClientSessionManager,
    config: &ServerConfig,
    sessions: usize,
) -> Result<Value, Error> {
    let rss_before = rss_kib();
    let started = Instant::now();
    let opening = (0..sessions).map(|_| {
        let (manager, config) = (manager.clone(), config.clone());
        tokio::spawn(async move { manager.open_session(&config).await })
    });
    let mut open = Vec::with_capacity(sessions);
    for task in opening.collect::<Vec<_>>() {
        open.push(task.await??);
    }
    let opened = started.elapsed();
    let rss_open = rss_kib();
    for session in open {
        session.close().await?;
    }
    Ok(json!({
        "sessions": sessions,
        "open_all_ms": opened.as_secs_f64() * 1000.0,
        "rss_before_kib": rss_before,
        "rss_open_kib": rss_open,
    }))
}

/// This process's resident set, in KiB (0 when /proc cannot say).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Open file descriptors and living (not zombie) child processes of this process.
struct Resources {
    fds: usize,
    children: usize,
}

impl Resources {
    fn now() -> Resources {
        let fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
        let me = std::process::id().to_string();
        let children = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
            .filter(|stat| {
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
                fields.first().is_some_and(|state| *state != "Z")
                    && fields.get(1) == Some(&me.as_str())
            })
            .count();
        Resources { fds, children }
    }

    /// Before and after a phase; waits (at most 2 s) for processes and sockets to go.
    async fn compare(&self, phase: &str) -> Value {
        let mut after = Resources::now();
        for _ in 0..200 {
            if after.fds <= self.fds && after.children <= self.children {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            after = Resources::now();
        }
        json!({
            "phase": phase,
            "fds_before": self.fds,
            "fds_after": after.fds,
            "children_before": self.children,
            "children_after": after.children,
        })
    }
}

/// Median, p95 and p99 in milliseconds.
fn stats(samples: &mut [Duration]) -> Value {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len().saturating_sub(1)) as f64 * q).round() as usize;
        samples.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    json!({"median_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99)})
}
