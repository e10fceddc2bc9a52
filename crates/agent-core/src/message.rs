//! The conversation: [`Message`], [`Role`] and [`ToolCall`].

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// The agent's instructions.
    System,
    /// The person (or program) the agent works for.
    User,
    /// The agent, through its LLM.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A tool call the LLM asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, which its result refers to.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as the JSON text the LLM wrote.
    pub arguments: String,
}

/// One message of a conversation.
///
/// ```
/// use agent_core::{Message, Role};
///
/// let question = Message::user("Search for recent papers about LLMs");
/// assert_eq!(question.role, Role::User);
/// assert_eq!(question.text(), "Search for recent papers about LLMs");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text, if any (an assistant message that only calls tools has none).
    pub content: Option<String>,
    /// The agent that spoke it, for assistant messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The tools an assistant message calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: Some(content.into()),
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::new(Role::User, content)
    }

    /// An assistant message with text.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::new(Role::Assistant, content)
    }

    /// An assistant message calling tools, with optional text.
    pub fn assistant_calls(content: Option<String>, tool_calls: Vec<ToolCall>) -> Self {
        Message { role: Role::Assistant, content, name: None, tool_calls, tool_call_id: None }
    }

    /// A tool's result, answering call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message { tool_call_id: Some(tool_call_id.into()), ..Message::new(Role::Tool, content) }
    }

    /// The text, or `""`.
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or("")
    }
}
