//! `research-demo`: the research assistant of the seed notebook, and its MCP servers.
//!
//! - `research-demo [ask] [QUERY]` runs the research assistant (`ask.rs`): a tool that opens an
//!   MCP session inside the call, to arXiv over stdio (this binary's `serve arxiv`) or to
//!   Wikipedia over legacy SSE (served in-process), or to the servers the flags choose. No
//!   QUERY: the seed's two. With `--keep-alive`, the tool's calls share a session pool instead.
//!   What it prints, for people or as `--json` lines: `output.rs`.
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
//! - `research-demo serve arxiv` serves the arXiv MCP server over stdio; `serve wikipedia` the
//!   Wikipedia MCP server over legacy SSE (`/sse`) and streamable HTTP (`/mcp`) (`serve.rs`).
//!
//! Both servers answer from recorded fixtures served on loopback unless given `--live` (the real
//! APIs) or `--api-base` (another one). The command line is `cli.rs`; why a command stops, and
//! the exit status that gives, is `error.rs`; SIGINT and SIGTERM (exit 130 and 143, after every
//! session and server is closed) are `signal.rs`.

mod ask;
mod call;
mod cli;
mod error;
mod output;
mod route;
mod serve;
mod servers;
mod signal;
mod sources;
mod tools;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::{Cli, Command, Serve};
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
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            // First, so that SIGINT and SIGTERM never end the process before it has closed
            // what it opened.
            let signals = Signals::install()?;
            match command {
                Command::Ask(args) => ask::ask(args, &output, signals).await,
                Command::Route(args) => route::route(args, &output, signals).await,
                Command::Servers(args) => servers::servers(args, &output, signals).await,
                Command::Tools(args) => tools::tools(args, &output, signals).await,
                Command::Call(args) => call::call(args, &output, signals).await,
                Command::Serve(Serve::Arxiv(args)) => serve::arxiv(args, signals).await,
                Command::Serve(Serve::Wikipedia(args)) => serve::wikipedia(args, signals).await,
            }
        });
        // Everything the command opened is closed by now. Do not wait for a blocking read of
        // stdin (`serve arxiv` stopped by a signal) that would never end.
        runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
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

/// Logs to stderr: errors only, more with each `-v`. rmcp's own error events (such as a
/// transport worker that quit, with the HTTP library's error) are left out by default: they
/// say again, in library terms, what the command's own message says; `-v` shows them.
fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let level = match verbose {
        0 => LevelFilter::ERROR,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let rmcp = if verbose == 0 { LevelFilter::OFF } else { level };
    let filter = Targets::new().with_default(level).with_target("rmcp", rmcp);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
