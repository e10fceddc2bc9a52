//! [`Session`]: one initialized MCP session, and everything it can ask its server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use mcp_config::{Timeouts, TransportKind};
use rmcp::ServiceError;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, GetPromptRequestParams, GetPromptResult,
    Implementation, PingRequest, Prompt, ReadResourceRequestParams, ReadResourceResult, Resource,
    ResourceTemplate, ServerPeerInfo, Tool,
};
use rmcp::service::RunningService;

use crate::connection::{Connection, Link, Service};
use crate::error::{SessionError, humanize};

/// Options for one request.
///
/// ```
/// use std::time::Duration;
/// use mcp_session::CallOptions;
///
/// let options = CallOptions::new().timeout(Duration::from_secs(300));
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallOptions {
    timeout: Option<Duration>,
}

impl CallOptions {
    /// The server's defaults.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Overrides the server's `timeouts.request` for this call.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
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
    /// A stdio server's process id.
    process_id: Option<u32>,
    /// The transport's side: a stdio server's process group, an HTTP URL, an SSE stream's end.
    link: tokio::sync::Mutex<Box<dyn Link>>,
    /// Set by `close`, before it waits for anything.
    closed: AtomicBool,
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
    pub(crate) fn new(server: String, timeouts: &Timeouts, connection: Connection) -> Session {
        let peer_info = connection.service.peer_info();
        Session {
            inner: Arc::new(Inner {
                server,
                transport: connection.link.kind(),
                timeouts: *timeouts,
                service: tokio::sync::RwLock::new(Some(connection.service)),
                peer_info,
                process_id: connection.link.process_id(),
                link: tokio::sync::Mutex::new(connection.link),
                closed: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn downgrade(&self) -> WeakSession {
        WeakSession(Arc::downgrade(&self.inner))
    }

    /// Whether [`close`](Self::close) has been called on this session or a clone of it.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
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
    /// A [`SessionError`] naming the server and what failed.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, SessionError> {
        let service = self.service().await?;
        self.request("tools/list".into(), None, service.list_all_tools()).await
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

    /// [`call_tool`](Self::call_tool) with options, such as its own timeout.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: serde_json::Value,
        options: CallOptions,
    ) -> Result<CallToolResult, SessionError> {
        let service = self.service().await?;
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
        self.request(format!("tools/call {name}"), options.timeout, service.call_tool(params)).await
    }

    /// Every resource of the server (all pages).
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn list_resources(&self) -> Result<Vec<Resource>, SessionError> {
        let service = self.service().await?;
        self.request("resources/list".into(), None, service.list_all_resources()).await
    }

    /// Every resource template of the server (all pages), such as `file:///{path}`.
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, SessionError> {
        let service = self.service().await?;
        self.request("resources/templates/list".into(), None, service.list_all_resource_templates())
            .await
    }

    /// Reads the resource at `uri`.
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, SessionError> {
        let service = self.service().await?;
        let params = ReadResourceRequestParams::new(uri);
        self.request(format!("resources/read {uri}"), None, service.read_resource(params)).await
    }

    /// Every prompt of the server (all pages).
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, SessionError> {
        let service = self.service().await?;
        self.request("prompts/list".into(), None, service.list_all_prompts()).await
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
        let service = self.service().await?;
        let mut params = GetPromptRequestParams::new(name);
        if let serde_json::Value::Object(map) = arguments {
            params = params.with_arguments(map);
        }
        self.request(format!("prompts/get {name}"), None, service.get_prompt(params)).await
    }

    /// Checks that the server answers.
    ///
    /// # Errors
    /// A [`SessionError`] naming the server and what failed.
    pub async fn ping(&self) -> Result<(), SessionError> {
        let service = self.service().await?;
        let request = ClientRequest::PingRequest(PingRequest::default());
        self.request("ping".into(), None, service.send_request(request)).await.map(drop)
    }

    /// Ends the session gracefully: closes the connection (for HTTP, `DELETE`s the session),
    /// then ends a stdio server's whole process group (`timeouts.close_grace` for it to exit on
    /// its own, then SIGTERM, then SIGKILL). Requests still in flight get the grace period to
    /// finish, then are cancelled.
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
        };
        if let Some(mut running) = service.take() {
            // Closing the service closes the transport: stdin EOF, or the HTTP session's DELETE.
            let _ = running.close_with_timeout(grace).await;
        }
        drop(service);
        self.inner.link.lock().await.shutdown(grace).await;
        Ok(())
    }

    /// Runs one request under its timeout and maps its failure.
    async fn request<T>(
        &self,
        operation: String,
        timeout: Option<Duration>,
        future: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, SessionError> {
        let after = timeout.unwrap_or(self.inner.timeouts.request);
        match tokio::time::timeout(after, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.service_error(operation, err).await),
            Err(_elapsed) => {
                tracing::debug!(server = %self.inner.server, %operation, after = %humanize(after), "request timed out; sent notifications/cancelled");
                Err(SessionError::Timeout { server: self.inner.server.clone(), operation, after })
            }
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
        let explained = self.inner.link.lock().await.explain(&server, &operation, &err).await;
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
            ServiceError::Cancelled { reason } => SessionError::ConnectionClosed {
                server,
                operation,
                reason: Some(reason.unwrap_or_else(|| "the request was cancelled".to_owned())),
            },
            other => SessionError::Protocol { server, operation, message: other.to_string() },
        }
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
