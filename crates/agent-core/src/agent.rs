//! [`ConversableAgent`] and its runs.

use std::sync::Arc;

use crate::error::AgentError;
use crate::llm::{LLMConfig, LlmClient, LlmRequest, ToolSpec, Usage};
use crate::message::{Message, Role};
use crate::tool::Tool;

/// Whether the agent asks a human before replying. Only `Never` exists today: agents run
/// unattended, as in the seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HumanInputMode {
    /// Never ask.
    #[default]
    Never,
}

/// An agent that talks with an LLM and calls tools, as the seed's `ConversableAgent`.
///
/// ```
/// use agent_core::{ConversableAgent, HumanInputMode, LLMConfig, ModelConfig};
///
/// let assistant = ConversableAgent::builder("research_assistant")
///     .system_message("You are a research assistant.")
///     .llm_config(LLMConfig::new(ModelConfig::openai("gpt-4o")))
///     .human_input_mode(HumanInputMode::Never)
///     .build();
/// assert_eq!(assistant.name(), "research_assistant");
/// ```
#[derive(Clone, Debug)]
pub struct ConversableAgent {
    name: String,
    system_message: String,
    llm_config: Option<LLMConfig>,
    client: Option<Arc<dyn LlmClient>>,
    /// What the LLM is offered.
    llm_tools: Vec<ToolSpec>,
    /// What the agent runs when called.
    executors: Vec<Tool>,
    human_input_mode: HumanInputMode,
}

/// Builds a [`ConversableAgent`].
#[derive(Debug)]
#[must_use]
pub struct AgentBuilder {
    agent: ConversableAgent,
}

impl AgentBuilder {
    /// The agent's instructions.
    pub fn system_message(mut self, message: impl Into<String>) -> Self {
        self.agent.system_message = message.into();
        self
    }

    /// How it reaches its LLM.
    pub fn llm_config(mut self, config: LLMConfig) -> Self {
        self.agent.llm_config = Some(config);
        self
    }

    /// Uses this LLM client (instead of one made from an `LLMConfig`).
    pub fn llm_client(mut self, client: Arc<dyn LlmClient>) -> Self {
        self.agent.client = Some(client);
        self
    }

    /// Whether it asks a human.
    pub fn human_input_mode(mut self, mode: HumanInputMode) -> Self {
        self.agent.human_input_mode = mode;
        self
    }

    /// A tool it may call in every run (offered to the LLM and run when called).
    pub fn tool(mut self, tool: Tool) -> Self {
        self.agent.register_tool(tool);
        self
    }

    /// The agent.
    pub fn build(self) -> ConversableAgent {
        self.agent
    }
}

/// What to run: the first message, extra tools, and the turn limit.
///
/// ```
/// use agent_core::RunOptions;
///
/// let options = RunOptions::new("Search for recent papers about LLMs").max_turns(5);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RunOptions {
    message: String,
    tools: Vec<Tool>,
    max_turns: usize,
}

impl RunOptions {
    /// A run that starts with `message`, allowing 10 turns.
    pub fn new(message: impl Into<String>) -> Self {
        RunOptions { message: message.into(), tools: Vec::new(), max_turns: 10 }
    }

    /// Tools for this run, besides the agent's own.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// How many turns (LLM replies with the tools they call) the run may take.
    pub fn max_turns(mut self, max_turns: usize) -> Self {
        self.max_turns = max_turns;
        self
    }
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The LLM answered without calling a tool: its answer is the last message.
    Answered,
    /// The turn limit was reached while the LLM was still calling tools.
    MaxTurns,
    /// The LLM answered with neither text nor tool calls.
    NoReply,
}

/// The outcome of a run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunResponse {
    /// The whole conversation, system message first.
    pub messages: Vec<Message>,
    /// The agent that spoke last.
    pub last_speaker: String,
    /// Tokens used by every LLM request of the run.
    pub usage: Usage,
    /// Why the run ended.
    pub stop_reason: StopReason,
}

impl RunResponse {
    /// The last message.
    pub fn last_message(&self) -> Option<&Message> {
        self.messages.last()
    }

    /// The text of the last assistant message: the run's answer.
    pub fn summary(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant && m.content.is_some())
            .map_or("", Message::text)
    }
}

impl ConversableAgent {
    /// Starts building an agent called `name`.
    pub fn builder(name: impl Into<String>) -> AgentBuilder {
        AgentBuilder {
            agent: ConversableAgent {
                name: name.into(),
                system_message: "You are a helpful AI assistant.".to_owned(),
                llm_config: None,
                client: None,
                llm_tools: Vec::new(),
                executors: Vec::new(),
                human_input_mode: HumanInputMode::Never,
            },
        }
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agent's system message.
    pub fn system_message(&self) -> &str {
        &self.system_message
    }

    /// Registers a tool for every run: offered to the LLM and run when called.
    pub fn register_tool(&mut self, tool: Tool) {
        self.register_for_llm(tool.spec().clone());
        self.register_for_execution(tool);
    }

    /// Offers a tool to the LLM (the seed's `register_for_llm`). A call to a tool that is not also
    /// registered for execution goes back to the LLM as an error.
    pub fn register_for_llm(&mut self, spec: ToolSpec) {
        self.llm_tools.retain(|known| known.name != spec.name);
        self.llm_tools.push(spec);
    }

    /// Runs a tool when the LLM calls it (the seed's `register_for_execution`).
    pub fn register_for_execution(&mut self, tool: Tool) {
        self.executors.retain(|known| known.name() != tool.name());
        self.executors.push(tool);
    }

    fn client(&self) -> Result<Arc<dyn LlmClient>, AgentError> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        self.llm_config
            .as_ref()
            .ok_or_else(|| AgentError::Config(format!("agent {} has no llm_config", self.name)))?
            .client()
    }

    /// Runs the conversation: each turn the LLM replies, and the tools it calls run concurrently
    /// (their results keep the order of the calls). The run ends when the LLM answers without a
    /// tool call, or after `max_turns` turns.
    ///
    /// # Errors
    /// [`AgentError`] when the LLM cannot be reached or answers with an error; a tool's failure is
    /// not an error (the LLM reads it and may try again).
    pub async fn run(&self, options: RunOptions) -> Result<RunResponse, AgentError> {
        let client = self.client()?;
        let specs: Vec<ToolSpec> = self
            .llm_tools
            .iter()
            .cloned()
            .chain(options.tools.iter().map(|tool| tool.spec().clone()))
            .collect();
        let tools: Vec<Tool> = self.executors.iter().cloned().chain(options.tools).collect();
        let mut request = LlmRequest {
            messages: vec![Message::system(&self.system_message), Message::user(options.message)],
            tools: specs,
        };
        let mut usage = Usage::default();
        for turn in 1..=options.max_turns {
            let reply = client.complete(&request).await?;
            usage += reply.usage;
            let mut message = reply.message;
            message.name = Some(self.name.clone());
            let calls = message.tool_calls.clone();
            let empty = calls.is_empty() && message.content.is_none();
            request.messages.push(message);
            if calls.is_empty() {
                let stop_reason = if empty { StopReason::NoReply } else { StopReason::Answered };
                tracing::debug!(agent = %self.name, turn, ?stop_reason, "run ended");
                return Ok(self.response(request.messages, usage, stop_reason));
            }
            let results = futures::future::join_all(calls.iter().map(|call| async {
                let output = match tools.iter().find(|tool| tool.name() == call.name) {
                    Some(tool) => tool.call(&call.arguments).await,
                    None => Err(format!(
                        "there is no tool called {:?} to run; the tools are: {}",
                        call.name,
                        tools.iter().map(Tool::name).collect::<Vec<_>>().join(", ")
                    )),
                };
                let text = output.unwrap_or_else(|err| format!("Error: {err}"));
                Message::tool(&call.id, text)
            }))
            .await;
            request.messages.extend(results);
        }
        Ok(self.response(request.messages, usage, StopReason::MaxTurns))
    }

    fn response(
        &self,
        messages: Vec<Message>,
        usage: Usage,
        stop_reason: StopReason,
    ) -> RunResponse {
        RunResponse { messages, last_speaker: self.name.clone(), usage, stop_reason }
    }
}
