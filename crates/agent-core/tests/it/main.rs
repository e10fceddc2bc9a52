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
mod stream;
mod toolkit;

use agent_core::{ConversableAgent, LLMConfig, ModelConfig};
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
