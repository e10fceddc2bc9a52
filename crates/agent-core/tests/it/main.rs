//! agent-core over real HTTP: every LLM request goes to the scripted OpenAI-compatible server
//! in testkit, through async-openai, exactly as to OpenAI.

mod event;
mod handoff;
mod human;
mod lazy;
mod llm;
mod offline;
mod planner;
mod router;
mod run;
mod semantic;
mod stream;
mod toolkit;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_core::{ConversableAgent, LLMConfig, ModelConfig, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use testkit::llm::ScriptedLlm;

/// An agent whose LLM is `server`.
pub(crate) fn agent(server: &ScriptedLlm, name: &str, system: &str) -> ConversableAgent {
    ConversableAgent::builder(name).system_message(system).llm_config(llm_config(server)).build()
}

pub(crate) fn llm_config(server: &ScriptedLlm) -> LLMConfig {
    LLMConfig::new(
        ModelConfig::openai("gpt-test")
            .api_key("sk-test")
            .base_url(server.base_url().parse().unwrap()),
    )
}

#[derive(Deserialize, JsonSchema)]
struct Search {
    /// What to look for.
    query: String,
}

/// `search_papers`, a tool that counts its calls in `calls` and answers "found 2 papers about …".
pub(crate) fn search_tool(calls: Arc<AtomicUsize>) -> Tool {
    Tool::from_async_fn("search_papers", "Searches arXiv.", move |args: Search| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            format!("found 2 papers about {}", args.query)
        }
    })
}
