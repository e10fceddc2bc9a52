//! [`OAuthFixture`]: an OAuth 2.1 authorization server and an MCP server it protects, in
//! process on `127.0.0.1:0`, for tests of clients that log in.
//!
//! One listener serves three parts (`ORIGIN` = `http://127.0.0.1:PORT`, which is also the
//! issuer):
//!
//! - **The authorization server.** RFC 8414 metadata at
//!   `ORIGIN/.well-known/oauth-authorization-server`; RFC 7591 dynamic registration at
//!   `/register` (unless turned off); `/authorize`, which approves every valid request at once
//!   with a `302` to the `redirect_uri` carrying `code` and `state`; `/token` for the
//!   `authorization_code` (PKCE S256 only), `refresh_token` (rotating: a refresh token works
//!   once) and `client_credentials` grants, with client authentication `none`,
//!   `client_secret_basic` or `client_secret_post` as the client registered, or
//!   `private_key_jwt` (an ES256 assertion, RFC 7523, verified with the public key given to
//!   [`FixtureOptions::jwt_client`]; [`es256_key_pair`] makes a key). Errors are RFC 6749 JSON
//!   (`{"error": "invalid_grant", "error_description": …}`).
//! - **The protected MCP server**: [`TestServer`](crate::mcp_server::TestServer) over streamable
//!   HTTP at `ORIGIN/mcp`, and over legacy HTTP+SSE at `ORIGIN/sse` (messages to `/message`),
//!   behind a bearer-token check. A request without a token, or with an unknown, revoked or
//!   expired one, gets `401` with `WWW-Authenticate: Bearer resource_metadata="…"` (plus
//!   `error="invalid_token"` when a token was sent, and `scope="…"` when
//!   [`FixtureOptions::challenge_scope`] is set). A token issued for another resource (its
//!   audience) gets `401 invalid_token` too. A JSON-RPC request whose method needs scopes the
//!   token lacks ([`FixtureOptions::require_scopes`]) gets `403` with
//!   `Bearer error="insufficient_scope", scope="…"`.
//! - **Protected resource metadata** (RFC 9728) at the path-based well-known URLs
//!   `ORIGIN/.well-known/oauth-protected-resource/mcp` (and `…/sse`), naming the resource and
//!   the issuer.
//!
//! Tokens are random opaque strings, bound to a client, a resource (the audience) and scopes.
//! Nothing expires by the clock: [`OAuthFixture::expire_access_tokens`] makes every access token
//! issued so far expired, so a test needs no sleep. The other controls:
//! [`revoke_all`](OAuthFixture::revoke_all), [`rotate_audience`](OAuthFixture::rotate_audience),
//! [`deny_refresh`](OAuthFixture::deny_refresh),
//! [`set_required_scopes`](OAuthFixture::set_required_scopes), and what was seen:
//! [`counters`](OAuthFixture::counters), [`authorize_requests`](OAuthFixture::authorize_requests),
//! [`token_requests`](OAuthFixture::token_requests).
//!
//! The fixture stops when dropped (or [`shutdown`](OAuthFixture::shutdown)): its listener, its
//! connections and its MCP sessions end with it. No token or secret is ever logged.
//!
//! ```no_run
//! use testkit::oauth::{FixtureOptions, OAuthFixture};
//!
//! # async fn demo() {
//! let fixture = OAuthFixture::start(
//!     FixtureOptions::default().require_scopes("tools/call", ["mcp:write"]),
//! )
//! .await;
//! println!("connect to {} and log in at {}", fixture.mcp_url(), fixture.issuer());
//! fixture.expire_access_tokens(); // the next MCP request gets 401 invalid_token
//! # }
//! ```

mod authz;
mod error;
mod idp;
mod resource;
mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

pub use error::FixtureError;
use state::State;

/// Every `access_token` and `refresh_token` string anywhere in `record` (a client's stored token
/// file, say): what a test looks for in output that must not show them.
pub fn tokens_in(record: &serde_json::Value) -> Vec<String> {
    fn collect(value: &serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(s)
                            if key == "access_token" || key == "refresh_token" =>
                        {
                            into.push(s.clone());
                        }
                        other => collect(other, into),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| collect(item, into)),
            _ => {}
        }
    }
    let mut tokens = Vec::new();
    collect(record, &mut tokens);
    tokens
}

/// How a client authenticates at the token endpoint (RFC 7591 `token_endpoint_auth_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AuthMethod {
    /// `none`: a public client; it sends only its `client_id`.
    None,
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// `private_key_jwt` (RFC 7523): a JWT assertion signed ES256 by the client's key, whose
    /// public half the server holds ([`FixtureOptions::jwt_client`]). Listed only when
    /// [`FixtureOptions::auth_methods`] names it; then the metadata also says
    /// `token_endpoint_auth_signing_alg_values_supported: ["ES256"]`.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The methods the metadata lists by default, in order (not `private_key_jwt`).
    pub const ALL: [AuthMethod; 3] =
        [AuthMethod::None, AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost];

    /// The RFC 7591 name, such as `client_secret_basic`.
    ///
    /// ```
    /// use testkit::oauth::AuthMethod;
    /// assert_eq!(AuthMethod::parse(AuthMethod::ClientSecretPost.as_str()),
    ///     Some(AuthMethod::ClientSecretPost));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// The method an RFC 7591 name stands for.
    pub fn parse(name: &str) -> Option<AuthMethod> {
        AuthMethod::ALL
            .into_iter()
            .chain([AuthMethod::PrivateKeyJwt])
            .find(|method| method.as_str() == name)
    }

    /// Whether a client using this method has a secret.
    pub fn needs_secret(self) -> bool {
        matches!(self, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
    }

    /// Whether a client using this method is confidential (authenticates at all): every method
    /// but `none`.
    pub fn confidential(self) -> bool {
        self != AuthMethod::None
    }
}

/// A client the authorization server knows from the start (no registration needed).
#[derive(Clone)]
struct PreRegistered {
    id: String,
    secret: Option<String>,
    method: AuthMethod,
    public_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for PreRegistered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreRegistered")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("method", &self.method)
            .finish()
    }
}

/// How an [`OAuthFixture`] behaves. The defaults:
///
/// - token endpoint auth methods `none`, `client_secret_basic`, `client_secret_post`;
/// - dynamic registration on; no client id metadata documents;
/// - scopes `mcp:read` and `mcp:write`; a request without `scope` is granted none;
/// - no `scope` in the 401 challenge; no method needs a scope;
/// - `expires_in` 3600; refresh tokens issued with authorization codes.
///
/// ```
/// use testkit::oauth::{AuthMethod, FixtureOptions};
///
/// let options = FixtureOptions::default()
///     .auth_methods([AuthMethod::ClientSecretBasic])
///     .registration(false)
///     .client("app", Some("s3cret"), AuthMethod::ClientSecretBasic)
///     .scopes_supported(["mcp:basic", "mcp:write", "offline_access"])
///     .challenge_scope("mcp:basic")
///     .require_scopes("tools/call", ["mcp:basic", "mcp:write"])
///     .expires_in(60);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct FixtureOptions {
    auth_methods: Vec<AuthMethod>,
    registration: bool,
    client_id_metadata_documents: bool,
    clients: Vec<PreRegistered>,
    scopes_supported: Vec<String>,
    default_scopes: Vec<String>,
    challenge_scope: Option<String>,
    required_scopes: BTreeMap<String, Vec<String>>,
    expires_in: u64,
    refresh_tokens: bool,
    identity_provider: Option<(String, String)>,
}

impl Default for FixtureOptions {
    fn default() -> Self {
        FixtureOptions {
            auth_methods: AuthMethod::ALL.to_vec(),
            registration: true,
            client_id_metadata_documents: false,
            clients: Vec::new(),
            scopes_supported: vec!["mcp:read".to_owned(), "mcp:write".to_owned()],
            default_scopes: Vec::new(),
            challenge_scope: None,
            required_scopes: BTreeMap::new(),
            expires_in: 3600,
            refresh_tokens: true,
            identity_provider: None,
        }
    }
}

impl FixtureOptions {
    /// The methods `token_endpoint_auth_methods_supported` lists, in order. A registration
    /// asking for another method gets the first of these instead (as RFC 7591 §3.2.1 allows).
    pub fn auth_methods(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        self.auth_methods = methods.into_iter().collect();
        self
    }

    /// Whether the server offers dynamic client registration (`registration_endpoint` and
    /// `/register`).
    pub fn registration(mut self, on: bool) -> Self {
        self.registration = on;
        self
    }

    /// Whether the metadata says `client_id_metadata_document_supported`. When on, `/authorize`
    /// and `/token` also accept any `https://` URL as the `client_id` of a public client
    /// (`none`) with a loopback `redirect_uri`, without fetching the document (the fixture has
    /// no network).
    pub fn client_id_metadata_documents(mut self, on: bool) -> Self {
        self.client_id_metadata_documents = on;
        self
    }

    /// A client known without registration, authenticating with `method` (give a `secret`
    /// for any method but [`AuthMethod::None`]). It may use any loopback `redirect_uri`
    /// (`http://127.0.0.1:*`, `http://localhost:*`, `http://[::1]:*`), as RFC 8252 §7.3 says.
    pub fn client(
        mut self,
        id: impl Into<String>,
        secret: Option<&str>,
        method: AuthMethod,
    ) -> Self {
        self.clients.push(PreRegistered {
            id: id.into(),
            secret: secret.map(str::to_owned),
            method,
            public_key: None,
        });
        self
    }

    /// A client known without registration that authenticates with `private_key_jwt`: its
    /// assertions must be signed ES256 by the key whose public half is `public_key` (an
    /// uncompressed P-256 point, as [`es256_key_pair`] returns it), with `iss` = `sub` = `id`,
    /// `aud` the issuer (with or without a trailing `/`) or the token endpoint, an `exp` at most
    /// 5 minutes ahead and a `jti` not seen before.
    pub fn jwt_client(mut self, id: impl Into<String>, public_key: impl Into<Vec<u8>>) -> Self {
        self.clients.push(PreRegistered {
            id: id.into(),
            secret: None,
            method: AuthMethod::PrivateKeyJwt,
            public_key: Some(public_key.into()),
        });
        self
    }

    /// The scopes the server knows (`scopes_supported` in both metadata documents). Requests
    /// for other scopes get `invalid_scope`.
    pub fn scopes_supported(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes granted when a request names none (default: none).
    pub fn default_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The `scope` parameter of the 401 challenge, such as `mcp:basic` (default: none).
    pub fn challenge_scope(mut self, scope: impl Into<String>) -> Self {
        self.challenge_scope = Some(scope.into());
        self
    }

    /// JSON-RPC requests with this `method` (such as `tools/call`) need these scopes; without
    /// them the answer is 403 `insufficient_scope` with `scope="…"` listing them.
    pub fn require_scopes(
        mut self,
        method: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.required_scopes.insert(method.into(), scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The `expires_in` of token responses, in seconds (reported only: use
    /// [`OAuthFixture::expire_access_tokens`] to expire tokens).
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// Adds an enterprise identity provider for cross-app access (SEP-990) at `ISSUER/idp`:
    /// its token endpoint `ISSUER/idp/token` exchanges the ID tokens it issued
    /// ([`OAuthFixture::id_token`]) to the public client `idp_client_id` (RFC 8693,
    /// `requested_token_type` ID-JAG, `audience` the issuer, `resource` a protected resource)
    /// for ID-JAGs naming `as_client_id`; the authorization server then takes them with
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` from that client (register it
    /// with [`client`](Self::client)), checking their signature, `typ`, `aud`, `exp`,
    /// `client_id`, `resource` and `jti`.
    pub fn identity_provider(
        mut self,
        idp_client_id: impl Into<String>,
        as_client_id: impl Into<String>,
    ) -> Self {
        self.identity_provider = Some((idp_client_id.into(), as_client_id.into()));
        self
    }

    /// Whether the `authorization_code` and `refresh_token` grants return a refresh token.
    pub fn refresh_tokens(mut self, on: bool) -> Self {
        self.refresh_tokens = on;
        self
    }
}

/// A fresh ES256 (P-256) key pair: the private key as PKCS#8 PEM (`-----BEGIN PRIVATE
/// KEY-----`, what a client's `private_key_file` holds) and the public key as an uncompressed
/// point (what [`FixtureOptions::jwt_client`] takes).
///
/// ```
/// let (pem, public) = testkit::oauth::es256_key_pair();
/// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
/// assert_eq!(public.len(), 65);
/// ```
///
/// # Panics
/// When the system has no random numbers.
pub fn es256_key_pair() -> (String, Vec<u8>) {
    use base64::Engine as _;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("random numbers for a key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("the key just made");
    let body = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
        .collect();
    let pem =
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    (pem, pair.public_key().as_ref().to_vec())
}

/// How many requests of each kind the fixture has served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Requests to `/authorize`, approved or not.
    pub authorize: u64,
    /// Requests to `/register`.
    pub register: u64,
    /// Token requests with `grant_type=authorization_code`.
    pub token_authorization_code: u64,
    /// Token requests with `grant_type=refresh_token`.
    pub token_refresh: u64,
    /// Token requests with `grant_type=client_credentials`.
    pub token_client_credentials: u64,
    /// Token requests with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`.
    pub token_jwt_bearer: u64,
    /// Token exchange requests at the identity provider (`ISSUER/idp/token`).
    pub token_exchange: u64,
    /// Token requests with any other `grant_type`, or none.
    pub token_other: u64,
    /// MCP requests the bearer check let through.
    pub authorized: u64,
    /// MCP requests answered 401.
    pub unauthorized: u64,
    /// MCP requests answered 403 `insufficient_scope`.
    pub forbidden: u64,
}

/// One request to `/authorize`, as received (no secrets travel there).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `resource` (RFC 8707).
    pub resource: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// Whether a `code_challenge` was sent.
    pub code_challenge: bool,
    /// Whether a `state` was sent.
    pub state: bool,
}

/// One request to `/token`, without its secrets (code, verifier, tokens, client secret).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// The client id, from the body or the Basic header.
    pub client_id: Option<String>,
    /// How the client authenticated, as far as the request shows.
    pub auth_method: Option<AuthMethod>,
    /// `scope`.
    pub scope: Option<String>,
    /// `resource` (RFC 8707).
    pub resource: Option<String>,
}

/// The fixed URLs of a running fixture.
#[derive(Clone, Debug)]
struct Urls {
    issuer: String,
    mcp: String,
    sse: String,
    mcp_metadata: String,
    sse_metadata: String,
    as_metadata: String,
    authorize: String,
    token: String,
    register: Option<String>,
    idp_issuer: String,
    idp_token: String,
}

impl Urls {
    fn new(origin: &str, registration: bool) -> Urls {
        Urls {
            issuer: origin.to_owned(),
            mcp: format!("{origin}/mcp"),
            sse: format!("{origin}/sse"),
            mcp_metadata: format!("{origin}/.well-known/oauth-protected-resource/mcp"),
            sse_metadata: format!("{origin}/.well-known/oauth-protected-resource/sse"),
            as_metadata: format!("{origin}/.well-known/oauth-authorization-server"),
            authorize: format!("{origin}/authorize"),
            token: format!("{origin}/token"),
            register: registration.then(|| format!("{origin}/register")),
            idp_issuer: format!("{origin}/idp"),
            idp_token: format!("{origin}/idp/token"),
        }
    }
}

/// What the handlers share: the URLs and the server's state.
#[derive(Debug)]
struct Shared {
    urls: Urls,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running authorization server and protected MCP server on loopback; see the
/// [module docs](self). Stops when dropped.
pub struct OAuthFixture {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for OAuthFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthFixture").field("issuer", &self.shared.urls.issuer).finish()
    }
}

impl OAuthFixture {
    /// Starts the fixture on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no loopback port can be bound (see [`try_start`](Self::try_start)).
    pub async fn start(options: FixtureOptions) -> OAuthFixture {
        match OAuthFixture::try_start(options).await {
            Ok(fixture) => fixture,
            Err(err) => {
                let cause = std::error::Error::source(&err).map(ToString::to_string);
                panic!("{err}: {}", cause.unwrap_or_default())
            }
        }
    }

    /// Starts the fixture on `127.0.0.1:0`.
    ///
    /// # Errors
    /// [`FixtureError::Bind`] when no loopback port can be bound.
    pub async fn try_start(options: FixtureOptions) -> Result<OAuthFixture, FixtureError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| FixtureError::Bind { source })?;
        let address = listener.local_addr().map_err(|source| FixtureError::Bind { source })?;
        let urls = Urls::new(&format!("http://{address}"), options.registration);
        let shared = Arc::new(Shared { state: Mutex::new(State::new(&options)), urls });
        let cancel = CancellationToken::new();
        let router = router(&shared, options.registration, &cancel);
        let task = tokio::spawn(serve(listener, router, cancel.clone()));
        tracing::debug!(issuer = %shared.urls.issuer, "OAuth fixture started");
        Ok(OAuthFixture { shared, cancel, task: Some(task) })
    }

    /// The issuer, `http://127.0.0.1:PORT` (no trailing slash): also the origin of every URL.
    pub fn issuer(&self) -> &str {
        &self.shared.urls.issuer
    }

    /// The protected streamable HTTP MCP endpoint, `ISSUER/mcp`: also its resource identifier.
    pub fn mcp_url(&self) -> &str {
        &self.shared.urls.mcp
    }

    /// The protected legacy SSE endpoint, `ISSUER/sse`: also its resource identifier.
    pub fn sse_url(&self) -> &str {
        &self.shared.urls.sse
    }

    /// The protected resource metadata of [`mcp_url`](Self::mcp_url),
    /// `ISSUER/.well-known/oauth-protected-resource/mcp`.
    pub fn resource_metadata_url(&self) -> &str {
        &self.shared.urls.mcp_metadata
    }

    /// The protected resource metadata of [`sse_url`](Self::sse_url),
    /// `ISSUER/.well-known/oauth-protected-resource/sse`.
    pub fn sse_resource_metadata_url(&self) -> &str {
        &self.shared.urls.sse_metadata
    }

    /// The authorization server metadata, `ISSUER/.well-known/oauth-authorization-server`.
    pub fn authorization_server_metadata_url(&self) -> &str {
        &self.shared.urls.as_metadata
    }

    /// The authorization endpoint, `ISSUER/authorize`.
    pub fn authorization_endpoint(&self) -> &str {
        &self.shared.urls.authorize
    }

    /// The token endpoint, `ISSUER/token`.
    pub fn token_endpoint(&self) -> &str {
        &self.shared.urls.token
    }

    /// The registration endpoint, `ISSUER/register`, unless registration is off.
    pub fn registration_endpoint(&self) -> Option<&str> {
        self.shared.urls.register.as_deref()
    }

    /// The identity provider's issuer, `ISSUER/idp` (see [`FixtureOptions::identity_provider`]).
    pub fn idp_issuer(&self) -> &str {
        &self.shared.urls.idp_issuer
    }

    /// The identity provider's token endpoint, `ISSUER/idp/token`.
    pub fn idp_token_endpoint(&self) -> &str {
        &self.shared.urls.idp_token
    }

    /// An ID token for `subject` from the identity provider, valid for an hour, as a client
    /// gets it when the user signs in; `None` without
    /// [`FixtureOptions::identity_provider`].
    pub fn id_token(&self, subject: &str) -> Option<String> {
        let state = self.shared.lock();
        Some(idp::id_token(state.idp.as_ref()?, &self.shared.urls, subject, 3600))
    }

    /// An ID token for `subject` that has expired.
    pub fn expired_id_token(&self, subject: &str) -> Option<String> {
        let state = self.shared.lock();
        Some(idp::id_token(state.idp.as_ref()?, &self.shared.urls, subject, 0))
    }

    /// Every request to the identity provider's token endpoint so far, in order.
    pub fn identity_provider_requests(&self) -> Vec<TokenRequest> {
        self.shared.lock().idp_log.clone()
    }

    /// Revokes every access token, refresh token and unused authorization code issued so far.
    pub fn revoke_all(&self) {
        self.shared.lock().revoke_all();
        tracing::debug!("OAuth fixture: every token revoked");
    }

    /// Makes every access token issued so far expired: the next MCP request carrying one gets
    /// 401 `invalid_token`. Refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.shared.lock().expire_access_tokens();
        tracing::debug!("OAuth fixture: access tokens expired");
    }

    /// Tokens issued from now on carry `audience` instead of the resource they were asked for,
    /// as a misconfigured server would do. Tokens issued before keep theirs.
    pub fn rotate_audience(&self, audience: impl Into<String>) {
        let audience = audience.into();
        tracing::debug!(%audience, "OAuth fixture: audience rotated");
        self.shared.lock().audience_override = Some(audience);
    }

    /// Refuses every refresh from now on with `invalid_grant`.
    pub fn deny_refresh(&self) {
        self.shared.lock().refresh_denied = true;
    }

    /// From now on, JSON-RPC requests with `method` need `scopes` (none: no requirement).
    pub fn set_required_scopes(
        &self,
        method: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let mut state = self.shared.lock();
        if scopes.is_empty() {
            state.required_scopes.remove(&method.into());
        } else {
            state.required_scopes.insert(method.into(), scopes);
        }
    }

    /// From now on, the 401 challenge carries `scope="SCOPE"` (`None`: no scope).
    pub fn set_challenge_scope(&self, scope: Option<&str>) {
        self.shared.lock().challenge_scope = scope.map(str::to_owned);
    }

    /// How many requests of each kind were served so far.
    pub fn counters(&self) -> Counters {
        self.shared.lock().counters
    }

    /// Every request to `/authorize` so far, in order.
    pub fn authorize_requests(&self) -> Vec<AuthorizeRequest> {
        self.shared.lock().authorize_log.clone()
    }

    /// Every request to `/token` so far, in order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.lock().token_log.clone()
    }

    /// Stops the fixture and waits until its listener and connections are closed.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for OAuthFixture {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Every route: the authorization server, the metadata documents and the protected MCP
/// endpoints.
fn router(shared: &Arc<Shared>, registration: bool, cancel: &CancellationToken) -> Router {
    let mut server = Router::new()
        .route("/.well-known/oauth-authorization-server", get(authz::metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(resource::mcp_metadata))
        .route("/.well-known/oauth-protected-resource/sse", get(resource::sse_metadata))
        .route("/authorize", get(authz::authorize))
        .route("/token", post(authz::token))
        .route("/idp/token", post(idp::token));
    if registration {
        server = server.route("/register", post(authz::register));
    }
    server
        .with_state(shared.clone())
        .merge(resource::streamable_http(shared, cancel))
        .merge(resource::legacy_sse(shared))
}

/// Accepts connections until cancelled. The connections live in a [`JoinSet`] owned by this
/// task, so aborting the task closes them all.
async fn serve(listener: TcpListener, router: Router, cancel: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        tracing::debug!("OAuth fixture: accept failed: {err}");
                        continue;
                    }
                };
                // No Nagle: event streams are written in small pieces.
                let _ = stream.set_nodelay(true);
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        }
    }
}
