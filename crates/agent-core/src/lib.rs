//! Conversable agents on top of MCP sessions: the agent layer of the seed notebook.
//!
//! A [`ConversableAgent`] talks with an LLM ([`LLMConfig`]: any OpenAI-compatible endpoint) and
//! calls [`Tool`]s, whose JSON Schemas come from `schemars`. [`ConversableAgent::run`] runs the
//! tool loop until the LLM answers or the turn limit is reached.
//!
//! ```no_run
//! # #![allow(dead_code)]
//! use agent_core::{ConversableAgent, LLMConfig, RunOptions, Tool};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Weather {
//!     /// The city.
//!     city: String,
//! }
//!
//! # async fn demo() -> Result<(), agent_core::AgentError> {
//! let weather = Tool::from_async_fn("weather", "Today's weather in a city.", |args: Weather| async move {
//!     format!("Sunny in {}", args.city)
//! });
//! let agent = ConversableAgent::builder("assistant").llm_config(LLMConfig::from_env()?).build();
//! let response = agent.run(RunOptions::new("What is the weather in Paris?").tools([weather]).max_turns(3)).await?;
//! println!("{}", response.summary());
//! # Ok(())
//! # }
//! ```
//!
//! [`create_toolkit`] makes every tool of an MCP [`Session`](mcp_session::Session) a [`Tool`].
//!
//! Still to come (see `docs/architecture.md`): handoffs
//! (`OnCondition`, `AgentTarget`), `ReplyResult`, group runs, streamed events and the offline
//! planner. Everything MCP-related comes through [`mcp_session`], re-exported here.

#![doc(test(attr(deny(warnings))))]

mod agent;
mod error;
mod event;
mod handoff;
mod llm;
mod message;
mod offline;
mod tool;
mod toolkit;

pub use agent::{
    AgentBuilder, ConversableAgent, HumanInputMode, RunOptions, RunResponse, StopReason, run_group,
};
pub use error::AgentError;
pub use event::Event;
pub use handoff::{
    AgentTarget, Handoffs, OnCondition, ReplyResult, RevertToUserTarget, StayTarget,
    StringLLMCondition, Target, TerminateTarget,
};
pub use llm::{
    ApiType, LLMConfig, LlmClient, LlmReply, LlmRequest, ModelConfig, OpenAi, ToolSpec, Usage,
};
pub use mcp_session;
pub use message::{Message, Role, ToolCall};
pub use offline::Offline;
pub use tool::{IntoToolOutput, Tool, ToolOutput};
pub use toolkit::{Toolkit, create_toolkit};
