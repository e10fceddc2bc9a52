//! The agent loop: an agent with one tool against a scripted OpenAI-compatible server that calls
//! the tool on every turn, ours and AG2's, and the floor of one completion request by hand.
//!
//! The server answers at once, so what a turn costs beyond the floor is the agent's own work:
//! building the request, the HTTP client, parsing the reply, running the tool, keeping history.

use std::time::{Duration, Instant};

use agent_core::{ConversableAgent, LLMConfig, ModelConfig, RunOptions, Tool};
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::report::{self, stats};
use crate::{Args, Error, floor, python};

const SYSTEM: &str = "You are a benchmark agent. Call the echo tool.";
const TASK: &str = "Echo hi.";

/// Per-turn figures for our agent, AG2's and the floor, `args.n` runs of `args.turns` turns.
pub(crate) async fn run(args: &Args) -> Result<Value, Error> {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::tool_call("echo", json!({"text": "hi"})));
    let base_url = llm.base_url().to_owned();
    let model = ModelConfig::openai("bench-model").api_key("bench-key").base_url(base_url.parse()?);
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
    let mut ours = Vec::with_capacity(args.n);
    let before = llm.requests().len();
    for _ in 0..args.n {
        let start = Instant::now();
        let options = RunOptions::new(TASK).tools([echo.clone()]).max_turns(args.turns);
        agent.run(options).await?;
        ours.push(start.elapsed());
    }
    let requests = llm.requests();
    let ours_turns = (requests.len() - before) / args.n.max(1);
    let last_body = requests.last().map(Value::to_string).unwrap_or_default();

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
        floor::posts(&format!("{base_url}/chat/completions"), last_body, args.n * args.turns)
            .await?;
    let floor_ms = stats(&mut floor)["median_ms"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "floor": {"request_ms": floor_ms},
        "ours": per_turn(ours, ours_turns, floor_ms),
        "ag2": per_turn(ag2, ag2_turns, floor_ms),
    }))
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
