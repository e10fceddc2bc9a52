//! [`Connection`]: what a transport hands the manager once the handshake is done, and
//! [`Connect`], the two steps every transport's connection attempt offers.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use mcp_config::{Protocol, TransportKind};
use mcp_sse::direct::Direct;
use rmcp::ServiceError;
use rmcp::model::{ProtocolVersion, RequestId};
use rmcp::service::{
    ClientInitializeError, ClientLifecycleMode, RoleClient, RunningService, RxJsonRpcMessage,
    TxJsonRpcMessage,
};

use crate::error::SessionError;
use crate::handler::Adapter;

/// The running rmcp service of a session.
pub(crate) type Service = RunningService<RoleClient, Adapter>;

/// An initialized connection to a server, and what its transport keeps to explain failures
/// and to clean up.
pub(crate) struct Connection {
    pub(crate) service: Service,
    pub(crate) link: Box<dyn Link>,
    /// The transport's way past rmcp's service loop, when it reads its messages itself.
    pub(crate) writer: Option<Arc<dyn DirectWriter>>,
}

/// A transport that writes requests for their callers and gives them the answers its reader
/// takes, past rmcp's service loop ([`mcp_sse::direct`]): stdio, legacy SSE, and streamable
/// HTTP on our own connections.
pub(crate) trait DirectWriter: Send + Sync {
    /// The requests waiting for their answers.
    fn requests(&self) -> &Direct;

    /// What to wait for before asking [`open`](Self::open), if anything: a streamable HTTP
    /// session's first request waits for its standalone stream.
    fn settling(&self) -> Option<BoxFuture<'static, ()>> {
        None
    }

    /// Whether a request may go this way now; else it goes rmcp's.
    fn open(&self) -> bool {
        true
    }

    /// Ends the session on the server, if this writer can, for the session's `close` to run
    /// beside the transport's own ending (which then sends nothing): a streamable HTTP
    /// session's `DELETE`, sent while rmcp's tasks wind down instead of after them.
    fn end(&self) -> Option<BoxFuture<'static, ()>> {
        None
    }

    /// Whether [`write`](Self::write) gives each request's answer itself, read on the
    /// request's own exchange (a streamable HTTP `POST`'s response): then a request needs no
    /// place among [`requests`](Self::requests) to wait for it, only an id.
    fn answers_itself(&self) -> bool {
        false
    }

    /// Writes `message` to the server, as the transport's `send` writes rmcp's; the answer to
    /// a request when the writer [`answers_itself`](Self::answers_itself).
    ///
    /// The future may be dropped before it is done (its caller timed out or went away): a
    /// transport that a half-written message would break finishes the write in a task.
    fn write(
        &self,
        message: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, Result<Option<RxJsonRpcMessage<RoleClient>>, Unwritten>>;
}

/// A message the transport could not write, and rmcp's error for it (the error rmcp's service
/// would have made, for [`Link::explain`]).
pub(crate) struct Unwritten {
    /// Whether any of it reached the server.
    pub(crate) began: bool,
    pub(crate) err: ServiceError,
}

/// A request that failed: the server, the request, and rmcp's error.
#[derive(Clone, Copy)]
pub(crate) struct Failed<'a> {
    pub(crate) server: &'a str,
    pub(crate) operation: &'a str,
    pub(crate) err: &'a ServiceError,
}

/// The transport's side of an open session: a stdio server's process group, an HTTP server's
/// URL, a legacy SSE stream's end. Each transport file implements it for its own type, so that
/// the session explains a failed request in that transport's terms without knowing them.
pub(crate) trait Link: Send + Sync {
    /// The transport.
    fn kind(&self) -> TransportKind;

    /// A stdio server's process id.
    fn process_id(&self) -> Option<u32> {
        None
    }

    /// The most specific error for a request that failed with `err`, when the transport knows
    /// more than the request's own error says (the server exited, an HTTP status, the stream's
    /// end).
    fn explain<'a>(&'a mut self, failed: Failed<'a>) -> BoxFuture<'a, Option<SessionError>>;

    /// Whether request `id`, which failed with `err`, provably never reached the server (its
    /// transport never began to write it, or could not write a byte of it).
    fn never_sent(&self, id: &RequestId, err: &ServiceError) -> bool {
        let _ = (id, err);
        false
    }

    /// Ends what the transport holds beyond the connection, once it is closed (a stdio server's
    /// process group), within `grace` per step.
    fn shutdown(&mut self, grace: Duration) -> BoxFuture<'_, ()> {
        let _ = grace;
        Box::pin(std::future::ready(()))
    }
}

/// A connection attempt in progress: the server is spawned or its URL known; the handshake is
/// next.
///
/// The manager runs [`handshake`](Connect::handshake) under the server's startup timeout; when
/// that expires, it drops the handshake and asks [`timed_out`](Connect::timed_out) for the
/// error, which the transport can make more specific (a stdio server that wrote garbage to
/// stdout, or exited).
pub(crate) trait Connect {
    /// Runs the MCP handshake. On failure, says why in the transport's own terms and cleans up.
    async fn handshake(&mut self) -> Result<Connection, SessionError>;

    /// The error for a handshake that did not finish within `after`. Cleans up.
    async fn timed_out(self, after: Duration) -> SessionError;
}

/// The rmcp handshake for a configured [`Protocol`]. Discovery lists every known version,
/// newest first, so any server of the discovery era finds one it shares.
pub(crate) fn lifecycle(protocol: Protocol) -> ClientLifecycleMode {
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

/// What went wrong in a handshake, in words that name no library type.
pub(crate) fn describe_init_error(err: &ClientInitializeError) -> String {
    match err {
        ClientInitializeError::ExpectedInitResponse(_)
        | ClientInitializeError::ExpectedInitResult(_) => {
            "the server answered `initialize` with something other than an initialize result"
                .to_owned()
        }
        ClientInitializeError::ConflictInitResponseId(..)
        | ClientInitializeError::UncorrelatedErrorResponse { .. } => {
            "the server answered `initialize` with the id of another request".to_owned()
        }
        ClientInitializeError::ConnectionClosed(_) => {
            "the connection closed before the server answered `initialize`".to_owned()
        }
        ClientInitializeError::TransportError { error, .. } => {
            crate::http_client::root_cause(error.error.as_ref())
        }
        ClientInitializeError::JsonRpcError(data) => format!(
            "the server refused `initialize`: {} (JSON-RPC error {})",
            data.message, data.code.0
        ),
        ClientInitializeError::NoCompatibleProtocolVersion { server_supported, .. } => {
            let theirs: Vec<String> = server_supported.iter().map(ToString::to_string).collect();
            format!(
                "the server supports no protocol version this client speaks (it offers: {}); \
                 set `protocol = \"initialize\"` for it, or upgrade one side",
                theirs.join(", ")
            )
        }
        ClientInitializeError::LegacyFallbackFailed { discover, fallback } => format!(
            "`server/discover` failed ({}), and so did the `initialize` fallback ({})",
            describe_init_error(discover),
            describe_init_error(fallback)
        ),
        ClientInitializeError::Cancelled => "the handshake was cancelled".to_owned(),
        other => other.to_string(),
    }
}
