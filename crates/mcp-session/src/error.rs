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
#[derive(Debug, thiserror::Error)]
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
        source: std::io::Error,
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
    /// The server answered HTTP with an error status.
    #[error("{server}: HTTP {status} from {url}{}", http_help(*status, body_excerpt))]
    Http {
        /// The server's name.
        server: String,
        /// The URL, with any password hidden.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body_excerpt: String,
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
    /// The connection broke, or the server broke the protocol.
    #[error("{server}: {message}")]
    Protocol {
        /// The server's name.
        server: String,
        /// What happened, and what to do.
        message: String,
    },
    /// A server name or config was not valid.
    #[error(transparent)]
    Config(#[from] mcp_config::ConfigError),
}

impl SessionError {
    /// The name of the server the error concerns, if it concerns one.
    pub fn server(&self) -> Option<&str> {
        match self {
            SessionError::Spawn { server, .. }
            | SessionError::Connect { server, .. }
            | SessionError::Http { server, .. }
            | SessionError::Handshake { server, .. }
            | SessionError::Timeout { server, .. }
            | SessionError::ServerExited { server, .. }
            | SessionError::Rpc { server, .. }
            | SessionError::Protocol { server, .. } => Some(server),
            SessionError::Config(_) => None,
        }
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

fn http_help(status: u16, body: &str) -> String {
    let hint = match status {
        401 | 403 => "; the server wants credentials: set an `Authorization` header for it",
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
