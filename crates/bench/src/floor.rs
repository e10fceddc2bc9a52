//! The raw floor: the same exchanges as a cold session and warm calls, written by hand as the
//! fewest bytes MCP allows, over blocking std I/O on one thread. No MCP library, no async
//! runtime, no JSON parsing beyond finding the reply's id, each message written in one system
//! call. What our client takes beyond this is its overhead; what this takes is the bound set by
//! process spawn, the loopback round trip and the server itself.
//!
//! Its calls in flight come from the same one thread: the requests are written ahead, each
//! answer read as it comes and the next request written at once, so that there are always as
//! many in flight as asked, with no threads to switch between and no readiness polling.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Error;
use crate::report;
use crate::servers::Target;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"floor","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

fn call(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hi"}}}}}}"#
    )
}

/// The id of the first warm call; call `i` has id `FIRST + i`.
const FIRST: u64 = 10;

/// The id a reply carries (`"id":N`, as the servers write it), as the index of its warm call.
fn reply_index(reply: &str) -> Result<usize, Error> {
    let (_, rest) = reply.split_once(r#""id":"#).ok_or("a reply without an id")?;
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let id: u64 = rest[..digits].parse().map_err(|_| "a reply whose id is not a number")?;
    id.checked_sub(FIRST).map(|i| i as usize).ok_or_else(|| "a reply to no warm call".into())
}

/// One exchange style: how to open, ask and close.
trait Raw: Sized {
    /// Opens the connection (or spawns the process) and completes `initialize`.
    fn open(target: &Target) -> Result<Self, Error>;
    /// Sends one request and waits for the reply line or event carrying it.
    fn request(&mut self, body: &str) -> Result<(), Error>;
    /// Makes `calls` warm calls, `width` in flight at all times: their latencies, in the order
    /// their answers came.
    fn in_flight(&mut self, calls: usize, width: usize) -> Result<Vec<Duration>, Error>;
    /// Ends the session and waits until it is gone.
    fn close(self) -> Result<(), Error>;
}

/// `n` cold sessions by hand over the target's transport, on a blocking thread.
pub(crate) async fn cold(target: &Target, n: usize) -> Result<[Vec<Duration>; 5], Error> {
    let target = target.clone();
    tokio::task::spawn_blocking(move || match target.transport {
        "stdio" => cold_with::<RawStdio>(&target, n),
        "sse" => cold_with::<RawSse>(&target, n),
        _ => cold_with::<RawHttp>(&target, n),
    })
    .await?
}

/// `calls` calls by hand over the target's transport, on a blocking thread: one at a time, then
/// sixteen in flight, as our client makes them.
pub(crate) async fn warm(target: &Target, calls: usize) -> Result<Value, Error> {
    let target = target.clone();
    let [sequential, in_flight] = tokio::task::spawn_blocking(move || match target.transport {
        "stdio" => warm_with::<RawStdio>(&target, calls),
        "sse" => warm_with::<RawSse>(&target, calls),
        _ => warm_with::<RawHttp>(&target, calls),
    })
    .await??;
    Ok(json!({
        "sequential": report::warm(sequential.0, sequential.1),
        "concurrency_16": report::warm(in_flight.0, in_flight.1),
    }))
}

/// Cold sessions by hand: open → list → call → close, each phase timed.
fn cold_with<R: Raw>(target: &Target, n: usize) -> Result<[Vec<Duration>; 5], Error> {
    let mut phases: [Vec<Duration>; 5] = Default::default();
    R::open(target)?.close()?;
    for _ in 0..n {
        let start = Instant::now();
        let mut raw = R::open(target)?;
        let opened = Instant::now();
        raw.request(LIST)?;
        let listed = Instant::now();
        raw.request(&call(3))?;
        let called = Instant::now();
        raw.close()?;
        report::record(&mut phases, [start, opened, listed, called, Instant::now()]);
    }
    Ok(phases)
}

/// Only the sixteen calls in flight of [`warm`], by hand: the floor of `--profile warm-16`.
pub(crate) async fn in_flight(target: &Target, calls: usize) -> Result<Value, Error> {
    fn with<R: Raw>(target: &Target, calls: usize) -> Result<Measured, Error> {
        let mut raw = R::open(target)?;
        let in_flight = sixteen_in_flight(&mut raw, calls)?;
        raw.close()?;
        Ok(in_flight)
    }
    let target = target.clone();
    let (latencies, rate) = tokio::task::spawn_blocking(move || match target.transport {
        "stdio" => with::<RawStdio>(&target, calls),
        "sse" => with::<RawSse>(&target, calls),
        _ => with::<RawHttp>(&target, calls),
    })
    .await??;
    Ok(json!({ "concurrency_16": report::warm(latencies, rate) }))
}

/// Latencies and the rate of some calls.
type Measured = (Vec<Duration>, f64);

/// `calls` calls over one session by hand, one at a time and then sixteen in flight: the
/// latencies and the rate of each.
fn warm_with<R: Raw>(target: &Target, calls: usize) -> Result<[Measured; 2], Error> {
    let mut raw = R::open(target)?;
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for i in 0..calls {
        let start = Instant::now();
        raw.request(&call(FIRST + i as u64))?;
        latencies.push(start.elapsed());
    }
    let sequential = (latencies, calls as f64 / started.elapsed().as_secs_f64());
    let in_flight = sixteen_in_flight(&mut raw, calls)?;
    raw.close()?;
    Ok([sequential, in_flight])
}

/// `calls` calls over an open session, sixteen in flight: the latencies and the rate.
fn sixteen_in_flight<R: Raw>(raw: &mut R, calls: usize) -> Result<Measured, Error> {
    let started = Instant::now();
    let latencies = raw.in_flight(calls, 16)?;
    Ok((latencies, calls as f64 / started.elapsed().as_secs_f64()))
}

/// Writes call `i` with `write(state, i)` for the first `width` of `calls` calls, then, for each
/// answer `read(state, done)` gives (`done` answers read before it; it returns the index of its
/// call), records its latency and writes the next call: `calls` in all, `width` in flight. The
/// latencies in the order the answers came.
fn keep_in_flight<S>(
    state: &mut S,
    calls: usize,
    width: usize,
    write: impl Fn(&mut S, usize) -> Result<(), Error>,
    read: impl Fn(&mut S, usize) -> Result<usize, Error>,
) -> Result<Vec<Duration>, Error> {
    let mut sent = vec![None; calls];
    let mut latencies = Vec::with_capacity(calls);
    for (i, at) in sent.iter_mut().enumerate().take(width) {
        *at = Some(Instant::now());
        write(state, i)?;
    }
    for next in width..calls + width {
        let answered = read(state, next - width)?;
        let at = sent.get_mut(answered).and_then(Option::take);
        latencies.push(at.ok_or("an answer to a call not in flight")?.elapsed());
        if next < calls {
            sent[next] = Some(Instant::now());
            write(state, next)?;
        }
    }
    Ok(latencies)
}

/// A stdio server process: lines in, lines out.
struct RawStdio {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Raw for RawStdio {
    fn open(target: &Target) -> Result<Self, Error> {
        let (program, args) = target.command.split_first().ok_or("no command")?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut raw = RawStdio { child, stdin, stdout, line: String::new() };
        raw.request(INITIALIZE)?;
        raw.write(INITIALIZED)?;
        Ok(raw)
    }

    fn request(&mut self, body: &str) -> Result<(), Error> {
        self.write(body)?;
        self.read()
    }

    fn in_flight(&mut self, calls: usize, width: usize) -> Result<Vec<Duration>, Error> {
        keep_in_flight(
            self,
            calls,
            width,
            |raw, i| raw.write(&call(FIRST + i as u64)),
            |raw, _| {
                raw.read()?;
                reply_index(&raw.line)
            },
        )
    }

    fn close(mut self) -> Result<(), Error> {
        drop(self.stdin);
        self.child.wait()?;
        Ok(())
    }
}

impl RawStdio {
    /// Writes one message and its newline in one system call.
    fn write(&mut self, body: &str) -> Result<(), Error> {
        self.stdin.write_all(format!("{body}\n").as_bytes())?;
        Ok(())
    }

    /// Reads one reply line.
    fn read(&mut self) -> Result<(), Error> {
        self.line.clear();
        if self.stdout.read_line(&mut self.line)? == 0 {
            return Err("the stdio server closed its stdout".into());
        }
        Ok(())
    }
}

/// A streamable HTTP session over one kept-alive HTTP/1.1 connection.
struct RawHttp {
    stream: BufReader<TcpStream>,
    host: String,
    path: String,
    session: Option<String>,
}

impl RawHttp {
    fn send(&mut self, method: &str, body: &str) -> Result<Response, Error> {
        self.write(method, body)?;
        read_response(&mut self.stream)
    }

    /// Writes one request of the session, without waiting for its response.
    fn write(&mut self, method: &str, body: &str) -> Result<(), Error> {
        let mut headers = vec![
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ];
        if let Some(session) = &self.session {
            headers.push(("Mcp-Session-Id", session));
        }
        write_request(&mut self.stream, method, &self.host, &self.path, &headers, body)
    }

    /// A new connection to the same server, in the same session.
    fn beside(&self) -> Result<Self, Error> {
        Ok(RawHttp {
            stream: connect(&self.host)?,
            host: self.host.clone(),
            path: self.path.clone(),
            session: self.session.clone(),
        })
    }
}

/// Writes one HTTP/1.1 request with a JSON body over a kept-alive connection, in one system
/// call; [`read_response`] reads its response.
fn write_request(
    stream: &mut BufReader<TcpStream>,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(), Error> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.get_mut().write_all(head.as_bytes())?;
    Ok(())
}

/// `requests` POSTs to `url` over one kept-alive connection, by hand, of `bodies` in turn: the
/// time each took. The floor under an LLM turn: the LLM server's own time and the loopback
/// round trip.
pub(crate) async fn posts(
    url: &str,
    bodies: Vec<String>,
    requests: usize,
) -> Result<Vec<Duration>, Error> {
    let (host, path) = split_url(url)?;
    if bodies.is_empty() {
        return Err("no request bodies to post".into());
    }
    tokio::task::spawn_blocking(move || {
        let mut stream = connect(&host)?;
        let mut took = Vec::with_capacity(requests);
        for body in bodies.iter().cycle().take(requests) {
            let start = Instant::now();
            write_request(&mut stream, "POST", &host, &path, &[], body)?;
            let response = read_response(&mut stream)?;
            if response.status != 200 {
                return Err(format!("the server answered {}", response.status).into());
            }
            took.push(start.elapsed());
        }
        Ok(took)
    })
    .await?
}

impl Raw for RawHttp {
    fn open(target: &Target) -> Result<Self, Error> {
        let (host, path) = split_url(&target.url)?;
        let mut raw = RawHttp { stream: connect(&host)?, host, path, session: None };
        let response = raw.send("POST", INITIALIZE)?;
        raw.session = response.session;
        raw.send("POST", INITIALIZED)?;
        Ok(raw)
    }

    fn request(&mut self, body: &str) -> Result<(), Error> {
        answered(self.send("POST", body)?)
    }

    /// A connection of its own for each call in flight (HTTP/1.1 answers one request at a time
    /// on a connection), the answers read in the order the requests went out.
    fn in_flight(&mut self, calls: usize, width: usize) -> Result<Vec<Duration>, Error> {
        let mut connections = (0..width).map(|_| self.beside()).collect::<Result<Vec<_>, _>>()?;
        keep_in_flight(
            &mut connections,
            calls,
            width,
            |connections, i| connections[i % width].write("POST", &call(FIRST + i as u64)),
            |connections, done| {
                answered(read_response(&mut connections[done % width].stream)?)?;
                Ok(done)
            },
        )
    }

    fn close(mut self) -> Result<(), Error> {
        self.send("DELETE", "")?;
        Ok(())
    }
}

/// A legacy HTTP+SSE session: one `GET` event stream for replies, one connection for `POST`s.
struct RawSse {
    events: BufReader<TcpStream>,
    posts: RawHttp,
}

impl Raw for RawSse {
    fn open(target: &Target) -> Result<Self, Error> {
        let (host, path) = split_url(&target.url)?;
        let mut events = connect(&host)?;
        write!(
            events.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        let head = read_head(&mut events)?;
        if head.status != 200 || !head.chunked {
            return Err(format!("the SSE server answered {}", head.status).into());
        }
        let endpoint = next_event(&mut events)?;
        let posts = RawHttp { stream: connect(&host)?, host, path: endpoint, session: None };
        let mut raw = RawSse { events, posts };
        raw.request(INITIALIZE)?;
        raw.posts.send("POST", INITIALIZED)?;
        Ok(raw)
    }

    fn request(&mut self, body: &str) -> Result<(), Error> {
        self.posts.send("POST", body)?;
        next_event(&mut self.events)?;
        Ok(())
    }

    /// A connection of its own for each `POST` in flight, each one's `202` read before it
    /// carries the next; the answers come on the one event stream, in any order.
    fn in_flight(&mut self, calls: usize, width: usize) -> Result<Vec<Duration>, Error> {
        let posts = (0..width).map(|_| self.posts.beside()).collect::<Result<Vec<_>, _>>()?;
        let mut state = (posts, &mut self.events);
        let latencies = keep_in_flight(
            &mut state,
            calls,
            width,
            |(posts, _), i| {
                let post = &mut posts[i % width];
                if i >= width {
                    accepted(read_response(&mut post.stream)?)?;
                }
                post.write("POST", &call(FIRST + i as u64))
            },
            |(_, events), _| reply_index(&next_event(events)?),
        )?;
        for post in state.0.iter_mut().take(calls) {
            accepted(read_response(&mut post.stream)?)?;
        }
        Ok(latencies)
    }

    fn close(self) -> Result<(), Error> {
        // Dropping the event stream ends the session on the server.
        Ok(())
    }
}

/// Whether a streamable HTTP server answered a request.
fn answered(response: Response) -> Result<(), Error> {
    match response.status {
        200 => Ok(()),
        status => Err(format!("the HTTP server answered {status}").into()),
    }
}

/// Whether a legacy SSE server took a `POST`.
fn accepted(response: Response) -> Result<(), Error> {
    match response.status {
        200..=299 => Ok(()),
        status => Err(format!("the SSE server answered a POST with {status}").into()),
    }
}

/// A connection to `host` with Nagle's algorithm off, as every client here needs.
fn connect(host: &str) -> Result<BufReader<TcpStream>, Error> {
    let stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    Ok(BufReader::new(stream))
}

fn split_url(url: &str) -> Result<(String, String), Error> {
    let rest = url.strip_prefix("http://").ok_or("the floor speaks plain http only")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((host.to_owned(), format!("/{path}")))
}

struct Head {
    status: u16,
    chunked: bool,
    length: Option<usize>,
    session: Option<String>,
}

struct Response {
    status: u16,
    session: Option<String>,
}

fn read_head(stream: &mut BufReader<TcpStream>) -> Result<Head, Error> {
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
    let mut head = Head { status, chunked: false, length: None, session: None };
    loop {
        line.clear();
        if stream.read_line(&mut line)? == 0 {
            return Err("the connection closed in the headers".into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => head.length = value.parse().ok(),
            "mcp-session-id" => head.session = Some(value.to_owned()),
            _ => {}
        }
    }
}

/// Reads one response; a chunked event stream is read up to its first `data:` event and then
/// to its end (rmcp ends a request's stream after the reply).
fn read_response(stream: &mut BufReader<TcpStream>) -> Result<Response, Error> {
    let head = read_head(stream)?;
    if head.chunked {
        while read_chunk(stream)? != 0 {}
    } else if let Some(length) = head.length {
        let mut body = vec![0; length];
        stream.read_exact(&mut body)?;
    }
    Ok(Response { status: head.status, session: head.session })
}

/// Reads one chunk of a chunked body; its size (0 at the end).
fn read_chunk(stream: &mut BufReader<TcpStream>) -> Result<usize, Error> {
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let size = usize::from_str_radix(line.trim(), 16).map_err(|_| "bad chunk size")?;
    let mut chunk = vec![0; size + 2];
    stream.read_exact(&mut chunk)?;
    Ok(size)
}

/// Reads the event stream's chunks until one event's `data:` is complete; returns the data.
fn next_event(stream: &mut BufReader<TcpStream>) -> Result<String, Error> {
    let mut pending = String::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim(), 16).map_err(|_| "bad chunk size")?;
        if size == 0 {
            return Err("the event stream ended".into());
        }
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk)?;
        pending.push_str(&String::from_utf8_lossy(&chunk[..size]));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim)
                .collect();
            if !data.is_empty() {
                return Ok(data.join("\n"));
            }
        }
    }
}
