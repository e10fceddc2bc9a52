//! [`Session`]: one initialized MCP session, and everything it can ask its server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_config::{Timeouts, TransportKind};
use rmcp::ServiceError;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, GetPromptRequestParams, GetPromptResult,
    Implementation, PingRequest, Prompt, ReadResourceRequestParams, ReadResourceResult, Resource,
    ResourceTemplate, ServerPeerInfo, Tool,
};
use rmcp::service::{RoleClient, RunningService};

use crate::error::{SessionError, humanize};
use crate::handler::Adapter;
use crate::stdio::{ChildGuard, StderrTail};

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

#[derive(Debug)]
struct Inner {
    server: String,
    transport: TransportKind,
    timeouts: Timeouts,
    /// Requests hold it for reading; `close` takes it.
    service: tokio::sync::RwLock<Option<RunningService<RoleClient, Adapter>>>,
    peer_info: Option<Arc<ServerPeerInfo>>,
    child: Mutex<Option<ChildGuard>>,
    stderr: Option<StderrTail>,
    /// Why a legacy SSE stream ended, for error messages.
    sse_closed: Option<mcp_sse::client::ClosedReason>,
}

/// What [`MCPClientSessionManager`](crate::MCPClientSessionManager) hands over to make a session.
pub(crate) struct Parts {
    pub(crate) server: String,
    pub(crate) transport: TransportKind,
    pub(crate) timeouts: Timeouts,
    pub(crate) service: RunningService<RoleClient, Adapter>,
    pub(crate) child: Option<ChildGuard>,
    pub(crate) stderr: Option<StderrTail>,
    pub(crate) sse_closed: Option<mcp_sse::client::ClosedReason>,
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter").field("server", &self.server).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ChildGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildGuard").finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(parts: Parts) -> Session {
        let peer_info = parts.service.peer_info();
        Session {
            inner: Arc::new(Inner {
                server: parts.server,
                transport: parts.transport,
                timeouts: parts.timeouts,
                service: tokio::sync::RwLock::new(Some(parts.service)),
                peer_info,
                child: Mutex::new(parts.child),
                stderr: parts.stderr,
                sse_closed: parts.sse_closed,
            }),
        }
    }

    /// The server's name, as configured.
    pub fn server_name(&self) -> &str {
        &self.inner.server
    }

    /// The process id of a stdio server (the leader of its process group), while it runs.
    pub fn process_id(&self) -> Option<u32> {
        let child = self.inner.child.lock().ok()?;
        Some(child.as_ref()?.pid())
    }

    /// The transport this session runs over.
    pub fn transport(&self) -> TransportKind {
        self.inner.transport
    }

    /// The running service, for one request; an error once the session is closed.
    async fn service(
        &self,
    ) -> Result<tokio::sync::RwLockReadGuard<'_, RunningService<RoleClient, Adapter>>, SessionError>
    {
        let guard = self.inner.service.read().await;
        tokio::sync::RwLockReadGuard::try_map(guard, Option::as_ref).map_err(|_| {
            SessionError::Protocol {
                server: self.inner.server.clone(),
                message: "the session is closed; open a new one".to_owned(),
            }
        })
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
    /// [`SessionError::Protocol`] when the session is closed.
    pub async fn initialize(&self) -> Result<Arc<ServerPeerInfo>, SessionError> {
        drop(self.service().await?);
        self.peer_info().ok_or_else(|| SessionError::Protocol {
            server: self.inner.server.clone(),
            message: "the server sent no initialize result".to_owned(),
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
                return Err(SessionError::Protocol {
                    server: self.inner.server.clone(),
                    message: format!(
                        "the arguments of tool `{name}` must be a JSON object, not {other}"
                    ),
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
    /// its own, then SIGTERM, then SIGKILL).
    ///
    /// # Errors
    /// Never today; the `Result` leaves room for reporting a server that had to be killed.
    pub async fn close(self) -> Result<(), SessionError> {
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
        let child = self.inner.child.lock().ok().and_then(|mut child| child.take());
        if let Some(mut child) = child {
            child.shutdown(grace).await;
        }
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
            ServiceError::McpError(data) => SessionError::Rpc {
                server,
                method: operation,
                code: data.code.0,
                message: data.message.into_owned(),
            },
            ServiceError::Timeout { timeout } => {
                SessionError::Timeout { server, operation, after: timeout }
            }
            ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
                if let Some(exited) = self.exited().await {
                    return exited;
                }
                let detail =
                    match (&err, self.inner.sse_closed.as_ref().and_then(|reason| reason.get())) {
                        (_, Some(reason)) => format!(" ({reason})"),
                        (ServiceError::TransportSend(source), None) => format!(": {source}"),
                        _ => String::new(),
                    };
                SessionError::Protocol {
                    server,
                    message: format!(
                        "the connection closed during {operation}{detail}; the server may have crashed: open a new session"
                    ),
                }
            }
            other => {
                SessionError::Protocol { server, message: format!("{operation} failed: {other}") }
            }
        }
    }

    /// `ServerExited` if this is a stdio session whose server has exited (waiting briefly).
    async fn exited(&self) -> Option<SessionError> {
        self.inner.child.lock().ok()?.as_ref()?;
        for _ in 0..20 {
            let status =
                self.inner.child.lock().ok().and_then(|mut child| child.as_mut()?.exit_status());
            if let Some(status) = status {
                return Some(SessionError::ServerExited {
                    server: self.inner.server.clone(),
                    status: status.to_string(),
                    stderr_tail: self.inner.stderr.as_ref().and_then(StderrTail::text),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
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
