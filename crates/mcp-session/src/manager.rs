//! [`MCPClientSessionManager`]: opens sessions to any configured server, on demand.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use mcp_config::{Protocol, Timeouts};
use mcp_config::{ServerConfig, StdioConfig, StreamableHttpConfig, TransportKind};
use rmcp::model::{Implementation, ProtocolVersion};
use rmcp::serve_client_with_lifecycle;
use rmcp::service::{ClientInitializeError, ClientLifecycleMode};
use tracing::Instrument as _;

use crate::error::SessionError;
use crate::handler::{Adapter, SessionHandler};
use crate::http::Target;
use crate::session::{Parts, Session};
use crate::stdio;

/// Opens MCP sessions on demand, as the seed's `MCPClientSessionManager` does.
///
/// Cheap to clone and share: it holds only settings.
///
/// ```no_run
/// use mcp_session::{MCPClientSessionManager, mcp_config::StdioConfig};
///
/// # #[allow(dead_code)]
/// # async fn demo() -> Result<(), mcp_session::SessionError> {
/// let manager = MCPClientSessionManager::new();
/// let server = StdioConfig::new("fs", "npx").args(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]);
/// let session = manager.open_session(&server.into()).await?; // connected and initialized
/// for tool in session.list_tools().await? {
///     println!("{}", tool.name);
/// }
/// session.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MCPClientSessionManager {
    handler: Option<Arc<dyn SessionHandler>>,
    client_info: Option<Implementation>,
    /// URLs with `sse_fallback` that turned out to speak legacy SSE: later sessions go straight
    /// there. Shared by clones.
    legacy_urls: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for MCPClientSessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MCPClientSessionManager")
            .field("client_info", &self.client_info)
            .field("handler", &self.handler.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Builds an [`MCPClientSessionManager`].
///
/// ```
/// use mcp_session::MCPClientSessionManager;
///
/// let manager = MCPClientSessionManager::builder().client_info("research-demo", "1.0.0").build();
/// # let _ = manager;
/// ```
#[derive(Default)]
#[must_use]
pub struct Builder {
    manager: MCPClientSessionManager,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder").field("manager", &self.manager).finish()
    }
}

impl Builder {
    /// The name and version this client gives servers in the handshake (default: this crate's).
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.manager.client_info = Some(Implementation::new(name, version));
        self
    }

    /// Receives progress, log messages and list changes from every session's server.
    pub fn handler(mut self, handler: impl SessionHandler) -> Self {
        self.manager.handler = Some(Arc::new(handler));
        self
    }

    /// The manager.
    pub fn build(self) -> MCPClientSessionManager {
        self.manager
    }
}

impl MCPClientSessionManager {
    /// A manager with default settings.
    pub fn new() -> Self {
        MCPClientSessionManager::default()
    }

    /// Settings beyond the defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Opens a session to `config`'s server: spawns or connects, then runs the MCP handshake,
    /// all within `timeouts.startup`.
    ///
    /// # Errors
    /// [`SessionError`]: the program cannot start, the URL cannot be reached, the server exits,
    /// answers with an HTTP error, fails the handshake or takes too long.
    pub async fn open_session(&self, config: &ServerConfig) -> Result<Session, SessionError> {
        let span = tracing::info_span!("session", server = %config.server_name(), transport = %config.transport());
        async {
            match config {
                ServerConfig::Stdio(stdio) => self.open_stdio(stdio).await,
                ServerConfig::StreamableHttp(http) => self.open_http_or_sse(http).await,
                ServerConfig::Sse(sse) => self.open_sse(Target::from(sse), sse.timeouts).await,
                _ => Err(SessionError::Protocol {
                    server: config.server_name().to_owned(),
                    message: format!("transport `{}` is not supported", config.transport()),
                }),
            }
        }
        .instrument(span)
        .await
    }

    /// Opens a session, runs `f` with it, and closes it on every way out: when `f` returns, when
    /// it fails, and when it panics (the panic goes on after the close). If the returned future
    /// is dropped mid-way, the session's drop ends the server.
    ///
    /// This is the seed's `async with manager.open_session(config) as session:`.
    ///
    /// ```no_run
    /// use mcp_session::{MCPClientSessionManager, SessionError, mcp_config::StdioConfig};
    ///
    /// # #[allow(dead_code)]
    /// # async fn demo() -> Result<(), SessionError> {
    /// let server = StdioConfig::new("ArxivServer", "python3").args(["mcp/mcp_arxiv.py", "stdio"]).into();
    /// let names = MCPClientSessionManager::new()
    ///     .with_session(&server, async |session| {
    ///         let tools = session.list_tools().await?;
    ///         Ok::<_, SessionError>(tools.into_iter().map(|t| t.name.to_string()).collect::<Vec<_>>())
    ///     })
    ///     .await?;
    /// # let _ = names;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `f`'s error, or a [`SessionError`] (converted into `E`) from opening the session.
    pub async fn with_session<T, E>(
        &self,
        config: &ServerConfig,
        f: impl AsyncFnOnce(&Session) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<SessionError>,
    {
        let session = self.open_session(config).await?;
        let outcome = AssertUnwindSafe(f(&session)).catch_unwind().await;
        let closed = session.close().await;
        match outcome {
            Ok(result) => {
                let value = result?;
                closed?;
                Ok(value)
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn adapter(&self, server: &str) -> Adapter {
        Adapter {
            server: server.into(),
            handler: self.handler.clone(),
            client_info: self.client_info.clone().unwrap_or_else(|| {
                Implementation::new("mcp-session-rs", env!("CARGO_PKG_VERSION"))
            }),
        }
    }

    async fn open_stdio(&self, config: &StdioConfig) -> Result<Session, SessionError> {
        let server = config.server_name.clone();
        let startup = config.timeouts.startup;
        let spawned = stdio::spawn(config)?;
        let mut child = spawned.child;
        let handshake = tokio::time::timeout(
            startup,
            serve_client_with_lifecycle(
                self.adapter(&server),
                spawned.transport,
                lifecycle(config.protocol),
            ),
        )
        .await;
        let failure = match handshake {
            Ok(Ok(service)) => {
                no_response_cache(&service).await;
                tracing::debug!(protocol = ?service.peer_info().map(|i| i.protocol_version.to_string()), "session open");
                return Ok(Session::new(Parts {
                    server,
                    transport: TransportKind::Stdio,
                    timeouts: config.timeouts,
                    service,
                    child: Some(child),
                    stderr: Some(spawned.stderr),
                    sse_closed: None,
                }));
            }
            Ok(Err(err)) => {
                // Only a broken connection may mean the server died; any other failure is the
                // handshake's own (and the server may exit only because we then hang up).
                let broken = matches!(
                    err,
                    ClientInitializeError::ConnectionClosed(_)
                        | ClientInitializeError::TransportError { .. }
                );
                let status =
                    if broken { child.wait_exit(Duration::from_millis(500)).await } else { None };
                let stderr_tail = spawned.stderr.text();
                match status {
                    Some(status) => SessionError::ServerExited {
                        server,
                        status: status.to_string(),
                        stderr_tail,
                    },
                    None => SessionError::Handshake {
                        server,
                        reason: crate::http::chain(&err),
                        stderr_tail,
                    },
                }
            }
            Err(_elapsed) => match spawned.garbage.seen() {
                Some((count, first)) => SessionError::Handshake {
                    server,
                    reason: format!(
                        "no answer to `initialize` within {}, and the server wrote {count} line(s) to stdout \
                         that are not JSON-RPC, the first: {first:?}; an MCP stdio server must write only \
                         JSON-RPC to stdout (logs go to stderr)",
                        crate::error::humanize(startup)
                    ),
                    stderr_tail: spawned.stderr.text(),
                },
                None => match child.exit_status() {
                    Some(status) => SessionError::ServerExited {
                        server,
                        status: status.to_string(),
                        stderr_tail: spawned.stderr.text(),
                    },
                    None => SessionError::Timeout {
                        server,
                        operation: "initialize".to_owned(),
                        after: startup,
                    },
                },
            },
        };
        child.shutdown(config.timeouts.close_grace).await;
        Err(failure)
    }

    /// Streamable HTTP, or legacy SSE when `sse_fallback` is set and the server refuses the
    /// streamable `initialize` with 400, 404 or 405 (the spec's backwards-compatibility rule).
    async fn open_http_or_sse(
        &self,
        config: &StreamableHttpConfig,
    ) -> Result<Session, SessionError> {
        let key = config.url.to_string();
        let known_legacy = || self.legacy_urls.lock().is_ok_and(|urls| urls.contains(&key));
        if config.sse_fallback && known_legacy() {
            return self.open_sse(Target::from(config), config.timeouts).await;
        }
        match self.open_http(config).await {
            Err(SessionError::Http { status: 400 | 404 | 405, .. }) if config.sse_fallback => {
                tracing::debug!("streamable HTTP refused; trying legacy SSE at the same URL");
                let session = self.open_sse(Target::from(config), config.timeouts).await?;
                if let Ok(mut urls) = self.legacy_urls.lock() {
                    urls.insert(key);
                }
                Ok(session)
            }
            other => other,
        }
    }

    async fn open_sse(
        &self,
        target: Target<'_>,
        timeouts: Timeouts,
    ) -> Result<Session, SessionError> {
        let server = target.server.to_owned();
        let startup = timeouts.startup;
        let mut sse_closed = None;
        let handshake = async {
            let transport = crate::http::sse_transport(target).await?;
            sse_closed = Some(transport.closed_reason_handle());
            serve_client_with_lifecycle(
                self.adapter(&server),
                transport,
                ClientLifecycleMode::Initialize,
            )
            .await
            .map_err(|err| SessionError::Handshake {
                server: server.clone(),
                reason: crate::http::chain(&err),
                stderr_tail: None,
            })
        };
        match tokio::time::timeout(startup, handshake).await {
            Ok(Ok(service)) => {
                no_response_cache(&service).await;
                Ok(Session::new(Parts {
                    server,
                    transport: TransportKind::Sse,
                    timeouts,
                    service,
                    child: None,
                    stderr: None,
                    sse_closed,
                }))
            }
            Ok(Err(err)) => Err(err),
            Err(_elapsed) => Err(SessionError::Timeout {
                server,
                operation: "initialize".to_owned(),
                after: startup,
            }),
        }
    }

    async fn open_http(&self, config: &StreamableHttpConfig) -> Result<Session, SessionError> {
        let server = config.server_name.clone();
        let startup = config.timeouts.startup;
        let url = crate::redact_url(&config.url);
        let transport = crate::http::transport(config)?;
        let handshake = serve_client_with_lifecycle(
            self.adapter(&server),
            transport,
            lifecycle(config.protocol),
        );
        match tokio::time::timeout(startup, handshake).await {
            Ok(Ok(service)) => {
                no_response_cache(&service).await;
                Ok(Session::new(Parts {
                    server,
                    transport: TransportKind::StreamableHttp,
                    timeouts: config.timeouts,
                    service,
                    child: None,
                    stderr: None,
                    sse_closed: None,
                }))
            }
            Ok(Err(err)) => Err(crate::http::classify_init(&server, &url, &err)),
            Err(_elapsed) => Err(SessionError::Timeout {
                server,
                operation: "initialize".to_owned(),
                after: startup,
            }),
        }
    }
}

/// The rmcp handshake for a configured [`Protocol`]. Discovery lists every known version,
/// newest first, so any server of the discovery era finds one it shares.
fn lifecycle(protocol: Protocol) -> ClientLifecycleMode {
    let preferred_versions =
        || ProtocolVersion::KNOWN_VERSIONS.iter().rev().cloned().collect::<Vec<_>>();
    match protocol {
        Protocol::Auto => ClientLifecycleMode::Auto {
            preferred_versions: preferred_versions(),
            legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
        },
        Protocol::Discover => {
            ClientLifecycleMode::Discover { preferred_versions: preferred_versions() }
        }
        _ => ClientLifecycleMode::Initialize,
    }
}

/// Turns off rmcp's response cache: a session is short-lived, and a cache that answers a failing
/// `*/list` with the last good list would hide the failure.
async fn no_response_cache(service: &rmcp::service::RunningService<rmcp::RoleClient, Adapter>) {
    service.peer().set_response_cache_config(rmcp::service::ClientCacheConfig::disabled()).await;
}
