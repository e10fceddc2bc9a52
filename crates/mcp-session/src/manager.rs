//! [`MCPClientSessionManager`]: opens sessions to any configured server, on demand.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use mcp_auth::{Authorizer, LoginMode, ReqwestOAuth, SecretSource, StoredAuth, TokenStore};
use mcp_config::{ServerConfig, StreamableHttpConfig};
use rmcp::model::Implementation;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::connection::{Connect, Connection, Service};
use crate::error::SessionError;
use crate::handler::{Adapter, SessionHandler};
use crate::http_client::Redirects;
use crate::remote::{Clients, Endpoint};
use crate::session::{Session, WeakSession};
use crate::{http, sse, stdio};

/// How long after a server's startup deadline and close grace an open that has not ended by
/// itself is given up (see `MCPClientSessionManager::open`).
const BACKSTOP: Duration = Duration::from_secs(1);

/// Opens MCP sessions on demand, as the seed's `MCPClientSessionManager` does.
///
/// Cheap to clone and share: clones share settings, the sessions opened (see
/// [`sessions`](Self::sessions) and [`shutdown`](Self::shutdown)) and what was learnt about
/// servers (a URL that turned out to speak legacy SSE).
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
    /// The sessions it opened, held weakly: a dropped session still ends itself. Shared by
    /// clones.
    sessions: Arc<Mutex<Vec<WeakSession>>>,
    /// The HTTP clients its streamable HTTP sessions share. Shared by clones.
    clients: Clients,
    /// Whether an OAuth authorization may reach a person (default: never).
    login: LoginMode,
    /// Where OAuth records are kept (default: a `FileStore` at its default location).
    token_store: Option<Arc<dyn TokenStore>>,
    /// Where OAuth client secrets are read (default: the process environment).
    secrets: Option<Arc<dyn SecretSource>>,
    /// One OAuth authorizer per (server, URL), shared by every session to it (so concurrent
    /// 401s make one authorization). Shared by clones.
    authorizers: Arc<Mutex<Authorizers>>,
}

/// The OAuth authorizers of a manager, by server name and URL.
type Authorizers = HashMap<(String, String), Arc<Authorizer>>;

impl std::fmt::Debug for MCPClientSessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MCPClientSessionManager")
            .field("client_info", &self.client_info)
            .field("handler", &self.handler.as_ref().map(|_| "…"))
            .field("login", &self.login)
            .field("token_store", &self.token_store)
            .finish_non_exhaustive()
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

    /// Whether the OAuth flow of a server whose `auth` is of type oauth may reach a person
    /// (default [`LoginMode::Never`]: a server with no stored or refreshable token fails with
    /// [`SessionError::LoginRequired`]). Under [`LoginMode::Interactive`] the `login_timeout`
    /// adds to the startup timeout of such servers.
    pub fn login(mut self, login: LoginMode) -> Self {
        self.manager.login = login;
        self
    }

    /// Where OAuth tokens and clients are kept (default: a
    /// [`FileStore`](mcp_auth::FileStore) at its default location,
    /// `$MCP_SESSION_STATE_DIR/oauth`, else under `$XDG_STATE_HOME` or `~/.local/state`).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.manager.token_store = Some(store);
        self
    }

    /// Where the secrets an OAuth config names (`client_secret_env`) are read (default: the
    /// process environment).
    pub fn secrets(mut self, secrets: Arc<dyn SecretSource>) -> Self {
        self.manager.secrets = Some(secrets);
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
        self.open_session_from(config, Instant::now()).await
    }

    /// [`open_session`](Self::open_session), its startup timeout counted from `started`: a
    /// pool's open, which may have waited for a seat or a back-off before it came here.
    pub(crate) async fn open_session_from(
        &self,
        config: &ServerConfig,
        started: Instant,
    ) -> Result<Session, SessionError> {
        let span = tracing::info_span!("session", server = %config.server_name(), transport = %config.transport());
        self.open(config, started).instrument(span).await
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

    /// Every session this manager opened that is still open (closed and dropped ones are not
    /// listed).
    pub fn sessions(&self) -> Vec<Session> {
        let Ok(mut registry) = self.sessions.lock() else { return Vec::new() };
        registry.retain(|weak| weak.upgrade().is_some_and(|session| !session.is_closed()));
        registry.iter().filter_map(WeakSession::upgrade).collect()
    }

    /// Closes every open session this manager (or a clone of it) opened, concurrently, each
    /// within its `timeouts.close_grace` (as [`Session::close`]). Sessions opened while this
    /// runs are not waited for.
    ///
    /// Call it before a program exits: a dropped session ends its server too, but without the
    /// graceful steps, and a runtime that stops does not wait for that.
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn demo(manager: mcp_session::MCPClientSessionManager) {
    /// manager.shutdown().await;
    /// assert!(manager.sessions().is_empty());
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        let open = self.sessions();
        tracing::debug!(sessions = open.len(), "closing every session");
        futures::future::join_all(open.into_iter().map(Session::close)).await;
    }

    /// Logs in to `config`'s server now, whatever is stored: runs an OAuth authorization under
    /// the manager's [`LoginMode`] and stores its tokens. Returns what was stored (issuer,
    /// scopes, client; no printable secret), or `None` when the server's `auth` is not of type
    /// oauth.
    ///
    /// ```no_run
    /// use mcp_session::MCPClientSessionManager;
    /// use mcp_session::mcp_auth::LoginMode;
    ///
    /// # #[allow(dead_code)]
    /// # async fn demo(server: mcp_session::mcp_config::ServerConfig) -> Result<(), mcp_session::SessionError> {
    /// let manager = MCPClientSessionManager::builder().login(LoginMode::interactive()).build();
    /// if let Some(stored) = manager.login(&server).await? {
    ///     println!("logged in; issuer {:?}, scopes {:?}", stored.issuer(), stored.granted_scopes());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`SessionError::LoginRequired`] when the login mode cannot reach a person;
    /// [`SessionError::Authorization`] when a step of the flow fails.
    pub async fn login(&self, config: &ServerConfig) -> Result<Option<StoredAuth>, SessionError> {
        let Some(auth) = self.authorizer_for(config)? else { return Ok(None) };
        auth.authorize(None).await.map_err(|err| SessionError::from_auth(&err))?;
        auth.stored().await.map_err(|err| SessionError::from_auth(&err))
    }

    /// Forgets the OAuth tokens and client stored for `config`'s server (locally: the
    /// authorization server is not told). `true` if there were any.
    ///
    /// # Errors
    /// [`SessionError::Authorization`] when the store fails.
    pub async fn logout(&self, config: &ServerConfig) -> Result<bool, SessionError> {
        let Some(auth) = self.authorizer_for(config)? else { return Ok(false) };
        auth.logout().await.map_err(|err| SessionError::from_auth(&err))
    }

    /// The authorizer of `config`'s server, if its `auth` is of type oauth.
    fn authorizer_for(
        &self,
        config: &ServerConfig,
    ) -> Result<Option<Arc<Authorizer>>, SessionError> {
        match config {
            ServerConfig::Sse(sse) => self.authorizer(&Endpoint::from(sse)),
            ServerConfig::StreamableHttp(http) => self.authorizer(&Endpoint::from(http)),
            _ => Ok(None),
        }
    }

    /// The authorizer of `endpoint`'s server and URL, made on first use, if its `auth` is of
    /// type oauth.
    fn authorizer(&self, endpoint: &Endpoint<'_>) -> Result<Option<Arc<Authorizer>>, SessionError> {
        let Some(oauth) = endpoint.oauth() else { return Ok(None) };
        let key = (endpoint.server.to_owned(), endpoint.url.as_str().to_owned());
        if let Some(auth) = self.authorizers.lock().ok().and_then(|map| map.get(&key).cloned()) {
            return Ok(Some(auth));
        }
        let client_error =
            |error| SessionError::HttpClient { server: endpoint.server.to_owned(), error };
        let builder = endpoint.oauth_builder();
        let no_redirects = builder.clone().build().map_err(client_error)?;
        let following =
            builder.redirects(Redirects::Follow { max: 10 }).build().map_err(client_error)?;
        let mut auth = Authorizer::builder(
            endpoint.server,
            endpoint.url,
            oauth.clone(),
            ReqwestOAuth::new(no_redirects, following),
        )
        .login(self.login);
        if let Some(store) = &self.token_store {
            auth = auth.store(store.clone());
        }
        if let Some(secrets) = &self.secrets {
            auth = auth.secrets(secrets.clone());
        }
        if let Some(info) = &self.client_info {
            auth = auth.client_name(info.name.clone());
        }
        let auth = Arc::new(auth.build().map_err(|err| SessionError::from_auth(&err))?);
        let Ok(mut map) = self.authorizers.lock() else { return Ok(Some(auth)) };
        Ok(Some(map.entry(key).or_insert(auth).clone()))
    }

    fn adapter(&self, server: &str) -> Adapter {
        Adapter {
            server: server.into(),
            handler: self.handler.clone(),
            client_info: self.client_info.clone().unwrap_or_else(|| {
                Implementation::new("mcp-session-rs", env!("CARGO_PKG_VERSION"))
            }),
            changes: Arc::default(),
        }
    }

    /// Connects to `config`'s server within its startup timeout, counted from `started` (spawn
    /// or connect, then the handshake), and registers the session.
    async fn open(&self, config: &ServerConfig, started: Instant) -> Result<Session, SessionError> {
        let server = config.server_name();
        let timeouts = config.timeouts();
        let mut startup = timeouts.startup;
        // A person logging in takes longer than a server starting.
        if let LoginMode::Interactive { login_timeout } = self.login
            && self.authorizer_for(config)?.is_some()
        {
            startup += login_timeout;
        }
        let deadline = started + startup;
        // The handshake stops at `deadline`, and then says why it timed out (a server that wrote
        // only garbage to stdout, one that exited), which takes up to the close grace to stop
        // the server. This bound only backs that up.
        let backstop = deadline + timeouts.close_grace + BACKSTOP;
        let connection = tokio::time::timeout_at(backstop, self.connect(config, deadline, startup))
            .await
            .unwrap_or_else(|_| {
                Err(SessionError::Timeout {
                    server: server.to_owned(),
                    operation: "initialize".to_owned(),
                    after: startup,
                })
            })?;
        no_response_cache(&connection.service).await;
        tracing::debug!(protocol = ?connection.service.peer_info().map(|i| i.protocol_version.to_string()), "session open");
        let session = Session::new(server.to_owned(), config, connection);
        if let Ok(mut registry) = self.sessions.lock() {
            registry.retain(|weak| weak.upgrade().is_some_and(|session| !session.is_closed()));
            registry.push(session.downgrade());
        }
        Ok(session)
    }

    /// Spawns or connects to `config`'s server and runs the handshake until `deadline`.
    async fn connect(
        &self,
        config: &ServerConfig,
        deadline: Instant,
        startup: Duration,
    ) -> Result<Connection, SessionError> {
        let server = config.server_name();
        let adapter = self.adapter(server);
        Ok(match config {
            ServerConfig::Stdio(stdio) => {
                establish(stdio::connect(stdio, adapter)?, deadline, startup).await?
            }
            ServerConfig::Sse(sse) => {
                let endpoint = Endpoint::from(sse);
                let auth = self.authorizer(&endpoint)?;
                establish(sse::connect(&endpoint, adapter, auth)?, deadline, startup).await?
            }
            ServerConfig::StreamableHttp(http) => {
                self.http_or_sse(http, adapter, deadline, startup).await?
            }
            other => {
                return Err(SessionError::UnsupportedTransport {
                    server: server.to_owned(),
                    transport: other.transport().to_string(),
                });
            }
        })
    }

    /// Streamable HTTP, or legacy SSE when `sse_fallback` is set and the URL is no streamable
    /// HTTP endpoint (the spec's backwards-compatibility rule). A URL found to speak legacy SSE
    /// goes straight there for later sessions of this manager.
    async fn http_or_sse(
        &self,
        config: &StreamableHttpConfig,
        adapter: Adapter,
        deadline: Instant,
        startup: Duration,
    ) -> Result<Connection, SessionError> {
        let key = config.url.as_str();
        let known_legacy = || self.legacy_urls.lock().is_ok_and(|urls| urls.contains(key));
        let endpoint = Endpoint::from(config);
        let auth = self.authorizer(&endpoint)?;
        if config.sse_fallback && known_legacy() {
            return establish(sse::connect(&endpoint, adapter, auth)?, deadline, startup).await;
        }
        let attempt = http::connect(config, adapter.clone(), &self.clients, auth.clone())?;
        match establish(attempt, deadline, startup).await {
            Err(SessionError::NotStreamableHttp { status, .. }) if config.sse_fallback => {
                tracing::debug!(
                    status,
                    "not a streamable HTTP endpoint; trying legacy SSE at the same URL"
                );
                let attempt = sse::connect(&endpoint, adapter, auth)?;
                let connection = establish(attempt, deadline, startup).await?;
                if let Ok(mut urls) = self.legacy_urls.lock() {
                    urls.insert(key.to_owned());
                }
                Ok(connection)
            }
            other => other,
        }
    }
}

/// Runs `attempt`'s handshake until `deadline` (the end of the server's startup timeout).
async fn establish(
    mut attempt: impl Connect,
    deadline: Instant,
    startup: Duration,
) -> Result<Connection, SessionError> {
    match tokio::time::timeout_at(deadline, attempt.handshake()).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => Err(attempt.timed_out(startup).await),
    }
}

/// Turns off rmcp's response cache: a cache that answers a failing `*/list` with the last good
/// list would hide the failure.
async fn no_response_cache(service: &Service) {
    service.peer().set_response_cache_config(rmcp::service::ClientCacheConfig::disabled()).await;
}
