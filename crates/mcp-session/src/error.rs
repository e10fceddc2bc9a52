//! [`SessionError`]: everything that can go wrong opening or using a session.

use std::time::Duration;

/// An error opening, using or closing an MCP session.
///
/// Every message names the server and says what to do. A tool that runs and fails is not an
/// error: its [`CallToolResult`](rmcp::model::CallToolResult) has `is_error: Some(true)`.
///
/// ```
/// use std::time::Duration;
/// use mcp_session::SessionError;
///
/// let err = SessionError::Timeout {
///     server: "ArxivServer".into(),
///     operation: "tools/call search_papers".into(),
///     after: Duration::from_secs(60),
/// };
/// assert_eq!(
///     err.to_string(),
///     "ArxivServer: tools/call search_papers timed out after 60s; the server may be overloaded or \
///      hung: raise `timeouts.request` for this server, or pass a longer timeout to this call"
/// );
/// ```
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The server's program could not be started.
    #[error("{server}: cannot start `{command}`: {}", spawn_help(command, source))]
    Spawn {
        /// The server's name.
        server: String,
        /// The program.
        command: String,
        /// Why it could not start.
        source: std::sync::Arc<std::io::Error>,
    },
    /// The server's URL could not be reached.
    #[error(
        "{server}: cannot connect to {url}: {reason}; check that the server is running and the URL is right"
    )]
    Connect {
        /// The server's name.
        server: String,
        /// The URL, with any password hidden.
        url: String,
        /// Why the connection failed.
        reason: String,
    },
    /// The server refused the request for want of credentials (HTTP 401), or refused the ones
    /// it got (HTTP 403).
    ///
    /// ```
    /// use mcp_session::SessionError;
    ///
    /// let err = SessionError::Unauthorized {
    ///     server: "docs".into(),
    ///     url: "https://docs.example.com/mcp".into(),
    ///     status: 401,
    ///     challenge: None,
    ///     token_env: Some("DOCS_TOKEN".into()),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "docs: HTTP 401 from https://docs.example.com/mcp: the server did not accept the bearer \
    ///      token read from the environment variable `DOCS_TOKEN`; check that `DOCS_TOKEN` holds \
    ///      a valid, unexpired token for this server"
    /// );
    /// ```
    #[error(
        "{server}: HTTP {status} from {url}: {}",
        auth_help(*status, challenge.as_deref(), token_env.as_deref())
    )]
    Unauthorized {
        /// The server's name.
        server: String,
        /// The URL, with secrets hidden.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The server's `WWW-Authenticate` challenge, if it sent one.
        challenge: Option<String>,
        /// The environment variable the bearer token sent came from (the server's `auth` of
        /// type bearer), if any.
        token_env: Option<String>,
    },
    /// The server's `auth` takes its bearer token from an environment variable that holds no
    /// usable token: unset, empty, or not a valid header value. Nothing was sent.
    ///
    /// ```
    /// use mcp_session::{SessionError, TokenProblem};
    ///
    /// let err = SessionError::TokenUnavailable {
    ///     server: "github".into(),
    ///     token_env: "GITHUB_TOKEN".into(),
    ///     problem: TokenProblem::Unset,
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "github: its `auth` sends the bearer token held by the environment variable \
    ///      `GITHUB_TOKEN`, which is not set; set `GITHUB_TOKEN` to the token before opening \
    ///      the session, or name another variable in the server's `auth.token_env`"
    /// );
    /// ```
    #[error(
        "{server}: its `auth` sends the bearer token held by the environment variable \
         `{token_env}`, which {problem}; set `{token_env}` to the token before opening the \
         session, or name another variable in the server's `auth.token_env`"
    )]
    TokenUnavailable {
        /// The server's name.
        server: String,
        /// The variable's name (never its value).
        token_env: String,
        /// What is wrong with it.
        problem: TokenProblem,
    },
    /// The server's `auth` is a kind this version cannot use (one a newer config format
    /// added).
    #[error(
        "{server}: `auth` of type `{auth}` is not supported by this version of mcp-session: \
         get a token yourself and give the server an `auth` of type `bearer` with `token_env`, \
         or an `Authorization` header"
    )]
    UnsupportedAuth {
        /// The server's name.
        server: String,
        /// The kind of `auth`.
        auth: String,
    },
    /// The OAuth flow of a server whose `auth` is of type oauth failed: discovery,
    /// registration, the token exchange, a refresh, the token store, or the server kept
    /// refusing the tokens it got. `reason` holds no token, code or secret.
    ///
    /// ```
    /// use mcp_session::SessionError;
    /// use mcp_session::mcp_auth::Step;
    ///
    /// let err = SessionError::Authorization {
    ///     server: "docs".into(),
    ///     step: Step::Discovery,
    ///     reason: "no authorization server metadata".into(),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "docs: OAuth discovery failed: no authorization server metadata; check the server's \
    ///      `auth` in the config, or log in again: `research-demo login docs`"
    /// );
    /// ```
    #[error(
        "{server}: OAuth {step} failed: {reason}; check the server's `auth` in the config, or \
         log in again: `research-demo login {server}`"
    )]
    Authorization {
        /// The server's name.
        server: String,
        /// The step of the flow that failed.
        step: mcp_auth::Step,
        /// What went wrong (redacted).
        reason: String,
    },
    /// The server's `auth` is of type oauth, no stored or refreshed token works, and getting
    /// one needs a person, which the manager's [`LoginMode`](mcp_auth::LoginMode) does not
    /// allow (or the authorization server showed a login page to a headless login).
    ///
    /// ```
    /// use mcp_session::SessionError;
    ///
    /// let err = SessionError::LoginRequired {
    ///     server: "docs".into(),
    ///     reason: "no stored token".into(),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "docs: not logged in (no stored token); logging in needs a person: run \
    ///      `research-demo login docs`"
    /// );
    /// ```
    #[error(
        "{server}: not logged in ({reason}); logging in needs a person: run `research-demo \
         login {server}`"
    )]
    LoginRequired {
        /// The server's name.
        server: String,
        /// Why no token could be had without a person.
        reason: String,
    },
    /// The URL answered the streamable HTTP `initialize` POST with 400, 404 or 405: it is not a
    /// streamable HTTP endpoint (it may be a legacy SSE one).
    #[error(
        "{server}: {url} is not a streamable HTTP endpoint (HTTP {status} to the `initialize` POST); \
         if it is a legacy SSE server, set its transport to `sse` (or give only its `url`, so that \
         the client falls back to SSE), else check the URL's path (streamable HTTP servers usually \
         serve `/mcp`)"
    )]
    NotStreamableHttp {
        /// The server's name.
        server: String,
        /// The URL, with secrets hidden.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The server no longer knows the HTTP session (HTTP 404 to a request that carried its
    /// session id): it expired, or the server restarted.
    #[error(
        "{server}: the server no longer knows this session (HTTP 404 from {url}): it expired or \
         the server restarted; open a new session"
    )]
    SessionExpired {
        /// The server's name.
        server: String,
        /// The URL, with secrets hidden.
        url: String,
    },
    /// The server answered HTTP with another error status.
    #[error("{server}: HTTP {status} from {url}{}", http_help(*status, body_excerpt))]
    Http {
        /// The server's name.
        server: String,
        /// The URL, with secrets hidden.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body_excerpt: String,
    },
    /// The URL does not speak legacy SSE: its `GET` is not an event stream, or its `endpoint`
    /// event is missing, invalid or on another origin.
    #[error("{server}: {url} is not a usable legacy SSE endpoint: {reason}")]
    NotSse {
        /// The server's name.
        server: String,
        /// The URL, with secrets hidden.
        url: String,
        /// What was wrong, and what to do.
        reason: String,
    },
    /// The MCP handshake (`initialize`) failed.
    #[error("{server}: the MCP handshake failed: {reason}{}", tail_help(stderr_tail))]
    Handshake {
        /// The server's name.
        server: String,
        /// What went wrong.
        reason: String,
        /// The last lines the server wrote to stderr, if any.
        stderr_tail: Option<String>,
    },
    /// An operation took longer than its timeout.
    #[error(
        "{server}: {operation} timed out after {}; the server may be overloaded or hung: {}",
        humanize(*after),
        timeout_help(operation)
    )]
    Timeout {
        /// The server's name.
        server: String,
        /// What timed out: `initialize`, `tools/call NAME`, …
        operation: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The server process exited.
    #[error("{server}: the server exited ({status}){}", tail_help(stderr_tail))]
    ServerExited {
        /// The server's name.
        server: String,
        /// How it exited, such as `exit status: 3`.
        status: String,
        /// The last lines the server wrote to stderr, if any.
        stderr_tail: Option<String>,
    },
    /// The server answered a request with a JSON-RPC error.
    #[error("{server}: {method} failed: {message} (JSON-RPC error {code})")]
    Rpc {
        /// The server's name.
        server: String,
        /// The request method, with the tool, resource or prompt it named.
        method: String,
        /// The JSON-RPC error code.
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The connection to the server ended while a request was in flight.
    #[error(
        "{server}: the connection closed during {operation}{}; the server may have crashed: open a new session",
        reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    ConnectionClosed {
        /// The server's name.
        server: String,
        /// The request in flight, such as `tools/call search`.
        operation: String,
        /// Why it ended, when known.
        reason: Option<String>,
    },
    /// The session was closed (by [`Session::close`](crate::Session::close) on it or a clone, or
    /// by [`MCPClientSessionManager::shutdown`](crate::MCPClientSessionManager::shutdown)).
    #[error("{server}: the session is closed; open a new one")]
    Closed {
        /// The server's name.
        server: String,
    },
    /// The connection had ended before the operation's first request left: nothing reached the
    /// server, so running it again on a new session is safe.
    #[error(
        "{server}: {operation} was not sent, because the connection had ended: {}",
        without_server(server, cause)
    )]
    Disconnected {
        /// The server's name.
        server: String,
        /// The operation, such as `tools/call search`.
        operation: String,
        /// How the connection ended.
        #[source]
        cause: Box<SessionError>,
    },
    /// The request was cancelled before its answer came: its session closed while it ran
    /// (after the grace period, the server was sent `notifications/cancelled`), or the server
    /// cancelled it.
    #[error("{server}: {operation} was cancelled: {reason}")]
    Cancelled {
        /// The server's name.
        server: String,
        /// The operation, such as `tools/call search`.
        operation: String,
        /// Why.
        reason: String,
    },
    /// A [`SessionPool`](crate::SessionPool)'s server has as many calls in flight as it allows
    /// and as many waiting as its queue holds.
    #[error(
        "{server}: busy: {in_flight} calls in flight and {queued} waiting, the most its pool \
         settings allow (`pool.max_in_flight`, `pool.max_queued`); try again later, or raise them"
    )]
    Busy {
        /// The server's name.
        server: String,
        /// Its `pool.max_in_flight`.
        in_flight: u32,
        /// Its `pool.max_queued`.
        queued: u32,
    },
    /// The [`SessionPool`](crate::SessionPool) was closed ([`close_all`](crate::SessionPool::close_all)).
    #[error("{server}: the session pool is closed; make a new pool to use the server again")]
    PoolClosed {
        /// The server's name.
        server: String,
    },
    /// A [`SessionPool`](crate::SessionPool)'s server died or failed to start more times in a
    /// row than its restart budget allows: calls fail at once until the budget refills.
    #[error(
        "{server}: failed: {restarts} restarts in a row did not bring it up (the last error: {}); \
         its calls fail at once for {} more, until its restart budget refills \
         (`pool.healthy_after`), or until `SessionPool::reset`",
        without_server(server, last_error),
        humanize(*retry_in)
    )]
    ServerFailed {
        /// The server's name.
        server: String,
        /// Restarts tried since the budget last refilled.
        restarts: u32,
        /// Why the last start or session failed.
        #[source]
        last_error: Box<SessionError>,
        /// How long until the budget refills.
        retry_in: Duration,
    },
    /// A [`SessionPool`](crate::SessionPool) holds as many open sessions as it may, none of them
    /// idle, and none became idle in time to open one for this server.
    #[error(
        "{server}: cannot open a session: the pool holds its most ({max_sessions} sessions), all \
         in use, and none became idle within {}; raise `max_sessions`, or release leases sooner",
        humanize(*waited)
    )]
    PoolFull {
        /// The server's name.
        server: String,
        /// The pool's cap on open sessions.
        max_sessions: usize,
        /// How long the open waited for a session to become idle.
        waited: Duration,
    },
    /// A request's arguments cannot be sent.
    #[error("{server}: the arguments of {operation} must be a JSON object, not {found}")]
    InvalidArguments {
        /// The server's name.
        server: String,
        /// The request, such as `tools/call search`.
        operation: String,
        /// What was given instead (truncated).
        found: String,
    },
    /// A configured HTTP header cannot be sent.
    #[error("{server}: the header `{header}` {reason}")]
    InvalidHeader {
        /// The server's name.
        server: String,
        /// The header's name.
        header: String,
        /// What is wrong with it, and what to do.
        reason: String,
    },
    /// The config names a transport this version cannot open.
    #[error(
        "{server}: transport `{transport}` is not supported by this version of mcp-session; use `stdio`, `sse` or `streamable-http`"
    )]
    UnsupportedTransport {
        /// The server's name.
        server: String,
        /// The transport.
        transport: String,
    },
    /// No HTTP client could be made for the server (a bad `ca_file`, TLS setup).
    #[error("{server}: {error}")]
    HttpClient {
        /// The server's name.
        server: String,
        /// Why.
        error: crate::HttpClientError,
    },
    /// The server broke the protocol: an answer of the wrong type, an oversize message.
    #[error("{server}: {operation}: {message}")]
    Protocol {
        /// The server's name.
        server: String,
        /// The request concerned.
        operation: String,
        /// What happened.
        message: String,
    },
    /// A list's pages broke a bound: too many pages or items (the server's `catalog.max_pages`
    /// and `catalog.max_items`), or a cursor the server had already sent.
    #[error("{server}: {operation}: {problem}")]
    Paging {
        /// The server's name.
        server: String,
        /// The list, such as `tools/list`.
        operation: String,
        /// Which bound.
        problem: PagingProblem,
    },
    /// The tool is filtered out by the server's `tools.allow` / `tools.deny` in the config: a
    /// [`SessionPool`](crate::SessionPool) neither lists nor calls it.
    #[error(
        "{server}: the tool `{tool}` is not available: this server's `tools` filter in the config leaves it out; use another tool, or change `tools.allow` / `tools.deny`"
    )]
    ToolFiltered {
        /// The server's name.
        server: String,
        /// The tool.
        tool: String,
    },
    /// A tool call's arguments do not match the tool's `inputSchema` (the call was not sent),
    /// or its `structuredContent` does not match its `outputSchema`: checked by a
    /// [`SessionPool`](crate::SessionPool). The text says what to fix, for a model to read.
    #[error("{server}: {violation}")]
    SchemaMismatch {
        /// The server's name.
        server: String,
        /// What does not match.
        violation: Box<crate::SchemaViolation>,
    },
    /// A server name or config was not valid.
    #[error(transparent)]
    Config(#[from] mcp_config::ConfigError),
}

/// Why the environment variable of a server's `auth` gives no bearer token, in
/// [`SessionError::TokenUnavailable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    /// The variable is not set.
    #[error("is not set")]
    Unset,
    /// The variable is set but empty (or only whitespace).
    #[error("is empty")]
    Empty,
    /// The variable's value is not valid Unicode.
    #[error("does not hold valid Unicode")]
    NotUnicode,
    /// The token holds characters an HTTP header cannot carry.
    #[error("holds characters an HTTP header cannot carry (control characters or non-ASCII bytes)")]
    InvalidHeaderValue,
}

/// How a paged list broke its bounds, in [`SessionError::Paging`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PagingProblem {
    /// More pages than `catalog.max_pages`.
    #[error(
        "the list ran past {max} pages, so it was stopped; if the server really has that many, raise `catalog.max_pages` for it"
    )]
    TooManyPages {
        /// The bound.
        max: u32,
    },
    /// More items than `catalog.max_items`.
    #[error(
        "the list holds more than {max} items, so it was stopped; if the server really has that many, raise `catalog.max_items` for it"
    )]
    TooManyItems {
        /// The bound.
        max: u32,
    },
    /// The server sent a cursor it had sent before: following it would page forever.
    #[error(
        "the server sent the cursor {cursor:?} a second time, which would page forever; the server's paging is broken"
    )]
    RepeatedCursor {
        /// The cursor (at most 80 characters of it).
        cursor: String,
    },
}

impl SessionError {
    /// The name of the server the error concerns, if it concerns one.
    pub fn server(&self) -> Option<&str> {
        match self {
            SessionError::Spawn { server, .. }
            | SessionError::Connect { server, .. }
            | SessionError::Unauthorized { server, .. }
            | SessionError::TokenUnavailable { server, .. }
            | SessionError::UnsupportedAuth { server, .. }
            | SessionError::Authorization { server, .. }
            | SessionError::LoginRequired { server, .. }
            | SessionError::NotStreamableHttp { server, .. }
            | SessionError::SessionExpired { server, .. }
            | SessionError::Http { server, .. }
            | SessionError::NotSse { server, .. }
            | SessionError::ConnectionClosed { server, .. }
            | SessionError::Closed { server }
            | SessionError::Disconnected { server, .. }
            | SessionError::Cancelled { server, .. }
            | SessionError::Busy { server, .. }
            | SessionError::PoolClosed { server }
            | SessionError::ServerFailed { server, .. }
            | SessionError::PoolFull { server, .. }
            | SessionError::InvalidArguments { server, .. }
            | SessionError::InvalidHeader { server, .. }
            | SessionError::UnsupportedTransport { server, .. }
            | SessionError::HttpClient { server, .. }
            | SessionError::Handshake { server, .. }
            | SessionError::Timeout { server, .. }
            | SessionError::ServerExited { server, .. }
            | SessionError::Rpc { server, .. }
            | SessionError::Protocol { server, .. }
            | SessionError::Paging { server, .. }
            | SessionError::ToolFiltered { server, .. }
            | SessionError::SchemaMismatch { server, .. } => Some(server),
            SessionError::Config(_) => None,
        }
    }

    /// A short name for the kind of error, as `tracing` events and metrics label it:
    /// `timeout`, `server_exited`, `busy`, …
    ///
    /// ```
    /// use mcp_session::SessionError;
    ///
    /// let err = SessionError::Closed { server: "fs".into() };
    /// assert_eq!(err.kind(), "closed");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SessionError::Spawn { .. } => "spawn",
            SessionError::Connect { .. } => "connect",
            SessionError::Unauthorized { .. } => "unauthorized",
            SessionError::TokenUnavailable { .. } => "token_unavailable",
            SessionError::UnsupportedAuth { .. } => "unsupported_auth",
            SessionError::Authorization { .. } => "authorization",
            SessionError::LoginRequired { .. } => "login_required",
            SessionError::NotStreamableHttp { .. } => "not_streamable_http",
            SessionError::SessionExpired { .. } => "session_expired",
            SessionError::Http { .. } => "http",
            SessionError::NotSse { .. } => "not_sse",
            SessionError::Handshake { .. } => "handshake",
            SessionError::Timeout { .. } => "timeout",
            SessionError::ServerExited { .. } => "server_exited",
            SessionError::Rpc { .. } => "rpc",
            SessionError::ConnectionClosed { .. } => "connection_closed",
            SessionError::Closed { .. } => "closed",
            SessionError::Disconnected { .. } => "disconnected",
            SessionError::Cancelled { .. } => "cancelled",
            SessionError::Busy { .. } => "busy",
            SessionError::PoolClosed { .. } => "pool_closed",
            SessionError::ServerFailed { .. } => "server_failed",
            SessionError::PoolFull { .. } => "pool_full",
            SessionError::InvalidArguments { .. } => "invalid_arguments",
            SessionError::InvalidHeader { .. } => "invalid_header",
            SessionError::UnsupportedTransport { .. } => "unsupported_transport",
            SessionError::HttpClient { .. } => "http_client",
            SessionError::Protocol { .. } => "protocol",
            SessionError::Paging { .. } => "paging",
            SessionError::ToolFiltered { .. } => "tool_filtered",
            SessionError::SchemaMismatch { .. } => "schema_mismatch",
            SessionError::Config(_) => "config",
        }
    }

    /// Whether the session's connection is gone: the server exited, the stream or connection
    /// closed, the HTTP server forgot the session. A [`SessionPool`](crate::SessionPool)
    /// reopens such a session on next use; a timeout or a JSON-RPC error leaves it alive.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            SessionError::ServerExited { .. }
                | SessionError::ConnectionClosed { .. }
                | SessionError::SessionExpired { .. }
                | SessionError::Disconnected { .. }
                | SessionError::Closed { .. }
                | SessionError::Connect { .. }
                | SessionError::NotSse { .. }
        )
    }

    /// Whether the failed operation provably never reached the server, so that running it
    /// again cannot run it twice: nothing was sent ([`Disconnected`](Self::Disconnected),
    /// [`Closed`](Self::Closed)), the connection was refused ([`Connect`](Self::Connect)), or
    /// the HTTP server did not know the session ([`SessionExpired`](Self::SessionExpired):
    /// the spec has it refuse such requests with 404 unprocessed).
    pub fn never_reached_server(&self) -> bool {
        matches!(
            self,
            SessionError::Disconnected { .. }
                | SessionError::Closed { .. }
                | SessionError::Connect { .. }
                | SessionError::SessionExpired { .. }
        )
    }

    /// An error for an HTTP error status, with the status's own variant where it has one.
    pub(crate) fn from_status(
        server: &str,
        url: String,
        status: u16,
        challenge: Option<String>,
        body_excerpt: String,
    ) -> SessionError {
        let server = server.to_owned();
        match status {
            401 | 403 => {
                SessionError::Unauthorized { server, url, status, challenge, token_env: None }
            }
            _ => SessionError::Http { server, url, status, body_excerpt },
        }
    }

    /// The error for a failed OAuth flow: [`LoginRequired`](Self::LoginRequired) when a
    /// person is needed, else [`Authorization`](Self::Authorization) naming the step.
    pub(crate) fn from_auth(err: &mcp_auth::AuthError) -> SessionError {
        let server = err.server().to_owned();
        match err {
            mcp_auth::AuthError::LoginRequired { reason, .. } => {
                SessionError::LoginRequired { server, reason: reason.clone() }
            }
            mcp_auth::AuthError::Flow { step, reason, .. } => {
                SessionError::Authorization { server, step: *step, reason: reason.clone() }
            }
            other => {
                let text = other.to_string();
                let reason = match text.strip_prefix(&server).and_then(|r| r.strip_prefix(": ")) {
                    Some(rest) => rest.to_owned(),
                    None => text,
                };
                SessionError::Authorization { server, step: other.step(), reason }
            }
        }
    }

    /// This error with the environment variable the bearer token came from, for the help of an
    /// [`Unauthorized`](Self::Unauthorized); any other error as it is.
    pub(crate) fn with_token_env(mut self, from: Option<&str>) -> SessionError {
        if let SessionError::Unauthorized { token_env, .. } = &mut self {
            *token_env = from.map(str::to_owned);
        }
        self
    }
}

/// `err`'s message without the `server: ` it starts with, for a message that names the server
/// already.
fn without_server(server: &str, err: &SessionError) -> String {
    let text = err.to_string();
    match text.strip_prefix(server).and_then(|rest| rest.strip_prefix(": ")) {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

fn spawn_help(command: &str, source: &std::io::Error) -> String {
    match source.kind() {
        std::io::ErrorKind::NotFound => {
            format!("command not found: {command} — is it installed and on PATH?")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("permission denied ({source}); check that `{command}` is executable")
        }
        _ => format!("{source}; check the server's command and working_dir"),
    }
}

fn auth_help(status: u16, challenge: Option<&str>, token_env: Option<&str>) -> String {
    let asked = challenge.map(|c| format!(" (it asks for: {c})")).unwrap_or_default();
    match (status, token_env) {
        (403, Some(var)) => format!(
            "the server refused the bearer token read from the environment variable `{var}` (or \
             the token lacks a scope){asked}; check that `{var}` holds a token for this server \
             with the scopes it needs"
        ),
        (_, Some(var)) => format!(
            "the server did not accept the bearer token read from the environment variable \
             `{var}`{asked}; check that `{var}` holds a valid, unexpired token for this server"
        ),
        (403, None) => format!(
            "the server refused the credentials it got (or they lack a scope){asked}; check the \
             credentials this server's config gives it (`auth`, or an `Authorization` header \
             under `headers`)"
        ),
        (_, None) => format!(
            "the server needs authorization{asked}; give this server an `auth` in its config (a \
             bearer token read from an environment variable: {{\"type\": \"bearer\", \
             \"token_env\": \"VAR\"}}), or an `Authorization` header under `headers`"
        ),
    }
}

fn http_help(status: u16, body: &str) -> String {
    let hint = match status {
        300..=399 => {
            "; the server redirects elsewhere, and MCP transports do not follow redirects (a \
             redirected POST loses its body): put the URL it redirects to in the config"
        }
        404 => {
            "; check the URL's path (streamable HTTP servers usually serve `/mcp`, legacy SSE ones `/sse`)"
        }
        405 => "; the endpoint refuses this method: it may speak legacy SSE (use transport `sse`)",
        500..=599 => "; the server failed: check its logs",
        _ => "",
    };
    if body.is_empty() { hint.to_owned() } else { format!(": {body}{hint}") }
}

fn tail_help(tail: &Option<String>) -> String {
    match tail {
        Some(tail) if !tail.is_empty() => format!("; its stderr ended with:\n{tail}"),
        _ => String::new(),
    }
}

fn timeout_help(operation: &str) -> &'static str {
    if operation == "initialize" || operation.starts_with("connect") {
        "raise `timeouts.startup` for this server, or check that it speaks MCP on this transport"
    } else {
        "raise `timeouts.request` for this server, or pass a longer timeout to this call"
    }
}

pub(crate) fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
