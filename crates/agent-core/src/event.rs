//! [`Event`]s: what happens during a run, streamed while it goes on and kept in the response.

use std::fmt;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::human::{HumanPrompt, HumanReply};

/// Something that happened during a run.
///
/// It serializes as one JSON object tagged by `type` (research-demo's `--json` prints these
/// lines, so the format is stable):
///
/// | variant | JSON |
/// |---|---|
/// | `TextMessage` | `{"type":"text","agent":…,"content":…}` |
/// | `TextDelta` | `{"type":"text_delta","agent":…,"delta":…}` |
/// | `ToolCall` | `{"type":"tool_call","agent":…,"id":…,"name":…,"arguments":…}` (`arguments` is the JSON text) |
/// | `ToolResponse` | `{"type":"tool_response","id":…,"name":…,"content":…}` |
/// | `Handoff` | `{"type":"handoff","from":…,"to":…}` |
/// | `HumanPrompt` | `{"type":"human_prompt","agent":…,"moment":{"kind":…},"message":…}`, see [`HumanPrompt`] |
/// | `HumanReply` | `{"type":"human_reply","agent":…,"reply":{"kind":…}}`, see [`HumanReply`] |
/// | `Termination` | `{"type":"termination","reason":{"kind":…}}`, see [`StopReason`] |
///
/// A call of a transfer tool (see [`transfer_tool_name`](crate::transfer_tool_name)) is a
/// `ToolCall` like any other; when the conversation does move to another agent, a `Handoff`
/// follows.
///
/// When a run streams ([`RunOptions::stream`](crate::RunOptions::stream)), each piece of an
/// agent's text is a `TextDelta` as it arrives, and the `TextMessage` with the whole text still
/// follows: the deltas of one message, in order, make its `content`. Deltas are only sent to
/// [`RunOptions::events`](crate::RunOptions::events); they are not kept in
/// [`RunResponse::events`](crate::RunResponse::events), where the `TextMessage` has it all.
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
    /// A piece of an agent's text, as its LLM streams it (only when the run streams). Pieces
    /// add up: the `TextMessage` that follows has them all.
    TextDelta {
        /// The agent.
        agent: String,
        /// The new text, to append to what came before.
        delta: String,
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
    /// The run asks the human ([`HumanInputMode`](crate::HumanInputMode) `Always` or
    /// `Terminate`).
    HumanPrompt {
        /// What is asked (its fields are this event's, in JSON).
        #[serde(flatten)]
        prompt: HumanPrompt,
    },
    /// The human answered a `HumanPrompt`.
    HumanReply {
        /// The agent that asked.
        agent: String,
        /// The answer.
        reply: HumanReply,
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
/// `{"kind":"reverted_to_user"}`, `{"kind":"no_reply"}`, `{"kind":"human_exit"}`.
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
    /// The human ended the conversation ([`HumanReply::Exit`]), asked by an agent whose
    /// [`HumanInputMode`](crate::HumanInputMode) is `Always` or `Terminate`.
    HumanExit,
}

impl fmt::Display for Event {
    /// One or more lines for people, as `process()` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::TextMessage { agent, content } => write!(f, "{agent}: {content}"),
            Event::TextDelta { delta, .. } => f.write_str(delta),
            Event::ToolCall { agent, name, arguments, .. } => {
                write!(f, "{agent} calls {name}({arguments})")
            }
            Event::ToolResponse { name, content, .. } => write!(f, "  {name} -> {content}"),
            Event::Handoff { from, to } => write!(f, "{from} hands over to {to}"),
            Event::HumanPrompt { prompt } => write!(f, "(asking the human) {}", prompt.message),
            Event::HumanReply { reply, .. } => match reply {
                HumanReply::Text(text) => write!(f, "human: {text}"),
                HumanReply::Continue => f.write_str("human: (continue)"),
                HumanReply::Exit => f.write_str("human: exit"),
            },
            Event::Termination { reason } => write!(f, "(run ended: {reason})"),
        }
    }
}

impl fmt::Display for StopReason {
    /// Why the run ended, in words: `answered`, `handed over to research_assistant`, ….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Answered => f.write_str("answered"),
            StopReason::MaxTurns => f.write_str("the turn limit was reached"),
            StopReason::HandedOff { to } => write!(f, "handed over to {to}"),
            StopReason::Terminated => f.write_str("terminated"),
            StopReason::RevertedToUser => f.write_str("handed back to the user"),
            StopReason::NoReply => f.write_str("the model gave no reply"),
            StopReason::HumanExit => f.write_str("the human left"),
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
    /// Sends `event` without keeping it (a [`Event::TextDelta`]).
    pub(crate) fn send_only(&self, event: Event) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(event);
        }
    }

    pub(crate) fn push(&mut self, event: Event) {
        if let Some(sender) = &self.sender {
            // A receiver that went away does not stop the run.
            let _ = sender.send(event.clone());
        }
        self.kept.push(event);
    }
}
