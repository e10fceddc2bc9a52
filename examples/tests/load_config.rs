//! `cargo run -p examples --example load_config -- FILE`, run as a real process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Builds the example once per test process and returns its path.
fn example_binary() -> &'static Path {
    testkit::example("load_config")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/mcp-config/tests/fixtures").join(name)
}

fn run(args: &[&Path], env: &[(&str, &str)]) -> Output {
    Command::new(example_binary())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("load_config runs")
}

#[test]
fn prints_native_json_with_secrets_masked_then_warnings() {
    let path = fixture("claude_desktop.json");
    let output = run(&[&path], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let printed: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    let servers = printed["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 4);
    assert_eq!(servers[1]["server_name"], "github");
    assert_eq!(servers[1]["transport"], "stdio");
    assert_eq!(servers[1]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"], "***");
    assert_eq!(servers[3]["transport"], "streamable_http");
    assert_eq!(servers[3]["sse_fallback"], true);
    assert!(!stdout.contains("ghp_exampleTokenValue123"));

    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "loaded 4 server(s) from {} (mcpServers (Claude Desktop / Cursor / Claude Code))\n\
             warning: server \"sqlite\": skipped: it is marked \"disabled\": true\n\
             warning: server \"weather\": ignored key `autoApprove`, which mcp-config does not use\n",
            path.display()
        )
    );
}

#[test]
fn expands_variables_from_the_environment() {
    let output =
        run(&[&fixture("cursor.json")], &[("LINEAR_API_KEY", "lin_k"), ("PGPASSWORD", "pw")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["servers"][0]["headers"]["Authorization"], "***");
    assert_eq!(printed["servers"][0]["url"], "https://mcp.linear.app/sse");
}

#[test]
fn prints_the_error_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("load_config_test_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.json");
    std::fs::write(
        &path,
        "{\"mcpServers\": {\n  \"a\": {\"type\": \"ws\", \"url\": \"http://127.0.0.1:1\"}\n}}",
    )
    .unwrap();
    let output = run(&[&path], &[]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "error: {}:2:50: server \"a\" has unknown transport \"ws\": use \"stdio\", \"sse\" or \"http\" \
             (also written \"streamable_http\")\n",
            path.display()
        )
    );
}

#[test]
fn unset_variable_is_an_error() {
    let output = Command::new(example_binary())
        .arg(fixture("cursor.json"))
        .env_remove("LINEAR_API_KEY")
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("environment variable `LINEAR_API_KEY` is not set"), "{stderr}");
}

#[test]
fn usage_without_a_file() {
    let output = Command::new(example_binary()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "usage: load_config FILE\n");
}
