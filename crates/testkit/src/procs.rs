//! Finding the processes a test started, by a marker in their environment: a test sets
//! [`MARKER_VAR`]`=marker` on the process it starts, every descendant inherits it, and
//! [`survivors`] says which of them still run.

use std::time::{Duration, Instant};

/// The environment variable that carries a test's marker.
pub const MARKER_VAR: &str = "MCP_LEAK_MARKER";

/// Running (not zombie) processes whose environment holds `MCP_LEAK_MARKER=marker`, as the
/// lines of their `/proc/PID/stat`.
pub fn marked_processes(marker: &str) -> Vec<String> {
    let needle = format!("{MARKER_VAR}={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(environ) = std::fs::read(path.join("environ")) else { continue };
        if !environ.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let state =
            stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()).unwrap_or("?");
        if state != "Z" && state != "X" {
            found.push(stat);
        }
    }
    found
}

/// Waits at most `within` until no marked process runs; returns the survivors if some remain.
pub fn survivors(marker: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let alive = marked_processes(marker);
        if alive.is_empty() || Instant::now() > deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
