//! [`ConformanceServer`]: the MCP server that the official conformance runner's server scenarios
//! (`@modelcontextprotocol/conformance server`) expect, built on rmcp's server and its streamable
//! HTTP transport as our other test servers are. `mcp-conformance-server` serves it.
//!
//! What the scenarios call, by the names they use:
//! - tools: `test_simple_text`, `test_image_content`, `test_audio_content`,
//!   `test_embedded_resource`, `test_multiple_content_types`, `test_tool_with_logging` (three
//!   `info` log messages 50 ms apart, filtered by `logging/setLevel`), `test_error_handling`
//!   (an `isError` result), `test_tool_with_progress` (progress 0, 50 and 100 of 100),
//!   `test_sampling` and `test_elicitation` (a request to the client, its answer returned),
//!   `test_elicitation_sep1034_defaults` (a form with a default for every primitive type),
//!   `test_elicitation_sep1330_enums` (the five enum shapes), `json_schema_2020_12_tool` (an input
//!   schema with `$schema`, `$defs` and `additionalProperties`) and `test_reconnection` (closes
//!   its request's SSE stream mid-call and answers once the client has resumed it with
//!   `Last-Event-ID`);
//! - resources `test://static-text`, `test://static-binary`, `test://watched-resource`
//!   (subscribable), the template `test://template/{id}/data`;
//! - prompts `test_simple_prompt`, `test_prompt_with_arguments` (with completions for `arg1`),
//!   `test_prompt_with_embedded_resource`, `test_prompt_with_image`;
//! - `logging/setLevel`, `completion/complete`, `resources/subscribe` and `unsubscribe`.
//!
//! [`router`] serves it at `/mcp`. rmcp refuses a `Host` that is not loopback (DNS rebinding).
//!
//! To close a request's stream, `test_reconnection` needs the stream's id in rmcp's session
//! (the `N` of its event ids `I/N`), which rmcp does not hand to a handler: a middleware reads
//! it from the first event of every POST's event stream and passes it to the handler in the
//! request's extensions. The same middleware tells the tool when a `GET` with `Last-Event-ID`
//! has resumed the stream, so that the answer goes to the new stream and is not lost.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt as _;
#[allow(deprecated)]
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    CompletionInfo, ContentBlock, CreateMessageRequestParams, ElicitRequestParams,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam, Prompt,
    PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role, SamplingMessage,
    SamplingMessageContentBlock, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio::sync::watch;

/// A 1×1 red PNG, base64.
pub const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// A WAV of eight silent samples (8 kHz, mono, 8 bit), base64.
pub const WAV: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/// How long `test_reconnection` waits for its stream's id, and then for the client to resume.
const RECONNECT_WAIT: Duration = Duration::from_secs(10);

/// The `retry:` hint sent when `test_reconnection` closes its stream.
const RECONNECT_RETRY: Duration = Duration::from_millis(500);

/// The pause between the log messages and progress notifications of a call, as the scenarios
/// ask ("~50 ms"), so that a client sees them arrive during the call.
const STEP: Duration = Duration::from_millis(50);

/// What the middleware and the servers of one [`router`] share: rmcp's sessions and the streams
/// that clients resumed.
#[derive(Debug)]
struct Streams {
    sessions: Arc<LocalSessionManager>,
    /// `(session id, stream id)` of every request stream a `GET` with `Last-Event-ID` resumed
    /// and that a `test_reconnection` call has not yet seen.
    resumed: watch::Sender<BTreeSet<(String, u64)>>,
}

/// The id of the first event of a POST's event stream (`I/N`), once the middleware has seen it.
#[derive(Clone, Debug, Default)]
struct FirstEventId(Arc<watch::Sender<Option<String>>>);

/// The server of one MCP session (rmcp makes one per session).
#[derive(Clone, Debug)]
pub struct ConformanceServer {
    streams: Arc<Streams>,
    /// The least severity of the log messages to send ([`severity`]); 0 sends all.
    log_level: Arc<AtomicU8>,
    /// Subscribed resource URIs.
    subscriptions: Arc<Mutex<BTreeSet<String>>>,
}

/// The conformance server at `/mcp`, one [`ConformanceServer`] per session.
pub fn router() -> axum::Router {
    let sessions = Arc::new(LocalSessionManager::default());
    let streams =
        Arc::new(Streams { sessions: sessions.clone(), resumed: watch::Sender::default() });
    let for_sessions = streams.clone();
    let service = StreamableHttpService::new(
        move || {
            Ok(ConformanceServer {
                streams: for_sessions.clone(),
                log_level: Arc::default(),
                subscriptions: Arc::default(),
            })
        },
        sessions,
        StreamableHttpServerConfig::default(),
    );
    axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(streams, track_streams))
}

/// Hands every POST a [`FirstEventId`] and fills it from its event stream; records the request
/// streams that a `GET` with `Last-Event-ID` resumed, once rmcp has resumed them.
async fn track_streams(
    State(streams): State<Arc<Streams>>,
    mut request: Request,
    next: Next,
) -> Response {
    let resumed =
        if request.method() == Method::GET { resumed_stream(request.headers()) } else { None };
    let first_event = (request.method() == Method::POST).then(|| {
        let slot = FirstEventId::default();
        request.extensions_mut().insert(slot.clone());
        slot
    });
    let response = next.run(request).await;
    if let Some(key) = resumed
        && response.status().is_success()
    {
        streams.resumed.send_modify(|resumed| {
            resumed.insert(key);
        });
    }
    let is_event_stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    match first_event {
        Some(slot) if is_event_stream => watch_first_event(response, slot),
        _ => response,
    }
}

/// `response`, whose body fills `slot` with the id of its first event as it passes.
fn watch_first_event(response: Response, slot: FirstEventId) -> Response {
    let (parts, body) = response.into_parts();
    let mut pending = Some((slot, String::new()));
    let body = body.into_data_stream().map(move |chunk| {
        if let (Some((slot, seen)), Ok(bytes)) = (&mut pending, &chunk) {
            seen.push_str(&String::from_utf8_lossy(bytes));
            if let Some((event, _)) = seen.split_once("\n\n") {
                let id = event.lines().find_map(|line| line.strip_prefix("id:"));
                slot.0.send_replace(id.map(|id| id.trim().to_owned()));
                pending = None;
            }
        }
        chunk
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// The session and the request stream (`N`) that a `GET` with `Mcp-Session-Id` and
/// `Last-Event-ID: I/N` resumes.
fn resumed_stream(headers: &HeaderMap) -> Option<(String, u64)> {
    let session = header_text(headers, "mcp-session-id")?;
    Some((session, stream_of(&header_text(headers, "last-event-id")?)?))
}

/// `N` of an event id `I/N` (rmcp's ids of events on request streams).
fn stream_of(event_id: &str) -> Option<u64> {
    event_id.split_once('/')?.1.parse().ok()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The rank of a log level, from `debug` (0) to `emergency` (7).
#[allow(deprecated)] // logging is deprecated in 2026-07-28, but part of the versions tested here
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// `value` as an rmcp type, or an internal error naming what failed.
fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value).map_err(|err| ErrorData::internal_error(err.to_string(), None))
}

fn internal(err: impl std::fmt::Display) -> ErrorData {
    ErrorData::internal_error(err.to_string(), None)
}

/// A tool with this input schema.
fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    Tool::new(name, description, Arc::new(schema.as_object().cloned().unwrap_or_default()))
}

/// An input schema with no properties.
fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}})
}

/// An input schema with one required string argument.
fn one_string(name: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": {name: {"type": "string", "description": description}},
        "required": [name],
    })
}

fn tools() -> Vec<Tool> {
    vec![
        tool("test_simple_text", "Returns a simple text.", no_arguments()),
        tool("test_image_content", "Returns a 1x1 PNG image.", no_arguments()),
        tool("test_audio_content", "Returns a short WAV sound.", no_arguments()),
        tool("test_embedded_resource", "Returns an embedded text resource.", no_arguments()),
        tool(
            "test_multiple_content_types",
            "Returns a text, an image and an embedded resource.",
            no_arguments(),
        ),
        tool(
            "test_tool_with_logging",
            "Sends three info log messages 50 ms apart, then returns.",
            no_arguments(),
        ),
        tool("test_error_handling", "Always fails with an isError result.", no_arguments()),
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart, then returns.",
            no_arguments(),
        ),
        tool(
            "test_sampling",
            "Asks the client to sample an LLM with the prompt and returns its answer.",
            one_string("prompt", "The prompt to send to the LLM"),
        ),
        tool(
            "test_elicitation",
            "Asks the client for a username and an email and returns the answer.",
            one_string("message", "The message to show the user"),
        ),
        tool(
            "test_elicitation_sep1034_defaults",
            "Asks the client for a form whose every field has a default (SEP-1034).",
            no_arguments(),
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Asks the client for a form with the five enum shapes (SEP-1330).",
            no_arguments(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "type": "object",
                        "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
                    },
                },
                "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
                "additionalProperties": false,
            }),
        ),
        tool(
            "test_reconnection",
            "Closes this call's SSE stream, then answers once the client has resumed it with Last-Event-ID (SEP-1699).",
            no_arguments(),
        ),
    ]
}

/// A resource with a description and a MIME type.
fn resource(uri: &str, name: &str, description: &str, mime_type: &str) -> Resource {
    let mut resource = Resource::new(uri, name);
    resource.description = Some(description.to_owned());
    resource.mime_type = Some(mime_type.to_owned());
    resource
}

/// A string argument of a prompt, required.
fn argument(name: &str, description: &str) -> PromptArgument {
    PromptArgument::new(name).with_description(description).with_required(true)
}

/// What `completion/complete` offers for `arg1` of `test_prompt_with_arguments`.
const COMPLETIONS: [&str; 5] = ["paris", "park", "party", "test", "testing"];

impl ConformanceServer {
    /// Sends a log message, unless its level is below the one the client set.
    #[allow(deprecated)] // logging is deprecated in 2026-07-28, but part of the versions tested here
    async fn log(
        &self,
        context: &RequestContext<RoleServer>,
        level: LoggingLevel,
        message: &str,
    ) -> Result<(), ErrorData> {
        if severity(level) < self.log_level.load(Ordering::SeqCst) {
            return Ok(());
        }
        let param =
            LoggingMessageNotificationParam::new(level, json!(message)).with_logger("conformance");
        context.peer.notify_logging_message(param).await.map_err(internal)
    }

    async fn with_logging(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        #[allow(deprecated)]
        let info = LoggingLevel::Info;
        self.log(context, info, "Tool execution started").await?;
        tokio::time::sleep(STEP).await;
        self.log(context, info, "Tool processing data").await?;
        tokio::time::sleep(STEP).await;
        self.log(context, info, "Tool execution completed").await?;
        Ok(CallToolResult::success(vec![ContentBlock::text("Logging test completed")]))
    }

    async fn with_progress(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let token = context.meta.get_progress_token();
        for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if step > 0 {
                tokio::time::sleep(STEP).await;
            }
            if let Some(token) = &token {
                let param =
                    ProgressNotificationParam::new(token.clone(), progress).with_total(100.0);
                context.peer.notify_progress(param).await.map_err(internal)?;
            }
        }
        Ok(CallToolResult::success(vec![ContentBlock::text("Progress test completed")]))
    }

    #[allow(deprecated)] // sampling is deprecated in 2026-07-28, but part of the versions tested here
    async fn sampling(
        &self,
        arguments: &Value,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let prompt = arguments["prompt"].as_str().unwrap_or_default();
        let message = SamplingMessage::new(Role::User, SamplingMessageContentBlock::text(prompt));
        let result = context
            .peer
            .create_message(CreateMessageRequestParams::new(vec![message], 100))
            .await
            .map_err(internal)?;
        let result = serde_json::to_value(result).map_err(internal)?;
        let text = result["content"]["text"].as_str().unwrap_or_default();
        Ok(CallToolResult::success(vec![ContentBlock::text(format!("LLM response: {text}"))]))
    }

    /// Asks the client to fill in `schema` and returns what it answered as text.
    async fn elicit(
        &self,
        context: &RequestContext<RoleServer>,
        message: &str,
        schema: Value,
    ) -> Result<CallToolResult, ErrorData> {
        let params: ElicitRequestParams =
            from_json(json!({"mode": "form", "message": message, "requestedSchema": schema}))?;
        let result = context.peer.create_elicitation(params).await.map_err(internal)?;
        let result = serde_json::to_value(result).map_err(internal)?;
        let text = format!(
            "Elicitation completed: action={}, content={}",
            result["action"].as_str().unwrap_or_default(),
            result.get("content").unwrap_or(&Value::Null)
        );
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }

    /// Closes this call's stream in rmcp's session, then waits until the client has resumed it.
    async fn reconnection(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(parts) = context.extensions.get::<axum::http::request::Parts>() else {
            return Ok(CallToolResult::error(vec![ContentBlock::text(
                "test_reconnection needs streamable HTTP",
            )]));
        };
        let session = header_text(&parts.headers, "mcp-session-id")
            .ok_or_else(|| ErrorData::invalid_request("no Mcp-Session-Id", None))?;
        let slot = parts
            .extensions
            .get::<FirstEventId>()
            .cloned()
            .ok_or_else(|| internal("no stream id slot: the middleware did not run"))?;
        let mut first_event = slot.0.subscribe();
        let event_id = tokio::time::timeout(RECONNECT_WAIT, first_event.wait_for(Option::is_some))
            .await
            .map_err(|_| internal("the stream's first event never passed"))?
            .map_err(internal)?
            .clone()
            .unwrap_or_default();
        let stream = stream_of(&event_id)
            .ok_or_else(|| internal(format!("not a request stream's event id: {event_id}")))?;
        let handle = self
            .streams
            .sessions
            .sessions
            .read()
            .await
            .get(session.as_str())
            .cloned()
            .ok_or_else(|| internal(format!("no session {session}")))?;
        let mut resumes = self.streams.resumed.subscribe();
        handle.close_sse_stream(stream, Some(RECONNECT_RETRY)).await.map_err(internal)?;
        let key = (session, stream);
        // Not holding on to the value `wait_for` returns: it borrows the watch's lock, which
        // `send_modify` below takes.
        let resumed =
            tokio::time::timeout(RECONNECT_WAIT, resumes.wait_for(|set| set.contains(&key)))
                .await
                .is_ok_and(|waited| waited.is_ok());
        self.streams.resumed.send_modify(|set| {
            set.remove(&key);
        });
        if !resumed {
            eprintln!("mcp-conformance-server: stream {} was not resumed in time", key.1);
        }
        Ok(CallToolResult::success(vec![ContentBlock::text("Reconnection test completed")]))
    }
}

#[allow(deprecated)] // logging and subscriptions are deprecated in 2026-07-28, but tested here
impl ServerHandler for ConformanceServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_prompts()
            .enable_logging()
            .enable_completions()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("mcp-conformance-server", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log_level.store(severity(request.level), Ordering::SeqCst);
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let request = serde_json::to_value(request).map_err(internal)?;
        let known = request["ref"]["type"] == "ref/prompt"
            && request["ref"]["name"] == "test_prompt_with_arguments"
            && request["argument"]["name"] == "arg1";
        let prefix = request["argument"]["value"].as_str().unwrap_or_default();
        let values = COMPLETIONS
            .iter()
            .filter(|value| known && value.starts_with(prefix))
            .map(|value| (*value).to_owned())
            .collect();
        Ok(CompleteResult::new(CompletionInfo::new(values).map_err(internal)?))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult { tools: tools(), ..Default::default() })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        let result = match &*request.name {
            "test_simple_text" => CallToolResult::success(vec![ContentBlock::text(
                "This is a simple text response for testing.",
            )]),
            "test_image_content" => {
                CallToolResult::success(vec![ContentBlock::image(PNG, "image/png")])
            }
            "test_audio_content" => {
                CallToolResult::success(vec![ContentBlock::audio(WAV, "audio/wav")])
            }
            "test_embedded_resource" => CallToolResult::success(vec![ContentBlock::embedded_text(
                "test://embedded-resource",
                "This is an embedded resource content.",
            )]),
            "test_multiple_content_types" => CallToolResult::success(vec![
                ContentBlock::text("Multiple content types test:"),
                ContentBlock::image(PNG, "image/png"),
                ContentBlock::resource(
                    ResourceContents::text(
                        json!({"test": "data", "value": 123}).to_string(),
                        "test://mixed-content-resource",
                    )
                    .with_mime_type("application/json"),
                ),
            ]),
            "test_tool_with_logging" => self.with_logging(&context).await?,
            "test_error_handling" => CallToolResult::error(vec![ContentBlock::text(
                "This tool intentionally returns an error for testing",
            )]),
            "test_tool_with_progress" => self.with_progress(&context).await?,
            "test_sampling" => self.sampling(&arguments, &context).await?,
            "test_elicitation" => {
                let message = arguments["message"].as_str().unwrap_or_default().to_owned();
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "User's response"},
                        "email": {"type": "string", "description": "User's email address"},
                    },
                    "required": ["username", "email"],
                });
                self.elicit(&context, &message, schema).await?
            }
            "test_elicitation_sep1034_defaults" => {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "default": "John Doe"},
                        "age": {"type": "integer", "default": 30},
                        "score": {"type": "number", "default": 95.5},
                        "status": {
                            "type": "string",
                            "enum": ["active", "inactive", "pending"],
                            "default": "active",
                        },
                        "verified": {"type": "boolean", "default": true},
                    },
                });
                self.elicit(&context, "Please review these defaults", schema).await?
            }
            "test_elicitation_sep1330_enums" => {
                let titled = |values: [(&str, &str); 3]| {
                    values
                        .iter()
                        .map(|(value, title)| json!({"const": value, "title": title}))
                        .collect::<Vec<_>>()
                };
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "untitledSingle": {
                            "type": "string",
                            "enum": ["option1", "option2", "option3"],
                        },
                        "titledSingle": {
                            "type": "string",
                            "oneOf": titled([
                                ("value1", "First Option"),
                                ("value2", "Second Option"),
                                ("value3", "Third Option"),
                            ]),
                        },
                        "legacyEnum": {
                            "type": "string",
                            "enum": ["opt1", "opt2", "opt3"],
                            "enumNames": ["Option One", "Option Two", "Option Three"],
                        },
                        "untitledMulti": {
                            "type": "array",
                            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                        },
                        "titledMulti": {
                            "type": "array",
                            "items": {"anyOf": titled([
                                ("value1", "First Choice"),
                                ("value2", "Second Choice"),
                                ("value3", "Third Choice"),
                            ])},
                        },
                    },
                });
                self.elicit(&context, "Please choose", schema).await?
            }
            "json_schema_2020_12_tool" => {
                CallToolResult::success(vec![ContentBlock::text(format!("received {arguments}"))])
            }
            "test_reconnection" => self.reconnection(&context).await?,
            other => {
                return Err(ErrorData::invalid_params(format!("no tool {other}"), None));
            }
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = vec![
            resource("test://static-text", "static-text", "A static text resource", "text/plain"),
            resource("test://static-binary", "static-binary", "A 1x1 PNG image", "image/png"),
            resource(
                "test://watched-resource",
                "watched-resource",
                "A resource to subscribe to",
                "text/plain",
            ),
        ];
        Ok(ListResourcesResult { resources, ..Default::default() })
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let mut template = ResourceTemplate::new("test://template/{id}/data", "template-data");
        template.description = Some("Data for an id".to_owned());
        template.mime_type = Some("application/json".to_owned());
        Ok(ListResourceTemplatesResult { resource_templates: vec![template], ..Default::default() })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let contents = match uri {
            "test://static-text" => {
                ResourceContents::text("This is the content of the static text resource.", uri)
                    .with_mime_type("text/plain")
            }
            "test://static-binary" => ResourceContents::blob(PNG, uri).with_mime_type("image/png"),
            "test://watched-resource" => {
                ResourceContents::text("The watched resource.", uri).with_mime_type("text/plain")
            }
            _ => match uri.strip_prefix("test://template/").and_then(|id| id.strip_suffix("/data"))
            {
                Some(id) if !id.is_empty() && !id.contains('/') => {
                    let data = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                    ResourceContents::text(data.to_string(), uri).with_mime_type("application/json")
                }
                _ => {
                    return Err(ErrorData::resource_not_found(format!("no resource {uri}"), None));
                }
            },
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.lock().map_err(internal)?.insert(request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.lock().map_err(internal)?.remove(&request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts = vec![
            Prompt::new("test_simple_prompt", Some("A simple prompt without arguments"), None),
            Prompt::new(
                "test_prompt_with_arguments",
                Some("A prompt with two arguments"),
                Some(vec![
                    argument("arg1", "First test argument"),
                    argument("arg2", "Second test argument"),
                ]),
            ),
            Prompt::new(
                "test_prompt_with_embedded_resource",
                Some("A prompt that embeds a resource"),
                Some(vec![argument("resourceUri", "URI of the resource to embed")]),
            ),
            Prompt::new("test_prompt_with_image", Some("A prompt with an image"), None),
        ];
        Ok(ListPromptsResult { prompts, ..Default::default() })
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arguments = request.arguments.clone().unwrap_or_default();
        let argument =
            |name: &str| {
                arguments.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                    ErrorData::invalid_params(format!("missing argument {name}"), None)
                })
            };
        let messages = match request.name.as_str() {
            "test_simple_prompt" => {
                vec![PromptMessage::new_text(Role::User, "This is a simple prompt for testing.")]
            }
            "test_prompt_with_arguments" => vec![PromptMessage::new_text(
                Role::User,
                format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    argument("arg1")?,
                    argument("arg2")?
                ),
            )],
            "test_prompt_with_embedded_resource" => vec![
                PromptMessage::new(
                    Role::User,
                    ContentBlock::resource(
                        ResourceContents::text(
                            "Embedded resource content for testing.",
                            argument("resourceUri")?,
                        )
                        .with_mime_type("text/plain"),
                    ),
                ),
                PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
            ],
            "test_prompt_with_image" => vec![
                PromptMessage::new(Role::User, ContentBlock::image(PNG, "image/png")),
                PromptMessage::new_text(Role::User, "Please analyze the image above."),
            ],
            other => {
                return Err(ErrorData::invalid_params(format!("no prompt {other}"), None));
            }
        };
        Ok(GetPromptResult::new(messages).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_name_their_request_stream() {
        assert_eq!(stream_of("0/3"), Some(3));
        assert_eq!(stream_of("12/0"), Some(0));
        assert_eq!(stream_of("4"), None, "the standalone stream's ids have no stream part");
    }

    /// The elicitation forms survive rmcp's typed schema: what the scenarios check is sent.
    #[test]
    fn enum_shapes_pass_through_rmcp_schema_types() {
        let schema = json!({
            "type": "object",
            "properties": {
                "legacyEnum": {"type": "string", "enum": ["a", "b"], "enumNames": ["A", "B"]},
                "titledSingle": {"type": "string", "oneOf": [{"const": "a", "title": "A"}]},
                "titledMulti": {"type": "array", "items": {"anyOf": [{"const": "a", "title": "A"}]}},
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["a"]}},
                "age": {"type": "integer", "default": 30},
            },
        });
        let params: ElicitRequestParams =
            from_json(json!({"mode": "form", "message": "m", "requestedSchema": schema.clone()}))
                .unwrap();
        let sent = serde_json::to_value(params).unwrap();
        for (field, value) in schema["properties"].as_object().unwrap() {
            assert_eq!(&sent["requestedSchema"]["properties"][field], value, "{field}");
        }
    }
}
