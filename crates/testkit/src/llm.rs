//! [`ScriptedLlm`]: an OpenAI-compatible chat completions server on loopback that answers with
//! scripted replies, so agent tests run over real HTTP exactly as against OpenAI.
//!
//! Replies are chosen by matching the request (system message, last message, offered tools)
//! against rules, in the order the rules were added; the queue of [`ScriptedLlm::push`]ed
//! replies is the fallback. Every request is recorded. A reply can also be an HTTP error
//! (429 with `Retry-After`, 500), a slow answer, or garbage.
//!
//! A request with `"stream": true` is answered as OpenAI does: `text/event-stream`, one
//! `data: {chat.completion.chunk}` event per piece (a role chunk; the text word by word; each tool
//! call as its id and name, then its arguments in fragments of [`ARGUMENT_FRAGMENT`] characters;
//! a chunk with the `finish_reason`; with `stream_options.include_usage`, a last chunk with no
//! choices and the `usage`), then `data: [DONE]`. [`Reply::CutStream`] breaks such a stream off
//! and [`Reply::PausedStream`] holds it until the test says so.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// How many characters of a tool call's arguments each streamed fragment holds.
pub const ARGUMENT_FRAGMENT: usize = 5;

/// What the server answers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Reply {
    /// An assistant message with this text.
    Text(String),
    /// An assistant message calling these tools: `(name, arguments)` (arguments as JSON).
    ToolCalls(Vec<(String, Value)>),
    /// An HTTP error in OpenAI's error format, with an optional `Retry-After` in seconds.
    Status {
        /// The status code, such as 429 or 500.
        code: u16,
        /// The `Retry-After` header value, in seconds.
        retry_after: Option<u64>,
    },
    /// `then`, after waiting `delay`.
    Slow {
        /// How long to wait first.
        delay: Duration,
        /// The reply after the wait.
        then: Box<Reply>,
    },
    /// A 200 response whose body is not JSON.
    Garbage,
    /// `then` (a text or tool-call reply), cut off: a stream sends its first `after` events and
    /// then the connection is closed without the stream's end (no terminating chunk, no
    /// `[DONE]`); a non-streamed answer sends half its body.
    CutStream {
        /// How many `data:` events go out before the cut.
        after: usize,
        /// The reply that is cut.
        then: Box<Reply>,
    },
    /// `then` (a text or tool-call reply), paused: a stream sends its first `after` events, then
    /// waits until `resume` is notified before the rest; a non-streamed answer waits first.
    PausedStream {
        /// How many `data:` events go out before the pause.
        after: usize,
        /// What ends the pause (`notify_one` before the pause is kept, so there is no race).
        resume: Arc<Notify>,
        /// The reply that is paused.
        then: Box<Reply>,
    },
}

impl Reply {
    /// An assistant text reply.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text(text.into())
    }

    /// An assistant reply calling one tool.
    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Reply {
        Reply::ToolCalls(vec![(name.into(), arguments)])
    }
}

/// Which requests a rule answers. Every condition given must hold.
#[derive(Clone, Debug, Default)]
pub struct Match {
    system_contains: Option<String>,
    last_message_contains: Option<String>,
    last_role: Option<String>,
    offers_tool: Option<String>,
}

impl Match {
    /// Any request.
    pub fn any() -> Match {
        Match::default()
    }

    /// The system message contains `text`.
    #[must_use]
    pub fn system(mut self, text: impl Into<String>) -> Match {
        self.system_contains = Some(text.into());
        self
    }

    /// The last message's content contains `text`.
    #[must_use]
    pub fn last_message(mut self, text: impl Into<String>) -> Match {
        self.last_message_contains = Some(text.into());
        self
    }

    /// The last message has this role (`user`, `tool`, …).
    #[must_use]
    pub fn last_role(mut self, role: impl Into<String>) -> Match {
        self.last_role = Some(role.into());
        self
    }

    /// The request offers a tool called `name`.
    #[must_use]
    pub fn offers_tool(mut self, name: impl Into<String>) -> Match {
        self.offers_tool = Some(name.into());
        self
    }

    fn matches(&self, request: &Value) -> bool {
        let messages = request["messages"].as_array().cloned().unwrap_or_default();
        let text = |message: &Value| content_text(&message["content"]);
        let system = messages
            .iter()
            .filter(|m| m["role"] == "system")
            .map(text)
            .collect::<Vec<_>>()
            .join("\n");
        let last = messages.last().cloned().unwrap_or_default();
        let offered: Vec<String> = request["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|tool| tool["function"]["name"].as_str().map(str::to_owned))
            .collect();
        self.system_contains.as_ref().is_none_or(|s| system.contains(s.as_str()))
            && self.last_message_contains.as_ref().is_none_or(|s| text(&last).contains(s.as_str()))
            && self.last_role.as_ref().is_none_or(|r| last["role"] == r.as_str())
            && self.offers_tool.as_ref().is_none_or(|t| offered.iter().any(|o| o == t))
    }
}

/// The text of a message's `content` (a string, or an array of text parts).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("")
        }
        _ => String::new(),
    }
}

#[derive(Default)]
struct Script {
    rules: Vec<(Match, Reply, Option<usize>)>,
    queue: VecDeque<Reply>,
    requests: Vec<Value>,
    calls: u64,
}

type Shared = Arc<Mutex<Script>>;

/// The scripted server, serving until dropped.
#[derive(Debug)]
pub struct ScriptedLlm {
    base_url: String,
    script: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("requests", &self.requests.len()).finish_non_exhaustive()
    }
}

impl ScriptedLlm {
    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> ScriptedLlm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("a bound address");
        let script = Shared::default();
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(script.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedLlm { base_url: format!("http://{address}/v1"), script, task }
    }

    /// The base URL to give an OpenAI client, such as `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Answers requests matching `when` with `reply`, every time.
    pub fn when(&self, when: Match, reply: Reply) -> &Self {
        self.lock().rules.push((when, reply, None));
        self
    }

    /// Answers the next `times` requests matching `when` with `reply`.
    pub fn when_times(&self, when: Match, reply: Reply, times: usize) -> &Self {
        self.lock().rules.push((when, reply, Some(times)));
        self
    }

    /// Queues a reply for a request no rule matches.
    pub fn push(&self, reply: Reply) -> &Self {
        self.lock().queue.push_back(reply);
        self
    }

    /// Every request received so far, as JSON.
    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }

    /// For every request received so far, whether it asked for a stream (`"stream": true`).
    pub fn streamed(&self) -> Vec<bool> {
        self.lock().requests.iter().map(|request| request["stream"] == true).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for ScriptedLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn complete(State(script): State<Shared>, Json(request): Json<Value>) -> Response {
    let (reply, call) = {
        let mut script = script.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        script.requests.push(request.clone());
        script.calls += 1;
        let call = script.calls;
        let rule = script
            .rules
            .iter_mut()
            .find(|(when, _, left)| left.is_none_or(|n| n > 0) && when.matches(&request));
        let reply = match rule {
            Some((_, reply, left)) => {
                if let Some(n) = left {
                    *n -= 1;
                }
                Some(reply.clone())
            }
            None => script.queue.pop_front(),
        };
        (reply, call)
    };
    let Some(mut reply) = reply else {
        return error(500, None, "the scripted server has no reply for this request");
    };
    while let Reply::Slow { delay, then } = reply {
        tokio::time::sleep(delay).await;
        reply = *then;
    }
    let model = request["model"].as_str().unwrap_or("scripted").to_owned();
    let stream = request["stream"] == true;
    let usage = request["stream_options"]["include_usage"] == true;
    let (shape, reply) = match reply {
        Reply::CutStream { after, then } => (Shape::Cut(after), *then),
        Reply::PausedStream { after, resume, then } => (Shape::Paused(after, resume), *then),
        other => (Shape::Whole, other),
    };
    let answer = match reply {
        Reply::Text(text) => Answer { model, call, text: Some(text), calls: Vec::new() },
        Reply::ToolCalls(calls) => Answer { model, call, text: None, calls },
        Reply::Status { code, retry_after } => {
            return error(code, retry_after, "scripted failure");
        }
        Reply::Garbage => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "this is not JSON",
            )
                .into_response();
        }
        Reply::Slow { .. } | Reply::CutStream { .. } | Reply::PausedStream { .. } => {
            return error(500, None, "the scripted reply nests a slow, cut or paused reply");
        }
    };
    if stream { answer.streamed(usage, shape) } else { answer.whole(shape).await }
}

/// How an answer goes out.
enum Shape {
    /// All of it.
    Whole,
    /// Its first `n` events (half the body, not streamed), then the connection is cut.
    Cut(usize),
    /// Its first `n` events, then the rest once notified (not streamed: all once notified).
    Paused(usize, Arc<Notify>),
}

fn error(code: u16, retry_after: Option<u64>, message: &str) -> Response {
    let kind = if code == 429 { "rate_limit_exceeded" } else { "server_error" };
    let body = json!({"error": {"message": message, "type": kind, "code": kind, "param": null}});
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// An assistant answer: text or tool calls.
struct Answer {
    model: String,
    call: u64,
    text: Option<String>,
    calls: Vec<(String, Value)>,
}

impl Answer {
    fn id(&self, i: usize) -> String {
        format!("call_{}_{i}", self.call)
    }

    fn finish_reason(&self) -> &'static str {
        if self.calls.is_empty() { "stop" } else { "tool_calls" }
    }

    fn usage() -> Value {
        json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
    }

    /// A `chat.completion`.
    async fn whole(self, shape: Shape) -> Response {
        let tool_calls: Vec<Value> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, (name, arguments))| {
                json!({
                    "id": self.id(i),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments.to_string()},
                })
            })
            .collect();
        let mut message = json!({"role": "assistant", "content": self.text});
        if !tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(tool_calls);
        }
        let body = json!({
            "id": format!("chatcmpl-{}", self.call),
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason(), "logprobs": null}],
            "usage": Answer::usage(),
        });
        match shape {
            Shape::Whole => Json(body).into_response(),
            Shape::Paused(_, resume) => {
                resume.notified().await;
                Json(body).into_response()
            }
            Shape::Cut(_) => {
                let text = body.to_string();
                let half = Bytes::from(text.as_bytes()[..text.len() / 2].to_vec());
                cut_body(vec![half], "application/json")
            }
        }
    }

    /// The `data:` events of a `chat.completion.chunk` stream, `[DONE]` included.
    fn events(&self, include_usage: bool) -> Vec<String> {
        let chunk = |delta: Value, finish: Option<&str>| {
            let mut chunk = json!({
                "id": format!("chatcmpl-{}", self.call),
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
            });
            if include_usage {
                chunk["usage"] = Value::Null;
            }
            chunk
        };
        let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
        if let Some(text) = &self.text {
            for word in text.split_inclusive(' ') {
                chunks.push(chunk(json!({"content": word}), None));
            }
        }
        for (i, (name, arguments)) in self.calls.iter().enumerate() {
            chunks.push(chunk(
                json!({"tool_calls": [{
                    "index": i,
                    "id": self.id(i),
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }]}),
                None,
            ));
            let arguments: Vec<char> = arguments.to_string().chars().collect();
            for fragment in arguments.chunks(ARGUMENT_FRAGMENT) {
                let fragment: String = fragment.iter().collect();
                chunks.push(chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": fragment}}]}),
                    None,
                ));
            }
        }
        chunks.push(chunk(json!({}), Some(self.finish_reason())));
        if include_usage {
            let mut last = chunk(json!({}), None);
            last["choices"] = json!([]);
            last["usage"] = Answer::usage();
            chunks.push(last);
        }
        let mut events: Vec<String> =
            chunks.iter().map(|chunk| format!("data: {chunk}\n\n")).collect();
        events.push("data: [DONE]\n\n".to_owned());
        events
    }

    /// A `text/event-stream` answer.
    fn streamed(self, include_usage: bool, shape: Shape) -> Response {
        let events = self.events(include_usage);
        match shape {
            // One body: the client still reads it event by event.
            Shape::Whole => {
                (StatusCode::OK, [(header::CONTENT_TYPE, "text/event-stream")], events.concat())
                    .into_response()
            }
            Shape::Cut(after) => cut_body(
                events.into_iter().take(after).map(Bytes::from).collect(),
                "text/event-stream",
            ),
            Shape::Paused(after, resume) => {
                let after = after.min(events.len());
                let rest = events[after..].concat();
                let first: Vec<Result<Bytes, std::io::Error>> =
                    events[..after].iter().cloned().map(|event| Ok(Bytes::from(event))).collect();
                let body = futures::stream::iter(first).chain(futures::stream::once(async move {
                    resume.notified().await;
                    Ok(Bytes::from(rest))
                }));
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/event-stream")],
                    Body::from_stream(body),
                )
                    .into_response()
            }
        }
    }
}

/// A 200 answer whose body is `parts` and then a failure: the connection closes without the
/// body's end.
fn cut_body(parts: Vec<Bytes>, content_type: &'static str) -> Response {
    let parts = parts.into_iter().map(Ok::<Bytes, std::io::Error>);
    let cut = futures::stream::once(async {
        // Pending once first, so the server writes out what came before; then the failure,
        // which closes the connection.
        tokio::task::yield_now().await;
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "scripted cut"))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(futures::stream::iter(parts).chain(cut)),
    )
        .into_response()
}
