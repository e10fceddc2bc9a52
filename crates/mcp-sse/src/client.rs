//! The client half: [`SseClientTransport`], an rmcp [`Transport`] for legacy SSE servers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use sse_stream::{Sse, SseStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

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
        }
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
    /// The server answered with an error status.
    #[error("HTTP {status} from {url}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Http {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
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
}

#[derive(Clone, Debug)]
struct Poster {
    client: reqwest::Client,
    endpoint: Url,
    headers: HeaderMap,
    timeout: Duration,
}

impl SseClientTransport {
    /// Connects: `GET`s the SSE URL and waits for the `endpoint` event.
    ///
    /// # Errors
    /// [`SseError`]: the server cannot be reached, answers with an error status or without an
    /// event stream, sends no `endpoint` in time, or names an endpoint on another origin.
    pub async fn connect(config: SseClientConfig) -> Result<Self, SseError> {
        let url = config.url.clone();
        let shown = shown(&url);
        let client = match config.client.clone() {
            Some(client) => client,
            None => default_client()
                .map_err(|reason| SseError::Connect { url: shown.clone(), reason })?,
        };
        let connect = async {
            let response = client
                .get(url.clone())
                .headers(config.headers.clone())
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .send()
                .await
                .map_err(|err| connect_error(&shown, &err))?;
            let status = response.status();
            if !status.is_success() {
                let body = excerpt(&response.text().await.unwrap_or_default());
                return Err(SseError::Http { url: shown.clone(), status: status.as_u16(), body });
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
            let activity = Activity::default();
            let bytes = limit(response.bytes_stream(), config.max_message_size, activity.clone());
            let mut events: Events = Box::pin(SseStream::from_bytes_stream(bytes));
            loop {
                match events.next().await {
                    Some(Ok(Sse { event: Some(kind), data, .. })) if kind == "endpoint" => {
                        let data = data.unwrap_or_default();
                        let endpoint = url.join(data.trim()).map_err(|_| {
                            SseError::InvalidEndpoint { url: shown.clone(), endpoint: data.clone() }
                        })?;
                        if endpoint.origin() != url.origin() {
                            return Err(SseError::ForeignEndpoint {
                                url: shown.clone(),
                                endpoint: self::shown(&endpoint),
                            });
                        }
                        return Ok((endpoint, events, activity));
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
        };
        let (endpoint, events, activity) =
            tokio::time::timeout(config.timeout, connect).await.map_err(|_| {
                SseError::NoEndpoint { url: shown.clone(), after: config.timeout }
            })??;
        tracing::debug!(url = %shown, endpoint = %self::shown(&endpoint), "legacy SSE connected");
        let (sender, messages) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let closed_reason = Arc::new(Mutex::new(None));
        tokio::spawn(read_events(
            events,
            activity,
            sender,
            cancel.clone(),
            closed_reason.clone(),
            config.sse_read_timeout,
        ));
        let poster = Poster {
            client,
            endpoint: endpoint.clone(),
            headers: config.headers,
            timeout: config.timeout,
        };
        Ok(SseClientTransport { messages, poster, endpoint, cancel, closed_reason })
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
type Events = std::pin::Pin<Box<dyn Stream<Item = Result<Sse, sse_stream::Error>> + Send>>;

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

/// Reads the event stream until it ends, is silent too long, or the transport closes.
async fn read_events(
    mut events: Events,
    activity: Activity,
    sender: mpsc::Sender<RxJsonRpcMessage<RoleClient>>,
    cancel: CancellationToken,
    closed_reason: Arc<Mutex<Option<String>>>,
    silence: Duration,
) {
    let reason = loop {
        let deadline = activity.last() + silence;
        let next = tokio::select! {
            () = cancel.cancelled() => break "closed by the client".to_owned(),
            next = events.next() => next,
            () = tokio::time::sleep_until(deadline) => {
                if activity.last() + silence <= tokio::time::Instant::now() {
                    break format!("nothing arrived for {silence:?} (sse_read_timeout)");
                }
                continue;
            }
        };
        let event = match next {
            None => break "the server closed the event stream".to_owned(),
            Some(Err(err)) => break format!("the event stream broke: {err}"),
            Some(Ok(event)) => event,
        };
        let is_message = matches!(event.event.as_deref(), None | Some("message"));
        let Some(data) = event.data.filter(|_| is_message) else { continue };
        match serde_json::from_str::<RxJsonRpcMessage<RoleClient>>(&data) {
            Ok(message) => {
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
}

/// Ends the byte stream with an error when one line (one SSE field) exceeds `max` bytes, and
/// records when bytes arrive (keep-alive comments count as activity, though they are no event).
fn limit<S, E>(
    stream: S,
    max: usize,
    activity: Activity,
) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>>
where
    S: Stream<Item = Result<bytes::Bytes, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut line = 0usize;
    stream.map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        activity.touch();
        for &byte in chunk.iter() {
            line = if byte == b'\n' { 0 } else { line + 1 };
            if line > max {
                return Err(std::io::Error::other(format!(
                    "a message is larger than {max} bytes (max_message_size)"
                )));
            }
        }
        Ok(chunk)
    })
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

fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_owned(),
    }
}

impl Poster {
    async fn post(self, message: TxJsonRpcMessage<RoleClient>) -> Result<(), SseError> {
        let body = serde_json::to_vec(&message).map_err(|err| SseError::Encode(err.to_string()))?;
        let shown = shown(&self.endpoint);
        let request = self
            .client
            .post(self.endpoint)
            .headers(self.headers)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send();
        let response = tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| SseError::Timeout { url: shown.clone(), after: self.timeout })?
            .map_err(|err| connect_error(&shown, &err))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = excerpt(&response.text().await.unwrap_or_default());
        Err(SseError::Http { url: shown, status: status.as_u16(), body })
    }
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
