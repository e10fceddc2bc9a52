//! `testkit-mcp http-fault KIND` and `testkit-mcp sse-fault KIND`: HTTP servers written by hand
//! (HTTP/1.1, one request per connection) that misbehave as `KIND` says. Both bind an ephemeral
//! loopback port and print their URL on stdout.
//!
//! `http-fault` kinds: `401`, `403`, `404`, `405`, `500`, `503` (every request gets that status,
//! 401 with a `WWW-Authenticate` challenge); `call-STATUS` (a working streamable HTTP server
//! until `tools/call`, which gets STATUS); `hang` (accepts and never answers); `reset` (resets
//! the connection of the first request); `call-reset` (resets the connection of `tools/call`);
//! `session-mismatch` (answers after `initialize` carry another `Mcp-Session-Id` than it gave);
//! `session-expired` (every request that carries a session id gets 404).
//!
//! `sse-fault` kinds: `no-endpoint` (an event stream of keep-alives, never an `endpoint`
//! event); `foreign-endpoint` (an endpoint on another origin); `closed-early` (the stream ends
//! right after the `endpoint` event); `closed-mid-call` (a working server whose stream ends when
//! `tools/call` arrives); `hang` (accepts and never answers).

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{answer, is_tool_call};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The session id the streamable HTTP fault server gives in its `initialize` answer.
const SESSION: &str = "fault-session-a";

/// The kinds `testkit-mcp http-fault` takes.
pub const HTTP_KINDS: &[&str] = &[
    "401",
    "403",
    "404",
    "405",
    "500",
    "503",
    "call-401",
    "call-404",
    "call-500",
    "call-503",
    "hang",
    "reset",
    "call-reset",
    "session-mismatch",
    "session-expired",
];

/// The kinds `testkit-mcp sse-fault` takes.
pub const SSE_KINDS: &[&str] =
    &["no-endpoint", "foreign-endpoint", "closed-early", "closed-mid-call", "hang"];

/// One HTTP request, as read off the socket.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Binds an ephemeral loopback port and prints `http://127.0.0.1:PORT{path}` on stdout.
async fn bind(path: &str) -> Result<TcpListener> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}{path}", listener.local_addr()?);
    println!("{url}");
    std::io::stdout().flush()?;
    eprintln!("testkit-mcp: faulty server at {url}");
    Ok(listener)
}

/// Serves the streamable HTTP fault `kind` at `/mcp` until killed.
pub async fn serve_http(kind: &str) -> Result {
    if !HTTP_KINDS.contains(&kind) {
        return Err(format!("unknown http-fault {kind}; known: {}", HTTP_KINDS.join(", ")).into());
    }
    let kind: Arc<str> = kind.into();
    let listener = bind("/mcp").await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        let kind = kind.clone();
        tokio::spawn(async move {
            if &*kind == "hang" {
                return hold(stream).await;
            }
            let Ok(Some(request)) = read_request(&mut stream).await else { return };
            let _ = http_answer(&kind, request, stream).await;
        });
    }
}

async fn http_answer(kind: &str, request: Request, mut stream: TcpStream) -> Result {
    if let Ok(status) = kind.parse::<u16>() {
        return status_reply(&mut stream, status).await;
    }
    if kind == "reset" {
        return reset(stream);
    }
    if kind == "session-expired" && request.header("mcp-session-id").is_some() {
        return status_reply(&mut stream, 404).await;
    }
    match request.method.as_str() {
        "GET" => return reply(&mut stream, 405, &[("Allow", "POST, DELETE")], "").await,
        "DELETE" => return reply(&mut stream, 200, &[], "").await,
        "POST" => {}
        _ => return status_reply(&mut stream, 405).await,
    }
    let message = request.json();
    if is_tool_call(&message) {
        if kind == "call-reset" {
            return reset(stream);
        }
        if let Some(status) = kind.strip_prefix("call-").and_then(|s| s.parse::<u16>().ok()) {
            return status_reply(&mut stream, status).await;
        }
    }
    let session = if kind == "session-mismatch" && message["method"] != "initialize" {
        "fault-session-b"
    } else {
        SESSION
    };
    match answer(&message) {
        Some(reply_body) => {
            let headers = [("Content-Type", "application/json"), ("Mcp-Session-Id", session)];
            reply(&mut stream, 200, &headers, &reply_body.to_string()).await
        }
        None => reply(&mut stream, 202, &[("Mcp-Session-Id", session)], "").await,
    }
}

/// Serves the legacy SSE fault `kind` at `/sse` (messages at `/message`) until killed.
pub async fn serve_sse(kind: &str) -> Result {
    if !SSE_KINDS.contains(&kind) {
        return Err(format!("unknown sse-fault {kind}; known: {}", SSE_KINDS.join(", ")).into());
    }
    let kind: Arc<str> = kind.into();
    let listener = bind("/sse").await?;
    // The open event stream, fed by the POSTs.
    let stream_tx: Arc<Mutex<Option<mpsc::UnboundedSender<String>>>> = Arc::default();
    loop {
        let (mut stream, _) = listener.accept().await?;
        let kind = kind.clone();
        let stream_tx = stream_tx.clone();
        tokio::spawn(async move {
            if &*kind == "hang" {
                return hold(stream).await;
            }
            let Ok(Some(request)) = read_request(&mut stream).await else { return };
            let _ = sse_answer(&kind, request, stream, &stream_tx).await;
        });
    }
}

async fn sse_answer(
    kind: &str,
    request: Request,
    mut stream: TcpStream,
    stream_tx: &Mutex<Option<mpsc::UnboundedSender<String>>>,
) -> Result {
    match (request.method.as_str(), request.path.split('?').next().unwrap_or_default()) {
        ("GET", "/sse") => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                        Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            match kind {
                "no-endpoint" => loop {
                    stream.write_all(b": keep-alive\n\n").await?;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                },
                "foreign-endpoint" => {
                    let event =
                        "event: endpoint\ndata: http://198.51.100.7:9/message?sessionId=x\n\n";
                    stream.write_all(event.as_bytes()).await?;
                    hold(stream).await;
                    Ok(())
                }
                _ => {
                    let event = "event: endpoint\ndata: /message?sessionId=fault\n\n";
                    stream.write_all(event.as_bytes()).await?;
                    if kind == "closed-early" {
                        stream.shutdown().await?;
                        return Ok(());
                    }
                    let (tx, mut rx) = mpsc::unbounded_channel();
                    if let Ok(mut slot) = stream_tx.lock() {
                        *slot = Some(tx);
                    }
                    while let Some(message) = rx.recv().await {
                        let event = format!("event: message\ndata: {message}\n\n");
                        stream.write_all(event.as_bytes()).await?;
                    }
                    stream.shutdown().await?;
                    Ok(())
                }
            }
        }
        ("POST", "/message") => {
            let message = request.json();
            let tx = stream_tx.lock().ok().and_then(|mut slot| {
                if kind == "closed-mid-call" && is_tool_call(&message) {
                    slot.take();
                    None
                } else {
                    slot.clone()
                }
            });
            if let (Some(tx), Some(reply_body)) = (tx, answer(&message)) {
                let _ = tx.send(reply_body.to_string());
            }
            reply(&mut stream, 202, &[], "Accepted").await
        }
        _ => status_reply(&mut stream, 404).await,
    }
}

/// Keeps the connection open, saying nothing, until the peer or the process goes.
async fn hold(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

/// Closes the connection with a TCP reset.
fn reset(stream: TcpStream) -> Result {
    stream.set_zero_linger()?;
    drop(stream);
    Ok(())
}

async fn status_reply(stream: &mut TcpStream, status: u16) -> Result {
    let challenge = [("WWW-Authenticate", r#"Bearer realm="faults""#)];
    let headers: &[(&str, &str)] = if status == 401 { &challenge } else { &[] };
    reply(stream, status, headers, &format!("fault: status {status}, as asked")).await
}

async fn reply(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Result {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Fault");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// Reads one request (headers up to 64 KiB, a `Content-Length` body up to 16 MiB); `None` when
/// the peer closed first.
async fn read_request(stream: &mut TcpStream) -> Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > 64 << 10 {
            return Err("request head over 64 KiB".into());
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut request = Request { method, path, headers, body: buf[end + 4..].to_vec() };
    let length: usize =
        request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0).min(16 << 20);
    while request.body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        request.body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(request))
}
