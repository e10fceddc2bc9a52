//! Server→client traffic: [`SessionHandler`], and the rmcp `ClientHandler` that drives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
// Logging, sampling and roots are deprecated by SEP-2577 (protocol 2026-07-28), yet servers of
// every earlier version use them.
#[allow(deprecated)]
use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequestParams, ElicitResult, ElicitationCapability, ErrorCode, Implementation,
    ListRootsResult, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam,
    ProtocolVersion, RootsCapabilities, SamplingCapability,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ClientHandler, ErrorData, RoleClient};

/// What a [`SessionHandler`] can answer, announced to servers in the handshake.
///
/// A server may only send a request whose capability the client announced; one that does
/// anyway gets a JSON-RPC "method not found" error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HandlerCapabilities {
    /// `sampling/createMessage`: the server asks the client's LLM for a completion.
    pub sampling: bool,
    /// `elicitation/create`: the server asks the user for input.
    pub elicitation: bool,
    /// `roots/list`: the server asks which folders it may work in.
    pub roots: bool,
}

impl HandlerCapabilities {
    /// Announces sampling.
    #[must_use]
    pub fn sampling(mut self) -> Self {
        self.sampling = true;
        self
    }

    /// Announces elicitation.
    #[must_use]
    pub fn elicitation(mut self) -> Self {
        self.elicitation = true;
        self
    }

    /// Announces roots.
    #[must_use]
    pub fn roots(mut self) -> Self {
        self.roots = true;
        self
    }
}

/// The error for a request this client did not announce.
fn not_offered(what: &str) -> ErrorData {
    ErrorData::new(
        ErrorCode::METHOD_NOT_FOUND,
        format!("this client does not offer {what}: it did not announce the capability"),
        None,
    )
}

/// Which list a server says has changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListKind {
    /// `notifications/tools/list_changed`.
    Tools,
    /// `notifications/resources/list_changed`.
    Resources,
    /// `notifications/prompts/list_changed`.
    Prompts,
}

/// Receives what servers send on their own: progress, log messages and list changes, and
/// answers their requests: sampling, elicitation and roots.
///
/// Every notification is also a `tracing` event (target `mcp_session::server`), handler or not.
/// Progress, though, is only asked for when there is a handler: without one, the calls a
/// session writes itself (nearly all) carry no progress token, so servers send no progress for
/// them.
/// Notification methods run on the session's I/O task: keep them quick. Requests are answered
/// only for the capabilities [`capabilities`](Self::capabilities) announces; by default none, and
/// a server that asks anyway gets a JSON-RPC "method not found" error.
///
/// ```
/// use mcp_session::{MCPClientSessionManager, SessionHandler};
/// use mcp_session::rmcp::model::ProgressNotificationParam;
///
/// struct PrintProgress;
///
/// impl SessionHandler for PrintProgress {
///     fn on_progress(&self, server: &str, progress: &ProgressNotificationParam) {
///         println!("{server}: {}/{:?}", progress.progress, progress.total);
///     }
/// }
///
/// let manager = MCPClientSessionManager::builder().handler(PrintProgress).build();
/// # let _ = manager;
/// ```
pub trait SessionHandler: Send + Sync + 'static {
    /// A `notifications/progress` for a request of this session.
    fn on_progress(&self, server: &str, progress: &ProgressNotificationParam) {
        let _ = (server, progress);
    }

    /// A `notifications/message` log message.
    #[allow(deprecated)]
    fn on_log(&self, server: &str, message: &LoggingMessageNotificationParam) {
        let _ = (server, message);
    }

    /// A `notifications/*/list_changed`.
    fn on_list_changed(&self, server: &str, list: ListKind) {
        let _ = (server, list);
    }

    /// The requests this handler answers, announced to every server. Default: none.
    fn capabilities(&self) -> HandlerCapabilities {
        HandlerCapabilities::default()
    }

    /// Answers `sampling/createMessage` (only asked when `capabilities().sampling`).
    #[allow(deprecated)]
    fn create_message(
        &self,
        server: &str,
        request: CreateMessageRequestParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, ErrorData>> {
        let _ = (server, request);
        Box::pin(std::future::ready(Err(not_offered("sampling"))))
    }

    /// Answers `elicitation/create` (only asked when `capabilities().elicitation`).
    fn create_elicitation(
        &self,
        server: &str,
        request: ElicitRequestParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorData>> {
        let _ = (server, request);
        Box::pin(std::future::ready(Err(not_offered("elicitation"))))
    }

    /// Answers `roots/list` (only asked when `capabilities().roots`).
    #[allow(deprecated)]
    fn list_roots(&self, server: &str) -> BoxFuture<'static, Result<ListRootsResult, ErrorData>> {
        let _ = server;
        Box::pin(std::future::ready(Err(not_offered("roots"))))
    }
}

/// The rmcp client handler of one session.
#[derive(Clone)]
pub(crate) struct Adapter {
    pub(crate) server: Arc<str>,
    pub(crate) handler: Option<Arc<dyn SessionHandler>>,
    pub(crate) client_info: Implementation,
    /// How many `list_changed` notifications of each list the session has had.
    pub(crate) changes: Arc<ListChanges>,
}

/// Counts of `notifications/*/list_changed` per list, for caches to tell that theirs is stale.
#[derive(Debug, Default)]
pub(crate) struct ListChanges([AtomicU64; 3]);

impl ListChanges {
    fn slot(&self, list: ListKind) -> &AtomicU64 {
        &self.0[match list {
            ListKind::Tools => 0,
            ListKind::Resources => 1,
            ListKind::Prompts => 2,
        }]
    }

    /// How many `list` changes there were so far.
    pub(crate) fn count(&self, list: ListKind) -> u64 {
        self.slot(list).load(Ordering::Acquire)
    }
}

#[allow(deprecated)]
impl ClientHandler for Adapter {
    fn get_info(&self) -> ClientConfig {
        let offered = self.handler.as_ref().map(|h| h.capabilities()).unwrap_or_default();
        let mut capabilities = ClientCapabilities::default();
        if offered.sampling {
            capabilities.sampling = Some(SamplingCapability::default());
        }
        if offered.elicitation {
            capabilities.elicitation = Some(ElicitationCapability::default());
        }
        if offered.roots {
            capabilities.roots = Some(RootsCapabilities::default());
        }
        let mut config = ClientConfig::new(capabilities, self.client_info.clone());
        // `initialize` offers the newest version that has an `initialize` handshake: from
        // 2026-07-28 on, versions are agreed through `server/discover` instead, and an
        // `initialize` claiming 2026-07-28 is refused by servers that check (the conformance
        // suite's among them).
        config.protocol_version = ProtocolVersion::LATEST_WITH_INITIALIZE;
        config
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        tracing::debug!(target: "mcp_session::server", server = %self.server, "sampling request");
        match self.offered(|c| c.sampling) {
            Some(handler) => handler.create_message(&self.server, params).await,
            None => Err(not_offered("sampling")),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        tracing::debug!(target: "mcp_session::server", server = %self.server, "elicitation request");
        match self.offered(|c| c.elicitation) {
            Some(handler) => handler.create_elicitation(&self.server, params).await,
            None => Err(not_offered("elicitation")),
        }
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        tracing::debug!(target: "mcp_session::server", server = %self.server, "roots request");
        match self.offered(|c| c.roots) {
            Some(handler) => handler.list_roots(&self.server).await,
            None => Err(not_offered("roots")),
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        tracing::debug!(
            target: "mcp_session::server",
            server = %self.server,
            progress = params.progress,
            total = ?params.total,
            message = ?params.message,
            "progress"
        );
        if let Some(handler) = &self.handler {
            handler.on_progress(&self.server, &params);
        }
    }

    #[allow(deprecated)]
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let logger = params.logger.as_deref().unwrap_or("");
        match params.level {
            LoggingLevel::Debug => {
                tracing::debug!(target: "mcp_session::server", server = %self.server, logger, data = %params.data)
            }
            LoggingLevel::Info | LoggingLevel::Notice => {
                tracing::info!(target: "mcp_session::server", server = %self.server, logger, data = %params.data)
            }
            LoggingLevel::Warning => {
                tracing::warn!(target: "mcp_session::server", server = %self.server, logger, data = %params.data)
            }
            _ => {
                tracing::error!(target: "mcp_session::server", server = %self.server, logger, data = %params.data)
            }
        }
        if let Some(handler) = &self.handler {
            handler.on_log(&self.server, &params);
        }
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.list_changed(ListKind::Tools);
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.list_changed(ListKind::Resources);
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.list_changed(ListKind::Prompts);
    }
}

impl Adapter {
    /// The handler, if it announced the capability `wanted` picks.
    fn offered(
        &self,
        wanted: impl Fn(HandlerCapabilities) -> bool,
    ) -> Option<&Arc<dyn SessionHandler>> {
        self.handler.as_ref().filter(|handler| wanted(handler.capabilities()))
    }

    fn list_changed(&self, list: ListKind) {
        self.changes.slot(list).fetch_add(1, Ordering::AcqRel);
        tracing::debug!(target: "mcp_session::server", server = %self.server, ?list, "list changed");
        if let Some(handler) = &self.handler {
            handler.on_list_changed(&self.server, list);
        }
    }
}
