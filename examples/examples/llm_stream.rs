//! One answer from an LLM, streamed piece by piece: an agent with no tools is asked `PROMPT`,
//! and each piece of its answer is printed as it arrives; then the token usage.
//!
//! ```text
//! cargo run -p examples --example llm_stream -- [--no-stream] [--json] [--max-tokens N] PROMPT
//! ```
//!
//! The LLM is the OpenAI-compatible endpoint of `OPENAI_API_KEY` / `OPENAI_BASE_URL` /
//! `OPENAI_MODEL` when set, else the offline planner (rule-based, not a model, which sends its
//! whole text as one piece). `--no-stream` asks for the whole answer at once. `--json` prints one
//! JSON object per line instead: agent-core's events (`text_delta`, `text`, `termination`), then
//! `{"type":"usage","prompt_tokens":…,"completion_tokens":…,"total_tokens":…}`. Exits 1 with the
//! error if the LLM fails, 2 on bad usage. `cargo xtask interop --llm` runs it against a local
//! model.

use std::io::Write;
use std::process::ExitCode;

use agent_core::{ConversableAgent, Event, LLMConfig, ModelConfig, RunOptions};

/// The command line.
struct Args {
    prompt: String,
    stream: bool,
    json: bool,
    max_tokens: Option<u32>,
}

const USAGE: &str = "usage: llm_stream [--no-stream] [--json] [--max-tokens N] PROMPT";

fn parse(args: &[String]) -> Option<Args> {
    let mut parsed = Args { prompt: String::new(), stream: true, json: false, max_tokens: None };
    let mut prompt = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-stream" => parsed.stream = false,
            "--json" => parsed.json = true,
            "--max-tokens" => parsed.max_tokens = Some(args.next()?.parse().ok()?),
            flag if flag.starts_with("--") => return None,
            text if prompt.is_none() => prompt = Some(text.to_owned()),
            _ => return None,
        }
    }
    parsed.prompt = prompt.filter(|prompt| !prompt.trim().is_empty())?;
    Some(parsed)
}

/// Prints one event as it comes: a piece of text at once, the rest only with `--json`.
fn show(event: &Event, json: bool) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout ends nothing here: the run goes on and its outcome decides the status.
    let _ = if json {
        serde_json::to_string(event).map_or(Ok(()), |line| writeln!(stdout, "{line}"))
    } else if let Event::TextDelta { delta, .. } = event {
        write!(stdout, "{delta}")
    } else {
        Ok(())
    };
    let _ = stdout.flush();
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut llm = LLMConfig::from_env().unwrap_or_else(|_| LLMConfig::new(ModelConfig::offline()));
    if let Some(max_tokens) = args.max_tokens {
        llm = llm.max_tokens(max_tokens);
    }
    let described = llm.client()?.describe();
    if args.json {
        // `type` first, as agent-core's events and research-demo's lines have it.
        let text = serde_json::Value::from(format!("LLM: {described}"));
        println!(r#"{{"type":"llm","text":{text}}}"#);
    } else {
        println!("LLM: {described}");
    }
    let agent = ConversableAgent::builder("assistant")
        .system_message("You are a helpful assistant. Answer briefly.")
        .llm_config(llm)
        .build();
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let json = args.json;
    let printer = tokio::spawn(async move {
        while let Some(event) = received.recv().await {
            show(&event, json);
        }
    });
    let options = RunOptions::new(args.prompt).max_turns(1).stream(args.stream).events(sender);
    let outcome = agent.run(options).await;
    // The run dropped its sender: the printer ends once it has printed everything.
    printer.await?;
    let response = outcome?;
    let usage = response.usage;
    if args.json {
        println!(
            r#"{{"type":"usage","prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}"#,
            usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
        );
    } else {
        if !args.stream {
            print!("{}", response.summary());
        }
        println!(
            "\n(usage: {} prompt + {} completion = {} tokens)",
            usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(args) = parse(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
