//! `research-demo route`: the tool router over live servers, as a script sees it.

use std::time::Duration;

use serde_json::{Value, json};

/// Runs `research-demo route ARGS…` to its end (the built-in servers unless `--config`), with
/// `MCP_LEAK_MARKER=marker`; every server it started must be gone after.
async fn route(args: &[&str], marker: &str) -> std::process::Output {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"))
            .arg("route")
            .args(args)
            .env(testkit::procs::MARKER_VAR, marker)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("research-demo route did not end within 60 s")
    .unwrap();
    assert_eq!(testkit::procs::survivors(marker, Duration::from_secs(15)), Vec::<String>::new());
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ranking_names_server_tool_score_and_why() {
    let marker = format!("route-{}", std::process::id());
    let output =
        route(&["--json", "--top", "3", "find recent papers about protein folding"], &marker).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let hits: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(!hits.is_empty() && hits.len() <= 3, "{hits:?}");
    assert_eq!(
        (&hits[0]["server"], &hits[0]["tool"]),
        (&json!("ArxivServer"), &json!("search_papers"))
    );
    for hit in &hits {
        assert!(hit["score"].as_f64().is_some_and(|score| score > 0.0), "{hit}");
        assert!(!hit["why"].as_array().unwrap().is_empty(), "{hit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_match_and_no_server_fail_with_status_1() {
    let marker = format!("route-none-{}", std::process::id());
    let nothing = route(&["zzzqqq"], &marker).await;
    assert_eq!(nothing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("try other words"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcp.json");
    let dead = json!({"mcpServers": {"gone": {"command": "/nonexistent/mcp-server"}}});
    std::fs::write(&config, dead.to_string()).unwrap();
    let config = config.display().to_string();
    let down = route(&["--config", &config, "anything"], &marker).await;
    assert_eq!(down.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(stderr.contains("left out gone"), "{stderr}");
    assert!(stderr.contains("no server's tools could be listed"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_add_a_similarity_and_a_failing_endpoint_ranks_by_words() {
    let server = testkit::embed::EmbeddingServer::start().await;
    let marker = format!("route-embed-{}", std::process::id());
    let query = "find recent papers about protein folding";
    let args = ["--json", "--top", "3", "--embeddings-url", server.base_url(), query];
    let output = route(&args, &marker).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let hits: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits.iter().all(|hit| hit["similarity"].is_number()), "{hits:?}");
    let requests = server.requests();
    assert_eq!(requests.last().unwrap(), &[query], "the query embedded last");
    assert!(requests.iter().all(|texts| texts.len() <= 64), "batches of at most 64");
    assert!(requests[0].iter().any(|text| text.contains("search papers")), "{:?}", requests[0]);

    // An endpoint that fails: ranked by words, said on stderr, no similarity.
    server.behave(testkit::embed::Behavior::Status(400));
    let output = route(&args, &marker).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ranking by words alone"), "{stderr}");
    let first: Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).lines().next().unwrap())
            .unwrap();
    assert_eq!(
        (&first["server"], &first["tool"]),
        (&json!("ArxivServer"), &json!("search_papers"))
    );
    assert!(first.get("similarity").is_none(), "{first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_point_at_their_tool_and_a_broken_file_is_a_config_error() {
    let server = testkit::embed::EmbeddingServer::start().await;
    let marker = format!("route-examples-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("examples.jsonl");
    let lines = [
        json!({"server": "WikipediaServer", "tool": "get_featured", "request": "zebra quokka lattice"}),
        json!({"server": "WikipediaServer", "tool": "no_such_tool", "request": "anything"}),
    ];
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&examples, format!("{}\n\n", text.join("\n"))).unwrap();
    let examples = examples.display().to_string();
    // No word of the request is in any tool's text, and the test server's vectors are bags of
    // words: only the example leads to the tool.
    let args = [
        "--json",
        "--top",
        "3",
        "--embeddings-url",
        server.base_url(),
        "--examples",
        &examples,
        "zebra quokka lattice",
    ];
    let output = route(&args, &marker).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("left out 1 of the 2 examples"), "{stderr}");
    let hits: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // The example's tool is lifted into the top three, its example shown; no other hit has one.
    let lifted: Vec<&Value> = hits.iter().filter(|hit| hit.get("example").is_some()).collect();
    assert_eq!(lifted.len(), 1, "{hits:?}");
    assert_eq!(
        (&lifted[0]["server"], &lifted[0]["tool"], &lifted[0]["example"]),
        (&json!("WikipediaServer"), &json!("get_featured"), &json!("zebra quokka lattice"))
    );

    // A line that is not an example: exit status 2, the line named, no server started.
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"server\": \"x\", \"tool\": \"y\"}\n").unwrap();
    let broken = broken.display().to_string();
    let args = ["--embeddings-url", server.base_url(), "--examples", &broken, "anything"];
    let output = route(&args, &marker).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.jsonl: line 1, column 28: missing field `request`"),
        "{stderr}"
    );
    let blank = json!({"server": "x", "tool": "y", "request": "  "});
    std::fs::write(dir.path().join("broken.jsonl"), format!("\n{blank}\n")).unwrap();
    let output = route(&args, &marker).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.jsonl: line 2: `request` is empty"), "{stderr}");
}
