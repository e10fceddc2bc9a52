//! [`Session`]: one initialized MCP session, and everything it can ask its server.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use mcp_config::{CatalogSettings, ServerConfig, Timeouts, TransportKind};
use rmcp::ServiceError;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, CancelledNotification,
    CancelledNotificationParam, ClientCapabilities, ClientRequest, ClientResult,
    DEFAULT_MRTR_MAX_ROUNDS, GetExtensions, GetMeta, GetPromptRequest, GetPromptRequestParams,
    GetPromptResult, Implementation, InputRequest, InputRequiredResult, InputResponses,
    JsonRpcMessage, ListPromptsRequest, ListResourceTemplatesRequest, ListResourcesRequest,
    ListToolsRequest, NumberOrString, PaginatedRequestParams, PingRequest, ProgressToken, Prompt,
    ProtocolVersion, ReadResourceRequest, ReadResourceRequestParams, ReadResourceResult, RequestId,
    RequestParamsMeta as _, Resource, ResourceTemplate, ServerCapabilities, ServerPeerInfo,
    ServerRequest, ServerResult, Tool,
};
use rmcp::service::{
    Peer, PeerRequestOptions, RequestContext, RoleClient, RunningService, Service as RmcpService,
};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::connection::{Connection, DirectWriter, Failed, Link, Service};
use crate::error::{PagingProblem, SessionError, humanize};
use crate::handler::{ListChanges, ListKind};

/// Options for one request.
///
/// ```
/// use std::time::Duration;
/// use mcp_session::CallOptions;
///
/// let options = CallOptions::new()
///     .timeout(Duration::from_secs(300))
///     .traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) traceparent: Option<String>,
    pub(crate) retry_idempotent: bool,
}

impl CallOptions {
    /// The server's defaults.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Overrides the server's `timeouts.request` for this call. Through a
    /// [`SessionPool`](crate::SessionPool), the time a call waits in the server's queue counts
    /// against it.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// A W3C trace context for the call (`00-TRACE_ID-PARENT_ID-FLAGS`), sent in the request's
    /// `_meta` as `traceparent` (SEP-414), so that a server that traces can join the caller's
    /// trace.
    #[must_use]
    pub fn traceparent(mut self, traceparent: impl Into<String>) -> Self {
        self.traceparent = Some(traceparent.into());
        self
    }

    /// Lets a [`SessionPool`](crate::SessionPool) run the call again on a new session when the
    /// connection died while it ran, **if** the server annotates the tool `idempotentHint` or
    /// `readOnlyHint`. Off by default: without it, a call that may have reached the server is
    /// never sent twice. A [`Session`] never retries.
    #[must_use]
    pub fn retry_idempotent(mut self, retry: bool) -> Self {
        self.retry_idempotent = retry;
        self
    }
}

/// An open, initialized MCP session with one server.
///
/// Get one from [`MCPClientSessionManager::open_session`](crate::MCPClientSessionManager::open_session).
/// Requests may run concurrently from many tasks (`&self`). Clones are cheap and share the
/// session (a toolkit's tools hold clones): [`close`](Self::close) on any of them closes it for
/// all, and later requests fail with "the session is closed". Dropping the last clone without
/// closing still ends the server (its process group gets SIGTERM at once), but without the
/// graceful steps.
#[derive(Clone, Debug)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    server: String,
    transport: TransportKind,
    timeouts: Timeouts,
    /// Requests hold it for reading; `close` takes it.
    service: tokio::sync::RwLock<Option<Service>>,
    peer_info: Option<Arc<ServerPeerInfo>>,
    /// Whether the server may answer `input_required` (MRTR, from protocol 2026-07-28 on), by
    /// the protocol the handshake agreed.
    rounds: bool,
    /// A stdio server's process id.
    process_id: Option<u32>,
    /// The transport's side: a stdio server's process group, an HTTP URL, an SSE stream's end.
    link: tokio::sync::Mutex<Box<dyn Link>>,
    /// The `session` span it was opened in: each request's span is a child of it.
    span: tracing::Span,
    /// Its list bounds.
    catalog: CatalogSettings,
    /// The `list_changed` notifications it had.
    changes: Arc<ListChanges>,
    /// Set by `close`, before it waits for anything.
    closed: AtomicBool,
    /// Set by `close` once the grace period of requests in flight is over: each then tells its
    /// server `notifications/cancelled` and returns.
    closing: tokio::sync::watch::Sender<bool>,
    /// `notifications/cancelled` for requests whose callers stopped waiting (see
    /// [`CancelOnDrop`]), still being sent; `close` waits for them.
    cancels: Mutex<JoinSet<()>>,
    /// The transport's way past rmcp's service loop, when it has one and may use it.
    direct: Option<DirectPath>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("transport", &self.transport)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A session held weakly, as the manager's registry holds them.
#[derive(Clone)]
pub(crate) struct WeakSession(Weak<Inner>);

impl WeakSession {
    pub(crate) fn upgrade(&self) -> Option<Session> {
        self.0.upgrade().map(|inner| Session { inner })
    }
}

impl Session {
    pub(crate) fn new(server: String, config: &ServerConfig, connection: Connection) -> Session {
        let peer_info = connection.service.peer_info();
        let direct = connection
            .writer
            .and_then(|writer| DirectPath::new(writer, &connection.service, peer_info.as_deref()));
        let rounds = peer_info
            .as_deref()
            .is_none_or(|info| info.protocol_version >= ProtocolVersion::V_2026_07_28);
        let timeouts = config.timeouts();
        let changes = Arc::clone(&connection.service.service().changes);
        Session {
            inner: Arc::new(Inner {
                server,
                transport: connection.link.kind(),
                timeouts: *timeouts,
                service: tokio::sync::RwLock::new(Some(connection.service)),
                peer_info,
                rounds,
                process_id: connection.link.process_id(),
                link: tokio::sync::Mutex::new(connection.link),
                span: tracing::Span::current(),
                catalog: *config.catalog(),
                changes,
                closed: AtomicBool::new(false),
                closing: tokio::sync::watch::Sender::new(false),
                cancels: Mutex::new(JoinSet::new()),
                direct,
            }),
        }
    }

    /// Whether `other` is a clone of this session.
    pub(crate) fn same_as(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn downgrade(&self) -> WeakSession {
        WeakSession(Arc::downgrade(&self.inner))
    }

    /// Whether [`close`](Self::close) has been called on this session or a clone of it.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Whether the session can still carry requests: not closed, and its connection not ended
    /// (a stdio server that exited, an event stream that closed, a transport that failed).
    ///
    /// A session that answers this `true` may still find its connection dead on the next
    /// request (an HTTP server that restarted forgets its sessions silently);
    /// [`SessionPool`](crate::SessionPool) reopens such sessions on next use.
    pub fn is_alive(&self) -> bool {
        !self.is_closed()
            && self.inner.service.try_read().is_ok_and(|service| {
                service
                    .as_ref()
                    .is_some_and(|service| !service.is_closed() && !service.is_transport_closed())
            })
    }

    /// The server's name, as configured.
    pub fn server_name(&self) -> &str {
        &self.inner.server
    }

    /// The process id of a stdio server (the leader of its process group), while it runs.
    pub fn process_id(&self) -> Option<u32> {
        self.inner.process_id.filter(|_| !self.is_closed())
    }

    /// The transport this session runs over.
    pub fn transport(&self) -> TransportKind {
        self.inner.transport
    }

    /// The running service, for one request; an error once the session is closed.
    async fn service(&self) -> Result<tokio::sync::RwLockReadGuard<'_, Service>, SessionError> {
        if self.is_closed() {
            return Err(SessionError::Closed { server: self.inner.server.clone() });
        }
        let guard = self.inner.service.read().await;
        tokio::sync::RwLockReadGuard::try_map(guard, Option::as_ref)
            .map_err(|_| SessionError::Closed { server: self.inner.server.clone() })
    }

    fn peer_info(&self) -> Option<Arc<ServerPeerInfo>> {
        self.inner.peer_info.clone()
    }

    /// What the server said about itself in the handshake.
    ///
    /// The session is initialized when it is opened; this exists for parity with the seed's
    /// `await session.initialize()`, and may be called any number of times.
    ///
    /// # Errors
    /// [`SessionError::Closed`] when the session is closed.
    pub async fn initialize(&self) -> Result<Arc<ServerPeerInfo>, SessionError> {
        drop(self.service().await?);
        self.peer_info().ok_or_else(|| SessionError::Handshake {
            server: self.inner.server.clone(),
            reason: "the server sent no initialize result".to_owned(),
            stderr_tail: None,
        })
    }

    /// The server's name and version, from the handshake.
    pub fn server_info(&self) -> Option<Implementation> {
        self.peer_info()?.server_info.clone()
    }

    /// The negotiated protocol version, such as `2025-11-25`.
    pub fn protocol_version(&self) -> Option<String> {
        Some(self.peer_info()?.protocol_version.to_string())
    }

    /// The server's instructions for using it, if it gave any.
    pub fn instructions(&self) -> Option<String> {
        self.peer_info()?.instructions.clone()
    }

    /// Every tool of the server (all pages).
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed; [`SessionError::Paging`] when
    /// the pages break the server's `catalog` bounds.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, SessionError> {
        Ok(self.list::<Tool>().await?.items)
    }

    /// Calls tool `name` with `arguments` (a JSON object, or `null` for none).
    ///
    /// A tool that runs and fails is not an error: the result has `is_error: Some(true)`.
    ///
    /// # Errors
    /// A [`SessionError`]: a timeout, a JSON-RPC error (such as an unknown tool), a dead server.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<CallToolResult, SessionError> {
        self.call_tool_with(name, arguments, CallOptions::default()).await
    }

    /// [`call_tool`](Self::call_tool) with options, such as its own timeout or a W3C
    /// `traceparent`.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: serde_json::Value,
        options: CallOptions,
    ) -> Result<CallToolResult, SessionError> {
        let mut params = CallToolRequestParams::new(name.to_owned());
        match arguments {
            serde_json::Value::Null => {}
            serde_json::Value::Object(map) => params = params.with_arguments(map),
            other => {
                let mut found = other.to_string();
                if found.len() > 80 {
                    found.truncate(found.floor_char_boundary(80));
                    found.push('…');
                }
                return Err(SessionError::InvalidArguments {
                    server: self.inner.server.clone(),
                    operation: format!("tools/call {name}"),
                    found,
                });
            }
        }
        if let Some(traceparent) = &options.traceparent {
            params.set_traceparent(traceparent);
        }
        let request = Request::new("tools/call").target(name);
        self.request(request, options.timeout, async |exchange| exchange.call_tool(params).await)
            .await
    }

    /// Every resource of the server (all pages).
    ///
    /// # Errors
    /// As [`list_tools`](Self::list_tools).
    pub async fn list_resources(&self) -> Result<Vec<Resource>, SessionError> {
        Ok(self.list::<Resource>().await?.items)
    }

    /// Every resource template of the server (all pages), such as `file:///{path}`.
    ///
    /// # Errors
    /// As [`list_tools`](Self::list_tools).
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, SessionError> {
        Ok(self.list::<ResourceTemplate>().await?.items)
    }

    /// Reads the resource at `uri`.
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, SessionError> {
        let params = ReadResourceRequestParams::new(uri);
        let request = Request::new("resources/read").target(uri);
        self.request(request, None, async |exchange| exchange.read_resource(params).await).await
    }

    /// Every prompt of the server (all pages).
    ///
    /// # Errors
    /// As [`list_tools`](Self::list_tools).
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, SessionError> {
        Ok(self.list::<Prompt>().await?.items)
    }

    /// Every item of list `T` (all pages, within the server's `catalog` bounds), and how long
    /// the server says it stays fresh (its smallest `ttlMs`).
    pub(crate) async fn list<T: Listable>(&self) -> Result<Listing<T>, SessionError> {
        let bounds = self.inner.catalog;
        let paged = self
            .request(Request::new(T::METHOD), None, async |exchange| {
                exchange.list_all::<T>(bounds).await
            })
            .await?;
        paged.map_err(|problem| SessionError::Paging {
            server: self.inner.server.clone(),
            operation: T::METHOD.to_owned(),
            problem,
        })
    }

    /// How many `notifications/*/list_changed` of `list` the server has sent so far.
    pub(crate) fn list_changes(&self, list: ListKind) -> u64 {
        self.inner.changes.count(list)
    }

    /// Whether the server announced the capability that list `T` needs.
    pub(crate) fn offers<T: Listable>(&self) -> bool {
        self.inner.peer_info.as_ref().is_none_or(|info| T::offered(&info.capabilities))
    }

    /// Gets prompt `name` filled with `arguments` (a JSON object of strings, or `null`).
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<GetPromptResult, SessionError> {
        let mut params = GetPromptRequestParams::new(name);
        if let serde_json::Value::Object(map) = arguments {
            params = params.with_arguments(map);
        }
        let request = Request::new("prompts/get").target(name);
        self.request(request, None, async |exchange| exchange.get_prompt(params).await).await
    }

    /// Checks that the server answers.
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn ping(&self) -> Result<(), SessionError> {
        self.ping_within(self.inner.timeouts.request).await
    }

    /// [`ping`](Self::ping) with its own timeout, as a health check uses it.
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn ping_within(&self, timeout: Duration) -> Result<(), SessionError> {
        self.request(Request::new("ping"), Some(timeout), async |exchange| {
            exchange.send(ClientRequest::PingRequest(PingRequest::default())).await.map(drop)
        })
        .await
    }

    /// Ends the session gracefully: closes the connection (for HTTP, `DELETE`s the session),
    /// then ends a stdio server's whole process group (`timeouts.close_grace` for it to exit on
    /// its own, then SIGTERM, then SIGKILL). Requests still in flight get the grace period to
    /// finish; then each tells its server `notifications/cancelled` and fails with
    /// [`SessionError::Cancelled`].
    ///
    /// # Errors
    /// Never today; the `Result` leaves room for reporting a server that had to be killed.
    pub async fn close(self) -> Result<(), SessionError> {
        self.inner.closed.store(true, Ordering::Release);
        let grace = self.inner.timeouts.close_grace;
        // Requests in flight hold the service for reading: give them the grace period, then
        // cancel them, so that closing cannot hang.
        let mut service = match tokio::time::timeout(grace, self.inner.service.write()).await {
            Ok(service) => service,
            Err(_) => {
                // The grace period is over: each request in flight tells its server
                // `notifications/cancelled` and returns.
                self.inner.closing.send_replace(true);
                match tokio::time::timeout(grace, self.inner.service.write()).await {
                    Ok(service) => service,
                    Err(_) => self.cancel_service().await,
                }
            }
        };
        // A request whose caller stopped waiting left its `notifications/cancelled` to a task:
        // let it reach the transport before the transport closes (closing drops unsent messages).
        let cancels =
            std::mem::take(&mut *self.inner.cancels.lock().unwrap_or_else(PoisonError::into_inner));
        if !cancels.is_empty() {
            let _ = tokio::time::timeout(grace, cancels.join_all()).await;
        }
        if let Some(mut running) = service.take() {
            // Closing the service closes the transport: stdin EOF, or the HTTP session's DELETE,
            // which a direct path sends itself, beside rmcp's tasks winding down.
            let end = self.inner.direct.as_ref().and_then(|direct| direct.writer.end());
            let end = futures::future::OptionFuture::from(
                end.map(|end| tokio::time::timeout(grace, end)),
            );
            let _ = futures::future::join(end, running.close_with_timeout(grace)).await;
        }
        drop(service);
        self.inner.link.lock().await.shutdown(grace).await;
        Ok(())
    }

    /// Stops the service under requests that did not return (a cancellation that cannot be
    /// sent), and takes it.
    async fn cancel_service(&self) -> tokio::sync::RwLockWriteGuard<'_, Option<Service>> {
        if let Some(running) = self
            .inner
            .service
            .try_read()
            .ok()
            .and_then(|s| s.as_ref().map(RunningService::cancellation_token))
        {
            running.cancel();
        }
        self.inner.service.write().await
    }

    /// Runs one operation (`run`, under the request timeout or `timeout`) inside its tracing
    /// span, and maps its failure.
    async fn request<T>(
        &self,
        request: Request<'_>,
        timeout: Option<Duration>,
        run: impl AsyncFnOnce(&Exchange<'_>) -> Result<T, ServiceError>,
    ) -> Result<T, SessionError> {
        let span = tracing::debug_span!(
            parent: &self.inner.span,
            "request",
            server = %self.inner.server,
            method = request.method,
            tool = tracing::field::Empty,
            target = tracing::field::Empty,
            id = tracing::field::Empty,
            duration_us = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        if let Some(target) = request.target {
            span.record(if request.method == "tools/call" { "tool" } else { "target" }, target);
        }
        let started = Instant::now();
        let result = async {
            let service = self.service().await?;
            let exchange = self.exchange(&service, timeout);
            let result = run(&exchange).await;
            self.outcome(&request, &exchange, result).await
        }
        .instrument(span.clone())
        .await;
        if !span.is_disabled() {
            span.record("duration_us", started.elapsed().as_micros() as u64);
            span.record("outcome", result.as_ref().map_or_else(SessionError::kind, |_| "ok"));
        }
        result
    }

    /// The requests of one operation, under the session's request timeout or `timeout`.
    fn exchange<'a>(&'a self, service: &'a Service, timeout: Option<Duration>) -> Exchange<'a> {
        let after = timeout.unwrap_or(self.inner.timeouts.request);
        Exchange {
            service,
            direct: self.inner.direct.as_ref(),
            cancels: &self.inner.cancels,
            closing: self.inner.closing.subscribe(),
            sent: AtomicU32::new(0),
            first: std::sync::OnceLock::new(),
            rounds: self.inner.rounds,
            after,
            deadline: Instant::now() + after,
            grace: self.inner.timeouts.close_grace,
        }
    }

    /// Maps the failure of an operation run through `exchange`.
    async fn outcome<T>(
        &self,
        request: &Request<'_>,
        exchange: &Exchange<'_>,
        result: Result<T, ServiceError>,
    ) -> Result<T, SessionError> {
        let err = match result {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let operation = request.operation();
        if let ServiceError::Timeout { .. } = err {
            let after = exchange.after;
            tracing::debug!(server = %self.inner.server, %operation, after = %humanize(after), "request timed out; sent notifications/cancelled");
            return Err(SessionError::Timeout {
                server: self.inner.server.clone(),
                operation,
                after,
            });
        }
        // Nothing of the operation left when no request was handed to rmcp, or the first one
        // was and its transport could not write a byte of it.
        let unsent = match (exchange.sent.load(Ordering::Acquire), exchange.first.get()) {
            (0, _) => true,
            (1, Some(Some(id))) => self.inner.link.lock().await.never_sent(id, &err),
            _ => false,
        };
        let err = self.service_error(operation.clone(), err).await;
        if !unsent {
            Err(err)
        } else {
            // Nothing of the operation left: the connection had ended before its first request.
            Err(SessionError::Disconnected {
                server: self.inner.server.clone(),
                operation,
                cause: Box::new(err),
            })
        }
    }

    async fn service_error(&self, operation: String, err: ServiceError) -> SessionError {
        let server = self.inner.server.clone();
        match err {
            ServiceError::McpError(data) => {
                return SessionError::Rpc {
                    server,
                    method: operation,
                    code: data.code.0,
                    message: data.message.into_owned(),
                };
            }
            ServiceError::Timeout { timeout } => {
                return SessionError::Timeout { server, operation, after: timeout };
            }
            _ => {}
        }
        let failed = Failed { server: &server, operation: &operation, err: &err };
        let explained = self.inner.link.lock().await.explain(failed).await;
        if let Some(explained) = explained {
            return explained;
        }
        match err {
            ServiceError::TransportClosed => {
                SessionError::ConnectionClosed { server, operation, reason: None }
            }
            ServiceError::TransportSend(error) => SessionError::ConnectionClosed {
                server,
                operation,
                reason: Some(mcp_config::redact::redact_text(&crate::http_client::root_cause(
                    error.error.as_ref(),
                ))),
            },
            ServiceError::UnexpectedResponse => SessionError::Protocol {
                server,
                operation,
                message: "the server answered with a result of the wrong type".to_owned(),
            },
            ServiceError::Cancelled { reason } => SessionError::Cancelled {
                server,
                operation,
                reason: reason.unwrap_or_else(|| "the request was cancelled".to_owned()),
            },
            other => SessionError::Protocol { server, operation, message: other.to_string() },
        }
    }
}

// How a timed-out request's cancellation reaches the server (issue 14).
//
// What rmcp 3.11 offers (`src/service.rs`, `src/service/client.rs`, `src/transport/worker.rs`,
// `src/transport/streamable_http_client.rs`):
//
// - Its high-level calls (`Peer::call_tool_once`, `list_tools`, `get_prompt_once`, …, and
//   `RunningService::{call_tool, get_prompt, read_resource}`, which drive MRTR `input_required`
//   rounds through the handler) send through `send_request_cancel_on_drop`: dropping the future
//   (a `tokio::time::timeout`) makes an `AbandonedRequestGuard` `try_send` the
//   `notifications/cancelled` into the service's queue and return at once. Nobody waits for it:
//   the service loop hands it to `Transport::send` in a task of a `JoinSet`, and closing the
//   service breaks that loop and drops the set. Over streamable HTTP the send is a POST run by
//   the worker, which drops its POSTs on close (and a POST whose sender is gone is abandoned);
//   over legacy SSE it is our own POST. So a `close()` right after the timeout error could end
//   the transport before the cancel went out. None of these calls exposes the request id, or
//   takes `PeerRequestOptions`, and the MRTR helpers (`prepare_input_required_retry`) are
//   private, so "keep rmcp's call and send the cancel ourselves" cannot name the request.
// - `Peer::send_request_with_option` returns a `RequestHandle` with the id; its
//   `await_response`, given `PeerRequestOptions::with_timeout`, on timeout awaits
//   `Peer::send_notification(cancelled)`, whose answer comes from the service loop only once the
//   transport's `send` future has finished: stdio has written the line, streamable HTTP's
//   worker has the POST's answer (202), legacy SSE's POST has its answer. Dropping a
//   `RequestHandle` sends nothing.
//
// So a session sends every request itself (`Exchange::send`: `send_request_with_option`, then
// `await_response` with the time left), and drives MRTR rounds the way rmcp's
// `RunningService::call_tool` does, through the same handler (`Exchange::fulfill`). A timeout
// returns only after the cancel was sent (bounded by `close_grace`); a caller that drops the
// future leaves the cancel to a task in `Inner::cancels`, which `close` waits for. While a
// request runs it holds the service for reading, so `close` cannot end the transport under it.

/// One operation: its method and what it names (a tool, a prompt, a resource URI).
#[derive(Clone, Copy)]
struct Request<'a> {
    method: &'static str,
    target: Option<&'a str>,
}

impl<'a> Request<'a> {
    fn new(method: &'static str) -> Self {
        Request { method, target: None }
    }

    fn target(self, target: &'a str) -> Self {
        Request { target: Some(target), ..self }
    }

    /// How errors name it: `tools/call search`.
    fn operation(&self) -> String {
        match self.target {
            Some(target) => format!("{} {target}", self.method),
            None => self.method.to_owned(),
        }
    }
}

/// The requests of one operation (a call, a listing of every page, MRTR rounds), under one
/// deadline.
struct Exchange<'a> {
    service: &'a Service,
    /// Where requests go past rmcp's service loop, when they may.
    direct: Option<&'a DirectPath>,
    cancels: &'a Mutex<JoinSet<()>>,
    /// Turns `true` when the session's `close` ends the requests in flight.
    closing: tokio::sync::watch::Receiver<bool>,
    /// How many requests of the operation were handed to rmcp for the transport: with none, a
    /// failure means nothing reached the server.
    sent: AtomicU32,
    /// The id of its first request, for [`Link::never_sent`]; `None` for a direct request,
    /// which knows that itself.
    first: std::sync::OnceLock<Option<RequestId>>,
    /// Whether the server may answer `input_required` (MRTR, from protocol 2026-07-28 on).
    rounds: bool,
    /// The operation's timeout, for the error.
    after: Duration,
    deadline: Instant,
    /// How long a cancellation may take to send.
    grace: Duration,
}

impl Exchange<'_> {
    fn timed_out(&self) -> ServiceError {
        ServiceError::Timeout { timeout: self.after }
    }

    /// Sends `request` and waits for its result until the deadline. On timeout, tells the
    /// server with `notifications/cancelled`, and returns once the transport has sent it; so
    /// does a request still running when its session closes, after the grace period.
    async fn send(&self, request: ClientRequest) -> Result<ServerResult, ServiceError> {
        if Instant::now() >= self.deadline {
            return Err(self.timed_out());
        }
        if let Some(direct) = self.direct {
            if let Some(settling) = direct.writer.settling() {
                // Sends nothing: on timeout, rmcp's path below says so.
                let _ = tokio::time::timeout_at(self.deadline, settling).await;
            }
            if direct.writer.open() {
                return self.send_direct(direct, request).await;
            }
        }
        // Boxed: a call's future holds the larger of the two ways inline, and the direct one is
        // the usual.
        Box::pin(self.send_rmcp(request)).await
    }

    /// [`send`](Self::send) through rmcp's service loop.
    async fn send_rmcp(&self, request: ClientRequest) -> Result<ServerResult, ServiceError> {
        // Queueing cannot send part of the request: on timeout here nothing was sent.
        let mut handle = tokio::time::timeout_at(
            self.deadline,
            self.service.send_request_with_option(request, PeerRequestOptions::no_options()),
        )
        .await
        .map_err(|_| self.timed_out())??;
        self.note_sent(Some(handle.id.clone()));
        tracing::Span::current().record("id", tracing::field::display(&handle.id));
        let left = self.deadline.saturating_duration_since(Instant::now());
        // rmcp's own timeout: it sends the cancellation and waits until it is sent.
        handle.options.timeout = Some(left);
        let id = handle.id.clone();
        let mut guard = self.cancel_on_drop(&id);
        tokio::select! {
            result = tokio::time::timeout(left + self.grace, handle.await_response()) => match result {
                Ok(result) => {
                    guard.disarm();
                    result
                }
                // The cancellation did not go out within the grace period: the guard leaves it
                // to a task that `close` waits for.
                Err(_) => Err(self.timed_out()),
            },
            () = self.closing() => {
                guard.disarm();
                Err(self.closed_under(id).await)
            }
        }
    }

    /// [`send`](Self::send) past rmcp's service loop: the request is written from this task,
    /// and its answer comes straight from the transport's reader (see [`DirectPath`]).
    async fn send_direct(
        &self,
        direct: &DirectPath,
        mut request: ClientRequest,
    ) -> Result<ServerResult, ServiceError> {
        let requests = direct.writer.requests();
        // A writer that reads each answer itself needs only an id; the others, a place to wait.
        let (mut reply, id) = if direct.writer.answers_itself() {
            (None, requests.id().ok_or(ServiceError::TransportClosed)?)
        } else {
            let reply = requests.register().ok_or(ServiceError::TransportClosed)?;
            let id = reply.id();
            (Some(reply), id)
        };
        direct.stamp(&mut request, &id);
        tracing::Span::current().record("id", tracing::field::display(&id));
        let mut guard = self.cancel_on_drop(&id);
        let message = JsonRpcMessage::request(request, id.clone());
        // The write and the wait for the answer, under one timer. The write may be dropped
        // unfinished (see `DirectWriter::write`).
        let exchange = async {
            let answered = match direct.writer.write(message).await {
                Ok(answered) => answered,
                Err(unwritten) => {
                    if unwritten.began {
                        self.note_sent(None);
                    }
                    return Err(unwritten.err);
                }
            };
            self.note_sent(None);
            Ok(match (answered, &mut reply) {
                (Some(answer), _) => Some(answer),
                (None, Some(reply)) => reply.answer().await,
                // A writer that answers itself gave none: none comes another way (the timeout
                // or the session's close ends the wait).
                (None, None) => std::future::pending().await,
            })
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout_at(self.deadline, exchange) => outcome,
            () = self.closing() => {
                guard.disarm();
                // Boxed, as the cancellation below: rare, and large for a call's future.
                return Err(Box::pin(self.closed_under(id)).await);
            }
        };
        let answer = match outcome {
            Ok(Ok(answer)) => answer,
            // The write failed: the connection is broken, and a cancellation would be too.
            Ok(Err(err)) => {
                guard.disarm();
                return Err(err);
            }
            Err(_) => {
                // As rmcp's own timeout: the cancellation is sent before the error returns;
                // one that takes longer than the grace period is left to the guard's task.
                // A request still being written is cancelled too: the server may have it.
                if Box::pin(self.cancel(id, "request timed out")).await {
                    guard.disarm();
                }
                return Err(self.timed_out());
            }
        };
        guard.disarm();
        match answer {
            Some(JsonRpcMessage::Response(response)) => Ok(response.result),
            Some(JsonRpcMessage::Error(error)) => Err(ServiceError::McpError(error.error)),
            Some(_) => Err(ServiceError::UnexpectedResponse),
            None => Err(ServiceError::TransportClosed),
        }
    }

    /// Counts a request that reached the transport; `id` is the first's, for
    /// [`Link::never_sent`] (`None` for a direct request, which knows that itself).
    fn note_sent(&self, id: Option<RequestId>) {
        if self.sent.fetch_add(1, Ordering::AcqRel) == 0 {
            let _ = self.first.set(id);
        }
    }

    /// A guard that tells the server to stop request `id` if this future is dropped before the
    /// answer (see [`CancelOnDrop`]).
    fn cancel_on_drop(&self, id: &RequestId) -> CancelOnDrop<'_> {
        CancelOnDrop { peer: self.service.peer(), id: Some(id.clone()), cancels: self.cancels }
    }

    /// Returns once the session's `close` ends the requests in flight.
    async fn closing(&self) {
        let mut closing = self.closing.clone();
        let _ = closing.wait_for(|closing| *closing).await;
    }

    /// The error of request `id`, still running when its session closed, once the server has
    /// been told to stop it (within the grace period).
    async fn closed_under(&self, id: RequestId) -> ServiceError {
        let reason = "the session was closed while the request ran";
        let _ = self.cancel(id, reason).await;
        ServiceError::Cancelled { reason: Some(reason.to_owned()) }
    }

    /// Tells the server to stop request `id`, within the grace period; whether that was sent.
    async fn cancel(&self, id: RequestId, reason: &str) -> bool {
        let notification = CancelledNotification::new(CancelledNotificationParam::new(
            Some(id),
            Some(reason.to_owned()),
        ));
        let sent = self.service.peer().send_notification(notification.into());
        matches!(tokio::time::timeout(self.grace, sent).await, Ok(Ok(())))
    }

    /// Every page of a listing.
    async fn list_all<T: Listable>(
        &self,
        bounds: CatalogSettings,
    ) -> Result<Result<Listing<T>, PagingProblem>, ServiceError> {
        let mut listing = Listing { items: Vec::new(), ttl: None };
        let mut cursors = HashSet::new();
        let mut cursor = None;
        for _ in 0..bounds.max_pages.max(1) {
            let params = PaginatedRequestParams::default().with_cursor(cursor);
            let result = self.send(T::request(params)).await?;
            let page = T::page(result).ok_or(ServiceError::UnexpectedResponse)?;
            listing.items.extend(page.items);
            if listing.items.len() > bounds.max_items as usize {
                return Ok(Err(PagingProblem::TooManyItems { max: bounds.max_items }));
            }
            if let Some(ttl_ms) = page.ttl_ms {
                let ttl = Duration::from_millis(ttl_ms);
                listing.ttl = Some(listing.ttl.map_or(ttl, |least: Duration| least.min(ttl)));
            }
            match page.next {
                None => return Ok(Ok(listing)),
                Some(next) if !cursors.insert(next.clone()) => {
                    let cursor = next.chars().take(80).collect();
                    return Ok(Err(PagingProblem::RepeatedCursor { cursor }));
                }
                Some(next) => cursor = Some(next),
            }
        }
        Ok(Err(PagingProblem::TooManyPages { max: bounds.max_pages }))
    }

    /// `tools/call`, with MRTR rounds (as rmcp's `RunningService::call_tool`).
    async fn call_tool(
        &self,
        params: CallToolRequestParams,
    ) -> Result<CallToolResult, ServiceError> {
        self.with_rounds(
            params,
            |params| ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            |params, (responses, state)| {
                (params.input_responses, params.request_state) = (responses, state)
            },
            |result| match result {
                ServerResult::CallToolResult(result) => Some(result),
                other => contentless(other),
            },
        )
        .await
    }

    /// `prompts/get`, with MRTR rounds.
    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
    ) -> Result<GetPromptResult, ServiceError> {
        self.with_rounds(
            params,
            |params| ClientRequest::GetPromptRequest(GetPromptRequest::new(params)),
            |params, (responses, state)| {
                (params.input_responses, params.request_state) = (responses, state)
            },
            |result| match result {
                ServerResult::GetPromptResult(result) => Some(result),
                _ => None,
            },
        )
        .await
    }

    /// `resources/read`, with MRTR rounds.
    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
    ) -> Result<ReadResourceResult, ServiceError> {
        self.with_rounds(
            params,
            |params| ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params)),
            |params, (responses, state)| {
                (params.input_responses, params.request_state) = (responses, state)
            },
            |result| match result {
                ServerResult::ReadResourceResult(result) => Some(result),
                _ => None,
            },
        )
        .await
    }

    /// Sends the request `request` makes of `params` until the server answers with a result
    /// `done` accepts, answering each `input_required` result through the handler and putting
    /// the responses and state into `params` with `answer` (MRTR, as rmcp's `RunningService`).
    async fn with_rounds<P: Clone, T>(
        &self,
        mut params: P,
        request: impl Fn(P) -> ClientRequest,
        answer: impl Fn(&mut P, (Option<InputResponses>, Option<String>)),
        done: impl Fn(ServerResult) -> Option<T>,
    ) -> Result<T, ServiceError> {
        if !self.rounds {
            // No server answers `input_required` before 2026-07-28: one round, with no copy of
            // `params` kept for another (for a call, a copy of its arguments: about 2,000
            // instructions; docs/benchmarks.md, Profile, item 32).
            return match self.send(request(params)).await? {
                ServerResult::InputRequiredResult(_) => Err(ServiceError::UnexpectedResponse),
                other => done(other).ok_or(ServiceError::UnexpectedResponse),
            };
        }
        let mut state_only_rounds = 0;
        for _ in 0..DEFAULT_MRTR_MAX_ROUNDS {
            match self.send(request(params.clone())).await? {
                ServerResult::InputRequiredResult(result) => {
                    answer(&mut params, self.fulfill(result, &mut state_only_rounds).await?);
                }
                other => return done(other).ok_or(ServiceError::UnexpectedResponse),
            }
        }
        Err(ServiceError::InputRequiredRoundsExceeded { max_rounds: DEFAULT_MRTR_MAX_ROUNDS })
    }

    /// Answers an `input_required` result through the session's handler, as rmcp's
    /// `prepare_input_required_retry` does: the responses and the state for the next round.
    async fn fulfill(
        &self,
        result: InputRequiredResult,
        state_only_rounds: &mut u32,
    ) -> Result<(Option<InputResponses>, Option<String>), ServiceError> {
        let requests = result.input_requests.unwrap_or_default();
        if requests.is_empty() && result.request_state.is_none() {
            return Err(ServiceError::UnexpectedResponse);
        }
        let had_requests = !requests.is_empty();
        let answers = futures::future::try_join_all(
            requests.into_iter().map(|(key, request)| self.answer(key, request)),
        );
        let responses: InputResponses = tokio::time::timeout_at(self.deadline, answers)
            .await
            .map_err(|_| self.timed_out())??
            .into_iter()
            .collect();
        if had_requests {
            *state_only_rounds = 0;
        } else {
            // rmcp's backoff for rounds that only carry state: 50 ms doubling, at most 250 ms.
            let pause = Duration::from_millis((50u64 << (*state_only_rounds).min(3)).min(250));
            if Instant::now() + pause >= self.deadline {
                tokio::time::sleep_until(self.deadline).await;
                return Err(self.timed_out());
            }
            tokio::time::sleep(pause).await;
            *state_only_rounds += 1;
        }
        Ok(((!responses.is_empty()).then_some(responses), result.request_state))
    }

    /// One input request of an `input_required` result, answered by the handler.
    async fn answer(
        &self,
        key: String,
        request: InputRequest,
    ) -> Result<(String, serde_json::Value), ServiceError> {
        // Each request must get its own kind of answer.
        let (mut request, wants): (_, fn(&ClientResult) -> bool) = match request {
            InputRequest::CreateMessage(request) => {
                (ServerRequest::CreateMessageRequest(request), |result| {
                    matches!(result, ClientResult::CreateMessageResult(_))
                })
            }
            InputRequest::Elicitation(request) => {
                (ServerRequest::ElicitRequest(request), |result| {
                    matches!(result, ClientResult::ElicitResult(_))
                })
            }
            InputRequest::ListRoots(request) => {
                (ServerRequest::ListRootsRequest(request), |result| {
                    matches!(result, ClientResult::ListRootsResult(_))
                })
            }
            _ => return Err(ServiceError::UnexpectedResponse),
        };
        let mut context = RequestContext::new(
            NumberOrString::String(key.as_str().into()),
            self.service.peer().clone(),
        );
        context.meta = std::mem::take(request.get_meta_mut());
        context.extensions = std::mem::take(request.extensions_mut());
        let result = RmcpService::handle_request(self.service.service(), request, context)
            .await
            .map_err(ServiceError::McpError)?;
        if !wants(&result) {
            return Err(ServiceError::UnexpectedResponse);
        }
        let value = match result {
            ClientResult::CreateMessageResult(result) => serde_json::to_value(result),
            ClientResult::ElicitResult(result) => serde_json::to_value(result),
            ClientResult::ListRootsResult(result) => serde_json::to_value(result),
            _ => return Err(ServiceError::UnexpectedResponse),
        };
        let value = value.map_err(|err| {
            ServiceError::McpError(rmcp::ErrorData::internal_error(
                format!("failed to serialize MRTR input response: {err}"),
                None,
            ))
        })?;
        Ok((key, value))
    }
}

/// A `tools/call` result with no content, as rmcp's `contentless_call_tool_result` reads one:
/// empty, an acknowledgement, or nothing but `_meta`.
fn contentless(result: ServerResult) -> Option<CallToolResult> {
    let (result_type, meta) = match result {
        ServerResult::EmptyResult(_) => (None, None),
        ServerResult::TaskAckResult(ack) => (Some(ack.result_type), ack.meta),
        ServerResult::CustomResult(custom) => {
            let serde_json::Value::Object(mut fields) = custom.0 else { return None };
            let meta = serde_json::from_value(fields.remove("_meta")?).ok()?;
            if !fields.is_empty() {
                return None;
            }
            (None, Some(meta))
        }
        _ => return None,
    };
    let mut result = CallToolResult::default();
    result.result_type = result_type;
    result.meta = meta;
    Some(result)
}

/// Requests written past rmcp's service loop ([`mcp_sse::direct`]), over a transport that reads
/// its own messages (stdio, legacy SSE).
///
/// A request then costs no hand-off to rmcp's loop and back: the caller writes it and the
/// transport's reader gives it the answer. What rmcp's `Peer` does to a request is done here
/// too: for protocols without `initialize`, the `_meta` every request carries; and the progress
/// token (the request's id), but only when the session has a [`SessionHandler`] to give
/// progress to. rmcp's `Peer` asks for progress on every request; without a handler, the
/// notifications it asks for would only be dropped, and reading the token costs rmcp's server
/// about 8,000 instructions a call (docs/benchmarks.md, Profile, item 32). Not used when the
/// client announces sampling, elicitation or roots under a protocol (2026-07-28 on) where a
/// server's request must be tied to one of ours that rmcp knows of (SEP-2260): rmcp does not
/// know of these.
///
/// [`SessionHandler`]: crate::SessionHandler
struct DirectPath {
    writer: Arc<dyn DirectWriter>,
    /// What rmcp puts in each request's `_meta` for a protocol without `initialize`.
    meta: Option<RequestMetadata>,
    /// Whether requests ask for progress: the session has a handler.
    progress: bool,
}

struct RequestMetadata {
    protocol_version: ProtocolVersion,
    client_info: Implementation,
    capabilities: ClientCapabilities,
}

impl DirectPath {
    fn new(
        writer: Arc<dyn DirectWriter>,
        service: &Service,
        peer: Option<&ServerPeerInfo>,
    ) -> Option<DirectPath> {
        let version = &peer?.protocol_version;
        let info = service.service().get_info();
        let asks = info.capabilities.sampling.is_some()
            || info.capabilities.elicitation.is_some()
            || info.capabilities.roots.is_some();
        if asks && *version >= ProtocolVersion::V_2026_07_28 {
            return None;
        }
        let meta = (!version.has_initialize()).then(|| RequestMetadata {
            protocol_version: version.clone(),
            client_info: info.client_info,
            capabilities: info.capabilities,
        });
        let progress = service.service().handler.is_some();
        Some(DirectPath { writer, meta, progress })
    }

    /// Adds what rmcp's `Peer` adds to a request's `_meta`, the progress token only when
    /// progress has somewhere to go.
    fn stamp(&self, request: &mut ClientRequest, id: &RequestId) {
        if self.meta.is_none() && !self.progress {
            return;
        }
        let meta = request.get_meta_mut();
        if let Some(metadata) = &self.meta {
            meta.set_protocol_version(metadata.protocol_version.clone());
            meta.set_client_info(metadata.client_info.clone());
            meta.set_client_capabilities(metadata.capabilities.clone());
        }
        if self.progress {
            meta.set_progress_token(ProgressToken(id.clone()));
        }
    }
}

/// Sends `notifications/cancelled` for a request whose caller stopped waiting for it (dropped
/// the future), in a task that `close` waits for. Disarmed once the request has its answer, or
/// rmcp has sent the cancellation itself.
struct CancelOnDrop<'a> {
    peer: &'a Peer<RoleClient>,
    id: Option<RequestId>,
    cancels: &'a Mutex<JoinSet<()>>,
}

impl CancelOnDrop<'_> {
    fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let peer = self.peer.clone();
        let notification = CancelledNotification::new(CancelledNotificationParam::new(
            Some(id),
            Some("request abandoned by the caller".to_owned()),
        ));
        let mut cancels = self.cancels.lock().unwrap_or_else(PoisonError::into_inner);
        while cancels.try_join_next().is_some() {}
        cancels.spawn_on(
            async move {
                let _ = peer.send_notification(notification.into()).await;
            },
            &runtime,
        );
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.service.get_mut().is_some() {
            tracing::debug!(server = %self.server, "session dropped without close(); ending the server");
        }
        // The service's own drop cancels its I/O task; the child guard's drop ends the group.
    }
}

/// A list a server pages through: `tools/list`, `resources/list`, `resources/templates/list`,
/// `prompts/list`.
pub(crate) trait Listable: Sized {
    /// Its method.
    const METHOD: &'static str;
    /// The request for one page.
    fn request(params: PaginatedRequestParams) -> ClientRequest;
    /// A page of its result, or `None` for a result of another type.
    fn page(result: ServerResult) -> Option<Page<Self>>;
    /// Whether the server's capabilities announce it.
    fn offered(capabilities: &ServerCapabilities) -> bool;
}

/// One page of a list.
pub(crate) struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
    ttl_ms: Option<u64>,
}

/// A whole list, and how long the server says it stays fresh.
#[derive(Debug)]
pub(crate) struct Listing<T> {
    pub(crate) items: Vec<T>,
    /// The smallest `ttlMs` of its pages, if any page had one.
    pub(crate) ttl: Option<Duration>,
}

/// `impl Listable` for one list: its item, method, request, result variant and field, and
/// capability.
macro_rules! listable {
    ($item:ty, $method:literal, $request:ident, $result:ident, $field:ident, $capability:ident) => {
        impl Listable for $item {
            const METHOD: &'static str = $method;

            fn request(params: PaginatedRequestParams) -> ClientRequest {
                ClientRequest::$request($request::with_param(params))
            }

            fn page(result: ServerResult) -> Option<Page<Self>> {
                match result {
                    ServerResult::$result(page) => Some(Page {
                        items: page.$field,
                        next: page.next_cursor,
                        ttl_ms: page.ttl_ms,
                    }),
                    _ => None,
                }
            }

            fn offered(capabilities: &ServerCapabilities) -> bool {
                capabilities.$capability.is_some()
            }
        }
    };
}

listable!(Tool, "tools/list", ListToolsRequest, ListToolsResult, tools, tools);
listable!(
    Resource,
    "resources/list",
    ListResourcesRequest,
    ListResourcesResult,
    resources,
    resources
);
listable!(
    ResourceTemplate,
    "resources/templates/list",
    ListResourceTemplatesRequest,
    ListResourceTemplatesResult,
    resource_templates,
    resources
);
listable!(Prompt, "prompts/list", ListPromptsRequest, ListPromptsResult, prompts, prompts);
