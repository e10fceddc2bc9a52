//! Legacy HTTP+SSE servers (protocol 2024-11-05), through mcp-sse's client: connecting (the
//! `GET` and its `endpoint` event), the handshake, and what their failures mean.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use mcp_auth::{AuthError, Authorizer, Round, Token};
use mcp_config::TransportKind;
use mcp_sse::client::{
    BearerAuth, BearerError, ClosedReason, Requester, SseClientConfig, SseClientTransport, SseError,
};
use mcp_sse::direct::Direct;
use rmcp::serve_client_with_lifecycle;
use rmcp::service::{ClientInitializeError, ClientLifecycleMode};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::DynamicTransportError;
use rmcp::{RoleClient, ServiceError};

use crate::connection::{
    Connect, Connection, DirectWriter, Failed, Link, Unwritten, describe_init_error,
};
use crate::error::SessionError;
use crate::handler::Adapter;
use crate::remote::Endpoint;

/// The operation named when no `endpoint` event arrives in time.
const WAITING_FOR_ENDPOINT: &str = "connect (waiting for the `endpoint` event)";

/// A legacy SSE server about to be connected: what [`connect`] returns.
pub(crate) struct Connecting {
    server: String,
    url: String,
    /// The variable of the server's `auth` of type bearer, named by a 401 or 403.
    token_env: Option<String>,
    start: Option<(Adapter, SseClientConfig)>,
    /// Set once the event stream is open, so that a timeout can say which step it hit.
    stream_open: bool,
}

/// Prepares a connection to `endpoint`, with the tokens of `auth` when its `auth` is of type
/// oauth; [`Connect::handshake`] opens the event stream, waits for its `endpoint` event and
/// sends `initialize`. Legacy SSE has one handshake (`initialize`).
pub(crate) fn connect(
    endpoint: &Endpoint<'_>,
    adapter: Adapter,
    auth: Option<Arc<Authorizer>>,
) -> Result<Connecting, SessionError> {
    let mut config = SseClientConfig::new(endpoint.url.clone())
        .headers(endpoint.header_map()?)
        .timeout(endpoint.timeout)
        .sse_read_timeout(endpoint.sse_read_timeout)
        .client(endpoint.client()?);
    if let Some(auth) = auth {
        config = config.bearer(Arc::new(SseBearer(auth)));
    }
    Ok(Connecting {
        server: endpoint.server.to_owned(),
        url: endpoint.shown_url(),
        token_env: endpoint.token_env().map(str::to_owned),
        start: Some((adapter, config)),
        stream_open: false,
    })
}

impl Connect for Connecting {
    async fn handshake(&mut self) -> Result<Connection, SessionError> {
        let Some((adapter, config)) = self.start.take() else {
            return Err(SessionError::Closed { server: self.server.clone() });
        };
        let transport = SseClientTransport::connect(config)
            .await
            .map_err(|err| self.sse_error(err).with_token_env(self.token_env.as_deref()))?;
        self.stream_open = true;
        let closed = transport.closed_reason_handle();
        let requester = transport.requester();
        match serve_client_with_lifecycle(adapter, transport, ClientLifecycleMode::Initialize).await
        {
            Ok(service) => {
                let link =
                    SseLink { url: self.url.clone(), closed, token_env: self.token_env.clone() };
                let writer = Arc::new(SseWriter(requester));
                Ok(Connection { service, link: Box::new(link), writer: Some(writer) })
            }
            Err(err) => {
                Err(self.init_error(&err, &closed).with_token_env(self.token_env.as_deref()))
            }
        }
    }

    async fn timed_out(self, after: Duration) -> SessionError {
        let operation = if self.stream_open { "initialize" } else { WAITING_FOR_ENDPOINT };
        SessionError::Timeout { server: self.server, operation: operation.to_owned(), after }
    }
}

impl Connecting {
    fn sse_error(&self, err: SseError) -> SessionError {
        let server = self.server.clone();
        let url = self.url.clone();
        match err {
            SseError::Connect { reason, .. } => SessionError::Connect {
                server,
                url,
                reason: mcp_config::redact::redact_text(&reason),
            },
            SseError::Http { status, body, .. } => {
                SessionError::from_status(&server, url, status, None, body)
            }
            SseError::Unauthorized { status, www_authenticate, .. } => {
                SessionError::from_status(&server, url, status, www_authenticate, String::new())
            }
            SseError::NoEndpoint { after, .. } => {
                SessionError::Timeout { server, operation: WAITING_FOR_ENDPOINT.to_owned(), after }
            }
            SseError::Auth { source, .. } => auth_error(&server, source.as_ref()),
            SseError::Timeout { after, .. } => {
                SessionError::Timeout { server, operation: "initialize".to_owned(), after }
            }
            SseError::Closed(reason) => SessionError::ConnectionClosed {
                server,
                operation: WAITING_FOR_ENDPOINT.to_owned(),
                reason: Some(reason),
            },
            not_sse => SessionError::NotSse {
                server,
                url,
                reason: mcp_config::redact::redact_text(&not_sse.to_string()),
            },
        }
    }

    fn init_error(&self, err: &ClientInitializeError, closed: &ClosedReason) -> SessionError {
        if let ClientInitializeError::TransportError { error, .. } = err
            && let Some(sse) = error.error.downcast_ref::<SseError>()
        {
            return match sse {
                SseError::Http { status, body, .. } => SessionError::from_status(
                    &self.server,
                    self.url.clone(),
                    *status,
                    None,
                    body.clone(),
                ),
                SseError::Unauthorized { status, www_authenticate, .. } => {
                    SessionError::from_status(
                        &self.server,
                        self.url.clone(),
                        *status,
                        www_authenticate.clone(),
                        String::new(),
                    )
                }
                SseError::Timeout { after, .. } => SessionError::Timeout {
                    server: self.server.clone(),
                    operation: "initialize".to_owned(),
                    after: *after,
                },
                SseError::Auth { source, .. } => auth_error(&self.server, source.as_ref()),
                other => SessionError::Handshake {
                    server: self.server.clone(),
                    reason: mcp_config::redact::redact_text(&other.to_string()),
                    stderr_tail: None,
                },
            };
        }
        if let (ClientInitializeError::ConnectionClosed(_), Some(reason)) = (err, closed.get()) {
            return SessionError::ConnectionClosed {
                server: self.server.clone(),
                operation: "initialize".to_owned(),
                reason: Some(reason),
            };
        }
        SessionError::Handshake {
            server: self.server.clone(),
            reason: mcp_config::redact::redact_text(&describe_init_error(err)),
            stderr_tail: None,
        }
    }
}

/// An open legacy SSE session's side: the (redacted) URL, why its stream ended, and the bearer
/// token's variable.
/// The legacy SSE transport's writer for requests past rmcp's service loop: its `POST`s, whose
/// answers its event reader gives back.
struct SseWriter(Requester);

impl DirectWriter for SseWriter {
    fn requests(&self) -> &Direct {
        self.0.direct()
    }

    fn write(
        &self,
        message: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, Result<Option<RxJsonRpcMessage<RoleClient>>, Unwritten>> {
        let post = self.0.post(message);
        Box::pin(async move {
            post.await.map(|()| None).map_err(|err| Unwritten {
                // As for rmcp's sends over this transport (`Link::never_sent`'s default).
                began: true,
                err: ServiceError::TransportSend(DynamicTransportError::new::<
                    SseClientTransport,
                    RoleClient,
                >(err)),
            })
        })
    }
}

struct SseLink {
    url: String,
    closed: ClosedReason,
    token_env: Option<String>,
}

impl Link for SseLink {
    fn kind(&self) -> TransportKind {
        TransportKind::Sse
    }

    fn explain<'a>(&'a mut self, failed: Failed<'a>) -> BoxFuture<'a, Option<SessionError>> {
        let Failed { server, operation, err } = failed;
        let explained = request_error(server, &self.url, &self.closed, operation, err)
            .map(|error| error.with_token_env(self.token_env.as_deref()));
        Box::pin(std::future::ready(explained))
    }
}

/// What a failed request means: an HTTP status on the message `POST` (404: the server forgot
/// the session), or the event stream's end.
fn request_error(
    server: &str,
    url: &str,
    closed: &ClosedReason,
    operation: &str,
    err: &ServiceError,
) -> Option<SessionError> {
    match err {
        ServiceError::TransportSend(error) => match error.error.downcast_ref::<SseError>()? {
            SseError::Http { status: 404, .. } => Some(SessionError::SessionExpired {
                server: server.to_owned(),
                url: url.to_owned(),
            }),
            SseError::Http { status, body, .. } => {
                Some(SessionError::from_status(server, url.to_owned(), *status, None, body.clone()))
            }
            SseError::Unauthorized { status, www_authenticate, .. } => {
                Some(SessionError::from_status(
                    server,
                    url.to_owned(),
                    *status,
                    www_authenticate.clone(),
                    String::new(),
                ))
            }
            SseError::Timeout { after, .. } => Some(SessionError::Timeout {
                server: server.to_owned(),
                operation: operation.to_owned(),
                after: *after,
            }),
            SseError::Auth { source, .. } => Some(auth_error(server, source.as_ref())),
            _ => closed.get().map(|reason| SessionError::ConnectionClosed {
                server: server.to_owned(),
                operation: operation.to_owned(),
                reason: Some(reason),
            }),
        },
        ServiceError::TransportClosed => Some(SessionError::ConnectionClosed {
            server: server.to_owned(),
            operation: operation.to_owned(),
            reason: closed.get(),
        }),
        _ => None,
    }
}

/// The error for a [`BearerAuth`] that could give no token: the OAuth flow's, when it is one.
fn auth_error(
    server: &str,
    source: &(dyn std::error::Error + Send + Sync + 'static),
) -> SessionError {
    match source.downcast_ref::<AuthError>() {
        Some(err) => SessionError::from_auth(err),
        None => SessionError::Authorization {
            server: server.to_owned(),
            step: mcp_auth::Step::Authorization,
            reason: mcp_config::redact::redact_text(&source.to_string()),
        },
    }
}

/// mcp-sse's [`BearerAuth`] over an [`Authorizer`]: its token before each request; after a
/// 401, [`Authorizer::unauthorized`]; after a 403 with a challenge,
/// [`Authorizer::insufficient_scope`]. mcp-sse retries once, so each refusal is its own round.
#[derive(Debug)]
struct SseBearer(Arc<Authorizer>);

impl BearerAuth for SseBearer {
    fn token(&self) -> BoxFuture<'_, Result<Option<String>, BearerError>> {
        Box::pin(async move {
            let token = self.0.bearer().await.map_err(|err| Box::new(err) as BearerError)?;
            Ok(token.map(|token| token.expose().to_owned()))
        })
    }

    fn rejected<'a>(
        &'a self,
        status: u16,
        challenge: Option<&'a str>,
        sent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, BearerError>> {
        Box::pin(async move {
            let sent = sent.map(Token::new);
            let mut round = Round::new();
            let renewed = match (status, challenge) {
                (401, challenge) => self.0.unauthorized(challenge, sent.as_ref(), &mut round).await,
                (403, Some(challenge)) => {
                    self.0.insufficient_scope(challenge, sent.as_ref(), &mut round).await
                }
                _ => return Ok(false),
            };
            renewed.map(|_| true).map_err(|err| Box::new(err) as BearerError)
        })
    }
}
