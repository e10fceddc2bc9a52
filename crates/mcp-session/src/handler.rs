//! Server→client traffic: [`SessionHandler`], and the rmcp `ClientHandler` that drives it.

use std::sync::Arc;

#[allow(deprecated)]
// logging notifications are deprecated by SEP-2577, yet servers still send them
use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, LoggingLevel,
    LoggingMessageNotificationParam, ProgressNotificationParam,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};

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

/// Receives what servers send on their own: progress, log messages, list changes.
///
/// Every event is also a `tracing` event (target `mcp_session::server`), handler or not.
/// Methods run on the session's I/O task: keep them quick and hand long work to a task.
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
}

/// The rmcp client handler of one session.
#[derive(Clone)]
pub(crate) struct Adapter {
    pub(crate) server: Arc<str>,
    pub(crate) handler: Option<Arc<dyn SessionHandler>>,
    pub(crate) client_info: Implementation,
}

impl ClientHandler for Adapter {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::default(), self.client_info.clone())
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
    fn list_changed(&self, list: ListKind) {
        tracing::debug!(target: "mcp_session::server", server = %self.server, ?list, "list changed");
        if let Some(handler) = &self.handler {
            handler.on_list_changed(&self.server, list);
        }
    }
}
