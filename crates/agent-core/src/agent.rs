//! [`ConversableAgent`] and its runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::client::{LlmClient, LlmRequest, ToolSpec, Usage};
use crate::error::{AgentError, LlmConfigError};
use crate::event::{Event, Events, StopReason};
use crate::handoff::{Handoffs, OnCondition, ReplyResult, Target};
use crate::human::{HumanInput, HumanMoment, HumanPrompt, HumanReply};
use crate::llm::LLMConfig;
use crate::message::{Message, Role};
use crate::tool::Tool;

/// When the agent asks a human, as AG2's `human_input_mode`. The human is a [`HumanInput`]
/// given with [`AgentBuilder::human_input`] or [`RunOptions::human_input`]; an agent in `Always`
/// or `Terminate` mode without one fails its run at once with [`AgentError::NoHumanInput`].
///
/// | mode | asks | [`HumanReply::Continue`] (empty) | [`HumanReply::Text`] | [`HumanReply::Exit`] |
/// |---|---|---|---|---|
/// | `Never` | never | | | |
/// | `Always` | before each of its turns ([`HumanMoment::BeforeReply`]) | the agent replies | the user's message, then the agent replies | ends: [`StopReason::HumanExit`] |
/// | `Always`, `Terminate` | when the conversation would end ([`HumanMoment::BeforeEnd`]) | it ends as it would have | the user's message: the conversation goes on | ends: [`StopReason::HumanExit`] |
///
/// The conversation "would end" when the agent answers without a tool (or says nothing), a
/// [`TerminateTarget`](crate::TerminateTarget) or [`RevertToUserTarget`](crate::RevertToUserTarget)
/// ends it, or `max_turns` is reached; a handoff to an agent outside the run is not an end.
/// `max_turns` counts the turns since the human's last message: a human's text gives the run
/// `max_turns` more (AG2 resets its auto-reply counter the same way). After the human spoke at
/// the end, the agent replies without being asked again first.
///
/// ```
/// use agent_core::HumanInputMode;
///
/// assert_eq!(HumanInputMode::default(), HumanInputMode::Never);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HumanInputMode {
    /// Never ask: the agent runs unattended, as in the seed.
    #[default]
    Never,
    /// Ask before every turn of the agent, and when the conversation would end.
    Always,
    /// Ask only when the conversation would end.
    Terminate,
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
    handoffs: Handoffs,
    human_input_mode: HumanInputMode,
    human_input: Option<Arc<dyn HumanInput>>,
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

    /// When it asks a human (see [`HumanInputMode`]).
    pub fn human_input_mode(mut self, mode: HumanInputMode) -> Self {
        self.agent.human_input_mode = mode;
        self
    }

    /// The human it asks, in every run (and in [`run_group`]), unless a run gives its own with
    /// [`RunOptions::human_input`].
    pub fn human_input(mut self, human: Arc<dyn HumanInput>) -> Self {
        self.agent.human_input = Some(human);
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

/// What to run: the first message, extra tools, the turn limit, where events go, whether the
/// LLM's text streams, and the human to ask.
///
/// ```
/// use agent_core::RunOptions;
///
/// let options = RunOptions::new("Search for recent papers about LLMs").max_turns(5).stream(true);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RunOptions {
    message: String,
    history: Vec<Message>,
    tools: Vec<Tool>,
    max_turns: usize,
    events: Option<UnboundedSender<Event>>,
    stream: bool,
    human_input: Option<Arc<dyn HumanInput>>,
}

impl RunOptions {
    /// A run that starts with `message`, allowing 10 turns, not streaming.
    pub fn new(message: impl Into<String>) -> Self {
        RunOptions {
            message: message.into(),
            history: Vec::new(),
            tools: Vec::new(),
            max_turns: 10,
            events: None,
            stream: false,
            human_input: None,
        }
    }

    /// Streams the LLM's answers (default off): each piece of text is sent to
    /// [`events`](Self::events) as an [`Event::TextDelta`] as it arrives, before the
    /// [`Event::TextMessage`] with the whole text. Tool calls are assembled from their pieces
    /// and run as usual. Clients that cannot stream (the [offline planner](crate::Offline)) send
    /// their whole text as one delta. See [`LlmClient::complete_streaming`]. [`run_group`] does
    /// not stream.
    ///
    /// ```
    /// use agent_core::{ConversableAgent, Event, LLMConfig, ModelConfig, RunOptions};
    ///
    /// # async fn demo() -> Result<(), agent_core::AgentError> {
    /// let agent = ConversableAgent::builder("assistant")
    ///     .llm_config(LLMConfig::new(ModelConfig::offline()))
    ///     .build();
    /// let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    /// let printer = tokio::spawn(async move {
    ///     let mut shown = String::new();
    ///     while let Some(event) = received.recv().await {
    ///         match event {
    ///             // A terminal prints each piece as it comes: print!("{delta}").
    ///             Event::TextDelta { delta, .. } => shown.push_str(&delta),
    ///             // The whole message follows its pieces.
    ///             Event::TextMessage { content, .. } => assert!(shown.ends_with(&content)),
    ///             _ => {}
    ///         }
    ///     }
    ///     shown
    /// });
    /// let response = agent.run(RunOptions::new("hello").stream(true).events(events)).await?;
    /// assert_eq!(printer.await.expect("the printer"), response.summary());
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// The human to ask in this run (over the agent's own, from
    /// [`AgentBuilder::human_input`]), when its [`HumanInputMode`] is `Always` or `Terminate`.
    pub fn human_input(mut self, human: Arc<dyn HumanInput>) -> Self {
        self.human_input = Some(human);
        self
    }

    /// Earlier messages of the conversation, sent after the agent's system message and before
    /// the run's message (default none): a conversation carried over from earlier runs, whose
    /// [`RunResponse::messages`] these are without their system message. A chat is then one
    /// run per user message, and dropping a run (to cancel it) leaves the history as it was.
    ///
    /// ```
    /// use agent_core::{ConversableAgent, LLMConfig, Message, ModelConfig, Role, RunOptions};
    ///
    /// # async fn demo() -> Result<(), agent_core::AgentError> {
    /// let agent = ConversableAgent::builder("assistant")
    ///     .llm_config(LLMConfig::new(ModelConfig::offline()))
    ///     .build();
    /// let first = agent.run(RunOptions::new("hello")).await?;
    /// // Everything but the system message goes on to the next run.
    /// let history: Vec<Message> =
    ///     first.messages.into_iter().filter(|m| m.role != Role::System).collect();
    /// let second = agent.run(RunOptions::new("and again").history(history.clone())).await?;
    /// assert_eq!(second.messages[1..=history.len()], history[..]);
    /// assert_eq!(second.messages[history.len() + 1].text(), "and again");
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn history(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.history = messages.into_iter().collect();
        self
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

    /// Sends every [`Event`] here as it happens (they are also kept in the response).
    pub fn events(mut self, sender: UnboundedSender<Event>) -> Self {
        self.events = Some(sender);
        self
    }
}

/// The outcome of a run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunResponse {
    /// The whole conversation (a single agent's run starts with its system message).
    pub messages: Vec<Message>,
    /// The agent that spoke last.
    pub last_speaker: String,
    /// Tokens used by every LLM request of the run.
    pub usage: Usage,
    /// Why the run ended.
    pub stop_reason: StopReason,
    /// What happened, in order.
    pub events: Vec<Event>,
    /// The context variables tools set through their [`ReplyResult`]s (later values win).
    pub context_variables: BTreeMap<String, Value>,
}

impl RunResponse {
    /// Prints the conversation (its events) to standard output and returns the response, as the
    /// seed's `await result.process()` (which, in AG2, returns nothing).
    ///
    /// # Errors
    /// None today; the `Result` is there for parity with the seed's awaited call.
    #[allow(clippy::print_stdout, clippy::unused_async)]
    pub async fn process(self) -> Result<RunResponse, AgentError> {
        for event in &self.events {
            println!("{event}");
        }
        Ok(self)
    }

    /// The last message.
    pub fn last_message(&self) -> Option<&Message> {
        self.messages.last()
    }

    /// The run's result: the message of the tool that handed off or terminated, else the text of
    /// the last assistant message.
    pub fn summary(&self) -> &str {
        let by_tool =
            matches!(self.stop_reason, StopReason::HandedOff { .. } | StopReason::Terminated)
                && self.messages.last().is_some_and(|m| m.role == Role::Tool);
        if by_tool {
            return self.messages.last().map_or("", Message::text);
        }
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant && m.content.is_some())
            .map_or("", Message::text)
    }
}

/// One turn's outcome: what the agent said and did, and where the conversation goes.
struct Turn {
    messages: Vec<Message>,
    usage: Usage,
    called_tools: bool,
    empty: bool,
    target: Option<Target>,
    context_variables: BTreeMap<String, Value>,
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
                handoffs: Handoffs::default(),
                human_input_mode: HumanInputMode::Never,
                human_input: None,
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

    /// When the agent asks a human.
    pub fn human_input_mode(&self) -> HumanInputMode {
        self.human_input_mode
    }

    /// The agent's handoffs, to add conditions to (the seed's `agent.handoffs`).
    pub fn handoffs(&mut self) -> &mut Handoffs {
        &mut self.handoffs
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
            .ok_or_else(|| LlmConfigError::NoLlm { agent: self.name.clone() })?
            .client()
    }

    /// Runs the conversation: each turn the LLM replies, and the tools it calls run concurrently
    /// (their results keep the order of the calls). The run ends when the LLM answers without a
    /// tool call, when a tool's [`ReplyResult`](crate::ReplyResult) (or a handoff's transfer tool)
    /// targets another agent ([`StopReason::HandedOff`]) or ends the conversation, or after
    /// `max_turns` turns. An agent whose [`HumanInputMode`] is not `Never` asks the human too,
    /// and the human may go on or end it ([`StopReason::HumanExit`]).
    ///
    /// # Errors
    /// [`AgentError`] when the LLM cannot be reached or answers with an error;
    /// [`AgentError::NoHumanInput`] (before anything else) when the agent would ask a human and
    /// has none; [`AgentError::HumanInput`] when the human cannot be asked. A tool's failure is
    /// not an error (the LLM reads it and may try again).
    pub async fn run(&self, options: RunOptions) -> Result<RunResponse, AgentError> {
        let conversation = Conversation {
            agents: std::slice::from_ref(self),
            extra_tools: &options.tools,
            kind: Kind::Single,
            stream: options.stream,
            human_input: options.human_input,
        };
        let mut messages = Vec::with_capacity(options.history.len() + 2);
        messages.push(Message::system(&self.system_message));
        messages.extend(options.history);
        messages.push(Message::user(options.message));
        conversation.run(self, messages, options.max_turns, options.events).await
    }

    /// One turn of `conversation`: ask the LLM (adding this agent's system message first in a
    /// group, where the history has none), run the tools it calls, and say where the
    /// conversation goes.
    async fn turn(
        &self,
        client: &dyn LlmClient,
        conversation: &Conversation<'_>,
        history: &[Message],
        context: &BTreeMap<String, Value>,
        events: &mut Events,
    ) -> Result<Turn, AgentError> {
        let extra = conversation.extra_tools;
        let transfers: Vec<Tool> =
            self.handoffs.llm_conditions().iter().map(transfer_tool).collect();
        let specs: Vec<ToolSpec> = self
            .llm_tools
            .iter()
            .cloned()
            .chain(extra.iter().chain(&transfers).map(|tool| tool.spec().clone()))
            .collect();
        let tools: Vec<Tool> =
            self.executors.iter().chain(extra).chain(&transfers).cloned().collect();
        let mut messages = Vec::with_capacity(history.len() + 2);
        if conversation.kind == Kind::Group {
            messages.push(Message::system(&self.system_message));
        }
        messages.extend_from_slice(history);
        if !context.is_empty() {
            let variables = serde_json::to_string(context).unwrap_or_default();
            messages.insert(
                1.min(messages.len()),
                Message::system(format!("Context variables: {variables}")),
            );
        }
        let request = LlmRequest { messages, tools: specs };
        let reply = if conversation.stream {
            let mut on_delta = |delta: &str| {
                if !delta.is_empty() {
                    events.send_only(Event::TextDelta {
                        agent: self.name.clone(),
                        delta: delta.to_owned(),
                    });
                }
            };
            client.complete_streaming(&request, &mut on_delta).await?
        } else {
            client.complete(&request).await?
        };
        let mut message = reply.message;
        message.name = Some(self.name.clone());
        let calls = message.tool_calls.clone();
        let empty = calls.is_empty() && message.content.is_none();
        if let Some(content) = &message.content {
            events.push(Event::TextMessage { agent: self.name.clone(), content: content.clone() });
        }
        for call in &calls {
            events.push(Event::ToolCall {
                agent: self.name.clone(),
                id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            });
        }
        let mut said = vec![message];
        let results = futures::future::join_all(calls.iter().map(|call| async {
            let output = match tools.iter().find(|tool| tool.name() == call.name) {
                Some(tool) => tool.call(&call.arguments).await,
                None => Err(format!(
                    "there is no tool called {:?} to run; the tools are: {}",
                    call.name,
                    tools.iter().map(Tool::name).collect::<Vec<_>>().join(", ")
                )),
            };
            match output {
                Ok(result) => (
                    Message::tool(&call.id, result.message),
                    result.target,
                    result.context_variables,
                ),
                Err(err) => {
                    (Message::tool(&call.id, format!("Error: {err}")), None, BTreeMap::new())
                }
            }
        }))
        .await;
        let mut target = None;
        let mut context_variables = BTreeMap::new();
        for ((message, wanted, variables), call) in results.into_iter().zip(&calls) {
            context_variables.extend(variables);
            events.push(Event::ToolResponse {
                id: call.id.clone(),
                name: call.name.clone(),
                content: message.text().to_owned(),
            });
            said.push(message);
            // The first call that names a target decides; `Stay` names none.
            if target.is_none() && wanted.as_ref().is_some_and(|t| *t != Target::Stay) {
                target = wanted;
            }
        }
        Ok(Turn {
            messages: said,
            usage: reply.usage,
            called_tools: !calls.is_empty(),
            empty,
            target,
            context_variables,
        })
    }
}

/// The response of a run that ended for `stop_reason`.
fn finish(
    messages: Vec<Message>,
    last_speaker: String,
    usage: Usage,
    stop_reason: StopReason,
    mut events: Events,
    context_variables: BTreeMap<String, Value>,
) -> RunResponse {
    events.push(Event::Termination { reason: stop_reason.clone() });
    RunResponse {
        messages,
        last_speaker,
        usage,
        stop_reason,
        events: events.kept,
        context_variables,
    }
}

/// The zero-argument tool an [`OnCondition`] becomes.
fn transfer_tool(condition: &OnCondition) -> Tool {
    let target = condition.target().clone();
    let to = match &target {
        Target::Agent(name) => name.clone(),
        other => format!("{other:?}").to_lowercase(),
    };
    let description =
        format!("{} Call this to hand the conversation over.", condition.condition().prompt());
    Tool::new(
        condition.tool_name(),
        description,
        json!({"type": "object", "properties": {}}),
        move |_| {
            let result = ReplyResult::new(format!("Transferred to {to}.")).target(target.clone());
            async move { result }
        },
    )
}

/// Runs a conversation among `agents`, starting with the agent called `initial`: each round one
/// agent takes a turn (an LLM reply and the tools it calls); a tool's target (or a handoff's
/// transfer tool) picks the next speaker, and an agent that answers without a tool hands over to
/// its after-work target, or ends the conversation if it has none. At most `max_rounds` rounds.
///
/// # Errors
/// [`AgentError::UnknownAgent`] when `initial` or a target names no agent of the group; an LLM
/// error.
pub async fn run_group(
    agents: &[ConversableAgent],
    initial: &str,
    message: impl Into<String>,
    max_rounds: usize,
) -> Result<RunResponse, AgentError> {
    run_group_streaming(agents, initial, message, max_rounds, None).await
}

/// [`run_group`], also sending every [`Event`] to `events` as it happens.
///
/// # Errors
/// As [`run_group`].
pub async fn run_group_streaming(
    agents: &[ConversableAgent],
    initial: &str,
    message: impl Into<String>,
    max_rounds: usize,
    events: Option<UnboundedSender<Event>>,
) -> Result<RunResponse, AgentError> {
    let conversation = Conversation {
        agents,
        extra_tools: &[],
        kind: Kind::Group,
        stream: false,
        human_input: None,
    };
    let first = conversation.find(initial).ok_or_else(|| conversation.unknown(initial))?;
    conversation.run(first, vec![Message::user(message)], max_rounds, events).await
}

/// A single agent's run, or a group's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One agent: its system message opens the conversation; a target outside the run ends it
    /// ([`StopReason::HandedOff`]); an answer ends it (after-work targets are for groups).
    Single,
    /// Several agents: each speaks with its own system message; a target picks the next speaker
    /// (an unknown one is an error); an answer goes to the after-work target.
    Group,
}

/// What one conversation runs with.
struct Conversation<'a> {
    agents: &'a [ConversableAgent],
    /// Tools of this run, besides each agent's own.
    extra_tools: &'a [Tool],
    kind: Kind,
    /// Whether the LLMs' answers stream.
    stream: bool,
    /// The run's human, over each agent's own.
    human_input: Option<Arc<dyn HumanInput>>,
}

impl<'a> Conversation<'a> {
    fn find(&self, name: &str) -> Option<&'a ConversableAgent> {
        self.agents.iter().find(|agent| agent.name == name)
    }

    fn unknown(&self, name: &str) -> AgentError {
        AgentError::UnknownAgent {
            name: name.to_owned(),
            known: self.agents.iter().map(|agent| agent.name.clone()).collect(),
        }
    }

    /// The human `agent` asks: the run's, else its own.
    fn human_for(&self, agent: &ConversableAgent) -> Option<Arc<dyn HumanInput>> {
        self.human_input.clone().or_else(|| agent.human_input.clone())
    }

    /// Fails when an agent would ask a human and has none.
    fn check_humans(&self) -> Result<(), AgentError> {
        let lacking = self.agents.iter().find(|agent| {
            agent.human_input_mode != HumanInputMode::Never && self.human_for(agent).is_none()
        });
        match lacking {
            Some(agent) => Err(AgentError::NoHumanInput {
                agent: agent.name.clone(),
                mode: agent.human_input_mode,
            }),
            None => Ok(()),
        }
    }

    /// Asks `agent`'s human at `moment`, recording the prompt and the reply (a blank text counts
    /// as `Continue`).
    async fn ask(
        &self,
        agent: &ConversableAgent,
        moment: HumanMoment,
        events: &mut Events,
    ) -> Result<HumanReply, AgentError> {
        let human = self.human_for(agent).ok_or_else(|| AgentError::NoHumanInput {
            agent: agent.name.clone(),
            mode: agent.human_input_mode,
        })?;
        let prompt = HumanPrompt::new(&agent.name, moment);
        tracing::debug!(agent = %agent.name, moment = ?prompt.moment, "asking the human");
        events.push(Event::HumanPrompt { prompt: prompt.clone() });
        let span = tracing::debug_span!("human_input", agent = %agent.name);
        let reply = match tracing::Instrument::instrument(human.ask(&prompt), span).await? {
            HumanReply::Text(text) if text.trim().is_empty() => HumanReply::Continue,
            reply => reply,
        };
        // The reply's kind only: what a person types is theirs.
        tracing::debug!(
            agent = %agent.name,
            reply = match &reply {
                HumanReply::Text(_) => "text",
                HumanReply::Continue => "continue",
                HumanReply::Exit => "exit",
            },
            "the human answered"
        );
        events.push(Event::HumanReply { agent: agent.name.clone(), reply: reply.clone() });
        Ok(reply)
    }

    /// Where the conversation goes after `current`'s turn, which named `target` (or none),
    /// called tools or not, and said nothing or not: `Some` reason when it would end; a handoff
    /// inside the conversation makes the target `current`.
    fn route(
        &self,
        current: &mut &'a ConversableAgent,
        target: Option<Target>,
        called_tools: bool,
        empty: bool,
        events: &mut Events,
    ) -> Result<Option<StopReason>, AgentError> {
        let next = match (target, called_tools) {
            (Some(target), _) => target,
            (None, true) => Target::Stay,
            (None, false) if self.kind == Kind::Group => {
                current.handoffs.after_work().cloned().unwrap_or(Target::Terminate)
            }
            (None, false) => Target::Terminate,
        };
        Ok(match next {
            Target::Agent(name) if name == current.name => None,
            Target::Agent(name) => match (self.find(&name), self.kind) {
                (Some(next), _) => {
                    events
                        .push(Event::Handoff { from: current.name.clone(), to: next.name.clone() });
                    *current = next;
                    None
                }
                (None, Kind::Single) => {
                    events.push(Event::Handoff { from: current.name.clone(), to: name.clone() });
                    Some(StopReason::HandedOff { to: name })
                }
                (None, Kind::Group) => return Err(self.unknown(&name)),
            },
            Target::Stay => None,
            Target::Terminate if empty => Some(StopReason::NoReply),
            Target::Terminate if !called_tools => Some(StopReason::Answered),
            Target::Terminate => Some(StopReason::Terminated),
            Target::RevertToUser => Some(StopReason::RevertedToUser),
        })
    }

    /// The turn loop of `run` and `run_group`: at most `max_turns` turns since the human last
    /// spoke, starting with `first`; the human is asked before each turn of an agent in `Always`
    /// mode and when the conversation would end (`Always` and `Terminate`).
    async fn run(
        &self,
        first: &'a ConversableAgent,
        mut messages: Vec<Message>,
        max_turns: usize,
        sender: Option<UnboundedSender<Event>>,
    ) -> Result<RunResponse, AgentError> {
        self.check_humans()?;
        let mut current = first;
        let mut events = Events { kept: Vec::new(), sender };
        let mut usage = Usage::default();
        let mut context = BTreeMap::new();
        // Turns since the human last spoke; whether the human just spoke (then the agent replies
        // without being asked first).
        let (mut turns, mut human_spoke) = (0, false);
        loop {
            let stop = if turns >= max_turns {
                Some(StopReason::MaxTurns)
            } else {
                if current.human_input_mode == HumanInputMode::Always && !human_spoke {
                    match self.ask(current, HumanMoment::BeforeReply, &mut events).await? {
                        HumanReply::Text(text) => {
                            messages.push(Message::user(text));
                            turns = 0;
                        }
                        HumanReply::Exit => {
                            return Ok(finish(
                                messages,
                                current.name.clone(),
                                usage,
                                StopReason::HumanExit,
                                events,
                                context,
                            ));
                        }
                        HumanReply::Continue => {}
                    }
                }
                human_spoke = false;
                let client = current.client()?;
                let turn =
                    current.turn(client.as_ref(), self, &messages, &context, &mut events).await?;
                turns += 1;
                usage += turn.usage;
                context.extend(turn.context_variables);
                messages.extend(turn.messages);
                self.route(&mut current, turn.target, turn.called_tools, turn.empty, &mut events)?
            };
            let Some(mut stop_reason) = stop else { continue };
            let asks = current.human_input_mode != HumanInputMode::Never
                && !matches!(stop_reason, StopReason::HandedOff { .. });
            if asks {
                let moment = HumanMoment::BeforeEnd { reason: stop_reason.clone() };
                match self.ask(current, moment, &mut events).await? {
                    HumanReply::Text(text) => {
                        messages.push(Message::user(text));
                        (turns, human_spoke) = (0, true);
                        continue;
                    }
                    HumanReply::Exit => stop_reason = StopReason::HumanExit,
                    // It ends as it would have.
                    HumanReply::Continue => {}
                }
            }
            tracing::debug!(agent = %current.name, ?stop_reason, "run ended");
            return Ok(finish(messages, current.name.clone(), usage, stop_reason, events, context));
        }
    }
}
