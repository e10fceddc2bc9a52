//! A streamable HTTP session's requests past rmcp's worker and service loop: written and read
//! by their callers on our own connections, as over stdio and legacy SSE
//! ([`mcp_sse::direct`]; docs/benchmarks.md, Profile, item 24).
//!
//! rmcp's transport stays the session's: its worker sends `initialize` and `initialized`, opens
//! and resumes the standalone `GET` stream, re-initializes an expired session and ends it with
//! a `DELETE`; every request of rmcp's own still goes its way. A request of the session's
//! caller (a call, a listing) may instead be `POST`ed by the caller's task with what rmcp
//! sent `initialized` with (the session id, the token, the protocol version header), its
//! response read there and its answer decoded as the request expects. That skips four
//! hand-offs between tasks: the caller's to rmcp's service loop, the loop's to the worker, and
//! both back.
//!
//! What the server sends on a request's stream besides its answer (progress, log messages, a
//! request of its own, such as for input) belongs to rmcp's handler, which only reads the
//! streams rmcp opened. So it is put into the standalone stream, as if the server had sent it
//! there ([`Route::carry`]), and a request goes past rmcp only while that stream is open: rmcp
//! is reading it. A stream cut before its answer is resumed with `Last-Event-ID`, as rmcp
//! resumes one; a session the server no longer knows (`404`) is left to rmcp, which
//! re-initializes it, and the request goes rmcp's way.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{Stream, StreamExt as _};
use mcp_sse::decode::AnswerDecoder;
use mcp_sse::direct::Direct;
use mcp_sse::post::HeaderLines;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::service::{Peer, TxJsonRpcMessage};
use rmcp::transport::DynamicTransportError;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use rmcp::{RoleClient, ServiceError};
use sse_stream::Sse;

use super::direct::{DirectHttp, EventStream, Reader, Sent, answers, event_data, post_lines};
use super::gate::StreamGate;
use super::oauth::ClientError;
use super::{HttpError, Transport};
use crate::connection::{DirectWriter, Unwritten};

/// How long a request's stream cut before its answer waits before it is resumed, when the
/// server named no `retry` interval (rmcp's backoff starts there too).
const RESUME_WAIT: Duration = Duration::from_secs(1);
/// Resumptions of one request's stream, at most.
const MAX_RESUMES: usize = 3;

/// What a session's requests past rmcp share with its HTTP client ([`super::oauth::OAuthHttp`]):
/// what rmcp sent `initialized` with, and the events rmcp's streams carry for them.
pub(crate) struct Route {
    /// The session's wait for its standalone stream.
    gate: Arc<StreamGate>,
    sent: Mutex<Option<Arc<Posted>>>,
    extra: Mutex<Extra>,
    /// The session our caller ended with a `DELETE` of its own ([`HttpWriter`]'s `end`), for
    /// which rmcp's worker sends none.
    ended: Mutex<Option<Arc<str>>>,
}

/// Events read on requests' streams, for rmcp, and the streams of rmcp's that carry them.
#[derive(Default)]
struct Extra {
    events: VecDeque<Sse>,
    /// The streams rmcp reads, by number, each with the waker of its last poll.
    carriers: Vec<(u64, Waker)>,
    next: u64,
}

/// The session id, token, headers and response limits rmcp's worker sends the session's
/// requests with.
pub(crate) struct Posted {
    pub(crate) session_id: Arc<str>,
    pub(crate) auth_token: Option<String>,
    pub(crate) headers: HashMap<HeaderName, HeaderValue>,
    pub(crate) limits: StreamableHttpResponseLimits,
    /// The headers of each `POST` ([`super::direct::post_lines`]), made once; `None` when they
    /// cannot be made (each request then says why).
    pub(crate) lines: Option<HeaderLines>,
}

impl Posted {
    pub(crate) fn new(
        session_id: Arc<str>,
        auth_token: Option<String>,
        headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Posted {
        let sent = Sent { session_id: Some(&session_id), auth_token: auth_token.as_deref() };
        let lines = post_lines(sent, &headers).ok();
        Posted { session_id, auth_token, headers, limits, lines }
    }
}

impl Route {
    pub(crate) fn new(gate: Arc<StreamGate>) -> Self {
        Route { gate, sent: Mutex::default(), extra: Mutex::default(), ended: Mutex::default() }
    }

    /// rmcp's worker had `initialized` accepted with these: requests of the session carry them
    /// from now on (again after a re-initialization, with the new session's).
    pub(crate) fn initialized(&self, posted: Posted) {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(posted));
    }

    /// The session is being ended by its caller: what to send its `DELETE` with.
    fn end(&self) -> Option<Arc<Posted>> {
        let posted = self.posted()?;
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Arc::clone(&posted.session_id));
        Some(posted)
    }

    /// Whether the session `session_id` was ended by its caller ([`Route::end`]).
    pub(crate) fn ended(&self, session_id: &str) -> bool {
        self.ended.lock().unwrap_or_else(PoisonError::into_inner).as_deref() == Some(session_id)
    }

    fn posted(&self) -> Option<Arc<Posted>> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn extra(&self) -> MutexGuard<'_, Extra> {
        self.extra.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `stream`, a stream rmcp's worker reads, carrying the events of requests past rmcp as
    /// well, while it lasts.
    pub(crate) fn carry(self: &Arc<Self>, stream: EventStream) -> EventStream {
        let mut extra = self.extra();
        let number = extra.next;
        extra.next += 1;
        extra.carriers.push((number, Waker::noop().clone()));
        drop(extra);
        Carrier { stream, number, route: Arc::clone(self), ended: false }.boxed()
    }

    /// Gives rmcp `event`, read on a request's stream: without its id, which belongs to that
    /// stream (rmcp would resume the standalone one from it).
    fn forward(&self, mut event: Sse) {
        event.id = None;
        event.retry = None;
        let mut extra = self.extra();
        extra.events.push_back(event);
        for (_, waker) in &extra.carriers {
            waker.wake_by_ref();
        }
    }

    /// Whether requests may go past rmcp now: a stream rmcp reads carries their extra events,
    /// and the session's id is known.
    fn open(&self) -> bool {
        !self.extra().carriers.is_empty() && self.posted().is_some()
    }
}

/// A stream of rmcp's worker, with the events of requests past rmcp in between its own.
struct Carrier {
    stream: EventStream,
    number: u64,
    route: Arc<Route>,
    ended: bool,
}

impl Carrier {
    /// This stream no longer carries anything.
    fn end(&mut self) {
        if !std::mem::replace(&mut self.ended, true) {
            self.route.extra().carriers.retain(|(number, _)| *number != self.number);
        }
    }
}

impl Stream for Carrier {
    type Item = Result<Sse, SseError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.ended {
            let mut extra = self.route.extra();
            if let Some(event) = extra.events.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            let number = self.number;
            if let Some((_, waker)) = extra.carriers.iter_mut().find(|(n, _)| *n == number) {
                waker.clone_from(cx.waker());
            }
        }
        let next = self.stream.poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.end();
        }
        next
    }
}

impl Drop for Carrier {
    fn drop(&mut self) {
        self.end();
    }
}

/// A streamable HTTP session's writer for requests past rmcp (see the module's docs).
pub(crate) struct HttpWriter {
    inner: Arc<Inner>,
}

struct Inner {
    requests: Direct,
    http: Arc<DirectHttp>,
    route: Arc<Route>,
    /// rmcp's side of the session, for a request the server refused for its session.
    peer: Peer<RoleClient>,
}

impl HttpWriter {
    pub(crate) fn new(
        http: Arc<DirectHttp>,
        route: Arc<Route>,
        peer: Peer<RoleClient>,
    ) -> HttpWriter {
        let inner = Inner { requests: Direct::default(), http, route, peer };
        HttpWriter { inner: Arc::new(inner) }
    }
}

impl DirectWriter for HttpWriter {
    fn requests(&self) -> &Direct {
        &self.inner.requests
    }

    fn settling(&self) -> Option<BoxFuture<'static, ()>> {
        let route = &self.inner.route;
        route.gate.holds().then(|| {
            let gate = Arc::clone(&route.gate);
            Box::pin(async move { gate.settled().await }) as BoxFuture<'static, ()>
        })
    }

    fn open(&self) -> bool {
        self.inner.route.open()
    }

    /// The session's `DELETE`, as rmcp's worker sends it when its transport closes (it then
    /// sends none: [`Route::ended`]); a failure is logged, as rmcp logs its own.
    fn end(&self) -> Option<BoxFuture<'static, ()>> {
        let posted = self.inner.route.end()?;
        let http = Arc::clone(&self.inner.http);
        Some(Box::pin(async move {
            let (token, headers) = (posted.auth_token.clone(), posted.headers.clone());
            if let Err(err) = http.delete(&posted.session_id, token, headers).await {
                tracing::debug!("the session's DELETE failed: {err}");
            }
        }))
    }

    fn answers_itself(&self) -> bool {
        true
    }

    /// `POST`s the request and reads its response until its answer, which it gives back.
    fn write(
        &self,
        message: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, Result<Option<ServerJsonRpcMessage>, Unwritten>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { inner.exchange(message).await })
    }
}

impl Inner {
    async fn exchange(
        &self,
        mut message: ClientJsonRpcMessage,
    ) -> Result<Option<ServerJsonRpcMessage>, Unwritten> {
        let Some(posted) = self.route.posted() else {
            return Box::pin(self.through_rmcp(message)).await;
        };
        let (limits, reader) = (posted.limits, Reader::Caller);
        let response = match &posted.lines {
            Some(lines) => self.http.post_with(&mut message, lines, true, limits, reader).await,
            None => {
                let sent = Sent {
                    session_id: Some(&posted.session_id),
                    auth_token: posted.auth_token.as_deref(),
                };
                self.http.post_as(&mut message, sent, &posted.headers, limits, reader).await
            }
        };
        let response = match response {
            Ok(response) => response,
            // rmcp re-initializes the session when its own request learns this; the request
            // is sent again its way.
            Err(StreamableHttpError::SessionExpired) => {
                return Box::pin(self.through_rmcp(message)).await;
            }
            Err(err) => return Err(unwritten(err)),
        };
        let JsonRpcMessage::Request(request) = &message else { return Ok(None) };
        let id = &request.id;
        match response {
            StreamableHttpPostResponse::Json(answer, _) => {
                if answers(&answer, id) {
                    return Ok(Some(answer));
                }
                self.route
                    .forward(Sse { data: serde_json::to_string(&answer).ok(), ..Sse::default() });
                Ok(None)
            }
            StreamableHttpPostResponse::Sse(events, _) => {
                let decoder = AnswerDecoder::new(&message);
                Box::pin(self.read(events, &decoder, id, &posted)).await
            }
            _ => Err(unwritten(StreamableHttpError::UnexpectedServerResponse(
                "the server accepted a request without answering it".into(),
            ))),
        }
    }

    /// Reads a request's event stream until its answer, forwarding everything else to rmcp and
    /// resuming the stream when it is cut before the answer.
    async fn read(
        &self,
        mut events: EventStream,
        decoder: &AnswerDecoder,
        id: &RequestId,
        posted: &Posted,
    ) -> Result<Option<ServerJsonRpcMessage>, Unwritten> {
        let mut last_id: Option<String> = None;
        let mut retry: Option<Duration> = None;
        let mut resumes = 0;
        loop {
            let cut = match events.next().await {
                Some(Ok(event)) => {
                    if let Some(id) = &event.id {
                        last_id = Some(id.clone());
                    }
                    if let Some(ms) = event.retry {
                        retry = Some(Duration::from_millis(ms));
                    }
                    let decoded = match event_data(&event) {
                        // rmcp passes over a message it cannot read, and acts on no control
                        // event (another type than `message`) on a request's stream.
                        Some(data) if !data.is_empty() => decoder.decode(data.as_bytes()).ok(),
                        _ => None,
                    };
                    match decoded {
                        Some(answer) if answers(&answer, id) => return Ok(Some(answer)),
                        Some(_) => self.route.forward(event),
                        None => {}
                    }
                    continue;
                }
                Some(Err(err)) => Some(err),
                None => None,
            };
            // As rmcp: a stream that ended or broke is resumed, one whose event was too large
            // (or that is no event stream) is not.
            let resumable = cut.as_ref().is_none_or(broke);
            let Some(from) = last_id.clone().filter(|_| resumable && resumes < MAX_RESUMES) else {
                let err = match cut {
                    Some(err) => StreamableHttpError::Sse(err),
                    None => StreamableHttpError::UnexpectedEndOfStream,
                };
                return Err(unwritten(err));
            };
            resumes += 1;
            tokio::time::sleep(retry.unwrap_or(RESUME_WAIT)).await;
            let resumed = self
                .http
                .get(
                    Some(Arc::clone(&posted.session_id)),
                    Some(from),
                    posted.auth_token.clone(),
                    posted.headers.clone(),
                    posted.limits.max_sse_event_size,
                )
                .await;
            match resumed {
                Ok(stream) => events = stream,
                Err(err) if resumes >= MAX_RESUMES => return Err(unwritten(err)),
                Err(_) => events = futures::stream::empty().boxed(),
            }
        }
    }

    /// Sends `message`'s request through rmcp, and gives back the answer.
    async fn through_rmcp(
        &self,
        message: ClientJsonRpcMessage,
    ) -> Result<Option<ServerJsonRpcMessage>, Unwritten> {
        let JsonRpcMessage::Request(request) = message else { return Ok(None) };
        let answer = match self.peer.send_request(request.request).await {
            Ok(result) => ServerJsonRpcMessage::response(result, request.id),
            Err(ServiceError::McpError(error)) => {
                ServerJsonRpcMessage::error(error, Some(request.id))
            }
            Err(err) => return Err(Unwritten { began: true, err }),
        };
        Ok(Some(answer))
    }
}

/// Whether a request's stream failed because its connection did (it broke, or went quiet past
/// the read timeout), not because of what it carried (an event over the size limit, text that is
/// no event stream).
fn broke(err: &SseError) -> bool {
    matches!(err, SseError::Body(cause)
        if cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() != std::io::ErrorKind::InvalidData))
}

/// `err` as the error rmcp's service gives for a request its transport failed to send, so
/// that the session explains it the same way.
fn unwritten(err: HttpError) -> Unwritten {
    let began = !matches!(err, StreamableHttpError::Client(ClientError::Connect(_)));
    Unwritten {
        began,
        err: ServiceError::TransportSend(DynamicTransportError::new::<Transport, RoleClient>(err)),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{SseError, broke};

    #[test]
    fn only_a_stream_whose_connection_failed_is_resumed() {
        let body = |kind| SseError::Body(Box::new(io::Error::new(kind, "x")));
        assert!(broke(&body(io::ErrorKind::ConnectionReset)));
        assert!(broke(&body(io::ErrorKind::TimedOut)));
        assert!(broke(&body(io::ErrorKind::UnexpectedEof)));
        // The event size limit, and text that is no event stream.
        assert!(!broke(&body(io::ErrorKind::InvalidData)));
        assert!(!broke(&SseError::InvalidLine));
    }
}
