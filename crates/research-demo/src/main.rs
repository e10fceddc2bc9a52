//! `research-demo`: the research assistant of the seed notebook, and its MCP servers.
//!
//! - `research-demo [ask] [QUERY]` runs the research assistant (`ask.rs`): a tool that opens an
//!   MCP session inside the call, to arXiv over stdio (this binary's `serve arxiv`) or to
//!   Wikipedia over legacy SSE (served in-process), or to the servers of `--config FILE`. No
//!   QUERY: the seed's two. What it prints, for people or as `--json` lines: `output.rs`.
//! - `research-demo serve arxiv` serves the arXiv MCP server over stdio; `serve wikipedia` the
//!   Wikipedia MCP server over legacy SSE (`/sse`) and streamable HTTP (`/mcp`) (`serve.rs`).
//!
//! Both servers answer from recorded fixtures served on loopback unless given `--live` (the real
//! APIs) or `--api-base` (another one). The command line is `cli.rs`; why a command stops, and
//! the exit status that gives, is `error.rs`.

mod ask;
mod cli;
mod error;
mod output;
mod serve;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command, Serve};
use crate::error::Error;
use crate::output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let command = cli.into_command();
    let output = Output::new(matches!(&command, Command::Ask(args) if args.json));
    let result = runtime().and_then(|runtime| {
        runtime.block_on(async {
            match command {
                Command::Ask(args) => ask::ask(args, output).await,
                Command::Serve(Serve::Arxiv(args)) => serve::arxiv(args).await,
                Command::Serve(Serve::Wikipedia(args)) => serve::wikipedia(args).await,
            }
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("research-demo: {err}");
            output.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Logs to stderr: errors only, more with each `-v`.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::ERROR,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
