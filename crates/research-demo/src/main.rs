//! `research-demo`: the research assistant of the seed notebook, and its MCP servers.
//!
//! - `research-demo [ask] [QUERY]` runs the research assistant: a tool that opens an MCP session
//!   inside the call, to arXiv over stdio (this binary's `serve arxiv`) or to Wikipedia over
//!   legacy SSE (served in-process), or to the servers of `--config FILE`. No QUERY: the seed's two.
//! - `research-demo serve arxiv` serves the arXiv MCP server over stdio.
//! - `research-demo serve wikipedia` serves the Wikipedia MCP server over legacy SSE (`/sse`) and
//!   streamable HTTP (`/mcp`).
//!
//! Both servers answer from recorded fixtures served on loopback unless given `--live` (the real
//! APIs) or `--api-base` (another one).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent_core::{Event, LLMConfig, ModelConfig};
use clap::{Args, Parser, Subcommand};
use mcp_config::{ConfigError, MCPConfig, SseConfig, StdioConfig};
use research_demo::arxiv::api::ArxivApi;
use research_demo::arxiv::server::ArxivServer;
use research_demo::assistant::ResearchAssistant;
use research_demo::fixtures::FixtureServer;
use research_demo::wikipedia::api::WikipediaApi;
use research_demo::wikipedia::server::{Listening, WikipediaServer};
use rmcp::ServiceExt;
use url::Url;

/// The research assistant of the seed notebook, and its MCP servers.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Log more to stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    ask: AskArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask the research assistant a question (the default command).
    Ask(AskArgs),
    /// Serve one of the demo's MCP servers.
    #[command(subcommand)]
    Serve(Serve),
}

#[derive(Debug, Subcommand)]
enum Serve {
    /// The arXiv MCP server, over stdin/stdout.
    Arxiv(ArxivArgs),
    /// The Wikipedia MCP server: legacy SSE at /sse and /message, streamable HTTP at /mcp.
    Wikipedia(WikipediaArgs),
}

#[derive(Debug, Args)]
struct WikipediaArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The Wikipedia language, such as en, de or simple (with `--live`).
    #[arg(long, default_value = "en")]
    language: String,
    /// Ask the real Wikipedia instead of the recorded fixtures.
    #[arg(long, conflicts_with = "api_base")]
    live: bool,
    /// Ask the Wikipedia at this base URL (which serves `/w/api.php` and `/api/rest_v1/`).
    #[arg(long, value_name = "URL")]
    api_base: Option<url::Url>,
}

#[derive(Debug, Args)]
struct AskArgs {
    /// The question [default: the seed's two queries, one after the other].
    query: Vec<String>,
    /// Use the servers of this MCP config file (any format mcp-config reads) instead of the
    /// built-in two.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use the offline planner even when OPENAI_API_KEY is set.
    #[arg(long, conflicts_with_all = ["base_url", "model"])]
    offline: bool,
    /// The OpenAI-compatible endpoint to ask [default: OPENAI_BASE_URL, else OpenAI's].
    #[arg(long, value_name = "URL")]
    base_url: Option<url::Url>,
    /// The model [default: OPENAI_MODEL, else gpt-4o].
    #[arg(long)]
    model: Option<String>,
    /// Let the built-in servers ask the real arXiv and Wikipedia instead of recorded fixtures.
    #[arg(long)]
    live: bool,
    /// The port of the built-in Wikipedia server [default: any free port; the notebook's is 8000].
    #[arg(long, value_name = "PORT", conflicts_with = "config")]
    wikipedia_port: Option<u16>,
    /// The most turns of the research assistant.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    max_turns: u16,
    /// Print the conversation's events as JSON lines.
    #[arg(long)]
    json: bool,
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
fn seed_config(live: bool, wikipedia_sse: &str) -> Result<MCPConfig, ConfigError> {
    let storage = std::env::temp_dir().join("arxiv_papers");
    let mut args = vec![
        "serve".to_owned(),
        "arxiv".to_owned(),
        "--storage-path".to_owned(),
        storage.display().to_string(),
    ];
    if live {
        args.push("--live".to_owned());
    }
    let arxiv = StdioConfig::new("ArxivServer", current_exe()).args(args);
    let wikipedia = SseConfig::new("WikipediaServer", wikipedia_sse)?
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    MCPConfig::new([arxiv.into(), wikipedia.into()])
}

/// The seed's two queries, asked when no query is given.
const SEED_QUERIES: [&str; 2] = [
    "Get me the latest news from Wikipedia using WikipediaServer",
    "Search for recent papers about large language models on ArxivServer",
];

/// The LLM to think with, and the line that says which.
fn llm_config(args: &AskArgs) -> Result<(LLMConfig, String), String> {
    let key = std::env::var("OPENAI_API_KEY").ok().filter(|key| !key.is_empty());
    let base = match &args.base_url {
        Some(url) => Some(url.clone()),
        None => match std::env::var("OPENAI_BASE_URL").ok().filter(|b| !b.is_empty()) {
            Some(base) => Some(
                base.parse()
                    .map_err(|err| format!("OPENAI_BASE_URL {base:?} is not a URL: {err}"))?,
            ),
            None => None,
        },
    };
    if args.offline || (key.is_none() && base.is_none()) {
        let line = "LLM: offline planner (not a model) — set OPENAI_API_KEY for a real model";
        return Ok((LLMConfig::new(ModelConfig::offline()), line.to_owned()));
    }
    let model = args
        .model
        .clone()
        .or_else(|| std::env::var("OPENAI_MODEL").ok().filter(|m| !m.is_empty()))
        .unwrap_or_else(|| "gpt-4o".to_owned());
    let mut config = ModelConfig::openai(&model);
    if let Some(key) = key {
        config = config.api_key(key);
    }
    let shown_base = base.as_ref().map_or("https://api.openai.com/v1".to_owned(), Url::to_string);
    if let Some(base) = base {
        config = config.base_url(base);
    }
    Ok((LLMConfig::new(config), format!("LLM: {model} at {shown_base}")))
}

/// The servers: `--config FILE`, else the seed's two, with the Wikipedia server started here
/// (returned: it serves until dropped).
async fn servers(args: &AskArgs) -> Result<(MCPConfig, Option<Wikipedia>), String> {
    let Some(path) = &args.config else {
        let address =
            std::net::SocketAddr::from(([127, 0, 0, 1], args.wikipedia_port.unwrap_or(0)));
        let wikipedia = Wikipedia::start(address, args.live, None, "en").await?;
        let config =
            seed_config(args.live, &wikipedia.server.sse_url()).map_err(|err| err.to_string())?;
        return Ok((config, Some(wikipedia)));
    };
    let loaded = MCPConfig::load(path).map_err(|err| err.to_string())?;
    for warning in &loaded.warnings {
        eprintln!("research-demo: warning: {warning}");
    }
    Ok((loaded.config, None))
}

/// Where a server's data comes from: the real API, another base URL, or the recorded fixtures
/// (served on loopback by the returned server, for as long as it lives).
async fn upstream(
    live: bool,
    api_base: Option<Url>,
) -> Result<(Option<Url>, Option<FixtureServer>, &'static str), String> {
    match (live, api_base) {
        (true, _) => Ok((None, None, "live")),
        (false, Some(base)) => Ok((Some(base), None, "custom API base")),
        (false, None) => {
            let fixtures = FixtureServer::start()
                .await
                .map_err(|err| format!("cannot start the fixture server on loopback: {err}"))?;
            Ok((Some(fixtures.url()), Some(fixtures), "recorded fixtures"))
        }
    }
}

/// The Wikipedia server, listening, with its fixtures.
struct Wikipedia {
    server: Listening,
    _fixtures: Option<FixtureServer>,
    source: &'static str,
}

impl Wikipedia {
    async fn start(
        address: std::net::SocketAddr,
        live: bool,
        api_base: Option<Url>,
        language: &str,
    ) -> Result<Self, String> {
        let (base, fixtures, source) = upstream(live, api_base).await?;
        let rate_limit = Duration::from_millis(if live { 1000 } else { 0 });
        let api = match base {
            Some(base) => WikipediaApi::at(base, rate_limit),
            None => WikipediaApi::live(language, rate_limit),
        }
        .map_err(|err| err.to_string())?;
        let server = Listening::bind(WikipediaServer::new(api), address)
            .await
            .map_err(|err| format!("cannot listen on {address}: {err}"))?;
        Ok(Wikipedia { server, _fixtures: fixtures, source })
    }
}

/// How much of an event a person is shown (JSON lines hold all of it).
const SHOWN_CHARS: usize = 300;

/// One event for people, or as a JSON line.
fn show(event: &Event, json: bool) {
    if !json {
        let line = event.to_string();
        match line.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) => println!("{} …", &line[..cut]),
            None => println!("{line}"),
        }
        return;
    }
    let value = match event {
        Event::TextMessage { agent, content } => {
            serde_json::json!({"type": "text", "agent": agent, "content": content})
        }
        Event::ToolCall { agent, id, name, arguments } => serde_json::json!({
            "type": "tool_call", "agent": agent, "id": id, "name": name, "arguments": arguments
        }),
        Event::ToolResponse { id, name, content } => {
            serde_json::json!({"type": "tool_response", "id": id, "name": name, "content": content})
        }
        Event::Handoff { from, to } => {
            serde_json::json!({"type": "handoff", "from": from, "to": to})
        }
        Event::Termination { reason } => {
            serde_json::json!({"type": "termination", "reason": format!("{reason:?}")})
        }
        other => serde_json::json!({"type": "other", "text": other.to_string()}),
    };
    println!("{value}");
}

async fn ask(args: AskArgs) -> Result<(), String> {
    let (llm, llm_line) = llm_config(&args)?;
    let (servers, _wikipedia) = servers(&args).await?;
    if args.json {
        println!("{}", serde_json::json!({"type": "llm", "text": llm_line}));
    } else {
        println!("{llm_line}");
        let names: Vec<&str> = servers.names().collect();
        println!("MCP servers: {}", names.join(", "));
    }
    let assistant = ResearchAssistant::new(servers, llm);
    let queries = if args.query.is_empty() {
        SEED_QUERIES.iter().map(|q| (*q).to_owned()).collect()
    } else {
        vec![args.query.join(" ")]
    };
    for query in queries {
        if args.json {
            println!("{}", serde_json::json!({"type": "query", "text": query}));
        } else {
            println!("\nuser: {query}");
        }
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let json = args.json;
        let printer = tokio::spawn(async move {
            let mut spinner = Spinner::new(!json && std::io::stderr().is_terminal());
            loop {
                tokio::select! {
                    event = receiver.recv() => match event {
                        Some(event) => {
                            spinner.clear();
                            show(&event, json);
                        }
                        None => break,
                    },
                    () = spinner.tick() => {}
                }
            }
            spinner.clear();
        });
        let response = assistant.ask(&query, usize::from(args.max_turns), Some(sender)).await;
        let _ = printer.await;
        let response = response.map_err(|err| err.to_string())?;
        if args.json {
            println!("{}", serde_json::json!({"type": "answer", "text": response.summary()}));
        } else {
            println!("\nanswer:\n{}", response.summary());
        }
    }
    Ok(())
}

async fn serve_wikipedia(args: WikipediaArgs) -> Result<(), String> {
    let address = std::net::SocketAddr::new(args.host, args.port);
    let wikipedia = Wikipedia::start(address, args.live, args.api_base, &args.language).await?;
    eprintln!(
        "research-demo: serving Wikipedia MCP ({}) over legacy SSE at {} and streamable HTTP at {}",
        wikipedia.source,
        wikipedia.server.sse_url(),
        wikipedia.server.mcp_url()
    );
    tokio::select! {
        () = wikipedia.server.wait() => Err("the Wikipedia server stopped".to_owned()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// A spinner on stderr while the conversation waits (on a terminal only).
struct Spinner {
    enabled: bool,
    shown: bool,
    frame: usize,
    ticker: tokio::time::Interval,
}

impl Spinner {
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

    fn new(enabled: bool) -> Self {
        let mut ticker = tokio::time::interval(Duration::from_millis(150));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Spinner { enabled, shown: false, frame: 0, ticker }
    }

    /// Waits for the next frame and draws it; never returns when disabled.
    async fn tick(&mut self) {
        if !self.enabled {
            return std::future::pending().await;
        }
        self.ticker.tick().await;
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        eprint!("\r{} waiting…", Self::FRAMES[self.frame]);
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
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

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))
}

async fn serve_arxiv(args: ArxivArgs) -> Result<(), String> {
    let rate_limit =
        Duration::from_millis(args.rate_limit_ms.unwrap_or(if args.live { 3000 } else { 0 }));
    let (base, fixtures, source) = upstream(args.live, args.api_base).await?;
    let api = match base {
        Some(base) => ArxivApi::at(base, rate_limit),
        None => ArxivApi::live(rate_limit),
    }
    .map_err(|err| err.to_string())?;
    let storage =
        args.storage_path.unwrap_or_else(|| std::env::temp_dir().join("research-demo-arxiv"));
    eprintln!(
        "research-demo: serving arXiv MCP on stdio ({source}), papers stored under {}",
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
    init_logging(cli.verbose);
    let result = runtime().and_then(|runtime| match cli.command {
        None => runtime.block_on(ask(cli.ask)),
        Some(Command::Ask(args)) => runtime.block_on(ask(args)),
        Some(Command::Serve(Serve::Arxiv(args))) => runtime.block_on(serve_arxiv(args)),
        Some(Command::Serve(Serve::Wikipedia(args))) => runtime.block_on(serve_wikipedia(args)),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("research-demo: {reason}");
            ExitCode::FAILURE
        }
    }
}
