//! `research-demo`: the research assistant of the seed notebook, and its MCP servers.
//!
//! - `research-demo serve arxiv` serves the arXiv MCP server over stdio. By default it answers
//!   from recorded fixtures served on loopback; `--live` asks the real arXiv, `--api-base` a mirror.
//! - `research-demo [ask] [QUERY]` will run the assistant (arXiv over stdio, Wikipedia over legacy
//!   SSE, a tool that opens an MCP session inside the call). Until the assistant is built it shows
//!   the server configuration it will use, built with `mcp-config` exactly as the seed writes it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mcp_config::{ConfigError, MCPConfig, SseConfig, StdioConfig};
use research_demo::arxiv::api::ArxivApi;
use research_demo::arxiv::server::ArxivServer;
use research_demo::fixtures::FixtureServer;
use rmcp::ServiceExt;

/// The research assistant of the seed notebook, and its MCP servers.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The question for the assistant (as `research-demo ask QUERY`).
    query: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask the research assistant a question.
    Ask {
        /// The question.
        query: Vec<String>,
    },
    /// Serve one of the demo's MCP servers.
    #[command(subcommand)]
    Serve(Serve),
}

#[derive(Debug, Subcommand)]
enum Serve {
    /// The arXiv MCP server, over stdin/stdout.
    Arxiv(ArxivArgs),
}

#[derive(Debug, Args)]
struct ArxivArgs {
    /// Where downloaded papers are stored [default: `research-demo-arxiv` in the temp dir].
    #[arg(long, value_name = "DIR")]
    storage_path: Option<PathBuf>,
    /// Ask the real arXiv instead of the recorded fixtures.
    #[arg(long, conflicts_with = "api_base")]
    live: bool,
    /// Ask the arXiv API at this base URL (which serves `/api/query` and `/html/ID`).
    #[arg(long, value_name = "URL")]
    api_base: Option<url::Url>,
    /// The least time between two requests to arXiv, in milliseconds [default: 3000 with `--live`, else 0].
    #[arg(long, value_name = "MS")]
    rate_limit_ms: Option<u64>,
}

/// This binary's path, which serves arXiv as `research-demo serve arxiv`.
fn current_exe() -> String {
    std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "research-demo".to_owned())
}

/// The seed's two servers. The arXiv server is this binary's own `serve arxiv` subcommand.
fn seed_config() -> Result<MCPConfig, ConfigError> {
    let storage = std::env::temp_dir().join("arxiv_papers");
    let arxiv = StdioConfig::new("ArxivServer", current_exe()).args([
        "serve".to_owned(),
        "arxiv".to_owned(),
        "--storage-path".to_owned(),
        storage.display().to_string(),
    ]);
    let wikipedia = SseConfig::new("WikipediaServer", "http://127.0.0.1:8000/sse")?
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    MCPConfig::new([arxiv.into(), wikipedia.into()])
}

fn ask(query: &[String]) -> Result<(), String> {
    let config = seed_config().map_err(|err| err.to_string())?;
    eprintln!(
        "research-demo: the research assistant is not built yet; `research-demo serve arxiv` is."
    );
    if !query.is_empty() {
        eprintln!("research-demo: your query was: {}", query.join(" "));
    }
    eprintln!("research-demo: it will use these MCP servers:");
    for server in &config {
        eprintln!("  - {server}");
    }
    Ok(())
}

async fn serve_arxiv(args: ArxivArgs) -> Result<(), String> {
    let rate_limit =
        Duration::from_millis(args.rate_limit_ms.unwrap_or(if args.live { 3000 } else { 0 }));
    // Offline by default: the recorded fixtures, served on loopback for as long as we serve.
    let mut fixtures = None;
    let api = if args.live {
        ArxivApi::live(rate_limit)
    } else if let Some(base) = args.api_base {
        ArxivApi::at(base, rate_limit)
    } else {
        let server = FixtureServer::start()
            .await
            .map_err(|err| format!("cannot start the fixture server on loopback: {err}"))?;
        let api = ArxivApi::at(server.url(), rate_limit);
        fixtures = Some(server);
        api
    }
    .map_err(|err| err.to_string())?;
    let storage =
        args.storage_path.unwrap_or_else(|| std::env::temp_dir().join("research-demo-arxiv"));
    eprintln!(
        "research-demo: serving arXiv MCP on stdio ({}), papers stored under {}",
        if args.live {
            "live arXiv"
        } else if fixtures.is_some() {
            "recorded fixtures"
        } else {
            "custom API base"
        },
        storage.display()
    );
    let service = ArxivServer::new(api, storage)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|err| format!("the MCP client did not initialize: {err}"))?;
    service.waiting().await.map_err(|err| format!("the MCP session failed: {err}"))?;
    drop(fixtures);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => ask(&cli.query),
        Some(Command::Ask { query }) => ask(&query),
        Some(Command::Serve(Serve::Arxiv(args))) => {
            match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
            {
                Ok(runtime) => runtime.block_on(serve_arxiv(args)),
                Err(err) => Err(format!("cannot start the async runtime: {err}")),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("research-demo: {reason}");
            ExitCode::FAILURE
        }
    }
}
