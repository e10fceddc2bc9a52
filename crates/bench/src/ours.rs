//! Our client: `MCPClientSessionManager` and `Session`, as a user would call them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mcp_config::MCPConfig;
use mcp_session::{MCPClientSessionManager, Session, SessionPool};
use serde_json::{Value, json};

use crate::Error;
use crate::report::{self, rss_kib};
use crate::servers::{self, Target};

/// Where our client's calls are made from, and through what.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Caller {
    /// A task spawned on the runtime (`tokio::spawn`), over a `Session`: how a program on the
    /// multi-thread runtime is meant to run its work.
    Task,
    /// The future the runtime's `block_on` runs, over a `Session`: code written directly in
    /// `#[tokio::main] async fn main`. That future runs on the program's main thread, not on
    /// a worker, so every answer wakes it across threads.
    Main,
    /// A spawned task, through a `SessionPool` holding the session (schema checks included).
    Pool,
}

/// `n` cold sessions: open → list → call → close, each phase timed, after one untimed session
/// (as every client gets, so that none is timed loading code or warming caches).
pub(crate) async fn cold(
    target: &Target,
    n: usize,
    caller: Caller,
) -> Result<[Vec<Duration>; 5], Error> {
    let config = target.config()?;
    let work = async move {
        let manager = MCPClientSessionManager::new();
        let mut phases: [Vec<Duration>; 5] = Default::default();
        manager.open_session(&config).await?.close().await?;
        for _ in 0..n {
            let start = Instant::now();
            let session = manager.open_session(&config).await?;
            let opened = Instant::now();
            session.list_tools().await?;
            let listed = Instant::now();
            session.call_tool("echo", json!({"text": "hi"})).await?;
            let called = Instant::now();
            session.close().await?;
            report::record(&mut phases, [start, opened, listed, called, Instant::now()]);
        }
        Ok::<_, Error>(phases)
    };
    match caller {
        Caller::Main => work.await,
        Caller::Task | Caller::Pool => tokio::spawn(work).await?,
    }
}

/// One `echo` call, over a session or through a pool.
#[derive(Clone)]
enum Calls {
    Session(Session),
    Pool(SessionPool),
}

impl Calls {
    async fn echo(&self) -> Result<(), Error> {
        let arguments = json!({"text": "hi"});
        match self {
            Calls::Session(session) => session.call_tool("echo", arguments).await?,
            Calls::Pool(pool) => pool.call_tool(servers::NAME, "echo", arguments).await?,
        };
        Ok(())
    }

    /// Closes the session, or every session of the pool.
    async fn close(self) -> Result<(), Error> {
        match self {
            Calls::Session(session) => session.close().await?,
            Calls::Pool(pool) => pool.close_all().await,
        }
        Ok(())
    }
}

/// `calls` calls over one session: one at a time (made from where `caller` says), then
/// sixteen in flight (sixteen spawned tasks).
pub(crate) async fn warm(target: &Target, calls: usize, caller: Caller) -> Result<Value, Error> {
    let config = target.config()?;
    let via = if caller == Caller::Pool {
        Calls::Pool(SessionPool::new(MCPConfig::new([config])?))
    } else {
        Calls::Session(MCPClientSessionManager::new().open_session(&config).await?)
    };
    // Not timed: opens the pool's session and lists its tools for the schema checks.
    via.echo().await?;
    let sequential = {
        let via = via.clone();
        async move {
            let mut latencies = Vec::with_capacity(calls);
            let started = Instant::now();
            for _ in 0..calls {
                let start = Instant::now();
                via.echo().await?;
                latencies.push(start.elapsed());
            }
            Ok::<_, Error>((latencies, calls as f64 / started.elapsed().as_secs_f64()))
        }
    };
    let (sequential, sequential_rate) = match caller {
        Caller::Main => sequential.await?,
        Caller::Task | Caller::Pool => tokio::spawn(sequential).await??,
    };
    let (concurrent, concurrent_rate) = concurrently(&via, calls, 16).await?;
    via.close().await?;
    Ok(json!({
        "sequential": report::warm(sequential, sequential_rate),
        "concurrency_16": report::warm(concurrent, concurrent_rate),
    }))
}

/// Only the sixteen-in-flight part of [`warm`], from spawned tasks over a `Session`: the workload
/// to put that phase alone under a profiler.
pub(crate) async fn in_flight(target: &Target, calls: usize) -> Result<Value, Error> {
    let via = Calls::Session(MCPClientSessionManager::new().open_session(&target.config()?).await?);
    via.echo().await?;
    let (concurrent, concurrent_rate) = concurrently(&via, calls, 16).await?;
    via.close().await?;
    Ok(json!({ "concurrency_16": report::warm(concurrent, concurrent_rate) }))
}

/// `calls` calls, `width` in flight at a time: their latencies and the rate.
async fn concurrently(
    via: &Calls,
    calls: usize,
    width: usize,
) -> Result<(Vec<Duration>, f64), Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..width)
        .map(|_| {
            let (via, next) = (via.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    let start = Instant::now();
                    via.echo().await?;
                    latencies.push(start.elapsed());
                }
                Ok::<_, Error>(latencies)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(calls);
    for worker in workers {
        all.extend(worker.await??);
    }
    Ok((all, calls as f64 / started.elapsed().as_secs_f64()))
}

/// The scale phase in a new `mcp-bench` process: its RSS is then the sessions' alone, not what
/// the earlier phases of this process left in its heap.
pub(crate) async fn scale_in_child(
    testkit: &std::path::Path,
    target: &Target,
) -> Result<Value, Error> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command.arg("--testkit").arg(testkit).args(["--scale", target.transport, &target.python_arg()]);
    report::child_report(command, &format!("our scale phase over {}", target.transport)).await
}

/// `sessions` sessions opened at once: the time to open all, and RSS with them open.
pub(crate) async fn scale(target: &Target, sessions: usize) -> Result<Value, Error> {
    let (manager, config) = (MCPClientSessionManager::new(), target.config()?);
    let rss_before = rss_kib();
    let started = Instant::now();
    let opening: Vec<_> = (0..sessions)
        .map(|_| {
            let (manager, config) = (manager.clone(), config.clone());
            tokio::spawn(async move { manager.open_session(&config).await })
        })
        .collect();
    let mut open = Vec::with_capacity(sessions);
    for task in opening {
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
