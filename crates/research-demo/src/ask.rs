//! `research-demo [ask] [QUERY]`: the research assistant, over the seed's two servers or those
//! the server flags choose (`sources.rs`), printing the conversation as it goes (see [`crate::output`]). With
//! `--keep-alive`, the assistant's tool calls share a session pool instead of each opening a
//! session, and the pool is closed on every way out.

use agent_core::{ApiType, LLMConfig, LlmOverrides, StopReason};
use research_demo::assistant::{ASSISTANT, Answer, ResearchAssistant};
use tokio::task::JoinSet;

use crate::cli::{AskArgs, LlmArgs};
use crate::error::Error;
use crate::output::Output;
use crate::signal::Signals;

/// The seed's two queries, asked when no query is given.
const SEED_QUERIES: [&str; 2] = [
    "Get me the latest news from Wikipedia using WikipediaServer",
    "Search for recent papers about large language models on ArxivServer",
];

/// Asks each query in turn; the first failure stops the command, and so do SIGINT and SIGTERM
/// ([`Error::Interrupted`]) and a closed stdout (a quiet end). On every way out, every session
/// the assistant opened is closed (with `--keep-alive`, the pool's, by its `close_all`) and the
/// Wikipedia server started here stops.
pub(crate) async fn ask(args: AskArgs, output: &Output, signals: Signals) -> Result<(), Error> {
    let (llm, llm_line) = llm_config(&args.llm)?;
    let queries = queries(&args.query)?;
    // A signal that comes while the servers start is kept for the select below.
    let servers = crate::sources::resolve(&args.servers).await?;
    let config = servers.config.clone();
    output.start(&llm_line, &config.names().collect::<Vec<_>>());
    let assistant = if args.keep_alive {
        ResearchAssistant::keep_alive(config, llm)
    } else {
        ResearchAssistant::new(config, llm)
    }
    .with_manager(crate::login::manager())
    .stream(output.streams());
    let mut printers = JoinSet::new();
    let mut run =
        Box::pin(run(&assistant, queries, usize::from(args.max_turns), output, &mut printers));
    let outcome = tokio::select! {
        outcome = &mut run => outcome,
        signal = signals.first() => Err(Error::Interrupted { signal }),
        () = output.closed() => Ok(()),
    };
    // The sessions still open are those of tool calls in flight. Hold them while the run (and
    // those calls) is dropped, so that they stay open for the manager to close gracefully (a
    // dropped call releases the session it was using). The pool's sessions (`--keep-alive`)
    // outlive the calls anyway; `close` closes them with the pool's `close_all`, then shuts the
    // manager down.
    let open = assistant.manager().sessions();
    drop(run);
    while printers.join_next().await.is_some() {}
    assistant.close().await;
    drop(open);
    servers.stop().await;
    outcome
}

/// The queries to ask: the one given (its words joined), else the seed's two.
fn queries(words: &[String]) -> Result<Vec<String>, Error> {
    if words.is_empty() {
        return Ok(SEED_QUERIES.iter().map(|query| (*query).to_owned()).collect());
    }
    let query = words.join(" ");
    if query.trim().is_empty() {
        return Err(Error::EmptyQuery);
    }
    Ok(vec![query])
}

/// Asks `queries` one after the other, printing each conversation as it goes (through a printer
/// task in `printers`, which also shows what a long wait awaits). Stops at the first query whose
/// run failed, or during which a server or the LLM failed ([`Error::DuringRun`], after its
/// answer).
async fn run(
    assistant: &ResearchAssistant,
    queries: Vec<String>,
    max_turns: usize,
    output: &Output,
    printers: &mut JoinSet<Option<String>>,
) -> Result<(), Error> {
    for query in queries {
        output.query(&query);
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        printers.spawn(crate::output::print_events(receiver, output.clone(), ASSISTANT.to_owned()));
        let answer = assistant.ask(&query, max_turns, Some(sender)).await;
        // The run dropped its senders: the printer ends once it has printed every event.
        let mut streamed = None;
        while let Some(printed) = printers.join_next().await {
            streamed = printed.ok().flatten();
        }
        let answer = answer.map_err(Error::Run)?;
        answered(&answer, streamed.as_deref(), output);
        if !answer.failures.is_empty() {
            return Err(Error::DuringRun { failures: answer.failures });
        }
    }
    Ok(())
}

/// Says which servers were left out, then prints the answer.
fn answered(answer: &Answer, streamed: Option<&str>, output: &Output) {
    for (server, err) in &answer.unavailable {
        crate::output::eprint_line(&format!(
            "research-demo: left out {server}, whose tools could not be listed: {err}"
        ));
    }
    print_answer(answer, streamed, output);
}

/// Prints the answer, unless people just saw it streamed whole (on a terminal: it is on the
/// screen already).
pub(crate) fn print_answer(answer: &Answer, streamed: Option<&str>, output: &Output) {
    let summary = answer.summary();
    if summary.is_empty() && !output.json() {
        // A run can end on a tool's result (at --max-turns, say): an empty "answer:" would
        // read as a blank reply.
        let why = match &answer.response.stop_reason {
            StopReason::MaxTurns => "its turns ran out first (see --max-turns)".to_owned(),
            other => format!("the run ended: {other}"),
        };
        output.answer(&format!("(none: {why})"));
    } else if output.json() || streamed != Some(summary) {
        output.answer(summary);
    }
}

/// The first line for the offline planner, which says how to get a model.
const OFFLINE_LINE: &str =
    "LLM: offline planner (not a model) — set OPENAI_API_KEY for a real model";

/// The LLM to think with (the environment under `--offline`, `--base-url` and `--model`), and
/// the line that says which. Its client is built here, so a configuration it refuses is a
/// configuration error (exit 2), found before any server starts.
pub(crate) fn llm_config(args: &LlmArgs) -> Result<(LLMConfig, String), Error> {
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
