//! LLM configuration ([`LLMConfig`], [`ModelConfig`], [`LlmOverrides`]) and [`OpenAi`], the
//! client for any OpenAI-compatible endpoint. The trait every client implements lives in
//! `client.rs`, shared with the offline planner.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{ApiError, ApiErrorResponse, OpenAIError, WrappedError};
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CompletionUsage, CreateChatCompletionRequest,
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, FinishReason, FunctionCall,
    FunctionObject,
};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use mcp_session::reqwest;
use mcp_session::{HttpClientBuilder, Redirects};
use tower::{Layer as _, Service};
use url::Url;

use crate::client::{LlmClient, LlmReply, LlmRequest, Usage};
use crate::error::{AgentError, LLM_RETRIES, LlmConfigError};
use crate::message::{Message, Role, ToolCall};
use crate::offline::Offline;

/// The endpoint used when a model names none.
const OPENAI_BASE: &str = "https://api.openai.com/v1";

/// The model used when neither an override nor `OPENAI_MODEL` names one.
const DEFAULT_MODEL: &str = "gpt-4o";

/// Which kind of LLM a model entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiType {
    /// An OpenAI-compatible chat completions endpoint: OpenAI, Ollama, vLLM, llama.cpp server, …
    OpenAi,
    /// The [`Offline`](crate::Offline) planner: rule-based, not a model.
    Offline,
}

impl std::str::FromStr for ApiType {
    type Err = LlmConfigError;

    /// `openai` or `offline` (any case), as a config file or a command line spells them.
    fn from_str(s: &str) -> Result<Self, LlmConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "openai" => Ok(ApiType::OpenAi),
            "offline" => Ok(ApiType::Offline),
            _ => Err(LlmConfigError::UnknownApiType { given: s.to_owned() }),
        }
    }
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
            .field(
                "base_url",
                &self.base_url.as_ref().map(mcp_session::mcp_config::redact::redact_url),
            )
            .finish()
    }
}

/// How an agent reaches its LLM, as in the seed's `LLMConfig(config_list=[...], temperature=0.7)`.
///
/// The client is built once per config, the first time an agent needs it, and shared by every
/// clone of the config (and every run): one HTTP connection pool per endpoint. Changing a field
/// afterwards builds a new one.
///
/// ```
/// use agent_core::{LLMConfig, ModelConfig};
///
/// let llm = LLMConfig::new(ModelConfig::openai("gpt-4o").api_key("sk-test")).temperature(0.7);
/// assert_eq!(llm.config_list[0].model, "gpt-4o");
/// assert!(!format!("{llm:?}").contains("sk-test"));
/// let (first, again) = (llm.client()?, llm.clone().client()?);
/// assert!(std::sync::Arc::ptr_eq(&first, &again), "built once, shared by clones");
/// # Ok::<(), agent_core::AgentError>(())
/// ```
#[derive(Clone, Debug)]
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
    /// The client built from the fields above, shared by clones.
    cache: ClientCache,
}

impl PartialEq for LLMConfig {
    /// Equal settings (whether a client was built yet does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.config_list == other.config_list
            && self.temperature == other.temperature
            && self.max_tokens == other.max_tokens
            && self.request_timeout == other.request_timeout
    }
}

/// The settings a client was built from.
#[derive(Clone, PartialEq)]
struct ClientKey {
    model: ModelConfig,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    request_timeout: Duration,
}

/// The client of an [`LLMConfig`], built on first use and shared by its clones.
#[derive(Clone, Default)]
struct ClientCache(Arc<Mutex<Option<Built>>>);

/// A client, with the settings it was built from.
type Built = (ClientKey, Arc<dyn LlmClient>);

impl fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built = self.0.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        f.write_str(if built { "built" } else { "not built" })
    }
}

impl LLMConfig {
    /// A config with one model.
    pub fn new(model: ModelConfig) -> Self {
        LLMConfig {
            config_list: vec![model],
            temperature: None,
            max_tokens: None,
            request_timeout: Duration::from_secs(120),
            cache: ClientCache::default(),
        }
    }

    /// Reads `OPENAI_API_KEY`, `OPENAI_BASE_URL` and `OPENAI_MODEL` (default `gpt-4o`): the
    /// environment alone, [`from_env_with`](Self::from_env_with) without overrides, except that
    /// an environment naming no endpoint is an error here rather than the offline planner.
    ///
    /// # Errors
    /// [`LlmConfigError::BadBaseUrl`] when `OPENAI_BASE_URL` is not a URL;
    /// [`LlmConfigError::MissingApiKey`] when neither a key nor a base URL is set (there would be
    /// nothing to talk to).
    pub fn from_env() -> Result<Self, AgentError> {
        let model =
            resolve(&LlmOverrides::default(), env_var)?.ok_or(LlmConfigError::MissingApiKey)?;
        Ok(LLMConfig::new(model))
    }

    /// The environment with a command line's overrides on top, as research-demo's flags:
    ///
    /// 1. `overrides.offline` forces the [offline planner](crate::Offline);
    /// 2. else a base URL (`overrides.base_url`, else `OPENAI_BASE_URL`) or an API key
    ///    (`overrides.api_key`, else `OPENAI_API_KEY`) selects the OpenAI-compatible client,
    ///    with `overrides.model`, else `OPENAI_MODEL`, else `gpt-4o`;
    /// 3. else the offline planner.
    ///
    /// Empty values count as unset.
    ///
    /// ```no_run
    /// use agent_core::{LLMConfig, LlmOverrides};
    ///
    /// let overrides = LlmOverrides::new()
    ///     .base_url("http://localhost:11434/v1".parse()?)
    ///     .model("llama3.2");
    /// let llm = LLMConfig::from_env_with(overrides)?;
    /// println!("LLM: {}", llm.client()?.describe()); // LLM: llama3.2 at http://localhost:11434/v1
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`LlmConfigError::BadBaseUrl`] when `OPENAI_BASE_URL` is needed and is not a URL.
    pub fn from_env_with(overrides: LlmOverrides) -> Result<Self, AgentError> {
        let model = resolve(&overrides, env_var)?.unwrap_or_else(ModelConfig::offline);
        Ok(LLMConfig::new(model))
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

    /// The client for the first model: built on the first call, then the same one (for this
    /// config and its clones) as long as the settings stay the same.
    ///
    /// # Errors
    /// [`LlmConfigError::EmptyConfigList`] when the list is empty;
    /// [`LlmConfigError::HttpClient`] when the HTTP client cannot be built.
    pub fn client(&self) -> Result<Arc<dyn LlmClient>, AgentError> {
        let model = self.config_list.first().ok_or(LlmConfigError::EmptyConfigList)?;
        let key = ClientKey {
            model: model.clone(),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            request_timeout: self.request_timeout,
        };
        let mut cached = self.cache.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((built_for, client)) = &*cached
            && *built_for == key
        {
            return Ok(client.clone());
        }
        let client: Arc<dyn LlmClient> = match model.api_type {
            ApiType::OpenAi => Arc::new(OpenAi::new(model, self)?),
            ApiType::Offline => Arc::new(Offline),
        };
        *cached = Some((key, client.clone()));
        Ok(client)
    }
}

/// What a caller (such as a command line) says about the LLM, over the environment: see
/// [`LLMConfig::from_env_with`].
///
/// ```
/// use agent_core::LlmOverrides;
///
/// let overrides = LlmOverrides::new().offline(true).api_key("sk-secret");
/// assert!(overrides.offline);
/// assert!(!format!("{overrides:?}").contains("sk-secret"));
/// ```
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LlmOverrides {
    /// Use the offline planner whatever the environment says.
    pub offline: bool,
    /// The endpoint, over `OPENAI_BASE_URL`.
    pub base_url: Option<Url>,
    /// The model, over `OPENAI_MODEL`.
    pub model: Option<String>,
    /// The API key, over `OPENAI_API_KEY`. Never printed.
    pub api_key: Option<String>,
}

impl LlmOverrides {
    /// No overrides: the environment decides.
    pub fn new() -> Self {
        LlmOverrides::default()
    }

    /// Forces the offline planner (when `offline` is true).
    #[must_use]
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// The endpoint to use.
    #[must_use]
    pub fn base_url(mut self, url: Url) -> Self {
        self.base_url = Some(url);
        self
    }

    /// The model to use.
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The API key to use.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

impl fmt::Debug for LlmOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmOverrides")
            .field("offline", &self.offline)
            .field(
                "base_url",
                &self.base_url.as_ref().map(mcp_session::mcp_config::redact::redact_url),
            )
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// An environment variable, unset when empty.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The model `overrides` and the environment (`env`) choose, or `None` when they name no
/// endpoint.
fn resolve(
    overrides: &LlmOverrides,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<ModelConfig>, LlmConfigError> {
    if overrides.offline {
        return Ok(Some(ModelConfig::offline()));
    }
    let key = overrides.api_key.clone().filter(|k| !k.is_empty()).or_else(|| env("OPENAI_API_KEY"));
    let base = match &overrides.base_url {
        Some(url) => Some(checked_base(url.clone(), "the base_url override", url.as_str())?),
        None => match env("OPENAI_BASE_URL") {
            Some(value) => {
                let url = Url::parse(&value).map_err(|err| LlmConfigError::BadBaseUrl {
                    source_name: "OPENAI_BASE_URL".to_owned(),
                    value: mcp_session::mcp_config::redact::redact_url_text(&value),
                    reason: err.to_string(),
                })?;
                Some(checked_base(url, "OPENAI_BASE_URL", &value)?)
            }
            None => None,
        },
    };
    if key.is_none() && base.is_none() {
        return Ok(None);
    }
    let model = overrides
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| env("OPENAI_MODEL"))
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    let mut config = ModelConfig::openai(model);
    config.api_key = key;
    config.base_url = base;
    Ok(Some(config))
}

/// `url` if it is an HTTP(S) URL (`localhost:8080` parses, as a URL of scheme `localhost`).
fn checked_base(url: Url, source_name: &str, value: &str) -> Result<Url, LlmConfigError> {
    if matches!(url.scheme(), "http" | "https") {
        return Ok(url);
    }
    Err(LlmConfigError::BadBaseUrl {
        source_name: source_name.to_owned(),
        value: mcp_session::mcp_config::redact::redact_url_text(value),
        reason: format!("its scheme is {:?}, not http or https", url.scheme()),
    })
}

/// An OpenAI-compatible chat completions client, on `async-openai`.
///
/// async-openai's own retries (429 and 5xx, honouring `Retry-After`) are the only retry layer;
/// [`LLMConfig::request_timeout`] bounds a request with its retries. An error answer keeps its
/// HTTP status even when its body is not OpenAI's error JSON (a proxy's HTML page, say).
///
/// [`complete_streaming`](LlmClient::complete_streaming) asks for a stream
/// (`"stream": true`, `"stream_options": {"include_usage": true}`) and passes each piece of text
/// on as it arrives; tool calls are put together from their pieces (by `index`, arguments
/// concatenated), the usage is read from the last chunk. The opening request is retried as any
/// other, and `request_timeout` bounds the whole streamed answer as it bounds a non-streamed one.
/// A stream that breaks off once it began (the connection cut, a chunk that is not JSON, no
/// `finish_reason` before the end) is [`AgentError::LlmStream`]; it is not retried. A
/// `finish_reason` of `length` (cut at `max_tokens`) or `content_filter` is logged as a warning,
/// and the answer is used as it came.
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
            .field("base", &mcp_session::mcp_config::redact::redact_url_text(&self.base))
            .finish_non_exhaustive()
    }
}

impl OpenAi {
    /// A client for `model` with `config`'s settings. Prefer [`LLMConfig::client`], which builds
    /// it once per config.
    ///
    /// # Errors
    /// [`LlmConfigError::HttpClient`] when the HTTP client cannot be set up.
    pub fn new(model: &ModelConfig, config: &LLMConfig) -> Result<Self, AgentError> {
        let (client, base) = openai_client(model.base_url.as_ref(), model.api_key.as_deref())
            .map_err(LlmConfigError::HttpClient)?;
        Ok(OpenAi {
            client,
            model: model.model.clone(),
            base,
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            deadline: config.request_timeout,
        })
    }

    /// The request, in async-openai's types.
    fn request_of(&self, request: &LlmRequest) -> CreateChatCompletionRequest {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                ChatCompletionTools::Function(ChatCompletionTool {
                    function: FunctionObject {
                        name: tool.name.clone(),
                        description: Some(tool.description.clone()),
                        parameters: Some(tool.parameters.clone()),
                        strict: None,
                    },
                })
            })
            .collect::<Vec<_>>();
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: request.messages.iter().map(chat_message).collect(),
            tools: (!tools.is_empty()).then_some(tools),
            temperature: self.temperature,
            max_completion_tokens: self.max_tokens,
            ..CreateChatCompletionRequest::default()
        }
    }
}

impl LlmClient for OpenAi {
    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmReply, AgentError>> {
        Box::pin(async move {
            let body = self.request_of(request);
            let response = tokio::time::timeout(self.deadline, self.client.chat().create(body))
                .await
                .map_err(|_| AgentError::LlmTimeout { after: self.deadline })?
                .map_err(llm_error)?;
            Ok(reply_of(response))
        })
    }

    fn complete_streaming<'a>(
        &'a self,
        request: &'a LlmRequest,
        on_delta: &'a mut (dyn FnMut(&str) + Send),
    ) -> BoxFuture<'a, Result<LlmReply, AgentError>> {
        Box::pin(async move {
            let mut body = self.request_of(request);
            body.stream = Some(true);
            body.stream_options = Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                ..Default::default()
            });
            let streamed = async {
                let mut stream = self.client.chat().create_stream(body).await.map_err(llm_error)?;
                let mut answer = Streamed::default();
                while let Some(chunk) = stream.next().await {
                    answer.add(chunk.map_err(stream_error)?, on_delta);
                }
                answer.finish()
            };
            let span = tracing::debug_span!("llm_stream", model = %self.model);
            tokio::time::timeout(self.deadline, tracing::Instrument::instrument(streamed, span))
                .await
                .map_err(|_| AgentError::LlmTimeout { after: self.deadline })?
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} at {}",
            self.model,
            mcp_session::mcp_config::redact::redact_url_text(&self.base)
        )
    }
}

/// Turns a 4xx answer into an error that keeps its status, whatever its body.
///
/// async-openai reads a 4xx body as OpenAI's error JSON and, when it is not, reports only a
/// deserialization error: the status is lost. This service sits under async-openai's retries and
/// reads such answers itself. A 429 with a JSON body passes through, for the retries to see.
#[derive(Clone, Debug)]
pub(crate) struct KeepErrorStatus(pub(crate) ReqwestService);

impl Service<HttpRequestFactory> for KeepErrorStatus {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let response = self.0.call(request);
        Box::pin(async move {
            let response = response.await?;
            let status = response.status();
            let json = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.contains("json"));
            if !status.is_client_error()
                || (status == reqwest::StatusCode::TOO_MANY_REQUESTS && json)
            {
                return Ok(response);
            }
            let body = response.bytes().await.map_err(OpenAIError::Reqwest)?;
            let api_error = match serde_json::from_slice::<WrappedError>(&body) {
                Ok(wrapped) => wrapped.error,
                Err(_) => ApiError {
                    message: excerpt(&String::from_utf8_lossy(&body)),
                    ..ApiError::default()
                },
            };
            Err(OpenAIError::ApiError(ApiErrorResponse { status_code: status, api_error }))
        })
    }
}

/// An async-openai client for the OpenAI-compatible API at `base_url` (OpenAI's by default),
/// sending `api_key` if given, on our HTTP client (redirects followed) with async-openai's
/// retries; and the API base it uses, with no trailing slash (async-openai appends each path, so
/// a trailing slash would double it). Chat completions and embeddings share it.
pub(crate) fn openai_client(
    base_url: Option<&url::Url>,
    api_key: Option<&str>,
) -> Result<(Client<OpenAIConfig>, String), mcp_session::HttpClientError> {
    let base = base_url
        .map_or(OPENAI_BASE.to_owned(), |url| url.as_str().trim_end_matches('/').to_owned());
    let mut openai = OpenAIConfig::new().with_api_base(&base);
    if let Some(key) = api_key {
        openai = openai.with_api_key(key);
    }
    let http = HttpClientBuilder::new().redirects(Redirects::Follow { max: 10 }).build()?;
    let service = OpenAIRetryLayer::new(LLM_RETRIES as usize)
        .layer(KeepErrorStatus(ReqwestService::new(http.clone())));
    Ok((Client::build(http, openai).with_http_service(service), base))
}

/// Our error for async-openai's, in words that name no library type.
fn llm_error(err: OpenAIError) -> AgentError {
    let (status, message) = failure(err, "a chat completion");
    AgentError::Llm { status, message }
}

/// What went wrong in a request through async-openai, in words that name no library type: the
/// HTTP status, if the endpoint answered with one, and a message. `expected` names what a good
/// answer is ("a chat completion"), for an answer that does not parse.
pub(crate) fn failure(err: OpenAIError, expected: &str) -> (Option<u16>, String) {
    match err {
        OpenAIError::ApiError(api) => (Some(api.status_code.as_u16()), api_message(&api.api_error)),
        OpenAIError::Reqwest(err) => (err.status().map(|s| s.as_u16()), http_message(&err)),
        OpenAIError::JSONDeserialize(err, content) => {
            (None, format!("the answer is not {expected} ({err}): {}", excerpt(&content)))
        }
        other => (None, other.to_string()),
    }
}

/// What an error answer says. async-openai keeps a 5xx body as it came, which may still be
/// OpenAI's error JSON.
fn api_message(error: &ApiError) -> String {
    if error.r#type.is_none()
        && error.code.is_none()
        && let Ok(wrapped) = serde_json::from_str::<WrappedError>(&error.message)
    {
        return wrapped.error.to_string();
    }
    if error.r#type.is_none() && error.code.is_none() {
        return excerpt(&error.message);
    }
    error.to_string()
}

/// A transport failure, with its innermost cause ("connection refused").
fn http_message(err: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = err;
    while let Some(next) = root.source() {
        root = next;
    }
    let (outer, inner) = (err.to_string(), root.to_string());
    if outer == inner { outer } else { format!("{outer}: {inner}") }
}

/// The start of a body, on one line: at most 200 characters.
fn excerpt(body: &str) -> String {
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(an empty body)".to_owned();
    }
    let mut cut: String = line.chars().take(200).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut
}

/// One message, in async-openai's types.
fn chat_message(message: &Message) -> ChatCompletionRequestMessage {
    let text = message.text().to_owned();
    match message.role {
        Role::System => ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: text.into(),
            name: None,
        }),
        Role::User => ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: text.into(),
            name: None,
        }),
        Role::Assistant => {
            let calls: Vec<ChatCompletionMessageToolCalls> = message
                .tool_calls
                .iter()
                .map(|call| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: call.id.clone(),
                        function: FunctionCall {
                            name: call.name.clone(),
                            arguments: call.arguments.clone(),
                        },
                    })
                })
                .collect();
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                content: message.content.clone().map(Into::into),
                tool_calls: (!calls.is_empty()).then_some(calls),
                ..ChatCompletionRequestAssistantMessage::default()
            })
        }
        Role::Tool => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: text.into(),
            tool_call_id: message.tool_call_id.clone().unwrap_or_default(),
        }),
    }
}

/// A streamed answer, put together chunk by chunk (the first choice only).
#[derive(Debug, Default)]
struct Streamed {
    text: String,
    /// Tool calls by their `index`: id, name, arguments so far.
    calls: BTreeMap<u32, (String, String, String)>,
    usage: Option<CompletionUsage>,
    finish: Option<FinishReason>,
}

impl Streamed {
    /// Adds one chunk, passing its text on.
    fn add(
        &mut self,
        chunk: CreateChatCompletionStreamResponse,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) {
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
            let delta = choice.delta;
            if let Some(text) = delta.content.filter(|text| !text.is_empty()) {
                on_delta(&text);
                self.text.push_str(&text);
            }
            for piece in delta.tool_calls.unwrap_or_default() {
                let (id, name, arguments) = self.calls.entry(piece.index).or_default();
                if let Some(new) = piece.id.filter(|new| !new.is_empty())
                    && id.is_empty()
                {
                    *id = new;
                }
                if let Some(function) = piece.function {
                    // The name comes whole in the first piece; only the arguments come in parts.
                    if let Some(new) = function.name.filter(|new| !new.is_empty())
                        && name.is_empty()
                    {
                        *name = new;
                    }
                    arguments.push_str(function.arguments.as_deref().unwrap_or_default());
                }
            }
            if let Some(finish) = choice.finish_reason {
                self.finish = Some(finish);
            }
        }
    }

    /// The whole answer, once the stream ended.
    fn finish(self) -> Result<LlmReply, AgentError> {
        let Some(finish) = self.finish else {
            return Err(AgentError::LlmStream {
                message: format!(
                    "the stream ended before the answer was complete (no finish_reason, after {} characters of text and {} tool calls)",
                    self.text.chars().count(),
                    self.calls.len()
                ),
            });
        };
        match finish {
            FinishReason::Length => {
                tracing::warn!("the LLM's answer was cut at max_tokens (finish_reason length)");
            }
            FinishReason::ContentFilter => {
                tracing::warn!("the LLM's answer was filtered (finish_reason content_filter)");
            }
            FinishReason::Stop | FinishReason::ToolCalls | FinishReason::FunctionCall => {}
        }
        let tool_calls = self
            .calls
            .into_iter()
            .map(|(index, (id, name, arguments))| ToolCall {
                id: if id.is_empty() { format!("call_{index}") } else { id },
                name,
                arguments,
            })
            .collect();
        let content = (!self.text.is_empty()).then_some(self.text);
        Ok(LlmReply {
            message: Message::assistant_calls(content, tool_calls),
            usage: self.usage.as_ref().map_or_else(Usage::default, usage_of),
        })
    }
}

/// A chunk that could not be read: the connection broke, or the chunk is not one.
fn stream_error(err: OpenAIError) -> AgentError {
    let message = match err {
        OpenAIError::StreamError(err) => match *err {
            async_openai::error::StreamError::EventStream(text) => {
                match text.strip_prefix("Transport error: ") {
                    Some(cause) => format!("the connection failed: {cause}"),
                    None => text,
                }
            }
            other => other.to_string(),
        },
        OpenAIError::JSONDeserialize(err, content) => {
            match serde_json::from_str::<WrappedError>(&content) {
                Ok(wrapped) => format!("the endpoint sent an error: {}", wrapped.error),
                Err(_) => {
                    format!("a chunk is not a chat completion chunk ({err}): {}", excerpt(&content))
                }
            }
        }
        other => llm_error(other).to_string(),
    };
    AgentError::LlmStream { message }
}

/// Token counts, in our type.
fn usage_of(usage: &CompletionUsage) -> Usage {
    Usage {
        prompt_tokens: u64::from(usage.prompt_tokens),
        completion_tokens: u64::from(usage.completion_tokens),
        total_tokens: u64::from(usage.total_tokens),
    }
}

/// The first choice of a response, as our message.
fn reply_of(response: CreateChatCompletionResponse) -> LlmReply {
    let usage = response.usage.as_ref().map_or_else(Usage::default, usage_of);
    let Some(choice) = response.choices.into_iter().next() else {
        return LlmReply { message: Message::assistant_calls(None, Vec::new()), usage };
    };
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .filter_map(|call| match call {
            // Only function tools are ever offered.
            ChatCompletionMessageToolCalls::Function(call) => Some(ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: call.function.arguments,
            }),
            ChatCompletionMessageToolCalls::Custom(_) => None,
        })
        .collect();
    let content = choice.message.content.filter(|c| !c.is_empty());
    LlmReply { message: Message::assistant_calls(content, tool_calls), usage }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn overrides_and_the_environment() {
        let resolved = |overrides: LlmOverrides, vars: &[(&str, &str)]| {
            resolve(&overrides, env(vars))
                .map(|m| m.map(|m| (m.api_type, m.model, m.base_url.map(String::from), m.api_key)))
        };
        // Nothing configured: no endpoint (from_env errors, from_env_with goes offline).
        assert_eq!(resolved(LlmOverrides::new(), &[]).unwrap(), None);
        // A key selects OpenAI with the default model.
        assert_eq!(
            resolved(LlmOverrides::new(), &[("OPENAI_API_KEY", "sk")]).unwrap(),
            Some((ApiType::OpenAi, "gpt-4o".into(), None, Some("sk".into())))
        );
        // --offline wins over a key, and over a bad OPENAI_BASE_URL.
        let offline = resolved(
            LlmOverrides::new().offline(true),
            &[("OPENAI_API_KEY", "sk"), ("OPENAI_BASE_URL", "not a url")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(offline.0, ApiType::Offline);
        // --base-url alone selects OpenAI; --model wins over OPENAI_MODEL.
        assert_eq!(
            resolved(
                LlmOverrides::new()
                    .base_url("http://localhost:11434/v1".parse().unwrap())
                    .model("llama3.2"),
                &[("OPENAI_MODEL", "gpt-4o-mini")],
            )
            .unwrap(),
            Some((
                ApiType::OpenAi,
                "llama3.2".into(),
                Some("http://localhost:11434/v1".into()),
                None
            ))
        );
        // The --base-url override wins over OPENAI_BASE_URL, even a bad one.
        assert!(
            resolved(
                LlmOverrides::new().base_url("http://localhost:8080/v1".parse().unwrap()),
                &[("OPENAI_BASE_URL", "not a url")],
            )
            .is_ok()
        );
        // OPENAI_MODEL when no override.
        assert_eq!(
            resolved(
                LlmOverrides::new(),
                &[("OPENAI_API_KEY", "sk"), ("OPENAI_MODEL", "gpt-4o-mini")]
            )
            .unwrap()
            .unwrap()
            .1,
            "gpt-4o-mini"
        );
        let err =
            resolved(LlmOverrides::new(), &[("OPENAI_BASE_URL", "localhost:8080")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OPENAI_BASE_URL \"localhost:8080\" is not a URL (its scheme is \"localhost\", not http or https); give the endpoint's base URL, such as https://api.openai.com/v1"
        );
        let err = resolved(LlmOverrides::new(), &[("OPENAI_BASE_URL", "not a url")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OPENAI_BASE_URL \"not a url\" is not a URL (relative URL without a base); give the endpoint's base URL, such as https://api.openai.com/v1"
        );
    }

    #[test]
    fn api_types_parse() {
        assert_eq!("OpenAI".parse::<ApiType>().unwrap(), ApiType::OpenAi);
        assert_eq!("offline".parse::<ApiType>().unwrap(), ApiType::Offline);
        assert!(matches!(
            "anthropic".parse::<ApiType>(),
            Err(LlmConfigError::UnknownApiType { given }) if given == "anthropic"
        ));
    }

    #[test]
    fn a_changed_config_builds_a_new_client() {
        let config = LLMConfig::new(ModelConfig::openai("a"));
        let first = config.client().unwrap();
        assert!(Arc::ptr_eq(&first, &config.client().unwrap()));
        let mut changed = config.clone();
        changed.config_list[0].model = "b".into();
        let second = changed.client().unwrap();
        assert_eq!(second.describe(), "b at https://api.openai.com/v1");
        assert_eq!(config.client().unwrap().describe(), "a at https://api.openai.com/v1");
    }

    /// A chunk, from its JSON `choices[0].delta` and `finish_reason`.
    fn chunk(delta: serde_json::Value, finish: Option<&str>) -> CreateChatCompletionStreamResponse {
        serde_json::from_value(serde_json::json!({
            "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }))
        .unwrap()
    }

    #[test]
    fn streamed_pieces_make_one_answer() {
        let mut answer = Streamed::default();
        let mut pieces = Vec::new();
        let mut on_delta = |delta: &str| pieces.push(delta.to_owned());
        let calls = [
            // No id (some servers send none), the name once, the arguments in parts.
            serde_json::json!({"tool_calls": [{"index": 1, "function": {"name": "b", "arguments": "{\"x\""}}]}),
            serde_json::json!({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "a", "arguments": ""}}]}),
            serde_json::json!({"tool_calls": [{"index": 1, "function": {"arguments": ": 1}"}}]}),
            serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        ];
        answer.add(
            chunk(serde_json::json!({"role": "assistant", "content": ""}), None),
            &mut on_delta,
        );
        answer.add(chunk(serde_json::json!({"content": "Let me "}), None), &mut on_delta);
        answer.add(chunk(serde_json::json!({"content": "look."}), None), &mut on_delta);
        for delta in calls {
            answer.add(chunk(delta, None), &mut on_delta);
        }
        answer.add(chunk(serde_json::json!({}), Some("tool_calls")), &mut on_delta);
        let usage: CreateChatCompletionStreamResponse = serde_json::from_value(serde_json::json!({
            "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }))
        .unwrap();
        answer.add(usage, &mut on_delta);
        let reply = answer.finish().unwrap();
        assert_eq!(pieces, ["Let me ", "look."]);
        assert_eq!(reply.message.text(), "Let me look.");
        let calls: Vec<(&str, &str, &str)> = reply
            .message
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, [("call_a", "a", "{}"), ("call_1", "b", "{\"x\": 1}")]);
        assert_eq!(reply.usage.total_tokens, 10);
    }

    #[test]
    fn a_stream_without_its_finish_reason_is_broken() {
        let mut answer = Streamed::default();
        answer.add(chunk(serde_json::json!({"content": "Half an"}), None), &mut |_: &str| {});
        let err = answer.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the LLM's streamed answer broke off: the stream ended before the answer was complete (no finish_reason, after 7 characters of text and 0 tool calls); try again, or turn streaming off (RunOptions::stream(false))"
        );
    }

    #[test]
    fn an_error_in_a_stream_says_what_the_endpoint_said() {
        let body = r#"{"error": {"message": "overloaded", "type": "server_error", "param": null, "code": null}}"#;
        let parse = serde_json::from_str::<CreateChatCompletionStreamResponse>(body).unwrap_err();
        let err = stream_error(OpenAIError::JSONDeserialize(parse, body.to_owned()));
        assert!(matches!(&err, AgentError::LlmStream { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(
                "the LLM's streamed answer broke off: the endpoint sent an error: server_error: overloaded"
            ),
            "{err}"
        );
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(
            excerpt("<html>\n  <h1>Unauthorized</h1>\n</html>"),
            "<html> <h1>Unauthorized</h1> </html>"
        );
        assert_eq!(excerpt("  "), "(an empty body)");
        assert_eq!(excerpt(&"x".repeat(300)).chars().count(), 201);
    }
}
