//! [`DirectHttp`]: a streamable HTTP session's requests (its `POST`s, its event streams' `GET`s
//! and its `DELETE`) on HTTP/1.1 connections of our own, past reqwest and hyper, for a plain
//! `http://` endpoint.
//!
//! rmcp's transport stays as it is: its worker owns the session (the id, the protocol version
//! header, when to open and resume the standalone `GET` stream, re-initialization), and calls
//! [`StreamableHttpClient`]'s methods for each request. Through reqwest, each `POST` parsed the
//! endpoint's URL again, went through reqwest's redirect and retry layers, and crossed hyper's
//! connection task both ways (docs/benchmarks.md, Profile, item 20). Here the request is written
//! and its response's head read by the worker's own task, with [`mcp_sse::post::DirectPoster`];
//! an event-stream body is read as the worker reads it, straight from the socket. `POST`s share
//! kept-alive connections; a `GET` stream has its connection to itself (item 22).
//!
//! What the response means is decided as rmcp's reqwest client decides it, case by case
//! (`post_message_with_response_limits`, `get_stream_with_max_sse_event_size` and
//! `delete_session` in rmcp 3.11's `common/reqwest/streamable_http_client.rs`): the same
//! statuses, media types, body limits and errors. Left to reqwest: `https://`, a proxy named in
//! the environment, and servers with OAuth.
//!
//! [`StreamableHttpClient`]: rmcp::transport::streamable_http_client::StreamableHttpClient

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt as _};
use mcp_sse::decode::AnswerDecoder;
use mcp_sse::encode::encode_in_place;
use mcp_sse::post::{DirectPoster, HeaderLines, Response, SendError};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, TRANSFER_ENCODING,
    WWW_AUTHENTICATE,
};
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, ErrorData, JsonRpcMessage, RequestId, ServerJsonRpcMessage,
};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, SseError, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use sse_stream::Sse;
use url::Url;

use super::oauth::ClientError;

type Lifted = StreamableHttpError<ClientError>;

/// `Mcp-Session-Id`, as rmcp names it.
static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `Last-Event-ID`, for a resumed stream.
static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";
/// What a request accepts, as rmcp's client asks.
const ACCEPT_BOTH: &str = "text/event-stream, application/json";
/// Headers rmcp reserves for itself (but `MCP-Protocol-Version`, which its worker sets).
const RESERVED: [&str; 3] = ["accept", "mcp-session-id", "last-event-id"];
/// The most of a `Retry-After` value kept, as rmcp keeps.
const MAX_RETRY_AFTER: usize = 128;
const BODY_READ_FAILURE: &str = "<failed to read response body>";
/// The longest a chunked body nobody needs is waited for, as rmcp waits for the rest of a
/// stream it is done with.
const DRAIN_WAIT: Duration = Duration::from_millis(50);
/// The longest a request's event stream is read for an answer that comes first, before rmcp is
/// given the stream ([`answer_first`]).
const FIRST_ANSWER_WAIT: Duration = Duration::from_millis(10);

/// Who reads a request's event stream for its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reader {
    /// rmcp's worker, with no other request of the session in flight: an answer that comes
    /// first is read and decoded on the request's way ([`answer_first`]).
    Worker,
    /// rmcp's worker, with others in flight: the same, in a task of its own, so that sixteen
    /// calls at once are read on all the runtime's threads as rmcp's stream tasks read them.
    BusyWorker,
    /// The caller, which reads the whole stream itself (a direct request, `requests.rs`): the
    /// stream is handed over unread, with no wait of [`FIRST_ANSWER_WAIT`] to arm.
    Caller,
}

/// A streamable HTTP endpoint's requests on our own connections.
pub(crate) struct DirectHttp {
    poster: DirectPoster,
}

impl DirectHttp {
    /// `POST`s to `url`, or `None` when they are reqwest's to send: an `https://` URL, or a
    /// proxy named in the environment. `connect` and `read` bound as reqwest's client's own
    /// timeouts bound its requests.
    pub(crate) fn new(url: &Url, connect: Duration, read: Duration) -> Option<DirectHttp> {
        let poster = DirectPoster::new(url, &HeaderMap::new())?.timeouts(connect, read);
        Some(DirectHttp { poster })
    }

    /// rmcp's `post_message_with_response_limits`, on our connections; `reader` reads an event
    /// stream that answers a request.
    pub(crate) async fn post(
        &self,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
        reader: Reader,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        let mut message = message;
        let sent = Sent { session_id: session_id.as_deref(), auth_token: auth_token.as_deref() };
        self.post_as(&mut message, sent, &custom_headers, limits, reader).await
    }

    /// [`post`](Self::post), its parts borrowed. A `tools/call`'s `_meta` maps are merged in
    /// `message` as it is written ([`encode_in_place`]).
    pub(crate) async fn post_as(
        &self,
        message: &mut ClientJsonRpcMessage,
        sent: Sent<'_>,
        custom_headers: &HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
        reader: Reader,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        let lines = post_lines(sent, custom_headers)?;
        let attached = sent.session_id.is_some();
        self.post_with(message, &lines, attached, limits, reader).await
    }

    /// [`post_as`](Self::post_as) with the request's headers made before ([`post_lines`]),
    /// as a session's requests past rmcp share them; `attached` says whether they name a
    /// session.
    pub(crate) async fn post_with(
        &self,
        message: &mut ClientJsonRpcMessage,
        lines: &HeaderLines,
        attached: bool,
        limits: StreamableHttpResponseLimits,
        reader: Reader,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        let mut request = self.poster.request();
        request.lines(lines);
        let body = encode_in_place(message).map_err(StreamableHttpError::Deserialize)?;
        let response = self.poster.send(request, &body).await.map_err(send_error)?;
        answer(response, message, attached, limits, reader).await
    }
}

/// The headers of a `POST` sent with `sent` and `custom_headers`, as rmcp's client sends them.
///
/// # Errors
/// A header rmcp reserves for itself among `custom_headers`, or a session id or token that
/// cannot be a header's value.
pub(crate) fn post_lines(
    sent: Sent<'_>,
    custom_headers: &HashMap<HeaderName, HeaderValue>,
) -> Result<HeaderLines, Lifted> {
    let mut lines = HeaderLines::default();
    lines.header(&ACCEPT, &HeaderValue::from_static(ACCEPT_BOTH));
    add_headers(&mut lines, sent.auth_token, custom_headers)?;
    if let Some(id) = sent.session_id {
        lines.header(&SESSION_ID, &header_value(id)?);
    }
    Ok(lines)
}

/// The session and token a request is sent with.
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub(crate) session_id: Option<&'a str>,
    pub(crate) auth_token: Option<&'a str>,
}

impl DirectHttp {
    /// rmcp's `delete_session`, on our connections: a `405` means the server keeps no sessions
    /// to end, and is no error.
    pub(crate) async fn delete(
        &self,
        session_id: &str,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Lifted> {
        let mut lines = HeaderLines::default();
        add_headers(&mut lines, auth_token.as_deref(), &custom_headers)?;
        lines.header(&SESSION_ID, &header_value(session_id)?);
        let mut request = self.poster.delete();
        request.lines(&lines);
        let response = self.poster.send(request, b"").await.map_err(send_error)?;
        let status = response.status();
        drain(response).await;
        match status {
            200..=299 => Ok(()),
            405 => {
                tracing::debug!("this server doesn't support deleting session");
                Ok(())
            }
            _ => Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "HTTP {status} {} to DELETE",
                reason(status)
            )))),
        }
    }
}

impl DirectHttp {
    /// rmcp's `get_stream_with_max_sse_event_size`, on a connection of our own: the session's
    /// standalone event stream, or a resumed one (`last_event_id`). The connection is the
    /// stream's alone, closed when rmcp drops it; its reads are bounded by the read timeout, as
    /// reqwest bounds them.
    pub(crate) async fn get(
        &self,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<EventStream, Lifted> {
        let mut lines = HeaderLines::default();
        lines.header(&ACCEPT, &HeaderValue::from_static(ACCEPT_BOTH));
        if let Some(id) = &session_id {
            lines.header(&SESSION_ID, &header_value(id)?);
        }
        if let Some(id) = &last_event_id {
            lines.header(&LAST_EVENT_ID, &header_value(id)?);
        }
        add_headers(&mut lines, auth_token.as_deref(), &custom_headers)?;
        let mut request = self.poster.get();
        request.lines(&lines);
        let response = self.poster.send(request, b"").await.map_err(send_error)?;
        let status = response.status();
        if status == 405 {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(refused) = refused_token(status, &response) {
            return Err(refused);
        }
        if let Some(error) = http_status_error(status, &response) {
            return Err(error.into());
        }
        if status >= 400 {
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "HTTP {status} {} to the event stream's GET",
                reason(status)
            ))));
        }
        match response.content_type() {
            Some(ct)
                if [EVENT_STREAM, JSON]
                    .iter()
                    .any(|expected| media_type_is(&String::from_utf8_lossy(ct), expected)) => {}
            other => {
                let shown = other.map(|ct| String::from_utf8_lossy(ct).into_owned());
                return Err(StreamableHttpError::UnexpectedContentType(shown));
            }
        }
        Ok(events(response, max_sse_event_size))
    }
}

/// What rmcp reads an event stream as.
pub(crate) type EventStream = BoxStream<'static, Result<Sse, SseError>>;

/// `response`'s body as events, each bounded to `max` bytes.
fn events(response: Response, max: usize) -> EventStream {
    super::events::events(EventSizeLimit::new(response.into_body(), max)).boxed()
}

/// The bearer token and the custom headers (rmcp's worker sets `MCP-Protocol-Version` there); a
/// header rmcp reserves for itself is refused, as rmcp refuses it.
fn add_headers(
    request: &mut HeaderLines,
    auth_token: Option<&str>,
    custom_headers: &HashMap<HeaderName, HeaderValue>,
) -> Result<(), Lifted> {
    if let Some(token) = auth_token {
        let mut value = header_value(&format!("Bearer {token}"))?;
        value.set_sensitive(true);
        request.header(&AUTHORIZATION, &value);
    }
    for (name, value) in custom_headers {
        if RESERVED.contains(&name.as_str()) {
            return Err(StreamableHttpError::ReservedHeaderConflict(name.to_string()));
        }
        request.header(name, value);
    }
    Ok(())
}

/// `text` as a header's value; a session id or token with a line break or a control character
/// is refused (as reqwest refuses it), not written.
fn header_value(text: &str) -> Result<HeaderValue, Lifted> {
    HeaderValue::from_str(text).map_err(|_| {
        io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a session id or token that is not a valid HTTP header value",
        ))
    })
}

fn send_error(err: SendError) -> Lifted {
    StreamableHttpError::Client(match err {
        SendError::Connect(err) => ClientError::Connect(err),
        SendError::Exchange(err) => ClientError::Io(err),
        other => ClientError::Io(io::Error::other(other)),
    })
}

fn io_error(err: io::Error) -> Lifted {
    StreamableHttpError::Client(ClientError::Io(err))
}

/// What `response` to `message` means, as rmcp's reqwest client reads it.
async fn answer(
    response: Response,
    message: &ClientJsonRpcMessage,
    session_was_attached: bool,
    limits: StreamableHttpResponseLimits,
    reader: Reader,
) -> Result<StreamableHttpPostResponse, Lifted> {
    let status = response.status();
    if let Some(refused) = refused_token(status, &response) {
        return Err(refused);
    }
    let awaits_no_response = matches!(
        message,
        JsonRpcMessage::Notification(_) | JsonRpcMessage::Response(_) | JsonRpcMessage::Error(_)
    );
    if matches!(status, 202 | 204) {
        drain(response).await;
        return Ok(StreamableHttpPostResponse::Accepted);
    }
    if status == 404 && session_was_attached {
        return Err(StreamableHttpError::SessionExpired);
    }
    let content_type = response.content_type().map(|v| String::from_utf8_lossy(v).into_owned());
    let is_json = content_type.as_deref().is_some_and(|ct| media_type_is(ct, JSON));
    // Rate limits and failures that are not JSON end here; a JSON one may carry a JSON-RPC error.
    let status_error = match http_status_error(status, &response) {
        Some(error) if !is_json || status == 429 => return Err(error.into()),
        error => error,
    };
    // The caller of a direct request knows its session, and reads no id from the answer.
    let session_id = (reader != Reader::Caller)
        .then(|| response.value(SESSION_ID.as_str()))
        .flatten()
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned);
    let length = response.content_length();
    if (200..300).contains(&status) && length == Some(0) && awaits_no_response {
        drain(response).await;
        return Ok(StreamableHttpPostResponse::Accepted);
    }
    if !(200..300).contains(&status) {
        let auth_failure = matches!(status, 401 | 403);
        let body = if is_json && !auth_failure {
            match bounded(response, limits.max_json_response_size).await {
                Ok(raw) => {
                    let full = String::from_utf8_lossy(&raw).into_owned();
                    if let Ok(error @ JsonRpcMessage::Error(_)) =
                        serde_json::from_str::<ServerJsonRpcMessage>(&full)
                    {
                        if let Some(response) =
                            discover_rejected(message, session_was_attached, status, &full)
                        {
                            return Ok(response);
                        }
                        return Ok(StreamableHttpPostResponse::Json(error, session_id));
                    }
                    tracing::warn!("HTTP {status}: could not parse JSON body as a JSON-RPC error");
                    truncate(full, limits.max_error_response_size)
                }
                Err(Bounded::TooLarge) => {
                    return Err(status_error.map(Into::into).unwrap_or(
                        StreamableHttpError::ResponseBodyTooLarge {
                            max_size: limits.max_json_response_size,
                        },
                    ));
                }
                Err(Bounded::Failed(_)) => read_failure(limits.max_error_response_size),
            }
        } else {
            match prefix(response, limits.max_error_response_size).await {
                Ok(prefix) => String::from_utf8_lossy(&prefix).into_owned(),
                Err(_) => read_failure(limits.max_error_response_size),
            }
        };
        if let Some(response) = discover_rejected(message, session_was_attached, status, &body) {
            return Ok(response);
        }
        if let Some(error) = status_error {
            return Err(error.into());
        }
        return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
            "HTTP {status} {}: {body}",
            reason(status)
        ))));
    }
    match content_type.as_deref() {
        Some(ct) if media_type_is(ct, EVENT_STREAM) => {
            let events = events(response, limits.max_sse_event_size);
            // A stream that answers no request has no answer to look for, and the caller of a
            // direct request reads its stream itself.
            let request = match message {
                JsonRpcMessage::Request(request) if reader != Reader::Caller => request,
                _ => return Ok(StreamableHttpPostResponse::Sse(events, session_id)),
            };
            let decoder = AnswerDecoder::new(message);
            let first = answer_first(events, decoder, request.id.clone(), session_id);
            if reader == Reader::Worker {
                return Ok(first.await);
            }
            // rmcp polls every `POST` of a session in its worker's one task: with others in
            // flight, reading and decoding here would take turns with theirs, where rmcp reads
            // each stream in a task of its own.
            tokio::spawn(first).await.map_err(StreamableHttpError::TokioJoinError)
        }
        Some(ct) if media_type_is(ct, JSON) => {
            let body = match bounded(response, limits.max_json_response_size).await {
                Ok(body) => body,
                Err(Bounded::TooLarge) => {
                    return Err(StreamableHttpError::ResponseBodyTooLarge {
                        max_size: limits.max_json_response_size,
                    });
                }
                Err(Bounded::Failed(err)) => return Err(io_error(err)),
            };
            match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, session_id)),
                Err(err) if awaits_no_response => {
                    tracing::warn!(
                        "the JSON answer to a notification is not a JSON-RPC message, taken as accepted: {err}"
                    );
                    Ok(StreamableHttpPostResponse::Accepted)
                }
                Err(err) => {
                    Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                        "the server's JSON answer is not a JSON-RPC message ({err}): {}",
                        preview(&body)
                    ))))
                }
            }
        }
        _ if awaits_no_response => {
            tracing::warn!(
                "ignoring unexpected content type {content_type:?} on a POST that awaits no response"
            );
            drain(response).await;
            Ok(StreamableHttpPostResponse::Accepted)
        }
        _ => Err(StreamableHttpError::UnexpectedContentType(content_type)),
    }
}

/// A `401` or `403` with a challenge, as rmcp's error for it.
fn refused_token(status: u16, headers: &impl Headers) -> Option<Lifted> {
    if !matches!(status, 401 | 403) {
        return None;
    }
    let challenge = headers.value(WWW_AUTHENTICATE.as_str())?;
    let Some(challenge) = std::str::from_utf8(challenge)
        .ok()
        .filter(|text| text.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
    else {
        return Some(StreamableHttpError::UnexpectedServerResponse(Cow::from(
            "invalid www-authenticate header value",
        )));
    };
    Some(if status == 401 {
        StreamableHttpError::AuthRequired(AuthRequiredError::new(challenge.to_owned()))
    } else {
        StreamableHttpError::InsufficientScope(InsufficientScopeError::new(
            challenge.to_owned(),
            scope_of(challenge),
        ))
    })
}

/// A request's event stream as rmcp's worker reads it, or the answer it starts with.
///
/// rmcp reads a `POST`'s event stream in a task of its own, decodes each message through its
/// untagged `ServerResult` (about 45,000 instructions for a tool's answer; docs/benchmarks.md,
/// Profile, item 4) and hands it to its worker over a channel. When the stream's first message
/// is the answer to the request, the usual case (a tool that sends no progress or request of
/// its own first), it is decoded here as the result its request expects
/// ([`AnswerDecoder`], which falls back to rmcp's general decoding, so task and input-required
/// results still decode), and given to rmcp as a JSON answer, as from a server that answers
/// with JSON. Anything else first (a notification, the server's request, a control event), or
/// no message within [`FIRST_ANSWER_WAIT`], and rmcp gets the stream with the events read so
/// far put back in front: a slow call then stops counting among rmcp's concurrent `POST`s
/// (`max_concurrent_requests`) once its stream is open, as before. `decoder` knows the request.
async fn answer_first(
    mut events: EventStream,
    decoder: AnswerDecoder,
    id: RequestId,
    session_id: Option<String>,
) -> StreamableHttpPostResponse {
    let mut read = Vec::new();
    let deadline = tokio::time::sleep(FIRST_ANSWER_WAIT);
    tokio::pin!(deadline);
    loop {
        let event = tokio::select! {
            biased;
            event = events.next() => event,
            () = &mut deadline => break,
        };
        let Some(event) = event else { break };
        let data = message_data(&event);
        if let Some(data) = data.filter(|data| !data.is_empty())
            && let Ok(answer) = decoder.decode(data.as_bytes())
            && answers(&answer, &id)
        {
            return StreamableHttpPostResponse::Json(answer, session_id);
        }
        // A priming event (an id to resume from, no message) may come before the answer;
        // anything else ends the look.
        let primes = data == Some("");
        read.push(event);
        if !primes {
            break;
        }
    }
    StreamableHttpPostResponse::Sse(futures::stream::iter(read).chain(events).boxed(), session_id)
}

/// The message an event carries, as rmcp reads a stream: the trimmed data of a `message` event
/// (empty for one with none); `None` for another kind of event, or an error.
fn message_data(event: &Result<Sse, SseError>) -> Option<&str> {
    event.as_ref().ok().and_then(event_data)
}

/// [`message_data`] of an event read.
pub(super) fn event_data(sse: &Sse) -> Option<&str> {
    matches!(sse.event.as_deref(), None | Some("" | "message"))
        .then(|| sse.data.as_deref().unwrap_or_default().trim())
}

/// Whether `message` is the result of, or the error for, the request `id`.
pub(super) fn answers(message: &ServerJsonRpcMessage, id: &RequestId) -> bool {
    match message {
        JsonRpcMessage::Response(response) => response.id == *id,
        JsonRpcMessage::Error(error) => error.id.as_ref() == Some(id),
        _ => false,
    }
}

/// A sessionless `server/discover` refused with a client error: the error the lifecycle can
/// classify, with the request's id (rmcp's `legacy_discover_response`).
fn discover_rejected(
    message: &ClientJsonRpcMessage,
    session_was_attached: bool,
    status: u16,
    body: &str,
) -> Option<StreamableHttpPostResponse> {
    if session_was_attached || !(400..500).contains(&status) || matches!(status, 401 | 403) {
        return None;
    }
    let JsonRpcMessage::Request(request) = message else { return None };
    if !matches!(request.request, ClientRequest::DiscoverRequest(_)) {
        return None;
    }
    let error = match serde_json::from_str::<ServerJsonRpcMessage>(body) {
        Ok(JsonRpcMessage::Error(error)) => error.error,
        _ => ErrorData::invalid_request(
            format!("server/discover rejected with HTTP {status} {}: {body}", reason(status)),
            None,
        ),
    };
    Some(StreamableHttpPostResponse::Json(
        ServerJsonRpcMessage::error(error, Some(request.id.clone())),
        None,
    ))
}

/// Status and `Retry-After` of a `429` or `5xx`, as rmcp keeps them.
fn http_status_error(status: u16, headers: &impl Headers) -> Option<HttpStatusError> {
    if status != 429 && !(500..600).contains(&status) {
        return None;
    }
    let retry_after = headers
        .value(RETRY_AFTER.as_str())
        .filter(|value| value.len() <= MAX_RETRY_AFTER)
        .and_then(|value| std::str::from_utf8(value).ok())
        .map(str::to_owned);
    Some(HttpStatusError::new(status, retry_after))
}

/// The `scope` parameter of a `WWW-Authenticate` challenge, as rmcp finds it.
fn scope_of(challenge: &str) -> Option<String> {
    const KEY: &str = "scope=";
    let at = challenge.to_ascii_lowercase().find(KEY)?;
    let rest = &challenge[at + KEY.len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => {
            &rest[..rest
                .find(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .unwrap_or(rest.len())]
        }
    };
    (!value.is_empty() || rest.starts_with('"')).then(|| value.to_owned())
}

/// A response's headers, looked up by their lowercase name.
trait Headers {
    fn value(&self, name: &str) -> Option<&[u8]>;
}

/// Looked up in the head as it came, without a map.
impl Headers for Response {
    fn value(&self, name: &str) -> Option<&[u8]> {
        self.header(name)
    }
}

/// For the unit tests, which have no response to look in.
#[cfg(test)]
impl Headers for HeaderMap {
    fn value(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(HeaderValue::as_bytes)
    }
}

/// Whether a `Content-Type` value's media type (its parameters aside) is `expected`.
fn media_type_is(value: &str, expected: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim_matches([' ', '\t']).eq_ignore_ascii_case(expected))
}

/// The reason phrase reqwest's `StatusCode` shows after the number.
fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

fn read_failure(max: usize) -> String {
    BODY_READ_FAILURE[..BODY_READ_FAILURE.len().min(max)].to_owned()
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The start of a body that is not the JSON expected, for an error.
fn preview(body: &[u8]) -> String {
    truncate(String::from_utf8_lossy(body).into_owned(), 200)
}

enum Bounded {
    TooLarge,
    Failed(io::Error),
}

/// The whole body, if it is at most `max` bytes.
async fn bounded(response: Response, max: usize) -> Result<Vec<u8>, Bounded> {
    if response.content_length().is_some_and(|length| length > max as u64) {
        return Err(Bounded::TooLarge);
    }
    let mut body = response.into_body();
    let mut all = Vec::new();
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(Bounded::Failed)?;
        if piece.len() > max - all.len() {
            return Err(Bounded::TooLarge);
        }
        all.extend_from_slice(&piece);
    }
    Ok(all)
}

/// At most `max` bytes of the body, for a diagnostic; the rest is not read.
async fn prefix(response: Response, max: usize) -> io::Result<Vec<u8>> {
    let mut body = response.into_body();
    let mut kept = Vec::new();
    while kept.len() < max {
        let Some(piece) = body.next().await else { break };
        let piece = piece?;
        kept.extend_from_slice(&piece[..piece.len().min(max - kept.len())]);
    }
    Ok(kept)
}

/// Reads a body nobody needs to its end, so that its connection can carry the next request: one
/// of a known length up to a few KiB (a `202`'s is empty), or a chunked one that ends within
/// [`DRAIN_WAIT`] (Node's servers send a `202` as an empty chunked body). Any other is left
/// unread and its connection closed: waiting for it could hold the caller up.
async fn drain(response: Response) {
    const MAX: usize = 4 * 1024;
    match response.content_length() {
        Some(length) if length <= MAX as u64 => drop(prefix(response, MAX).await),
        Some(_) => {}
        None if response.header(TRANSFER_ENCODING.as_str()).is_some() => {
            let _ = tokio::time::timeout(DRAIN_WAIT, prefix(response, MAX)).await;
        }
        None => {}
    }
}

/// A byte stream that fails once an event of the event stream it carries grows past `max`
/// bytes: the raw lines of the event but comments, each with its line end, as rmcp's own
/// limiter counts them.
struct EventSizeLimit<S> {
    inner: S,
    max: usize,
    /// Bytes of the event so far, in lines that ended.
    event: usize,
    /// Bytes of the line being received.
    line: usize,
    /// Whether the line being received is a comment (`None` before its first byte).
    comment: Option<bool>,
    /// A `\r` ended the last chunk: a `\n` first in the next one belongs to it.
    after_cr: bool,
    failed: bool,
}

impl<S> EventSizeLimit<S> {
    fn new(inner: S, max: usize) -> Self {
        EventSizeLimit {
            inner,
            max,
            event: 0,
            line: 0,
            comment: None,
            after_cr: false,
            failed: false,
        }
    }

    /// Counts `bytes`; whether the event stays within the limit.
    fn measure(&mut self, bytes: &[u8]) -> bool {
        let mut rest = bytes;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            self.add(&rest[..end]);
            if self.line == 0 {
                self.event = 0;
            } else if self.comment != Some(true) {
                self.event += self.line + 1;
            }
            if self.event > self.max {
                return false;
            }
            self.line = 0;
            self.comment = None;
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.add(rest);
        self.comment == Some(true) || self.event + self.line <= self.max
    }

    fn add(&mut self, piece: &[u8]) {
        if let (None, Some(&first)) = (self.comment, piece.first()) {
            self.comment = Some(first == b':');
        }
        self.line += piece.len();
    }
}

impl<S> Stream for EventSizeLimit<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let item = std::task::ready!(this.inner.poll_next_unpin(cx));
        if let Some(Ok(bytes)) = &item
            && !this.measure(bytes)
        {
            this.failed = true;
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an SSE event exceeds the maximum size of {} bytes", this.max),
            ))));
        }
        Poll::Ready(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(pieces: &[&str], max: usize) -> Result<usize, String> {
        let mut limit = EventSizeLimit::new(futures::stream::empty::<io::Result<Bytes>>(), max);
        for piece in pieces {
            if !limit.measure(piece.as_bytes()) {
                return Err(format!("over at {piece:?}"));
            }
        }
        Ok(limit.event)
    }

    #[test]
    fn the_event_limit_counts_as_rmcps_does() {
        // rmcp's own cases (`client_side_sse.rs`), with its limits.
        assert!(limited(&["data: aaaaa", "aaaaaa"], 16).is_err());
        assert!(limited(&["data: a\r", "\n\r\ndata: b\n\n"], 8).is_ok());
        assert!(limited(&["data: ab\n\n"], 9).is_ok());
        assert!(limited(&["data: x"; 20], 32).is_err());
        assert!(limited(&[": ping\n: ping\n: ping\n"], 6).is_ok());
        assert!(limited(&["data: a\n: ping\ndata: b\n"], 14).is_err());
        assert!(limited(&["data: aaa\ndata: bbb\n\n"], 18).is_err());
        // An empty line ends the event, in any chunking and with any line end.
        for end in ["\n\n", "\r\n\r\n", "\r\r"] {
            let stream = format!("data: 12345{end}data: 12345{end}");
            for cut in 0..stream.len() {
                let (a, b) = stream.split_at(cut);
                assert!(limited(&[a, b], 12).is_ok(), "{stream:?} cut at {cut}");
            }
        }
    }

    fn event(event: Option<&str>, data: Option<&str>, id: Option<&str>) -> Result<Sse, SseError> {
        Ok(Sse {
            event: event.map(str::to_owned),
            data: data.map(str::to_owned),
            id: id.map(str::to_owned),
            ..Sse::default()
        })
    }

    fn call(id: i64) -> ClientJsonRpcMessage {
        let params = rmcp::model::CallToolRequestParams::new("echo");
        let request = ClientRequest::CallToolRequest(rmcp::model::Request::new(params));
        JsonRpcMessage::request(request, RequestId::Number(id))
    }

    const ANSWER_7: &str =
        r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
    const PROGRESS: &str = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1}}"#;

    /// What [`answer_first`] makes of `events` answering request 7: the answer, or the events
    /// rmcp is given (their data).
    async fn first(
        events: Vec<Result<Sse, SseError>>,
        then_silence: bool,
    ) -> Result<String, Vec<Option<String>>> {
        let listed = futures::stream::iter(events);
        let stream = if then_silence {
            listed.chain(futures::stream::pending()).boxed()
        } else {
            listed.boxed()
        };
        let decoder = AnswerDecoder::new(&call(7));
        match answer_first(stream, decoder, RequestId::Number(7), Some("s".to_owned())).await {
            StreamableHttpPostResponse::Json(JsonRpcMessage::Response(response), session) => {
                assert_eq!(session.as_deref(), Some("s"));
                assert!(matches!(response.result, rmcp::model::ServerResult::CallToolResult(_)));
                Ok(format!("answer {}", response.id))
            }
            StreamableHttpPostResponse::Json(other, _) => Ok(format!("{other:?}")),
            StreamableHttpPostResponse::Sse(rest, session) => {
                assert_eq!(session.as_deref(), Some("s"));
                let rest: Vec<_> = rest.take(if then_silence { 1 } else { 4 }).collect().await;
                Err(rest.into_iter().map(|e| e.ok().and_then(|e| e.data)).collect())
            }
            _ => Ok("accepted".to_owned()),
        }
    }

    #[tokio::test]
    async fn an_answer_that_comes_first_is_decoded_here_and_anything_else_goes_to_rmcp() {
        // First, or after a priming event (an id, no data): decoded as the call's result.
        assert_eq!(
            first(vec![event(None, Some(ANSWER_7), None)], false).await,
            Ok("answer 7".into())
        );
        let primed =
            vec![event(None, Some(""), Some("e1")), event(Some("message"), Some(ANSWER_7), None)];
        assert_eq!(first(primed, false).await, Ok("answer 7".into()));
        // A notification first: rmcp reads all of it, in order.
        let progress = vec![event(None, Some(PROGRESS), None), event(None, Some(ANSWER_7), None)];
        assert_eq!(
            first(progress, false).await,
            Err(vec![Some(PROGRESS.into()), Some(ANSWER_7.into())])
        );
        // The answer to another request, an event of another type, or text that is not JSON.
        let other = ANSWER_7.replace(r#""id":7"#, r#""id":8"#);
        for odd in [
            event(None, Some(&other), None),
            event(Some("ping"), Some(ANSWER_7), None),
            event(None, Some("hello"), None),
        ] {
            let data = odd.as_ref().unwrap().data.clone();
            assert_eq!(first(vec![odd], false).await, Err(vec![data]));
        }
        // A priming event and then nothing within the wait: rmcp gets the stream.
        assert_eq!(first(vec![event(None, None, Some("e1"))], true).await.unwrap_err().len(), 1);
        // An error for the request is its answer too.
        let error = r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"no such tool"}}"#;
        let answer = first(vec![event(None, Some(error), None)], false).await.unwrap();
        assert!(answer.starts_with("Error"), "{answer}");
    }

    #[test]
    fn statuses_and_headers_read_as_rmcp_reads_them() {
        assert_eq!(
            scope_of(r#"Bearer error="insufficient_scope", scope="a b""#).as_deref(),
            Some("a b")
        );
        assert_eq!(scope_of("Bearer scope=files:read, realm=x").as_deref(), Some("files:read"));
        assert_eq!(scope_of("Bearer realm=x"), None);
        assert_eq!(scope_of("Bearer SCOPE=a;b").as_deref(), Some("a"));
        assert!(media_type_is("Application/JSON; charset=utf-8", "application/json"));
        assert!(!media_type_is("application/json-seq", "application/json"));
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert!(http_status_error(404, &headers).is_none());
        let error = http_status_error(503, &headers).expect("a 5xx");
        assert_eq!((error.status, error.retry_after.as_deref()), (503, Some("3")));
        assert_eq!(truncate("héllo".to_owned(), 2), "h");
    }
}
