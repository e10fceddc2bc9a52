//! What `research-demo ask` and `chat` print: for people (events cut at [`SHOWN_CHARS`]; on a
//! terminal the model's text as it streams, and what a wait longer than a second awaits), or
//! with `--json` one JSON object per line, each a [`Line`].
//!
//! The `--json` format (documented in docs/demo.md, pinned by the tests below): every line is an
//! object whose `type` says what it is. New kinds of lines, and new fields, may be added; the
//! lines and fields here do not change.
//!
//! | `type` | fields | when |
//! |---|---|---|
//! | `llm` | `text` | first: which LLM thinks |
//! | `query` | `text` | a question is asked |
//! | `text`, `text_delta`, `tool_call`, `tool_response`, `handoff`, `termination` | agent-core's [`Event`] | something happened during the run (`text_delta`: a piece of a `text` still to come) |
//! | `answer` | `text` | the run answered the last `query` |
//! | `cancelled` | | `chat`: Ctrl-C cancelled the turn of the last `query` |
//! | `failed` | `kind`, `message` | `chat`: a turn or a command failed, and the chat goes on (stderr says it too) |
//! | `server`, `tool` | those of `servers --json` and `tools --json` | `chat`: `/servers` and `/tools` |
//! | `error` | `kind`, `message`, `exit_code` | last: the command failed (stderr says it too) |
//!
//! A closed stdout (`| head -1`) is a quiet end: [`Output::closed`] tells the command to stop,
//! and nothing more is written. Writing to stderr never fails either ([`eprint_line`]).
//!
//! Progress (indicatif) is drawn on stderr, on a terminal only and never with `--json`, once a
//! wait has lasted [`SHOW_AFTER`]; anything printed on stdout or stderr clears it first.

use std::borrow::Cow;
use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_core::Event;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::error::{Error, Kind};

/// How many characters of an event's line a person is shown (`--json` holds all of it).
pub(crate) const SHOWN_CHARS: usize = 300;

/// How long a wait lasts before progress shows what it awaits.
pub(crate) const SHOW_AFTER: Duration = Duration::from_secs(1);

/// One line of `--json` output.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Line<'a> {
    /// Which LLM thinks (`LLM: …`, as people see it). Always the first line.
    Llm {
        /// The line people see.
        text: &'a str,
    },
    /// A question the assistant is asked.
    Query {
        /// The question.
        text: &'a str,
    },
    /// The assistant's answer to the last question.
    Answer {
        /// The answer.
        text: &'a str,
    },
    /// `chat`: Ctrl-C cancelled the turn of the last question; the chat goes on.
    Cancelled,
    /// `chat`: a turn or a command failed; the chat goes on.
    Failed {
        /// What failed.
        kind: Kind,
        /// The reason, as stderr says it.
        message: String,
    },
    /// The command failed; always the last line.
    Error {
        /// What failed.
        kind: Kind,
        /// The reason, as stderr says it.
        message: String,
        /// The exit status the process ends with.
        exit_code: u8,
    },
    /// Something that happened during a run, in agent-core's own format (`text`, `text_delta`,
    /// `tool_call`, `tool_response`, `handoff`, `termination`).
    #[serde(untagged)]
    Event(&'a Event),
}

impl Line<'_> {
    /// The line's JSON text.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|err| {
            // Strings and numbers always serialize; keep the stream parseable anyway.
            serde_json::json!({"type": "error", "kind": Kind::Runtime, "message": err.to_string(), "exit_code": 1})
                .to_string()
        })
    }
}

/// Prints the conversation on stdout, for people or as JSON lines. Clones share whether stdout
/// was found closed.
#[derive(Clone, Debug)]
pub(crate) struct Output {
    json: bool,
    /// Whether stdout is a terminal.
    terminal: bool,
    /// Whether progress is shown: for people, when stderr is a terminal.
    progress: bool,
    /// Whether a write found stdout closed (a broken pipe).
    closed: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Output {
    /// JSON lines when `json`, else text for people.
    pub(crate) fn new(json: bool) -> Self {
        Output {
            json,
            terminal: std::io::stdout().is_terminal(),
            progress: !json && std::io::stderr().is_terminal(),
            closed: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// Whether it prints JSON lines.
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// Whether runs should stream the model's text: with `--json` (as `text_delta` lines), and
    /// for people on a terminal (as it comes). People off a terminal get whole messages.
    pub(crate) fn streams(&self) -> bool {
        self.json || self.terminal
    }

    /// Runs `future`; when it takes longer than [`SHOW_AFTER`], shows on stderr that `what` is
    /// awaited and for how long (on a terminal, for people), until it ends or something is
    /// printed.
    pub(crate) async fn waiting<F: Future>(&self, what: &str, future: F) -> F::Output {
        if !self.progress {
            return future.await;
        }
        let started = Instant::now();
        let mut future = std::pin::pin!(future);
        tokio::select! {
            output = &mut future => return output,
            () = tokio::time::sleep(SHOW_AFTER) => {}
        }
        show_progress(what, started.elapsed());
        let output = future.await;
        clear_progress();
        output
    }

    /// Returns once a write has found stdout closed (its reader is gone, as after `| head -1`);
    /// nothing is written after that. Cancel safe.
    pub(crate) async fn closed(&self) {
        let mut closed = self.closed.subscribe();
        // The sender lives in `self`, so the wait ends only when stdout is closed.
        let _ = closed.wait_for(|closed| *closed).await;
    }

    /// Prints one line on stdout. A closed stdout is not an error of the run: it is noted
    /// (see [`closed`](Self::closed)) and nothing more is written.
    fn print_line(&self, line: &str) {
        self.print_raw(&format!("{line}\n"));
    }

    /// Prints `text` on stdout as it is (a piece of a streamed message needs no newline), or
    /// nothing once stdout was found closed.
    fn print_raw(&self, text: &str) {
        if *self.closed.borrow() {
            return;
        }
        clear_progress();
        let mut stdout = std::io::stdout().lock();
        let written = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
        if let Err(err) = written {
            if err.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed.send_replace(true);
            } else {
                tracing::warn!("cannot write to stdout: {err}");
            }
        }
    }

    /// Prints `line` on stdout as it is (`servers`, `tools`, `call`), or nothing once stdout
    /// was found closed.
    pub(crate) fn line(&self, line: &str) {
        self.print_line(line);
    }

    /// Whether a write found stdout closed: a command printing many lines stops there.
    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Which LLM thinks, and (for people) which servers the assistant may use.
    pub(crate) fn start(&self, llm: &str, servers: &[&str]) {
        if self.json {
            self.print_line(&Line::Llm { text: llm }.to_json());
        } else {
            self.print_line(&format!("{llm}\nMCP servers: {}", servers.join(", ")));
        }
    }

    /// A question.
    pub(crate) fn query(&self, query: &str) {
        if self.json {
            self.print_line(&Line::Query { text: query }.to_json());
        } else {
            self.print_line(&format!("\nuser: {query}"));
        }
    }

    /// One tool of `route`'s ranking: a JSON object with `--json`, else a line and its reasons.
    pub(crate) fn hit(&self, rank: usize, hit: &agent_core::Hit) {
        let why: Vec<String> = hit.why.iter().map(ToString::to_string).collect();
        if self.json {
            let mut line = serde_json::json!({
                "server": hit.server,
                "tool": hit.tool,
                "score": (hit.score * 1000.0).round() / 1000.0,
                "why": why,
            });
            if let Some(similarity) = hit.similarity {
                line["similarity"] = serde_json::json!((similarity * 1000.0).round() / 1000.0);
            }
            if let Some(example) = &hit.example {
                line["example"] = serde_json::json!(example);
            }
            self.print_line(&line.to_string());
        } else {
            let similarity =
                hit.similarity.map(|s| format!(", similarity {s:.2}")).unwrap_or_default();
            let example =
                hit.example.as_deref().map(|e| format!(" (like \"{e}\")")).unwrap_or_default();
            self.print_line(&shown(&format!(
                "{rank}. {} {} (score {:.2}{similarity}): {}{example}",
                hit.server,
                hit.tool,
                hit.score,
                why.join("; ")
            )));
        }
    }

    /// The answer, whole.
    pub(crate) fn answer(&self, answer: &str) {
        if self.json {
            self.print_line(&Line::Answer { text: answer }.to_json());
        } else {
            self.print_line(&format!("\nanswer:\n{answer}"));
        }
    }

    /// `chat`: the turn was cancelled (a `cancelled` line with `--json`; stderr says it for
    /// people).
    pub(crate) fn cancelled(&self) {
        if self.json {
            self.print_line(&Line::Cancelled.to_json());
        }
    }

    /// `chat`: a turn or a command failed and the chat goes on: stderr says why, and with
    /// `--json` a `failed` line.
    pub(crate) fn failed(&self, err: &Error) {
        eprint_line(&format!("research-demo: {err}"));
        if self.json {
            self.print_line(&Line::Failed { kind: err.kind(), message: err.to_string() }.to_json());
        }
    }

    /// The command failed: the `error` line with `--json` (stderr says it in any case, see
    /// `main`).
    pub(crate) fn error(&self, err: &Error) {
        if self.json {
            let line = Line::Error {
                kind: err.kind(),
                message: err.to_string(),
                exit_code: err.exit_code(),
            };
            self.print_line(&line.to_json());
        }
    }
}

/// Writes `line` and a newline on stderr. A closed stderr is ignored (never a panic, as
/// `eprintln!` would).
pub(crate) fn eprint_line(line: &str) {
    eprint_raw(&format!("{line}\n"));
}

/// Writes `text` on stderr as it is, ignoring a closed stderr.
fn eprint_raw(text: &str) {
    clear_progress();
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush());
}

/// `line` cut after [`SHOWN_CHARS`] characters, marked ` …`.
pub(crate) fn shown(line: &str) -> Cow<'_, str> {
    match line.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{} …", &line[..cut])),
        None => Cow::Borrowed(line),
    }
}

/// The progress bar on stderr, if one is drawn: one at a time, cleared by anything printed.
static PROGRESS: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Draws on stderr that `what` is awaited, for `elapsed` so far and counting (replacing any
/// progress drawn). Only called on a terminal; indicatif draws nothing elsewhere anyway.
fn show_progress(what: &str, elapsed: Duration) {
    let style = ProgressStyle::with_template("{spinner} waiting for {msg}, {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_style(style)
        .with_message(what.to_owned())
        .with_elapsed(elapsed);
    bar.enable_steady_tick(Duration::from_millis(100));
    if let Ok(mut shown) = PROGRESS.lock()
        && let Some(old) = shown.replace(bar)
    {
        old.finish_and_clear();
    }
}

/// Erases the progress drawn, if any.
pub(crate) fn clear_progress() {
    let bar = PROGRESS.lock().ok().and_then(|mut shown| shown.take());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// Prints a run's events until the run drops its senders: whole lines as JSON; for people, each
/// event's line, the model's text as it streams (once, not again when the whole message
/// follows), and on a terminal what a wait longer than [`SHOW_AFTER`] awaits (`first` before
/// the first event). Returns the last message that was streamed whole, so that the answer is
/// not printed twice.
pub(crate) async fn print_events(
    mut events: UnboundedReceiver<Event>,
    output: Output,
    first: String,
) -> Option<String> {
    let mut printer = Printer {
        output,
        streaming: None,
        streamed: None,
        awaited: Awaited::new(first),
        since: Instant::now(),
        shown: false,
    };
    loop {
        let show = printer.output.progress
            && !printer.shown
            && printer.streaming.is_none()
            && printer.awaited.what().is_some();
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => printer.print(&event),
                None => break,
            },
            () = tokio::time::sleep_until(printer.since + SHOW_AFTER), if show => {
                if let Some(what) = printer.awaited.what() {
                    show_progress(&what, printer.since.elapsed());
                }
                printer.shown = true;
            }
        }
    }
    printer.end_stream();
    clear_progress();
    printer.streamed
}

/// What [`print_events`] keeps between events.
#[derive(Debug)]
struct Printer {
    output: Output,
    /// The agent whose streamed text is being printed, on a line not ended yet.
    streaming: Option<String>,
    /// The last message, if it was streamed (whole: not cut, unlike a message's line).
    streamed: Option<String>,
    awaited: Awaited,
    /// When the last event came (or printing began).
    since: Instant,
    /// Whether progress was drawn since.
    shown: bool,
}

impl Printer {
    fn print(&mut self, event: &Event) {
        self.awaited.after(event);
        self.since = Instant::now();
        self.shown = false;
        if self.output.json {
            self.output.print_line(&Line::Event(event).to_json());
            return;
        }
        match event {
            Event::TextDelta { agent, delta } => {
                if self.streaming.as_ref() != Some(agent) {
                    self.end_stream();
                    self.output.print_raw(&format!("{agent}: "));
                    self.streaming = Some(agent.clone());
                }
                self.output.print_raw(delta);
            }
            Event::TextMessage { agent, content } if self.streaming.as_ref() == Some(agent) => {
                self.end_stream();
                self.streamed = Some(content.clone());
            }
            _ => {
                self.end_stream();
                if matches!(event, Event::TextMessage { .. }) {
                    self.streamed = None;
                }
                self.output.print_line(&shown(&event.to_string()));
            }
        }
    }

    /// Ends the line of a streamed message, if one is being printed.
    fn end_stream(&mut self) {
        if self.streaming.take().is_some() {
            self.output.print_raw("\n");
        }
    }
}

/// What a run awaits, from the events so far: the model of the agent that spoke or got its
/// tools' answers last, or the tools called that have not answered yet.
#[derive(Debug)]
struct Awaited {
    /// Before the first event.
    first: Option<String>,
    /// The agent whose model is asked, when that is the latest thing that happened.
    model: Option<String>,
    /// Tool calls not answered yet: id, tool, the agent that called it. A nested run (a tool
    /// that runs an agent) stacks its calls on top of the outer ones.
    pending: Vec<(String, String, String)>,
    /// Whether the run has ended.
    ended: bool,
}

impl Awaited {
    fn new(first: String) -> Self {
        Awaited { first: Some(first), model: None, pending: Vec::new(), ended: false }
    }

    /// After `event`, what is awaited next.
    fn after(&mut self, event: &Event) {
        self.first = None;
        match event {
            Event::TextDelta { agent, .. } | Event::TextMessage { agent, .. } => {
                self.model = Some(agent.clone());
            }
            Event::ToolCall { agent, id, name, .. } => {
                self.model = None;
                self.pending.push((id.clone(), name.clone(), agent.clone()));
            }
            Event::ToolResponse { id, .. } => {
                if let Some(at) = self.pending.iter().rposition(|(pending, ..)| pending == id) {
                    let (_, _, agent) = self.pending.remove(at);
                    // Once its calls have all answered, the agent asks its model again.
                    if !self.pending.iter().any(|(_, _, caller)| *caller == agent) {
                        self.model = Some(agent);
                    }
                }
            }
            Event::Handoff { .. } => self.model = None,
            Event::Termination { .. } => {
                // A nested run ended: the tool that ran it is awaited; else the run is over.
                self.model = None;
                self.ended = self.pending.is_empty();
            }
            _ => {}
        }
    }

    /// What is awaited, in words; `None` once the run ended.
    fn what(&self) -> Option<String> {
        if let Some(first) = &self.first {
            return Some(first.clone());
        }
        if self.ended {
            return None;
        }
        if let Some(agent) = &self.model {
            return Some(format!("the model ({agent})"));
        }
        let (_, _, agent) = self.pending.last()?;
        let names: Vec<&str> = self
            .pending
            .iter()
            .filter(|(_, _, caller)| caller == agent)
            .map(|(_, name, _)| name.as_str())
            .collect();
        Some(names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    //! The exact JSON of every kind of line.

    use agent_core::StopReason;

    use super::*;

    fn json(line: &Line<'_>) -> String {
        line.to_json()
    }

    #[test]
    fn the_demo_s_own_lines() {
        assert_eq!(
            json(&Line::Llm { text: "LLM: gpt-4o at https://api.openai.com/v1" }),
            r#"{"type":"llm","text":"LLM: gpt-4o at https://api.openai.com/v1"}"#
        );
        assert_eq!(json(&Line::Query { text: "q \"x\"" }), r#"{"type":"query","text":"q \"x\""}"#);
        assert_eq!(json(&Line::Answer { text: "a\nb" }), r#"{"type":"answer","text":"a\nb"}"#);
        let err =
            Error::ConfigFile(mcp_config::MCPConfig::load("/nonexistent/mcp.json").unwrap_err());
        let line =
            Line::Error { kind: err.kind(), message: "m".into(), exit_code: err.exit_code() };
        assert_eq!(json(&line), r#"{"type":"error","kind":"config","message":"m","exit_code":2}"#);
        let err = Error::Run(agent_core::AgentError::LlmTimeout { after: Duration::from_secs(1) });
        let line =
            Line::Error { kind: err.kind(), message: "m".into(), exit_code: err.exit_code() };
        assert_eq!(json(&line), r#"{"type":"error","kind":"llm","message":"m","exit_code":1}"#);
    }

    #[test]
    fn events_in_agent_core_s_format() {
        let cases = [
            (
                Event::TextMessage { agent: "a".into(), content: "hi".into() },
                r#"{"type":"text","agent":"a","content":"hi"}"#,
            ),
            (
                Event::ToolCall {
                    agent: "a".into(),
                    id: "call_1".into(),
                    name: "search_papers".into(),
                    arguments: r#"{"query":"llm"}"#.into(),
                },
                r#"{"type":"tool_call","agent":"a","id":"call_1","name":"search_papers","arguments":"{\"query\":\"llm\"}"}"#,
            ),
            (
                Event::ToolResponse {
                    id: "call_1".into(),
                    name: "search_papers".into(),
                    content: "[]".into(),
                },
                r#"{"type":"tool_response","id":"call_1","name":"search_papers","content":"[]"}"#,
            ),
            (
                Event::Handoff { from: "mcp_agent".into(), to: "research_assistant".into() },
                r#"{"type":"handoff","from":"mcp_agent","to":"research_assistant"}"#,
            ),
            (
                Event::Termination { reason: StopReason::Answered },
                r#"{"type":"termination","reason":{"kind":"answered"}}"#,
            ),
            (
                Event::Termination { reason: StopReason::MaxTurns },
                r#"{"type":"termination","reason":{"kind":"max_turns"}}"#,
            ),
            (
                Event::Termination {
                    reason: StopReason::HandedOff { to: "research_assistant".into() },
                },
                r#"{"type":"termination","reason":{"kind":"handed_off","to":"research_assistant"}}"#,
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(json(&Line::Event(&event)), expected);
        }
    }

    #[test]
    fn a_wait_names_the_model_or_the_tools_it_awaits() {
        let call = |agent: &str, id: &str, name: &str| Event::ToolCall {
            agent: agent.into(),
            id: id.into(),
            name: name.into(),
            arguments: "{}".into(),
        };
        let response =
            |id: &str| Event::ToolResponse { id: id.into(), name: "x".into(), content: "x".into() };
        let mut awaited = Awaited::new("research_assistant".into());
        let mut steps = Vec::new();
        for event in [
            call("research_assistant", "1", "run_mcp_agent_to_client"),
            call("mcp_agent", "2", "search_papers"),
            call("mcp_agent", "3", "get_abstract"),
            response("2"),
            response("3"),
            call("mcp_agent", "4", "transfer_to_research_assistant"),
            response("4"),
            Event::Handoff { from: "mcp_agent".into(), to: "research_assistant".into() },
            Event::Termination {
                reason: StopReason::HandedOff { to: "research_assistant".into() },
            },
            response("1"),
            Event::TextDelta { agent: "research_assistant".into(), delta: "Fo".into() },
            Event::TextMessage { agent: "research_assistant".into(), content: "Found".into() },
            Event::Termination { reason: StopReason::Answered },
        ] {
            steps.push(awaited.what());
            awaited.after(&event);
        }
        steps.push(awaited.what());
        let steps: Vec<&str> = steps.iter().map(|step| step.as_deref().unwrap_or("-")).collect();
        assert_eq!(
            steps,
            [
                "research_assistant",
                "run_mcp_agent_to_client",
                "search_papers",
                "search_papers, get_abstract",
                "get_abstract",
                "the model (mcp_agent)",
                "transfer_to_research_assistant",
                "the model (mcp_agent)",
                "run_mcp_agent_to_client",
                "run_mcp_agent_to_client",
                "the model (research_assistant)",
                "the model (research_assistant)",
                "the model (research_assistant)",
                "-",
            ]
        );
    }

    #[test]
    fn people_see_300_characters_of_an_event() {
        let long = "é".repeat(SHOWN_CHARS + 5);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), SHOWN_CHARS + 2);
        assert!(cut.ends_with("é …"));
        let exact = "x".repeat(SHOWN_CHARS);
        assert_eq!(shown(&exact), exact.as_str());
    }
}
