//! The server half: an axum [`router`] that serves any rmcp server over legacy HTTP+SSE, and
//! [`SseServer`], which binds it to a loopback port.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt as _;
use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage, serve_server_with_ct};
use rmcp::transport::Transport;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Settings of the legacy SSE server.
///
/// ```
/// use mcp_sse::server::SseServerConfig;
///
/// let config = SseServerConfig::default().allowed_origin("http://localhost:6274");
/// assert_eq!(config.sse_path, "/sse");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SseServerConfig {
    /// Where clients open the event stream. Default `/sse`.
    pub sse_path: String,
    /// Where clients post messages (`?sessionId=…` is added). Default `/message`.
    pub message_path: String,
    /// Host names (without port) the `Host` header may carry. Default: `localhost`,
    /// `127.0.0.1` and `::1`, which blocks DNS-rebinding attacks on a loopback server. Empty:
    /// any host.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host:port`) allowed besides loopback ones. Requests with an `Origin`
    /// header from anywhere else are refused with 403.
    pub allowed_origins: Vec<String>,
    /// How often a keep-alive comment is sent on idle streams. Default 15 s.
    pub keep_alive: Duration,
    /// Largest message body accepted. Default 4 MiB.
    pub max_request_size: usize,
}

impl Default for SseServerConfig {
    fn default() -> Self {
        SseServerConfig {
            sse_path: "/sse".to_owned(),
            message_path: "/message".to_owned(),
            allowed_hosts: vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()],
            allowed_origins: Vec::new(),
            keep_alive: Duration::from_secs(15),
            max_request_size: 4 * 1024 * 1024,
        }
    }
}

impl SseServerConfig {
    /// Also allows requests from this origin, such as `http://localhost:6274`.
    #[must_use]
    pub fn allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Allows these host names in the `Host` header (replacing the loopback default).
    #[must_use]
    pub fn allowed_hosts<I: IntoIterator<Item = S>, S: Into<String>>(mut self, hosts: I) -> Self {
        self.allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the keep-alive interval.
    #[must_use]
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = interval;
        self
    }
}

type Sessions = Mutex<HashMap<String, mpsc::Sender<RxJsonRpcMessage<RoleServer>>>>;

struct Shared<F> {
    factory: F,
    sessions: Sessions,
    config: SseServerConfig,
}

/// An axum router serving the server `factory` makes, one instance per event stream, at
/// `config.sse_path` and `config.message_path`.
///
/// ```no_run
/// # #![allow(dead_code)]
/// # use rmcp::ServerHandler;
/// # #[derive(Clone)] struct MyServer;
/// # impl ServerHandler for MyServer {}
/// use mcp_sse::server::{SseServerConfig, router};
///
/// # async fn demo() -> std::io::Result<()> {
/// let app = router(|| MyServer, SseServerConfig::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
pub fn router<F, S>(factory: F, config: SseServerConfig) -> Router
where
    F: Fn() -> S + Send + Sync + 'static,
    S: rmcp::Service<RoleServer>,
{
    let max = config.max_request_size;
    let shared = Arc::new(Shared { factory, sessions: Mutex::default(), config: config.clone() });
    Router::new()
        .route(&config.sse_path, get(open_stream::<F, S>))
        .route(&config.message_path, post(receive_message::<F, S>))
        .layer(DefaultBodyLimit::max(max))
        .layer(middleware::from_fn_with_state(Arc::new(config), check_host_and_origin))
        .with_state(shared)
}

/// Refuses requests whose `Host` or `Origin` is not allowed (DNS rebinding).
async fn check_host_and_origin(
    State(config): State<Arc<SseServerConfig>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if !config.allowed_hosts.is_empty() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(host_name);
        if !host.is_some_and(|host| {
            config.allowed_hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(host))
        }) {
            return (StatusCode::FORBIDDEN, "Host not allowed").into_response();
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let loopback =
            url_host(origin).is_some_and(|host| matches!(host, "localhost" | "127.0.0.1" | "::1"));
        if !loopback && !config.allowed_origins.iter().any(|allowed| allowed == origin) {
            return (StatusCode::FORBIDDEN, "Origin not allowed").into_response();
        }
    }
    next.run(request).await
}

/// `host:port` or `[v6]:port` → the host.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(host, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) { host } else { authority }
    })
}

/// The host of an origin such as `http://localhost:3000`.
fn url_host(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(host_name(rest.split('/').next().unwrap_or(rest)))
}

/// Removes a session when its event stream is dropped (the client went away).
struct SessionGuard<F> {
    id: String,
    shared: Arc<Shared<F>>,
    cancel: CancellationToken,
}

impl<F> Drop for SessionGuard<F> {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.shared.sessions.lock() {
            sessions.remove(&self.id);
        }
        self.cancel.cancel();
        tracing::debug!(session = %self.id, "legacy SSE session ended");
    }
}

async fn open_stream<F, S>(State(shared): State<Arc<Shared<F>>>) -> Response
where
    F: Fn() -> S + Send + Sync + 'static,
    S: rmcp::Service<RoleServer>,
{
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_client, mut outgoing) = mpsc::channel::<TxJsonRpcMessage<RoleServer>>(64);
    let (incoming_sender, incoming) = mpsc::channel::<RxJsonRpcMessage<RoleServer>>(64);
    if let Ok(mut sessions) = shared.sessions.lock() {
        sessions.insert(id.clone(), incoming_sender);
    }
    let cancel = CancellationToken::new();
    let server = (shared.factory)();
    let transport = ChannelTransport { to_client, incoming };
    let service_cancel = cancel.clone();
    let session = id.clone();
    tokio::spawn(async move {
        match serve_server_with_ct(server, transport, service_cancel).await {
            Ok(running) => drop(running.waiting().await),
            Err(err) => tracing::debug!(%session, "legacy SSE session failed to start: {err}"),
        }
    });
    tracing::debug!(session = %id, "legacy SSE session opened");
    let endpoint = format!("{}?sessionId={id}", shared.config.message_path);
    let keep_alive = shared.config.keep_alive;
    let guard = SessionGuard { id, shared, cancel };
    let first =
        futures::stream::once(async move { Event::default().event("endpoint").data(endpoint) });
    let messages = futures::stream::poll_fn(move |cx| outgoing.poll_recv(cx)).filter_map(
        |message| async move {
            match serde_json::to_string(&message) {
                Ok(json) => Some(Event::default().event("message").data(json)),
                Err(err) => {
                    tracing::warn!("cannot encode a message: {err}");
                    None
                }
            }
        },
    );
    let stream = first.chain(messages).map(move |event| {
        let _keep = &guard;
        Ok::<_, Infallible>(event)
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)).into_response()
}

#[derive(serde::Deserialize)]
struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

async fn receive_message<F, S>(
    State(shared): State<Arc<Shared<F>>>,
    Query(query): Query<MessageQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response
where
    F: Fn() -> S + Send + Sync + 'static,
    S: rmcp::Service<RoleServer>,
{
    let Some(id) = query.session_id else {
        return (StatusCode::BAD_REQUEST, "missing sessionId").into_response();
    };
    let sender = shared.sessions.lock().ok().and_then(|sessions| sessions.get(&id).cloned());
    let Some(sender) = sender else {
        return (StatusCode::NOT_FOUND, "unknown session; open a new event stream").into_response();
    };
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.get(..16).is_some_and(|t| t.eq_ignore_ascii_case("application/json")));
    if !json_body {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected application/json").into_response();
    }
    let message: RxJsonRpcMessage<RoleServer> = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("not a JSON-RPC message: {err}"))
                .into_response();
        }
    };
    match sender.send(message).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "the session has ended").into_response(),
    }
}

/// The server side of one session: messages in from POSTs, out to the event stream.
struct ChannelTransport {
    to_client: mpsc::Sender<TxJsonRpcMessage<RoleServer>>,
    incoming: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
}

impl Transport<RoleServer> for ChannelTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let sender = self.to_client.clone();
        async move {
            sender.send(item).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the event stream is closed")
            })
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        self.incoming.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        Ok(())
    }
}

/// A legacy SSE server bound to a port, serving until dropped or [`shutdown`](Self::shutdown).
///
/// ```no_run
/// # #![allow(dead_code)]
/// # use rmcp::ServerHandler;
/// # #[derive(Clone)] struct MyServer;
/// # impl ServerHandler for MyServer {}
/// use mcp_sse::server::{SseServer, SseServerConfig};
///
/// # async fn demo() -> std::io::Result<()> {
/// let server = SseServer::bind_loopback(0, || MyServer, SseServerConfig::default()).await?;
/// println!("serving at {}", server.url());
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SseServer {
    address: SocketAddr,
    sse_path: String,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SseServer {
    /// Binds `address` (use a loopback address unless the server must be reachable from other
    /// hosts, and then set [`SseServerConfig::allowed_hosts`]) and starts serving.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind<F, S>(
        address: impl tokio::net::ToSocketAddrs,
        factory: F,
        config: SseServerConfig,
    ) -> std::io::Result<Self>
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: rmcp::Service<RoleServer>,
    {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let sse_path = config.sse_path.clone();
        let app = router(factory, config);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let listener =
            axum::serve::ListenerExt::tap_io(listener, |tcp| drop(tcp.set_nodelay(true)));
        let task = tokio::spawn(async move {
            let served =
                axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
            if let Err(err) = served {
                tracing::warn!("legacy SSE server stopped: {err}");
            }
        });
        Ok(SseServer { address, sse_path, cancel, task: Some(task) })
    }

    /// Binds `127.0.0.1:port` (0: any free port) and starts serving: the loopback-only default,
    /// which together with the default `Host` and `Origin` checks keeps the server private to
    /// this machine.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn bind_loopback<F, S>(
        port: u16,
        factory: F,
        config: SseServerConfig,
    ) -> std::io::Result<Self>
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: rmcp::Service<RoleServer>,
    {
        SseServer::bind((std::net::Ipv4Addr::LOCALHOST, port), factory, config).await
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The URL of the event stream, such as `http://127.0.0.1:8000/sse`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.address, self.sse_path)
    }

    /// Stops accepting connections and ends open streams.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for SseServer {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
