//! Integration tests of mcp-session against real servers: `testkit-mcp` over stdio and
//! streamable HTTP on loopback, started as real processes.

mod auth;
mod cancel;
mod catalog;
mod direct;
mod failures;
mod handlers;
mod leaks;
mod methods;
mod oauth;
mod peers;
mod pool;
mod protocol;
mod registry;
mod spans;
mod sse;
mod tls;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mcp_session::mcp_config::{ServerConfig, StdioConfig, StreamableHttpConfig, Timeouts};

/// Runs the test `name` of this binary alone in a child process with the environment `vars`,
/// and asserts that it ran and passed: for a test that needs the process to itself (its
/// environment, or `tracing`'s process-wide state, which the other tests' threads share).
pub(crate) fn run_child(name: &str, vars: &[(&str, &str)]) {
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .envs(vars.iter().copied())
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child ran no test:\n{stdout}\n{stderr}");
}

/// Short timeouts, so failure tests end quickly; generous enough for a loaded CI machine.
pub(crate) fn quick_timeouts() -> Timeouts {
    Timeouts::default()
        .startup(Duration::from_secs(20))
        .request(Duration::from_secs(20))
        .close_grace(Duration::from_millis(500))
}

/// `testkit-mcp stdio ARGS…` as a server config.
pub(crate) fn stdio_server(args: &[&str]) -> StdioConfig {
    let mut all = vec!["stdio"];
    all.extend_from_slice(args);
    StdioConfig::new("testkit", testkit::testkit_mcp().to_string_lossy())
        .args(all)
        .timeouts(quick_timeouts())
}

/// A `testkit-mcp http` process, killed on drop.
pub(crate) struct HttpServer {
    child: Child,
    pub(crate) url: String,
}

impl HttpServer {
    pub(crate) fn start(args: &[&str]) -> HttpServer {
        HttpServer::start_mode("http", args)
    }

    /// `testkit-mcp MODE ARGS…` for an HTTP mode (`http`, `sse`).
    pub(crate) fn start_mode(mode: &str, args: &[&str]) -> HttpServer {
        let mut child = Command::new(testkit::testkit_mcp())
            .arg(mode)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("testkit-mcp starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("testkit-mcp prints its URL");
        assert!(line.starts_with("http://127.0.0.1:"), "unexpected first line: {line:?}");
        HttpServer { child, url: line.trim().to_owned() }
    }

    /// Kills the server now.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn config(&self) -> ServerConfig {
        StreamableHttpConfig::new("testkit-http", &self.url)
            .expect("valid URL")
            .timeouts(quick_timeouts())
            .into()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `session`'s server (testkit-mcp) has seen: its `stats` tool's answer.
pub(crate) async fn stats(session: &mcp_session::Session) -> serde_json::Value {
    let stats = session.call_tool("stats", serde_json::json!({})).await.unwrap();
    serde_json::from_str(&stats.content[0].as_text().expect("stats answers text").text).unwrap()
}

/// Waits until `session`'s server (testkit-mcp) runs a `sleep` call: the request is in flight.
/// Bounded: panics after about 20 s.
pub(crate) async fn until_sleeping(session: &mcp_session::Session) {
    for _ in 0..2000 {
        if stats(session).await["sleeping"].as_u64() > Some(0) {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server never started the `sleep` call");
}

/// The server's `stats` once it has acted on a timed-out call's cancellation. The cancellation
/// was sent before the timeout returned; testkit-mcp counts it when the cancelled handler wakes
/// up, which can come a moment after a request that follows: hence a few `stats` round trips at
/// most, no waiting.
pub(crate) async fn stats_once_cancelled(session: &mcp_session::Session) -> serde_json::Value {
    let mut seen = stats(session).await;
    for _ in 0..100 {
        if seen["cancelled"] != 0 {
            break;
        }
        tokio::task::yield_now().await;
        seen = stats(session).await;
    }
    seen
}
