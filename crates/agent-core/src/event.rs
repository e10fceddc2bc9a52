//! [`Event`]s: what happens during a run, streamed while it goes on and kept in the response.

use std::fmt;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

/// Something that happened during a run.
///
/// It serializes as one JSON object tagged by `type` (research-demo's `--json` prints these
/// lines, so the format is stable):
///
/// | variant | JSON |
/// |---|---|
/// | `TextMessage` | `{"type":"text","agent":…,"content":…}` |
/// | `ToolCall` | `{"type":"tool_call","agent":…,"id":…,"name":…,"arguments":…}` (`arguments` is the JSON text) |
/// | `ToolResponse` | `{"type":"tool_response","id":…,"name":…,"content":…}` |
/// | `Handoff` | `{"type":"handoff","from":…,"to":…}` |
/// | `Termination` | `{"type":"termination","reason":{"kind":…}}`, see [`StopReason`] |
///
/// A call of a transfer tool (see [`transfer_tool_name`](crate::transfer_tool_name)) is a
/// `ToolCall` like any other; when the conversation does move to another agent, a `Handoff`
/// follows.
///
/// ```
/// use agent_core::{Event, StopReason};
///
/// let event = Event::Termination { reason: StopReason::HandedOff { to: "writer".into() } };
/// assert_eq!(
///     serde_json::to_string(&event)?,
///     r#"{"type":"termination","reason":{"kind":"handed_off","to":"writer"}}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// An agent said something.
    #[serde(rename = "text")]
    TextMessage {
        /// The agent.
        agent: String,
        /// What it said.
        content: String,
    },
    /// An agent called a tool.
    ToolCall {
        /// The agent.
        agent: String,
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// The arguments, as JSON text.
        arguments: String,
    },
    /// A tool answered.
    ToolResponse {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// The result (or the error, prefixed `Error:`).
        content: String,
    },
    /// The conversation moved from one agent to another: a transfer tool was called, or a
    /// tool's [`ReplyResult`](crate::ReplyResult) named another agent. This, not a tool's name,
    /// is how to tell that a handoff happened.
    Handoff {
        /// The agent that handed over.
        from: String,
        /// The agent that takes over.
        to: String,
    },
    /// The run ended.
    Termination {
        /// Why.
        reason: StopReason,
    },
}

/// Why a run ended.
///
/// It serializes tagged by `kind`: `{"kind":"answered"}`, `{"kind":"max_turns"}`,
/// `{"kind":"handed_off","to":"research_assistant"}`, `{"kind":"terminated"}`,
/// `{"kind":"reverted_to_user"}`, `{"kind":"no_reply"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The LLM answered without calling a tool (and, in a group, no after-work target took over).
    Answered,
    /// The turn (or round) limit was reached.
    MaxTurns,
    /// A tool's [`ReplyResult`](crate::ReplyResult) targeted an agent outside the run: the
    /// conversation goes on with it, and the tool's message is the run's result.
    HandedOff {
        /// The agent's name.
        to: String,
    },
    /// A [`TerminateTarget`](crate::TerminateTarget) ended the conversation.
    Terminated,
    /// A [`RevertToUserTarget`](crate::RevertToUserTarget) handed the conversation back.
    RevertedToUser,
    /// The LLM answered with neither text nor tool calls.
    NoReply,
}

impl fmt::Display for Event {
    /// One or more lines for people, as `process()` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::TextMessage { agent, content } => write!(f, "{agent}: {content}"),
            Event::ToolCall { agent, name, arguments, .. } => {
                write!(f, "{agent} calls {name}({arguments})")
            }
            Event::ToolResponse { name, content, .. } => write!(f, "  {name} -> {content}"),
            Event::Handoff { from, to } => write!(f, "{from} hands over to {to}"),
            Event::Termination { reason } => write!(f, "(run ended: {reason:?})"),
        }
    }
}

/// Keeps a run's events and streams them to an optional channel.
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub(crate) kept: Vec<Event>,
    pub(crate) sender: Option<UnboundedSender<Event>>,
}

impl Events {
    pub(crate) fn push(&mut self, event: Event) {
        if let Some(sender) = &self.sender {
            // A receiver that went away does not stop the run.
            let _ = sender.send(event.clone());
        }
        self.kept.push(event);
    }
}
