//! `cargo run -p examples --example catalog -- CONFIG_FILE [SERVER...]`, run as a real process
//! against testkit-mcp.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example_binary() -> &'static Path {
    testkit::example("catalog")
}

/// Writes a config file naming `kit` (testkit-mcp, two tools a page) and `broken` (a server that
/// exits at once) in a folder of its own, and returns its path.
fn config(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("catalog_test_{test}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kit = testkit::testkit_mcp().display().to_string();
    let file = serde_json::json!({ "mcpServers": {
        "kit": { "command": kit, "args": ["stdio", "--page-size", "2"] },
        "broken": { "command": kit, "args": ["exit-at-once"] },
    }});
    let path = dir.join("mcp.json");
    std::fs::write(&path, file.to_string()).unwrap();
    path
}

fn run(config: &Path, servers: &[&str]) -> Output {
    let output = Command::new(example_binary()).arg(config).args(servers).output().unwrap();
    std::fs::remove_dir_all(config.parent().unwrap()).unwrap();
    output
}

#[test]
fn prints_a_line_per_server_with_every_page_of_tools() {
    let output = run(&config("named"), &["kit"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["server"], "kit");
    let tools = line["tools"].as_array().unwrap();
    assert!(tools.len() > 2, "paging stopped early: {stdout}");
    let echo = tools.iter().find(|tool| tool["name"] == "echo").expect("echo is listed");
    assert_eq!(echo["description"], "Returns the text it is given.");
    assert_eq!(echo["inputSchema"]["type"], "object");
}

#[test]
fn a_failing_server_is_reported_and_the_others_still_print() {
    let output = run(&config("all"), &[]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let servers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .collect();
    assert_eq!(servers.len(), 1, "{stdout}");
    assert_eq!(servers[0]["server"], "kit");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: broken: "), "{stderr}");
}

#[test]
fn an_unknown_server_is_an_error() {
    let output = run(&config("unknown"), &["kit", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: ") && stderr.contains("nope"), "{stderr}");
}

#[test]
fn usage_without_a_file() {
    let output = Command::new(example_binary()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "usage: catalog CONFIG_FILE [SERVER...]\n"
    );
}
