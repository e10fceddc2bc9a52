//! `research-demo chat`: a conversation with the assistant, as a process. Through piped stdin
//! (several turns with the history carried over, the chat's commands, `--json`, the end of stdin
//! and `/exit`, SIGINT cancelling a turn and leaving at the prompt) and through a
//! pseudo-terminal (line editing, the answer streamed in pieces, Ctrl-C cancelling a turn, Ctrl-D
//! leaving). The model is the scripted one; the server is testkit-mcp over stdio, whose ledger
//! counts its sessions.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use agent_core::transfer_tool_name;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use research_demo::assistant::ASSISTANT;
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::common::{Ran, marker, testkit_stdio};

/// How long any wait of these tests may take before it fails the test.
const PATIENCE: Duration = Duration::from_secs(60);

/// The only server of these chats: testkit-mcp over stdio.
const SERVER: &str = "testkit-mcp";

const ASSISTANT_PROMPT: &str = "You are a research assistant agent.";
const AGENT_PROMPT: &str = "access to testkit-mcp tools";

/// The assistant sends `message` on to the server through `run_mcp_agent_to_client`; there, the
/// temporary agent calls `tool` with `arguments`, then hands back.
fn through_the_server(llm: &ScriptedLlm, message: &str, tool: &str, arguments: Value) {
    llm.when(
        Match::any().system(ASSISTANT_PROMPT).last_role("user").last_message(message),
        Reply::tool_call(
            "run_mcp_agent_to_client",
            json!({"query": message, "server_name": SERVER}),
        ),
    );
    llm.when(
        Match::any().system(AGENT_PROMPT).last_role("user").last_message(message),
        Reply::tool_call(tool, arguments),
    );
}

/// The assistant's answer once the server's findings (a tool message containing `found`) came
/// back.
fn answers(llm: &ScriptedLlm, found: &str, answer: Reply) {
    llm.when(Match::any().system(ASSISTANT_PROMPT).last_role("tool").last_message(found), answer);
}

/// A scripted model for two questions, each answered through the server's `echo`.
async fn two_questions() -> ScriptedLlm {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().system(AGENT_PROMPT).last_role("tool"),
        Reply::tool_call(transfer_tool_name(ASSISTANT), json!({})),
    );
    through_the_server(&llm, "first question", "echo", json!({"text": "echo-first"}));
    through_the_server(&llm, "second question", "echo", json!({"text": "echo-second"}));
    answers(&llm, "echo-first", Reply::text("First answer."));
    answers(&llm, "echo-second", Reply::text("Second answer."));
    llm
}

/// `research-demo chat` with the scripted model and testkit-mcp as its only server (its ledger
/// in `ledger`), `extra` flags, `MCP_LEAK_MARKER=marker` and piped stdio.
fn chat(llm: &ScriptedLlm, ledger: &Path, extra: &[&str], marker: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_research-demo"));
    command
        .args(["chat", "--base-url", llm.base_url(), "--model", "m"])
        .args(["--stdio", &testkit_stdio(), "--server", SERVER, "--max-turns", "3"])
        .args(extra)
        .env(testkit::procs::MARKER_VAR, marker)
        .env(testkit::ledger::ENV, ledger)
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `command` with `input` on its stdin, then closed, to its end; none of its processes
/// may outlive it.
async fn converse(mut command: Command, input: &str, marker: &str) -> Ran {
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("the chat did not end within 60 s")
        .unwrap();
    Ran::ended(output, marker)
}

/// The requests the assistant's model received, in order.
fn assistant_requests(llm: &ScriptedLlm) -> Vec<Value> {
    llm.requests()
        .into_iter()
        .filter(|request| {
            request["messages"][0]["content"].as_str().is_some_and(|s| s.contains(ASSISTANT_PROMPT))
        })
        .collect()
}

/// The (role, text) of a request's messages after the system message.
fn conversation(request: &Value) -> Vec<(String, String)> {
    request["messages"].as_array().unwrap()[1..]
        .iter()
        .map(|message| {
            let role = message["role"].as_str().unwrap().to_owned();
            (role, message["content"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_turns_carry_the_conversation_over_on_one_session() {
    let llm = two_questions().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let marker = marker("chat-piped");
    let input = "first question\n/tools\n\n/servers\n/help\n/server\nsecond question\n";
    let ran = converse(chat(&llm, &ledger, &[], &marker), input, &marker).await;
    ran.exits(0);
    let out = &ran.stdout;
    // No prompt and no line editing off a terminal: each message is echoed as `ask` echoes its
    // question, and answered as `ask` answers.
    assert!(out.starts_with("LLM: "), "{out}");
    assert!(!out.lines().any(|line| line.starts_with("> ")), "{out}");
    let first = out.find("\nuser: first question\n").unwrap();
    let first_answer = out.find("\nanswer:\nFirst answer.\n").unwrap();
    let tools = out.find(&format!("\n/tools\n{SERVER}: ")).unwrap();
    let servers = out.find("\n/servers\nSERVER ").unwrap();
    let help = out.find("\n/help\n/servers ").unwrap();
    let second = out.find("\nuser: second question\n").unwrap();
    let second_answer = out.find("\nanswer:\nSecond answer.\n").unwrap();
    assert!(first < first_answer && first_answer < tools, "{out}");
    assert!(tools < servers && servers < help && help < second && second < second_answer);
    assert!(out.contains("mcp_agent calls echo({\"text\":\"echo-second\"})"), "{out}");
    assert!(out[servers..help].contains(&format!("\n{SERVER} ")), "{out}");
    assert!(out[servers..help].contains("healthy") || out[servers..help].contains("degraded"));
    assert!(out[tools..servers].contains("  echo "), "{out}");
    // A command that is not one is said on stderr; the chat goes on.
    assert!(
        ran.stderr.contains(
            "research-demo: unknown chat command /server (did you mean /servers?); /help lists the commands"
        ),
        "{}",
        ran.stderr
    );

    // The model saw the first exchange before the second question.
    let requests = assistant_requests(&llm);
    let second_request = requests
        .iter()
        .find(|request| conversation(request).last().unwrap().1 == "second question")
        .unwrap();
    let said = conversation(second_request);
    assert_eq!(said[0], ("user".to_owned(), "first question".to_owned()), "{said:?}");
    assert!(said.contains(&("assistant".to_owned(), "First answer.".to_owned())), "{said:?}");
    assert!(said.iter().any(|(role, text)| role == "tool" && text == "echo-first"), "{said:?}");
    // One session to the server served both turns and both commands.
    assert_eq!(testkit::ledger::count(&ledger, "initialize"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_of_a_chat_and_exit_leaves() {
    let llm = two_questions().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let marker = marker("chat-json");
    let input = "first question\n/tools\n/servers\n/nope\nexit\nsecond question\n";
    let ran = converse(chat(&llm, &ledger, &["--json"], &marker), input, &marker).await;
    ran.exits(0);
    let lines = ran.json_lines();
    let types: Vec<&str> = lines.iter().map(|line| line["type"].as_str().unwrap()).collect();
    assert_eq!(types[..2], ["llm", "query"], "{types:?}");
    assert_eq!(lines[1]["text"], "first question");
    // The answer streamed: its pieces, then the whole text, then the answer.
    let answer = types.iter().position(|kind| *kind == "answer").unwrap();
    assert_eq!(lines[answer]["text"], "First answer.");
    let streamed: String = lines[..answer]
        .iter()
        .filter(|line| line["type"] == "text_delta")
        .map(|line| line["delta"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, "First answer.");
    // `/tools` and `/servers`, each line with a `type`; an unknown command a `failed` line.
    let rest = &lines[answer + 1..];
    let tools: Vec<&Value> = rest.iter().filter(|line| line["type"] == "tool").collect();
    assert!(tools.iter().any(|tool| tool["name"] == "echo" && tool["server"] == SERVER));
    let servers: Vec<&Value> = rest.iter().filter(|line| line["type"] == "server").collect();
    assert_eq!(servers.len(), 1, "{rest:?}");
    assert_eq!(servers[0]["server"], SERVER);
    let failed = rest.last().unwrap();
    assert_eq!(failed["type"], "failed");
    assert_eq!(failed["kind"], "usage");
    assert_eq!(failed["message"], "unknown chat command /nope; /help lists the commands");
    // `exit` left: the second question was never asked.
    assert!(!ran.stdout.contains("second question"), "{}", ran.stdout);
    assert_eq!(assistant_requests(&llm).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_end_of_stdin_and_slash_exit_leave_with_0() {
    for input in
        ["", "/exit\nSearch for recent papers about large language models on ArxivServer\n"]
    {
        let marker = marker("chat-leave");
        let mut command = Command::new(env!("CARGO_BIN_EXE_research-demo"));
        command
            .args(["chat", "--offline"])
            .env(testkit::procs::MARKER_VAR, &marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let ran = converse(command, input, &marker).await;
        ran.exits(0);
        assert_eq!(ran.stderr, "");
        assert_eq!(
            ran.stdout,
            "LLM: offline planner (not a model) — set OPENAI_API_KEY for a real model\nMCP servers: ArxivServer, WikipediaServer\n"
        );
    }
}

/// Reads `stdout`'s JSON lines until one satisfies `wanted` (within [`PATIENCE`]); returns it.
async fn until(stdout: &mut BufReader<ChildStdout>, wanted: impl Fn(&Value) -> bool) -> Value {
    let read = async {
        let mut line = String::new();
        loop {
            line.clear();
            let read = stdout.read_line(&mut line).await.unwrap();
            assert!(read > 0, "stdout ended before the line awaited");
            let value: Value = serde_json::from_str(&line).unwrap();
            if wanted(&value) {
                return value;
            }
        }
    };
    tokio::time::timeout(PATIENCE, read).await.expect("the line awaited did not come in 60 s")
}

/// Writes one line to the chat.
async fn say(stdin: &mut ChildStdin, line: &str) {
    stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
}

fn interrupt(child: &Child) {
    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    kill(pid, Signal::SIGINT).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_cancels_a_turn_and_at_the_prompt_leaves_with_130() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().system(AGENT_PROMPT).last_role("tool"),
        Reply::tool_call(transfer_tool_name(ASSISTANT), json!({})),
    );
    // The first question waits on the server's `sleep` (a minute) when SIGINT comes.
    through_the_server(&llm, "slow question", "sleep", json!({"ms": 60_000}));
    // The next asks the server what it saw.
    through_the_server(&llm, "quick question", "stats", json!({}));
    answers(&llm, "\"cancelled\"", Reply::text("Quick answer."));
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let marker = marker("chat-sigint");
    let mut child = chat(&llm, &ledger, &["--json"], &marker).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    say(&mut stdin, "slow question").await;
    until(&mut stdout, |line| line["type"] == "tool_call" && line["name"] == "sleep").await;
    interrupt(&child);
    until(&mut stdout, |line| line["type"] == "cancelled").await;
    // The chat goes on, on the same session, whose server was told the call was cancelled.
    say(&mut stdin, "quick question").await;
    let stats =
        until(&mut stdout, |line| line["type"] == "tool_response" && line["name"] == "stats").await;
    let stats: Value = serde_json::from_str(stats["content"].as_str().unwrap()).unwrap();
    assert_eq!((&stats["cancelled"], &stats["sleeping"]), (&json!(1), &json!(0)), "{stats}");
    let answer = until(&mut stdout, |line| line["type"] == "answer").await;
    assert_eq!(answer["text"], "Quick answer.");
    // The cancelled turn is not part of the conversation.
    let last = assistant_requests(&llm).pop().unwrap();
    let said = conversation(&last);
    assert_eq!(said[0], ("user".to_owned(), "quick question".to_owned()), "{said:?}");

    // At the prompt, SIGINT leaves: 130, everything closed.
    interrupt(&child);
    let error = until(&mut stdout, |line| line["type"] == "error").await;
    assert_eq!(error["kind"], "interrupted");
    assert_eq!(error["exit_code"], 130);
    let status = tokio::time::timeout(PATIENCE, child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    assert!(stderr.contains("research-demo: SIGINT: cancelled the answer; the chat goes on"));
    assert!(stderr.contains("research-demo: stopped by SIGINT; every session and server"));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(testkit::ledger::count(&ledger, "initialize"), 1);
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(15)), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_lines_are_edited_answers_stream_and_ctrl_c_cancels_a_turn() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().system(AGENT_PROMPT).last_role("tool"),
        Reply::tool_call(transfer_tool_name(ASSISTANT), json!({})),
    );
    through_the_server(&llm, "first question", "echo", json!({"text": "echo-first"}));
    through_the_server(&llm, "slow question", "sleep", json!({"ms": 60_000}));
    through_the_server(&llm, "third question", "echo", json!({"text": "echo-third"}));
    // The first answer streams, and stops after its first two words until the test resumes it.
    let resume = Arc::new(tokio::sync::Notify::new());
    let paused = Reply::PausedStream {
        after: 3,
        resume: resume.clone(),
        then: Box::new(Reply::text("Streamed answer arriving in pieces.")),
    };
    answers(&llm, "echo-first", paused);
    answers(&llm, "echo-third", Reply::text("Third answer."));
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let history = dir.path().join("history");
    let marker = marker("chat-pty");

    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_research-demo"));
    command
        .args(["chat", "--base-url", llm.base_url(), "--model", "m"])
        .args(["--stdio", &testkit_stdio(), "--server", SERVER])
        .arg("--history")
        .arg(&history)
        .env(testkit::procs::MARKER_VAR, &marker)
        .env(testkit::ledger::ENV, &ledger)
        .env("OPENAI_API_KEY", "sk-test")
        .env("TERM", "xterm")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .env_remove("RUST_LOG");
    let terminal = tokio::task::spawn_blocking(move || {
        let options =
            rexpect::reader::Options::new().timeout_ms(Some(60_000)).strip_ansi_escape_codes(true);
        let mut pty = rexpect::session::spawn_with_options(command, options).unwrap();
        pty.exp_string("Ctrl-D leaves.").unwrap();
        pty.exp_string("> ").unwrap();
        // Typed with a slip, mended with backspace.
        pty.send("first questiom").unwrap();
        pty.send("\x7f").unwrap();
        pty.send("n\r").unwrap();
        pty.flush().unwrap();
        pty.exp_string("mcp_agent calls echo").unwrap();
        // The model's first words show while the rest of its answer is held back.
        pty.exp_string("research_assistant: Streamed answer ").unwrap();
        resume.notify_one();
        pty.exp_string("arriving in pieces.").unwrap();
        pty.exp_string("(run ended: answered)").unwrap();
        pty.exp_string("> ").unwrap();

        // Ctrl-C while the server sleeps cancels the turn; the chat goes on.
        pty.send("slow question\r").unwrap();
        pty.flush().unwrap();
        pty.exp_string("mcp_agent calls sleep").unwrap();
        pty.send_control('c').unwrap();
        pty.exp_string("cancelled the answer; the chat goes on").unwrap();
        pty.exp_string("> ").unwrap();
        pty.send("third question\r").unwrap();
        pty.flush().unwrap();
        pty.exp_string("research_assistant: Third answer.").unwrap();
        pty.exp_string("> ").unwrap();

        // Ctrl-D leaves, with 0.
        pty.send_control('d').unwrap();
        let rest = pty.exp_eof().unwrap();
        let status = pty.process().wait().unwrap();
        (status, rest)
    });
    let (status, rest) =
        tokio::time::timeout(Duration::from_secs(180), terminal).await.unwrap().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}: {rest}");
    assert!(!rest.contains("panicked"), "{rest}");

    // The model got the mended line; the cancelled turn is not part of the conversation.
    let requests = assistant_requests(&llm);
    assert_eq!(conversation(&requests[0])[0].1, "first question");
    let said = conversation(requests.last().unwrap());
    let users: Vec<&str> =
        said.iter().filter(|(role, _)| role == "user").map(|(_, text)| text.as_str()).collect();
    assert_eq!(users, ["first question", "third question"], "{said:?}");
    assert!(llm.streamed().iter().all(|streamed| *streamed), "on a terminal every answer streams");
    // The session to the server outlived the cancelled turn.
    assert_eq!(testkit::ledger::count(&ledger, "initialize"), 1);
    // The prompt's history was kept in the file given.
    let kept = std::fs::read_to_string(&history).unwrap();
    for line in ["first question", "slow question", "third question"] {
        assert!(kept.lines().any(|kept| kept == line), "{kept}");
    }
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(15)), Vec::<String>::new());
}
