//! `research-demo`: the research assistant of the seed notebook, and its MCP servers.
//!
//! - `research-demo [ask] [QUERY]` runs the research assistant (`ask.rs`): a tool that opens an
//!   MCP session inside the call, to arXiv over stdio (this binary's `serve arxiv`) or to
//!   Wikipedia over legacy SSE (served in-process), or to the servers the flags choose. No
//!   QUERY: the seed's two. With `--keep-alive`, the tool's calls share a session pool instead.
//!   What it prints, for people or as `--json` lines: `output.rs`.
//! - `research-demo chat` is a conversation with the assistant (`chat.rs`): one run per message,
//!   each starting from the conversation so far, over a session pool kept for the whole chat.
//!   On a terminal, the prompt has line editing and history (rustyline); Ctrl-C cancels the
//!   turn under way, and at the prompt leaves. `/servers`, `/tools`, `/help`, `/exit`.
//! - On a terminal the model's text streams as it comes, and a wait longer than a second shows
//!   what it awaits (indicatif, on stderr); `--json` adds `text_delta` lines (`output.rs`).
//! - `research-demo route QUERY` ranks the servers' tools for a request with agent-core's
//!   `Router`, no model involved (`route.rs`).
//! - `research-demo servers` starts every server and shows its transport, health, protocol
//!   version, tool count and ping time (`servers.rs`); `tools [SERVER…]` lists their tools
//!   (`tools.rs`); `call SERVER TOOL [JSON_OBJECT] [--arg KEY=VALUE]…` calls one and prints its
//!   result (`call.rs`). All three go through a session pool, closed before they end.
//! - Every command that talks to servers chooses them with the same flags (`sources.rs`): the
//!   seed's two by default, `--config FILE` or `--discover` instead, `--server NAME` to keep
//!   some, ad-hoc `--stdio "CMD ARGS"` and `--url URL`, `--wikipedia-url URL` for a Wikipedia
//!   server already running.
//! - `research-demo login SERVER [--headless]` runs the OAuth authorization of a server whose
//!   config says `"auth": {"type": "oauth"}` and stores its tokens; `logout SERVER` forgets them
//!   (`login.rs`). The commands that open sessions may reach a person for a login (a browser)
//!   only when stdin and stderr are terminals; elsewhere a missing login fails the command and
//!   names `research-demo login SERVER`.
//! - `research-demo serve arxiv` serves the arXiv MCP server over stdio; `serve wikipedia` the
//!   Wikipedia MCP server over legacy SSE (`/sse`) and streamable HTTP (`/mcp`) (`serve.rs`).
//! - `research-demo completions bash|zsh|fish` prints shell completions (clap_complete).
//!
//! Logs go to stderr: errors only, more with `-v`; `RUST_LOG` (an env-filter) wins when set.
//! rmcp's OAuth module (target `rmcp::transport::auth`), which logs the authorization code at
//! debug, is held at `info` at most unless `RUST_LOG` names that target itself.
//!
//! Both servers answer from recorded fixtures served on loopback unless given `--live` (the real
//! APIs) or `--api-base` (another one). The command line is `cli.rs`; why a command stops, and
//! the exit status that gives, is `error.rs`; SIGINT and SIGTERM (exit 130 and 143, after every
//! session and server is closed) are `signal.rs`.

mod ask;
mod call;
mod chat;
mod cli;
mod error;
mod login;
mod output;
mod route;
mod serve;
mod servers;
mod signal;
mod sources;
mod terminal;
mod tools;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::{Cli, Command, CompletionsArgs, Serve};
use crate::error::Error;
use crate::output::{Output, eprint_line};
use crate::signal::Signals;

/// How long the runtime's leftover tasks and blocking threads get once the command is done.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let output = Output::new(cli.json());
    let result = cli.into_command().and_then(|command| {
        if let Command::Completions(args) = &command {
            return completions(args);
        }
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            // First, so that SIGINT and SIGTERM never end the process before it has closed
            // what it opened.
            let signals = Signals::install()?;
            if matches!(command, Command::Ask(_) | Command::Chat(_)) {
                terminal::take_over();
            }
            match command {
                Command::Ask(args) => ask::ask(args, &output, signals).await,
                Command::Chat(args) => chat::chat(args, &output, signals).await,
                Command::Route(args) => route::route(args, &output, signals).await,
                Command::Servers(args) => servers::servers(args, &output, signals).await,
                Command::Tools(args) => tools::tools(args, &output, signals).await,
                Command::Call(args) => call::call(args, &output, signals).await,
                Command::Login(args) => login::login(args, &output, signals).await,
                Command::Logout(args) => login::logout(args, &output).await,
                Command::Serve(Serve::Arxiv(args)) => serve::arxiv(args, signals).await,
                Command::Serve(Serve::Wikipedia(args)) => serve::wikipedia(args, signals).await,
                Command::Completions(args) => completions(&args),
            }
        });
        // Everything the command opened is closed by now. Do not wait for a blocking read of
        // stdin (`serve arxiv` stopped by a signal, the chat's prompt) that would never end.
        runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
        terminal::restore();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprint_line(&format!("research-demo: {err}"));
            output.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Logs to stderr: errors only, more with each `-v`; or, when `RUST_LOG` is set (and not
/// blank), what it says, as tracing-subscriber's env-filter reads it (an invalid one is said on
/// stderr, and `-v`'s level used instead). rmcp's own events (such as a transport worker that
/// quit, with the HTTP library's error) are left out unless asked for (`-v`, or `RUST_LOG`
/// naming `rmcp`): they say again, in library terms, what the command's own message says.
/// rmcp's OAuth module ([`RMCP_AUTH`]) logs the authorization code and token fields at debug:
/// it is held at `info` at most, unless `RUST_LOG` names that target itself.
fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::FilterExt as _;
    use tracing_subscriber::prelude::*;

    let spec = std::env::var("RUST_LOG").ok().filter(|spec| !spec.trim().is_empty());
    let auth_named = spec.as_deref().is_some_and(names_rmcp_auth);
    let filter = match spec {
        Some(spec) => match env_filter(&spec) {
            Ok(filter) => filter,
            Err(err) => {
                eprint_line(&format!(
                    "research-demo: RUST_LOG={spec:?} is not a log filter ({err}); logging as -v says instead"
                ));
                verbosity_filter(verbose)
            }
        },
        None => verbosity_filter(verbose),
    };
    let cap = tracing_subscriber::filter::filter_fn(move |meta| {
        auth_named || !held_back(meta.target(), *meta.level())
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter.and(cap));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The target of rmcp's OAuth module, which logs secrets at debug.
const RMCP_AUTH: &str = "rmcp::transport::auth";

/// Whether a `RUST_LOG` spec has a directive for [`RMCP_AUTH`] (or a module of it) itself.
fn names_rmcp_auth(spec: &str) -> bool {
    spec.split(',').any(|directive| directive.trim().starts_with(RMCP_AUTH))
}

/// Whether an event of `target` at `level` is left out whatever the filter says: one of
/// [`RMCP_AUTH`] more verbose than `info`.
fn held_back(target: &str, level: tracing::Level) -> bool {
    target.starts_with(RMCP_AUTH) && level > tracing::Level::INFO
}

/// The filter `RUST_LOG=spec` asks for, with rmcp's events off unless it names `rmcp`.
fn env_filter(
    spec: &str,
) -> Result<tracing_subscriber::EnvFilter, tracing_subscriber::filter::ParseError> {
    let names_rmcp = spec.split(',').any(|directive| directive.trim().starts_with("rmcp"));
    let spec = if names_rmcp { spec.to_owned() } else { format!("{spec},rmcp=off") };
    tracing_subscriber::EnvFilter::builder().parse(spec)
}

/// `-v`'s filter: errors only, info, debug, trace; rmcp's events only from `-v` on.
fn verbosity_filter(verbose: u8) -> tracing_subscriber::EnvFilter {
    let level = match verbose {
        0 => "error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let rmcp = if verbose == 0 { "off" } else { level };
    tracing_subscriber::EnvFilter::builder()
        .parse(format!("{level},rmcp={rmcp}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"))
}

/// `research-demo completions SHELL`: the completion script, written whole to stdout (a closed
/// stdout ends it quietly).
fn completions(args: &CompletionsArgs) -> Result<(), Error> {
    use std::io::Write as _;

    let mut script = Vec::new();
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "research-demo", &mut script);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(err)),
        _ => Ok(()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn rmcp_auth_is_held_at_info_unless_named() {
        assert!(held_back("rmcp::transport::auth", Level::DEBUG));
        assert!(held_back("rmcp::transport::auth::x", Level::TRACE));
        assert!(!held_back("rmcp::transport::auth", Level::INFO));
        assert!(!held_back("rmcp::transport::auth", Level::WARN));
        assert!(!held_back("rmcp::transport::streamable_http_client", Level::DEBUG));
        assert!(!held_back("mcp_session", Level::TRACE));
        assert!(names_rmcp_auth("debug, rmcp::transport::auth=debug"));
        assert!(!names_rmcp_auth("debug,rmcp=trace"));
    }
}
