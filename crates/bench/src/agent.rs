//! The agent loop: an agent with one tool against a scripted OpenAI-compatible server that calls
//! the tool on every turn, ours and AG2's, and the floor of one completion request by hand.
//!
//! The server answers at once, so what a turn costs beyond the floor is the agent's own work:
//! building the request, the HTTP client, parsing the reply, running the tool, keeping history.

use std::time::{Duration, Instant};

use agent_core::{
    CALL_TOOL, ConversableAgent, LAZY_TOOL_THRESHOLD, LLMConfig, ModelConfig, RunOptions,
    SEARCH_TOOLS, Tool, Toolkit,
};
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::report::{self, stats};
use crate::{Args, Error, floor, python};

const SYSTEM: &str = "You are a benchmark agent. Call the echo tool.";
const TASK: &str = "Echo hi.";

/// Per-turn figures for our agent, AG2's and the floor, `args.n` runs of `args.turns` turns.
pub(crate) async fn run(args: &Args) -> Result<Value, Error> {
    let llm = ScriptedLlm::start().await;
    let base_url = llm.base_url().to_owned();
    let before = llm.requests().len();
    let ours = our_runs(&llm, args).await?;
    let requests = llm.requests();
    let ours_turns = (requests.len() - before) / args.n.max(1);
    // The floor posts the requests of our last run, each in turn: the same bodies a run sends.
    let last_run: Vec<String> = requests[requests.len().saturating_sub(ours_turns)..]
        .iter()
        .map(Value::to_string)
        .collect();

    let mut command = tokio::process::Command::new(python::python("ag2")?);
    command.arg(python::script("bench_agent.py")).args([
        &base_url,
        &args.turns.to_string(),
        &args.n.to_string(),
    ]);
    let ag2_report = report::child_report(command, "the AG2 agent loop").await?;
    let ag2 = report::durations(&ag2_report["runs_ms"]);
    let ag2_turns = (llm.requests().len() - before - ours_turns * args.n) / args.n.max(1);

    let mut floor =
        floor::posts(&format!("{base_url}/chat/completions"), last_run, args.n * ours_turns)
            .await?;
    let floor_ms = stats(&mut floor)["median_ms"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "floor": {"request_ms": floor_ms},
        "ours": per_turn(ours, ours_turns, floor_ms),
        "ag2": per_turn(ag2, ag2_turns, floor_ms),
        "catalog": catalog_requests().await?,
    }))
}

/// Our agent alone, `args.n` runs of `args.turns` turns against a scripted server in this
/// process: the workload `mcp-bench --profile agent ours` puts under a profiler.
pub(crate) async fn profile(args: &Args) -> Result<Value, Error> {
    let llm = ScriptedLlm::start().await;
    let ours = our_runs(&llm, args).await?;
    let turns = llm.requests().len() / args.n.max(1);
    Ok(json!({"ours": per_turn(ours, turns, 0.0)}))
}

/// The durations of `args.n` runs of our agent, whose model (`llm`, told here to call the tool
/// on every turn) calls its one tool on each of `args.turns` turns. The runs are made from a
/// spawned task, as our sessions' calls are (see `ours::Caller`).
async fn our_runs(llm: &ScriptedLlm, args: &Args) -> Result<Vec<Duration>, Error> {
    llm.when(Match::any(), Reply::tool_call("echo", json!({"text": "hi"})));
    let base_url = llm.base_url().parse()?;
    let (n, turns) = (args.n, args.turns);
    tokio::spawn(async move { runs(base_url, n, turns).await }).await?
}

/// `n` runs of `turns` turns of our agent against the scripted model at `base_url`.
async fn runs(base_url: url::Url, n: usize, turns: usize) -> Result<Vec<Duration>, Error> {
    let model = ModelConfig::openai("bench-model").api_key("bench-key").base_url(base_url);
    let agent = ConversableAgent::builder("assistant")
        .system_message(SYSTEM)
        .llm_config(LLMConfig::new(model))
        .build();
    let echo = Tool::new(
        "echo",
        "Returns the text it is given.",
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
        |args: Value| async move { args["text"].as_str().unwrap_or_default().to_owned() },
    );
    let mut ours = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let options = RunOptions::new(TASK).tools([echo.clone()]).max_turns(turns);
        agent.run(options).await?;
        ours.push(start.elapsed());
    }
    Ok(ours)
}

/// How many copies of the committed real catalogs make the large one (8 servers, 92 tools each
/// copy).
const CATALOG_COPIES: usize = 6;

/// The request sizes of an agent with a large catalog: the tools of the eight real servers'
/// catalogs committed in agent-core's test data, under [`CATALOG_COPIES`] sets of server names,
/// offered every schema (eager) or through `search_tools` and `call_tool`
/// ([`Toolkit::lazy_above`]). Each does the same task, converting a time with mcp-server-time's
/// `convert_time`: eager in two requests (the call, the answer), lazy in three (the search,
/// the call, the answer). Bytes of each request body, as the scripted server received it.
async fn catalog_requests() -> Result<Value, Error> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent-core/tests/data/catalogs");
    let mut tools = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|err| format!("{}: {err}", dir.display()))? {
        let path = entry.map_err(|err| err.to_string())?.path();
        let text =
            std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        let catalog: Value = serde_json::from_str(&text)?;
        tools.push((
            catalog["server"].as_str().unwrap_or("server").to_owned(),
            catalog["tools"].clone(),
        ));
    }
    tools.sort_by(|a, b| a.0.cmp(&b.0));
    let toolkit = Toolkit::from_tools((0..CATALOG_COPIES).flat_map(|copy| {
        tools.iter().flat_map(move |(server, listed)| {
            listed.as_array().cloned().unwrap_or_default().into_iter().map(move |tool| {
                let name = format!("{server}{copy}__{}", tool["name"].as_str().unwrap_or("tool"));
                let description = tool["description"].as_str().unwrap_or_default().to_owned();
                Tool::new(name, description, tool["inputSchema"].clone(), |_| async {
                    "14:30 in Europe/London is 23:30 in Asia/Tokyo"
                })
            })
        })
    }));
    let count = toolkit.all_tools().len();
    let convert = json!({"time": "14:30", "source_timezone": "Europe/London", "target_timezone": "Asia/Tokyo"});
    let eager = requests_of(
        toolkit.clone(),
        vec![Reply::tool_call("time0__convert_time", convert.clone())],
    )
    .await?;
    let lazy = requests_of(
        toolkit.lazy_above(LAZY_TOOL_THRESHOLD),
        vec![
            Reply::tool_call(SEARCH_TOOLS, json!({"query": "convert a time between time zones"})),
            Reply::tool_call(
                CALL_TOOL,
                json!({"name": "time0__convert_time", "arguments": convert}),
            ),
        ],
    )
    .await?;
    Ok(json!({"tools": count, "eager_bytes": eager, "lazy_bytes": lazy}))
}

/// The body sizes of the requests of one run of an agent with `toolkit`, whose model answers
/// `replies` in turn and then a text.
async fn requests_of(toolkit: Toolkit, replies: Vec<Reply>) -> Result<Vec<usize>, Error> {
    let llm = ScriptedLlm::start().await;
    let turns = replies.len() + 1;
    for reply in replies {
        llm.when_times(Match::any(), reply, 1);
    }
    llm.when(Match::any(), Reply::text("done"));
    let model =
        ModelConfig::openai("bench-model").api_key("bench-key").base_url(llm.base_url().parse()?);
    let mut agent =
        ConversableAgent::builder("assistant").llm_config(LLMConfig::new(model)).build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    agent.run(RunOptions::new("What time is 14:30 in London in Tokyo?").max_turns(turns)).await?;
    Ok(llm.requests().iter().map(|request| request.to_string().len()).collect())
}

/// A run's median time per turn (LLM request), and that less the floor: the overhead.
fn per_turn(mut runs: Vec<Duration>, turns: usize, floor_ms: f64) -> Value {
    let run_ms = stats(&mut runs)["median_ms"].as_f64().unwrap_or(0.0);
    let turn_ms = run_ms / turns.max(1) as f64;
    json!({
        "turns_per_run": turns,
        "run_ms": run_ms,
        "turn_ms": turn_ms,
        "overhead_per_turn_ms": turn_ms - floor_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lazy_catalog_sends_far_smaller_requests() {
        let catalog = catalog_requests().await.unwrap();
        eprintln!("{catalog}");
        assert!(catalog["tools"].as_u64().unwrap() > 500, "{catalog}");
        let first = |key: &str| catalog[key][0].as_u64().unwrap();
        assert_eq!(catalog["eager_bytes"].as_array().unwrap().len(), 2, "{catalog}");
        assert_eq!(catalog["lazy_bytes"].as_array().unwrap().len(), 3, "{catalog}");
        assert!(first("eager_bytes") > 50 * first("lazy_bytes"), "{catalog}");
    }
}
