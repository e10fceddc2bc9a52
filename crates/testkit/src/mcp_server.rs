//! [`TestServer`]: the MCP server our session tests talk to, over stdio, streamable HTTP or
//! legacy SSE.
//!
//! Tools: `echo`, `add`, `sleep` (honours cancellation), `fail` (an `is_error` result),
//! `large_output`, `progress` (progress notifications), `log` (logging notifications),
//! `ask_client` (a request to the client), `change_tools` (a list-changed notification),
//! `request_headers`, `request_meta`, `increment` (not idempotent: counts up a process-wide counter), `lookup`
//! (read-only and idempotent) and `stats` (what the server has seen, such as cancellations and
//! how many calls ran at once). `increment` and `lookup` take `ms` (wait first, cancellably)
//! and `crash` (exit the process once the tool has run, without answering). One text resource,
//! one resource template-free binary resource, and one prompt. `list_tools` pages by
//! `page_size`.
//!
//! When the environment variable `TESTKIT_LEDGER` names a file, the server appends its
//! `initialize`, `discover` and `call increment|lookup` events to it (see [`crate::ledger`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
#[allow(deprecated)]
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    CreateMessageRequestParams, DiscoverResult, ElicitRequestParams, ErrorCode,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourcesResult,
    ListToolsResult, LoggingLevel, LoggingMessageNotificationParam, PaginatedRequestParams,
    ProgressNotificationParam, Prompt, PromptArgument, PromptMessage, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, Role, SamplingMessage, SamplingMessageContentBlock, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

/// The URI of the text resource.
pub const TEXT_RESOURCE: &str = "testkit://greeting";

/// The test MCP server. Cheap to clone: clones share their counters.
///
/// Its counters of calls, cancellations and sleeps are its own (over HTTP, one session's);
/// those of [`ProcessCounters`] are shared by every server made [`sharing`](Self::sharing) them.
#[derive(Clone, Debug)]
pub struct TestServer {
    tool_router: ToolRouter<TestServer>,
    page_size: usize,
    legacy: bool,
    cancelled: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    /// Calls of `sleep` running now, so that a test can wait until one is in flight.
    sleeping: Arc<AtomicU64>,
    /// What the servers of this process count together.
    process: Arc<ProcessCounters>,
    /// The ledger file (`TESTKIT_LEDGER`), if any.
    ledger: Option<Arc<Path>>,
    /// How `tools/list` pages.
    paging: Paging,
    /// The `ttlMs` its lists give, if any.
    ttl_ms: Option<u64>,
}

/// How a [`TestServer`]'s `tools/list` pages, for testing a client's paging bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Paging {
    /// `page_size` tools a page, then no cursor: the right way.
    #[default]
    Proper,
    /// Every page sends the same cursor again.
    Repeat,
    /// Pages never end: each cursor is new, and the tools start over.
    Endless,
}

impl Paging {
    /// The value of `testkit-mcp --paging`: `proper`, `repeat` or `endless`.
    pub fn parse(text: &str) -> Option<Paging> {
        match text {
            "proper" => Some(Paging::Proper),
            "repeat" => Some(Paging::Repeat),
            "endless" => Some(Paging::Endless),
            _ => None,
        }
    }
}

/// The counters that all the [`TestServer`]s of a process share, whichever session or
/// transport they serve: `testkit-mcp` makes one and gives it to every server it makes.
#[derive(Debug, Default)]
pub struct ProcessCounters {
    /// Tool calls running now (`stats` aside).
    in_flight: AtomicU64,
    /// The most tool calls that ever ran at once (`stats` aside).
    max_in_flight: AtomicU64,
    /// `initialize` requests answered.
    initializes: AtomicU64,
    /// Calls of `increment` that ran.
    increments: AtomicU64,
}

impl Default for TestServer {
    fn default() -> Self {
        TestServer::new(usize::MAX)
    }
}

/// Counts a running call for as long as it lives.
struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn enter(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Gauge(count)
    }

    /// Counts a running call in `count`, and raises `max` to the new count if it is higher.
    fn enter_recording_max(count: &'a AtomicU64, max: &AtomicU64) -> Self {
        let now = count.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(now, Ordering::SeqCst);
        Gauge(count)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Arguments of `echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// The text to send back.
    pub text: String,
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddArgs {
    /// First addend.
    pub a: f64,
    /// Second addend.
    pub b: f64,
}

/// Arguments of `sleep`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SleepArgs {
    /// How long to sleep, in milliseconds.
    pub ms: u64,
}

/// Arguments of `fail`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FailArgs {
    /// The error text of the result.
    pub message: String,
}

/// Arguments of `large_output`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LargeOutputArgs {
    /// How many bytes of text to return.
    pub bytes: usize,
}

/// Arguments of `progress`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProgressArgs {
    /// How many progress notifications to send.
    pub steps: u32,
}

/// Arguments of `increment` and `lookup`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EffectArgs {
    /// Wait this many milliseconds before the tool runs (the client may cancel meanwhile; the
    /// tool does not run then).
    pub ms: Option<u64>,
    /// When true, the process exits (status 1) right after the tool has run, without
    /// answering.
    pub crash: Option<bool>,
}

/// Arguments of `ask_client`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AskClientArgs {
    /// What to ask the client: `sampling`, `elicitation` or `roots`.
    pub what: String,
}

/// Arguments of `log`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LogArgs {
    /// `debug`, `info`, `warning` or `error`.
    pub level: String,
    /// The message.
    pub message: String,
}

#[tool_router]
impl TestServer {
    /// A server whose `tools/list` answers `page_size` tools a page.
    pub fn new(page_size: usize) -> Self {
        TestServer {
            tool_router: Self::tool_router(),
            page_size: page_size.max(1),
            legacy: false,
            cancelled: Arc::default(),
            calls: Arc::default(),
            sleeping: Arc::default(),
            process: Arc::default(),
            ledger: crate::ledger::from_env().map(Into::into),
            paging: Paging::Proper,
            ttl_ms: None,
        }
    }

    /// This server, paging its `tools/list` as `paging` says.
    #[must_use]
    pub fn paging(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }

    /// This server, giving `ttlMs` on its lists (2026-07-28's freshness hint).
    #[must_use]
    pub fn ttl_ms(mut self, ttl_ms: u64) -> Self {
        self.ttl_ms = Some(ttl_ms);
        self
    }

    /// This server, counting its process-wide figures (see [`ProcessCounters`]) in `process`,
    /// which other servers share.
    #[must_use]
    pub fn sharing(mut self, process: Arc<ProcessCounters>) -> Self {
        self.process = process;
        self
    }

    /// A server of the `initialize` era: it answers `server/discover` with "method not found"
    /// and supports protocol versions up to 2025-11-25 only.
    #[must_use]
    pub fn legacy(mut self) -> Self {
        self.legacy = true;
        self
    }

    /// How many requests were cancelled by the client so far.
    pub fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Appends `event` to the ledger, if there is one.
    fn record(&self, event: &str) {
        if let Some(ledger) = &self.ledger
            && let Err(err) = crate::ledger::record(ledger, event)
        {
            eprintln!("testkit-mcp: cannot append to the ledger {}: {err}", ledger.display());
        }
    }

    /// What `increment` and `lookup` do before and after their own work: wait `args.ms`
    /// (cancellably), then record `call TOOL` in the ledger and run `work`, then exit if
    /// `args.crash` says so.
    async fn effect<T>(
        &self,
        tool: &str,
        args: &EffectArgs,
        context: &RequestContext<RoleServer>,
        work: impl FnOnce() -> T,
    ) -> Result<T, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(ms) = args.ms {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(ms)) => {}
                () = context.ct.cancelled() => {
                    self.cancelled.fetch_add(1, Ordering::SeqCst);
                    eprintln!("testkit-mcp: {tool} cancelled by the client before it ran");
                    return Err(ErrorData::internal_error("cancelled", None));
                }
            }
        }
        self.record(&format!("call {tool}"));
        let result = work();
        if args.crash == Some(true) {
            eprintln!("testkit-mcp: {tool} ran; crashing without an answer, as asked");
            std::process::exit(1);
        }
        Ok(result)
    }

    #[tool(
        description = "Adds one to a counter of the server process and returns its new value. Not idempotent. `ms`: wait first; `crash`: exit once it has run, without answering.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false)
    )]
    async fn increment(
        &self,
        Parameters(args): Parameters<EffectArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        self.effect("increment", &args, &context, || {
            (self.process.increments.fetch_add(1, Ordering::SeqCst) + 1).to_string()
        })
        .await
    }

    #[tool(
        description = "Looks something up: returns \"found\". Read-only and idempotent. `ms`: wait first; `crash`: exit once it has run, without answering.",
        annotations(read_only_hint = true, idempotent_hint = true)
    )]
    async fn lookup(
        &self,
        Parameters(args): Parameters<EffectArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        self.effect("lookup", &args, &context, || "found".to_owned()).await
    }

    #[tool(description = "Returns the text it is given.")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        args.text
    }

    #[tool(description = "Adds two numbers.")]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (args.a + args.b).to_string()
    }

    #[tool(description = "Sleeps for `ms` milliseconds; stops early when the client cancels.")]
    async fn sleep(
        &self,
        Parameters(args): Parameters<SleepArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _running = Gauge::enter(&self.sleeping);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(args.ms)) => Ok(format!("slept {} ms", args.ms)),
            () = context.ct.cancelled() => {
                self.cancelled.fetch_add(1, Ordering::SeqCst);
                eprintln!("testkit-mcp: sleep cancelled by the client");
                Err(ErrorData::internal_error("cancelled", None))
            }
        }
    }

    #[tool(description = "Fails: returns an is_error result with the given message.")]
    async fn fail(&self, Parameters(args): Parameters<FailArgs>) -> CallToolResult {
        self.calls.fetch_add(1, Ordering::SeqCst);
        CallToolResult::error(vec![ContentBlock::text(args.message)])
    }

    #[tool(description = "Returns `bytes` bytes of text.")]
    async fn large_output(&self, Parameters(args): Parameters<LargeOutputArgs>) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        "x".repeat(args.bytes)
    }

    #[tool(description = "Sends `steps` progress notifications, then returns.")]
    async fn progress(
        &self,
        Parameters(args): Parameters<ProgressArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let Some(token) = context.meta.get_progress_token() else {
            return Ok("no progress token".to_owned());
        };
        for step in 1..=args.steps {
            let param = ProgressNotificationParam::new(token.clone(), f64::from(step))
                .with_total(f64::from(args.steps))
                .with_message(format!("step {step}"));
            context
                .peer
                .notify_progress(param)
                .await
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        }
        Ok(format!("{} steps done", args.steps))
    }

    #[tool(description = "Sends a logging notification.")]
    #[allow(deprecated)] // logging notifications are deprecated in 2026-07-28 but still sent to older clients
    async fn log(
        &self,
        Parameters(args): Parameters<LogArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let level = match args.level.as_str() {
            "debug" => LoggingLevel::Debug,
            "warning" => LoggingLevel::Warning,
            "error" => LoggingLevel::Error,
            _ => LoggingLevel::Info,
        };
        let param = LoggingMessageNotificationParam::new(level, serde_json::json!(args.message))
            .with_logger("testkit");
        context
            .peer
            .notify_logging_message(param)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok("logged".to_owned())
    }

    #[tool(
        description = "Sends the client a request (`sampling`, `elicitation` or `roots`) and returns its answer, or its error, as JSON; `capabilities` returns what the client advertised in `initialize`."
    )]
    #[allow(deprecated)] // sampling and roots are deprecated in 2026-07-28 but part of every earlier version
    async fn ask_client(
        &self,
        Parameters(args): Parameters<AskClientArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let peer = &context.peer;
        let answer = match args.what.as_str() {
            "sampling" => {
                let message = SamplingMessage::new(
                    Role::User,
                    SamplingMessageContentBlock::text("What is 2 + 2?"),
                );
                peer.create_message(CreateMessageRequestParams::new(vec![message], 50))
                    .await
                    .map(|result| serde_json::to_value(result).unwrap_or_default())
            }
            "elicitation" => {
                let params: ElicitRequestParams = serde_json::from_value(serde_json::json!({
                    "mode": "form",
                    "message": "What is your name?",
                    "requestedSchema": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"]
                    }
                }))
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                peer.create_elicitation(params)
                    .await
                    .map(|result| serde_json::to_value(result).unwrap_or_default())
            }
            "roots" => peer
                .list_roots()
                .await
                .map(|result| serde_json::to_value(result).unwrap_or_default()),
            // What the client advertised in `initialize`, not a request.
            "capabilities" => Ok(peer
                .peer_info()
                .map(|info| serde_json::to_value(&info.capabilities).unwrap_or_default())
                .unwrap_or_default()),
            other => {
                return Err(ErrorData::invalid_params(format!("cannot ask for {other}"), None));
            }
        };
        Ok(match answer {
            Ok(value) => serde_json::json!({"answer": value}).to_string(),
            Err(rmcp::ServiceError::McpError(error)) => {
                serde_json::json!({"error": {"code": error.code.0, "message": error.message}})
                    .to_string()
            }
            Err(other) => serde_json::json!({"error": {"message": other.to_string()}}).to_string(),
        })
    }

    #[tool(
        description = "Returns structured content `{\"n\": n}` under an output schema that wants an integer `n`; `n` may be any JSON value, so a test can make the result break its own schema.",
        output_schema = structured_output_schema()
    )]
    async fn structured(
        &self,
        Parameters(args): Parameters<StructuredArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let content = serde_json::json!({"n": args.n});
        Ok(CallToolResult::structured(content))
    }

    #[tool(
        description = "Tells the client that the tool list changed (notifications/tools/list_changed)."
    )]
    async fn change_tools(&self, context: RequestContext<RoleServer>) -> Result<String, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        context
            .peer
            .notify_tool_list_changed()
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok("notified".to_owned())
    }

    #[tool(
        description = "The `_meta` of this call's request (such as its `traceparent`), as JSON."
    )]
    async fn request_meta(&self, context: RequestContext<RoleServer>) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        serde_json::to_string(&context.meta).unwrap_or_default()
    }

    #[tool(
        description = "The HTTP headers of this call's request, as a JSON object (empty over stdio)."
    )]
    async fn request_headers(&self, context: RequestContext<RoleServer>) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let headers: std::collections::BTreeMap<String, String> = context
            .extensions
            .get::<axum::http::request::Parts>()
            .map(|parts| {
                parts
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        (name.to_string(), value.to_str().unwrap_or("<binary>").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        serde_json::to_string(&headers).unwrap_or_default()
    }

    #[tool(
        description = "What the server has seen, as JSON: calls and cancellations, and calls of `sleep` running now (this session's); tool calls running now and the most that ever ran at once (`stats` aside), and `initialize` requests answered (the process's)."
    )]
    async fn stats(&self) -> String {
        serde_json::json!({
            "calls": self.calls.load(Ordering::SeqCst),
            "cancelled": self.cancelled.load(Ordering::SeqCst),
            "sleeping": self.sleeping.load(Ordering::SeqCst),
            "in_flight": self.process.in_flight.load(Ordering::SeqCst),
            "max_in_flight": self.process.max_in_flight.load(Ordering::SeqCst),
            "initializes": self.process.initializes.load(Ordering::SeqCst),
        })
        .to_string()
    }
}

// Logging notifications are deprecated (SEP-2577) but still part of the protocol versions most
// servers speak; the test server keeps them so clients can be tested against them.
#[allow(deprecated)]
impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_logging()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("testkit-mcp", env!("CARGO_PKG_VERSION"));
        info.instructions = Some("A server for tests.".to_owned());
        info
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        if self.legacy {
            ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25).into()
        } else {
            ProtocolVersion::KNOWN_VERSIONS.into()
        }
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        // rmcp's default, plus the count and the ledger.
        context.peer.set_peer_info(request.clone());
        let result = self.negotiate_initialize(&request);
        self.process.initializes.fetch_add(1, Ordering::SeqCst);
        self.record("initialize");
        result
    }

    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        self.record("discover");
        if self.legacy {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                "server/discover is not supported",
                None,
            ));
        }
        Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.get_info(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // Every call counts but `stats`: it observes the others.
        let _running = (request.name != "stats").then(|| {
            Gauge::enter_recording_max(&self.process.in_flight, &self.process.max_in_flight)
        });
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.record("tools/list");
        let mut tools = self.tool_router.list_all();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        let start = match request.and_then(|r| r.cursor) {
            Some(cursor) => cursor
                .parse::<usize>()
                .map_err(|_| ErrorData::invalid_params("bad cursor", None))?,
            None => 0,
        };
        let from = start % tools.len().max(1);
        let end = from.saturating_add(self.page_size).min(tools.len());
        let next_cursor = match self.paging {
            Paging::Proper => (end < tools.len()).then(|| end.to_string()),
            Paging::Repeat => Some("1".to_owned()),
            Paging::Endless => Some((start + end - from).to_string()),
        };
        let mut result = ListToolsResult {
            tools: tools.get(from..end).map(<[_]>::to_vec).unwrap_or_default(),
            next_cursor,
            ..Default::default()
        };
        result.ttl_ms = self.ttl_ms;
        Ok(result)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut resource = Resource::new(TEXT_RESOURCE, "greeting");
        resource.mime_type = Some("text/plain".to_owned());
        Ok(ListResourcesResult { resources: vec![resource], ..Default::default() })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != TEXT_RESOURCE {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}", request.uri),
                None,
            ));
        }
        let contents = ResourceContents::text("Hello from testkit-mcp", TEXT_RESOURCE);
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let argument =
            PromptArgument::new("name").with_description("Who to greet").with_required(true);
        let prompt = Prompt::new("greet", Some("Greets someone by name"), Some(vec![argument]));
        Ok(ListPromptsResult { prompts: vec![prompt], ..Default::default() })
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name != "greet" {
            return Err(ErrorData::invalid_params(format!("no prompt {}", request.name), None));
        }
        let name = request
            .arguments
            .as_ref()
            .and_then(|args| args.get("name"))
            .and_then(|v| v.as_str())
            .unwrap_or("stranger")
            .to_owned();
        let message = PromptMessage::new_text(Role::User, format!("Say hello to {name}."));
        Ok(GetPromptResult::new(vec![message]).with_description("A greeting").into())
    }
}

/// The arguments of `structured`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StructuredArgs {
    /// What to return as `n` (the output schema wants an integer).
    pub n: serde_json::Value,
}

/// `structured`'s output schema: an object with an integer `n`.
fn structured_output_schema() -> Arc<serde_json::Map<String, serde_json::Value>> {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
    });
    Arc::new(schema.as_object().cloned().unwrap_or_default())
}
