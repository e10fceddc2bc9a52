//! `research-demo tools`: the servers' tools grouped by server, or one JSON object per tool with
//! its schemas; the config's `tools` filters applied; exit 1 when a server cannot be listed, 2
//! for an unknown server; a closed stdout is a quiet end.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::common::{marker, research_demo, testkit_stdio};

/// A config file in `dir` with testkit-mcp as `testkit`, its `tools` filter `filter`.
fn filtered_config(dir: &std::path::Path, filter: serde_json::Value) -> String {
    let server = json!({
        "type": "stdio",
        "command": testkit::testkit_mcp(),
        "args": ["stdio"],
        "tools": filter,
    });
    let path = dir.join("servers.json");
    std::fs::write(&path, json!({"mcpServers": {"testkit": server}}).to_string()).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ad_hoc_servers_tools_grouped_and_as_json() {
    let marker = marker("tools-ad-hoc");
    let testkit = testkit_stdio();
    let args = ["tools", "--stdio", &testkit, "--server", "testkit-mcp"];
    let ran = research_demo(None, &args, &marker).await;
    ran.exits(0);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert!(lines[0].starts_with("testkit-mcp: ") && lines[0].ends_with(" tools"), "{}", lines[0]);
    let add = lines.iter().find(|line| line.starts_with("  add ")).unwrap();
    assert!(add.ends_with("  Adds two numbers."), "{add}");
    // The descriptions start in one column.
    let column = add.find("Adds").unwrap();
    let echo = lines.iter().find(|line| line.starts_with("  echo ")).unwrap();
    assert_eq!(echo.find("Returns the text"), Some(column), "{}", ran.stdout);
    // One line each, at most 80 characters of description.
    let structured = lines.iter().find(|line| line.starts_with("  structured ")).unwrap();
    assert!(structured.ends_with('…'), "{structured}");

    let ran = research_demo(None, &[&args[..], &["--json"]].concat(), &marker).await;
    ran.exits(0);
    let tools = ran.json_lines();
    assert_eq!(tools.len() + 1, lines.len(), "one object per tool");
    for tool in &tools {
        assert_eq!(tool["server"], "testkit-mcp", "{tool}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        let has_output = tool.get("outputSchema").is_some();
        assert_eq!(has_output, tool["name"] == "structured", "{tool}");
    }
    let structured = tools.iter().find(|tool| tool["name"] == "structured").unwrap();
    assert!(structured["description"].as_str().unwrap().contains("break its own schema"));
    assert_eq!(structured["outputSchema"]["properties"]["n"]["type"], "integer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configs_tools_filter_applies() {
    let marker = marker("tools-filter");
    let dir = tempfile::tempdir().unwrap();
    let config =
        filtered_config(dir.path(), json!({"allow": ["a*", "echo", "fail"], "deny": ["fail"]}));
    let ran = research_demo(None, &["tools", "--json", "--config", &config], &marker).await;
    ran.exits(0);
    let names: Vec<String> =
        ran.json_lines().iter().map(|tool| tool["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["add", "ask_client", "echo"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_server_is_2_and_an_unlisted_one_is_1() {
    let marker = marker("tools-errors");
    let testkit = testkit_stdio();
    let ran = research_demo(None, &["tools", "ArxivServr"], &marker).await;
    ran.exits(2);
    assert!(
        ran.stderr
            .contains("did you mean \"ArxivServer\"? Known servers: ArxivServer, WikipediaServer"),
        "{}",
        ran.stderr
    );

    // Only the named server is listed: the built-in two stay out.
    let args = [
        "tools",
        "mcp-server",
        "testkit-mcp",
        "--stdio",
        &testkit,
        "--stdio",
        "/nonexistent/mcp-server",
    ];
    let ran = research_demo(None, &args, &marker).await;
    ran.exits(1);
    assert!(ran.stdout.starts_with("testkit-mcp: "), "{}", ran.stdout);
    assert!(!ran.stdout.contains("ArxivServer"), "{}", ran.stdout);
    let stderr = ran.stderr.trim_end();
    assert!(
        stderr.starts_with(
            "research-demo: the tools of mcp-server could not be listed: mcp-server: cannot start"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_is_a_quiet_end() {
    let marker = marker("tools-epipe");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(["tools"])
        .env(testkit::procs::MARKER_VAR, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The reader goes before the command has listed anything: every write finds the pipe closed.
    drop(child.stdout.take());
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("research-demo tools did not end within 60 s")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && stderr.is_empty(), "{stderr}");
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(15)), Vec::<String>::new());
}
