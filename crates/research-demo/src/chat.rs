//! `research-demo chat [LLM flags] [--max-turns N] [--json] [server flags]`: a conversation with
//! the research assistant.
//!
//! The chat is a sequence of runs, one per message ([`Chat::say`]): each starts from the
//! conversation so far, so the model sees every earlier message, call and answer, and a turn
//! cancelled by Ctrl-C (its run dropped, with the LLM request and the tool calls in flight) leaves
//! the conversation as it was. The assistant is a [`keep_alive`](ResearchAssistant::keep_alive)
//! one: its sessions stay open in the pool from one message to the next, and only leaving closes
//! them.
//!
//! The person at the prompt is a [`HumanInput`] ([`Person`]): on a terminal (stdin and stdout
//! both), a line editor with history (rustyline, on a blocking thread); otherwise lines read from
//! stdin, with no prompt. A line is a reply as [`HumanReply::from_line`] reads it: blank lines are
//! skipped, `exit` leaves, and a line starting with `/` is one of the chat's commands (`/servers`,
//! `/tools [SERVER…]`, `/help`, `/exit`), run by [`Conversation::command`].
//!
//! Ways out: the end of stdin (Ctrl-D), `/exit` or `exit` (exit 0); SIGINT at the prompt, which
//! Ctrl-C at a terminal's prompt raises too (130); SIGTERM at any time (143); a closed stdout (a
//! quiet 0). SIGINT during a turn or a command cancels it, and the chat goes on. Every way out
//! closes the pool and the servers started here (and `main` restores the terminal's settings,
//! which the line editor may have left in raw mode when a signal ended the chat: `terminal.rs`).

use std::collections::HashSet;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_core::{AgentError, HumanInput, HumanMoment, HumanPrompt, HumanReply};
use futures::future::BoxFuture;
use mcp_session::SessionPool;
use research_demo::assistant::{ASSISTANT, Chat, ResearchAssistant};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::cli::{ChatArgs, edit_distance};
use crate::error::Error;
use crate::output::{Output, eprint_line, print_events};
use crate::signal::{Interrupt, Signals};

/// The prompt on a terminal.
const PROMPT: &str = "> ";

/// The chat's commands, for `/help` and near misses.
const COMMANDS: [&str; 4] = ["servers", "tools", "help", "exit"];

/// What `/help` prints.
const HELP: &str = "\
/servers          start every server, and show its transport, state, protocol version, tools
                  and ping time
/tools [SERVER…]  the tools of every server, or of the SERVERs named
/help             this help
/exit             leave (so do `exit`, Ctrl-D, and Ctrl-C at the prompt)
Anything else is a message to research_assistant. Ctrl-C cancels its answer under way; the
servers' sessions stay open.";

/// How long the events still queued of a finished or cancelled turn may take to print.
const PRINTER_GRACE: Duration = Duration::from_secs(5);

/// Talks with the assistant until the person leaves, then closes every session and the servers
/// started here (see the module's docs for the ways out and their exit statuses).
pub(crate) async fn chat(
    args: ChatArgs,
    output: &Output,
    mut signals: Signals,
) -> Result<(), Error> {
    let (llm, llm_line) = crate::ask::llm_config(&args.llm)?;
    let person = Person::new(&args);
    // A signal that comes while the servers start is kept for the prompt's select.
    let servers = crate::sources::resolve(&args.servers).await?;
    let config = servers.config.clone();
    output.start(&llm_line, &config.names().collect::<Vec<_>>());
    if person.editing() && !output.json() {
        output.line(
            "Chat with research_assistant: /help lists the commands, Ctrl-C cancels an answer, \
             Ctrl-D leaves.",
        );
    }
    let assistant = ResearchAssistant::keep_alive(config, llm)
        .with_manager(crate::login::manager())
        .stream(output.streams());
    let Some(pool) = assistant.pool().cloned() else {
        unreachable!("a keep-alive assistant has a pool")
    };
    let mut conversation = Conversation {
        chat: assistant.chat(),
        pool,
        person,
        output: output.clone(),
        max_turns: usize::from(args.max_turns),
        left_out: HashSet::new(),
    };
    let left = conversation.converse(&mut signals).await;
    match &left {
        Left::Signal(signal) => {
            signals.stopping(*signal);
        }
        Left::Done | Left::Failed(_) => signals.exit_on_next(),
    }
    // Nothing runs any more: close the pool's sessions, then what the manager still has.
    assistant.close().await;
    servers.stop().await;
    match left {
        Left::Done => Ok(()),
        Left::Signal(signal) => Err(Error::Interrupted { signal }),
        Left::Failed(err) => Err(err),
    }
}

/// Why the chat ended.
#[derive(Debug)]
enum Left {
    /// The person left (`/exit`, `exit`, the end of stdin), or stdout was closed.
    Done,
    /// A signal: SIGINT at the prompt (Ctrl-C there), SIGTERM at any time.
    Signal(Interrupt),
    /// The person could not be asked any more (stdin failed).
    Failed(Error),
}

/// The chat under way.
#[derive(Debug)]
struct Conversation {
    chat: Chat,
    /// The assistant's pool, which `/servers` and `/tools` use too.
    pool: SessionPool,
    person: Person,
    output: Output,
    max_turns: usize,
    /// The servers already said to be left out (once each).
    left_out: HashSet<String>,
}

impl Conversation {
    /// Asks the person, and answers, until they leave.
    async fn converse(&mut self, signals: &mut Signals) -> Left {
        let prompt = HumanPrompt::new(ASSISTANT, HumanMoment::BeforeReply);
        loop {
            let reply = tokio::select! {
                reply = self.person.ask(&prompt) => reply,
                signal = signals.next() => {
                    // SIGTERM comes in the middle of the prompt's line (Ctrl-C ends it).
                    if self.person.editing() && signal == Interrupt::Sigterm {
                        eprint_line("");
                    }
                    return Left::Signal(signal);
                }
                () = self.output.closed() => return Left::Done,
            };
            let text = match reply {
                Ok(HumanReply::Text(text)) => text,
                Ok(HumanReply::Exit) => return Left::Done,
                // A blank line, or a reply this chat does not know.
                Ok(_) => continue,
                Err(AgentError::HumanInput { message }) => {
                    return Left::Failed(Error::Prompt { reason: message });
                }
                Err(err) => return Left::Failed(Error::Prompt { reason: err.to_string() }),
            };
            let left = match text.strip_prefix('/') {
                Some(command) => self.command(command, signals).await,
                None => self.turn(&text, signals).await,
            };
            if let Some(left) = left {
                return left;
            }
        }
    }

    /// One message to the assistant and its answer, printed as it comes. A SIGINT cancels it;
    /// a failure is said, and the chat goes on.
    async fn turn(&mut self, text: &str, signals: &mut Signals) -> Option<Left> {
        // With line editing, the message is on the screen already.
        if self.output.json() || !self.person.editing() {
            self.output.query(text);
        }
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let printer =
            tokio::spawn(print_events(receiver, self.output.clone(), ASSISTANT.to_owned()));
        let outcome = tokio::select! {
            answer = self.chat.say(text, self.max_turns, Some(sender)) => Ok(answer),
            signal = signals.next() => Err(Some(signal)),
            () = self.output.closed() => Err(None),
        };
        // The run is over or dropped, and its senders with it: the printer prints what is left.
        let streamed = finish(printer).await;
        match outcome {
            Ok(Ok(answer)) => {
                for (server, err) in &answer.unavailable {
                    if self.left_out.insert(server.clone()) {
                        eprint_line(&format!(
                            "research-demo: left out {server}, whose tools could not be listed: {err}"
                        ));
                    }
                }
                crate::ask::print_answer(&answer, streamed.as_deref(), &self.output);
                if !answer.failures.is_empty() {
                    self.output.failed(&Error::DuringRun { failures: answer.failures });
                }
            }
            Ok(Err(err)) => self.output.failed(&Error::Run(err)),
            Err(Some(Interrupt::Sigint)) => self.cancelled("the answer"),
            Err(Some(signal)) => return Some(Left::Signal(signal)),
            Err(None) => return Some(Left::Done),
        }
        if self.person.editing() && !self.output.json() {
            self.output.line("");
        }
        None
    }

    /// A chat command (`line` without its `/`). A SIGINT cancels it; a failure is said, and
    /// the chat goes on.
    async fn command(&self, line: &str, signals: &mut Signals) -> Option<Left> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let names: Vec<String> = words.map(str::to_owned).collect();
        if name == "exit" && names.is_empty() {
            return Some(Left::Done);
        }
        let json = self.output.json();
        // Off a terminal, people read what was asked in the output.
        if !json && !self.person.editing() {
            self.output.line(&format!("\n/{line}"));
        }
        let run = async {
            match name {
                "servers" if names.is_empty() => {
                    let check =
                        crate::servers::check(&self.pool, json, Some("server"), &self.output);
                    self.output.waiting("the servers", check).await
                }
                "tools" => {
                    let list =
                        crate::tools::list(&self.pool, &names, json, Some("tool"), &self.output);
                    self.output.waiting("the servers' tools", list).await
                }
                "help" if names.is_empty() => {
                    if json {
                        eprint_line(HELP);
                    } else {
                        self.output.line(HELP);
                    }
                    Ok(())
                }
                _ => Err(unknown(name, &names)),
            }
        };
        let outcome = tokio::select! {
            outcome = run => Ok(outcome),
            signal = signals.next() => Err(Some(signal)),
            () = self.output.closed() => Err(None),
        };
        match outcome {
            Ok(Ok(())) => None,
            Ok(Err(err)) => {
                self.output.failed(&err);
                None
            }
            Err(Some(Interrupt::Sigint)) => {
                self.cancelled(&format!("/{name}"));
                None
            }
            Err(Some(signal)) => Some(Left::Signal(signal)),
            Err(None) => Some(Left::Done),
        }
    }

    /// Says that Ctrl-C cancelled `what`, and that the chat goes on.
    fn cancelled(&self, what: &str) {
        eprint_line(&format!(
            "research-demo: SIGINT: cancelled {what}; the chat goes on (Ctrl-C at the prompt, or \
             Ctrl-D, leaves)"
        ));
        self.output.cancelled();
    }
}

/// The error for a chat command that is not one (or is given arguments it takes none of).
fn unknown(name: &str, arguments: &[String]) -> Error {
    if COMMANDS.contains(&name) {
        return Error::ChatArguments { given: format!("{name} {}", arguments.join(" ")) };
    }
    let limit = (name.chars().count() / 3).max(1);
    let suggestion = COMMANDS
        .iter()
        .map(|command| (edit_distance(&name.to_lowercase(), command), *command))
        .min_by_key(|&(distance, _)| distance)
        .filter(|&(distance, _)| distance <= limit)
        .map(|(_, command)| command);
    Error::UnknownChatCommand { given: name.to_owned(), suggestion }
}

/// Waits for a turn's printer to print the events left, at most [`PRINTER_GRACE`] (the run's
/// senders are gone by then, so it ends at once); returns the message it streamed last.
async fn finish(printer: tokio::task::JoinHandle<Option<String>>) -> Option<String> {
    let abort = printer.abort_handle();
    match tokio::time::timeout(PRINTER_GRACE, printer).await {
        Ok(streamed) => streamed.ok().flatten(),
        Err(_) => {
            abort.abort();
            crate::output::clear_progress();
            None
        }
    }
}

/// The person at the prompt: the chat's [`HumanInput`]. Each line is a reply as
/// [`HumanReply::from_line`] reads it (a `/command` is a `Text` the chat runs itself); the end
/// of stdin is `Exit`. Ctrl-C at a terminal's prompt raises SIGINT, as it would outside the line
/// editor, and the ask never returns: the chat's signal handling takes over.
#[derive(Debug)]
struct Person {
    lines: Lines,
}

/// Where the person's lines come from.
#[derive(Debug)]
enum Lines {
    /// A terminal: a line editor, and the file its history is kept in, if any.
    Editor { editor: Arc<Mutex<DefaultEditor>>, history: Option<Arc<History>> },
    /// stdin as it is.
    Plain,
}

/// The history file, and whether a failure to write it was said already.
#[derive(Debug)]
struct History {
    path: PathBuf,
    warned: AtomicBool,
}

/// One line read.
enum Read {
    Line(String),
    /// The end of stdin, or Ctrl-D at the prompt.
    End,
    /// Ctrl-C at the prompt.
    Interrupted,
}

impl Person {
    /// A line editor when stdin and stdout are both terminals, else plain lines.
    fn new(args: &ChatArgs) -> Self {
        if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
            return Person { lines: Lines::Plain };
        }
        let config = rustyline::Config::builder()
            .auto_add_history(true)
            .history_ignore_space(true)
            .max_history_size(1000)
            .and_then(|builder| builder.history_ignore_dups(true))
            .map(rustyline::config::Builder::build);
        let editor = config.and_then(DefaultEditor::with_config);
        let mut editor = match editor {
            Ok(editor) => editor,
            Err(err) => {
                eprint_line(&format!(
                    "research-demo: no line editing on this terminal ({err}); reading plain lines"
                ));
                return Person { lines: Lines::Plain };
            }
        };
        let history = history_file(args).and_then(|path| load_history(&mut editor, path));
        Person { lines: Lines::Editor { editor: Arc::new(Mutex::new(editor)), history } }
    }

    /// Whether lines are edited at a prompt (on a terminal).
    fn editing(&self) -> bool {
        matches!(self.lines, Lines::Editor { .. })
    }

    /// Reads one line, on a blocking thread.
    async fn read(&self) -> Result<Read, AgentError> {
        let read = match &self.lines {
            Lines::Editor { editor, history } => {
                let (editor, history) = (editor.clone(), history.clone());
                tokio::task::spawn_blocking(move || edit_line(&editor, history.as_deref())).await
            }
            Lines::Plain => tokio::task::spawn_blocking(plain_line).await,
        };
        read.map_err(|err| AgentError::HumanInput {
            message: format!("the prompt stopped: {err}"),
        })?
    }
}

impl HumanInput for Person {
    fn ask<'a>(
        &'a self,
        _prompt: &'a HumanPrompt,
    ) -> BoxFuture<'a, Result<HumanReply, AgentError>> {
        Box::pin(async move {
            match self.read().await? {
                Read::Line(line) => Ok(HumanReply::from_line(&line)),
                Read::End => Ok(HumanReply::Exit),
                Read::Interrupted => {
                    // What Ctrl-C does outside the line editor: the chat's signal handling
                    // leaves. This ask never answers.
                    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT);
                    std::future::pending().await
                }
            }
        })
    }
}

/// One line from the line editor, added to the history file (a failure to write it is said
/// once).
fn edit_line(editor: &Mutex<DefaultEditor>, history: Option<&History>) -> Result<Read, AgentError> {
    let mut editor = editor.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match editor.readline(PROMPT) {
        Ok(line) => {
            if let Some(history) = history
                && let Err(err) = editor.append_history(&history.path)
                && !history.warned.swap(true, Ordering::Relaxed)
            {
                eprint_line(&format!(
                    "research-demo: cannot keep the chat history in {}: {err}",
                    history.path.display()
                ));
            }
            Ok(Read::Line(line))
        }
        Err(ReadlineError::Eof) => Ok(Read::End),
        Err(ReadlineError::Interrupted) => Ok(Read::Interrupted),
        Err(err) => {
            Err(AgentError::HumanInput { message: format!("cannot read the terminal: {err}") })
        }
    }
}

/// One line of stdin, without its line ending.
fn plain_line() -> Result<Read, AgentError> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => Ok(Read::End),
        Ok(_) => {
            let end = line.trim_end_matches(['\n', '\r']).len();
            line.truncate(end);
            Ok(Read::Line(line))
        }
        Err(err) => Err(AgentError::HumanInput { message: format!("cannot read stdin: {err}") }),
    }
}

/// The history file: `--history`, none with `--no-history`, else `research-demo/chat_history`
/// under `XDG_STATE_HOME` (or `~/.local/state`).
fn history_file(args: &ChatArgs) -> Option<PathBuf> {
    if args.no_history {
        return None;
    }
    if let Some(path) = &args.history {
        return Some(path.clone());
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
        })?;
    Some(state.join("research-demo").join("chat_history"))
}

/// Loads the history kept in `path` (none yet is fine), creating its folder; a failure is said,
/// and the chat keeps no history file.
fn load_history(editor: &mut DefaultEditor, path: PathBuf) -> Option<Arc<History>> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && let Err(err) = std::fs::create_dir_all(dir)
    {
        eprint_line(&format!(
            "research-demo: cannot keep the chat history in {}: {err}",
            path.display()
        ));
        return None;
    }
    match editor.load_history(&path) {
        Ok(()) => {}
        Err(ReadlineError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            eprint_line(&format!(
                "research-demo: cannot read the chat history in {}: {err}; keeping none",
                path.display()
            ));
            return None;
        }
    }
    Some(Arc::new(History { path, warned: AtomicBool::new(false) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_commands_suggest_the_nearest() {
        let message = |name: &str, arguments: &[&str]| {
            let arguments: Vec<String> = arguments.iter().map(|a| (*a).to_owned()).collect();
            unknown(name, &arguments).to_string()
        };
        assert_eq!(
            message("server", &[]),
            "unknown chat command /server (did you mean /servers?); /help lists the commands"
        );
        assert_eq!(message("quit", &[]), "unknown chat command /quit; /help lists the commands");
        assert_eq!(
            message("help", &["me"]),
            "/help me: the command takes no arguments; /help lists the commands"
        );
    }
}
