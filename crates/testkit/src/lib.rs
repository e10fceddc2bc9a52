//! Dev-only test support for the mcp-session-rs workspace.
//!
//! The servers our tests talk to over real pipes and sockets:
//! - [`mcp_server::TestServer`], run as the `testkit-mcp` binary (stdio or streamable HTTP);
//!   [`testkit_mcp`] builds it once per test process and returns its path.
//!
//! This crate is only ever a dev-dependency.

pub mod mcp_server;

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
/// `cargo test` builds only the binaries of the package under test, so other packages' tests
/// call this: it runs `$CARGO build -p testkit --bin testkit-mcp` once and asks cargo where the
/// executable is.
///
/// # Panics
/// When the build fails: a test cannot go on without its server.
pub fn testkit_mcp() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_bin("testkit", "testkit-mcp"))
}

/// Builds `bin` of `package` and returns the executable's path.
fn build_bin(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--message-format", "json", "-p", package, "--bin", bin])
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|err| panic!("cannot run cargo to build {bin}: {err}"));
    assert!(
        output.status.success(),
        "building {bin} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == bin)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo did not report where {bin} is"))
}
