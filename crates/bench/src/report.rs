//! Statistics, resource counts and the median over repetitions.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Error;

/// The phases of a cold session, in order.
pub(crate) const PHASES: [&str; 5] = ["open", "list", "call", "close", "total"];

/// Median, p95 and p99 in milliseconds.
pub(crate) fn stats(samples: &mut [Duration]) -> Value {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len().saturating_sub(1)) as f64 * q).round() as usize;
        samples.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    json!({"median_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99)})
}

/// Adds one cold session's phase durations to `phases`, from the instants at which it started,
/// opened, listed, called and closed.
pub(crate) fn record(phases: &mut [Vec<Duration>; 5], at: [Instant; 5]) {
    let [start, opened, listed, called, closed] = at;
    let took = [opened - start, listed - opened, called - listed, closed - called, closed - start];
    for (phase, took) in phases.iter_mut().zip(took) {
        phase.push(took);
    }
}

/// Samples in milliseconds, as the Python scripts print them.
pub(crate) fn durations(samples_ms: &Value) -> Vec<Duration> {
    samples_ms
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect()
}

/// The statistics of each cold-session phase.
pub(crate) fn phases(mut samples: [Vec<Duration>; 5]) -> Value {
    let out: serde_json::Map<String, Value> =
        PHASES.iter().zip(&mut samples).map(|(name, s)| ((*name).to_owned(), stats(s))).collect();
    Value::Object(out)
}

/// A warm run's figures: the rate and the latencies.
pub(crate) fn warm(mut latencies: Vec<Duration>, calls_per_s: f64) -> Value {
    json!({"calls_per_s": calls_per_s, "latency": stats(&mut latencies)})
}

/// Every number of `runs` (documents of one shape) replaced by its median over the runs.
pub(crate) fn median_of(runs: &[Value]) -> Value {
    let Some(first) = runs.first() else { return Value::Null };
    match first {
        Value::Object(map) => Value::Object(
            map.keys()
                .map(|key| {
                    let column: Vec<Value> = runs.iter().map(|run| run[key].clone()).collect();
                    (key.clone(), median_of(&column))
                })
                .collect(),
        ),
        Value::Number(_) => {
            let mut numbers: Vec<f64> = runs.iter().filter_map(Value::as_f64).collect();
            numbers.sort_by(f64::total_cmp);
            let middle = numbers.len() / 2;
            let median = if numbers.len().is_multiple_of(2) {
                (numbers[middle - 1] + numbers[middle]) / 2.0
            } else {
                numbers[middle]
            };
            json!(median)
        }
        other => other.clone(),
    }
}

/// Runs `command` (a Python client, AG2's agent loop, or `mcp-bench --scale`) and returns the
/// JSON report it prints: its whole stdout, or the last line when something printed before it.
/// A failure names `what` and shows the end of the child's stderr.
pub(crate) async fn child_report(
    mut command: tokio::process::Command,
    what: &str,
) -> Result<Value, Error> {
    let output = command.kill_on_drop(true).output().await?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        tail.reverse();
        return Err(format!("{what} failed ({}):\n{}", output.status, tail.join("\n")).into());
    }
    let stdout = output.stdout.trim_ascii_end();
    let last = stdout.rsplit(|byte| *byte == b'\n').next().unwrap_or_default();
    serde_json::from_slice(stdout).or_else(|_| serde_json::from_slice(last)).map_err(|err| {
        let text = String::from_utf8_lossy(stdout);
        let head: String = text.chars().take(300).collect();
        format!("{what} printed no JSON report ({err}): {head}").into()
    })
}

/// This process's resident set, in KiB (0 when /proc cannot say).
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Open file descriptors and living (not zombie) child processes of this process.
pub(crate) struct Resources {
    fds: usize,
    children: usize,
}

impl Resources {
    pub(crate) fn now() -> Resources {
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
    pub(crate) async fn compare(&self, phase: &str) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_runs_takes_each_number_s_median() {
        let runs = [
            json!({"a": {"x": 1.0}, "name": "s", "b": 10}),
            json!({"a": {"x": 3.0}, "name": "s", "b": 30}),
            json!({"a": {"x": 2.0}, "name": "s", "b": 20}),
        ];
        assert_eq!(median_of(&runs), json!({"a": {"x": 2.0}, "name": "s", "b": 20.0}));
        assert_eq!(median_of(&runs[..2]), json!({"a": {"x": 2.0}, "name": "s", "b": 20.0}));
    }

    #[test]
    fn stats_pick_the_ranked_samples() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let value = stats(&mut samples);
        assert_eq!(value["median_ms"], json!(51.0));
        assert_eq!(value["p99_ms"], json!(99.0));
    }
}
