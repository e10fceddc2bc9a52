//! Architecture invariants checked as tests: the crate stack, and testkit as dev-only.
//!
//! From `cargo metadata`: each workspace crate may depend (normally) only on crates above it in
//! the stack; testkit is never a normal dependency; mcp-config pulls no async runtime, HTTP
//! client or MCP SDK.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::{cargo, project_root};

/// The stack, top to bottom: a crate may depend only on crates listed before it.
const STACK: &[&str] =
    &["mcp-config", "mcp-sse", "mcp-auth", "mcp-session", "agent-core", "research-demo"];

fn metadata() -> Value {
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(project_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Normal (non-dev, non-build) dependencies of each workspace package, by name.
fn normal_dependencies(metadata: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if !package["id"].as_str().is_some_and(|id| members.contains(id)) {
            continue;
        }
        let deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["kind"].is_null())
            .filter_map(|dep| dep["name"].as_str().map(str::to_owned))
            .collect();
        out.insert(package["name"].as_str().unwrap_or_default().to_owned(), deps);
    }
    out
}

#[test]
fn crates_depend_only_upward_and_testkit_is_dev_only() {
    let deps = normal_dependencies(&metadata());
    for (name, deps) in &deps {
        // `bench` is a measuring tool, never published: it runs testkit's servers as a test does.
        assert!(
            name == "bench" || !deps.contains("testkit"),
            "{name} depends on testkit; testkit is a dev-dependency only"
        );
        let Some(level) = STACK.iter().position(|s| s == name) else {
            continue;
        };
        for dep in deps {
            if let Some(dep_level) = STACK.iter().position(|s| s == dep) {
                assert!(
                    dep_level < level,
                    "{name} depends on {dep}, which is below it in the stack"
                );
            }
        }
    }
    for name in STACK.iter().chain(["testkit", "examples", "xtask"].iter()) {
        assert!(deps.contains_key(*name), "workspace crate {name} is missing");
    }
    // agent-core reaches MCP servers only through mcp-session's `Session`: no transport crate.
    for transport in ["rmcp", "mcp-sse", "process-wrap"] {
        assert!(
            !deps["agent-core"].contains(transport),
            "agent-core depends on {transport}; use mcp-session instead"
        );
    }
    // mcp-auth gets tokens; it opens no MCP transport and takes its HTTP clients from its caller.
    for below in ["mcp-sse", "mcp-session"] {
        assert!(
            !deps["mcp-auth"].contains(below),
            "mcp-auth depends on {below}; it needs only mcp-config and rmcp's `auth`"
        );
    }
    // mcp-sse is for anyone who uses rmcp: it needs none of our crates.
    let ours: Vec<&str> =
        STACK.iter().copied().filter(|name| deps["mcp-sse"].contains(*name)).collect();
    assert!(ours.is_empty(), "mcp-sse depends on {ours:?}; it must stand on rmcp alone");
}

#[test]
fn mcp_config_does_no_async_or_network() {
    let output = Command::new(cargo())
        .args([
            "tree",
            "--locked",
            "-p",
            "mcp-config",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(project_root())
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    for banned in ["tokio ", "rmcp ", "reqwest ", "hyper "] {
        assert!(!tree.lines().any(|l| l.starts_with(banned)), "mcp-config depends on {banned}");
    }
}
