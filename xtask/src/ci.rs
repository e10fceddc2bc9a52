//! `cargo xtask ci`: the checks CI runs, each timed, with a summary at the end.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{cargo, cargo_cmd, codegen, docs_check, peers, project_root};

/// One check: a name and how to run it.
struct Step {
    name: &'static str,
    run: fn() -> Result<(), String>,
}

const STEPS: &[Step] = &[
    Step { name: "peers", run: peers::install },
    Step { name: "fmt", run: || cargo_cmd(&["fmt", "--all", "--check"], &[]) },
    Step {
        name: "clippy",
        run: || {
            cargo_cmd(
                &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
                &[],
            )
        },
    },
    Step {
        name: "test",
        run: || {
            // Tests find the peers here, and a missing peer fails its test (testkit's
            // `peers::peers_required`), not skips it. Property tests get the short budget;
            // `cargo xtask props` runs them long.
            let peers = peers::peers_dir().display().to_string();
            cargo_cmd(
                &["test", "--workspace", "--locked"],
                &[
                    ("MCP_PEERS_DIR", &peers),
                    ("MCP_REQUIRE_PEERS", "1"),
                    ("PROPTEST_CASES", crate::props::CI_CASES),
                ],
            )
        },
    },
    Step { name: "demo", run: demo_smoke },
    Step { name: "interop", run: crate::interop::run },
    // The benchmark's smoke test: every client and phase runs once, small (N = 5, 100 calls).
    Step { name: "bench --quick", run: || crate::bench::run(crate::bench::Mode::Quick, None) },
    // The fault matrix of our client (about 25 s): typed errors, no leftovers, the healthy
    // server unaffected.
    Step { name: "faults", run: crate::faults::check },
    Step {
        name: "doc",
        run: || {
            cargo_cmd(
                &["doc", "--workspace", "--no-deps", "--locked"],
                &[("RUSTDOCFLAGS", "-D warnings")],
            )
        },
    },
    Step { name: "codegen --check", run: || codegen::generate(codegen::Mode::Check) },
    Step { name: "docs check", run: docs_check::run },
];

/// Runs every step, even after a failure, and fails if any did.
pub(crate) fn run() -> Result<(), String> {
    let started = Instant::now();
    let mut results = Vec::new();
    for step in STEPS {
        eprintln!("\n==> {}", step.name);
        let step_started = Instant::now();
        let result = (step.run)();
        if let Err(err) = &result {
            eprintln!("xtask: {} failed: {err}", step.name);
        }
        results.push((step.name, step_started.elapsed(), result.is_ok()));
    }
    eprintln!("\nsummary:");
    for (name, elapsed, ok) in &results {
        eprintln!("  {:<4} {name:<16} {}", if *ok { "ok" } else { "FAIL" }, seconds(*elapsed));
    }
    let failed: Vec<&str> =
        results.iter().filter(|(_, _, ok)| !ok).map(|(name, _, _)| *name).collect();
    eprintln!("  total {:>20}", seconds(started.elapsed()));
    if failed.is_empty() { Ok(()) } else { Err(format!("failed steps: {}", failed.join(", "))) }
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

/// The README's first command, offline: it must answer with the recorded papers.
fn demo_smoke() -> Result<(), String> {
    const QUERY: &str = "Search for recent papers about large language models on ArxivServer";
    let output = Command::new(cargo())
        .args(["run", "--quiet", "--locked", "-p", "research-demo", "--", "--offline", QUERY])
        .current_dir(project_root())
        .output()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!("research-demo exited with {}", output.status));
    }
    let answer = stdout.rsplit_once("answer:").map_or("", |(_, answer)| answer);
    if !answer.contains("Scaling Laws for Tool-Using Large Language Models") {
        return Err("research-demo's answer does not list the recorded papers".to_owned());
    }
    Ok(())
}
