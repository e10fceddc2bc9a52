//! What `research-demo ask` prints: for people (events cut at [`SHOWN_CHARS`], a spinner on a
//! terminal), or with `--json` one JSON object per line, each a [`Line`].
//!
//! The `--json` format (documented in docs/demo.md, pinned by the tests below): every line is an
//! object whose `type` says what it is. New kinds of lines, and new fields, may be added; the
//! lines and fields here do not change.
//!
//! | `type` | fields | when |
//! |---|---|---|
//! | `llm` | `text` | first: which LLM thinks |
//! | `query` | `text` | a question is asked |
//! | `text`, `tool_call`, `tool_response`, `handoff`, `termination` | agent-core's [`Event`] | something happened during the run |
//! | `answer` | `text` | the run answered the last `query` |
//! | `error` | `kind`, `message`, `exit_code` | last: the command failed (stderr says it too) |
//!
//! A closed stdout (`| head -1`) is a quiet end: [`Output::closed`] tells the command to stop,
//! and nothing more is written. Writing to stderr never fails either ([`eprint_line`]).

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use agent_core::Event;
use serde::Serialize;

use crate::error::{Error, Kind};

/// How many characters of an event's line a person is shown (`--json` holds all of it).
pub(crate) const SHOWN_CHARS: usize = 300;

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
    /// The command failed; always the last line.
    Error {
        /// What failed.
        kind: Kind,
        /// The reason, as stderr says it.
        message: String,
        /// The exit status the process ends with.
        exit_code: u8,
    },
    /// Something that happened during a run, in agent-core's own format (`text`, `tool_call`,
    /// `tool_response`, `handoff`, `termination`).
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
    /// Whether a write found stdout closed (a broken pipe).
    closed: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Output {
    /// JSON lines when `json`, else text for people.
    pub(crate) fn new(json: bool) -> Self {
        Output { json, closed: Arc::new(tokio::sync::watch::Sender::new(false)) }
    }

    /// Whether it prints JSON lines.
    pub(crate) fn json(&self) -> bool {
        self.json
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
        if *self.closed.borrow() {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let written = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
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

    /// An event of the run: whole as JSON, cut at [`SHOWN_CHARS`] for people.
    pub(crate) fn event(&self, event: &Event) {
        if self.json {
            self.print_line(&Line::Event(event).to_json());
        } else {
            self.print_line(&shown(&event.to_string()));
        }
    }

    /// One tool of `route`'s ranking: a JSON object with `--json`, else a line and its reasons.
    pub(crate) fn hit(&self, rank: usize, hit: &agent_core::Hit) {
        let why: Vec<String> = hit.why.iter().map(ToString::to_string).collect();
        if self.json {
            let line = serde_json::json!({
                "server": hit.server,
                "tool": hit.tool,
                "score": (hit.score * 1000.0).round() / 1000.0,
                "why": why,
            });
            self.print_line(&line.to_string());
        } else {
            self.print_line(&shown(&format!(
                "{rank}. {} {} (score {:.2}): {}",
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

/// A spinner on stderr while the conversation waits (on a terminal only).
#[derive(Debug)]
pub(crate) struct Spinner {
    enabled: bool,
    shown: bool,
    frame: usize,
    ticker: tokio::time::Interval,
}

impl Spinner {
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

    /// A spinner that draws only when `enabled`.
    pub(crate) fn new(enabled: bool) -> Self {
        let mut ticker = tokio::time::interval(Duration::from_millis(150));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Spinner { enabled, shown: false, frame: 0, ticker }
    }

    /// Waits for the next frame and draws it; never returns when disabled.
    pub(crate) async fn tick(&mut self) {
        if !self.enabled {
            return std::future::pending().await;
        }
        self.ticker.tick().await;
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        eprint_raw(&format!("\r{} waiting…", Self::FRAMES[self.frame]));
        self.shown = true;
    }

    /// Erases the spinner, if drawn.
    pub(crate) fn clear(&mut self) {
        if self.shown {
            eprint_raw("\r\x1b[K");
            self.shown = false;
        }
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
    fn people_see_300_characters_of_an_event() {
        let long = "é".repeat(SHOWN_CHARS + 5);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), SHOWN_CHARS + 2);
        assert!(cut.ends_with("é …"));
        let exact = "x".repeat(SHOWN_CHARS);
        assert_eq!(shown(&exact), exact.as_str());
    }
}
