//! What every LLM client shares: the [`LlmClient`] trait, its [`LlmRequest`] and [`LlmReply`],
//! [`ToolSpec`] and [`Usage`]. Both [`OpenAi`](crate::OpenAi) and [`Offline`](crate::Offline)
//! build on this module, and it depends on neither.

use std::fmt;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::error::AgentError;
use crate::message::Message;

/// A tool as the LLM sees it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ToolSpec {
    /// The name the LLM calls it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its parameters, as JSON Schema.
    pub parameters: Value,
}

impl ToolSpec {
    /// A tool description.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        ToolSpec { name: name.into(), description: description.into(), parameters }
    }
}

/// What an agent asks its LLM.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LlmRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The tools it may call.
    pub tools: Vec<ToolSpec>,
}

/// Token counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens read.
    pub prompt_tokens: u64,
    /// Tokens written.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// The LLM's answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LlmReply {
    /// The assistant message (text, tool calls, or both).
    pub message: Message,
    /// What it cost.
    pub usage: Usage,
}

/// Anything that answers chat requests.
pub trait LlmClient: Send + Sync + fmt::Debug {
    /// Answers one request.
    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmReply, AgentError>>;

    /// Answers one request as [`complete`](Self::complete) does, passing each piece of the
    /// answer's text to `on_delta` as it arrives; the pieces, in order, make the reply's text.
    /// Agents call it when a run streams ([`RunOptions::stream`](crate::RunOptions::stream)).
    ///
    /// The default calls `complete` and passes the whole text as one piece (nothing when the
    /// reply has no text): a client that cannot stream, such as the [offline
    /// planner](crate::Offline), still works with streaming on. [`OpenAi`](crate::OpenAi)
    /// streams for real.
    ///
    /// ```
    /// use agent_core::{LlmClient, LlmRequest, Message, Offline};
    ///
    /// let mut request = LlmRequest::default();
    /// request.messages = vec![Message::user("hello")];
    /// let mut pieces = Vec::new();
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let reply = runtime.block_on(
    ///     Offline.complete_streaming(&request, &mut |delta: &str| pieces.push(delta.to_owned())),
    /// )?;
    /// assert_eq!(pieces.concat(), reply.message.text(), "one piece: the whole text");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn complete_streaming<'a>(
        &'a self,
        request: &'a LlmRequest,
        on_delta: &'a mut (dyn FnMut(&str) + Send),
    ) -> BoxFuture<'a, Result<LlmReply, AgentError>> {
        Box::pin(async move {
            let reply = self.complete(request).await?;
            if let Some(text) = reply.message.content.as_deref().filter(|text| !text.is_empty()) {
                on_delta(text);
            }
            Ok(reply)
        })
    }

    /// One line saying what this client is, for people (no secrets).
    fn describe(&self) -> String;
}
