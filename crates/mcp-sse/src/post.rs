//! The client's own plain-`http://` requests: [`DirectPoster`], its `POST`s, written and read by
//! the task that sends the message, on kept-alive HTTP/1.1 connections of its own; and
//! `open_event_stream`, the event stream's `GET`, whose body the transport's reader task reads
//! straight from the socket (hyper would read it in a connection task of its own and hand each
//! piece over a channel).
//!
//! A legacy SSE `POST` has one shape: a JSON body out, `202 Accepted` (or another status, whose
//! body an error quotes) back, the answer itself arriving on the event stream. Through reqwest
//! such a `POST` cost about 59,000 instructions in our process (docs/benchmarks.md, Profile):
//! reqwest builds a request object, re-parses the URL in its redirect layer, and hands the
//! request to hyper's connection task and the response back, one task hand-off each way. Here
//! the head is formatted once per transport, the request is one `write` on a kept-alive
//! socket, and the response head is parsed with `httparse` as it arrives, in the caller's task.
//!
//! [`DirectPoster::send`] is the same machinery for a caller that writes its own headers and
//! reads the whole response, its body as a stream: mcp-session's streamable HTTP client sends
//! its `POST`s, its `DELETE` and its event streams' `GET`s ([`DirectPoster::get`]) through it
//! (rmcp's transport on top, our connections below).
//!
//! What this does not do, it leaves to reqwest: TLS (`https://` endpoints), proxies (the
//! client is not used when the environment names one), redirects (a `3xx` is sent again through
//! reqwest, which applies its own policy), HTTP/2.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderName,
    HeaderValue, TRANSFER_ENCODING, WWW_AUTHENTICATE,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use url::{Host, Position, Url};

/// Idle connections kept per transport (16 calls in flight open 16; more are closed when done).
const MAX_IDLE: usize = 32;
/// Largest response head read: a `202` is under 200 bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Most of an error response's body kept for its excerpt; a longer body is read no further and
/// its connection closed.
const MAX_BODY: usize = 64 * 1024;
/// The longest the rest of a body nobody reads any more is waited for, before its connection is
/// closed instead of kept (rmcp waits as long for the rest of a stream it is done with).
const FINISH_WAIT: Duration = Duration::from_millis(50);
/// Reads a dropped body's end may take from the socket without waiting, at most (then it goes
/// to a task: [`BodyReader::finish_later`]).
const FINISH_NOW_READS: usize = 2;
/// Most headers a response may carry.
const MAX_HEADERS: usize = 64;
/// Bytes an event stream's socket is read by at most, at once: a tool list of a few KiB takes
/// one read, not one per KiB. A `POST`'s response is read 1 KiB at a time (a `202` is under
/// 200 bytes), and by up to this much once a piece of its body is known to be larger.
const EVENT_READ: usize = 8 * 1024;

/// Plain-HTTP/1.1 requests to one endpoint (`POST`s, and a `DELETE` or an event stream's `GET`),
/// on connections of its own, kept alive between requests.
///
/// For an `http://` URL only, and only when no proxy is named in the environment
/// ([`DirectPoster::new`] says `None` otherwise): TLS, proxies and redirects are reqwest's.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code)]
/// use mcp_sse::post::DirectPoster;
/// use reqwest::header::{ACCEPT, HeaderValue};
///
/// # async fn demo() -> Result<(), mcp_sse::post::SendError> {
/// let url = "http://127.0.0.1:8000/mcp".parse().expect("a URL");
/// let poster = DirectPoster::new(&url, &Default::default()).expect("plain HTTP, no proxy");
/// let mut request = poster.request();
/// request.header(&ACCEPT, &HeaderValue::from_static("application/json"));
/// let response = poster.send(request, br#"{"jsonrpc":"2.0","method":"ping","id":1}"#).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
pub struct DirectPoster {
    /// Where to connect.
    target: Target,
    /// `POST <path> HTTP/1.1`, `Host`, `Content-Type` and the configured headers, each line
    /// ended: the head of every request but its `Content-Length` and `Authorization`.
    head: Vec<u8>,
    /// Shared with the bodies being read, which give their connection back when they end.
    idle: Pool,
    /// How long a connection may take to open; unbounded when `None`.
    connect_timeout: Option<Duration>,
    /// How long a response may go without a byte arriving, once its request is written.
    read_timeout: Option<Duration>,
}

/// Idle connections, to be used again.
type Pool = Arc<Mutex<Vec<Connection>>>;

/// A request's head being made by [`DirectPoster::request`], [`delete`](DirectPoster::delete)
/// or [`get`](DirectPoster::get): the poster's own lines, then those added with
/// [`header`](Self::header).
pub struct Request {
    head: Vec<u8>,
    method: Method,
}

/// The methods a [`DirectPoster`] sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Delete,
    /// An event stream's `GET`: its response lasts as long as the stream, and its connection
    /// is closed with it, never kept for another request.
    Get,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the head: its headers may be secret.
        f.debug_struct("Request").finish_non_exhaustive()
    }
}

impl Request {
    /// Adds the header line `name: value` (typed, so neither can end the line early).
    /// `Content-Length` is written by [`send`](DirectPoster::send), from the body (a `GET` or
    /// `DELETE` with no body has none).
    pub fn header(&mut self, name: &HeaderName, value: &HeaderValue) -> &mut Self {
        header_line(&mut self.head, name.as_str(), value);
        self
    }

    /// Adds every line of `lines`, as [`header`](Self::header) would one by one.
    pub fn lines(&mut self, lines: &HeaderLines) -> &mut Self {
        self.head.extend_from_slice(&lines.0);
        self
    }
}

/// Header lines made once and added to many [`Request`]s ([`Request::lines`]): the headers
/// every request of a session carries, say, without writing each again for every request.
///
/// # Examples
///
/// ```
/// use mcp_sse::post::HeaderLines;
/// use reqwest::header::{ACCEPT, HeaderValue};
///
/// let mut lines = HeaderLines::default();
/// lines.header(&ACCEPT, &HeaderValue::from_static("application/json"));
/// ```
#[derive(Clone, Default)]
pub struct HeaderLines(Vec<u8>);

impl HeaderLines {
    /// Adds the line `name: value`, as [`Request::header`] does.
    pub fn header(&mut self, name: &HeaderName, value: &HeaderValue) -> &mut Self {
        header_line(&mut self.0, name.as_str(), value);
        self
    }
}

impl std::fmt::Debug for HeaderLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the lines: a token may be among them.
        f.debug_struct("HeaderLines").finish_non_exhaustive()
    }
}

/// Why [`DirectPoster::send`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No connection could be made: the request was not sent.
    #[error(transparent)]
    Connect(io::Error),
    /// The request was (maybe) sent, but no response head came back: the connection broke or
    /// went quiet past the read timeout, or what came is not HTTP/1.1.
    #[error(transparent)]
    Exchange(io::Error),
}

/// A response to [`DirectPoster::send`]: its head read, its body not yet.
pub struct Response {
    status: u16,
    /// The head's length: it is the start of the body reader's buffer.
    head_len: usize,
    /// Where the `Content-Type` value is in the head, as parsed.
    content_type: Option<std::ops::Range<usize>>,
    /// The headers as a map, once asked for.
    headers: std::sync::OnceLock<HeaderMap>,
    length: Option<u64>,
    body: BodyReader,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response").field("status", &self.status).finish_non_exhaustive()
    }
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers (those whose name or value HTTP does not allow are left out), as a map
    /// made when first asked for.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| header_map(self.head()))
    }

    /// The value of the first header named `name` (lowercase), without the map: the head's
    /// lines are looked through.
    ///
    /// # Examples
    ///
    /// A response's `Content-Type` is `response.header("content-type")`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let name = name.as_bytes();
        let head = self.head();
        // Past the status line. The head was parsed: a name is followed by its colon.
        let mut rest = &head[memchr::memchr(b'\n', head)? + 1..];
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let line = &rest[..end];
            rest = &rest[end + 1..];
            if line.get(name.len()) == Some(&b':') && line[..name.len()].eq_ignore_ascii_case(name)
            {
                return Some(line[name.len() + 1..].trim_ascii());
            }
        }
        None
    }

    /// The value of the `Content-Type` header, found as the head was parsed: the same as
    /// `header("content-type")`, without looking again.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.content_type.clone().map(|range| &self.body.connection.buffer[range])
    }

    fn head(&self) -> &[u8] {
        &self.body.connection.buffer[..self.head_len]
    }

    /// The body's length, when a `Content-Length` gives it.
    pub fn content_length(&self) -> Option<u64> {
        self.length
    }

    /// The body, its framing undone, in the pieces it arrives in. A body read to its end gives
    /// its connection back to the poster, when it may carry another request.
    pub fn into_body(
        self,
    ) -> std::pin::Pin<Box<dyn futures::Stream<Item = io::Result<bytes::Bytes>> + Send>> {
        self.body.into_stream()
    }
}

impl std::fmt::Debug for DirectPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the head: it holds the configured headers, which may be secret.
        f.debug_struct("DirectPoster").field("target", &self.target).finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Target {
    Address(SocketAddr),
    Name(String, u16),
}

/// A kept-alive connection and the buffer its responses are read into.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// How long a read may wait for a byte; unbounded when `None`.
    read_timeout: Option<Duration>,
    /// The read timeout's timer, made at the first read that waits and kept for every read
    /// after, on every request of the connection (see [`Connection::fill_or_end`]).
    timer: Option<Pin<Box<Sleep>>>,
}

/// A server's answer to a `POST`.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The `WWW-Authenticate` header, as sent.
    pub(crate) www_authenticate: Option<Vec<u8>>,
    /// The body (up to [`MAX_BODY`]), kept when the status is not a success.
    pub(crate) body: Vec<u8>,
}

/// A response's head, parsed.
struct Head {
    status: u16,
    framing: Framing,
    /// Whether the connection may carry another request, as far as the head says.
    reusable: bool,
    www_authenticate: Option<Vec<u8>>,
    /// Where the `Content-Type` value is in the buffer (read only for an event stream, so an
    /// answer to a `POST` allocates nothing for it).
    content_type: Option<std::ops::Range<usize>>,
    /// Its length in the buffer.
    len: usize,
}

/// How a response's body is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

impl DirectPoster {
    /// A poster for `endpoint` whose requests carry `headers`, or `None` when reqwest must send
    /// its `POST`s: an endpoint that is not `http://`, or a proxy named in the environment
    /// (which reqwest would use).
    pub fn new(endpoint: &Url, headers: &HeaderMap) -> Option<DirectPoster> {
        if proxy_in_environment() {
            return None;
        }
        Self::without_proxy(endpoint, headers)
    }

    /// [`new`](Self::new) when no proxy applies.
    fn without_proxy(endpoint: &Url, headers: &HeaderMap) -> Option<DirectPoster> {
        let target = Target::of(endpoint)?;
        let head = request_head("POST", endpoint, (CONTENT_TYPE, "application/json"), headers);
        Some(DirectPoster {
            target,
            head,
            idle: Pool::default(),
            connect_timeout: None,
            read_timeout: None,
        })
    }

    /// Bounds the time a connection may take to open, and the time a response may go without a
    /// byte arriving (as reqwest's `connect_timeout` and `read_timeout`). Both unbounded by
    /// default.
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.connect_timeout = Some(connect);
        self.read_timeout = Some(read);
        self
    }

    /// A new request's head: the request line, `host`, `content-type: application/json` and the
    /// poster's headers.
    pub fn request(&self) -> Request {
        // Room for a session's headers and a call's body, written next.
        let mut head = Vec::with_capacity(self.head.len() + 512);
        head.extend_from_slice(&self.head);
        Request { head, method: Method::Post }
    }

    /// A new `DELETE` request's head, to the same URL: the request line, `host` and the
    /// poster's headers (but its `content-type`).
    pub fn delete(&self) -> Request {
        self.bodiless(Method::Delete, "DELETE")
    }

    /// A new `GET` request's head, to the same URL, for an event stream: the request line,
    /// `host` and the poster's headers (but its `content-type`). The connection its response
    /// comes on is the response's alone: it closes when the body is dropped or ends, and is
    /// never kept for another request.
    pub fn get(&self) -> Request {
        self.bodiless(Method::Get, "GET")
    }

    /// The `POST` head rewritten for `method`, without its `content-type`.
    fn bodiless(&self, method: Method, name: &str) -> Request {
        let line_end = self.head.iter().position(|&b| b == b'\n').map_or(0, |end| end + 1);
        let mut head = Vec::with_capacity(self.head.len());
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(&self.head[b"POST".len()..line_end]);
        for line in self.head[line_end..].split_inclusive(|&b| b == b'\n') {
            if !line.starts_with(b"content-type:") {
                head.extend_from_slice(line);
            }
        }
        Request { head, method }
    }

    /// `POST`s `body` with the head `request`, and reads the response's head.
    ///
    /// A kept-alive connection the server closed while it sat idle is replaced by a new one
    /// once, as in every `POST` here.
    ///
    /// # Errors
    /// [`SendError::Connect`]: no connection could be made, and nothing was sent;
    /// [`SendError::Exchange`]: the connection broke before the response's head, no byte came
    /// within the read timeout, or the server sent something that is not an HTTP/1.1 response.
    pub async fn send(&self, request: Request, body: &[u8]) -> Result<Response, SendError> {
        let method = request.method;
        let request = if body.is_empty() && method != Method::Post {
            let mut head = request.head;
            head.extend_from_slice(b"\r\n");
            head
        } else {
            finish(request.head, body)
        };
        self.on_a_connection(|connection| self.send_on(connection, &request, method)).await
    }

    /// Runs `exchange` on an idle connection; again on a new one when that one turns out to
    /// have been closed by the server while it sat idle (found so when the request cannot be
    /// written or no byte of an answer comes back: the server did not read the request on it,
    /// so sending it again is safe, as curl does); on a new one at once when none is idle.
    async fn on_a_connection<T, F>(
        &self,
        exchange: impl Fn(Connection) -> F,
    ) -> Result<T, SendError>
    where
        F: Future<Output = Result<T, Failed>>,
    {
        if let Some(connection) = self.reuse() {
            match exchange(connection).await {
                Err(Failed { unanswered: true, .. }) => {
                    tracing::debug!("a kept-alive connection was closed by the server; a new one");
                }
                done => return done.map_err(|failed| SendError::Exchange(failed.error)),
            }
        }
        // Boxed: resolving a name and the timer make it large, and most requests find an idle
        // connection.
        let connection = Box::pin(self.connect()).await.map_err(SendError::Connect)?;
        exchange(connection).await.map_err(|failed| SendError::Exchange(failed.error))
    }

    /// [`send`](Self::send) on `connection`.
    async fn send_on(
        &self,
        mut connection: Connection,
        request: &[u8],
        method: Method,
    ) -> Result<Response, Failed> {
        connection.buffer.clear();
        if let Err(error) = connection.stream.write_all(request).await {
            return Err(Failed { unanswered: stale(&error), error });
        }
        let head = connection.read_head().await.map_err(|error| connection.read_failed(error))?;
        let length = match head.framing {
            Framing::Length(length) => Some(length as u64),
            Framing::None => Some(0),
            _ => None,
        };
        let reusable = (head.reusable && method != Method::Get).then(|| self.idle.clone());
        if method == Method::Get {
            // An event stream: from now on, up to `EVENT_READ` bytes at once.
            connection.buffer.reserve(EVENT_READ.saturating_sub(connection.buffer.len()));
        }
        let body = BodyReader { connection, at: head.len, body: head.framing.into(), reusable };
        Ok(Response {
            status: head.status,
            head_len: head.len,
            content_type: head.content_type,
            headers: std::sync::OnceLock::new(),
            length,
            body,
        })
    }

    /// `POST`s `body`, with `authorization` if given, and reads the answer, on a connection as
    /// [`send`](Self::send) finds one.
    ///
    /// # Errors
    /// The connection could not be made, broke, or the server sent something that is not an
    /// HTTP/1.1 response.
    pub(crate) async fn post(
        &self,
        body: &[u8],
        authorization: Option<&HeaderValue>,
    ) -> io::Result<Answer> {
        let mut request = Vec::with_capacity(self.head.len() + body.len() + 64);
        request.extend_from_slice(&self.head);
        if let Some(value) = authorization {
            header_line(&mut request, AUTHORIZATION.as_str(), value);
        }
        let request = finish(request, body);
        self.on_a_connection(|connection| self.exchange(connection, &request)).await.map_err(
            |err| match err {
                SendError::Connect(err) | SendError::Exchange(err) => err,
            },
        )
    }

    /// Sends `request` on `connection` and reads the answer; keeps the connection when it can
    /// carry another.
    async fn exchange(&self, mut connection: Connection, request: &[u8]) -> Result<Answer, Failed> {
        if let Err(error) = connection.stream.write_all(request).await {
            return Err(Failed { unanswered: stale(&error), error });
        }
        let (answer, reusable) =
            connection.read_answer().await.map_err(|error| connection.read_failed(error))?;
        if reusable {
            keep(&self.idle, connection);
        }
        Ok(answer)
    }

    /// An idle connection the server has not closed, if there is one.
    fn reuse(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(connection) = idle.pop() {
            // Readable while idle means the server closed it (or sent what it should not): a
            // live idle connection has nothing to read. Without a readiness event this makes
            // no system call.
            let mut byte = [0; 1];
            match connection.stream.try_read(&mut byte) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Some(connection),
                _ => continue,
            }
        }
        None
    }

    async fn connect(&self) -> io::Result<Connection> {
        let mut connection = within(self.connect_timeout, self.target.connect(), |after| {
            format!("the connection did not open within {after:?}")
        })
        .await?;
        connection.read_timeout = self.read_timeout;
        Ok(connection)
    }
}

impl Target {
    /// Where a plain `http://` URL's requests go; `None` for any other URL.
    fn of(url: &Url) -> Option<Target> {
        if url.scheme() != "http" {
            return None;
        }
        let port = url.port_or_known_default()?;
        Some(match url.host()? {
            Host::Ipv4(ip) => Target::Address(SocketAddr::new(ip.into(), port)),
            Host::Ipv6(ip) => Target::Address(SocketAddr::new(ip.into(), port)),
            Host::Domain(name) => Target::Name(name.to_owned(), port),
        })
    }

    async fn connect(&self) -> io::Result<Connection> {
        let stream = match self {
            Target::Address(address) => TcpStream::connect(address).await?,
            Target::Name(name, port) => TcpStream::connect((name.as_str(), *port)).await?,
        };
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: Vec::with_capacity(1024), read_timeout: None, timer: None })
    }
}

/// What asking for an event stream on a connection of our own gave.
pub(crate) enum Opened {
    /// The stream's body, its framing undone.
    Stream(std::pin::Pin<Box<dyn futures::Stream<Item = io::Result<bytes::Bytes>> + Send>>),
    /// An error status, with its challenge and (the start of) its body.
    Refused(Answer),
    /// A success that is not an event stream, with its content type.
    NotEventStream(String),
    /// Not for us: a URL that is not plain `http://`, a proxy in the environment, a redirect.
    /// Ask through reqwest.
    Elsewhere,
}

/// Opens the event stream at `url` on a connection of our own: `GET` with `Accept:
/// text/event-stream`, `headers` and `authorization`, the answer's head parsed with `httparse`
/// and its body read by the task that polls the stream, without reqwest's and hyper's tasks.
///
/// # Errors
/// The connection could not be made, broke before the answer's head, or the answer is not
/// HTTP/1.1.
pub(crate) async fn open_event_stream(
    url: &Url,
    headers: &HeaderMap,
    authorization: Option<&HeaderValue>,
) -> io::Result<Opened> {
    if proxy_in_environment() {
        return Ok(Opened::Elsewhere);
    }
    let Some(target) = Target::of(url) else { return Ok(Opened::Elsewhere) };
    let mut head = request_head("GET", url, (ACCEPT, "text/event-stream"), headers);
    if let Some(value) = authorization {
        header_line(&mut head, AUTHORIZATION.as_str(), value);
    }
    head.extend_from_slice(b"\r\n");
    let mut connection = target.connect().await?;
    connection.stream.write_all(&head).await?;
    let head = connection.read_head().await?;
    match head.status {
        200..=299 => {}
        300..=399 => return Ok(Opened::Elsewhere),
        status => {
            let mut answer =
                Answer { status, www_authenticate: head.www_authenticate, body: Vec::new() };
            // The body only explains the refusal: what of it arrives.
            let _ = connection.read_body(head.framing, head.len, Some(&mut answer.body)).await;
            return Ok(Opened::Refused(answer));
        }
    }
    let content_type = head
        .content_type
        .map(|at| String::from_utf8_lossy(&connection.buffer[at]).trim().to_owned())
        .unwrap_or_default();
    if !content_type.starts_with("text/event-stream") {
        return Ok(Opened::NotEventStream(content_type));
    }
    // Read into the buffer's spare room: from now on, up to `EVENT_READ` bytes at once.
    connection.buffer.reserve(EVENT_READ.saturating_sub(connection.buffer.len()));
    let reader = BodyReader { connection, at: head.len, body: head.framing.into(), reusable: None };
    Ok(Opened::Stream(reader.into_stream()))
}

impl From<Framing> for Body {
    fn from(framing: Framing) -> Body {
        match framing {
            Framing::None => Body::Length(0),
            Framing::Length(length) => Body::Length(length),
            Framing::Chunked => Body::Chunked { remaining: 0, crlf: false },
            Framing::UntilClose => Body::UntilClose,
        }
    }
}

/// How much of an event stream's body is left.
enum Body {
    /// `remaining` bytes of the current chunk; `crlf`: the chunk's closing CRLF is still due.
    Chunked {
        remaining: usize,
        crlf: bool,
    },
    /// After a chunked body's last chunk: its trailer lines, up to an empty line.
    Trailers,
    Length(usize),
    UntilClose,
}

/// A body being read as a stream: one dropped before its end is finished, when its connection
/// could carry another request: at once when its end was already read or waits in the socket
/// ([`BodyReader::finish_now`]), else in a task ([`BodyReader::finish_later`]).
struct Unread(Option<BodyReader>);

impl Drop for Unread {
    fn drop(&mut self) {
        if let Some(mut reader) = self.0.take().filter(|reader| reader.reusable.is_some()) {
            match reader.finish_now() {
                Ok(true) => reader.release(),
                Ok(false) => reader.finish_later(),
                Err(_) => {}
            }
        }
    }
}

/// Reads a response's body from our own connection, undoing its framing.
struct BodyReader {
    connection: Connection,
    /// Where the unread bytes start in the connection's buffer.
    at: usize,
    body: Body,
    /// Where the connection goes when the body has been read to its end, if it may carry
    /// another request.
    reusable: Option<Pool>,
}

impl BodyReader {
    /// The body as a stream, which ends after an error.
    fn into_stream(
        self,
    ) -> std::pin::Pin<Box<dyn futures::Stream<Item = io::Result<bytes::Bytes>> + Send>> {
        Box::pin(futures::stream::unfold(Unread(Some(self)), |mut unread| async move {
            let reader = unread.0.as_mut()?;
            match reader.next().await {
                Ok(Some(bytes)) => Some((Ok(bytes), unread)),
                Ok(None) => {
                    if let Some(reader) = unread.0.take() {
                        reader.release();
                    }
                    None
                }
                Err(err) => {
                    // After an error the stream ends, and its connection is closed.
                    unread.0 = None;
                    Some((Err(err), unread))
                }
            }
        }))
    }

    /// Reads the rest of the body in a task of its own, for at most [`FINISH_WAIT`] and
    /// [`MAX_BODY`] bytes, and then gives its connection back: a caller that stopped reading a
    /// body it had what it wanted from (rmcp stops at the answer in a `POST`'s event stream,
    /// before the server ends it) would otherwise cost the next request a new connection.
    fn finish_later(mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            let rest = async {
                let mut read = 0;
                while let Some(piece) = self.next().await.ok()? {
                    read += piece.len();
                    if read > MAX_BODY {
                        return None;
                    }
                }
                Some(self)
            };
            if let Ok(Some(reader)) = tokio::time::timeout(FINISH_WAIT, rest).await {
                reader.release();
            }
        });
    }

    /// Gives the connection of a body read to its end back to its poster, when it may carry
    /// another request and nothing past the body arrived on it.
    fn release(self) {
        let Some(pool) = self.reusable else { return };
        if self.at != self.connection.buffer.len() || matches!(self.body, Body::UntilClose) {
            return;
        }
        let mut connection = self.connection;
        connection.buffer.clear();
        keep(&pool, connection);
    }

    /// The next piece of the body; `None` at its end.
    async fn next(&mut self) -> io::Result<Option<bytes::Bytes>> {
        loop {
            match self.step()? {
                Step::Piece(piece) => {
                    return Ok(Some(bytes::Bytes::copy_from_slice(&self.connection.buffer[piece])));
                }
                Step::End => return Ok(None),
                Step::Fill => self.connection.fill().await?,
                Step::FillOrEnd => {
                    if !self.connection.fill_or_end().await? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Reads what is left of the body from what the connection has already received, without
    /// waiting: whether that held its end. A server usually sends the end of a `POST`'s event
    /// stream with its answer, so the connection can go back to its poster at once, not after a
    /// task of its own has read it ([`BodyReader::finish_later`]), which would leave the
    /// caller's next request to find it busy.
    fn finish_buffered(&mut self) -> io::Result<bool> {
        loop {
            match self.step()? {
                Step::Piece(_) => {}
                Step::End => return Ok(true),
                Step::Fill | Step::FillOrEnd => return Ok(false),
            }
        }
    }

    /// Finishes the body from what was read and what the socket holds already, without
    /// waiting; whether it ended. The server often writes a long answer's end (`0\r\n\r\n`)
    /// with it, yet a read can take only part of what was sent (a 5 KB tool list), and the
    /// rest then waits in the socket: read here, the connection is idle for the caller's next
    /// request. A few reads at most: a body still streaming goes to [`Self::finish_later`].
    fn finish_now(&mut self) -> io::Result<bool> {
        for _ in 0..FINISH_NOW_READS {
            if self.finish_buffered()? {
                return Ok(true);
            }
            if !self.connection.try_fill()? {
                return Ok(false);
            }
        }
        self.finish_buffered()
    }

    /// Undoes the body's framing over what the connection's buffer holds: the next piece of the
    /// body in it, its end, or what must be read for either.
    fn step(&mut self) -> io::Result<Step> {
        loop {
            if self.at > 0 && self.at == self.connection.buffer.len() {
                self.connection.buffer.clear();
                self.at = 0;
            }
            let available = self.connection.buffer.len() - self.at;
            match &mut self.body {
                Body::Length(remaining) | Body::Chunked { remaining, .. } if *remaining > 0 => {
                    if available == 0 {
                        // A large piece (a long tool list) in a few reads, not 1 KiB at a time.
                        self.connection.buffer.reserve((*remaining).min(EVENT_READ));
                        return Ok(Step::Fill);
                    }
                    let n = available.min(*remaining);
                    *remaining -= n;
                    if let Body::Chunked { remaining: 0, crlf } = &mut self.body {
                        *crlf = true;
                    }
                    self.at += n;
                    return Ok(Step::Piece(self.at - n..self.at));
                }
                Body::Length(_) => return Ok(Step::End),
                Body::Trailers => match find_line_end(&self.connection.buffer[self.at..]) {
                    Some(0) => {
                        self.at += 2;
                        self.body = Body::Length(0);
                        return Ok(Step::End);
                    }
                    Some(end) => self.at += end + 2,
                    None => return Ok(Step::Fill),
                },
                Body::UntilClose => {
                    if available == 0 {
                        return Ok(Step::FillOrEnd);
                    }
                    self.at += available;
                    return Ok(Step::Piece(self.at - available..self.at));
                }
                Body::Chunked { crlf: crlf @ true, .. } => {
                    if available < 2 {
                        return Ok(Step::Fill);
                    }
                    if &self.connection.buffer[self.at..self.at + 2] != b"\r\n" {
                        return Err(invalid("a chunk not ended by CRLF"));
                    }
                    self.at += 2;
                    *crlf = false;
                }
                Body::Chunked { remaining, .. } => {
                    match httparse::parse_chunk_size(&self.connection.buffer[self.at..]) {
                        Ok(httparse::Status::Complete((used, size))) => {
                            self.at += used;
                            let Ok(size) = usize::try_from(size) else {
                                return Err(invalid("a chunk too large"));
                            };
                            if size == 0 {
                                self.body = Body::Trailers;
                                continue;
                            }
                            *remaining = size;
                        }
                        Ok(httparse::Status::Partial) => return Ok(Step::Fill),
                        Err(_) => return Err(invalid("a malformed chunk size")),
                    }
                }
            }
        }
    }
}

/// What [`BodyReader::step`] found in the connection's buffer.
enum Step {
    /// These bytes of the buffer are the body's next piece.
    Piece(std::ops::Range<usize>),
    /// The body ended.
    End,
    /// More must be read.
    Fill,
    /// More must be read, or the connection's end is the body's.
    FillOrEnd,
}

/// A request that failed on a connection.
struct Failed {
    error: io::Error,
    /// Whether the connection broke before any byte of an answer came back.
    unanswered: bool,
}

/// Puts `connection` with the idle ones, unless [`MAX_IDLE`] are idle already.
fn keep(idle: &Mutex<Vec<Connection>>, connection: Connection) {
    let mut idle = idle.lock().unwrap_or_else(PoisonError::into_inner);
    if idle.len() < MAX_IDLE {
        idle.push(connection);
    }
}

impl Connection {
    /// A failure to read the answer to a request written on this connection: one that came
    /// before any byte of it, as the end of the stream or a reset, means the server had closed
    /// the connection while it sat idle.
    fn read_failed(&self, error: io::Error) -> Failed {
        Failed {
            unanswered: self.buffer.is_empty()
                && (error.kind() == io::ErrorKind::UnexpectedEof || stale(&error)),
            error,
        }
    }

    /// Reads one response; whether the connection may carry another request.
    async fn read_answer(&mut self) -> io::Result<(Answer, bool)> {
        self.buffer.clear();
        let head = self.read_head().await?;
        let mut answer = Answer {
            status: head.status,
            www_authenticate: head.www_authenticate,
            body: Vec::new(),
        };
        let keep = !(200..300).contains(&answer.status);
        let reusable =
            self.read_body(head.framing, head.len, keep.then_some(&mut answer.body)).await?;
        Ok((answer, reusable && head.reusable))
    }

    /// Reads a response's head (after any interim `1xx` ones) into the buffer and parses it.
    async fn read_head(&mut self) -> io::Result<Head> {
        loop {
            match self.parse_head()? {
                Some(head) => return Ok(head),
                None => self.fill().await?,
            }
        }
    }

    /// The head at the start of the buffer, once it is all there (`None` before), past any
    /// interim `1xx` ones. Not `async`: the parser's header slots (2 KiB) would otherwise live
    /// in every future that reads a response.
    fn parse_head(&mut self) -> io::Result<Option<Head>> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            let len = match response.parse(&self.buffer) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if self.buffer.len() < MAX_HEAD => return Ok(None),
                Ok(httparse::Status::Partial) => {
                    return Err(invalid("a response head larger than 64 KiB"));
                }
                Err(err) => return Err(invalid(&format!("a malformed HTTP response ({err})"))),
            };
            let status = response.code.unwrap_or_default();
            if (100..200).contains(&status) {
                // An interim response (`100 Continue`): the real one follows.
                self.buffer.drain(..len);
                continue;
            }
            let (framing, reusable, www_authenticate) = head_facts(&response, status);
            let content_type =
                response.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-type")).map(
                    |h| {
                        // httparse's values are slices of the buffer.
                        let start = h.value.as_ptr() as usize - self.buffer.as_ptr() as usize;
                        start..start + h.value.len()
                    },
                );
            let head = Head { status, framing, reusable, www_authenticate, content_type, len };
            return Ok(Some(head));
        }
    }

    /// Reads the body that starts at `at` in the buffer, into `body` if given (at most
    /// [`MAX_BODY`]); whether the connection may carry another request after it.
    async fn read_body(
        &mut self,
        framing: Framing,
        mut at: usize,
        body: Option<&mut Vec<u8>>,
    ) -> io::Result<bool> {
        match framing {
            Framing::None => {}
            Framing::Length(length) => {
                if length > MAX_BODY {
                    return Ok(false);
                }
                while self.buffer.len() < at + length {
                    self.fill().await?;
                }
                if let Some(body) = body {
                    body.extend_from_slice(&self.buffer[at..at + length]);
                }
                at += length;
            }
            Framing::Chunked => at = self.read_chunks(at, body).await?,
            Framing::UntilClose => {
                while self.buffer.len() - at < MAX_BODY && self.fill_or_end().await? {}
                if let Some(body) = body {
                    body.extend_from_slice(&self.buffer[at..]);
                }
                return Ok(false);
            }
        }
        // Bytes past the response would belong to no request: do not reuse.
        Ok(self.buffer.len() == at)
    }

    /// Reads a chunked body starting at `at` in the buffer, into `body` if given; where it ends.
    async fn read_chunks(
        &mut self,
        mut at: usize,
        mut body: Option<&mut Vec<u8>>,
    ) -> io::Result<usize> {
        let mut total = 0;
        loop {
            let (used, size) = loop {
                match httparse::parse_chunk_size(&self.buffer[at..]) {
                    Ok(httparse::Status::Complete((used, size))) => break (used, size),
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => return Err(invalid("a malformed chunk size")),
                }
            };
            at += used;
            let Ok(size) = usize::try_from(size) else { return Err(invalid("a chunk too large")) };
            total += size;
            if total > MAX_BODY {
                return Err(invalid("a response body larger than 64 KiB"));
            }
            if size == 0 {
                // Trailer lines, then an empty line.
                loop {
                    match find_line_end(&self.buffer[at..]) {
                        Some(0) => return Ok(at + 2),
                        Some(end) => at += end + 2,
                        None => self.fill().await?,
                    }
                }
            }
            while self.buffer.len() < at + size + 2 {
                self.fill().await?;
            }
            if let Some(body) = body.as_deref_mut() {
                body.extend_from_slice(&self.buffer[at..at + size]);
            }
            if &self.buffer[at + size..at + size + 2] != b"\r\n" {
                return Err(invalid("a chunk not ended by CRLF"));
            }
            at += size + 2;
        }
    }

    /// Reads more into the buffer; the end of the stream is an error.
    async fn fill(&mut self) -> io::Result<()> {
        if self.fill_or_end().await? { Ok(()) } else { Err(closed_early()) }
    }

    /// Reads what the socket holds into the buffer, without waiting: whether anything came
    /// (`false` when nothing waits). The connection's end is an error: nothing more will come.
    fn try_fill(&mut self) -> io::Result<bool> {
        self.buffer.reserve(EVENT_READ);
        match self.stream.try_read_buf(&mut self.buffer) {
            Ok(0) => Err(closed_early()),
            Ok(_) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Reads more into the buffer; `false` at the end of the stream. Fails with `TimedOut`
    /// when nothing comes within the read timeout.
    ///
    /// One timer serves every read of the connection. A timer of its own for each read (as
    /// `tokio::time::timeout` makes) is put into the runtime's timer wheel when the read waits
    /// and taken out when it is done: twice for each request (its head, then its answer). This
    /// one is put in once and left there; when it goes off, the read it finds waiting has been
    /// waiting for less than the read timeout, and the timer is moved on to that read's due
    /// time, or the read has waited the whole read timeout, and fails.
    async fn fill_or_end(&mut self) -> io::Result<bool> {
        self.buffer.reserve(1024);
        let Connection { stream, buffer, read_timeout, timer } = self;
        let Some(limit) = *read_timeout else {
            return Ok(stream.read_buf(buffer).await? != 0);
        };
        let due = Instant::now() + limit;
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        let read = stream.read_buf(buffer);
        tokio::pin!(read);
        loop {
            tokio::select! {
                biased;
                read = &mut read => return Ok(read? != 0),
                () = timer.as_mut() => {
                    if Instant::now() >= due {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("the server sent nothing for {limit:?} (read timeout)"),
                        ));
                    }
                    timer.as_mut().reset(due);
                }
            }
        }
    }
}

/// The error of a connection the server closed in the middle of an answer.
fn closed_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection before it finished answering",
    )
}

/// How the body is framed, whether the connection stays open after it, and the challenge.
fn head_facts(
    response: &httparse::Response<'_, '_>,
    status: u16,
) -> (Framing, bool, Option<Vec<u8>>) {
    let mut length = None;
    let mut chunked = false;
    // HTTP/1.1 keeps the connection by default; HTTP/1.0 only when asked.
    let mut reusable = response.version == Some(1);
    let mut www_authenticate = None;
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(value).ok().and_then(|v| v.trim().parse().ok());
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.trim_ascii().to_ascii_lowercase().ends_with(b"chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.windows(5).any(|w| w == b"close") {
                reusable = false;
            } else if value.windows(10).any(|w| w == b"keep-alive") {
                reusable = true;
            }
        } else if header.name.eq_ignore_ascii_case(WWW_AUTHENTICATE.as_str()) {
            www_authenticate = Some(value.to_vec());
        }
    }
    let framing = if status == 204 || status == 304 {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    (framing, reusable, www_authenticate)
}

/// The head of a `method` request to `url`, but its final empty line: the request line, `host`,
/// the `own` header and `headers` (less those this client writes itself), each line ended.
fn request_head(method: &str, url: &Url, own: (HeaderName, &str), headers: &HeaderMap) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(url[Position::BeforePath..Position::AfterQuery].as_bytes());
    // Header names in lower case, as hyper writes them.
    head.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    head.extend_from_slice(url[Position::BeforeHost..Position::AfterPort].as_bytes());
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(own.0.as_str().as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(own.1.as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if [&own.0, &CONTENT_LENGTH, &HOST, &TRANSFER_ENCODING, &CONNECTION].contains(&name) {
            continue;
        }
        header_line(&mut head, name.as_str(), value);
    }
    head
}

fn header_line(out: &mut Vec<u8>, name: &str, value: &HeaderValue) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `head` ended with `Content-Length` and the empty line, then `body`.
fn finish(mut head: Vec<u8>, body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    head.reserve(body.len() + 32);
    // Writing to a `Vec` cannot fail.
    let _ = write!(head, "content-length: {}\r\n\r\n", body.len());
    head.extend_from_slice(body);
    head
}

/// The headers of the response head `head` (already parsed once, so complete).
fn header_map(head: &[u8]) -> HeaderMap {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let mut map = HeaderMap::new();
    if response.parse(head).is_ok() {
        for header in response.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_bytes(header.value),
            ) {
                map.append(name, value);
            }
        }
    }
    map
}

fn find_line_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// `io`, failed with `TimedOut` and the text `said` gives if it takes longer than `limit`.
async fn within<T>(
    limit: Option<Duration>,
    io: impl Future<Output = io::Result<T>>,
    said: impl FnOnce(Duration) -> String,
) -> io::Result<T> {
    match limit {
        None => io.await,
        Some(after) => tokio::time::timeout(after, io)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, said(after)))?,
    }
}

/// A write that failed because the server had closed the connection.
fn stale(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the server sent {what}"))
}

/// Whether the environment names a proxy reqwest would send plain-HTTP requests through.
fn proxy_in_environment() -> bool {
    ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(url: &str, headers: &HeaderMap) -> Option<String> {
        let poster = DirectPoster::without_proxy(&url.parse().unwrap(), headers)?;
        Some(String::from_utf8(poster.head).unwrap())
    }

    #[test]
    fn the_head_names_path_query_and_host_and_leaves_out_what_it_writes_itself() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(HOST, HeaderValue::from_static("elsewhere"));
        let head = head_of("http://127.0.0.1:8000/messages/?session_id=ab", &headers).unwrap();
        assert_eq!(
            head,
            "POST /messages/?session_id=ab HTTP/1.1\r\nhost: 127.0.0.1:8000\r\n\
             content-type: application/json\r\nx-api-key: k\r\n"
        );
        let head = head_of("http://[::1]/m", &HeaderMap::new()).unwrap();
        assert!(head.starts_with("POST /m HTTP/1.1\r\nhost: [::1]\r\n"), "{head}");
    }

    #[test]
    fn a_delete_or_get_has_the_posts_head_but_its_content_type() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        let poster = DirectPoster::without_proxy(
            &"http://127.0.0.1:8000/mcp?a=b".parse().unwrap(),
            &headers,
        )
        .unwrap();
        let head = String::from_utf8(poster.delete().head).unwrap();
        assert_eq!(head, "DELETE /mcp?a=b HTTP/1.1\r\nhost: 127.0.0.1:8000\r\nx-api-key: k\r\n");
        let head = String::from_utf8(poster.get().head).unwrap();
        assert_eq!(head, "GET /mcp?a=b HTTP/1.1\r\nhost: 127.0.0.1:8000\r\nx-api-key: k\r\n");
    }

    #[test]
    fn https_endpoints_are_left_to_reqwest() {
        assert!(head_of("https://127.0.0.1:8443/message", &HeaderMap::new()).is_none());
    }

    #[test]
    fn the_head_is_not_in_debug() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("secret-key"));
        let poster =
            DirectPoster::without_proxy(&"http://127.0.0.1/m".parse().unwrap(), &headers).unwrap();
        assert!(!format!("{poster:?}").contains("secret"));
    }
}
