//! The client half: [`SseClientTransport`], an rmcp [`Transport`] for legacy SSE servers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::bearer::{BearerAuth, BearerError};
use crate::decode::ResultDecoder;
use crate::direct::Direct;
use crate::encode::encode;
use crate::events::{Event, events};
use crate::post::{self, Answer, DirectPoster, Opened};

/// Largest message accepted from a server by default: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// How to reach a legacy SSE server.
///
/// ```
/// use std::time::Duration;
/// use mcp_sse::client::SseClientConfig;
///
/// let config = SseClientConfig::new("http://127.0.0.1:8000/sse".parse()?)
///     .timeout(Duration::from_secs(10))
///     .sse_read_timeout(Duration::from_secs(60));
/// # let _ = config;
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SseClientConfig {
    /// The SSE endpoint, such as `http://127.0.0.1:8000/sse`.
    pub url: Url,
    /// Headers sent with the `GET` and every `POST`.
    pub headers: HeaderMap,
    /// Bound on each HTTP operation: connecting and receiving the `endpoint` event, and each
    /// `POST`. Default 5 s.
    pub timeout: Duration,
    /// Longest silence tolerated on the event stream (keep-alive comments count). Default 300 s.
    pub sse_read_timeout: Duration,
    /// Largest message accepted from the server. Default [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub max_message_size: usize,
    /// The HTTP client to use (for TLS settings, proxies, …). Default: a plain `reqwest` client.
    pub client: Option<reqwest::Client>,
    /// Where bearer tokens come from, if the server wants them (see [`BearerAuth`]). Its token
    /// replaces any `Authorization` header in `headers`.
    pub bearer: Option<Arc<dyn BearerAuth>>,
    /// Whether this client makes its plain `http://` requests itself instead of through
    /// `client` (default `true`): the `GET` of the event stream, read by the transport's reader
    /// task without reqwest's and hyper's tasks in between (a cold session opens about 0.1 ms
    /// sooner), and the `POST`s, written on kept-alive HTTP/1.1 connections in the task that
    /// sends the message (a message then costs about a quarter of the instructions). Neither
    /// is when the environment names a proxy (`http_proxy`, `all_proxy`), and a redirect
    /// answer is asked again through `client`. Turn this off when `client` does something to
    /// plain-HTTP requests that must apply to these too, such as a proxy set in code or default
    /// headers. `https://` URLs always go through `client`.
    pub direct_posts: bool,
}

impl SseClientConfig {
    /// A config for `url` with the defaults.
    pub fn new(url: Url) -> Self {
        SseClientConfig {
            url,
            headers: HeaderMap::new(),
            timeout: Duration::from_secs(5),
            sse_read_timeout: Duration::from_secs(300),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            client: None,
            bearer: None,
            direct_posts: true,
        }
    }

    /// Sets whether plain `http://` requests (the event stream's `GET`, the `POST`s) bypass
    /// `client` (see [`direct_posts`](Self::direct_posts)).
    #[must_use]
    pub fn direct_posts(mut self, direct: bool) -> Self {
        self.direct_posts = direct;
        self
    }

    /// Sets the headers.
    #[must_use]
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Sets the bound on each HTTP operation.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the longest silence tolerated on the event stream.
    #[must_use]
    pub fn sse_read_timeout(mut self, timeout: Duration) -> Self {
        self.sse_read_timeout = timeout;
        self
    }

    /// Sets the largest message accepted.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Uses this HTTP client.
    #[must_use]
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Sends the bearer tokens `bearer` gives, and retries once when it renews a refused one.
    #[must_use]
    pub fn bearer(mut self, bearer: Arc<dyn BearerAuth>) -> Self {
        self.bearer = Some(bearer);
        self
    }
}

/// Why a legacy SSE connection failed or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// The HTTP request could not be made (refused, DNS, TLS, …).
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// The server answered with an error status (other than 401 and 403, which are
    /// [`Unauthorized`](Self::Unauthorized)).
    #[error("HTTP {status} from {url}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The server refused the request for want of credentials (HTTP 401) or refused the ones
    /// it got (HTTP 403), on the `GET` or a `POST`. `www_authenticate` is its challenge, which
    /// says what it wants (such as `Bearer realm="mcp", scope="read"`).
    ///
    /// ```
    /// use mcp_sse::client::SseError;
    ///
    /// let err = SseError::Unauthorized {
    ///     url: "http://127.0.0.1:8000/sse".into(),
    ///     status: 401,
    ///     www_authenticate: Some(r#"Bearer realm="mcp""#.into()),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"HTTP 401 from http://127.0.0.1:8000/sse: unauthorized (WWW-Authenticate: Bearer realm="mcp")"#
    /// );
    /// ```
    #[error(
        "HTTP {status} from {url}: {}{}",
        if *status == 403 { "forbidden" } else { "unauthorized" },
        www_authenticate.as_ref().map(|c| format!(" (WWW-Authenticate: {c})")).unwrap_or_default()
    )]
    Unauthorized {
        /// The URL.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The `WWW-Authenticate` header, if the server sent one.
        www_authenticate: Option<String>,
    },
    /// The `GET` did not answer with an event stream.
    #[error(
        "{url} answered with content type {content_type:?}, not text/event-stream; is it a legacy SSE endpoint?"
    )]
    NotEventStream {
        /// The URL.
        url: String,
        /// What the server sent instead.
        content_type: String,
    },
    /// No `endpoint` event arrived in time.
    #[error(
        "no `endpoint` event from {url} within {after:?}; is it a legacy SSE endpoint (usually `/sse`)?"
    )]
    NoEndpoint {
        /// The URL.
        url: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The `endpoint` event named another origin, which the client refuses to post to.
    #[error(
        "the server at {url} named an endpoint on another origin ({endpoint}); refusing to send messages there"
    )]
    ForeignEndpoint {
        /// The SSE URL.
        url: String,
        /// The endpoint it named.
        endpoint: String,
    },
    /// The `endpoint` event's data was not a URL.
    #[error("the `endpoint` event from {url} is not a valid URL: {endpoint:?}")]
    InvalidEndpoint {
        /// The SSE URL.
        url: String,
        /// What it sent.
        endpoint: String,
    },
    /// A `POST` took longer than `timeout`.
    #[error("POST to {url} timed out after {after:?}")]
    Timeout {
        /// The endpoint URL.
        url: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The message could not be encoded.
    #[error("cannot encode the message: {0}")]
    Encode(String),
    /// The [`BearerAuth`] could not give a token for a request; `source` is its error.
    #[error("no bearer token for {url}")]
    Auth {
        /// The URL of the request.
        url: String,
        /// Why, as the [`BearerAuth`] said (downcast it to the implementor's error type).
        #[source]
        source: BearerError,
    },
    /// The transport is closed; the reason it closed, if known.
    #[error("the SSE connection is closed: {0}")]
    Closed(String),
}

/// Why an [`SseClientTransport`]'s stream ended, readable after the transport is gone.
#[derive(Clone, Debug)]
pub struct ClosedReason(Arc<Mutex<Option<String>>>);

impl ClosedReason {
    /// The reason, once the stream has ended.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok()?.clone()
    }
}

/// An rmcp client [`Transport`] over legacy HTTP+SSE (protocol 2024-11-05).
///
/// [`connect`](Self::connect) opens `GET url`, waits (up to `timeout`) for the `endpoint` event,
/// and then reads messages (`event: message`, or unnamed events) in a background task; each
/// message the client sends is `POST`ed to the endpoint. The stream ends the transport when the
/// server closes it, when nothing (not even a keep-alive) arrives for `sse_read_timeout`, or when
/// a message is larger than `max_message_size`; [`closed_reason`](Self::closed_reason) says which.
#[derive(Debug)]
pub struct SseClientTransport {
    messages: mpsc::Receiver<RxJsonRpcMessage<RoleClient>>,
    poster: Poster,
    endpoint: Url,
    cancel: CancellationToken,
    closed_reason: Arc<Mutex<Option<String>>>,
    direct: Direct,
}

/// A handle that sends messages to a legacy SSE server besides rmcp's service loop, and whose
/// requests' answers the transport's event reader gives straight back: see
/// [`direct`](crate::direct). Made by [`SseClientTransport::requester`].
#[derive(Clone, Debug)]
pub struct Requester {
    poster: Poster,
    direct: Direct,
}

impl Requester {
    /// The requests waiting for their answers from the event stream.
    pub fn direct(&self) -> &Direct {
        &self.direct
    }

    /// `POST`s `message`, as the transport sends rmcp's; a request's id should come from
    /// [`Direct::register`] for its answer to come back through [`direct`](Self::direct).
    ///
    /// # Errors
    /// As the transport's `send`: the server refused the message or could not be reached.
    pub fn post(
        &self,
        message: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), SseError>> + Send + 'static {
        self.poster.clone().post(message)
    }
}

/// What every `POST` of a transport shares, behind one `Arc`: each message sent clones a
/// pointer, not the endpoint and the headers.
#[derive(Clone, Debug)]
struct Poster(Arc<PostTo>);

#[derive(Debug)]
struct PostTo {
    client: reqwest::Client,
    endpoint: Url,
    /// `endpoint` as errors show it (its session ID masked), made once.
    shown: String,
    headers: HeaderMap,
    bearer: Option<Arc<dyn BearerAuth>>,
    timeout: Duration,
    /// Shared with the event reader: which result each request sent expects.
    decoder: ResultDecoder,
    /// Our own plain-HTTP `POST`s, when they apply (see [`SseClientConfig::direct_posts`]).
    direct: Option<DirectPoster>,
}

impl SseClientTransport {
    /// Connects: `GET`s the SSE URL and waits for the `endpoint` event.
    ///
    /// # Errors
    /// [`SseError`]: the server cannot be reached, refuses the credentials (or their absence),
    /// answers with another error status or without an event stream, sends no `endpoint` in time, or names an endpoint on another origin.
    pub async fn connect(config: SseClientConfig) -> Result<Self, SseError> {
        let url = config.url.clone();
        let shown = shown(&url);
        let client = match config.client.clone() {
            Some(client) => client,
            None => default_client()
                .map_err(|reason| SseError::Connect { url: shown.clone(), reason })?,
        };
        let mut headers = config.headers.clone();
        if config.bearer.is_some() {
            headers.remove(AUTHORIZATION);
        }
        let mut retried = false;
        let (endpoint, events, activity) = loop {
            let token = bearer_token(config.bearer.as_deref(), &shown).await?;
            let connect = async {
                let authorization = bearer_header(token.as_deref());
                if config.direct_posts {
                    let opened = post::open_event_stream(&url, &headers, authorization.as_ref())
                        .await
                        .map_err(|err| SseError::Connect {
                            url: shown.clone(),
                            reason: err.to_string(),
                        })?;
                    match opened {
                        Opened::Stream(body) => {
                            return read_to_endpoint(body, config.max_message_size, &url, &shown)
                                .await;
                        }
                        Opened::Refused(answer) => {
                            return Err(answer_refusal(shown.clone(), &answer));
                        }
                        Opened::NotEventStream(content_type) => {
                            return Err(SseError::NotEventStream {
                                url: shown.clone(),
                                content_type,
                            });
                        }
                        Opened::Elsewhere => {}
                    }
                }
                let mut request = client
                    .get(url.clone())
                    .headers(headers.clone())
                    .header(reqwest::header::ACCEPT, "text/event-stream");
                if let Some(value) = authorization {
                    request = request.header(AUTHORIZATION, value);
                }
                let response = request.send().await.map_err(|err| connect_error(&shown, &err))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(status_error(shown.clone(), response).await);
                }
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if !content_type.starts_with("text/event-stream") {
                    return Err(SseError::NotEventStream { url: shown.clone(), content_type });
                }
                read_to_endpoint(response.bytes_stream(), config.max_message_size, &url, &shown)
                    .await
            };
            let outcome = tokio::time::timeout(config.timeout, connect)
                .await
                .map_err(|_| SseError::NoEndpoint { url: shown.clone(), after: config.timeout })?;
            match outcome {
                // Outside the timeout: a renewal may need an authorization with deadlines of
                // its own.
                Err(SseError::Unauthorized { status, www_authenticate, .. })
                    if !retried
                        && renewed(
                            config.bearer.as_deref(),
                            &shown,
                            status,
                            www_authenticate.as_deref(),
                            token.as_deref(),
                        )
                        .await? =>
                {
                    retried = true;
                }
                other => break other?,
            }
        };
        tracing::debug!(url = %shown, endpoint = %self::shown(&endpoint), "legacy SSE connected");
        let (sender, messages) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let closed_reason = Arc::new(Mutex::new(None));
        let decoder = ResultDecoder::default();
        let direct = Direct::default();
        tokio::spawn(read_events(
            events,
            activity,
            Answers { sender, direct: direct.clone(), decoder: decoder.clone() },
            cancel.clone(),
            closed_reason.clone(),
            config.sse_read_timeout,
        ));
        let poster = Poster(Arc::new(PostTo {
            direct: if config.direct_posts { DirectPoster::new(&endpoint, &headers) } else { None },
            client,
            endpoint: endpoint.clone(),
            shown: self::shown(&endpoint),
            headers,
            bearer: config.bearer,
            timeout: config.timeout,
            decoder,
        }));
        Ok(SseClientTransport { messages, poster, endpoint, cancel, closed_reason, direct })
    }

    /// A handle that posts messages besides rmcp's service loop, whose requests' answers the
    /// event reader gives straight to their callers ([`direct`](crate::direct)).
    pub fn requester(&self) -> Requester {
        Requester { poster: self.poster.clone(), direct: self.direct.clone() }
    }

    /// The URL messages are posted to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Why the event stream ended, once it has.
    pub fn closed_reason(&self) -> Option<String> {
        self.closed_reason.lock().ok()?.clone()
    }

    /// A handle that reads [`closed_reason`](Self::closed_reason) after the transport has been
    /// handed to rmcp (which owns it from then on).
    pub fn closed_reason_handle(&self) -> ClosedReason {
        ClosedReason(self.closed_reason.clone())
    }
}

/// A stream of parsed SSE events.
type Events = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Event>> + Send>>;

/// When bytes last arrived on the event stream.
#[derive(Clone, Debug)]
struct Activity(Arc<Mutex<tokio::time::Instant>>);

impl Default for Activity {
    fn default() -> Self {
        Activity(Arc::new(Mutex::new(tokio::time::Instant::now())))
    }
}

impl Activity {
    fn touch(&self) {
        if let Ok(mut last) = self.0.lock() {
            *last = tokio::time::Instant::now();
        }
    }

    fn last(&self) -> tokio::time::Instant {
        self.0.lock().map_or_else(|_| tokio::time::Instant::now(), |last| *last)
    }
}

/// Reads `events` up to the `endpoint` event and returns the URL it names (relative to `url`),
/// skipping the events before it.
async fn wait_for_endpoint(events: &mut Events, url: &Url, shown: &str) -> Result<Url, SseError> {
    loop {
        match events.next().await {
            Some(Ok(Event { event: Some(kind), data })) if kind == "endpoint" => {
                let endpoint = url.join(data.trim()).map_err(|_| SseError::InvalidEndpoint {
                    url: shown.to_owned(),
                    endpoint: data.clone(),
                })?;
                if endpoint.origin() != url.origin() {
                    return Err(SseError::ForeignEndpoint {
                        url: shown.to_owned(),
                        endpoint: self::shown(&endpoint),
                    });
                }
                return Ok(endpoint);
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => {
                return Err(SseError::Closed(format!("the event stream broke: {err}")));
            }
            None => {
                return Err(SseError::Closed(
                    "the server closed the event stream before `endpoint`".into(),
                ));
            }
        }
    }
}

/// Reads the event stream `body` (bounded by `max`, see [`bounded_events`]) up to its
/// `endpoint` event: the endpoint, the rest of the stream, and when bytes last arrived.
async fn read_to_endpoint<S, E>(
    body: S,
    max: usize,
    url: &Url,
    shown: &str,
) -> Result<(Url, Events, Activity), SseError>
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let activity = Activity::default();
    let mut events = bounded_events(body, max, activity.clone());
    let endpoint = wait_for_endpoint(&mut events, url, shown).await?;
    Ok((endpoint, events, activity))
}

/// Where the event reader puts the messages it decodes.
struct Answers {
    /// To rmcp's service loop.
    sender: mpsc::Sender<RxJsonRpcMessage<RoleClient>>,
    /// Straight to the callers of direct requests.
    direct: Direct,
    decoder: ResultDecoder,
}

/// Reads the event stream until it ends, is silent too long, or the transport closes.
async fn read_events(
    mut events: Events,
    activity: Activity,
    answers: Answers,
    cancel: CancellationToken,
    closed_reason: Arc<Mutex<Option<String>>>,
    silence: Duration,
) {
    let Answers { sender, direct, decoder } = answers;
    // One timer and one cancellation waiter for the whole stream, not one per event: the timer
    // is moved on only when it fires, to the silence's end counted from the last bytes.
    let cancelled = cancel.cancelled();
    let silent = tokio::time::sleep_until(activity.last() + silence);
    tokio::pin!(cancelled, silent);
    let reason = loop {
        let next = tokio::select! {
            () = &mut cancelled => break "closed by the client".to_owned(),
            next = events.next() => next,
            () = &mut silent => {
                let deadline = activity.last() + silence;
                if deadline <= tokio::time::Instant::now() {
                    break format!("nothing arrived for {silence:?} (sse_read_timeout)");
                }
                silent.as_mut().reset(deadline);
                continue;
            }
        };
        let event = match next {
            None => break "the server closed the event stream".to_owned(),
            Some(Err(err)) => break format!("the event stream broke: {err}"),
            Some(Ok(event)) => event,
        };
        if !matches!(event.event.as_deref(), None | Some("message")) {
            continue;
        }
        match decoder.decode(event.data.as_bytes()) {
            Ok(message) => {
                let Some(message) = direct.offer(message) else { continue };
                if sender.send(message).await.is_err() {
                    break "closed by the client".to_owned();
                }
            }
            Err(err) => tracing::warn!("skipping an SSE message that is not JSON-RPC ({err})"),
        }
    };
    tracing::debug!(%reason, "legacy SSE stream ended");
    if let Ok(mut slot) = closed_reason.lock() {
        slot.get_or_insert(reason);
    }
    // After the reason: a direct request ended by this finds it.
    direct.close();
}

/// The events of the stream `body`, each event's data and every other line bounded by `max`
/// (see [`events`]); every chunk that arrives is activity (keep-alive comments too, though they
/// are no event).
fn bounded_events<S, E>(body: S, max: usize, activity: Activity) -> Events
where
    S: Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let bytes = body.map(move |chunk| {
        activity.touch();
        chunk.map_err(std::io::Error::other)
    });
    Box::pin(events(Box::pin(bytes), max))
}

/// `url` as error texts and logs show it: a password and the session id (`sessionId`,
/// `session_id`, which lets anyone post into the session) replaced by `***`.
fn shown(url: &Url) -> String {
    let is_session =
        |key: &str| key.eq_ignore_ascii_case("sessionid") || key.eq_ignore_ascii_case("session_id");
    let secret_query = url.query_pairs().any(|(key, _)| is_session(&key));
    if url.password().is_none() && !secret_query {
        return url.to_string();
    }
    let mut copy = url.clone();
    if copy.password().is_some() {
        let _ = copy.set_password(Some("***"));
    }
    if secret_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_session(&key) { "***".to_owned() } else { value.into_owned() };
                (key.into_owned(), value)
            })
            .collect();
        copy.query_pairs_mut().clear().extend_pairs(pairs);
    }
    copy.to_string()
}

/// A reqwest client with rustls (ring) trusting the system's root certificates.
fn default_client() -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("cannot set up TLS: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .tcp_nodelay(true)
        .build()
        .map_err(|err| format!("cannot build the HTTP client: {err}"))
}

fn connect_error(url: &str, err: &reqwest::Error) -> SseError {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    SseError::Connect { url: url.to_owned(), reason: source.to_string() }
}

/// The error for a response with an error status, through reqwest: see [`refusal`].
async fn status_error(url: String, response: reqwest::Response) -> SseError {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .map(|value| value.as_bytes().to_vec());
    let body = if refuses_credentials(status) {
        String::new()
    } else {
        response.text().await.unwrap_or_default()
    };
    refusal(url, status, challenge.as_deref(), &body)
}

/// The error for an answer with an error status: [`SseError::Unauthorized`] with the challenge
/// (`WWW-Authenticate`) for 401 and 403, else [`SseError::Http`] with the start of the body.
fn refusal(url: String, status: u16, challenge: Option<&[u8]>, body: &str) -> SseError {
    if refuses_credentials(status) {
        // Whole (within reason): a `BearerAuth` reads its `resource_metadata` URL.
        let www_authenticate =
            challenge.map(|value| String::from_utf8_lossy(value).chars().take(4096).collect());
        return SseError::Unauthorized { url, status, www_authenticate };
    }
    SseError::Http { url, status, body: excerpt(body) }
}

/// [`refusal`] for an answer read on a connection of our own.
fn answer_refusal(url: String, answer: &Answer) -> SseError {
    let body = String::from_utf8_lossy(&answer.body);
    refusal(url, answer.status, answer.www_authenticate.as_deref(), &body)
}

/// 401 and 403: the server wants credentials, or refuses the ones it got.
fn refuses_credentials(status: u16) -> bool {
    status == 401 || status == 403
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_owned(),
    }
}

impl Poster {
    async fn post(self, message: TxJsonRpcMessage<RoleClient>) -> Result<(), SseError> {
        let to = &*self.0;
        to.decoder.sent(&message);
        let body = encode(message).map_err(|err| SseError::Encode(err.to_string()))?;
        let body = bytes::Bytes::from(body);
        let mut retried = false;
        loop {
            let token = bearer_token(to.bearer.as_deref(), &to.shown).await?;
            let authorization = bearer_header(token.as_deref());
            let refused = match to.post_direct(&body, authorization.as_ref()).await? {
                Some(Sent::Accepted) => return Ok(()),
                Some(Sent::Refused(refused)) => refused,
                None => match to.post_with_client(&body, authorization).await? {
                    Sent::Accepted => return Ok(()),
                    Sent::Refused(refused) => refused,
                },
            };
            match refused {
                SseError::Unauthorized { status, www_authenticate, .. }
                    if !retried
                        && renewed(
                            to.bearer.as_deref(),
                            &to.shown,
                            status,
                            www_authenticate.as_deref(),
                            token.as_deref(),
                        )
                        .await? =>
                {
                    retried = true;
                }
                other => return Err(other),
            }
        }
    }
}

/// What became of a `POST` the server answered.
enum Sent {
    Accepted,
    /// An error status, as the error it makes.
    Refused(SseError),
}

impl PostTo {
    /// `POST`s `body` ourselves, when that applies ([`SseClientConfig::direct_posts`]);
    /// `None` when it does not, or when the server answered with a redirect (for `client`,
    /// and its redirect policy, to send again).
    async fn post_direct(
        &self,
        body: &[u8],
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<Sent>, SseError> {
        let Some(direct) = &self.direct else { return Ok(None) };
        let answer = tokio::time::timeout(self.timeout, direct.post(body, authorization))
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|err| SseError::Connect {
                url: self.shown.clone(),
                reason: err.to_string(),
            })?;
        Ok(match answer.status {
            200..=299 => Some(Sent::Accepted),
            300..=399 => None,
            _ => Some(Sent::Refused(answer_refusal(self.shown.clone(), &answer))),
        })
    }

    /// `POST`s `body` through `client`.
    async fn post_with_client(
        &self,
        body: &bytes::Bytes,
        authorization: Option<HeaderValue>,
    ) -> Result<Sent, SseError> {
        let mut request = reqwest::Request::new(reqwest::Method::POST, self.endpoint.clone());
        let headers = request.headers_mut();
        headers.clone_from(&self.headers);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value);
        }
        *request.body_mut() = Some(body.clone().into());
        let response = tokio::time::timeout(self.timeout, self.client.execute(request))
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|err| connect_error(&self.shown, &err))?;
        if response.status().is_success() {
            return Ok(Sent::Accepted);
        }
        Ok(Sent::Refused(status_error(self.shown.clone(), response).await))
    }

    fn timed_out(&self) -> SseError {
        SseError::Timeout { url: self.shown.clone(), after: self.timeout }
    }
}

/// The token `bearer` gives now, if there is a `bearer`.
async fn bearer_token(
    bearer: Option<&dyn BearerAuth>,
    url: &str,
) -> Result<Option<String>, SseError> {
    let Some(bearer) = bearer else { return Ok(None) };
    bearer.token().await.map_err(|source| SseError::Auth { url: url.to_owned(), source })
}

/// Whether `bearer` renewed the token the server refused (so a retry may succeed).
async fn renewed(
    bearer: Option<&dyn BearerAuth>,
    url: &str,
    status: u16,
    challenge: Option<&str>,
    sent: Option<&str>,
) -> Result<bool, SseError> {
    let Some(bearer) = bearer else { return Ok(false) };
    bearer
        .rejected(status, challenge, sent)
        .await
        .map_err(|source| SseError::Auth { url: url.to_owned(), source })
}

/// `Bearer <token>` as a sensitive header value (`None` for no token, or one no header can
/// carry: the server then answers 401 as for no token).
fn bearer_header(token: Option<&str>) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token?)).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl Transport<RoleClient> for SseClientTransport {
    type Error = SseError;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.poster.clone().post(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        self.messages.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.cancel.cancel();
        self.messages.close();
        Ok(())
    }
}

impl Drop for SseClientTransport {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn session_ids_and_passwords_are_hidden() {
        let url = url::Url::parse("http://bot:pw@127.0.0.1:9/message?sessionId=abc&x=1").unwrap();
        assert_eq!(shown(&url), "http://bot:***@127.0.0.1:9/message?sessionId=***&x=1");
        let url = url::Url::parse("http://127.0.0.1:9/messages/?session_id=abc").unwrap();
        assert_eq!(shown(&url), "http://127.0.0.1:9/messages/?session_id=***");
        let url = url::Url::parse("http://127.0.0.1:9/sse").unwrap();
        assert_eq!(shown(&url), "http://127.0.0.1:9/sse");
    }
}

/// Property tests of the event stream's reading: [`bounded_events`] (the SSE parser and its limit), [`wait_for_endpoint`]
/// and [`read_events`], fed byte chunks as a server might send them.
#[cfg(test)]
mod props {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use proptest::prelude::*;
    use serde_json::Value;
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;
    use url::Url;

    use super::{
        Activity, Answers, Direct, ResultDecoder, SseError, bounded_events, read_events,
        wait_for_endpoint,
    };

    const URL: &str = "http://127.0.0.1:9/sse";

    /// What the client makes of a stream: the endpoint (or why `connect` would fail), then
    /// the messages read after it and why the stream ended.
    #[derive(Debug)]
    struct Outcome {
        endpoint: Result<Url, SseError>,
        messages: Vec<Value>,
        reason: Option<String>,
    }

    /// Feeds `bytes`, cut into chunks of the `sizes` (cycled), through the client's reading.
    fn read(bytes: &[u8], sizes: &[usize], max: usize) -> Outcome {
        let mut chunks = Vec::new();
        let mut rest = bytes;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
            chunks.push(Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(chunk)));
            rest = tail;
        }
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
        runtime.block_on(async move {
            let activity = Activity::default();
            let mut events = bounded_events(futures::stream::iter(chunks), max, activity.clone());
            let url = Url::parse(URL).expect("a URL");
            let endpoint = match wait_for_endpoint(&mut events, &url, URL).await {
                Ok(endpoint) => endpoint,
                Err(err) => return Outcome { endpoint: Err(err), messages: vec![], reason: None },
            };
            let (sender, mut receiver) = mpsc::channel(64);
            let reason = Arc::new(Mutex::new(None));
            let answers =
                Answers { sender, direct: Direct::default(), decoder: ResultDecoder::default() };
            let reading = read_events(
                events,
                activity,
                answers,
                CancellationToken::new(),
                reason.clone(),
                Duration::from_secs(3600),
            );
            let collecting = async {
                let mut messages = Vec::new();
                while let Some(message) = receiver.recv().await {
                    messages.push(serde_json::to_value(message).expect("a message serializes"));
                }
                messages
            };
            let ((), messages) = tokio::join!(reading, collecting);
            let reason = reason.lock().expect("not poisoned").clone();
            Outcome { endpoint: Ok(endpoint), messages, reason }
        })
    }

    /// Chunk sizes: single bytes to whole events.
    fn sizes() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(prop_oneof![1usize..4, 1usize..400], 1..8)
    }

    /// A JSON-RPC message from a server, of kind `kind % 4`, carrying `number`.
    fn json(number: u64, kind: u8) -> String {
        match kind % 4 {
            0 => format!(r#"{{"jsonrpc":"2.0","id":{number},"result":{{"n":[1,2]}}}}"#),
            1 => format!(r#"{{"jsonrpc":"2.0","id":{number},"method":"ping"}}"#),
            2 => format!(
                r#"{{"jsonrpc":"2.0","id":{number},"error":{{"code":-32601,"message":"no"}}}}"#
            ),
            _ => format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"info","data":{number}}}}}"#
            ),
        }
    }

    /// One line of an event other than its data.
    #[derive(Clone, Debug)]
    enum Extra {
        Id(String),
        Retry(u32),
        Comment(String),
    }

    /// One event of the stream after `endpoint`.
    #[derive(Clone, Debug)]
    enum Item {
        /// A JSON-RPC message: `event: message` or unnamed, its JSON cut into `data:` lines
        /// after the commas chosen by `cuts`, with extra lines at the given places.
        Message { number: u64, kind: u8, named: bool, cuts: Vec<bool>, extras: Vec<(Extra, usize)> },
        /// An event of another name: skipped.
        Other { name: String, data: String },
        /// A message event whose data is not JSON-RPC: skipped.
        Junk(String),
        /// A lone comment (a keep-alive): no event.
        Comment(String),
    }

    /// Writes SSE lines, each ended as `ends` (cycled) says: `\n`, `\r\n` or `\r`.
    #[derive(Debug)]
    struct Writer {
        out: Vec<u8>,
        ends: Vec<u8>,
        at: usize,
        space: bool,
        /// The largest data of one event, and the longest line other than data.
        largest_data: usize,
        longest_line: usize,
    }

    impl Writer {
        fn new(ends: Vec<u8>, space: bool, bom: bool) -> Self {
            let out = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
            Writer { out, ends, at: 0, space, largest_data: 0, longest_line: 0 }
        }

        fn end(&mut self) {
            let end = self.ends.get(self.at % self.ends.len().max(1)).copied().unwrap_or(0);
            self.at += 1;
            // A `\n` right after a `\r` would end no line of its own.
            let after_cr = self.out.last() == Some(&b'\r');
            self.out.extend_from_slice(match end % 3 {
                0 if !after_cr => b"\n",
                0 | 1 => b"\r\n",
                _ => b"\r",
            });
        }

        fn line(&mut self, line: &str) {
            self.longest_line = self.longest_line.max(line.len());
            self.out.extend_from_slice(line.as_bytes());
            self.end();
        }

        fn field(&mut self, name: &str, value: &str) {
            let space = if self.space { " " } else { "" };
            self.line(&format!("{name}:{space}{value}"));
        }

        fn extra(&mut self, extra: &Extra) {
            match extra {
                Extra::Id(id) => self.field("id", id),
                Extra::Retry(retry) => self.field("retry", &retry.to_string()),
                Extra::Comment(text) => self.line(&format!(":{text}")),
            }
        }

        /// Data lines (`pieces` joined by `\n` are the event's data), with `extras` among them.
        fn event(&mut self, name: Option<&str>, pieces: &[&str], extras: &[(Extra, usize)]) {
            if let Some(name) = name {
                self.field("event", name);
            }
            let data = pieces.iter().map(|p| p.len()).sum::<usize>() + pieces.len().max(1) - 1;
            self.largest_data = self.largest_data.max(data);
            let space = if self.space { " " } else { "" };
            for (at, piece) in pieces.iter().enumerate() {
                for (extra, _) in extras.iter().filter(|(_, place)| place % pieces.len() == at) {
                    self.extra(extra);
                }
                // Data lines do not count as lines: their limit is the event's data.
                self.out.extend_from_slice(format!("data:{space}{piece}").as_bytes());
                self.end();
            }
            self.end();
        }

        /// The stream's `endpoint` event, after the comments of `prologue`.
        fn endpoint(&mut self, prologue: &[String], session: &str, id: Option<&str>) {
            for comment in prologue {
                self.line(&format!(":{comment}"));
            }
            let extras: Vec<_> = id.map(|id| (Extra::Id(id.to_owned()), 0)).into_iter().collect();
            self.event(Some("endpoint"), &[&format!("/message?sessionId={session}")], &extras);
        }

        /// Writes `item`; the message it carries, if any.
        fn item(&mut self, item: &Item) -> Option<Value> {
            match item {
                Item::Message { number, kind, named, cuts, extras } => {
                    let text = json(*number, *kind);
                    let mut pieces = Vec::new();
                    let mut start = 0;
                    for (comma, (at, _)) in text.match_indices(',').enumerate() {
                        if cuts.get(comma).copied().unwrap_or(false) {
                            pieces.push(&text[start..=at]);
                            start = at + 1;
                        }
                    }
                    pieces.push(&text[start..]);
                    self.event(named.then_some("message"), &pieces, extras);
                    Some(serde_json::from_str(&text).expect("valid JSON"))
                }
                Item::Other { name, data } => {
                    self.event(Some(name), &[data], &[]);
                    None
                }
                Item::Junk(data) => {
                    self.event(None, &[data], &[]);
                    None
                }
                Item::Comment(text) => {
                    self.line(&format!(":{text}"));
                    None
                }
            }
        }
    }

    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..100, 0..=i64::MAX.unsigned_abs()]
    }

    fn item() -> impl Strategy<Value = Item> {
        // An event holds one field of each kind but data.
        let extras = (
            prop::option::of("[ -~]{0,12}"),
            prop::option::of(any::<u32>()),
            prop::collection::vec("[ -~]{0,20}", 0..3),
            prop::collection::vec(any::<usize>(), 5),
        )
            .prop_map(|(id, retry, comments, places)| {
                id.map(Extra::Id)
                    .into_iter()
                    .chain(retry.map(Extra::Retry))
                    .chain(comments.into_iter().map(Extra::Comment))
                    .zip(places)
                    .collect::<Vec<_>>()
            });
        prop_oneof![
            6 => (number(), any::<u8>(), any::<bool>(), prop::collection::vec(any::<bool>(), 0..8), extras)
                .prop_map(|(number, kind, named, cuts, extras)| Item::Message { number, kind, named, cuts, extras }),
            1 => ("[a-z]{1,8}".prop_filter("another name", |n| n != "message"), "[ -~]{0,30}")
                .prop_map(|(name, data)| Item::Other { name, data }),
            1 => "[ -z|~]{0,30}".prop_map(Item::Junk),
            1 => "[ -~]{0,20}".prop_map(Item::Comment),
        ]
    }

    /// A stream's look: line ends, `data: ` or `data:`, a byte order mark.
    fn writer() -> impl Strategy<Value = Writer> {
        (prop::collection::vec(0u8..3, 1..6), any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(ends, space, bom)| Writer::new(ends, space, bom))
    }

    /// The start of a stream: comments, then the `endpoint` event.
    fn start() -> impl Strategy<Value = (Vec<String>, String, Option<String>)> {
        (
            prop::collection::vec("[ -~]{0,20}", 0..3),
            "[0-9a-f]{1,32}",
            prop::option::of("[ -~]{0,12}"),
        )
    }

    proptest! {
        /// A valid stream (`endpoint`, then messages, other events, junk and comments, with
        /// `id:`, `retry:` and comment lines among the data lines, LF, CRLF or CR line ends),
        /// cut anywhere, with a limit at least its largest message: the endpoint, then every
        /// message in order, then the end of the stream.
        #[test]
        fn prop_sse_valid_streams_give_every_message(
            mut writer in writer(),
            (prologue, session, id) in start(),
            items in prop::collection::vec(item(), 0..12),
            sizes in sizes(),
            slack in prop_oneof![Just(0usize), 0usize..100],
        ) {
            writer.endpoint(&prologue, &session, id.as_deref());
            let expected: Vec<Value> = items.iter().filter_map(|item| writer.item(item)).collect();
            let max = writer.largest_data.max(writer.longest_line) + slack;
            let outcome = read(&writer.out, &sizes, max);
            let endpoint = outcome.endpoint.as_ref().map(Url::as_str).map_err(ToString::to_string);
            let want = format!("http://127.0.0.1:9/message?sessionId={session}");
            prop_assert_eq!(endpoint, Ok(want.as_str()));
            prop_assert_eq!(outcome.messages, expected);
            prop_assert_eq!(outcome.reason.as_deref(), Some("the server closed the event stream"));
        }

        /// A stream whose message `at` has more data than the limit (in one `data:` line or
        /// several shorter ones), cut anywhere: the messages before it arrive, and the stream
        /// ends with the size error, also when it comes before `endpoint`.
        #[test]
        fn prop_sse_oversize_message_gives_the_size_error(
            mut writer in writer(),
            (prologue, session, id) in start(),
            items in prop::collection::vec(item(), 0..8),
            at in any::<prop::sample::Index>(),
            lines in 1usize..4,
            over in 1usize..50,
            sizes in sizes(),
            before_endpoint in prop::bool::weighted(0.2),
        ) {
            // The limit fits every other message.
            let max = {
                let mut probe = Writer::new(vec![0], true, false);
                probe.endpoint(&prologue, &session, id.as_deref());
                items.iter().for_each(|item| drop(probe.item(item)));
                probe.largest_data.max(probe.longest_line)
            };
            let at = if before_endpoint { 0 } else { at.index(items.len() + 1) };
            let big_len = max + over;
            // `lines` data lines joined by `\n`, their lengths adding up to `big_len`.
            let per = (big_len + 1) / lines;
            let mut pieces = Vec::new();
            let mut left = big_len + 1;
            for line in 0..lines {
                let len = if line + 1 == lines { left } else { per.min(left) };
                pieces.push("x".repeat(len.saturating_sub(1)));
                left -= len;
            }
            let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
            prop_assert_eq!(pieces.iter().map(|p| p.len()).sum::<usize>() + lines - 1, big_len);

            let mut expected = Vec::new();
            if before_endpoint {
                writer.event(None, &pieces, &[]);
            }
            writer.endpoint(&prologue, &session, id.as_deref());
            for (index, item) in items.iter().enumerate() {
                if index == at && !before_endpoint {
                    writer.event(Some("message"), &pieces, &[]);
                }
                let message = writer.item(item);
                if index < at && !before_endpoint {
                    expected.extend(message);
                }
            }
            if at == items.len() && !before_endpoint {
                writer.event(None, &pieces, &[]);
            }
            let outcome = read(&writer.out, &sizes, max);
            let size_error = format!("larger than {max} bytes (max_message_size)");
            if before_endpoint {
                let err = outcome.endpoint.expect_err("no endpoint").to_string();
                prop_assert!(err.contains(&size_error), "{}", err);
            } else {
                prop_assert!(outcome.endpoint.is_ok(), "{:?}", outcome.endpoint);
                prop_assert_eq!(outcome.messages, expected);
                let reason = outcome.reason.unwrap_or_default();
                prop_assert!(reason.contains(&size_error), "{}", reason);
            }
        }

        /// Random bytes (with SSE's pieces among them), cut anywhere: no panic, no hang; the
        /// client gets an endpoint or a typed error, and a stream read to its end says why it
        /// ended.
        #[test]
        fn prop_sse_random_bytes_end_cleanly(
            pieces in prop::collection::vec(prop_oneof![
                prop::collection::vec(any::<u8>(), 0..20),
                prop::sample::select(vec![
                    "\n", "\r", "\r\n", "\n\n", ":", "data: ", "data:", "event: endpoint\n",
                    "event: message\n", "event: message\ndata: ", "id: 1\n", "retry: 10\n",
                    "retry: x\n", "data: /message?sessionId=1\n\n", "data: //evil.example/x\n\n",
                    "data: http://[::1\n\n", r#"data: {"jsonrpc":"2.0","id":1,"result":{}}"#,
                    "\u{feff}", "\u{0}", "\u{ff}",
                ]).prop_map(|piece| piece.as_bytes().to_vec()),
            ], 0..40),
            sizes in sizes(),
            max in prop_oneof![1usize..16, 16usize..4096],
        ) {
            let bytes = pieces.concat();
            let outcome = read(&bytes, &sizes, max);
            match &outcome.endpoint {
                Ok(endpoint) => {
                    prop_assert_eq!(endpoint.origin(), Url::parse(URL).unwrap().origin());
                    let reason = outcome.reason.unwrap_or_default();
                    prop_assert!(
                        reason == "the server closed the event stream"
                            || reason.starts_with("the event stream broke: "),
                        "{}", reason
                    );
                }
                Err(SseError::Closed(_) | SseError::InvalidEndpoint { .. } | SseError::ForeignEndpoint { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }
    }
}
