//! LLM configuration ([`LLMConfig`]) and clients: the [`LlmClient`] trait and [`OpenAi`], for any
//! OpenAI-compatible endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use url::Url;

use crate::error::AgentError;
use crate::message::{Message, Role, ToolCall};

/// Which kind of LLM a model entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiType {
    /// An OpenAI-compatible chat completions endpoint: OpenAI, Ollama, vLLM, llama.cpp server, …
    OpenAi,
    /// The [`Offline`](crate::Offline) planner: rule-based, not a model.
    Offline,
}

/// One model to use.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelConfig {
    /// The kind of endpoint.
    pub api_type: ApiType,
    /// The model name, such as `gpt-4o`.
    pub model: String,
    /// The API key, if the endpoint wants one. Never printed.
    pub api_key: Option<String>,
    /// The endpoint's base URL (default `https://api.openai.com/v1`).
    pub base_url: Option<Url>,
}

impl ModelConfig {
    /// An OpenAI-compatible model.
    pub fn openai(model: impl Into<String>) -> Self {
        ModelConfig {
            api_type: ApiType::OpenAi,
            model: model.into(),
            api_key: None,
            base_url: None,
        }
    }

    /// The offline planner.
    pub fn offline() -> Self {
        ModelConfig {
            api_type: ApiType::Offline,
            model: "offline-planner".to_owned(),
            api_key: None,
            base_url: None,
        }
    }

    /// Sets the API key.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL (a trailing slash is fine).
    #[must_use]
    pub fn base_url(mut self, url: Url) -> Self {
        self.base_url = Some(url);
        self
    }
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("api_type", &self.api_type)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .finish()
    }
}

/// How an agent reaches its LLM, as in the seed's `LLMConfig(config_list=[...], temperature=0.7)`.
///
/// ```
/// use agent_core::{LLMConfig, ModelConfig};
///
/// let llm = LLMConfig::new(ModelConfig::openai("gpt-4o").api_key("sk-test")).temperature(0.7);
/// assert_eq!(llm.config_list[0].model, "gpt-4o");
/// assert!(!format!("{llm:?}").contains("sk-test"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LLMConfig {
    /// The models, in order of preference (the first is used).
    pub config_list: Vec<ModelConfig>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Largest completion, in tokens.
    pub max_tokens: Option<u32>,
    /// Deadline for one LLM request, retries included. Default 120 s.
    pub request_timeout: Duration,
}

impl LLMConfig {
    /// A config with one model.
    pub fn new(model: ModelConfig) -> Self {
        LLMConfig {
            config_list: vec![model],
            temperature: None,
            max_tokens: None,
            request_timeout: Duration::from_secs(120),
        }
    }

    /// Reads `OPENAI_API_KEY`, `OPENAI_BASE_URL` and `OPENAI_MODEL` (default `gpt-4o`).
    ///
    /// # Errors
    /// [`AgentError::Config`] when `OPENAI_BASE_URL` is not a URL, or neither a key nor a base URL
    /// is set (there would be nothing to talk to).
    pub fn from_env() -> Result<Self, AgentError> {
        let key = std::env::var("OPENAI_API_KEY").ok().filter(|k| !k.is_empty());
        let base = std::env::var("OPENAI_BASE_URL").ok().filter(|b| !b.is_empty());
        if key.is_none() && base.is_none() {
            return Err(AgentError::Config(
                "set OPENAI_API_KEY (or OPENAI_BASE_URL for a local endpoint)".to_owned(),
            ));
        }
        let model = std::env::var("OPENAI_MODEL")
            .ok()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "gpt-4o".to_owned());
        let mut config = ModelConfig::openai(model);
        config.api_key = key;
        if let Some(base) = base {
            config.base_url =
                Some(Url::parse(&base).map_err(|err| {
                    AgentError::Config(format!("OPENAI_BASE_URL {base:?}: {err}"))
                })?);
        }
        Ok(LLMConfig::new(config))
    }

    /// Sets the temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the largest completion.
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the deadline of one request, retries included.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The client for the first model.
    ///
    /// # Errors
    /// [`AgentError::Config`] when the list is empty or the client cannot be built.
    pub fn client(&self) -> Result<Arc<dyn LlmClient>, AgentError> {
        let model = self
            .config_list
            .first()
            .ok_or_else(|| AgentError::Config("config_list is empty".to_owned()))?;
        match model.api_type {
            ApiType::OpenAi => Ok(Arc::new(OpenAi::new(model, self)?)),
            ApiType::Offline => Ok(Arc::new(crate::offline::Offline)),
        }
    }
}

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

    /// One line saying what this client is, for people (no secrets).
    fn describe(&self) -> String;
}

/// An OpenAI-compatible chat completions client, on `async-openai`.
///
/// async-openai's own retries (429 and 5xx, honouring `Retry-After`) are the only retry layer;
/// [`LLMConfig::request_timeout`] bounds a request with its retries.
#[derive(Clone)]
pub struct OpenAi {
    client: Client<OpenAIConfig>,
    model: String,
    base: String,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    deadline: Duration,
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAi")
            .field("model", &self.model)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl OpenAi {
    /// A client for `model` with `config`'s settings.
    ///
    /// # Errors
    /// [`AgentError::Config`] when TLS or the HTTP client cannot be set up.
    pub fn new(model: &ModelConfig, config: &LLMConfig) -> Result<Self, AgentError> {
        let base = model.base_url.as_ref().map_or("https://api.openai.com/v1".to_owned(), |url| {
            // async-openai appends `/chat/completions`: a trailing slash would double it.
            url.as_str().trim_end_matches('/').to_owned()
        });
        let mut openai = OpenAIConfig::new().with_api_base(&base);
        if let Some(key) = &model.api_key {
            openai = openai.with_api_key(key);
        }
        let client = Client::build(http_client()?, openai);
        Ok(OpenAi {
            client,
            model: model.model.clone(),
            base,
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            deadline: config.request_timeout,
        })
    }

    fn request_body(&self, request: &LlmRequest) -> Value {
        let messages: Vec<Value> = request.messages.iter().map(message_json).collect();
        let mut body = json!({"model": self.model, "messages": messages});
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|tool| {
                    json!({"type": "function", "function": {
                        "name": tool.name, "description": tool.description, "parameters": tool.parameters
                    }})
                })
                .collect();
        }
        if let Some(temperature) = self.temperature {
            body["temperature"] = json!(temperature);
        }
        if let Some(max_tokens) = self.max_tokens {
            body["max_completion_tokens"] = json!(max_tokens);
        }
        body
    }
}

impl LlmClient for OpenAi {
    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmReply, AgentError>> {
        Box::pin(async move {
            let body: CreateChatCompletionRequest =
                serde_json::from_value(self.request_body(request)).map_err(|err| {
                    AgentError::Config(format!("cannot build the chat request: {err}"))
                })?;
            let response = tokio::time::timeout(self.deadline, self.client.chat().create(body))
                .await
                .map_err(|_| AgentError::LlmTimeout { after: self.deadline })?
                .map_err(llm_error)?;
            Ok(reply_of(&response))
        })
    }

    fn describe(&self) -> String {
        format!("{} at {}", self.model, self.base)
    }
}

/// A reqwest client with rustls (ring) trusting the system's roots.
fn http_client() -> Result<reqwest::Client, AgentError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| AgentError::Config(format!("cannot set up TLS: {err}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .tcp_nodelay(true)
        .build()
        .map_err(|err| AgentError::Config(format!("cannot build the HTTP client: {err}")))
}

fn llm_error(err: OpenAIError) -> AgentError {
    match err {
        OpenAIError::ApiError(api) => AgentError::Llm {
            status: Some(api.status_code.as_u16()),
            message: api.api_error.to_string(),
        },
        OpenAIError::Reqwest(err) => {
            AgentError::Llm { status: err.status().map(|s| s.as_u16()), message: err.to_string() }
        }
        OpenAIError::JSONDeserialize(err, content) => {
            let excerpt: String = content.chars().take(200).collect();
            AgentError::Llm {
                status: None,
                message: format!("the answer is not a chat completion ({err}): {excerpt}"),
            }
        }
        other => AgentError::Llm { status: None, message: other.to_string() },
    }
}

/// A message in the chat completions format.
fn message_json(message: &Message) -> Value {
    let role = match message.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut value = json!({"role": role, "content": message.content});
    if !message.tool_calls.is_empty() {
        value["tool_calls"] = message
            .tool_calls
            .iter()
            .map(|call| {
                json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}})
            })
            .collect();
    }
    if let Some(id) = &message.tool_call_id {
        value["tool_call_id"] = json!(id);
    }
    value
}

/// The first choice of a response, as our message.
fn reply_of(response: &CreateChatCompletionResponse) -> LlmReply {
    let value = serde_json::to_value(response).unwrap_or_default();
    let message = &value["choices"][0]["message"];
    let tool_calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|call| {
            Some(ToolCall {
                id: call["id"].as_str()?.to_owned(),
                name: call["function"]["name"].as_str()?.to_owned(),
                arguments: call["function"]["arguments"].as_str().unwrap_or("{}").to_owned(),
            })
        })
        .collect();
    let content = message["content"].as_str().map(str::to_owned).filter(|c| !c.is_empty());
    let usage = &value["usage"];
    let count = |key: &str| usage[key].as_u64().unwrap_or(0);
    LlmReply {
        message: Message::assistant_calls(content, tool_calls),
        usage: Usage {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
            total_tokens: count("total_tokens"),
        },
    }
}
