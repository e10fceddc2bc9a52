//! Dev-only test support for the mcp-session-rs workspace.
//!
//! This crate will hold the servers our tests talk to over real sockets and pipes: the
//! `testkit-mcp` MCP server binary, a scripted OpenAI-compatible chat server and fixture HTTP
//! servers. It is only ever a dev-dependency. It holds [`workspace_root`] for now.

use std::path::{Path, PathBuf};

/// The root of this workspace (the folder that holds the top-level `Cargo.toml`).
///
/// Tests use it to find fixtures and docs independently of the directory they run in.
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
