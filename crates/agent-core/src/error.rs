//! [`AgentError`]: what can go wrong running an agent, and [`LlmConfigError`]: why an LLM
//! configuration cannot be used.

use std::time::Duration;

/// An error running an agent. A tool's failure is not one: it goes back to the LLM as the tool's
/// result, so the model can recover.
///
/// ```
/// use agent_core::AgentError;
///
/// let err = AgentError::Llm { status: Some(401), message: "invalid key".into() };
/// assert_eq!(
///     err.to_string(),
///     "the LLM endpoint refused the request (HTTP 401): invalid key; check the API key (OPENAI_API_KEY)"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The LLM endpoint answered with an error (after its retries), or could not be reached.
    ///
    /// Its message says what to check: the API key for 401 and 403, the model and base URL for
    /// 404, the endpoint's load for 429 and 5xx (which were already retried).
    #[error("{}", llm_message(*status, message))]
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
    /// A streamed answer broke off after it began: the connection was cut, a chunk was not
    /// JSON (or was the endpoint's error), or the stream ended before its `finish_reason`. The
    /// request's retries are over once the answer began, so it is not resent.
    #[error(
        "the LLM's streamed answer broke off: {message}; try again, or turn streaming off (RunOptions::stream(false))"
    )]
    LlmStream {
        /// What went wrong.
        message: String,
    },
    /// The agent would ask a human ([`HumanInputMode`](crate::HumanInputMode) `Always` or
    /// `Terminate`) but has no [`HumanInput`](crate::HumanInput) to ask. Checked before the run
    /// starts.
    #[error(
        "agent {agent:?} has human_input_mode {mode:?} but no human input to ask; give one with AgentBuilder::human_input or RunOptions::human_input, or use HumanInputMode::Never"
    )]
    NoHumanInput {
        /// The agent's name.
        agent: String,
        /// Its mode.
        mode: crate::HumanInputMode,
    },
    /// The human could not be asked (the input closed, the terminal failed).
    #[error("cannot ask the human: {message}")]
    HumanInput {
        /// Why.
        message: String,
    },
    /// The LLM configuration cannot be used.
    #[error(transparent)]
    Config(#[from] LlmConfigError),
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

/// How many times async-openai retries a 429 or a 5xx before giving up.
pub(crate) const LLM_RETRIES: u32 = 3;

/// The message of [`AgentError::Llm`]: what happened, then what to do about it.
fn llm_message(status: Option<u16>, message: &str) -> String {
    match status {
        Some(code @ (401 | 403)) => format!(
            "the LLM endpoint refused the request (HTTP {code}): {message}; check the API key (OPENAI_API_KEY)"
        ),
        Some(404) => format!(
            "the LLM endpoint has no such model or path (HTTP 404): {message}; check the model name and the base URL (OPENAI_MODEL, OPENAI_BASE_URL)"
        ),
        Some(429) => format!(
            "the LLM endpoint is overloaded (HTTP 429, still after {LLM_RETRIES} retries): {message}; wait and try again, or check the account's rate limits and quota"
        ),
        Some(code @ 500..=599) => format!(
            "the LLM endpoint is failing (HTTP {code}, still after {LLM_RETRIES} retries): {message}; try again later, or check the endpoint"
        ),
        Some(code) => format!(
            "the LLM request failed (HTTP {code}): {message}; check the base URL, model and API key"
        ),
        None => {
            format!("the LLM request failed: {message}; check the base URL, model and API key")
        }
    }
}

/// Why an LLM configuration cannot be used. Each message says what to do.
///
/// ```
/// use agent_core::LlmConfigError;
///
/// let err = LlmConfigError::UnknownApiType { given: "anthropic".into() };
/// assert_eq!(err.to_string(), "unknown api_type \"anthropic\"; use \"openai\" (any OpenAI-compatible endpoint) or \"offline\"");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmConfigError {
    /// Neither an API key nor a base URL is set: there is nothing to talk to.
    #[error(
        "no LLM endpoint is configured; set OPENAI_API_KEY (or OPENAI_BASE_URL for a local endpoint), or use the offline planner"
    )]
    MissingApiKey,
    /// A base URL is not a URL.
    #[error(
        "{source_name} {value:?} is not a URL ({reason}); give the endpoint's base URL, such as https://api.openai.com/v1"
    )]
    BadBaseUrl {
        /// Where it came from, such as `OPENAI_BASE_URL`.
        source_name: String,
        /// The value given.
        value: String,
        /// Why it is not a URL.
        reason: String,
    },
    /// An `api_type` this crate does not know.
    #[error(
        "unknown api_type {given:?}; use \"openai\" (any OpenAI-compatible endpoint) or \"offline\""
    )]
    UnknownApiType {
        /// The value given.
        given: String,
    },
    /// [`LLMConfig::config_list`](crate::LLMConfig::config_list) is empty.
    #[error("the LLM config_list is empty; give LLMConfig::new a ModelConfig")]
    EmptyConfigList,
    /// An agent has neither an `LLMConfig` nor an LLM client.
    #[error(
        "agent {agent:?} has no LLM; give it one with AgentBuilder::llm_config or AgentBuilder::llm_client"
    )]
    NoLlm {
        /// The agent's name.
        agent: String,
    },
    /// The HTTP client for the LLM endpoint could not be set up. The message includes the
    /// cause's (which says what to fix); it is not also the `source()`, so it prints once.
    #[error("cannot set up the HTTP client for the LLM endpoint: {0}")]
    HttpClient(mcp_session::HttpClientError),
}
