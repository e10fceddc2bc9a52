//! Dev-only test support for the mcp-session-rs workspace.
//!
//! The servers our tests talk to over real pipes and sockets:
//! - [`mcp_server::TestServer`], run as the `testkit-mcp` binary (stdio or streamable HTTP);
//!   [`testkit_mcp`] builds it once per test process and returns its path.
//! - [`ledger`]: the file `testkit-mcp` processes append their events to when `TESTKIT_LEDGER`
//!   names one (`initialize PID`, `discover PID`, `call TOOL PID`), and how a test reads and
//!   counts them.
//! - [`peers`]: the real peers `cargo xtask peers` installs (server-everything, FastMCP).
//! - [`llm::ScriptedLlm`]: an OpenAI-compatible chat server that replays scripted replies.
//! - [`embed::EmbeddingServer`]: an OpenAI-compatible embeddings server with deterministic
//!   vectors (a hashed bag of words), for the router's semantic stage.
//! - [`procs`]: which of the processes a test started still run.
//! - [`faults`]: misbehaving servers (`testkit-mcp fault|http-fault|sse-fault KIND`) and the
//!   report of the fault matrix that the `mcp-faults` binary runs.
//! - [`oauth::OAuthFixture`]: a loopback OAuth 2.1 authorization server and an MCP server
//!   (streamable HTTP and legacy SSE) that demands its bearer tokens, with controls to revoke,
//!   expire and re-scope them; `testkit-mcp browse URL` follows an authorization URL as a
//!   browser would.
//!
//! This crate is only ever a dev-dependency.

pub mod conformance_server;
pub mod embed;
pub mod faults;
pub mod ledger;
pub mod llm;
pub mod mcp_server;
pub mod oauth;
pub mod peers;
pub mod procs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The root of this workspace (the folder that holds the top-level `Cargo.toml`).
///
/// ```
/// assert!(testkit::workspace_root().join("Cargo.toml").is_file());
/// ```
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// The path of the `testkit-mcp` binary, built on first use in this process.
///
/// `cargo test` builds only the binaries of the packages under test, so other packages' tests
/// call this. It runs `$CARGO test --workspace --no-run` once: the build `cargo test --workspace`
/// has just done (a no-op then), with the same feature set, so nothing is compiled twice, and
/// cargo reports where every binary and example is.
///
/// # Panics
/// When the build fails: a test cannot go on without its server.
pub fn testkit_mcp() -> &'static Path {
    executable("testkit-mcp")
}

/// The path of testkit's binary `name` (such as `mcp-hold`), built as [`testkit_mcp`] is.
///
/// # Panics
/// When the build fails, or there is no such binary.
pub fn executable_path(name: &str) -> &'static Path {
    executable(name)
}

/// The path of example `name` of the `examples` package, built as [`testkit_mcp`] is.
///
/// # Panics
/// When the build fails, or there is no such example.
pub fn example(name: &str) -> &'static Path {
    executable(name)
}

/// The binary or example called `name`.
fn executable(name: &str) -> &'static Path {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(build_workspace)
        .iter()
        .find(|(target, _)| target == name)
        .map(|(_, path)| path.as_path())
        .unwrap_or_else(|| panic!("cargo built no binary or example called {name}"))
}

/// Runs `$CARGO test --workspace --no-run` and returns every binary and example it reports.
fn build_workspace() -> Vec<(String, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(["test", "--workspace", "--no-run", "--quiet", "--message-format", "json"]);
    command.current_dir(workspace_root());
    // Cargo gives a test process the variables of its package (CARGO_PKG_NAME, OUT_DIR, …).
    // Some build scripts (ring's) rerun when those change, so passing them on would rebuild
    // half the dependency tree: the nested cargo gets the environment the outer one had.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_by_cargo = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_BIN_")
            || key.starts_with("CARGO_CRATE_")
            || matches!(&*key, "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "OUT_DIR");
        if set_by_cargo {
            command.env_remove(&*key);
        }
    }
    let output = command.output().unwrap_or_else(|err| panic!("cannot run cargo: {err}"));
    assert!(
        output.status.success(),
        "cargo test --no-run failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["profile"]["test"] == false)
        .filter_map(|message| {
            let name = message["target"]["name"].as_str()?.to_owned();
            Some((name, PathBuf::from(message["executable"].as_str()?)))
        })
        .collect()
}
