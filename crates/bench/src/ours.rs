//! Our client: `MCPClientSessionManager` and `Session`, as a user would call them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mcp_session::{MCPClientSessionManager, Session};
use serde_json::{Value, json};

use crate::Error;
use crate::report::{self, rss_kib};
use crate::servers::Target;

/// `n` cold sessions: open → list → call → close, each phase timed, after one untimed session
/// (as every client gets, so that none is timed loading code or warming caches).
pub(crate) async fn cold(target: &Target, n: usize) -> Result<[Vec<Duration>; 5], Error> {
    let config = target.config()?;
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
    Ok(phases)
}

/// `calls` calls over one session: one at a time, then sixteen in flight.
pub(crate) async fn warm(target: &Target, calls: usize) -> Result<Value, Error> {
    let session = MCPClientSessionManager::new().open_session(&target.config()?).await?;
    let mut sequential = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let start = Instant::now();
        session.call_tool("echo", json!({"text": "hi"})).await?;
        sequential.push(start.elapsed());
    }
    let sequential_rate = calls as f64 / started.elapsed().as_secs_f64();
    let (concurrent, concurrent_rate) = concurrently(&session, calls, 16).await?;
    session.close().await?;
    Ok(json!({
        "sequential": report::warm(sequential, sequential_rate),
        "concurrency_16": report::warm(concurrent, concurrent_rate),
    }))
}

/// `calls` calls, `width` in flight at a time: their latencies and the rate.
async fn concurrently(
    session: &Session,
    calls: usize,
    width: usize,
) -> Result<(Vec<Duration>, f64), Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..width)
        .map(|_| {
            let (session, next) = (session.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    let start = Instant::now();
                    session.call_tool("echo", json!({"text": "hi"})).await?;
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
