//! `cargo xtask faults`: builds testkit's binaries (dev profile) and runs `mcp-faults`, the fault
//! matrix of our client, with `--assert`; writes `target/faults/results.jsonl`. Then, when the
//! peers' venv exists (`cargo xtask peers`), runs the same matrix with the Python `mcp` client
//! (`crates/testkit/python/faults_client.py`, recorded, never asserted, killed with its process
//! group after [`PYTHON_LIMIT`]) into `target/faults/python.jsonl`. Regenerates the generated
//! part of `docs/reliability.md` (the hand-written part below its marker is kept).
//!
//! `cargo xtask ci` runs [`check`]: our matrix alone, which fails on a leftover process, a hung
//! or panicking case, a success where an error is required, or a healthy server that stopped
//! answering, and leaves the docs alone.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bench::{cpu_model, rustc_version};
use crate::{cargo_cmd, peers, project_root, target_dir};

/// The outer bound of the Python half: its process group is killed after this.
const PYTHON_LIMIT: Duration = Duration::from_secs(600);

/// `cargo xtask faults`: runs the matrix and writes `docs/reliability.md`, even when a case
/// fails (then it fails too, after writing).
pub(crate) fn run() -> Result<(), String> {
    let (table, outcome) = run_matrix()?;
    let python = run_python();
    let doc = crate::write_generated_doc(
        "docs/reliability.md",
        "cargo xtask faults",
        &render(&table, &python),
    )?;
    eprintln!("faults: wrote {}", doc.display());
    outcome
}

/// The `faults` step of `cargo xtask ci`: the matrix with `--assert`, docs left alone.
pub(crate) fn check() -> Result<(), String> {
    run_matrix()?.1
}

/// Builds and runs `mcp-faults --assert`; returns its Markdown table and whether it passed.
fn run_matrix() -> Result<(String, Result<(), String>), String> {
    cargo_cmd(&["build", "--locked", "-p", "testkit", "--bins"], &[])?;
    let debug = target_dir().join("debug");
    let dir = target_dir().join("faults");
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let table_path = dir.join("table.md");
    let results: PathBuf = dir.join("results.jsonl");
    let out =
        std::fs::File::create(&results).map_err(|err| format!("{}: {err}", results.display()))?;
    eprintln!("faults: running mcp-faults --assert");
    let status = Command::new(debug.join("mcp-faults"))
        .arg("--assert")
        .arg("--markdown")
        .arg(&table_path)
        .stdout(out)
        .stderr(Stdio::inherit())
        .status()
        .map_err(|err| format!("cannot run mcp-faults: {err}"))?;
    let table = std::fs::read_to_string(&table_path)
        .map_err(|err| format!("mcp-faults wrote no table ({status}): {err}"))?;
    eprintln!("faults: wrote {}", results.display());
    let outcome = if status.success() {
        Ok(())
    } else {
        Err(format!("mcp-faults --assert failed ({status}); see {}", results.display()))
    };
    Ok((table, outcome))
}

/// What the Python half recorded: its cases (JSON lines, as `CaseReport`s), the `mcp` version,
/// and a note when the run was cut short; or why it was not run.
struct PythonRun {
    cases: Vec<Value>,
    version: String,
    note: Option<String>,
}

/// Runs `faults_client.py` with the peers' venv under [`PYTHON_LIMIT`]; never fails the task.
fn run_python() -> Result<PythonRun, String> {
    let python = peers::peers_dir().join("venv/bin/python");
    if !python.is_file() {
        return Err(format!("not recorded: no {}; run `cargo xtask peers`", python.display()));
    }
    let script = project_root().join("crates/testkit/python/faults_client.py");
    let dir = target_dir().join("faults");
    let results = dir.join("python.jsonl");
    let out =
        std::fs::File::create(&results).map_err(|err| format!("{}: {err}", results.display()))?;
    let version = Command::new(&python)
        .args(["-c", "import importlib.metadata as m; print(m.version('mcp'))"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| "?".to_owned());
    eprintln!("faults: running the matrix with the Python mcp {version} client");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(target_dir().join("debug"))
        .stdout(out)
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("not recorded: cannot run {}: {err}", script.display()))?;
    let started = Instant::now();
    let note = loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break None,
            Ok(Some(status)) => break Some(format!("faults_client.py failed ({status})")),
            Ok(None) if started.elapsed() > PYTHON_LIMIT => {
                // The whole group: the script, its per-case children and their servers.
                crate::llm::signal_group(child.id(), "KILL");
                let _ = child.wait();
                break Some(format!(
                    "the run was killed after {} s; the cases it finished are shown",
                    PYTHON_LIMIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(err) => break Some(format!("cannot wait for faults_client.py: {err}")),
        }
    };
    let text =
        std::fs::read_to_string(&results).map_err(|err| format!("{}: {err}", results.display()))?;
    let cases = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    eprintln!("faults: wrote {}", results.display());
    Ok(PythonRun { cases, version, note })
}

/// Our cases, as `mcp-faults` wrote them to `target/faults/results.jsonl`.
fn our_cases() -> Vec<Value> {
    let results = target_dir().join("faults/results.jsonl");
    std::fs::read_to_string(results)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The two clients side by side, one row per case of ours (in our order), then any case only
/// the Python half ran.
fn side_by_side(ours: &[Value], python: &[Value]) -> String {
    let key = |case: &Value| (case["fault"].clone(), case["transport"].clone());
    let mut out = String::from(
        "| fault | transport | expected | ours: outcome (step) | time | leftovers | \
         Python: outcome (step) | time | leftovers | healthy | Python's message |\n\
         |---|---|---|---|---:|---|---|---:|---|---|---|\n",
    );
    let not_run = Value::Null;
    let mut rows: Vec<(&Value, &Value)> = ours
        .iter()
        .map(|case| (case, python.iter().find(|p| key(p) == key(case)).unwrap_or(&not_run)))
        .collect();
    rows.extend(
        python.iter().filter(|p| !ours.iter().any(|o| key(o) == key(p))).map(|p| (&not_run, p)),
    );
    for (our, py) in rows {
        let head = if our.is_null() { py } else { our };
        let expected = match head["expect"].as_str() {
            Some("error") => format!("error: {}", text(&head["expected"])),
            _ => format!("ok or error ({})", text(&head["expected"])),
        };
        let healthy = match py["healthy"].as_bool() {
            _ if py.is_null() => "",
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&text(&head["fault"]), 80),
            text(&head["transport"]),
            expected,
            outcome(our),
            time(our),
            leftovers(our),
            outcome(py),
            time(py),
            leftovers(py),
            healthy,
            cell(&text(&py["message"]), 120),
        );
    }
    out
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// `outcome (step)`, bold; a success where an error is required and a hung case are flagged.
fn outcome(case: &Value) -> String {
    if case.is_null() {
        return "not run".to_owned();
    }
    let outcome = text(&case["outcome"]);
    let flag = match outcome.as_str() {
        "Ok" if case["expect"] == "error" => " ✗ (error required)",
        "HUNG" | "PANIC" | "CRASHED" => " ✗",
        _ => "",
    };
    format!("**{}** ({}){flag}", cell(&outcome, 60), text(&case["phase"]))
}

fn time(case: &Value) -> String {
    case["elapsed_ms"]
        .as_u64()
        .map_or_else(String::new, |ms| format!("{:.2} s", ms as f64 / 1000.0))
}

fn leftovers(case: &Value) -> String {
    match case["leftovers"].as_array().map(Vec::len) {
        None => String::new(),
        Some(0) => "none".to_owned(),
        Some(n) => format!("**{n} left**"),
    }
}

/// `text` fit for a table cell: one line, pipes escaped, at most `max` characters.
fn cell(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(max).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
    short.replace('|', "\\|")
}

/// The generated part of `docs/reliability.md`.
fn render(table: &str, python: &Result<PythonRun, String>) -> String {
    let mut out = String::from("# Reliability\n\n");
    let _ = writeln!(
        out,
        "How MCP clients behave when a server misbehaves: the fault matrix of issue 14. Generated by \
         `cargo xtask faults`, which builds testkit's binaries and runs `mcp-faults` \
         (`crates/testkit/src/bin/mcp-faults.rs`); `cargo xtask ci` runs the same matrix and fails \
         on a leftover process, a hung or panicking case, a success where an error is required, or \
         a healthy server that stopped answering. Machine: {}, {} cores; {}; dev profile; \
         everything on loopback.\n",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, usize::from),
        rustc_version(),
    );
    out.push_str(
        "## Our client (mcp-session)\n\n\
         Each case gets a fresh `MCPClientSessionManager` holding two sessions: a healthy \
         `testkit-mcp stdio`, and the faulty server, opened with startup and request timeouts of \
         2 s and a close grace of 200 ms, then called once (`echo`, or `sleep` for 60 s for a hang \
         mid-call) and closed. The faulty servers are `testkit-mcp fault KIND` (stdio), \
         `testkit-mcp http-fault KIND` and `testkit-mcp sse-fault KIND` (HTTP written by hand, \
         `crates/testkit/src/faults/`), the ordinary `testkit-mcp` modes (`exit-at-once`, \
         `silent`, `garbage`, the `sleep` tool), `sh -c` scripts that start a `setsid` grandchild \
         or a double-forked daemon, and `mcp-hold` killed with SIGKILL. Each case runs under an \
         outer 20 s bound.\n\n\
         The columns:\n\n\
         - **expected**: whether the case requires an error (a success would mean the fault went \
         unnoticed) or allows a success, and the `SessionError` variant we expect.\n\
         - **outcome (step)**: `Ok` or the `SessionError` variant the client returned, and the step \
         that ended the case (`open`, `call`, `close`, or `done` when all three succeeded); ⚠ marks \
         a typed error other than the one expected (allowed, but worth a look).\n\
         - **time**: from the start of `open_session` to the outcome (for the SIGKILLed client: \
         from the kill until no marked process runs).\n\
         - **leftovers**: processes carrying the case's marker in their environment still running \
         4 s after the session was closed or dropped (stdio only; an HTTP client starts no process).\n\
         - **healthy server**: whether the healthy session in the same manager answered an `echo` \
         every 100 ms during the case and once after it.\n\
         - **message**: the error's text, with loopback ports shown as `PORT`.\n\n",
    );
    out.push_str(table);
    out.push_str("\nThe JSON lines of the last run are in `target/faults/results.jsonl`.\n\n");
    match python {
        Err(why) => {
            let _ = writeln!(
                out,
                "## Python mcp client: {why}\n\n\
                 The second half of the matrix, the same faults against the Python `mcp` SDK's \
                 client (the one AG2's `MCPClientSessionManager` uses), runs only when the peers' \
                 venv exists; no figure here comes from it."
            );
        }
        Ok(run) => {
            let _ = writeln!(
                out,
                "## Side by side: the Python mcp {} client\n\n\
                 The same cases run with the Python SDK's own client \
                 (`crates/testkit/python/faults_client.py`, in the venv of `cargo xtask peers`): \
                 `stdio_client`, `sse_client` or `streamable_http_client`, then \
                 `ClientSession.initialize`, one `call_tool` and the contexts' exit, with a 2 s \
                 `read_timeout_seconds` per request and 2 s HTTP timeouts (10 s to read an event \
                 stream), beside a healthy `testkit-mcp stdio` session pinged every 100 ms. Each \
                 case runs in a Python process of its own under an anyio deadline of 20 s (a case \
                 still running then is **HUNG**, with the step it had reached), that process is \
                 killed after 45 s, and the whole run after {} s. Leftovers are found the same \
                 way (`MCP_LEAK_MARKER` in `/proc/*/environ`, 4 s after the session closed) and \
                 then killed. The client-SIGKILL case uses a Python holder process killed alone \
                 with SIGKILL. Outcomes are the exception's class (an exception group shows as \
                 `ExceptionGroup/…/Leaf`, down its first members) and the first line of the leaf's \
                 message. They are recorded, never \
                 asserted; `cargo xtask ci` does not run this half.\n",
                run.version,
                PYTHON_LIMIT.as_secs(),
            );
            if let Some(note) = &run.note {
                let _ = writeln!(out, "**This run was cut short: {note}.**\n");
            }
            out.push_str(&side_by_side(&our_cases(), &run.cases));
            out.push_str(
                "\nThe Python half's JSON lines are in `target/faults/python.jsonl`; ✗ marks a hung \
                 case or a success where an error is required.\n",
            );
        }
    }
    out
}
