//! How the binary ends, as a script sees it: exit statuses for usage and configuration errors,
//! for servers and LLMs that fail during a run, for SIGINT and SIGTERM (every session and server
//! closed first), and a closed stdout.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command};

const QUERY: &str = "Search for recent papers about large language models on ArxivServer";

/// How long any wait of these tests may take before it fails the test.
const PATIENCE: Duration = Duration::from_secs(60);

/// `research-demo ARGS`, with `MCP_LEAK_MARKER=marker` (its servers inherit it), a fake API key
/// and no other OpenAI variables, stdin closed and stdout and stderr piped.
fn demo(args: &[&str], marker: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_research-demo"));
    command
        .args(args)
        .env(testkit::procs::MARKER_VAR, marker)
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// What a finished run printed.
struct Ended {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Ended {
    /// The stdout lines, each parsed as JSON.
    fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect()
    }

    fn assert_no_panic(&self) {
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
}

/// Runs `command` to its end (within [`PATIENCE`]).
async fn run(mut command: Command) -> Ended {
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("research-demo did not end within 60 s")
        .unwrap();
    Ended {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Waits (within [`PATIENCE`]) for `child` to end, reading what is left of its output.
async fn finish(mut child: Child) -> Ended {
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let read = async {
        if let Some(out) = &mut out {
            let _ = out.read_to_string(&mut stdout).await;
        }
        if let Some(err) = &mut err {
            let _ = err.read_to_string(&mut stderr).await;
        }
        child.wait().await.unwrap()
    };
    let status =
        tokio::time::timeout(PATIENCE, read).await.expect("research-demo did not end within 60 s");
    Ended { status, stdout, stderr }
}

/// Writes `servers` (a `{"mcpServers": …}` object) to `mcp.json` in `dir`.
fn config_file(dir: &Path, servers: &Value) -> String {
    let path = dir.join("mcp.json");
    std::fs::write(&path, servers.to_string()).unwrap();
    path.display().to_string()
}

/// The binary's own arXiv server over stdio, asking the arXiv API at `api_base`.
fn arxiv_server(api_base: &str, storage: &Path) -> Value {
    json!({
        "command": env!("CARGO_BIN_EXE_research-demo"),
        "args": ["serve", "arxiv", "--api-base", api_base, "--storage-path", storage.display().to_string()],
    })
}

#[tokio::test]
async fn usage_errors_exit_2_and_say_what_to_do() {
    // An empty or blank query.
    for blank in ["", "  "] {
        let ended = run(demo(&["--json", blank], "unused")).await;
        assert_eq!(ended.status.code(), Some(2), "{}", ended.stderr);
        assert!(ended.stderr.starts_with("research-demo: the query is empty;"), "{}", ended.stderr);
        let lines = ended.json_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["type"], "error");
        assert_eq!(lines[0]["kind"], "usage");
        assert_eq!(lines[0]["exit_code"], 2);
    }

    // A near miss of a command is not a question.
    for typo in ["serv", "servee"] {
        let ended = run(demo(&[typo], "unused")).await;
        assert_eq!(ended.status.code(), Some(2), "{}", ended.stderr);
        assert_eq!(
            ended.stderr,
            format!(
                "research-demo: unknown command `{typo}`: did you mean `serve`? (to ask it as a question: research-demo ask {typo})\n"
            )
        );
        assert_eq!(ended.stdout, "");
    }
}

#[tokio::test]
async fn a_config_with_no_servers_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &json!({"mcpServers": {}}));
    let ended = run(demo(&["--json", "--offline", "--config", &config, QUERY], "unused")).await;
    assert_eq!(ended.status.code(), Some(2), "{}", ended.stderr);
    assert_eq!(
        ended.stderr,
        format!(
            "research-demo: {config}: the config file has no servers; add one, or leave out --config for the built-in two\n"
        )
    );
    let lines = ended.json_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!((&lines[0]["kind"], &lines[0]["exit_code"]), (&json!("config"), &json!(2)));
}

/// The assistant calls `run_mcp_agent_to_client` for `server`; after the tool's answer, it
/// answers `answer`.
async fn assistant_calls(server: &str, answer: &str) -> ScriptedLlm {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().system("You are a research assistant agent.").last_role("user"),
        Reply::tool_call("run_mcp_agent_to_client", json!({"query": QUERY, "server_name": server})),
    );
    llm.when(
        Match::any().system("You are a research assistant agent.").last_role("tool"),
        Reply::text(answer),
    );
    llm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_exits_1_after_the_answer() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sse", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &json!({"mcpServers": {"WikipediaServer": {"type": "sse", "url": url}}}),
    );
    let llm = assistant_calls("WikipediaServer", "WikipediaServer could not be reached.").await;
    let args = ["--json", "--config", &config, "--base-url", llm.base_url(), "--model", "m", QUERY];
    let ended = run(demo(&args, "unused")).await;
    ended.assert_no_panic();
    assert_eq!(ended.status.code(), Some(1), "{}", ended.stderr);
    assert!(
        ended
            .stderr
            .starts_with("research-demo: WikipediaServer: cannot connect to http://127.0.0.1:"),
        "{}",
        ended.stderr
    );
    // The answer streamed, word by word: its `text_delta` lines come before its `text`.
    let (deltas, lines): (Vec<Value>, Vec<Value>) =
        ended.json_lines().into_iter().partition(|line| line["type"] == "text_delta");
    let streamed: String = deltas.iter().map(|line| line["delta"].as_str().unwrap()).collect();
    assert_eq!(streamed, "WikipediaServer could not be reached.");
    let types: Vec<&str> = lines.iter().map(|line| line["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["llm", "query", "tool_call", "tool_response", "text", "termination", "answer", "error"]
    );
    // The model saw the failure as the tool's error, and answered.
    assert!(
        lines[3]["content"].as_str().unwrap().starts_with("Error: WikipediaServer: cannot connect")
    );
    assert_eq!(lines[6]["text"], "WikipediaServer could not be reached.");
    let error = &lines[7];
    assert_eq!((&error["kind"], &error["exit_code"]), (&json!("server"), &json!(1)));
    assert!(error["message"].as_str().unwrap().starts_with("WikipediaServer: cannot connect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_llm_of_the_temporary_agent_exits_1() {
    let fixtures = research_demo::fixtures::FixtureServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = arxiv_server(fixtures.url().as_str(), dir.path());
    let config = config_file(dir.path(), &json!({"mcpServers": {"ArxivServer": server}}));
    let llm = assistant_calls("ArxivServer", "The search failed.").await;
    llm.when(
        Match::any().system("access to ArxivServer tools"),
        Reply::Status { code: 401, retry_after: None },
    );
    let marker = format!("exits-inner-llm-{}", std::process::id());
    let args = ["--json", "--config", &config, "--base-url", llm.base_url(), "--model", "m", QUERY];
    let ended = run(demo(&args, &marker)).await;
    ended.assert_no_panic();
    assert_eq!(ended.status.code(), Some(1), "{}", ended.stderr);
    assert!(ended.stderr.contains("HTTP 401"), "{}", ended.stderr);
    let lines = ended.json_lines();
    let answer = &lines[lines.len() - 2];
    assert_eq!(
        (&answer["type"], &answer["text"]),
        (&json!("answer"), &json!("The search failed."))
    );
    let error = lines.last().unwrap();
    assert_eq!((&error["kind"], &error["exit_code"]), (&json!("llm"), &json!(1)));
    assert!(!error["message"].as_str().unwrap().contains("sk-test"), "{error}");
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(15)), Vec::<String>::new());
}

/// Reads `child`'s stdout up to its first line, then closes it; the binary goes on writing.
async fn read_one_line_and_close(child: &mut Child) -> String {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(PATIENCE, stdout.read_line(&mut line))
        .await
        .expect("no first line within 60 s")
        .unwrap();
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_ends_quietly() {
    for json in [false, true] {
        let marker = format!("exits-head-{json}-{}", std::process::id());
        let mut args = vec!["--offline"];
        if json {
            args.push("--json");
        }
        let mut child = demo(&args, &marker).spawn().unwrap();
        let first = read_one_line_and_close(&mut child).await;
        assert!(first.contains("offline planner"), "{first}");
        let ended = finish(child).await;
        assert_eq!(ended.stderr, "");
        assert_eq!(ended.status.code(), Some(0));
        assert_eq!(
            testkit::procs::survivors(&marker, Duration::from_secs(15)),
            Vec::<String>::new()
        );
    }
}

/// A loopback HTTP server that accepts connections and never answers; `accepted` fires at the
/// first connection.
async fn hanging_api() -> (String, tokio::sync::oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (accepted, receiver) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut accepted = Some(accepted);
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
            if let Some(accepted) = accepted.take() {
                let _ = accepted.send(());
            }
        }
    });
    (url, receiver)
}

/// An `ask` whose arXiv server is inside a call that hangs.
struct Stuck {
    child: Child,
    marker: String,
    _llm: ScriptedLlm,
    _dir: tempfile::TempDir,
}

/// Starts an `ask` (with `flags`) whose arXiv server (`server(api, storage)`) is inside a call
/// that hangs (its API never answers), and waits until it is.
async fn ask_stuck_in_a_call(
    name: &str,
    flags: &[&str],
    server: impl FnOnce(&str, &Path) -> Value,
) -> Stuck {
    let (api, accepted) = hanging_api().await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        config_file(dir.path(), &json!({"mcpServers": {"ArxivServer": server(&api, dir.path())}}));
    let llm = assistant_calls("ArxivServer", "unused").await;
    llm.when(
        Match::any().system("access to ArxivServer tools").last_role("user"),
        Reply::tool_call("search_papers", json!({"query": "large language models"})),
    );
    let marker = format!("exits-{name}-{}", std::process::id());
    let mut args =
        vec!["--json", "--config", &config, "--base-url", llm.base_url(), "--model", "m"];
    args.extend(flags);
    args.push(QUERY);
    let child = demo(&args, &marker).spawn().unwrap();
    tokio::time::timeout(PATIENCE, accepted)
        .await
        .expect("the arXiv server did not ask its API within 60 s")
        .unwrap();
    assert!(!testkit::procs::marked_processes(&marker).is_empty());
    Stuck { child, marker, _llm: llm, _dir: dir }
}

fn signal(child: &Child, signal: Signal) {
    let pid = i32::try_from(child.id().unwrap()).unwrap();
    kill(Pid::from_raw(pid), signal).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_close_every_session_and_exit_143_and_130() {
    // The seed's flow, and `--keep-alive`, whose pool is closed the same way.
    for (sent, code, name, flags) in [
        (Signal::SIGTERM, 143, "sigterm", &[][..]),
        (Signal::SIGINT, 130, "sigint", &[]),
        (Signal::SIGTERM, 143, "sigterm-pool", &["--keep-alive"]),
        (Signal::SIGINT, 130, "sigint-pool", &["--keep-alive"]),
    ] {
        let Stuck { child, marker, .. } = ask_stuck_in_a_call(name, flags, arxiv_server).await;
        signal(&child, sent);
        let ended = finish(child).await;
        ended.assert_no_panic();
        assert_eq!(ended.status.code(), Some(code), "{}", ended.stderr);
        let error = ended.json_lines().pop().unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!((&error["kind"], &error["exit_code"]), (&json!("interrupted"), &json!(code)));
        assert!(
            ended.stderr.ends_with(&format!(
                "research-demo: stopped by {sent}; every session and server it opened was closed\n"
            )),
            "{}",
            ended.stderr
        );
        assert_eq!(
            testkit::procs::survivors(&marker, Duration::from_secs(15)),
            Vec::<String>::new()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_exits_at_once() {
    // A server whose process group outlives stdin's end and SIGTERM, under a long close grace:
    // the first SIGINT's shutdown would take a minute.
    let stuck = ask_stuck_in_a_call("second-sigint", &[], |api, storage| {
        let script = format!(
            "trap '' TERM; \"$0\" serve arxiv --api-base {api} --storage-path {}; exec sleep 600",
            storage.display()
        );
        json!({
            "command": "sh",
            "args": ["-c", script, env!("CARGO_BIN_EXE_research-demo")],
            "timeouts": {"close_grace": 30},
        })
    })
    .await;
    let Stuck { mut child, marker, .. } = stuck;
    signal(&child, Signal::SIGINT);
    // Wait until the first one is being handled.
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let stopping = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if line.contains("SIGINT: stopping") {
                return line;
            }
        }
        panic!("research-demo ended without saying it was stopping");
    })
    .await
    .expect("no 'stopping' line within 60 s");
    assert_eq!(
        stopping,
        "research-demo: SIGINT: stopping, closing every session and server (again to exit at once)"
    );
    let second = Instant::now();
    signal(&child, Signal::SIGINT);
    let status = tokio::time::timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(second.elapsed() < Duration::from_secs(20), "{:?}", second.elapsed());

    // What the cut-short shutdown left behind: the server's shell and its `sleep`.
    for stat in testkit::procs::marked_processes(&marker) {
        let pid: i32 = stat.split_whitespace().next().unwrap().parse().unwrap();
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(15)), Vec::<String>::new());
}

/// Spawns `research-demo serve ARGS` and waits for its "serving" line on stderr. Its stdin is
/// a pipe, kept open by the stdin returned.
async fn serving(args: &[&str], marker: &str) -> (Child, Option<tokio::process::ChildStdin>) {
    let mut command = demo(args, marker);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdin = child.stdin.take();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(PATIENCE, stderr.next_line())
        .await
        .expect("no 'serving' line within 60 s")
        .unwrap()
        .unwrap_or_default();
    assert!(line.starts_with("research-demo: serving"), "{line}");
    (child, stdin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_exit_130_and_143_on_signals() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().display().to_string();
    for (args, sent, code) in [
        (vec!["serve", "wikipedia", "--port", "0"], Signal::SIGTERM, 143),
        (vec!["serve", "wikipedia", "--port", "0"], Signal::SIGINT, 130),
        (vec!["serve", "arxiv", "--storage-path", &storage], Signal::SIGINT, 130),
        (vec!["serve", "arxiv", "--storage-path", &storage], Signal::SIGTERM, 143),
    ] {
        let marker = format!("exits-serve-{}-{code}-{}", args[1], std::process::id());
        let (mut child, stdin) = serving(&args, &marker).await;
        signal(&child, sent);
        let status = tokio::time::timeout(PATIENCE, child.wait())
            .await
            .expect("the server did not end within 60 s")
            .unwrap();
        drop(stdin);
        assert_eq!(status.code(), Some(code), "{args:?} {sent}");
        assert_eq!(
            testkit::procs::survivors(&marker, Duration::from_secs(15)),
            Vec::<String>::new()
        );
    }
}
