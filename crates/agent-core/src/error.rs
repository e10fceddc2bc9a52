//! [`AgentError`]: what can go wrong running an agent.

use std::time::Duration;

/// An error running an agent. A tool's failure is not one: it goes back to the LLM as the tool's
/// result, so the model can recover.
///
/// ```
/// use agent_core::AgentError;
///
/// let err = AgentError::Llm { status: Some(500), message: "server_error".into() };
/// assert!(err.to_string().contains("HTTP 500"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The LLM endpoint answered with an error (after its retries).
    #[error("the LLM request failed{}: {message}; check the base URL, model and API key", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Llm {
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What the endpoint or the client said.
        message: String,
    },
    /// The LLM request (with its retries) took longer than the deadline.
    #[error(
        "the LLM request did not finish within {after:?} (retries included); raise `request_timeout` or check the endpoint"
    )]
    LlmTimeout {
        /// The deadline that expired.
        after: Duration,
    },
    /// The LLM configuration cannot be used.
    #[error("invalid LLM configuration: {0}")]
    Config(String),
    /// A target or the initial speaker names no agent of the group.
    #[error("no agent called {name:?} in the group; the agents are: {}", known.join(", "))]
    UnknownAgent {
        /// The name asked for.
        name: String,
        /// The group's agents.
        known: Vec<String>,
    },
    /// An MCP session failed.
    #[error(transparent)]
    Session(#[from] mcp_session::SessionError),
}

impl From<mcp_session::mcp_config::ConfigError> for AgentError {
    /// A server lookup that failed (an unknown name, listing the known ones).
    fn from(err: mcp_session::mcp_config::ConfigError) -> Self {
        AgentError::Session(mcp_session::SessionError::Config(err))
    }
}
