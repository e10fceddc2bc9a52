//! Where a conversation goes next: targets, [`ReplyResult`], and the LLM-conditioned handoffs of
//! an agent ([`OnCondition`], [`StringLLMCondition`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::name::sanitize_tool_name;

/// What every transfer tool's name starts with.
const TRANSFER_PREFIX: &str = "transfer_to_";

/// The name of the tool that hands the conversation to the agent called `agent`:
/// `transfer_to_<agent>`, made to fit OpenAI's `^[a-zA-Z0-9_-]{1,64}$` (other characters become
/// `_`, and the name is cut to 64 characters). The one place transfer tools are named: an
/// [`OnCondition`]'s tool has this name, and callers can recognise a transfer call with it (or
/// with [`is_transfer_tool_name`]). When a transfer (or any tool's target) moves a conversation to
/// another agent, the run also records an [`Event::Handoff`](crate::Event::Handoff).
///
/// ```
/// use agent_core::{AgentTarget, transfer_tool_name};
///
/// assert_eq!(transfer_tool_name("research_assistant"), "transfer_to_research_assistant");
/// assert_eq!(transfer_tool_name("mcp agent.1"), "transfer_to_mcp_agent_1");
/// assert_eq!(AgentTarget::new("research_assistant").transfer_tool_name(), "transfer_to_research_assistant");
/// ```
pub fn transfer_tool_name(agent: &str) -> String {
    sanitize_tool_name(&format!("{TRANSFER_PREFIX}{agent}"))
}

/// Whether a tool called `name` is a transfer tool (see [`transfer_tool_name`]), such as the
/// name of a [`ToolCall`](crate::ToolCall) or of an [`Event::ToolCall`](crate::Event::ToolCall).
///
/// ```
/// use agent_core::is_transfer_tool_name;
///
/// assert!(is_transfer_tool_name("transfer_to_research_assistant"));
/// assert!(!is_transfer_tool_name("search_papers"));
/// ```
pub fn is_transfer_tool_name(name: &str) -> bool {
    name.starts_with(TRANSFER_PREFIX)
}

/// The next speaker of a conversation.
///
/// ```
/// use agent_core::Target;
///
/// assert_eq!(Target::Agent("writer".into()).transfer_tool_name(), "transfer_to_writer");
/// assert_eq!(Target::RevertToUser.transfer_tool_name(), "transfer_to_user");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// The agent with this name.
    Agent(String),
    /// End the conversation.
    Terminate,
    /// Hand the conversation back to the user.
    RevertToUser,
    /// The same agent again.
    Stay,
}

impl Target {
    /// The name of the transfer tool that moves the conversation here (see
    /// [`transfer_tool_name`]): `transfer_to_<agent>`, or `transfer_to_terminate`,
    /// `transfer_to_user` and `transfer_to_self` for the other targets.
    pub fn transfer_tool_name(&self) -> String {
        transfer_tool_name(match self {
            Target::Agent(name) => name,
            Target::Terminate => "terminate",
            Target::RevertToUser => "user",
            Target::Stay => "self",
        })
    }
}

/// A target naming an agent, as the seed's `AgentTarget(research_assistant)`.
///
/// ```
/// use agent_core::{AgentTarget, Target};
///
/// assert_eq!(Target::from(AgentTarget::new("research_assistant")), Target::Agent("research_assistant".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgentTarget {
    name: String,
}

impl AgentTarget {
    /// The agent called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        AgentTarget { name: name.into() }
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the tool that hands the conversation to this agent (see
    /// [`transfer_tool_name`]).
    pub fn transfer_tool_name(&self) -> String {
        transfer_tool_name(&self.name)
    }
}

/// Ends the conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TerminateTarget;

/// Hands the conversation back to the user: the run (or group run) ends at once with
/// [`StopReason::RevertedToUser`](crate::StopReason::RevertedToUser).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RevertToUserTarget;

/// Keeps the same agent: the same as naming no target. In a run, and in a group run, the agent's
/// LLM is asked again; it does not stop the first call of a reply that names a real target from
/// deciding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StayTarget;

impl From<AgentTarget> for Target {
    fn from(target: AgentTarget) -> Self {
        Target::Agent(target.name)
    }
}

impl From<TerminateTarget> for Target {
    fn from(_: TerminateTarget) -> Self {
        Target::Terminate
    }
}

impl From<RevertToUserTarget> for Target {
    fn from(_: RevertToUserTarget) -> Self {
        Target::RevertToUser
    }
}

impl From<StayTarget> for Target {
    fn from(_: StayTarget) -> Self {
        Target::Stay
    }
}

/// What a tool returns when it also decides where the conversation goes, as the seed's
/// `ReplyResult(message=..., target_agent=AgentTarget(research_assistant))`. Unlike AG2, the
/// target is honoured. When one reply calls several tools, the first call (in the reply's
/// order) whose result names a target other than [`StayTarget`] decides.
///
/// ```
/// use agent_core::{AgentTarget, ReplyResult, Target};
///
/// let result = ReplyResult::new("3 papers found").target(AgentTarget::new("research_assistant"));
/// assert_eq!(result.target, Some(Target::Agent("research_assistant".into())));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ReplyResult {
    /// The tool's result, as the LLM reads it.
    pub message: String,
    /// Where the conversation goes next, if the tool decides.
    pub target: Option<Target>,
    /// Variables for the agents that speak next.
    pub context_variables: BTreeMap<String, Value>,
}

impl ReplyResult {
    /// A result with this message and no target.
    pub fn new(message: impl Into<String>) -> Self {
        ReplyResult { message: message.into(), target: None, context_variables: BTreeMap::new() }
    }

    /// Sets where the conversation goes next.
    #[must_use]
    pub fn target(mut self, target: impl Into<Target>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets a context variable.
    #[must_use]
    pub fn context_variable(mut self, name: impl Into<String>, value: Value) -> Self {
        self.context_variables.insert(name.into(), value);
        self
    }
}

impl From<String> for ReplyResult {
    fn from(message: String) -> Self {
        ReplyResult::new(message)
    }
}

impl From<&str> for ReplyResult {
    fn from(message: &str) -> Self {
        ReplyResult::new(message)
    }
}

/// A condition the LLM judges, as the seed's `StringLLMCondition(prompt="...")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringLLMCondition {
    prompt: String,
}

impl StringLLMCondition {
    /// A condition described by `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        StringLLMCondition { prompt: prompt.into() }
    }

    /// The prompt.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }
}

/// Hand the conversation to `target` when the LLM judges `condition` true. It becomes a
/// zero-argument tool, `transfer_to_<target>`, described by the condition's prompt.
///
/// ```
/// use agent_core::{AgentTarget, OnCondition, StringLLMCondition};
///
/// let back = OnCondition::new(
///     AgentTarget::new("research_assistant"),
///     StringLLMCondition::new("The research paper ids are fetched."),
/// );
/// assert_eq!(back.tool_name(), "transfer_to_research_assistant");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OnCondition {
    target: Target,
    condition: StringLLMCondition,
}

impl OnCondition {
    /// Hand over to `target` when `condition` holds.
    pub fn new(target: impl Into<Target>, condition: StringLLMCondition) -> Self {
        OnCondition { target: target.into(), condition }
    }

    /// Where it hands over to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The condition.
    pub fn condition(&self) -> &StringLLMCondition {
        &self.condition
    }

    /// The transfer tool's name: [`Target::transfer_tool_name`] of its target.
    pub fn tool_name(&self) -> String {
        self.target.transfer_tool_name()
    }
}

/// An agent's handoffs: LLM-judged conditions, and where to go after it answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Handoffs {
    llm_conditions: Vec<OnCondition>,
    after_work: Option<Target>,
}

impl Handoffs {
    /// Adds LLM-judged conditions (the seed's `agent.handoffs.add_llm_conditions([...])`).
    pub fn add_llm_conditions(
        &mut self,
        conditions: impl IntoIterator<Item = OnCondition>,
    ) -> &mut Self {
        self.llm_conditions.extend(conditions);
        self
    }

    /// Where the conversation goes after the agent answers without calling a tool (in a group;
    /// default: it ends).
    pub fn set_after_work(&mut self, target: impl Into<Target>) -> &mut Self {
        self.after_work = Some(target.into());
        self
    }

    /// The conditions.
    pub fn llm_conditions(&self) -> &[OnCondition] {
        &self.llm_conditions
    }

    /// The after-work target.
    pub fn after_work(&self) -> Option<&Target> {
        self.after_work.as_ref()
    }
}
