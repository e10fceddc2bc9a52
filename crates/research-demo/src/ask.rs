//! `research-demo [ask] [QUERY]`: the research assistant, over the seed's two servers or those of
//! `--config FILE`, printing the conversation as it goes (see [`crate::output`]).

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::time::Duration;

use agent_core::{ApiType, LLMConfig, LlmOverrides};
use mcp_config::{MCPConfig, SseConfig, StdioConfig};
use research_demo::assistant::ResearchAssistant;

use crate::cli::AskArgs;
use crate::error::Error;
use crate::output::{Output, Spinner};
use crate::serve::Wikipedia;

/// The seed's two queries, asked when no query is given.
const SEED_QUERIES: [&str; 2] = [
    "Get me the latest news from Wikipedia using WikipediaServer",
    "Search for recent papers about large language models on ArxivServer",
];

/// Asks each query in turn; the first failure stops the command.
pub(crate) async fn ask(args: AskArgs, output: Output) -> Result<(), Error> {
    let (llm, llm_line) = llm_config(&args)?;
    let (servers, _wikipedia) = servers(&args).await?;
    output.start(&llm_line, &servers.names().collect::<Vec<_>>());
    let assistant = ResearchAssistant::new(servers, llm);
    let queries = if args.query.is_empty() {
        SEED_QUERIES.iter().map(|q| (*q).to_owned()).collect()
    } else {
        vec![args.query.join(" ")]
    };
    for query in queries {
        output.query(&query);
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let printer = tokio::spawn(async move {
            let mut spinner = Spinner::new(!output.json() && std::io::stderr().is_terminal());
            loop {
                tokio::select! {
                    event = receiver.recv() => match event {
                        Some(event) => {
                            spinner.clear();
                            output.event(&event);
                        }
                        None => break,
                    },
                    () = spinner.tick() => {}
                }
            }
            spinner.clear();
        });
        let response = assistant.ask(&query, usize::from(args.max_turns), Some(sender)).await;
        // The run dropped its senders: the printer ends once it has printed every event.
        let _ = printer.await;
        let response = response.map_err(Error::Run)?;
        output.answer(response.summary());
    }
    Ok(())
}

/// The first line for the offline planner, which says how to get a model.
const OFFLINE_LINE: &str =
    "LLM: offline planner (not a model) — set OPENAI_API_KEY for a real model";

/// The LLM to think with (the environment under `--offline`, `--base-url` and `--model`), and
/// the line that says which. Its client is built here, so a configuration it refuses is a
/// configuration error (exit 2), found before any server starts.
fn llm_config(args: &AskArgs) -> Result<(LLMConfig, String), Error> {
    let mut overrides = LlmOverrides::new().offline(args.offline);
    if let Some(url) = &args.base_url {
        overrides = overrides.base_url(url.clone());
    }
    if let Some(model) = &args.model {
        overrides = overrides.model(model);
    }
    let llm = LLMConfig::from_env_with(overrides).map_err(Error::LlmConfig)?;
    let client = llm.client().map_err(Error::LlmConfig)?;
    let offline = llm.config_list.first().is_some_and(|model| model.api_type == ApiType::Offline);
    let line =
        if offline { OFFLINE_LINE.to_owned() } else { format!("LLM: {}", client.describe()) };
    Ok((llm, line))
}

/// The servers: `--config FILE`, else the seed's two, with the Wikipedia server started here
/// (returned: it serves until dropped).
async fn servers(args: &AskArgs) -> Result<(MCPConfig, Option<Wikipedia>), Error> {
    let Some(path) = &args.config else {
        let address = SocketAddr::from(([127, 0, 0, 1], args.wikipedia_port.unwrap_or(0)));
        let wikipedia = Wikipedia::start(address, args.live, None, "en").await?;
        let config = seed_config(args.live, &wikipedia.server.sse_url())?;
        return Ok((config, Some(wikipedia)));
    };
    let loaded = MCPConfig::load(path).map_err(Error::ConfigFile)?;
    for warning in &loaded.warnings {
        eprintln!("research-demo: warning: {warning}");
    }
    Ok((loaded.config, None))
}

/// The seed's two servers. The arXiv server is this binary's own `serve arxiv` subcommand.
fn seed_config(live: bool, wikipedia_sse: &str) -> Result<MCPConfig, Error> {
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
    let wikipedia = SseConfig::new("WikipediaServer", wikipedia_sse)
        .map_err(Error::ServerConfig)?
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    MCPConfig::new([arxiv.into(), wikipedia.into()]).map_err(Error::ServerConfig)
}

/// This binary's path, which serves arXiv as `research-demo serve arxiv`.
fn current_exe() -> String {
    std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "research-demo".to_owned())
}
