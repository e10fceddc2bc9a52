//! An agent that uses the tools of one MCP server: opens a session, makes a toolkit, runs the
//! agent on a request, prints the conversation and the answer, and closes the session.
//!
//! ```text
//! cargo run -p examples --example agent_with_mcp_tools -- "REQUEST" COMMAND [ARGS...]
//! ```
//!
//! The LLM is the OpenAI-compatible endpoint of `OPENAI_API_KEY` / `OPENAI_BASE_URL` /
//! `OPENAI_MODEL` when set, else the offline planner (rule-based, not a model); the first line
//! says which. Exits 1 with the error if the server or the LLM fails, 2 on bad usage.

use std::process::ExitCode;

use agent_core::{ConversableAgent, LLMConfig, ModelConfig, RunOptions, create_toolkit};
use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::StdioConfig;

async fn run(
    request: &str,
    command: &str,
    args: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let llm = LLMConfig::from_env().unwrap_or_else(|_| LLMConfig::new(ModelConfig::offline()));
    println!("LLM: {}", llm.client()?.describe());
    let server = StdioConfig::new("server", command).args(args.iter().map(String::as_str)).into();
    let session = MCPClientSessionManager::new().open_session(&server).await?;
    let toolkit = create_toolkit(&session).await?;
    let mut agent = ConversableAgent::builder("mcp_agent")
        .system_message(
            "You are an agent with access to the server's tools. Use them to answer queries.",
        )
        .llm_config(llm)
        .build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    let outcome = agent.run(RunOptions::new(request).max_turns(5)).await;
    session.close().await?;
    let response = outcome?.process().await?;
    println!("answer: {}", response.summary());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [request, command, rest @ ..] = args.as_slice() else {
        eprintln!("usage: agent_with_mcp_tools REQUEST COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    match run(request, command, rest).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
