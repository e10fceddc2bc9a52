//! Helpers the research-demo tests share: MCP tool calls, and HTTP servers that misbehave.

use std::io::{Read, Write};
use std::net::TcpListener;

use mcp_session::Session;
use mcp_session::rmcp::model::CallToolResult;
use serde_json::Value;

/// The text blocks of a tool result, joined.
pub(crate) fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect()
}

/// Calls `tool`: whether it failed (`is_error`), and its text.
pub(crate) async fn call(session: &Session, tool: &str, arguments: Value) -> (bool, String) {
    let result = session.call_tool(tool, arguments).await.unwrap();
    (result.is_error == Some(true), text_of(&result))
}

/// Calls `tool`, which must succeed with JSON text.
pub(crate) async fn call_json(session: &Session, tool: &str, arguments: Value) -> Value {
    let (failed, text) = call(session, tool, arguments).await;
    assert!(!failed, "{tool} failed: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A server answering every request with `response`; returns its base URL.
pub(crate) fn raw(response: &'static str) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url.parse().unwrap()
}

/// Serves `app` on a loopback port until the test's runtime ends; returns its base URL.
pub(crate) async fn serve(app: axum::Router) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url.parse().unwrap()
}

/// What a finished run of the binary printed, and its exit status.
#[derive(Debug)]
pub(crate) struct Ran {
    /// The exit status (`None`: ended by a signal).
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ran {
    /// What a run that ended printed, once none of the processes carrying `marker` outlives it
    /// (it waits up to 15 s for them to go).
    #[track_caller]
    pub(crate) fn ended(output: std::process::Output, marker: &str) -> Self {
        let survivors = testkit::procs::survivors(marker, std::time::Duration::from_secs(15));
        assert_eq!(survivors, Vec::<String>::new(), "research-demo left processes behind");
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Checks the exit status, showing what the run printed when it is not `code`.
    #[track_caller]
    pub(crate) fn exits(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    /// The stdout lines, each parsed as JSON.
    pub(crate) fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect()
    }
}

/// Runs `research-demo ARGS` to its end (within 60 s), in `dir` (`None`: the tests' folder),
/// with stdin closed and `MCP_LEAK_MARKER=marker`, which every server it starts inherits: none
/// of them may outlive it.
pub(crate) async fn research_demo(
    dir: Option<&std::path::Path>,
    args: &[&str],
    marker: &str,
) -> Ran {
    research_demo_with(dir, args, &[], marker).await
}

/// [`research_demo`] with the variables `env` set in the child's environment (only there).
pub(crate) async fn research_demo_with(
    dir: Option<&std::path::Path>,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
    marker: &str,
) -> Ran {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"));
    command
        .args(args)
        .envs(env.iter().copied())
        .env(testkit::procs::MARKER_VAR, marker)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("research-demo {args:?} did not end within 60 s"))
        .unwrap();
    Ran::ended(output, marker)
}

/// `--stdio`'s value for testkit-mcp over stdio.
pub(crate) fn testkit_stdio() -> String {
    format!("'{}' stdio", testkit::testkit_mcp().display())
}

/// A marker unique to this test process and `name`.
pub(crate) fn marker(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}
