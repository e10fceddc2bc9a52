//! The pool phase: [`SessionPool`] on loopback against `testkit-mcp`. Each repetition runs in
//! two fresh processes, `mcp-bench --pool-round hold` and then `--pool-round others`: the first
//! so that its RSS counts the pool's sessions and nothing an earlier phase left behind, the
//! second so that its stdio spawns do not copy the page tables of the first one's heap (which
//! makes a `fork` several times slower). One repetition measures:
//!
//! - **hold** (the first process): SESSIONS streamable HTTP servers in one pool (distinct
//!   names, spread over [`HTTP_SERVERS`] `testkit-mcp http` processes), opened all at once with
//!   `get` on each: the time until every session is open, the process's RSS and open
//!   descriptors before and with them open, the heap they hold (counted by [`crate::alloc`]),
//!   then `health_all()` over them twice and `close_all()`;
//! - **calls** (the second process, as the next two): over stdio and streamable HTTP, CALLS
//!   sequential `echo` calls through the pool (its session warm), the same over a bare
//!   [`Session`](mcp_session::Session), and N calls the seed's way, a session opened and closed
//!   around each ([`MCPClientSessionManager::with_session`]);
//! - **health**: `health_all()` over [`HEALTH_SERVERS`] open servers with `pool.ping_timeout`
//!   [`PING_TIMEOUT`]: all answering, then with [`HANGING`] of them stopped (stdio servers whose
//!   process group got `SIGSTOP`; the others are HTTP sessions);
//! - **crash**: a pooled stdio server's process group killed (`SIGKILL`), and the time from the
//!   kill to the next call through the pool that succeeds (the caller calling again at once
//!   after any error), [`crash_samples`] times.
//!
//! Every server a part starts is gone when it ends; each part reports its own descriptors and
//! child processes before and after, as the run's leak check wants.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mcp_session::mcp_config::{
    MCPConfig, PoolSettings, ServerConfig, StdioConfig, StreamableHttpConfig,
};
use mcp_session::{MCPClientSessionManager, SessionError, SessionPool};
use serde_json::{Value, json};

use crate::report::{self, Resources, rss_kib};
use crate::servers::TestkitProcess;
use crate::{Args, Error};

/// `testkit-mcp http` processes the held sessions are spread over.
pub(crate) const HTTP_SERVERS: usize = 4;
/// Servers in the health check.
pub(crate) const HEALTH_SERVERS: usize = 100;
/// Of which this many hang (stopped stdio servers).
pub(crate) const HANGING: usize = 5;
/// `pool.ping_timeout` of every server in the health check.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Crashes measured per round: N, at most 10.
pub(crate) fn crash_samples(n: usize) -> usize {
    n.clamp(1, 10)
}

/// The parts of a repetition, each in a process of its own, in order.
pub(crate) const PARTS: [&str; 2] = ["hold", "others"];

/// One repetition: each part in a fresh `mcp-bench --pool-round PART` process, started by `sh`
/// with the soft limit on open files raised to the hard one (holding SESSIONS HTTP sessions
/// takes about two descriptors each). Returns the figures and the leak record of each part.
pub(crate) async fn round_in_child(args: &Args) -> Result<(Value, Vec<Value>), Error> {
    let mut figures = serde_json::Map::new();
    let mut leaks = Vec::with_capacity(PARTS.len());
    for part in PARTS {
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", r#"ulimit -S -n "$(ulimit -H -n)" 2>/dev/null; exec "$@""#, "sh"])
            .arg(std::env::current_exe()?)
            .arg("--testkit")
            .arg(args.testkit()?)
            .args(["--pool-round", part])
            .args(["--pool-sessions", &args.pool_sessions.to_string()])
            .args(["--calls", &args.calls.to_string(), "--n", &args.n.to_string()])
            .stderr(Stdio::inherit());
        let mut out = report::child_report(command, &format!("the pool phase ({part})")).await?;
        if let Value::Object(part_figures) = out["pool"].take() {
            figures.extend(part_figures);
        }
        leaks.push(out["leak"].take());
    }
    Ok((Value::Object(figures), leaks))
}

/// One part of a repetition (`hold` or `others`), in this process: `{"pool": figures, "leak":
/// descriptors and children before and after}`.
pub(crate) async fn round(args: &Args, part: &str) -> Result<Value, Error> {
    let testkit = args.testkit()?;
    let before = Resources::now();
    if part == "hold" {
        check_open_files(args.pool_sessions)?;
    }
    let mut http = Vec::with_capacity(HTTP_SERVERS);
    for _ in 0..if part == "hold" { HTTP_SERVERS } else { 1 } {
        http.push(TestkitProcess::start(&testkit.display().to_string(), "http").await?);
    }
    let urls: Vec<&str> = http.iter().map(TestkitProcess::url).collect();
    let figures = if part == "hold" {
        eprintln!("mcp-bench: pool phase: holding {} HTTP sessions", args.pool_sessions);
        json!({"hold": hold(&urls, args.pool_sessions).await?})
    } else {
        eprintln!("mcp-bench: pool phase: pooled calls against open-per-call");
        let calls = calls(testkit, urls[0], args.calls, args.n).await?;
        eprintln!("mcp-bench: pool phase: health_all with {HANGING} of {HEALTH_SERVERS} hanging");
        let health = health(testkit, urls[0]).await?;
        eprintln!("mcp-bench: pool phase: from a crash to the next call");
        let crash = crash(testkit, crash_samples(args.n)).await?;
        json!({"calls": calls, "health": health, "crash": crash})
    };
    drop(http);
    Ok(json!({"pool": figures, "leak": before.compare(&format!("pool {part}")).await}))
}

/// Fails, saying what to do, when the soft limit on open files cannot hold `sessions` HTTP
/// sessions (two descriptors each, and some room).
fn check_open_files(sessions: usize) -> Result<(), Error> {
    let needed = sessions * 2 + 256;
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|limits| {
        let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse::<usize>().ok()
    });
    match soft {
        Some(soft) if soft < needed => Err(format!(
            "{sessions} HTTP sessions need about {needed} open files, but the limit is {soft}: \
             raise it (`ulimit -n {needed}`) or pass a smaller --pool-sessions"
        )
        .into()),
        _ => Ok(()),
    }
}

/// This process's open file descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn ms(took: Duration) -> f64 {
    took.as_secs_f64() * 1000.0
}

/// `sessions` streamable HTTP servers in one pool, each a name of its own over one of `urls`,
/// opened at once and held.
async fn hold(urls: &[&str], sessions: usize) -> Result<Value, Error> {
    let servers = (0..sessions)
        .map(|index| {
            let url = urls[index % urls.len()];
            Ok(StreamableHttpConfig::new(format!("http-{index:04}"), url)?.into())
        })
        .collect::<Result<Vec<ServerConfig>, Error>>()?;
    let config = MCPConfig::new(servers)?;
    let names: Vec<String> = config.iter().map(|server| server.server_name().to_owned()).collect();
    let (rss_before, fds_before) = (rss_kib(), open_fds());
    crate::alloc::start();
    let pool = SessionPool::new(config);
    let started = Instant::now();
    let mut opening = tokio::task::JoinSet::new();
    for name in names {
        let pool = pool.clone();
        opening.spawn(async move { pool.get(&name).await });
    }
    let mut leases = Vec::with_capacity(sessions);
    let mut failed = None;
    while let Some(lease) = opening.join_next().await {
        match lease? {
            Ok(lease) => leases.push(lease),
            Err(err) => failed = Some(err),
        }
    }
    let open_all = started.elapsed();
    let heap = crate::alloc::stop();
    let (rss_open, fds_open) = (rss_kib(), open_fds());
    if let Some(err) = failed {
        pool.close_all().await;
        return Err(format!("opening {sessions} HTTP sessions: {err}").into());
    }
    let protocol =
        leases.first().and_then(|lease| lease.protocol_version()).unwrap_or_else(|| "?".to_owned());
    // The first check lists each server's tools too (once per session); the second only pings.
    let started = Instant::now();
    let health = pool.health_all().await;
    let health_all = started.elapsed();
    let healthy = health.iter().filter(|(_, health)| health.is_healthy()).count();
    let started = Instant::now();
    pool.health_all().await;
    let health_all_again = started.elapsed();
    drop(leases);
    let started = Instant::now();
    pool.close_all().await;
    let close_all = started.elapsed();
    Ok(json!({
        "sessions": sessions,
        "http_servers": urls.len(),
        "protocol_version": protocol,
        "open_all_ms": ms(open_all),
        "rss_before_kib": rss_before,
        "rss_open_kib": rss_open,
        "heap_open_bytes": heap.retained,
        "fds_before": fds_before,
        "fds_open": fds_open,
        "health_all_ms": ms(health_all),
        "health_all_again_ms": ms(health_all_again),
        "healthy": healthy,
        "close_all_ms": ms(close_all),
    }))
}

/// The one server of the calls' pools.
const NAME: &str = "bench";

/// Over stdio and streamable HTTP: `calls` sequential calls through a pool and over a bare
/// session, and `n` calls each in a session of its own.
async fn calls(testkit: &Path, url: &str, calls: usize, n: usize) -> Result<Value, Error> {
    let stdio: ServerConfig =
        StdioConfig::new(NAME, testkit.display().to_string()).args(["stdio"]).into();
    let http: ServerConfig = StreamableHttpConfig::new(NAME, url)?.into();
    let mut out = serde_json::Map::new();
    for (transport, server) in [("stdio", stdio), ("http", http)] {
        let arguments = || json!({"text": "hi"});
        // Through a pool, its session opened by an untimed first call.
        let pool = SessionPool::new(MCPConfig::new([server.clone()])?);
        pool.call_tool(NAME, "echo", arguments()).await?;
        let pooled = sequential(calls, || pool.call_tool(NAME, "echo", arguments())).await?;
        pool.close_all().await;
        // Over one session, with no pool.
        let manager = MCPClientSessionManager::new();
        let session = manager.open_session(&server).await?;
        session.call_tool("echo", arguments()).await?;
        let bare = sequential(calls, || session.call_tool("echo", arguments())).await?;
        session.close().await?;
        // The seed's way: a session opened and closed around every call (after an untimed one).
        let per_call = || {
            manager
                .with_session(&server, async |session| session.call_tool("echo", arguments()).await)
        };
        per_call().await?;
        let open_per_call = sequential(n, per_call).await?;
        out.insert(
            transport.to_owned(),
            json!({"pooled": pooled, "session": bare, "open_per_call": open_per_call}),
        );
    }
    Ok(Value::Object(out))
}

/// `count` calls of `call`, one at a time: their latencies and rate.
async fn sequential<T, F>(count: usize, call: impl Fn() -> F) -> Result<Value, Error>
where
    F: Future<Output = Result<T, SessionError>>,
{
    let mut latencies = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let start = Instant::now();
        call().await?;
        latencies.push(start.elapsed());
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    Ok(report::warm(latencies, rate))
}

/// An error's variant and message, without the server's name.
fn error_kind(err: &SessionError) -> String {
    let debug = format!("{err:?}");
    let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
    format!("{variant}: {err}")
}

/// Process groups stopped with `SIGSTOP`, continued (`SIGCONT`) when dropped, on every way out.
struct Stopped(Vec<u32>);

impl Stopped {
    /// Stops the groups of `pgids`.
    async fn stop(pgids: Vec<u32>) -> Result<Stopped, Error> {
        let mut stopped = Stopped(Vec::with_capacity(pgids.len()));
        for pgid in pgids {
            signal_group(pgid, "STOP").await?;
            stopped.0.push(pgid);
        }
        Ok(stopped)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for pgid in self.0.drain(..) {
            let _ = std::process::Command::new("kill")
                .args(["-s", "CONT", "--", &format!("-{pgid}")])
                .status();
        }
    }
}

/// Sends `signal` (`STOP`, `KILL`…) to process group `pgid`, with `kill(1)`: the bench has no
/// binding to `kill(2)`. Returns once the signal is sent.
async fn signal_group(pgid: u32, signal: &str) -> Result<(), Error> {
    let status = tokio::process::Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .status()
        .await?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -s {signal} -- -{pgid} failed ({status})").into())
    }
}

/// The process group (its leader's pid) of pooled stdio server `name`, its session open.
async fn process_group(pool: &SessionPool, name: &str) -> Result<u32, Error> {
    let lease = pool.get(name).await?;
    let session = lease.session().ok_or_else(|| format!("{name} has no open session"))?;
    Ok(session.process_id().ok_or_else(|| format!("{name} has no process"))?)
}

/// `health_all()` over [`HEALTH_SERVERS`] open servers: [`HANGING`] stdio servers and the rest
/// HTTP sessions to `url`, every one with `pool.ping_timeout` [`PING_TIMEOUT`]. Timed with all
/// answering, then with the stdio servers stopped.
async fn health(testkit: &Path, url: &str) -> Result<Value, Error> {
    let settings = PoolSettings::default().ping_timeout(PING_TIMEOUT);
    let command = testkit.display().to_string();
    let stdio_names: Vec<String> = (0..HANGING).map(|index| format!("stdio-{index}")).collect();
    let mut servers: Vec<ServerConfig> = stdio_names
        .iter()
        .map(|name| StdioConfig::new(name, &command).args(["stdio"]).pool(settings).into())
        .collect();
    for index in 0..HEALTH_SERVERS - HANGING {
        servers.push(
            StreamableHttpConfig::new(format!("http-{index:03}"), url)?.pool(settings).into(),
        );
    }
    let pool = SessionPool::new(MCPConfig::new(servers)?);
    let started = Instant::now();
    let opened = pool.health_all_started().await;
    let open_and_check = started.elapsed();
    if let Some((name, health)) = opened.iter().find(|(_, health)| !health.is_healthy()) {
        pool.close_all().await;
        return Err(format!("{name} is not healthy after opening: {health}").into());
    }
    let started = Instant::now();
    pool.health_all().await;
    let all_answering = started.elapsed();
    let mut pgids = Vec::with_capacity(HANGING);
    for name in &stdio_names {
        pgids.push(process_group(&pool, name).await?);
    }
    let stopped = Stopped::stop(pgids).await?;
    let started = Instant::now();
    let checked = pool.health_all().await;
    let with_hanging = started.elapsed();
    drop(stopped);
    let count = |label: &str| checked.iter().filter(|(_, health)| health.label() == label).count();
    let figures = json!({
        "servers": HEALTH_SERVERS,
        "hanging": HANGING,
        "ping_timeout_ms": ms(PING_TIMEOUT),
        "open_and_check_ms": ms(open_and_check),
        "all_answering_ms": ms(all_answering),
        "with_hanging_ms": ms(with_hanging),
        "healthy": count("healthy"),
        "unreachable": count("unreachable"),
    });
    pool.close_all().await;
    Ok(figures)
}

/// A pooled stdio server killed `samples` times: from each kill to the next successful call.
/// The restart budget is reset before each, so that each is a first restart (no back-off).
async fn crash(testkit: &Path, samples: usize) -> Result<Value, Error> {
    const CRASHY: &str = "crashy";
    let server = StdioConfig::new(CRASHY, testkit.display().to_string()).args(["stdio"]);
    let pool = SessionPool::new(MCPConfig::new([server.into()])?);
    let call = || pool.call_tool(CRASHY, "echo", json!({"text": "hi"}));
    call().await?;
    let mut recovered = Vec::with_capacity(samples);
    let mut failed_calls = 0_u64;
    let mut errors: Vec<String> = Vec::new();
    for _ in 0..samples {
        pool.reset(CRASHY)?;
        let pgid = process_group(&pool, CRASHY).await?;
        signal_group(pgid, "KILL").await?;
        let killed = Instant::now();
        let mut failures = 0;
        while let Err(err) = call().await {
            failures += 1;
            let kind = error_kind(&err);
            if !errors.contains(&kind) {
                errors.push(kind);
            }
            if failures >= 100 {
                pool.close_all().await;
                return Err(format!("no call succeeded after a crash: {err}").into());
            }
        }
        recovered.push(killed.elapsed());
        failed_calls += failures;
    }
    pool.close_all().await;
    Ok(json!({
        "samples": samples,
        "failed_calls": failed_calls,
        "errors": errors,
        "recovery": report::stats(&mut recovered),
    }))
}
