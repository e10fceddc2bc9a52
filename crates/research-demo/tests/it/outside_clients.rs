//! Our servers used by clients nobody here wrote: `mcp-inspector --cli` (TypeScript SDK) and the
//! Python `mcp` SDK, over stdio (arXiv, this binary's `serve arxiv`) and legacy SSE (Wikipedia),
//! answering from the recorded fixtures.

use std::process::Output;
use std::time::Duration;

use research_demo::fixtures::FixtureServer;
use research_demo::wikipedia::api::WikipediaApi;
use research_demo::wikipedia::server::{Listening, WikipediaServer};
use serde_json::Value;
use testkit::peers::{Peers, peers};

const DEMO: &str = env!("CARGO_BIN_EXE_research-demo");

/// Runs a client to completion; its stdout, which must be a success.
async fn run(command: &mut tokio::process::Command) -> String {
    let output: Output =
        tokio::time::timeout(Duration::from_secs(60), command.kill_on_drop(true).output())
            .await
            .expect("the client finished within 60 s")
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// mcp-inspector's `--cli`, with the server's command or URL first.
fn inspector(peers: &Peers) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("node");
    command.arg(peers.inspector_script()).arg("--cli");
    command
}

/// The JSON document in the inspector's stdout (a server's stderr may come first).
fn json_in(stdout: &str) -> Value {
    let start = stdout.find('{').unwrap_or_else(|| panic!("no JSON in {stdout:?}"));
    serde_json::from_str(&stdout[start..]).unwrap()
}

/// The text of a `tools/call` result as the inspector prints it.
fn call_text(result: &Value) -> String {
    assert_ne!(result["isError"], true, "{result}");
    result["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect()
}

async fn wikipedia() -> (FixtureServer, Listening) {
    let fixtures = FixtureServer::start().await.unwrap();
    let api = WikipediaApi::at(fixtures.url(), Duration::ZERO).unwrap();
    let server =
        Listening::bind(WikipediaServer::new(api), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    (fixtures, server)
}

#[tokio::test]
async fn the_inspector_lists_and_calls_the_arxiv_server_over_stdio() {
    let Some(peers) = peers() else { return };
    let storage = tempfile::tempdir().unwrap();
    let server = [DEMO, "serve", "arxiv", "--storage-path", storage.path().to_str().unwrap()];
    let listed =
        json_in(&run(inspector(&peers).args(server).args(["--method", "tools/list"])).await);
    let mut names: Vec<&str> =
        listed["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["download_paper", "get_abstract", "list_papers", "read_paper", "search_papers"]
    );
    let called = json_in(
        &run(inspector(&peers).args(server).args([
            "--method",
            "tools/call",
            "--tool-name",
            "search_papers",
            "--tool-arg",
            "query=large language models",
            "--tool-arg",
            "max_results=2",
        ]))
        .await,
    );
    let found: Value = serde_json::from_str(&call_text(&called)).unwrap();
    assert_eq!(found["papers"][0]["title"], "Scaling Laws for Tool-Using Large Language Models");
    assert_eq!(found["papers"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_calls_the_wikipedia_server_over_sse() {
    let Some(peers) = peers() else { return };
    let (_fixtures, server) = wikipedia().await;
    let called = json_in(
        &run(inspector(&peers).arg(server.sse_url()).args([
            "--transport",
            "sse",
            "--method",
            "tools/call",
            "--tool-name",
            "get_summary",
            "--tool-arg",
            "title=Model Context Protocol",
        ]))
        .await,
    );
    let summary: Value = serde_json::from_str(&call_text(&called)).unwrap();
    assert_eq!(summary["description"], "Open standard for connecting AI systems to tools");
}

#[tokio::test]
async fn the_python_sdk_calls_the_arxiv_server_over_stdio() {
    let Some(peers) = peers() else { return };
    let storage = tempfile::tempdir().unwrap();
    let stdout = run(tokio::process::Command::new(peers.python())
        .arg(Peers::python_client())
        .args(["stdio", "get_abstract", r#"{"paper_id": "2611.02468v1"}"#])
        .args([DEMO, "serve", "arxiv", "--storage-path", storage.path().to_str().unwrap()]))
    .await;
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["is_error"], false, "{report}");
    let paper: Value = serde_json::from_str(report["text"].as_str().unwrap()).unwrap();
    assert_eq!(paper["authors"], serde_json::json!(["Margaret Hamilton"]));
}
