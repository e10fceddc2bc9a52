//! The Wikipedia MCP server over its real transports (legacy SSE and streamable HTTP), answering
//! from the fixture server; and its client against servers that fail on purpose.

use std::time::Duration;

use mcp_config::{ServerConfig, SseConfig, StreamableHttpConfig};
use mcp_session::{MCPClientSessionManager, Session};
use research_demo::fixtures::FixtureServer;
use research_demo::wikipedia::api::{WikipediaApi, WikipediaError};
use research_demo::wikipedia::server::{Listening, WikipediaServer};
use serde_json::{Value, json};

use crate::common::{call, call_json, raw};

async fn serve() -> (FixtureServer, Listening) {
    let fixtures = FixtureServer::start().await.unwrap();
    let api = WikipediaApi::at(fixtures.url(), Duration::ZERO).unwrap();
    let server =
        Listening::bind(WikipediaServer::new(api), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    (fixtures, server)
}

async fn open(config: impl Into<ServerConfig>) -> Session {
    MCPClientSessionManager::new().open_session(&config.into()).await.unwrap()
}

/// Every tool, through one session.
async fn exercise(session: &Session) {
    let mut tools: Vec<String> =
        session.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    tools.sort();
    assert_eq!(tools, ["get_article", "get_featured", "get_summary", "search_wikipedia"]);

    let found = call_json(
        session,
        "search_wikipedia",
        json!({"query": "large language model", "limit": 3}),
    )
    .await;
    assert_eq!(found["results"][0]["title"], "Large language model");
    let snippet = found["results"][0]["snippet"].as_str().unwrap();
    assert!(snippet.starts_with("A large language model (LLM) is") && !snippet.contains('<'));
    let nothing = call_json(session, "search_wikipedia", json!({"query": "zzzz qqqq"})).await;
    assert_eq!(nothing["results"], json!([]));

    let other = call_json(session, "get_summary", json!({"title": "Model_Context_Protocol"})).await;
    assert_eq!(other["title"], "Model Context Protocol");
    let summary = call_json(session, "get_summary", json!({"title": "Large language model"})).await;
    assert_eq!(summary["description"], "Type of machine learning model");
    assert_eq!(summary["url"], "https://en.wikipedia.org/wiki/Large_language_model");

    let article = call_json(
        session,
        "get_article",
        json!({"title": "Large language model", "max_chars": 40}),
    )
    .await;
    assert_eq!(article["text"].as_str().unwrap().chars().count(), 40);
    assert_eq!(article["truncated"], true);

    let featured = call_json(session, "get_featured", json!({"date": "2026-11-26"})).await;
    assert_eq!(featured["featured_article"]["title"], "Ada Lovelace");
    assert_eq!(
        featured["in_the_news"][0],
        "The first module of the Lunar Gateway space station is launched."
    );
    assert_eq!(
        featured["on_this_day"][0],
        "1859: Charles Darwin's On the Origin of Species was published in London."
    );

    for (tool, arguments, expected) in [
        ("get_summary", json!({"title": "No Such Article Here"}), "no article titled"),
        ("get_article", json!({"title": "No Such Article Here"}), "no article titled"),
        ("get_summary", json!({"title": "a|b"}), "cannot be a Wikipedia title"),
        ("get_featured", json!({"date": "yesterday"}), "YYYY-MM-DD"),
    ] {
        let (failed, text) = call(session, tool, arguments).await;
        assert!(failed && text.contains(expected), "{tool}: {text}");
    }
}

#[tokio::test]
async fn every_tool_over_legacy_sse() {
    let (_fixtures, server) = serve().await;
    let session = open(SseConfig::new("WikipediaServer", server.sse_url()).unwrap()).await;
    assert_eq!(session.server_info().unwrap().name, "wikipedia-mcp-server");
    exercise(&session).await;
    session.close().await.unwrap();
}

#[tokio::test]
async fn every_tool_over_streamable_http() {
    let (_fixtures, server) = serve().await;
    let session =
        open(StreamableHttpConfig::new("WikipediaServer", server.mcp_url()).unwrap()).await;
    exercise(&session).await;
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_foreign_origin_is_refused_on_both_transports() {
    let (_fixtures, server) = serve().await;
    let http = mcp_session::HttpClientBuilder::new().build().unwrap();
    let sse =
        http.get(server.sse_url()).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(sse.status(), 403);
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let mcp = http
        .post(server.mcp_url())
        .header("origin", "https://evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(mcp.status(), 403);
    // A loopback origin (a local inspector, say) is welcome.
    let local = http
        .post(server.mcp_url())
        .header("origin", "http://localhost:6274")
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
}

#[tokio::test]
async fn upstream_failures_are_typed() {
    let limited = WikipediaApi::at(
        raw("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        Duration::ZERO,
    )
    .unwrap();
    let err = limited.search("llm", 1).await.unwrap_err();
    assert!(matches!(err, WikipediaError::Http { status: 429, .. }), "{err:?}");
    assert!(err.to_string().contains("wait and try again"));

    let garbled = WikipediaApi::at(
        raw("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{\"query\":"),
        Duration::ZERO,
    )
    .unwrap();
    assert!(matches!(garbled.featured(2026, 11, 26).await, Err(WikipediaError::Malformed(_))));
    assert!(matches!(
        WikipediaApi::live("en/../x", Duration::ZERO),
        Err(WikipediaError::Invalid(_))
    ));
}

/// `research-demo serve wikipedia` as a process, used by the notebook's own client: the Python
/// `mcp` SDK's legacy SSE client.
#[test]
fn the_python_sdk_uses_the_served_process() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};

    /// Kills the server however the test ends.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let Some(peers) = testkit::peers::peers() else { return };
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_research-demo"))
            .args(["serve", "wikipedia", "--port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The first line of its stderr names the address; the rest is drained, so that the server
    // never writes to a closed pipe.
    let stderr = std::io::BufReader::new(server.0.stderr.take().unwrap());
    let (sender, first_line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let _ = sender.send(line.unwrap_or_default());
        }
    });
    let line = first_line
        .recv_timeout(Duration::from_secs(60))
        .expect("the server printed its address within 60 s");
    let url = line
        .split_whitespace()
        .find(|word| word.ends_with("/sse"))
        .unwrap_or_else(|| panic!("no SSE URL in {line:?}"))
        .to_owned();
    let output = Command::new(peers.python())
        .arg(testkit::peers::Peers::python_client())
        .args([url.as_str(), "get_featured", r#"{"date": "2026-11-26"}"#])
        .output()
        .unwrap();
    drop(server);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["is_error"], false, "{report}");
    let featured: Value = serde_json::from_str(report["text"].as_str().unwrap()).unwrap();
    assert_eq!(featured["featured_article"]["title"], "Ada Lovelace");
    assert_eq!(report["tools"].as_array().unwrap().len(), 4);
}

#[test]
fn serving_errors_exit_1_and_usage_errors_exit_2() {
    use std::process::Command;

    let demo = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_research-demo")).args(args).output().unwrap()
    };
    let output = demo(&["serve", "wikipedia", "--live", "--language", "en/../x", "--port", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("research-demo: ") && stderr.contains("not a Wikipedia language code"),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = demo(&["serve", "wikipedia", "--port", &port]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
    // `ask` exits the same way when its Wikipedia server cannot listen.
    let output = Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(["--offline", "--json", "--wikipedia-port", &port, "q"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim_end()).unwrap();
    assert_eq!((&last["kind"], &last["exit_code"]), (&json!("server"), &json!(1)), "{last}");
}
