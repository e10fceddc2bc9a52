//! `research-demo servers`: every chosen server started, checked and closed, as a table or JSON
//! lines; exit 1 when one is unreachable, 2 for usage.

use serde_json::{Value, json};

use crate::common::{marker, research_demo, testkit_stdio};

/// Whether a row's state says the server answered: healthy, or degraded by a slow ping only (a
/// loaded machine may take over `pool.degraded_after`).
fn answered(row: &Value) -> bool {
    row["state"] == "healthy"
        || (row["state"] == "degraded"
            && row["reason"].as_str().is_some_and(|why| why.contains("its ping took")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_pair_as_a_table_and_as_json_lines() {
    let marker = marker("servers-builtin");
    let ran = research_demo(None, &["servers"], &marker).await;
    ran.exits(0);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", ran.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["SERVER", "TRANSPORT", "STATE", "PROTOCOL", "TOOLS", "LATENCY"]);
    // Aligned: every column starts where its header does.
    let state_at = lines[0].find("STATE").unwrap();
    for line in &lines[1..] {
        assert!(
            line[state_at..].starts_with("healthy") || line[state_at..].starts_with("degraded")
        );
    }
    let arxiv: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!((arxiv[0], arxiv[1], arxiv[4]), ("ArxivServer", "stdio", "5"), "{}", lines[1]);
    let wikipedia: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!((wikipedia[0], wikipedia[1], wikipedia[4]), ("WikipediaServer", "sse", "4"));

    let ran = research_demo(None, &["servers", "--json"], &marker).await;
    ran.exits(0);
    let rows = ran.json_lines();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, (server, transport, tools)) in
        rows.iter().zip([("ArxivServer", "stdio", 5), ("WikipediaServer", "sse", 4)])
    {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            7,
            "server, transport, state, protocol_version, tools, latency_ms, reason: {row}"
        );
        assert_eq!((&row["server"], &row["transport"]), (&json!(server), &json!(transport)));
        assert_eq!(row["tools"], tools, "{row}");
        assert!(answered(row), "{row}");
        assert!(row["protocol_version"].as_str().is_some_and(|v| v.len() == 10), "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_dead_server_keeps_its_row_and_exits_1() {
    let marker = marker("servers-down");
    let testkit = testkit_stdio();
    let dead = format!("'{}' exit-at-once", testkit::testkit_mcp().display());
    let args = [
        "servers",
        "--json",
        "--stdio",
        &testkit,
        "--stdio",
        "/nonexistent/mcp-server",
        "--stdio",
        &dead,
        "--server",
        "testkit-mcp",
    ];
    let ran = research_demo(None, &args, &marker).await;
    ran.exits(1);
    let lines = ran.json_lines();
    assert_eq!(lines.len(), 4, "three rows and the error line: {lines:?}");
    assert_eq!(lines[0]["server"], "testkit-mcp");
    assert!(answered(&lines[0]), "{}", lines[0]);
    assert!(lines[0]["tools"].as_u64().is_some_and(|n| n > 5), "{}", lines[0]);
    assert_eq!(
        (&lines[1]["server"], &lines[1]["state"]),
        (&json!("mcp-server"), &json!("unreachable"))
    );
    assert_eq!(lines[1]["tools"], Value::Null);
    assert!(
        lines[1]["reason"].as_str().unwrap().contains("cannot start `/nonexistent/mcp-server`")
    );
    // The dead one is started again, with backoff, until its restart budget is spent.
    assert_eq!(lines[2]["server"], "testkit-mcp-2");
    assert!(
        ["unreachable", "failed"].contains(&lines[2]["state"].as_str().unwrap()),
        "{}",
        lines[2]
    );
    assert_eq!((&lines[3]["type"], &lines[3]["exit_code"]), (&json!("error"), &json!(1)));
    // stderr says why, for each, in one message (with the dead server's stderr tail).
    let stderr = ran.stderr.trim_end();
    assert_eq!(stderr.matches("research-demo: ").count(), 1, "{stderr}");
    assert!(stderr.starts_with("research-demo: unreachable: mcp-server: cannot start"), "{stderr}");
    assert!(stderr.contains("; testkit-mcp-2: "), "{stderr}");
    // No library's type names.
    assert!(!stderr.contains("Error {") && !stderr.contains("::"), "{stderr}");

    // The table has the rows too, with `-` for what is not known.
    let args = [
        "servers",
        "--stdio",
        &testkit,
        "--stdio",
        "/nonexistent/mcp-server",
        "--server",
        "testkit-mcp",
    ];
    let ran = research_demo(None, &args, &marker).await;
    ran.exits(1);
    let lines: Vec<Vec<&str>> =
        ran.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines.len(), 3, "{}", ran.stdout);
    assert_eq!(lines[2], ["mcp-server", "stdio", "unreachable", "-", "-", "-"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_before_anything_starts() {
    let marker = marker("servers-usage");
    let ran = research_demo(None, &["servers", "--server", "Arxiv"], &marker).await;
    ran.exits(2);
    assert!(
        ran.stderr.contains(
            "unknown MCP server \"Arxiv\": did you mean \"ArxivServer\"? Known servers: ArxivServer, WikipediaServer"
        ),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    for args in [
        &["servers", "--config", "mcp.json", "--discover"][..],
        &["servers", "--wikipedia-url", "http://127.0.0.1:8000/sse", "--config", "mcp.json"],
        &["servers", "--wikipedia-url", "http://127.0.0.1:8000/sse", "--wikipedia-port", "8000"],
        &["servers", "--url", "ftp://127.0.0.1/"],
        &["servers", "--stdio", "sh 'unbalanced"],
    ] {
        let ran = research_demo(None, args, &marker).await;
        ran.exits(2);
        assert!(ran.stderr.starts_with("error: "), "{args:?}: {}", ran.stderr);
    }
}
