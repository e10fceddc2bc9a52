//! Streamable HTTP servers: rmcp's client transport on our HTTP client, its handshake, and what
//! its failures mean.

mod direct;
mod events;
mod gate;
mod oauth;
mod requests;

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use mcp_auth::Authorizer;
use mcp_config::{StreamableHttpConfig, TransportKind};
use rmcp::ServiceError;
use rmcp::serve_client_with_lifecycle;
use rmcp::service::ClientInitializeError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError,
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::transport::worker::WorkerQuitReason;

use crate::connection::{
    Connect, Connection, DirectWriter, Failed, Link, describe_init_error, lifecycle,
};
use crate::error::SessionError;
use crate::handler::Adapter;
use crate::remote::{ClientSettings, Clients, Endpoint};

pub(crate) use self::direct::DirectHttp;
use self::oauth::{ClientError, OAuthHttp};
use self::requests::{HttpWriter, Route};

type Transport = StreamableHttpClientTransport<OAuthHttp>;
type HttpError = StreamableHttpError<ClientError>;

/// A streamable HTTP server whose transport is ready: what [`connect`] returns.
pub(crate) struct Connecting {
    server: String,
    url: String,
    /// The variable of the server's `auth` of type bearer, named by a 401 or 403.
    token_env: Option<String>,
    protocol: mcp_config::Protocol,
    start: Option<(Adapter, Transport)>,
    /// The transport's requests on our connections, for requests past rmcp once it is open.
    past: Option<(Arc<DirectHttp>, Arc<Route>)>,
    /// What a second try needs, on a fresh client: taken by the first try that fails after
    /// sending (see [`Clients`]).
    again: Option<Again>,
}

/// The parts of a transport to build it again on a renewed shared client.
struct Again {
    adapter: Adapter,
    transport_config: StreamableHttpClientTransportConfig,
    clients: Clients,
    settings: ClientSettings,
    auth: Option<Arc<Authorizer>>,
    /// The endpoint, for fresh connections of our own on the second try.
    url: url::Url,
}

/// Prepares the transport for `config`'s server, on the HTTP client `clients` share for its
/// settings, with the tokens of `auth` when its `auth` is of type oauth; [`Connect::handshake`]
/// sends `initialize`.
pub(crate) fn connect(
    config: &StreamableHttpConfig,
    adapter: Adapter,
    clients: &Clients,
    auth: Option<Arc<Authorizer>>,
) -> Result<Connecting, SessionError> {
    let endpoint = Endpoint::from(config);
    let mut headers = endpoint.header_map()?;
    let mut transport_config = StreamableHttpClientTransportConfig::with_uri(config.url.as_str());
    // rmcp sends the token as `Authorization: Bearer <token>` and refuses it as a custom header.
    if let Some(value) = headers.remove(reqwest::header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        transport_config =
            transport_config.auth_header(value.strip_prefix("Bearer ").unwrap_or(value));
    }
    let transport_config = transport_config
        .custom_headers(headers.into_iter().filter_map(|(k, v)| Some((k?, v))).collect());
    let settings = endpoint.settings();
    let client = clients.get(&settings, endpoint.server)?;
    let client = OAuthHttp::new(client, auth.clone(), clients.direct(&settings, &config.url));
    let past = client.past_rmcp();
    let transport = StreamableHttpClientTransport::with_client(client, transport_config.clone());
    Ok(Connecting {
        server: config.server_name.clone(),
        url: endpoint.shown_url(),
        token_env: endpoint.token_env().map(str::to_owned),
        protocol: config.protocol,
        start: Some((adapter.clone(), transport)),
        past,
        again: Some(Again {
            adapter,
            transport_config,
            clients: clients.clone(),
            settings,
            auth,
            url: config.url.clone(),
        }),
    })
}

impl Connect for Connecting {
    async fn handshake(&mut self) -> Result<Connection, SessionError> {
        loop {
            let Some((adapter, transport)) = self.start.take() else {
                return Err(SessionError::Closed { server: self.server.clone() });
            };
            let err =
                match serve_client_with_lifecycle(adapter, transport, lifecycle(self.protocol))
                    .await
                {
                    Ok(service) => {
                        let link = Box::new(HttpLink {
                            url: self.url.clone(),
                            token_env: self.token_env.clone(),
                        });
                        let writer = self.writer(&service);
                        return Ok(Connection { service, link, writer });
                    }
                    Err(err) => err,
                };
            // Sent on a connection that then broke with no answer: maybe a kept-alive one to a
            // server process that has since gone. Once, on a client with no idle connections.
            match self.again.take() {
                Some(again) if sending_failed(&err) => {
                    tracing::debug!("initialize failed after sending; again on a fresh client");
                    let client = again.clients.renew(&again.settings, &self.server)?;
                    let direct = again.clients.renew_direct(&again.settings, &again.url);
                    let client = OAuthHttp::new(client, again.auth, direct);
                    self.past = client.past_rmcp();
                    let transport =
                        StreamableHttpClientTransport::with_client(client, again.transport_config);
                    self.start = Some((again.adapter, transport));
                }
                _ => {
                    let error = init_error(&self.server, &self.url, &err);
                    return Err(error.with_token_env(self.token_env.as_deref()));
                }
            }
        }
    }

    async fn timed_out(self, after: Duration) -> SessionError {
        SessionError::Timeout { server: self.server, operation: "initialize".to_owned(), after }
    }
}

impl Connecting {
    /// The writer for requests past rmcp ([`requests`]), on a session whose requests go on our
    /// own connections, under a protocol whose requests all carry the same headers (from
    /// 2026-07-28 on, rmcp adds headers per request: `Mcp-Method`, `Mcp-Param-*`).
    fn writer(&mut self, service: &crate::connection::Service) -> Option<Arc<dyn DirectWriter>> {
        let (http, route) = self.past.take()?;
        let version = &service.peer_info()?.protocol_version;
        if *version >= rmcp::model::ProtocolVersion::STANDARD_HEADERS {
            return None;
        }
        Some(Arc::new(HttpWriter::new(http, route, service.peer().clone())))
    }
}

/// What a failed handshake means: an HTTP status on the `initialize` POST says the URL is no
/// streamable HTTP endpoint (400, 404, 405) or wants credentials (401, 403).
fn init_error(server: &str, url: &str, err: &ClientInitializeError) -> SessionError {
    // rmcp does not expose the transport error as this variant's source: start from it.
    let cause = match err {
        ClientInitializeError::TransportError { error, .. } => {
            classify(server, url, error.error.as_ref())
        }
        other => classify(server, url, other),
    };
    match cause {
        Some(SessionError::Http { status: status @ (400 | 404 | 405), .. }) => {
            SessionError::NotStreamableHttp {
                server: server.to_owned(),
                url: url.to_owned(),
                status,
            }
        }
        Some(SessionError::SessionExpired { .. }) => SessionError::NotStreamableHttp {
            server: server.to_owned(),
            url: url.to_owned(),
            status: 404,
        },
        Some(specific) => specific,
        // The connection was made, then broke before any answer (a reset): at open, that is a
        // server that cannot be reached as configured.
        None if sending_failed(err) => SessionError::Connect {
            server: server.to_owned(),
            url: url.to_owned(),
            reason: match err {
                ClientInitializeError::TransportError { error, .. } => {
                    mcp_config::redact::redact_text(&innermost(error.error.as_ref()))
                }
                other => describe_init_error(other),
            },
        },
        None => {
            let reason = match err {
                ClientInitializeError::TransportError { error, .. } => {
                    innermost(error.error.as_ref())
                }
                other => describe_init_error(other),
            };
            SessionError::Handshake {
                server: server.to_owned(),
                reason: mcp_config::redact::redact_text(&reason),
                stderr_tail: None,
            }
        }
    }
}

/// An open streamable HTTP session's side: the (redacted) URL and the bearer token's variable,
/// for its errors.
struct HttpLink {
    url: String,
    token_env: Option<String>,
}

impl Link for HttpLink {
    fn kind(&self) -> TransportKind {
        TransportKind::StreamableHttp
    }

    fn explain<'a>(&'a mut self, failed: Failed<'a>) -> BoxFuture<'a, Option<SessionError>> {
        let Failed { server, operation, err } = failed;
        let explained = request_error(server, &self.url, operation, err)
            .map(|error| error.with_token_env(self.token_env.as_deref()));
        Box::pin(std::future::ready(explained))
    }
}

/// What a failed request means, when its transport failed in a way we can name.
fn request_error(
    server: &str,
    url: &str,
    operation: &str,
    err: &ServiceError,
) -> Option<SessionError> {
    let ServiceError::TransportSend(error) = err else { return None };
    classify(server, url, error.error.as_ref()).or_else(|| {
        Some(SessionError::ConnectionClosed {
            server: server.to_owned(),
            operation: operation.to_owned(),
            reason: Some(mcp_config::redact::redact_text(&innermost(error.error.as_ref()))),
        })
    })
}

/// The most specific error for a failure to reach or talk to the server, if there is one.
fn classify(server: &str, url: &str, error: &(dyn StdError + 'static)) -> Option<SessionError> {
    let status_error = |status: u16, challenge: Option<String>, body: String| {
        SessionError::from_status(server, url.to_owned(), status, challenge, body)
    };
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(auth) = err.downcast_ref::<AuthRequiredError>() {
            return Some(status_error(
                401,
                Some(auth.www_authenticate_header.clone()),
                String::new(),
            ));
        }
        if let Some(scope) = err.downcast_ref::<InsufficientScopeError>() {
            return Some(status_error(
                403,
                Some(scope.www_authenticate_header.clone()),
                String::new(),
            ));
        }
        if let Some(status) = err.downcast_ref::<HttpStatusError>() {
            return Some(status_error(status.status, None, String::new()));
        }
        let client_error = match err.downcast_ref::<HttpError>() {
            Some(StreamableHttpError::SessionExpired) => {
                return Some(SessionError::SessionExpired {
                    server: server.to_owned(),
                    url: url.to_owned(),
                });
            }
            Some(StreamableHttpError::AuthRequired(auth)) => {
                return Some(status_error(
                    401,
                    Some(auth.www_authenticate_header.clone()),
                    String::new(),
                ));
            }
            Some(StreamableHttpError::InsufficientScope(scope)) => {
                return Some(status_error(
                    403,
                    Some(scope.www_authenticate_header.clone()),
                    String::new(),
                ));
            }
            Some(StreamableHttpError::UnexpectedServerResponse(text)) => {
                if let Some((status, body)) = status_in(text) {
                    return Some(status_error(status, None, body));
                }
                None
            }
            // A transparent variant: its `source()` skips the status error itself.
            Some(StreamableHttpError::HttpStatus(status)) => {
                return Some(status_error(status.status, None, String::new()));
            }
            Some(StreamableHttpError::Client(ClientError::Auth(auth))) => {
                return Some(SessionError::from_auth(auth));
            }
            Some(StreamableHttpError::Client(ClientError::Connect(refused))) => {
                return Some(SessionError::Connect {
                    server: server.to_owned(),
                    url: url.to_owned(),
                    reason: mcp_config::redact::redact_text(&refused.to_string()),
                });
            }
            _ => reqwest_error(err),
        };
        if let Some(auth) = err.downcast_ref::<mcp_auth::AuthError>() {
            return Some(SessionError::from_auth(auth));
        }
        if let Some(client_error) = client_error {
            if let Some(status) = client_error.status() {
                return Some(status_error(status.as_u16(), None, String::new()));
            }
            // Only a connection that was never made: a request timed out after it was sent may
            // have reached the server, and `Connect` tells a pool that it is safe to repeat.
            if client_error.is_connect() {
                let mut reason = mcp_config::redact::redact_text(&innermost(client_error));
                if reason.contains("certificate") {
                    reason.push_str(
                        " (if the server's certificate comes from a private CA, set `ca_file` for it)",
                    );
                }
                return Some(SessionError::Connect {
                    server: server.to_owned(),
                    url: url.to_owned(),
                    reason,
                });
            }
        }
        current = next_cause(err);
    }
    None
}

/// Whether the handshake failed because the connection broke after it was made (not a refused
/// connection): its request was being sent, or sent with no answer yet.
fn sending_failed(err: &ClientInitializeError) -> bool {
    let ClientInitializeError::TransportError { error, .. } = err else { return false };
    let mut current: Option<&(dyn StdError + 'static)> = Some(error.error.as_ref());
    while let Some(err) = current {
        if let Some(StreamableHttpError::Client(ClientError::Io(err))) =
            err.downcast_ref::<HttpError>()
            && matches!(
                err.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            )
        {
            return true;
        }
        let client_error = reqwest_error(err);
        if client_error.is_some_and(|error| error.is_request() && !error.is_connect()) {
            return true;
        }
        current = next_cause(err);
    }
    false
}

/// The error under `err`, including the ones rmcp holds without exposing them as sources (the
/// worker's fatal error, the HTTP client's error).
fn next_cause<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(WorkerQuitReason::Fatal { error, .. }) =
        err.downcast_ref::<WorkerQuitReason<HttpError>>()
    {
        return Some(error);
    }
    match err.downcast_ref::<HttpError>() {
        Some(StreamableHttpError::Client(ClientError::Http(inner))) => return Some(inner),
        Some(StreamableHttpError::Client(ClientError::Auth(inner))) => return Some(inner),
        Some(StreamableHttpError::Client(ClientError::Connect(inner) | ClientError::Io(inner))) => {
            return Some(inner);
        }
        _ => {}
    }
    if let Some(ClientError::Http(inner)) = err.downcast_ref::<ClientError>() {
        return Some(inner);
    }
    err.source()
}

/// The HTTP client's error `err` is or holds directly, if any.
fn reqwest_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a reqwest::Error> {
    match err.downcast_ref::<HttpError>() {
        Some(StreamableHttpError::Client(ClientError::Http(inner))) => Some(inner),
        _ => match err.downcast_ref::<ClientError>() {
            Some(ClientError::Http(inner)) => Some(inner),
            _ => err.downcast_ref::<reqwest::Error>(),
        },
    }
}

/// The innermost cause's message, through the causes rmcp hides.
fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut current = err;
    while let Some(next) = next_cause(current) {
        current = next;
    }
    current.to_string()
}

/// The status and body of rmcp's `HTTP 404: body` text for statuses it has no type for.
fn status_in(text: &str) -> Option<(u16, String)> {
    let rest = text.strip_prefix("HTTP ")?;
    let status = rest.get(..3)?.parse::<u16>().ok()?;
    // `HTTP 404 Not Found: body`: the reason phrase, then the body.
    let body = rest.get(3..)?.split_once(':').map_or("", |(_, body)| body.trim());
    let body: String = body.chars().take(200).collect();
    (300..600).contains(&status).then(|| (status, mcp_config::redact::redact_text(&body)))
}

#[cfg(test)]
mod tests {
    use super::status_in;

    #[test]
    fn statuses_in_rmcp_texts_are_found() {
        assert_eq!(status_in("HTTP 404 Not Found: not here"), Some((404, "not here".to_owned())));
        assert_eq!(status_in("HTTP 405 Method Not Allowed"), Some((405, String::new())));
        assert_eq!(status_in("HTTP 200 OK: fine"), None);
        assert_eq!(status_in("HTTP 307 Temporary Redirect"), Some((307, String::new())));
        assert_eq!(status_in("something else"), None);
    }
}
