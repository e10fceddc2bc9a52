//! [`ScriptedLlm`]: an OpenAI-compatible chat completions server on loopback that answers with
//! scripted replies, so agent tests run over real HTTP exactly as against OpenAI.
//!
//! Replies are chosen by matching the request (system message, last message, offered tools)
//! against rules, in the order the rules were added; the queue of [`ScriptedLlm::push`]ed
//! replies is the fallback. Every request is recorded. A reply can also be an HTTP error
//! (429 with `Retry-After`, 500), a slow answer, or garbage.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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
    match reply {
        Reply::Text(text) => answer(&model, call, Some(text), Vec::new(), stream),
        Reply::ToolCalls(calls) => answer(&model, call, None, calls, stream),
        Reply::Status { code, retry_after } => error(code, retry_after, "scripted failure"),
        Reply::Garbage => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "this is not JSON")
                .into_response()
        }
        Reply::Slow { .. } => unreachable!("slow replies are unwrapped above"),
    }
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

fn answer(
    model: &str,
    call: u64,
    text: Option<String>,
    calls: Vec<(String, Value)>,
    stream: bool,
) -> Response {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            json!({
                "id": format!("call_{call}_{i}"),
                "type": "function",
                "function": {"name": name, "arguments": arguments.to_string()},
            })
        })
        .collect();
    let finish = if tool_calls.is_empty() { "stop" } else { "tool_calls" };
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
    if !stream {
        let mut message = json!({"role": "assistant", "content": text});
        if !tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(tool_calls);
        }
        let body = json!({
            "id": format!("chatcmpl-{call}"),
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
            "usage": usage,
        });
        return Json(body).into_response();
    }
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": format!("chatcmpl-{call}"),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    if let Some(text) = text {
        events.push(chunk(json!({"content": text}), None));
    }
    for (i, tool_call) in tool_calls.into_iter().enumerate() {
        let mut tool_call = tool_call;
        tool_call["index"] = json!(i);
        events.push(chunk(json!({"tool_calls": [tool_call]}), None));
    }
    let mut last = chunk(json!({}), Some(finish));
    last["usage"] = usage;
    events.push(last);
    let mut body: String = events.iter().map(|event| format!("data: {event}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}
