//! [`Event`]s: what happens during a run, streamed while it goes on and kept in the response.

use std::fmt;

use tokio::sync::mpsc::UnboundedSender;

use crate::agent::StopReason;

/// Something that happened during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An agent said something.
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
    /// The conversation moved from one agent to another.
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
