//! [`OAuthHttp`]: rmcp's streamable HTTP client on reqwest, with the bearer tokens of an
//! [`Authorizer`] added per request and renewed when the server refuses them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::{BoxFuture, Either};
use mcp_auth::{AuthError, Authorizer, Round, Token};
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};

use super::direct::{DirectHttp, EventStream, Reader};
use super::gate::StreamGate;
use super::requests::{Posted, Route};

/// Attempts per logical request, the first included. The [`Round`] bounds authorizations and
/// refreshes already; this bounds a server that answers 401 to every new token as well.
const MAX_ATTEMPTS: usize = 6;

/// The HTTP client of a streamable HTTP session: reqwest, plus, for a server whose `auth` is of
/// type oauth, its [`Authorizer`].
///
/// With an authorizer, every request (the `initialize` and later POSTs, the GET stream, the
/// DELETE) carries the authorizer's current token, set here (rmcp's `auth_header` stays
/// `None`). When the server answers 401 (with a challenge or without), the request is sent again
/// with the token [`Authorizer::unauthorized`] gives (a refresh, else an authorization); when
/// it answers 403 with a challenge, with the one [`Authorizer::insufficient_scope`] gives (a
/// step-up to the union of scopes). One [`Round`] per request bounds the authorizations. Any
/// other outcome passes through; a failed flow is [`ClientError::Auth`].
///
/// Without one, its requests go on connections of our own ([`DirectHttp`]) for a plain `http://`
/// endpoint with no proxy in the environment, else through reqwest's client as rmcp has it, its
/// errors wrapped in [`ClientError::Http`]. Every method of rmcp's trait comes down to three:
/// a `POST` with response limits, a `GET` with an event size limit, and the `DELETE`.
#[derive(Clone)]
pub(crate) struct OAuthHttp {
    inner: reqwest::Client,
    auth: Option<Arc<Authorizer>>,
    /// The session's requests on our own connections, when they apply (a plain `http://`
    /// endpoint, no proxy, no OAuth).
    direct: Option<Arc<DirectHttp>>,
    /// Holds the session's requests until its standalone `GET` stream is answered.
    gate: Arc<StreamGate>,
    /// The session's `POST`s on our connections in flight.
    in_flight: Arc<AtomicUsize>,
    /// What the session's requests past rmcp share with it, with `direct`.
    route: Option<Arc<Route>>,
    /// The standalone stream's `GET`, sent beside `initialized`, until rmcp's worker asks for it.
    early: Arc<Mutex<Option<EarlyGet>>>,
}

/// How long `initialized`'s acceptance waits for the answer of the `GET` sent beside it
/// ([`EarlyGet`]) before it hands that `GET` on unanswered.
const EARLY_GET_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// The standalone stream's `GET` of a session, made while its `initialized` was `POST`ed (on our
/// own connections), and what it was sent with.
///
/// rmcp's worker asks for the stream only once `initialized` is accepted, and item 20's gate
/// ([`StreamGate`]) holds the session's first request until the stream's `GET` is answered: two
/// round trips in turn. Sent beside `initialized`, the `GET` takes none of its own: by the time
/// the worker asks, the answer is usually here. A `GET` still unanswered [`EARLY_GET_WAIT`]
/// after `initialized` is accepted holds the handshake no longer: the worker's ask waits for it
/// instead, as it would have waited for its own. One refused in a way that may only mean "too
/// early" is not kept: the worker's own `GET` is then sent as before.
struct EarlyGet {
    session_id: Arc<str>,
    auth_header: Option<String>,
    headers: HashMap<HeaderName, HeaderValue>,
    max_sse_event_size: usize,
    stream: Early,
}

/// Where an [`EarlyGet`] is.
enum Early {
    /// Answered: the stream (carrying the events of requests past rmcp), or the server's `405`.
    Answered(Result<EventStream, Lifted>),
    /// Sent, its answer not yet read.
    Pending(BoxFuture<'static, Result<EventStream, Lifted>>),
}

impl EarlyGet {
    /// Runs `post` (`initialized`) with this `GET` beside it, sent after it; the handshake waits
    /// for `initialized` only, and for the `GET`'s answer at most [`EARLY_GET_WAIT`] more.
    async fn beside<P, T>(mut self, post: P) -> (Result<T, Lifted>, EarlyGet)
    where
        P: Future<Output = Result<T, Lifted>>,
    {
        let Early::Pending(get) = &mut self.stream else { return (post.await, self) };
        let post = std::pin::pin!(post);
        let (posted, answered) = match futures::future::select(post, get.as_mut()).await {
            // The `GET`'s answer is usually a moment behind: worth that moment, so the stream
            // is open when the handshake returns, but not more.
            Either::Left((posted, _)) => {
                let waited = match &posted {
                    Ok(_) => tokio::time::timeout(EARLY_GET_WAIT, get.as_mut()).await.ok(),
                    Err(_) => None,
                };
                (posted, waited)
            }
            Either::Right((got, post)) => (post.await, Some(got)),
        };
        if let Some(answered) = answered {
            self.stream = Early::Answered(answered);
        }
        (posted, self)
    }

    /// Whether rmcp's worker asks for the stream this `GET` opened.
    fn answers(
        &self,
        session_id: Option<&Arc<str>>,
        auth_header: Option<&String>,
        headers: &HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> bool {
        session_id == Some(&self.session_id)
            && auth_header == self.auth_header.as_ref()
            && *headers == self.headers
            && max_sse_event_size == self.max_sse_event_size
    }
}

/// The protocol versions whose requests all carry the same headers: before 2026-07-28, from
/// which rmcp adds headers of each request's own (`Mcp-Method`, …), so that `initialized`'s are
/// not the stream's.
fn same_headers_for_all(headers: &HashMap<HeaderName, HeaderValue>) -> bool {
    static VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
    headers
        .get(&VERSION)
        .and_then(|v| v.to_str().ok())
        // Versions are dates, compared as text (as rmcp compares them).
        .is_some_and(|v| v < rmcp::model::ProtocolVersion::STANDARD_HEADERS.as_str())
}

/// One `POST` counted in flight while it lives.
struct InFlight<'a> {
    count: &'a AtomicUsize,
    /// Whether no other was in flight when it began.
    alone: bool,
}

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        InFlight { count, alone: count.fetch_add(1, Ordering::Relaxed) == 0 }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl OAuthHttp {
    pub(crate) fn new(
        inner: reqwest::Client,
        auth: Option<Arc<Authorizer>>,
        direct: Option<Arc<DirectHttp>>,
    ) -> Self {
        let direct = direct.filter(|_| auth.is_none());
        let gate = Arc::<StreamGate>::default();
        let route = direct.is_some().then(|| Arc::new(Route::new(Arc::clone(&gate))));
        OAuthHttp {
            inner,
            auth,
            direct,
            gate,
            in_flight: Arc::default(),
            route,
            early: Arc::default(),
        }
    }

    /// The session's requests on our connections, and what those past rmcp share with this
    /// client ([`super::requests`]), when they apply.
    pub(crate) fn past_rmcp(&self) -> Option<(Arc<DirectHttp>, Arc<Route>)> {
        Some((Arc::clone(self.direct.as_ref()?), Arc::clone(self.route.as_ref()?)))
    }

    /// Keeps the stream `early` opened for rmcp's worker, which asks for it next, and, once it is
    /// answered, lets the session's requests go: the stream is open (or refused for good,
    /// `405`). Any other refusal may only mean "too early": the worker's own `GET` is sent, and
    /// waited for, then.
    fn keep_early(&self, mut early: EarlyGet) {
        early.stream = match early.stream {
            Early::Answered(answered) => match self.carried(answered) {
                Some(answered) => Early::Answered(answered),
                None => return,
            },
            pending @ Early::Pending(_) => pending,
        };
        let answered = matches!(early.stream, Early::Answered(_));
        *self.early.lock().unwrap_or_else(PoisonError::into_inner) = Some(early);
        if answered {
            self.gate.open();
        }
    }

    /// An early `GET`'s answer as rmcp's worker takes it: the stream carrying the events of
    /// requests past rmcp, or the server's `405`; `None` for any other refusal.
    fn carried(
        &self,
        answered: Result<EventStream, Lifted>,
    ) -> Option<Result<EventStream, Lifted>> {
        match answered {
            Ok(stream) => Some(Ok(match &self.route {
                Some(route) => route.carry(stream),
                None => stream,
            })),
            Err(StreamableHttpError::ServerDoesNotSupportSse) => {
                Some(Err(StreamableHttpError::ServerDoesNotSupportSse))
            }
            Err(err) => {
                tracing::debug!("the standalone stream's GET beside initialized failed: {err}");
                None
            }
        }
    }

    /// rmcp's `post_message_with_response_limits`: on our connections when they apply, else
    /// through reqwest, with the authorizer's tokens when there is one.
    async fn post_limited(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        if let Some(direct) = &self.direct {
            let in_flight = InFlight::enter(&self.in_flight);
            let reader = if in_flight.alone { Reader::Worker } else { Reader::BusyWorker };
            return direct
                .post(message, session_id, auth_header, custom_headers, limits, reader)
                .await;
        }
        let Some(auth) = &self.auth else {
            return self
                .inner
                .post_message_with_response_limits(
                    uri,
                    message,
                    session_id,
                    auth_header,
                    custom_headers,
                    limits,
                )
                .await
                .map_err(lift);
        };
        Box::pin(authorized(auth, |token| {
            self.inner.post_message_with_response_limits(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                limits,
            )
        }))
        .await
    }

    /// rmcp's `get_stream_with_max_sse_event_size`: on a connection of our own when it applies,
    /// else through reqwest, with the authorizer's tokens when there is one.
    async fn get_limited(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<EventStream, Lifted> {
        if let Some(direct) = &self.direct {
            return direct
                .get(session_id, last_event_id, auth_header, custom_headers, max_sse_event_size)
                .await;
        }
        let Some(auth) = &self.auth else {
            return self
                .inner
                .get_stream_with_max_sse_event_size(
                    uri,
                    session_id,
                    last_event_id,
                    auth_header,
                    custom_headers,
                    max_sse_event_size,
                )
                .await
                .map_err(lift);
        };
        Box::pin(authorized(auth, |token| {
            self.inner.get_stream_with_max_sse_event_size(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        }))
        .await
    }
}

/// The error of an [`OAuthHttp`] request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// reqwest's error.
    #[error(transparent)]
    Http(reqwest::Error),
    /// No token could be had.
    #[error(transparent)]
    Auth(AuthError),
    /// A `POST` on our own connection ([`DirectHttp`]) found no server: nothing was sent.
    #[error(transparent)]
    Connect(std::io::Error),
    /// A `POST` on our own connection ([`DirectHttp`]) failed after it was sent.
    #[error(transparent)]
    Io(std::io::Error),
}

type Lifted = StreamableHttpError<ClientError>;
type Plain = StreamableHttpError<reqwest::Error>;

/// What a failed attempt says about the token it carried.
enum Refusal<'a> {
    /// 401: no token, or one the server does not accept; the challenge, if any.
    Unauthorized(Option<&'a str>),
    /// 403 with a challenge (maybe `insufficient_scope`).
    Forbidden(&'a str),
}

fn refusal(err: &Plain) -> Option<Refusal<'_>> {
    match err {
        StreamableHttpError::AuthRequired(auth) => {
            Some(Refusal::Unauthorized(Some(&auth.www_authenticate_header)))
        }
        StreamableHttpError::InsufficientScope(scope) => {
            Some(Refusal::Forbidden(&scope.www_authenticate_header))
        }
        // A 401 without a challenge: a POST's is text, a GET's or DELETE's reqwest's status.
        StreamableHttpError::UnexpectedServerResponse(text) if text.starts_with("HTTP 401") => {
            Some(Refusal::Unauthorized(None))
        }
        StreamableHttpError::Client(err)
            if err.status() == Some(reqwest::StatusCode::UNAUTHORIZED) =>
        {
            Some(Refusal::Unauthorized(None))
        }
        _ => None,
    }
}

/// Runs `attempt` with `auth`'s token, again after each refusal the authorizer renews the token
/// for. (Without an authorizer each method makes its request once, its arguments moved.)
///
/// Callers box this future: it holds the authorizer's (a whole OAuth flow's) futures, several
/// KB, and rmcp's transport worker holds a request's future inline in its task, so unboxed it
/// would make every streamable HTTP session's task that much larger, OAuth or not.
async fn authorized<T, F, Fut>(auth: &Authorizer, mut attempt: F) -> Result<T, Lifted>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<T, Plain>>,
{
    let failed = |err: AuthError| StreamableHttpError::Client(ClientError::Auth(err));
    let mut round = Round::new();
    let mut token: Option<Token> = auth.bearer().await.map_err(failed)?;
    let mut tries = 0;
    loop {
        tries += 1;
        let err = match attempt(token.as_ref().map(|t| t.expose().to_owned())).await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let renewed = match refusal(&err) {
            _ if tries >= MAX_ATTEMPTS => return Err(lift(err)),
            Some(Refusal::Unauthorized(challenge)) => {
                tracing::debug!("HTTP 401; renewing the OAuth token");
                auth.unauthorized(challenge, token.as_ref(), &mut round).await
            }
            Some(Refusal::Forbidden(challenge)) => {
                tracing::debug!("HTTP 403 with a challenge; asking the OAuth flow");
                auth.insufficient_scope(challenge, token.as_ref(), &mut round).await
            }
            None => return Err(lift(err)),
        };
        token = Some(renewed.map_err(failed)?);
    }
}

/// `err` with reqwest's error wrapped in [`ClientError::Http`]; every variant kept, since the
/// transport's worker acts on some (`SessionExpired`, `ServerDoesNotSupportSse`, …).
fn lift(err: Plain) -> Lifted {
    use StreamableHttpError as E;
    match err {
        E::Sse(e) => E::Sse(e),
        E::Io(e) => E::Io(e),
        E::Client(e) => E::Client(ClientError::Http(e)),
        E::HttpStatus(e) => E::HttpStatus(e),
        E::UnexpectedEndOfStream => E::UnexpectedEndOfStream,
        E::UnexpectedServerResponse(text) => E::UnexpectedServerResponse(text),
        E::ResponseBodyTooLarge { max_size } => E::ResponseBodyTooLarge { max_size },
        E::UnexpectedContentType(ct) => E::UnexpectedContentType(ct),
        E::ServerDoesNotSupportSse => E::ServerDoesNotSupportSse,
        E::ServerDoesNotSupportDeleteSession => E::ServerDoesNotSupportDeleteSession,
        E::TokioJoinError(e) => E::TokioJoinError(e),
        E::Deserialize(e) => E::Deserialize(e),
        E::TransportChannelClosed => E::TransportChannelClosed,
        E::MissingSessionIdInResponse => E::MissingSessionIdInResponse,
        E::Auth(e) => E::Auth(e),
        E::AuthRequired(e) => E::AuthRequired(e),
        E::InsufficientScope(e) => E::InsufficientScope(e),
        E::ReservedHeaderConflict(name) => E::ReservedHeaderConflict(name),
        E::SessionExpired => E::SessionExpired,
        E::SessionRecoveryTimeout => E::SessionRecoveryTimeout,
        E::ReinitializationFailed(e) => E::ReinitializationFailed(e),
        E::ControlRequestTimeout => E::ControlRequestTimeout,
        // A variant of a newer rmcp: its text survives.
        other => E::UnexpectedServerResponse(other.to_string().into()),
    }
}

impl StreamableHttpClient for OAuthHttp {
    type Error = ClientError;

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        self.gate.pass(&message).await;
        let initialized = session_id.is_some() && StreamGate::is_initialized(&message);
        // What the session's requests past rmcp are sent with (see `super::requests`).
        let route = self.route.as_ref().filter(|_| initialized).zip(session_id.clone()).map(
            |(route, session_id)| {
                let headers = custom_headers.clone();
                (route, Posted::new(session_id, auth_header.clone(), headers, limits))
            },
        );
        let early = match (&self.direct, &session_id) {
            (Some(direct), Some(id)) if initialized && same_headers_for_all(&custom_headers) => {
                let direct = Arc::clone(direct);
                let (id, token) = (Arc::clone(id), auth_header.clone());
                let (headers, max) = (custom_headers.clone(), limits.max_sse_event_size);
                Some(EarlyGet {
                    session_id: Arc::clone(&id),
                    auth_header: token.clone(),
                    headers: headers.clone(),
                    max_sse_event_size: max,
                    stream: Early::Pending(Box::pin(async move {
                        direct.get(Some(id), None, token, headers, max).await
                    })),
                })
            }
            _ => None,
        };
        let post = self.post_limited(uri, message, session_id, auth_header, custom_headers, limits);
        let (posted, early) = match early {
            Some(early) => {
                let (posted, early) = early.beside(post).await;
                (posted, Some(early))
            }
            None => (post.await, None),
        };
        if initialized && posted.is_ok() {
            self.gate.expect();
            if let Some((route, sent)) = route {
                route.initialized(sent);
            }
            if let Some(early) = early {
                self.keep_early(early);
            }
        }
        posted
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<EventStream, Lifted> {
        let standalone = last_event_id.is_none();
        if standalone {
            let early = self.early.lock().unwrap_or_else(PoisonError::into_inner).take();
            match early {
                Some(early)
                    if early.answers(
                        session_id.as_ref(),
                        auth_header.as_ref(),
                        &custom_headers,
                        max_sse_event_size,
                    ) =>
                {
                    match early.stream {
                        Early::Answered(answered) => return answered,
                        Early::Pending(get) => {
                            if let Some(answered) = self.carried(get.await) {
                                self.gate.open();
                                return answered;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let stream = self
            .get_limited(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await;
        let stream = match &self.route {
            Some(route) => stream.map(|stream| route.carry(stream)),
            None => stream,
        };
        // Once the stream carries the events of requests past rmcp, so that those waiting
        // here find it open.
        if standalone {
            self.gate.open();
        }
        stream
    }

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        // As reqwest's: the default limits.
        let limits = StreamableHttpResponseLimits::default();
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, Lifted> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            limits,
        )
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Lifted> {
        if self.route.as_ref().is_some_and(|route| route.ended(&session_id)) {
            // The session's caller sent it (`super::requests`), beside this worker's ending.
            return Ok(());
        }
        if let Some(direct) = &self.direct {
            return direct.delete(&session_id, auth_header, custom_headers).await;
        }
        let Some(auth) = &self.auth else {
            return self
                .inner
                .delete_session(uri, session_id, auth_header, custom_headers)
                .await
                .map_err(lift);
        };
        Box::pin(authorized(auth, |token| {
            self.inner.delete_session(
                uri.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
            )
        }))
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<EventStream, Lifted> {
        // As reqwest's: the default limit (the transport's, unless configured otherwise).
        let max = StreamableHttpResponseLimits::default().max_sse_event_size;
        self.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_header,
            custom_headers,
            max,
        )
        .await
    }
}
