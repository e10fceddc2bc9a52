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
//! [`create_toolkit`] makes every tool of an MCP [`Session`](mcp_session::Session) a [`Tool`];
//! [`create_toolkit_from_lease`] does it for a server of a
//! [`SessionPool`](mcp_session::SessionPool), whose tools stay valid across server restarts.
//! Handoffs ([`OnCondition`] with a [`StringLLMCondition`], after-work targets) and a tool's
//! [`ReplyResult`] decide who speaks next; [`run_group`] runs several agents. [`Offline`] is a
//! clearly labelled rule-based planner for when no LLM is configured. Everything MCP-related
//! comes through [`mcp_session`], re-exported here.
//!
//! # The seed's flow
//!
//! The notebook's tool opens an MCP session inside the tool call, gives a temporary agent the
//! server's tools and a handoff back, and returns a [`ReplyResult`] to the research assistant.
//! With this crate, almost line for line:
//!
//! ```no_run
//! # #![allow(dead_code)]
//! use std::sync::Arc;
//!
//! use agent_core::{
//!     AgentError, AgentTarget, ConversableAgent, HumanInputMode, LLMConfig, OnCondition, ReplyResult,
//!     RunOptions, StringLLMCondition, Tool, create_toolkit,
//! };
//! use agent_core::mcp_session::MCPClientSessionManager;
//! use agent_core::mcp_session::mcp_config::MCPConfig;
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct McpQuery {
//!     /// The user's query, as they wrote it.
//!     query: String,
//!     /// The server to run it on, such as ArxivServer.
//!     server_name: String,
//! }
//!
//! # async fn demo(mcp_config: MCPConfig, llm_config: LLMConfig) -> Result<(), AgentError> {
//! let mcp_config = Arc::new(mcp_config);
//! let llm = llm_config.clone();
//! let run_mcp_agent_to_client = Tool::from_async_fn(
//!     "run_mcp_agent_to_client",
//!     "Run the query on the MCP server that fits it.",
//!     move |McpQuery { query, server_name }: McpQuery| {
//!         let (mcp_config, llm_config) = (mcp_config.clone(), llm.clone());
//!         async move {
//!             let server = mcp_config.get(&server_name)?;
//!             let session = MCPClientSessionManager::new().open_session(server).await?;
//!             session.initialize().await?;
//!             let agent_tool_prompt = session.list_tools().await?;
//!             let toolkit = create_toolkit(&session).await?;
//!             let mut agent = ConversableAgent::builder("mcp_agent")
//!                 .system_message(format!("You are an agent with access to {server_name} tools. Use them to answer queries."))
//!                 .llm_config(llm_config)
//!                 .human_input_mode(HumanInputMode::Never)
//!                 .build();
//!             toolkit.register_for_llm(&mut agent);
//!             toolkit.register_for_execution(&mut agent);
//!             agent.handoffs().add_llm_conditions([OnCondition::new(
//!                 AgentTarget::new("research_assistant"),
//!                 StringLLMCondition::new("The research paper ids are fetched."),
//!             )]);
//!             let names: Vec<_> = agent_tool_prompt.iter().map(|t| t.name.to_string()).collect();
//!             let result = agent
//!                 .run(RunOptions::new(format!("{query} Use the following tools to answer the question: {names:?}")).max_turns(5))
//!                 .await?;
//!             let res = result.process().await?;
//!             let last_message = res.summary().to_owned();
//!             session.close().await?;
//!             Ok::<_, AgentError>(ReplyResult::new(last_message).target(AgentTarget::new("research_assistant")))
//!         }
//!     },
//! );
//!
//! let research_assistant = ConversableAgent::builder("research_assistant")
//!     .system_message("You are a research assistant agent.")
//!     .llm_config(llm_config)
//!     .human_input_mode(HumanInputMode::Never)
//!     .build();
//! let result = research_assistant
//!     .run(RunOptions::new("Search for recent papers about large language models on ArxivServer")
//!         .tools([run_mcp_agent_to_client])
//!         .max_turns(2))
//!     .await?
//!     .process()
//!     .await?;
//! # let _ = result;
//! # Ok(())
//! # }
//! ```

#![doc(test(attr(deny(warnings))))]

mod agent;
mod client;
mod error;
mod event;
mod handoff;
mod human;
mod llm;
mod message;
mod name;
mod offline;
mod router;
mod search;
mod tool;
mod toolkit;

pub use agent::{
    AgentBuilder, ConversableAgent, HumanInputMode, RunOptions, RunResponse, run_group,
    run_group_streaming,
};
pub use client::{LlmClient, LlmReply, LlmRequest, ToolSpec, Usage};
pub use error::{AgentError, LlmConfigError};
pub use event::{Event, StopReason};
pub use handoff::{
    AgentTarget, Handoffs, OnCondition, ReplyResult, RevertToUserTarget, StayTarget,
    StringLLMCondition, Target, TerminateTarget, is_transfer_tool_name, transfer_tool_name,
};
pub use human::{
    ChannelHumanInput, HumanChannel, HumanInput, HumanMoment, HumanPrompt, HumanReply,
};
pub use llm::{ApiType, LLMConfig, LlmOverrides, ModelConfig, OpenAi};
pub use mcp_session;
pub use message::{Message, Role, ToolCall};
pub use offline::Offline;
pub use router::{
    EmbedError, Embedder, EmbeddingConfig, ExampleError, ExampleWeights, Fusion, Hit, HybridRouter,
    Match, OpenAiEmbedder, Router, Synonym, SynonymSource, ToolField,
};
pub use search::{CALL_TOOL, LAZY_TOOL_THRESHOLD, SEARCH_TOOLS};
pub use tool::{IntoToolOutput, Tool, ToolOutput};
pub use toolkit::{
    Toolkit, create_toolkit, create_toolkit_from_lease, create_toolkit_from_pool,
    render_tool_result,
};
