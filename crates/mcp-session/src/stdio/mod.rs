//! stdio servers: the connection (spawn, handshake, what failures mean), the newline-delimited
//! JSON-RPC transport and stderr capture. `process.rs` owns the processes: how they are started
//! and how every one of them ends.

mod process;

use process::ChildGuard;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use mcp_config::{StdioConfig, TransportKind};
use rmcp::serve_client_with_lifecycle;
use rmcp::service::{ClientInitializeError, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{RoleClient, ServiceError};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

use crate::connection::{Connect, Connection, Failed, Link, describe_init_error, lifecycle};
use crate::error::{SessionError, humanize};
use crate::handler::Adapter;

/// Largest JSON-RPC message accepted from a server (one line of stdout).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// How many bytes of a server's stderr are kept for error messages.
const STDERR_TAIL_BYTES: usize = 4096;

/// The last lines a server wrote to stderr, bounded.
#[derive(Clone, Default, Debug)]
struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: String) {
        let Ok(mut lines) = self.0.lock() else { return };
        lines.push_back(line);
        let mut total: usize = lines.iter().map(|l| l.len() + 1).sum();
        while total > STDERR_TAIL_BYTES && lines.len() > 1 {
            total -= lines.pop_front().map_or(0, |l| l.len() + 1);
        }
    }

    /// The kept lines, or `None` when the server wrote nothing.
    fn text(&self) -> Option<String> {
        let lines = self.0.lock().ok()?;
        (!lines.is_empty()).then(|| lines.iter().map(String::as_str).collect::<Vec<_>>().join("\n"))
    }
}

/// What a server wrote to stdout that was not JSON-RPC.
#[derive(Clone, Default, Debug)]
struct Garbage(Arc<Mutex<Option<(usize, String)>>>);

impl Garbage {
    fn record(&self, line: &[u8]) {
        let Ok(mut seen) = self.0.lock() else { return };
        let (count, _) = seen.get_or_insert_with(|| (0, excerpt(line)));
        *count += 1;
    }

    /// How many non-JSON-RPC lines there were, and the first of them.
    fn seen(&self) -> Option<(usize, String)> {
        self.0.lock().ok()?.clone()
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]);
    text.trim_end().to_owned()
}

/// Why the transport stopped reading the server's stdout, when it was its own decision (an
/// oversize message) or a read error, not the end of the stream.
#[derive(Clone, Default, Debug)]
struct ReadFault(Arc<Mutex<Option<String>>>);

impl ReadFault {
    fn set(&self, reason: String) {
        if let Ok(mut fault) = self.0.lock() {
            fault.get_or_insert(reason);
        }
    }

    fn get(&self) -> Option<String> {
        self.0.lock().ok()?.clone()
    }
}

/// A stdio server that has been started: its process group, the tail of its stderr, and why
/// the transport stopped reading it, if it did.
pub(crate) struct Child {
    guard: ChildGuard,
    stderr: StderrTail,
    fault: ReadFault,
}

impl Child {
    /// The leader's process id (also the group id).
    pub(crate) fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// The error for a server that has exited, waiting up to `limit` for it to exit.
    pub(crate) async fn exited(&mut self, server: &str, limit: Duration) -> Option<SessionError> {
        let status = match self.guard.exit_status() {
            Some(status) => status,
            None if limit.is_zero() => return None,
            None => self.guard.wait_exit(limit).await?,
        };
        Some(SessionError::ServerExited {
            server: server.to_owned(),
            status: status.to_string(),
            stderr_tail: self.stderr.text(),
        })
    }

    /// Ends the process group (see [`ChildGuard::shutdown`]).
    pub(crate) async fn shutdown(&mut self, grace: Duration) {
        self.guard.shutdown(grace).await;
    }
}

impl Link for Child {
    fn kind(&self) -> TransportKind {
        TransportKind::Stdio
    }

    fn process_id(&self) -> Option<u32> {
        Some(self.pid())
    }

    /// A broken connection means the transport gave up on the server (an oversize message),
    /// or, usually, that the server exited: say which, with its status and the end of its
    /// stderr.
    fn explain<'a>(&'a mut self, failed: Failed<'a>) -> BoxFuture<'a, Option<SessionError>> {
        let Failed { server, operation, err } = failed;
        let broken = matches!(err, ServiceError::TransportClosed | ServiceError::TransportSend(_));
        Box::pin(async move {
            if !broken {
                return None;
            }
            if let Some(reason) = self.fault.get() {
                return Some(SessionError::ConnectionClosed {
                    server: server.to_owned(),
                    operation: operation.to_owned(),
                    reason: Some(reason),
                });
            }
            self.exited(server, EXIT_WAIT).await
        })
    }

    fn shutdown(&mut self, grace: Duration) -> BoxFuture<'_, ()> {
        Box::pin(Child::shutdown(self, grace))
    }
}

/// How long a failed request waits for a stdio server to exit, to report its exit status.
const EXIT_WAIT: Duration = Duration::from_millis(200);

/// A stdio server started and not yet initialized: what [`connect`] returns.
pub(crate) struct Connecting {
    server: String,
    protocol: mcp_config::Protocol,
    close_grace: Duration,
    adapter: Option<Adapter>,
    transport: Option<StdioTransport>,
    /// The server's stdin, shared with the transport: it stays open when a timed-out handshake
    /// drops the transport, so that a server which exits on EOF is not mistaken for one that
    /// exited on its own.
    stdin: Stdin,
    child: Option<Child>,
    garbage: Garbage,
}

impl Connecting {
    /// Closes the server's stdin (the first step of stdio shutdown), then ends its group.
    async fn abandon(&mut self, mut child: Child) {
        self.stdin.lock().await.take();
        child.shutdown(self.close_grace).await;
    }
}

/// Starts the server of `config` as the leader of a new process group, ready for the handshake.
pub(crate) fn connect(config: &StdioConfig, adapter: Adapter) -> Result<Connecting, SessionError> {
    let server = &config.server_name;
    let process::Spawned { guard, stdin, stdout, stderr: stderr_pipe } = process::spawn(config)
        .map_err(|source| SessionError::Spawn {
            server: server.clone(),
            command: config.command.clone(),
            source,
        })?;
    let pid = guard.pid();
    let stderr = StderrTail::default();
    if let Some(pipe) = stderr_pipe {
        tokio::spawn(pump_stderr(pipe, stderr.clone(), server.clone()));
    }
    let garbage = Garbage::default();
    tracing::debug!(server = %server, pid, command = %config.command, "spawned stdio server");
    let fault = ReadFault::default();
    let transport =
        StdioTransport::new(stdout, stdin, garbage.clone(), fault.clone(), server.clone());
    Ok(Connecting {
        server: server.clone(),
        protocol: config.protocol,
        close_grace: config.timeouts.close_grace,
        adapter: Some(adapter),
        stdin: transport.writer.clone(),
        transport: Some(transport),
        child: Some(Child { guard, stderr, fault }),
        garbage,
    })
}

impl Connect for Connecting {
    async fn handshake(&mut self) -> Result<Connection, SessionError> {
        let (Some(adapter), Some(transport)) = (self.adapter.take(), self.transport.take()) else {
            return Err(SessionError::Closed { server: self.server.clone() });
        };
        let outcome =
            serve_client_with_lifecycle(adapter, transport, lifecycle(self.protocol)).await;
        let mut child = self
            .child
            .take()
            .ok_or_else(|| SessionError::Closed { server: self.server.clone() })?;
        let err = match outcome {
            Ok(service) => return Ok(Connection { service, link: Box::new(child) }),
            Err(err) => err,
        };
        // Only a broken connection may mean the server died; any other failure is the
        // handshake's own (and the server may exit only because we then hang up).
        let broken = matches!(
            err,
            ClientInitializeError::ConnectionClosed(_)
                | ClientInitializeError::TransportError { .. }
        );
        let exited = if broken {
            child.exited(&self.server, Duration::from_millis(500)).await
        } else {
            None
        };
        let failure = exited.unwrap_or_else(|| SessionError::Handshake {
            server: self.server.clone(),
            reason: child.fault.get().filter(|_| broken).unwrap_or_else(|| handshake_reason(&err)),
            stderr_tail: child.stderr.text(),
        });
        self.abandon(child).await;
        Err(failure)
    }

    async fn timed_out(mut self, after: Duration) -> SessionError {
        // The handshake is dropped by now, but the server's stdin is still open: an exit seen
        // here is the server's own.
        let Some(mut child) = self.child.take() else {
            return SessionError::Closed { server: self.server };
        };
        let failure = match self.garbage.seen() {
            Some((count, first)) => SessionError::Handshake {
                server: self.server.clone(),
                reason: format!(
                    "no answer to `initialize` within {}, and the server wrote {count} line(s) to stdout \
                     that are not JSON-RPC, the first: {first:?}; an MCP stdio server must write only \
                     JSON-RPC to stdout (logs go to stderr)",
                    humanize(after)
                ),
                stderr_tail: child.stderr.text(),
            },
            None => match child.exited(&self.server, Duration::ZERO).await {
                Some(exited) => exited,
                None => SessionError::Timeout {
                    server: self.server.clone(),
                    operation: "initialize".to_owned(),
                    after,
                },
            },
        };
        self.abandon(child).await;
        failure
    }
}

/// Why a stdio handshake failed, in words that name no library type.
fn handshake_reason(err: &ClientInitializeError) -> String {
    match err {
        ClientInitializeError::ConnectionClosed(_) => {
            "the server closed its stdout before answering `initialize`".to_owned()
        }
        ClientInitializeError::TransportError { error, .. } => {
            format!("writing to the server's stdin failed: {}", error.error)
        }
        ClientInitializeError::JsonRpcError(data) => format!(
            "the server refused `initialize`: {} (JSON-RPC error {})",
            data.message, data.code.0
        ),
        other => describe_init_error(other),
    }
}

/// Copies the server's stderr into `tracing` and the bounded tail.
async fn pump_stderr(pipe: impl AsyncRead + Unpin, tail: StderrTail, server: String) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "mcp_session::server_stderr", server = %server, "{line}");
        tail.push(line);
    }
}

/// A server's stdin, shared by the transport and the connection attempt; `None` once closed.
type Stdin = Arc<tokio::sync::Mutex<Option<ChildStdin>>>;

/// Newline-delimited JSON-RPC over the child's stdin and stdout.
///
/// Lines that are not JSON-RPC are skipped and counted (a server that logs to stdout breaks
/// the protocol; the count makes the resulting error say so). A line over
/// [`MAX_MESSAGE_BYTES`] closes the transport.
struct StdioTransport {
    reader: BufReader<ChildStdout>,
    line: Vec<u8>,
    writer: Stdin,
    garbage: Garbage,
    fault: ReadFault,
    server: String,
}

impl StdioTransport {
    fn new(
        stdout: ChildStdout,
        stdin: ChildStdin,
        garbage: Garbage,
        fault: ReadFault,
        server: String,
    ) -> Self {
        StdioTransport {
            reader: BufReader::new(stdout),
            line: Vec::new(),
            writer: Arc::new(tokio::sync::Mutex::new(Some(stdin))),
            garbage,
            fault,
            server,
        }
    }

    /// Reads the next complete line into `self.line`; `false` at end of stream or on a fault.
    ///
    /// Cancel safe: bytes read so far stay in `self.line`.
    async fn next_line(&mut self) -> bool {
        loop {
            let available = match self.reader.fill_buf().await {
                Ok([]) => return false,
                Ok(available) => available,
                Err(err) => {
                    tracing::warn!(server = %self.server, "reading the server's stdout failed: {err}");
                    self.fault.set(format!("reading the server's stdout failed: {err}"));
                    return false;
                }
            };
            let (chunk, complete) = match available.iter().position(|&b| b == b'\n') {
                Some(end) => (&available[..end], Some(end + 1)),
                None => (available, None),
            };
            self.line.extend_from_slice(chunk);
            let consumed = complete.unwrap_or(available.len());
            self.reader.consume(consumed);
            if self.line.len() > MAX_MESSAGE_BYTES {
                tracing::warn!(
                    server = %self.server,
                    "the server sent a message over {MAX_MESSAGE_BYTES} bytes; closing the session"
                );
                self.fault.set(format!(
                    "the server sent a message over {} MiB, the limit of one message; the session \
                     was closed",
                    MAX_MESSAGE_BYTES / (1024 * 1024)
                ));
                return false;
            }
            if complete.is_some() {
                return true;
            }
        }
    }
}

impl Transport<RoleClient> for StdioTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let writer = self.writer.clone();
        async move {
            let mut bytes = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
            let mut writer = writer.lock().await;
            let stdin = writer.as_mut().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotConnected, "stdin is closed")
            })?;
            stdin.write_all(&bytes).await?;
            stdin.flush().await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            if !self.next_line().await {
                return None;
            }
            let line = std::mem::take(&mut self.line);
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            match serde_json::from_slice(trimmed) {
                Ok(message) => return Some(message),
                Err(err) => {
                    tracing::warn!(
                        server = %self.server,
                        "skipping a stdout line that is not JSON-RPC ({err}): {}",
                        excerpt(trimmed)
                    );
                    self.garbage.record(trimmed);
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // Dropping stdin sends EOF: the MCP spec's first step of stdio shutdown.
        self.writer.lock().await.take();
        Ok(())
    }
}
