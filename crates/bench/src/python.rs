//! The Python clients, run as `python/bench_client.py` processes that time themselves the same
//! way `ours` does and print raw samples.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Error;
use crate::report::{self, PHASES};
use crate::servers::{Target, peers};

/// This crate's Python scripts.
pub(crate) fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python").join(name)
}

/// The Python for `client`: the `mcp` venv or the AG2 venv.
pub(crate) fn python(client: &str) -> Result<PathBuf, Error> {
    let peers = peers()?;
    Ok(if client == "ag2" { peers.ag2_python() } else { peers.python() })
}

/// `n` cold sessions by `client` (`mcp` or `ag2`).
pub(crate) async fn cold(
    client: &str,
    target: &Target,
    n: usize,
) -> Result<[Vec<Duration>; 5], Error> {
    let report = run(client, target, [n, 0, 0]).await?;
    let mut phases: [Vec<Duration>; 5] = Default::default();
    for (name, samples) in PHASES.iter().zip(&mut phases) {
        *samples = report::durations(&report["cold"][name]);
    }
    Ok(phases)
}

/// `calls` warm calls by `client`, one at a time and sixteen in flight.
pub(crate) async fn warm(client: &str, target: &Target, calls: usize) -> Result<Value, Error> {
    let report = run(client, target, [0, calls, 0]).await?;
    let mode = |name: &str| {
        let mode = &report["warm"][name];
        report::warm(
            report::durations(&mode["latencies_ms"]),
            mode["calls_per_s"].as_f64().unwrap_or(0.0),
        )
    };
    Ok(json!({"sequential": mode("sequential"), "concurrency_16": mode("concurrency_16")}))
}

/// `sessions` sessions by `client` opened at once: the time to open all, and its RSS.
pub(crate) async fn scale(client: &str, target: &Target, sessions: usize) -> Result<Value, Error> {
    Ok(run(client, target, [0, 0, sessions]).await?["scale"].take())
}

/// Runs `bench_client.py` with N, CALLS and SESSIONS.
async fn run(
    client: &str,
    target: &Target,
    [n, calls, sessions]: [usize; 3],
) -> Result<Value, Error> {
    let mut command = tokio::process::Command::new(python(client)?);
    command
        .arg(script("bench_client.py"))
        .args([client, target.transport, &target.python_arg()])
        .args([n, calls, sessions].map(|count| count.to_string()));
    report::child_report(command, &format!("the {client} client over {}", target.transport)).await
}
