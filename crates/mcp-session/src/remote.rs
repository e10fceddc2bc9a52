//! [`Endpoint`]: what an HTTP server's config says about reaching it, shared by both HTTP
//! transports (streamable HTTP and legacy SSE): its headers, checked, with the bearer token its
//! `auth` reads from the environment, and its HTTP client; and [`Clients`], the HTTP clients a
//! manager's streamable HTTP sessions share.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mcp_config::{AuthConfig, OAuthConfig, SseConfig, StreamableHttpConfig};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{SessionError, TokenProblem};
use crate::http::DirectHttp;
use crate::http_client::HttpClientBuilder;

/// Headers the MCP transports set themselves, refused as configured headers.
const RESERVED: &[&str] = &["accept", "mcp-session-id", "last-event-id", "mcp-protocol-version"];

/// How to reach one HTTP server.
pub(crate) struct Endpoint<'a> {
    pub(crate) server: &'a str,
    pub(crate) url: &'a Url,
    headers: &'a BTreeMap<String, String>,
    auth: &'a AuthConfig,
    pub(crate) timeout: Duration,
    pub(crate) sse_read_timeout: Duration,
    ca_file: Option<&'a Path>,
}

/// `Endpoint::from(&config)` for both HTTP configs, which share these fields.
macro_rules! endpoint_from {
    ($config:ty) => {
        impl<'a> From<&'a $config> for Endpoint<'a> {
            fn from(config: &'a $config) -> Self {
                Endpoint {
                    server: &config.server_name,
                    url: &config.url,
                    headers: &config.headers,
                    auth: &config.auth,
                    timeout: config.timeout,
                    sse_read_timeout: config.sse_read_timeout,
                    ca_file: config.ca_file.as_deref(),
                }
            }
        }
    };
}

endpoint_from!(StreamableHttpConfig);
endpoint_from!(SseConfig);

impl Endpoint<'_> {
    /// The URL as messages show it: password, secret-looking query values and session ids
    /// hidden.
    pub(crate) fn shown_url(&self) -> String {
        mcp_config::redact::redact_url(self.url)
    }

    /// The environment variable the bearer token comes from, when `auth` is of type bearer: for
    /// the help of an [`Unauthorized`](SessionError::Unauthorized) error.
    pub(crate) fn token_env(&self) -> Option<&str> {
        self.auth.token_env()
    }

    /// The server's OAuth settings, when its `auth` is of type oauth: its tokens then come from
    /// an [`Authorizer`](mcp_auth::Authorizer), per request.
    pub(crate) fn oauth(&self) -> Option<&OAuthConfig> {
        match self.auth {
            AuthConfig::OAuth(config) => Some(config),
            _ => None,
        }
    }

    /// The settings of the server's OAuth HTTP clients (same TLS trust and connect timeout as
    /// its MCP client; no read timeout, the OAuth client has deadlines of its own).
    pub(crate) fn oauth_builder(&self) -> HttpClientBuilder {
        let mut builder = HttpClientBuilder::new().connect_timeout(self.timeout);
        if let Some(ca_file) = self.ca_file {
            builder = builder.ca_file(ca_file);
        }
        builder
    }

    /// The configured headers, checked, with `Authorization: Bearer <token>` when `auth` is of
    /// type bearer (the token read from its variable now), all marked sensitive (so that they
    /// never print). For `auth` of type oauth the transport adds the token per request.
    pub(crate) fn header_map(&self) -> Result<HeaderMap, SessionError> {
        let mut headers = self.configured_headers()?;
        if matches!(self.auth, AuthConfig::Bearer { .. } | AuthConfig::OAuth(_))
            && let Some(name) =
                self.headers.keys().find(|name| name.eq_ignore_ascii_case("authorization"))
        {
            let source = match self.auth {
                AuthConfig::OAuth(_) => "the OAuth tokens of `auth`",
                _ => "the bearer token read from `auth.token_env`",
            };
            return Err(SessionError::InvalidHeader {
                server: self.server.to_owned(),
                header: name.clone(),
                reason: format!(
                    "is set by the server's `auth` ({source}) too; set one: remove the header, \
                     or the `auth`"
                ),
            });
        }
        match self.auth {
            AuthConfig::None | AuthConfig::OAuth(_) => {}
            AuthConfig::Bearer { token_env } => {
                let value = bearer_header(self.server, token_env)?;
                headers.insert(reqwest::header::AUTHORIZATION, value);
            }
            other => {
                return Err(SessionError::UnsupportedAuth {
                    server: self.server.to_owned(),
                    auth: other.kind().to_owned(),
                });
            }
        }
        Ok(headers)
    }

    /// The configured headers, checked and marked sensitive (so that they never print).
    fn configured_headers(&self) -> Result<HeaderMap, SessionError> {
        let invalid = |header: &str, reason: String| SessionError::InvalidHeader {
            server: self.server.to_owned(),
            header: header.to_owned(),
            reason,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(invalid(
                    name,
                    "is set by the MCP transport itself; remove it from the config".to_owned(),
                ));
            }
            let header_name = HeaderName::try_from(name.as_str())
                .map_err(|err| invalid(name, format!("is not a valid header name: {err}")))?;
            let mut header_value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                invalid(
                    name,
                    "has a value that is not a valid HTTP header value (control characters or \
                     non-ASCII bytes); check the config"
                        .to_owned(),
                )
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }

    /// A new HTTP client for this server alone.
    pub(crate) fn client(&self) -> Result<reqwest::Client, SessionError> {
        self.settings().build(self.server)
    }

    /// What its HTTP client is built from.
    pub(crate) fn settings(&self) -> ClientSettings {
        ClientSettings {
            connect_timeout: self.timeout,
            read_timeout: self.sse_read_timeout,
            ca_file: self.ca_file.map(Path::to_path_buf),
        }
    }
}

/// `Bearer <token>`, the token read from the environment variable `token_env` now, as a
/// sensitive header value. Neither the token nor anything derived from it enters an error.
fn bearer_header(server: &str, token_env: &str) -> Result<HeaderValue, SessionError> {
    let unavailable = |problem| SessionError::TokenUnavailable {
        server: server.to_owned(),
        token_env: token_env.to_owned(),
        problem,
    };
    let token = match std::env::var(token_env) {
        Ok(token) => token,
        Err(std::env::VarError::NotPresent) => return Err(unavailable(TokenProblem::Unset)),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(unavailable(TokenProblem::NotUnicode));
        }
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(unavailable(TokenProblem::Empty));
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| unavailable(TokenProblem::InvalidHeaderValue))?;
    value.set_sensitive(true);
    Ok(value)
}

/// What an HTTP client for MCP servers is built from: servers whose settings are equal can share
/// one client (headers and tokens go with each request, not in the client).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientSettings {
    connect_timeout: Duration,
    read_timeout: Duration,
    ca_file: Option<PathBuf>,
}

/// The most idle keep-alive connections a shared client keeps to one host. Calls in flight
/// past this open connections of their own and close them after.
const MAX_IDLE_PER_HOST: usize = 32;

impl ClientSettings {
    /// A client with these settings: the stack's TLS trust, these timeouts, no redirects (a
    /// redirected `POST` loses its body, and a session must not move elsewhere silently).
    fn build(&self, server: &str) -> Result<reqwest::Client, SessionError> {
        let mut builder = HttpClientBuilder::new()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .max_idle_per_host(MAX_IDLE_PER_HOST);
        if let Some(ca_file) = &self.ca_file {
            builder = builder.ca_file(ca_file);
        }
        builder
            .build()
            .map_err(|error| SessionError::HttpClient { server: server.to_owned(), error })
    }

    /// `POST`s to `url` on our own connections with these timeouts, when they apply.
    fn direct(&self, url: &Url) -> Option<DirectHttp> {
        DirectHttp::new(url, self.connect_timeout, self.read_timeout)
    }
}

/// The HTTP clients the streamable HTTP sessions of one manager (and its clones) share, one per
/// [`ClientSettings`]: sessions to one host then share idle keep-alive connections and one
/// connection pool instead of each keeping its own.
///
/// A shared client can hand a new session a kept-alive connection to a server process that has
/// since gone (restarted on the same port). The handshake tells that case by its `initialize`
/// failing after the connection was made and before any answer; it then [renews](Self::renew)
/// the client, which drops those connections, and tries once more.
///
/// The same holds for the `POST`s a streamable HTTP session sends on connections of our own
/// ([`DirectHttp`]): one pool of kept-alive connections per URL and settings, shared by its
/// sessions, so that a new session's `initialize` goes out on a connection already open.
#[derive(Clone, Default)]
pub(crate) struct Clients {
    reqwest: Arc<Mutex<HashMap<ClientSettings, reqwest::Client>>>,
    direct: Arc<Mutex<HashMap<(ClientSettings, Url), SharedPosts>>>,
}

/// The requests on our own connections that the sessions of one URL and settings share (their
/// `POST`s share kept-alive connections; each event stream has one of its own).
type SharedPosts = Arc<DirectHttp>;

impl Clients {
    /// The shared requests on our own connections to `url`, made on first use; `None` when they
    /// do not apply (see [`DirectHttp::new`]).
    pub(crate) fn direct(&self, settings: &ClientSettings, url: &Url) -> Option<SharedPosts> {
        let key = (settings.clone(), url.clone());
        let mut shared = self.direct.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(direct) = shared.get(&key) {
            return Some(direct.clone());
        }
        let direct = Arc::new(settings.direct(url)?);
        shared.insert(key, direct.clone());
        Some(direct)
    }

    /// New `POST`s on our own connections to `url`, which replace the shared ones, as
    /// [`renew`](Self::renew) replaces a client.
    pub(crate) fn renew_direct(&self, settings: &ClientSettings, url: &Url) -> Option<SharedPosts> {
        let direct = Arc::new(settings.direct(url)?);
        let mut shared = self.direct.lock().unwrap_or_else(PoisonError::into_inner);
        shared.insert((settings.clone(), url.clone()), direct.clone());
        Some(direct)
    }

    /// The shared client for `settings`, built on first use.
    pub(crate) fn get(
        &self,
        settings: &ClientSettings,
        server: &str,
    ) -> Result<reqwest::Client, SessionError> {
        if let Some(client) =
            self.reqwest.lock().ok().and_then(|clients| clients.get(settings).cloned())
        {
            return Ok(client);
        }
        let client = settings.build(server)?;
        if let Ok(mut clients) = self.reqwest.lock() {
            return Ok(clients.entry(settings.clone()).or_insert(client).clone());
        }
        Ok(client)
    }

    /// A new client for `settings`, which replaces the shared one: later sessions stop reusing
    /// the old one's idle connections (sessions still on it keep it until they end).
    pub(crate) fn renew(
        &self,
        settings: &ClientSettings,
        server: &str,
    ) -> Result<reqwest::Client, SessionError> {
        let client = settings.build(server)?;
        if let Ok(mut clients) = self.reqwest.lock() {
            clients.insert(settings.clone(), client.clone());
        }
        Ok(client)
    }
}
