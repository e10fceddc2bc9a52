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
use mcp_sse::decode::ResultDecoder;
use mcp_sse::direct::Direct;
use mcp_sse::encode::encode;
use rmcp::model::{NumberOrString, RequestId};
use rmcp::serve_client_with_lifecycle;
use rmcp::service::{ClientInitializeError, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::{DynamicTransportError, Transport};
use rmcp::{RoleClient, ServiceError};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

use crate::connection::{
    Connect, Connection, DirectWriter, Failed, Link, Unwritten, describe_init_error, lifecycle,
};
use crate::error::{SessionError, humanize};
use crate::handler::Adapter;

/// Largest JSON-RPC message accepted from a server (one line of stdout).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// How many bytes of a server's stderr are kept for error messages.
const STDERR_TAIL_BYTES: usize = 4096;

/// How long an exited server's stderr is waited for, for its last lines: the pipe ends at once
/// unless a process the server left behind holds it.
const STDERR_SETTLE: Duration = Duration::from_millis(200);

/// The last lines a server wrote to stderr, bounded, and whether its stderr has ended.
#[derive(Clone, Default, Debug)]
struct StderrTail(Arc<Tail>);

#[derive(Default, Debug)]
struct Tail {
    lines: Mutex<VecDeque<String>>,
    ended: std::sync::atomic::AtomicBool,
    end: tokio::sync::Notify,
}

impl StderrTail {
    /// The server's stderr has ended (it exited, or closed it).
    fn finish(&self) {
        self.0.ended.store(true, std::sync::atomic::Ordering::Release);
        self.0.end.notify_waiters();
    }

    /// Waits, up to `limit`, until the server's stderr has ended: a server that exits writes
    /// its last words just before, and the task reading them may not have them yet.
    async fn settled(&self, limit: Duration) {
        let ended = self.0.end.notified();
        tokio::pin!(ended);
        ended.as_mut().enable();
        if !self.0.ended.load(std::sync::atomic::Ordering::Acquire) {
            let _ = tokio::time::timeout(limit, ended).await;
        }
    }

    fn push(&self, line: String) {
        let Ok(mut lines) = self.0.lines.lock() else { return };
        lines.push_back(line);
        let mut total: usize = lines.iter().map(|l| l.len() + 1).sum();
        while total > STDERR_TAIL_BYTES && lines.len() > 1 {
            total -= lines.pop_front().map_or(0, |l| l.len() + 1);
        }
    }

    /// The kept lines, or `None` when the server wrote nothing.
    fn text(&self) -> Option<String> {
        let lines = self.0.lines.lock().ok()?;
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
    started: Started,
}

/// The highest numeric request id of which a byte was written to the server's stdin. rmcp
/// numbers a session's requests upwards, so nothing of a request with a higher id reached the
/// server.
#[derive(Clone)]
struct Started(Arc<std::sync::atomic::AtomicI64>);

impl Default for Started {
    fn default() -> Self {
        Started(Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN)))
    }
}

impl Started {
    /// The numeric id of a request message.
    fn id_of(message: &TxJsonRpcMessage<RoleClient>) -> Option<i64> {
        match message {
            rmcp::model::JsonRpcMessage::Request(request) => match request.id {
                NumberOrString::Number(id) => Some(id),
                NumberOrString::String(_) => None,
            },
            _ => None,
        }
    }

    /// Notes that the first bytes of request `id` were written.
    fn note(&self, id: Option<i64>) {
        if let Some(id) = id {
            self.0.fetch_max(id, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// Whether not a byte of request `id` was written.
    fn never_began(&self, id: &NumberOrString) -> bool {
        matches!(id, NumberOrString::Number(id) if *id > self.0.load(std::sync::atomic::Ordering::Acquire))
    }
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
        self.stderr.settled(STDERR_SETTLE).await;
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

    /// A request of which not a byte was written, when the connection failed, never reached
    /// the server: the request was still queued, or the write failed at once.
    fn never_sent(&self, id: &RequestId, err: &ServiceError) -> bool {
        matches!(err, ServiceError::TransportClosed | ServiceError::TransportSend(_))
            && self.started.never_began(id)
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
            source: std::sync::Arc::new(source),
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
    let started = transport.started.clone();
    Ok(Connecting {
        server: server.clone(),
        protocol: config.protocol,
        close_grace: config.timeouts.close_grace,
        adapter: Some(adapter),
        stdin: transport.writer.clone(),
        transport: Some(transport),
        child: Some(Child { guard, stderr, fault, started }),
        garbage,
    })
}

impl Connect for Connecting {
    async fn handshake(&mut self) -> Result<Connection, SessionError> {
        let (Some(adapter), Some(transport)) = (self.adapter.take(), self.transport.take()) else {
            return Err(SessionError::Closed { server: self.server.clone() });
        };
        let writer = transport.direct_writer();
        let outcome =
            serve_client_with_lifecycle(adapter, transport, lifecycle(self.protocol)).await;
        let mut child = self
            .child
            .take()
            .ok_or_else(|| SessionError::Closed { server: self.server.clone() })?;
        let err = match outcome {
            Ok(service) => {
                let link = Box::new(child);
                return Ok(Connection { service, link, writer: Some(Arc::new(writer)) });
            }
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
    tail.finish();
}

/// A server's stdin, shared by the transport and the connection attempt; `None` once closed.
type Stdin = Arc<tokio::sync::Mutex<Option<ChildStdin>>>;

/// Newline-delimited JSON-RPC over the child's stdin and stdout.
struct StdioTransport {
    lines: LineReader<ChildStdout>,
    writer: Stdin,
    started: Started,
    /// Requests written past rmcp's service loop: their answers are taken out as they are read.
    direct: Direct,
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
            lines: LineReader::new(stdout, MAX_MESSAGE_BYTES, garbage, fault, server),
            writer: Arc::new(tokio::sync::Mutex::new(Some(stdin))),
            started: Started::default(),
            direct: Direct::default(),
        }
    }

    /// The writer for requests past rmcp's service loop.
    fn direct_writer(&self) -> StdioWriter {
        StdioWriter {
            stdin: self.writer.clone(),
            decoder: self.lines.decoder.clone(),
            direct: self.direct.clone(),
        }
    }
}

impl Drop for StdioTransport {
    fn drop(&mut self) {
        // rmcp's service has ended: nothing reads the answers of direct requests any more.
        self.direct.close();
    }
}

/// Writes one message as a line to the server's stdin; `on_first_byte` runs once its first
/// bytes are written. On failure, says whether any were.
async fn write_line(
    stdin: &Stdin,
    message: TxJsonRpcMessage<RoleClient>,
    on_first_byte: impl FnOnce(),
) -> Result<(), (bool, std::io::Error)> {
    let mut bytes = encode(message).map_err(|err| (false, std::io::Error::other(err)))?;
    bytes.push(b'\n');
    let mut writer = stdin.lock().await;
    let stdin = writer.as_mut().ok_or_else(|| {
        (false, std::io::Error::new(std::io::ErrorKind::NotConnected, "stdin is closed"))
    })?;
    let mut on_first_byte = Some(on_first_byte);
    let mut written = 0;
    while written < bytes.len() {
        match stdin.write(&bytes[written..]).await {
            Ok(0) => return Err((written > 0, std::io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                if let Some(note) = on_first_byte.take() {
                    note();
                }
                written += n;
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err((written > 0, err)),
        }
    }
    stdin.flush().await.map_err(|err| (true, err))
}

/// The stdio transport's writer for requests past rmcp's service loop: the same stdin, behind
/// the same lock, so that lines never interleave.
struct StdioWriter {
    stdin: Stdin,
    decoder: ResultDecoder,
    direct: Direct,
}

impl DirectWriter for StdioWriter {
    fn requests(&self) -> &Direct {
        &self.direct
    }

    fn write(
        &self,
        message: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, Result<Option<RxJsonRpcMessage<RoleClient>>, Unwritten>> {
        self.decoder.sent(&message);
        let stdin = self.stdin.clone();
        let mut line = Box::pin(async move { write_line(&stdin, message, || ()).await });
        Box::pin(async move {
            // A line cut off part-way would garble every message after it: a write that is
            // not done at once (a full pipe, a lock held) ends in a task of its own, which
            // dropping this future does not stop.
            let written = match futures::poll!(&mut line) {
                std::task::Poll::Ready(written) => written,
                std::task::Poll::Pending => tokio::spawn(line).await.unwrap_or_else(|err| {
                    Err((true, std::io::Error::other(format!("the write to stdin failed: {err}"))))
                }),
            };
            written.map(|()| None).map_err(|(began, err)| Unwritten {
                began,
                err: ServiceError::TransportSend(DynamicTransportError::new::<
                    StdioTransport,
                    RoleClient,
                >(err)),
            })
        })
    }
}

/// The reading half of [`StdioTransport`]: newline-delimited JSON-RPC messages from `R` (the
/// server's stdout).
///
/// Lines that are not JSON-RPC are skipped and counted (a server that logs to stdout breaks
/// the protocol; the count makes the resulting error say so). A line over `limit` bytes
/// ([`MAX_MESSAGE_BYTES`] for servers) ends the stream, with the reason in the [`ReadFault`].
struct LineReader<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    limit: usize,
    garbage: Garbage,
    fault: ReadFault,
    server: String,
    /// Decodes each answer as the result its request expects; shared with the sending half.
    decoder: ResultDecoder,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(reader: R, limit: usize, garbage: Garbage, fault: ReadFault, server: String) -> Self {
        LineReader {
            reader: BufReader::new(reader),
            line: Vec::new(),
            limit,
            garbage,
            fault,
            server,
            decoder: ResultDecoder::default(),
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
            if self.line.len() > self.limit {
                let limit = self.limit;
                tracing::warn!(
                    server = %self.server,
                    "the server sent a message over {limit} bytes; closing the session"
                );
                let shown = if limit.is_multiple_of(1024 * 1024) {
                    format!("{} MiB", limit / (1024 * 1024))
                } else {
                    format!("{limit} bytes")
                };
                self.fault.set(format!(
                    "the server sent a message over {shown}, the limit of one message; the session \
                     was closed"
                ));
                return false;
            }
            if complete.is_some() {
                return true;
            }
        }
    }

    /// The next JSON-RPC message; `None` at end of stream or on a fault. Cancel safe.
    async fn next_message(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            if !self.next_line().await {
                return None;
            }
            let line = std::mem::take(&mut self.line);
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            match self.decoder.decode(trimmed) {
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
}

impl Transport<RoleClient> for StdioTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let writer = self.writer.clone();
        let started = self.started.clone();
        let id = Started::id_of(&item);
        self.lines.decoder.sent(&item);
        async move {
            // Which requests reached the server at all: see `Started`.
            write_line(&writer, item, || started.note(id)).await.map_err(|(_, err)| err)
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let Some(message) = self.lines.next_message().await else {
                self.direct.close();
                return None;
            };
            if let Some(message) = self.direct.offer(message) {
                return Some(message);
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.direct.close();
        // Dropping stdin sends EOF: the MCP spec's first step of stdio shutdown.
        self.writer.lock().await.take();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use proptest::prelude::*;
    use rmcp::RoleClient;
    use rmcp::service::RxJsonRpcMessage;
    use tokio::io::{AsyncRead, ReadBuf};

    use super::{Garbage, LineReader, ReadFault, excerpt};

    /// An in-memory stdout: yields `chunks` one read each (a read takes at most one chunk, and
    /// less when the buffer is smaller), returns `Pending` once before each chunk when
    /// `pending`, and ends with the end of stream, or with an error when `error_at_end`.
    struct Chunks {
        chunks: VecDeque<Vec<u8>>,
        pending: bool,
        pended: bool,
        error_at_end: bool,
    }

    impl Chunks {
        /// `bytes` cut into chunks of the `sizes` (cycled; each at least 1).
        fn new(bytes: &[u8], sizes: &[usize], pending: bool, error_at_end: bool) -> Self {
            let mut chunks = VecDeque::new();
            let mut rest = bytes;
            for &size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
                chunks.push_back(chunk.to_vec());
                rest = tail;
            }
            Chunks { chunks, pending, pended: false, error_at_end }
        }
    }

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let this = &mut *self;
            if this.pending && !this.pended {
                this.pended = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(mut chunk) = this.chunks.pop_front() else {
                return Poll::Ready(if this.error_at_end {
                    Err(std::io::Error::other("the pipe broke"))
                } else {
                    Ok(())
                });
            };
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                this.chunks.push_front(chunk.split_off(n));
            } else {
                this.pended = false;
            }
            Poll::Ready(Ok(()))
        }
    }

    fn reader(chunks: Chunks, limit: usize) -> LineReader<Chunks> {
        LineReader::new(chunks, limit, Garbage::default(), ReadFault::default(), "s".to_owned())
    }

    /// Polls `future` to its end; its only `Pending`s are those of [`Chunks`], which wake at
    /// once, so a future still pending after many polls is a hang.
    fn run<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1_000_000 {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
        panic!("the reader hangs");
    }

    /// Every message `reader` gives; each time a read is `Pending`, the call is dropped
    /// (cancelled) and made anew when the next of `cancels` (cycled) says so.
    fn messages(
        reader: &mut LineReader<Chunks>,
        cancels: &[bool],
    ) -> Vec<RxJsonRpcMessage<RoleClient>> {
        let mut cancels = cancels.iter().copied().chain(std::iter::repeat(false)).cycle();
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        for _ in 0..1_000_000 {
            let mut next = Box::pin(reader.next_message());
            let message = loop {
                match next.as_mut().poll(&mut cx) {
                    Poll::Ready(message) => break Some(message),
                    Poll::Pending if cancels.next() == Some(true) => break None,
                    Poll::Pending => {}
                }
            };
            match message {
                Some(Some(message)) => out.push(message),
                Some(None) => return out,
                None => {} // cancelled: ask again
            }
        }
        panic!("the reader hangs");
    }

    /// The number a generated message carries: its id, or a notification's `params.data`.
    fn number(message: &RxJsonRpcMessage<RoleClient>) -> u64 {
        let value = serde_json::to_value(message).expect("a message serializes");
        value
            .get("id")
            .or_else(|| value.pointer("/params/data"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("no number in {value}"))
    }

    /// Byte strings with some newlines.
    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..max)
            .prop_map(|bytes| bytes.into_iter().map(|b| if b < 28 { b'\n' } else { b }).collect())
    }

    /// Chunk sizes: tiny to larger than most lines.
    fn sizes() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(prop_oneof![1usize..4, 1usize..600], 1..8)
    }

    proptest! {
        /// Any bytes, cut anywhere, give exactly the complete lines of their concatenation
        /// (never the unfinished last one) until a line over the limit, which ends the stream
        /// with the fault set; and messages are exactly the lines that are JSON-RPC, the other
        /// non-blank lines counted as garbage.
        #[test]
        fn prop_stdio_lines_are_the_complete_lines(
            data in bytes(3000),
            sizes in sizes(),
            pending in any::<bool>(),
            limit in prop_oneof![1usize..20, 20usize..400],
        ) {
            let mut segments: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            let tail = segments.pop().unwrap_or_default();
            let oversize = segments.iter().position(|line| line.len() > limit);
            let complete = &segments[..oversize.unwrap_or(segments.len())];
            let faults = oversize.is_some() || tail.len() > limit;

            let mut lines = reader(Chunks::new(&data, &sizes, pending, false), limit);
            let mut got = Vec::new();
            while run(lines.next_line()) {
                got.push(std::mem::take(&mut lines.line));
            }
            prop_assert_eq!(&got, complete);
            prop_assert_eq!(lines.fault.get().is_some(), faults);
            // The fault is final: reading on gives nothing.
            if faults {
                prop_assert!(!run(lines.next_line()));
            }

            let mut messages_reader = reader(Chunks::new(&data, &sizes, pending, false), limit);
            let got = messages(&mut messages_reader, &[]);
            let (mut valid, mut garbage) = (Vec::new(), 0);
            for line in complete.iter().map(|line| line.trim_ascii()).filter(|l| !l.is_empty()) {
                match serde_json::from_slice::<RxJsonRpcMessage<RoleClient>>(line) {
                    Ok(message) => valid.push(serde_json::to_value(message).unwrap()),
                    Err(_) => garbage += 1,
                }
            }
            let got: Vec<_> = got.iter().map(|m| serde_json::to_value(m).unwrap()).collect();
            prop_assert_eq!(got, valid);
            prop_assert_eq!(messages_reader.garbage.seen().map_or(0, |(count, _)| count), garbage);
            prop_assert_eq!(messages_reader.fault.get().is_some(), faults);
        }
    }

    /// One line a server might write.
    #[derive(Clone, Debug)]
    enum Line {
        /// A JSON-RPC message carrying this number, of kind `kind % 4`, padded with blanks
        /// (to the limit itself when `fill`).
        Valid { number: u64, kind: u8, pad: String, fill: bool },
        /// Not JSON-RPC: a log line, other JSON, or a cut message.
        Garbage(Vec<u8>),
        /// Only blanks: skipped, not counted.
        Blank(String),
        /// `by` bytes over the limit: ends the stream.
        Oversize { by: usize, message: bool },
    }

    fn json(number: u64, kind: u8) -> String {
        match kind % 4 {
            0 => format!(r#"{{"jsonrpc":"2.0","id":{number},"result":{{}}}}"#),
            1 => format!(r#"{{"jsonrpc":"2.0","id":{number},"method":"ping"}}"#),
            2 => format!(
                r#"{{"jsonrpc":"2.0","id":{number},"error":{{"code":-32601,"message":"no"}}}}"#
            ),
            _ => format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"info","data":{number}}}}}"#
            ),
        }
    }

    impl Line {
        /// The line's bytes, without the newline.
        fn bytes(&self, limit: usize) -> Vec<u8> {
            match self {
                Line::Valid { number, kind, pad, fill } => {
                    let mut line = format!("{pad}{}", json(*number, *kind)).into_bytes();
                    if *fill {
                        line.resize(limit.max(line.len()), b' ');
                    }
                    line
                }
                Line::Garbage(bytes) => bytes.clone(),
                Line::Blank(blanks) => blanks.clone().into_bytes(),
                Line::Oversize { by, message } => {
                    let mut line =
                        if *message { json(1, 0).into_bytes() } else { b"log:".to_vec() };
                    line.resize(limit.max(line.len()) + by, b' ');
                    line
                }
            }
        }
    }

    /// A request id rmcp accepts (a JSON-RPC number id is an `i64` to it).
    fn id() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..100, 0..=i64::MAX.unsigned_abs()]
    }

    fn line() -> impl Strategy<Value = Line> {
        let blanks = "[ \t\r]{0,4}";
        let garbage = prop_oneof![
            // A log line: never JSON.
            (r"[A-Za-z][ -~]{0,80}", bytes(40)).prop_map(|(text, more)| {
                let mut line = text.into_bytes();
                line.extend(more.into_iter().filter(|&b| b != b'\n'));
                line
            }),
            // JSON that is not JSON-RPC.
            prop_oneof![
                Just(r#"{"hello":"world"}"#.to_owned()),
                Just("[1,2,3]".to_owned()),
                Just("42".to_owned()),
                Just(r#""text""#.to_owned()),
                Just("null".to_owned()),
                Just(r#"{"jsonrpc":"1.0","id":1,"result":{}}"#.to_owned()),
                Just(r#"{"jsonrpc":"2.0","method":7}"#.to_owned()),
            ]
            .prop_map(String::into_bytes),
            // A message cut short.
            (id(), any::<u8>(), any::<prop::sample::Index>()).prop_map(|(n, kind, cut)| {
                let text = json(n, kind);
                text.as_bytes()[..cut.index(text.len())].to_vec()
            }),
        ]
        .prop_filter("garbage is not blank", |line| !line.trim_ascii().is_empty());
        prop_oneof![
            6 => (id(), any::<u8>(), blanks, prop::bool::weighted(0.1))
                .prop_map(|(number, kind, pad, fill)| Line::Valid { number, kind, pad, fill }),
            3 => garbage.prop_map(Line::Garbage),
            1 => blanks.prop_map(Line::Blank),
            1 => (1usize..40, any::<bool>()).prop_map(|(by, message)| Line::Oversize { by, message }),
        ]
    }

    proptest! {
        /// A server's output (JSON-RPC, log lines, other JSON, blank lines, a line over the
        /// limit, an unfinished last line, a read error), cut anywhere and read with calls
        /// cancelled at random: the messages arrive in order, each once; the garbage is
        /// counted; the first line over the limit, or the read error, ends the stream with
        /// the fault set; the unfinished last line is never a message.
        #[test]
        fn prop_stdio_messages_arrive_in_order(
            lines in prop::collection::vec(line(), 0..40),
            tail in prop::option::of((id(), any::<u8>())),
            error_at_end in any::<bool>(),
            sizes in sizes(),
            pending in any::<bool>(),
            cancels in prop::collection::vec(any::<bool>(), 0..16),
            limit in 200usize..400,
        ) {
            let mut data = Vec::new();
            let (mut expected, mut garbage, mut first_garbage, mut oversize) =
                (Vec::new(), 0, None, false);
            for line in &lines {
                let bytes = line.bytes(limit);
                data.extend_from_slice(&bytes);
                data.push(b'\n');
                if oversize {
                    continue;
                }
                match line {
                    Line::Valid { number, .. } => expected.push(*number),
                    Line::Garbage(_) => {
                        garbage += 1;
                        first_garbage.get_or_insert_with(|| excerpt(bytes.trim_ascii()));
                    }
                    Line::Blank(_) => {}
                    Line::Oversize { .. } => oversize = true,
                }
            }
            if let Some((number, kind)) = tail {
                data.extend_from_slice(json(number, kind).as_bytes());
            }

            let mut reader = reader(Chunks::new(&data, &sizes, pending, error_at_end), limit);
            let got: Vec<u64> = messages(&mut reader, &cancels).iter().map(number).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(reader.garbage.seen(), first_garbage.map(|first| (garbage, first)));
            let fault = reader.fault.get();
            prop_assert_eq!(fault.is_some(), oversize || error_at_end, "fault: {:?}", fault);
            if oversize {
                let fault = fault.unwrap_or_default();
                prop_assert!(fault.contains(&format!("over {limit} bytes")), "{}", fault);
            }
        }
    }
}
