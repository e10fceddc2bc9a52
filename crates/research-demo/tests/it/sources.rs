//! Where the servers come from, as `servers`, `tools` and `call` see it: `--discover` (its order
//! and its not-found error), `--server`, ad-hoc `--stdio` and `--url` beside the built-in two or
//! a config file, and `--wikipedia-url` against a separately started `serve wikipedia`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

use crate::common::{marker, research_demo, testkit_stdio};

/// Writes, at `path` under `dir`, a config in the `mcpServers` layout with one testkit-mcp
/// server named `name`.
fn config_at(dir: &Path, path: &str, name: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let server = json!({"command": testkit::testkit_mcp(), "args": ["stdio"]});
    std::fs::write(path, json!({"mcpServers": {name: server}}).to_string()).unwrap();
}

/// The `server` of each JSON line.
fn names(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|line| line["server"].as_str().unwrap_or("?")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_takes_the_first_file_in_order_and_says_which() {
    let marker = marker("discover");
    let dir = tempfile::tempdir().unwrap();
    let discover = ["servers", "--json", "--discover"];

    let ran = research_demo(Some(dir.path()), &discover, &marker).await;
    ran.exits(2);
    let here = dir.path().canonicalize().unwrap();
    let looked: Vec<String> = [".mcp.json", "mcp.json", ".vscode/mcp.json", ".cursor/mcp.json"]
        .iter()
        .map(|name| here.join(name).display().to_string())
        .collect();
    for path in &looked {
        assert!(ran.stderr.contains(path.as_str()), "{path}: {}", ran.stderr);
    }
    assert!(ran.stderr.contains("name one with --config FILE"), "{}", ran.stderr);
    assert_eq!(ran.json_lines()[0]["kind"], "config");

    // The last of the four, then each one before it, wins once it is there.
    for (file, name) in [
        (".cursor/mcp.json", "cursor"),
        (".vscode/mcp.json", "vscode"),
        (".mcp.json", "claude-code"),
        ("mcp.json", "plain"),
    ] {
        config_at(dir.path(), file, name);
        let ran = research_demo(Some(dir.path()), &discover, &marker).await;
        ran.exits(0);
        // (A later line may say the server answered slowly, on a loaded machine.)
        let said = ran.stderr.lines().next().unwrap_or_default();
        assert_eq!(said, format!("research-demo: using servers from {file}"));
        assert_eq!(names(&ran.json_lines()), [name], "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_keeps_the_named_ones_and_ad_hoc_servers_join_them() {
    let marker = marker("server-flag");
    // Only ArxivServer of the built-in two: the Wikipedia server is not even started.
    let ran = research_demo(None, &["tools", "--json", "--server", "ArxivServer"], &marker).await;
    let tools = ran.exits(0).json_lines();
    assert_eq!(tools.len(), 5);
    assert!(tools.iter().all(|tool| tool["server"] == "ArxivServer"), "{tools:?}");

    // Ad-hoc servers join the built-in two, each with a name of its own.
    let testkit = testkit_stdio();
    let args = ["servers", "--json", "--stdio", &testkit, "--stdio", &testkit];
    let ran = research_demo(None, &args, &marker).await;
    let rows = ran.exits(0).json_lines();
    assert_eq!(names(&rows), ["ArxivServer", "WikipediaServer", "testkit-mcp", "testkit-mcp-2"]);

    // …or a config file's; a clash with a configured name gets a suffix.
    let dir = tempfile::tempdir().unwrap();
    config_at(dir.path(), "servers.json", "testkit-mcp");
    let config = dir.path().join("servers.json").display().to_string();
    let args = ["servers", "--json", "--config", &config, "--stdio", &testkit];
    let ran = research_demo(None, &args, &marker).await;
    assert_eq!(names(&ran.exits(0).json_lines()), ["testkit-mcp", "testkit-mcp-2"]);
    // `--server` naming only an ad-hoc server leaves the configured ones out.
    let args = [
        "servers",
        "--json",
        "--config",
        &config,
        "--stdio",
        &testkit,
        "--server",
        "testkit-mcp-2",
    ];
    let ran = research_demo(None, &args, &marker).await;
    assert_eq!(names(&ran.exits(0).json_lines()), ["testkit-mcp-2"]);

    let ran = research_demo(None, &["tools", "--server", "arxiv"], &marker).await;
    ran.exits(2);
    assert!(ran.stderr.contains("Known servers: ArxivServer, WikipediaServer"), "{}", ran.stderr);
}

/// `research-demo serve wikipedia --port 0`, started apart (with its own marker), and the URLs
/// it printed: legacy SSE and streamable HTTP.
struct WikipediaProcess {
    child: tokio::process::Child,
    sse: String,
    mcp: String,
    marker: String,
}

impl WikipediaProcess {
    async fn start(marker: String) -> WikipediaProcess {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"))
            .args(["serve", "wikipedia", "--port", "0"])
            .env(testkit::procs::MARKER_VAR, &marker)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), stderr.next_line())
            .await
            .expect("serve wikipedia printed its address within 60 s")
            .unwrap()
            .expect("a line on stderr");
        // The rest of stderr is drained, so that the server never writes to a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
        let url = |suffix: &str| {
            line.split_whitespace()
                .find(|word| word.ends_with(suffix))
                .unwrap_or_else(|| panic!("no {suffix} URL in {line:?}"))
                .to_owned()
        };
        WikipediaProcess { sse: url("/sse"), mcp: url("/mcp"), child, marker }
    }

    /// Stops it as a user would (SIGTERM), and checks that it ended.
    async fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("serve wikipedia stopped within 30 s")
            .unwrap();
        assert_eq!(status.code(), Some(143));
        let survivors = testkit::procs::survivors(&self.marker, Duration::from_secs(15));
        assert_eq!(survivors, Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wikipedia_url_and_url_reach_a_separately_started_server() {
    let wikipedia = WikipediaProcess::start(marker("wikipedia-apart")).await;
    let marker = marker("wikipedia-url");

    // The notebook's setup: the built-in WikipediaServer is the running one, over legacy SSE…
    let args = ["servers", "--json", "--wikipedia-url", &wikipedia.sse];
    let rows = research_demo(None, &args, &marker).await.exits(0).json_lines();
    assert_eq!(names(&rows), ["ArxivServer", "WikipediaServer"]);
    assert_eq!((&rows[1]["transport"], &rows[1]["tools"]), (&json!("sse"), &json!(4)));
    // …or over streamable HTTP.
    let args = ["servers", "--json", "--wikipedia-url", &wikipedia.mcp];
    let rows = research_demo(None, &args, &marker).await.exits(0).json_lines();
    assert_eq!(rows[1]["transport"], "streamable_http", "{}", rows[1]);
    let args = [
        "call",
        "WikipediaServer",
        "get_featured",
        r#"{"date": "2026-11-26"}"#,
        "--wikipedia-url",
        &wikipedia.sse,
    ];
    let ran = research_demo(None, &args, &marker).await;
    let featured: Value = serde_json::from_str(&ran.exits(0).stdout).unwrap();
    assert_eq!(featured["featured_article"]["title"], "Ada Lovelace");

    // An ad-hoc --url: streamable HTTP, and legacy SSE when the server refuses that.
    let port = wikipedia.sse.trim_end_matches("/sse").rsplit(':').next().unwrap().to_owned();
    let name = format!("127.0.0.1:{port}");
    let args =
        ["servers", "--json", "--url", &wikipedia.sse, "--url", &wikipedia.mcp, "--server", &name];
    let rows = research_demo(None, &args, &marker).await.exits(0).json_lines();
    assert_eq!(names(&rows), [name.clone(), format!("{name}-2")]);
    assert_eq!(
        (&rows[0]["transport"], &rows[1]["transport"]),
        (&json!("sse"), &json!("streamable_http"))
    );
    assert!(rows.iter().all(|row| row["tools"] == 4), "{rows:?}");

    // Not with a config of its own.
    let args = ["servers", "--wikipedia-url", &wikipedia.sse, "--discover"];
    research_demo(None, &args, &marker).await.exits(2);
    wikipedia.stop().await;
}
