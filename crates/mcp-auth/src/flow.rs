//! [`Authorizer`]: the OAuth flow for one server and URL, on rmcp's `AuthorizationManager`:
//! stored tokens, refresh, authorization (discovery, registration, the user step, the code
//! exchange) and step-up, one at a time.

mod grant;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};

use async_trait::async_trait;
use mcp_config::{OAuthConfig, OAuthGrant};
use oauth2::TokenResponse as _;
use rmcp::transport::auth::{
    AuthError as RmcpError, AuthorizationCallback, AuthorizationManager, AuthorizationMetadata,
    AuthorizationRequest, AuthorizationSession, CredentialRefreshGuard, CredentialStore,
    OAuthClientConfig, StoredCredentials, WWWAuthenticateParams,
};
use tokio::sync::Mutex;
use url::Url;

use crate::agent::{self, Browser, Listener, LoginMode, SystemBrowser};
use crate::error::{AuthError, Step};
use crate::http::{self, ReqwestOAuth};
use crate::policy::{AddressPolicy, Refused};
use crate::secret::{self, ProcessEnv, Secret, SecretSource, Token};
use crate::store::{FileStore, StoreKey, StoredAuth, StoredClient, TokenStore};

/// At most this many authorizations are run for one logical request, the first included.
pub const MAX_AUTHORIZATIONS_PER_REQUEST: u32 = 3;

/// The client name sent with dynamic registration, unless the builder sets another.
const DEFAULT_CLIENT_NAME: &str = "mcp-session-rs";

/// The loopback port of the redirect URI when the config names none. Headless login never
/// listens on it: the redirect is read from the authorization server's answer.
pub const DEFAULT_REDIRECT_PORT: u16 = 8976;

/// What one logical request (one MCP call and its retries) has used up: authorizations (at most
/// [`MAX_AUTHORIZATIONS_PER_REQUEST`]) and refreshes (one; a second 401 authorizes). Make one per
/// request and pass it to every [`Authorizer::unauthorized`] and
/// [`Authorizer::insufficient_scope`] call of that request, so a server that keeps refusing
/// ends in an error instead of a loop.
#[derive(Debug, Default)]
pub struct Round {
    authorizations: u32,
    refreshes: u32,
}

impl Round {
    /// A fresh round for a new request.
    pub fn new() -> Self {
        Round::default()
    }

    /// How many authorizations were run for this request.
    pub fn authorizations(&self) -> u32 {
        self.authorizations
    }
}

/// Gets and keeps OAuth bearer tokens for one server at one URL. Share one (in an `Arc`) among
/// every session of that server: its methods run one at a time, and callers that waited
/// recheck the token first, so N requests refused at once make one authorization.
///
/// - [`bearer`](Self::bearer): the token to send, refreshed ahead of its expiry.
/// - [`unauthorized`](Self::unauthorized): after a 401, a new token (refresh, else authorize).
/// - [`insufficient_scope`](Self::insufficient_scope): after a 403 `insufficient_scope`, a
///   token with the union of the granted and the required scopes.
/// - [`authorize`](Self::authorize): a new authorization now (for a `login` command).
/// - [`logout`](Self::logout): forget the stored record.
///
/// Build it with [`Authorizer::builder`].
///
/// # Cancel safety
/// Dropping a call's future part-way is safe: the record is replaced only by a completed code
/// exchange or refresh (the new client and metadata are kept in memory only after the user
/// step succeeded), so an authorization cut short is simply run again by the next call.
pub struct Authorizer {
    key: StoreKey,
    config: OAuthConfig,
    http: ReqwestOAuth,
    store: Arc<dyn TokenStore>,
    secrets: Arc<dyn SecretSource>,
    login: LoginMode,
    browser: Arc<dyn Browser>,
    client_name: String,
    /// Which URLs learned from servers may be contacted (`http` goes through it).
    policy: Arc<AddressPolicy>,
    /// The record as last loaded or saved, shared with rmcp through [`Bridge`].
    record: Arc<SyncMutex<StoredAuth>>,
    /// The configured manager, once a record was restored or an authorization ran.
    state: Mutex<Option<AuthorizationManager>>,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("server", &self.key.server())
            .field("url", &mcp_config::redact::redact_url(self.key.url()))
            .field("config", &self.config)
            .field("login", &self.login)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Authorizer`]; see [`Authorizer::builder`].
#[derive(Debug)]
#[must_use]
pub struct AuthorizerBuilder {
    server: String,
    url: Url,
    config: OAuthConfig,
    http: ReqwestOAuth,
    store: Option<Arc<dyn TokenStore>>,
    secrets: Arc<dyn SecretSource>,
    login: LoginMode,
    browser: Arc<dyn Browser>,
    client_name: String,
}

impl AuthorizerBuilder {
    /// Where records are kept (default: a [`FileStore`] at its default location).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Where `client_secret_env` and the like are read (default: [`ProcessEnv`]).
    pub fn secrets(mut self, secrets: Arc<dyn SecretSource>) -> Self {
        self.secrets = secrets;
        self
    }

    /// How an authorization reaches the user (default: [`LoginMode::Never`]).
    pub fn login(mut self, login: LoginMode) -> Self {
        self.login = login;
        self
    }

    /// What opens the authorization URL under [`LoginMode::Interactive`] (default:
    /// [`SystemBrowser`]).
    pub fn browser(mut self, browser: Arc<dyn Browser>) -> Self {
        self.browser = browser;
        self
    }

    /// The `client_name` of a dynamic registration (default `mcp-session-rs`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// The authorizer.
    ///
    /// # Errors
    /// [`Step::Storage`] when no store was given and the default location cannot be found.
    pub fn build(self) -> Result<Authorizer, AuthError> {
        let store = match self.store {
            Some(store) => store,
            None => Arc::new(
                FileStore::default_location()
                    .map_err(|e| AuthError::flow(&self.server, Step::Storage, e))?,
            ),
        };
        let key = StoreKey::new(self.server, &self.url);
        let policy = Arc::new(AddressPolicy::new(&self.url));
        Ok(Authorizer {
            http: self.http.guarded(policy.clone()),
            policy,
            record: Arc::new(SyncMutex::new(StoredAuth::new(&key))),
            key,
            config: self.config,
            store,
            secrets: self.secrets,
            login: self.login,
            browser: self.browser,
            client_name: self.client_name,
            state: Mutex::new(None),
        })
    }
}

impl Authorizer {
    /// A builder for the authorizer of `server` at `url` (the MCP endpoint, also the resource),
    /// configured by `config`, speaking HTTP through `http`.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use mcp_auth::{Authorizer, FileStore, LoginMode, ReqwestOAuth};
    /// use mcp_config::{OAuthConfig, OAuthGrant};
    ///
    /// # async fn demo(http: ReqwestOAuth) -> Result<(), Box<dyn std::error::Error>> {
    /// let url = url::Url::parse("https://docs.example/mcp")?;
    /// let auth = Authorizer::builder("docs", &url, OAuthConfig::default(), http)
    ///     .store(Arc::new(FileStore::new("/var/lib/agent")))
    ///     .login(LoginMode::Headless)
    ///     .build()?;
    /// let token = auth.bearer().await?; // None until the first authorization
    /// # let _ = token;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(
        server: impl Into<String>,
        url: &Url,
        config: OAuthConfig,
        http: ReqwestOAuth,
    ) -> AuthorizerBuilder {
        AuthorizerBuilder {
            server: server.into(),
            url: url.clone(),
            config,
            http,
            store: None,
            secrets: Arc::new(ProcessEnv),
            login: LoginMode::Never,
            browser: Arc::new(SystemBrowser),
            client_name: DEFAULT_CLIENT_NAME.to_owned(),
        }
    }

    /// The server's name.
    pub fn server(&self) -> &str {
        self.key.server()
    }

    /// The key of this authorizer's record.
    pub fn key(&self) -> &StoreKey {
        &self.key
    }

    /// Where the record is kept (for messages).
    pub fn location(&self) -> String {
        self.store.location(&self.key)
    }

    /// The token to send now, if there is one: the stored one, refreshed first when it expires
    /// within min(30 s, half its lifetime). `None` when nothing usable is stored: send the
    /// request without a token and pass the 401 to [`unauthorized`](Self::unauthorized).
    ///
    /// # Errors
    /// [`Step::Storage`] when the store fails; [`Step::Refresh`] when a refresh failed for a
    /// reason other than the server refusing the refresh token.
    pub async fn bearer(&self) -> Result<Option<Token>, AuthError> {
        let mut state = self.state.lock().await;
        self.restore(&mut state).await?;
        let Some(manager) = state.as_ref() else { return Ok(None) };
        match manager.get_access_token().await {
            Ok(token) => Ok(Some(Token::new(token))),
            // Client credentials and cross-app access need no person: with the metadata known,
            // get a new token now rather than after a 401.
            Err(RmcpError::AuthorizationRequired)
                if self.config.grant != OAuthGrant::AuthorizationCode =>
            {
                self.machine_grant(&mut state, None, None, false).await.map(Some)
            }
            Err(RmcpError::AuthorizationRequired) => Ok(None),
            Err(err) => Err(self.rmcp(Step::Refresh, &err)),
        }
    }

    /// After a 401 answer to a request that carried `sent` (or no token): a token to retry
    /// with. If the token changed meanwhile, that one; else a refresh (once per round); else a
    /// new authorization under the login mode. `challenge` is the answer's `WWW-Authenticate`.
    ///
    /// # Errors
    /// [`AuthError::LoginRequired`] when a person is needed; [`AuthError::TooManyAuthorizations`]
    /// when `round` is used up; a [`Flow`](AuthError::Flow) error naming the failed step.
    pub async fn unauthorized(
        &self,
        challenge: Option<&str>,
        sent: Option<&Token>,
        round: &mut Round,
    ) -> Result<Token, AuthError> {
        let mut state = self.state.lock().await;
        self.restore(&mut state).await?;
        if let Some(manager) = state.as_ref() {
            match manager.get_access_token().await {
                Ok(token) if sent.is_none_or(|sent| sent.expose() != token) => {
                    tracing::debug!(server = self.server(), "OAuth: the token changed meanwhile");
                    return Ok(Token::new(token));
                }
                Ok(_) if round.refreshes == 0 => {
                    round.refreshes += 1;
                    match manager.refresh_token().await {
                        Ok(response) => {
                            tracing::debug!(server = self.server(), "OAuth: token refreshed");
                            return Ok(Token::new(response.access_token().secret().clone()));
                        }
                        Err(
                            RmcpError::AuthorizationRequired | RmcpError::TokenRefreshRejected(_),
                        ) => {
                            tracing::debug!(server = self.server(), "OAuth: refresh refused");
                        }
                        Err(err) => return Err(self.rmcp(Step::Refresh, &err)),
                    }
                }
                Ok(_) | Err(RmcpError::AuthorizationRequired) => {}
                Err(err) => return Err(self.rmcp(Step::Refresh, &err)),
            }
        }
        self.authorize_locked(&mut state, challenge, None, round, "401 unauthorized").await
    }

    /// After a 403 answer carrying `challenge` (its `WWW-Authenticate`) to a request that
    /// carried `sent`: a token to retry with. Only `error="insufficient_scope"` steps up: to the
    /// union of the granted scopes and the challenge's `scope`, unless they are granted already
    /// (then the server will not be satisfied by another authorization). A 403 with
    /// `error="invalid_token"` is handled as a 401.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] for another 403; [`AuthError::ScopeNotHonoured`];
    /// [`AuthError::TooManyAuthorizations`]; the errors of [`unauthorized`](Self::unauthorized).
    pub async fn insufficient_scope(
        &self,
        challenge: &str,
        sent: Option<&Token>,
        round: &mut Round,
    ) -> Result<Token, AuthError> {
        let params = WWWAuthenticateParams::parse(challenge, self.key.url());
        if params.is_invalid_token() {
            return self.unauthorized(Some(challenge), sent, round).await;
        }
        if !params.is_insufficient_scope() {
            return Err(AuthError::Forbidden {
                server: self.server().to_owned(),
                // An RFC 6750 error code is a short ASCII word; the server could send anything.
                error: params.error.map_or_else(
                    || "no error code".to_owned(),
                    |e| e.chars().filter(char::is_ascii_graphic).take(64).collect(),
                ),
            });
        }
        let required: Vec<String> = params
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut state = self.state.lock().await;
        self.restore(&mut state).await?;
        let granted: BTreeSet<String> =
            self.lock_record().granted_scopes().iter().cloned().collect();
        let covered = required.iter().all(|scope| granted.contains(scope));
        if covered && let Some(manager) = state.as_ref() {
            // Another caller may have stepped up while this one waited.
            if let Ok(token) = manager.get_access_token().await
                && sent.is_none_or(|sent| sent.expose() != token)
            {
                return Ok(Token::new(token));
            }
        }
        if covered {
            return Err(AuthError::ScopeNotHonoured {
                server: self.server().to_owned(),
                required: required.join(" "),
            });
        }
        let mut scopes: Vec<String> = self.lock_record().granted_scopes().to_vec();
        for scope in required {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let why = format!("insufficient_scope for {:?}", params.scope.unwrap_or_default());
        self.authorize_locked(&mut state, Some(challenge), Some(scopes), round, &why).await
    }

    /// Runs a new authorization now, whatever is stored, under the login mode (for a `login`
    /// command). `challenge` seeds discovery when a 401 gave one.
    ///
    /// # Errors
    /// As [`unauthorized`](Self::unauthorized).
    pub async fn authorize(&self, challenge: Option<&str>) -> Result<Token, AuthError> {
        let mut state = self.state.lock().await;
        self.restore(&mut state).await?;
        self.authorize_locked(&mut state, challenge, None, &mut Round::new(), "login").await
    }

    /// The stored record, if any (to report issuer, scopes and location; it holds no
    /// printable secret).
    ///
    /// # Errors
    /// [`Step::Storage`] when the store fails.
    pub async fn stored(&self) -> Result<Option<StoredAuth>, AuthError> {
        let _state = self.state.lock().await;
        self.load_record().await
    }

    /// Forgets this server's tokens and client: deletes the record (locally; the
    /// authorization server is not told). `true` if there was one.
    ///
    /// # Errors
    /// [`Step::Storage`] when the store fails.
    pub async fn logout(&self) -> Result<bool, AuthError> {
        let mut state = self.state.lock().await;
        *state = None;
        *self.lock_record() = StoredAuth::new(&self.key);
        let (store, key) = (self.store.clone(), self.key.clone());
        blocking(move || store.delete(&key)).await.map_err(|e| self.storage(e))
    }

    fn lock_record(&self) -> std::sync::MutexGuard<'_, StoredAuth> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn storage(&self, err: std::io::Error) -> AuthError {
        AuthError::flow(self.server(), Step::Storage, format!("{}: {err}", self.location()))
    }

    fn rmcp(&self, step: Step, err: &RmcpError) -> AuthError {
        // rmcp turns a refused request's error into text: the policy kept it.
        match self.policy.take_refusal() {
            Some(refused) => self.refused(refused),
            None => AuthError::flow(self.server(), step, describe(err)),
        }
    }

    fn refused(&self, refused: Refused) -> AuthError {
        AuthError::AddressRefused {
            server: self.server().to_owned(),
            url: refused.url,
            reason: refused.reason,
        }
    }

    async fn load_record(&self) -> Result<Option<StoredAuth>, AuthError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        blocking(move || store.load(&key)).await.map_err(|e| self.storage(e))
    }

    /// A manager with our HTTP client and the store bridge, nothing discovered yet.
    async fn new_manager(&self) -> Result<AuthorizationManager, AuthError> {
        // A new flow: a refusal of an earlier one is no cause of this one's errors.
        let _ = self.policy.take_refusal();
        let mut manager = AuthorizationManager::new_with_oauth_http_client(
            self.key.url().clone(),
            Arc::new(self.http.clone()),
        )
        .await
        .map_err(|e| self.rmcp(Step::Discovery, &e))?;
        manager.set_credential_store(Bridge {
            store: self.store.clone(),
            key: self.key.clone(),
            record: self.record.clone(),
        });
        Ok(manager)
    }

    /// Configures a manager from the stored record, if there is a usable one and none is
    /// configured yet: its metadata and client (with its secret) as they were, no network.
    async fn restore(&self, state: &mut Option<AuthorizationManager>) -> Result<(), AuthError> {
        if state.is_some() {
            return Ok(());
        }
        let Some(record) = self.load_record().await? else { return Ok(()) };
        let (Some(metadata), Some(client)) = (record.as_metadata.clone(), record.client.clone())
        else {
            return Ok(());
        };
        if self.config.client_id.as_ref().is_some_and(|id| *id != client.id) {
            tracing::info!(
                server = self.server(),
                "OAuth: the configured client changed; the stored tokens are not used"
            );
            return Ok(());
        }
        if grant::stored_grant(&client.origin) != self.config.grant {
            tracing::info!(
                server = self.server(),
                "OAuth: the configured grant changed; the stored tokens are not used"
            );
            return Ok(());
        }
        let mut manager = self.new_manager().await?;
        manager.set_metadata(metadata);
        let mut config = OAuthClientConfig::new(client.id.clone(), client.redirect_uri.clone());
        if let Some(secret) = &client.secret {
            config = config.with_client_secret(secret.expose());
        }
        manager.configure_client(config).map_err(|e| self.rmcp(Step::Registration, &e))?;
        *self.lock_record() = record;
        *state = Some(manager);
        tracing::debug!(server = self.server(), "OAuth: stored authorization restored");
        Ok(())
    }

    /// Runs one authorization, the state lock held: a step-up on the configured manager when
    /// `scopes` is given and one exists, else discovery and registration first.
    async fn authorize_locked(
        &self,
        state: &mut Option<AuthorizationManager>,
        challenge: Option<&str>,
        scopes: Option<Vec<String>>,
        round: &mut Round,
        why: &str,
    ) -> Result<Token, AuthError> {
        if round.authorizations >= MAX_AUTHORIZATIONS_PER_REQUEST {
            return Err(AuthError::TooManyAuthorizations {
                server: self.server().to_owned(),
                authorizations: round.authorizations,
                last: why.to_owned(),
            });
        }
        if self.config.grant != OAuthGrant::AuthorizationCode {
            // No person takes part: the login mode does not matter.
            round.authorizations += 1;
            tracing::info!(server = self.server(), reason = why, "OAuth: authorizing");
            let rediscover = scopes.is_none();
            return self.machine_grant(state, challenge, scopes, rediscover).await;
        }
        if self.login == LoginMode::Never {
            return Err(AuthError::LoginRequired {
                server: self.server().to_owned(),
                reason: format!("no usable token ({why}) and logging in is off here"),
            });
        }
        round.authorizations += 1;
        tracing::info!(server = self.server(), reason = why, "OAuth: authorizing");
        let stepping_up = match (scopes, state.as_ref()) {
            (Some(scopes), Some(manager)) => Ok((scopes, manager)),
            (scopes, _) => Err(scopes),
        };
        let response = match stepping_up {
            Ok((scopes, manager)) => {
                // The client is registered with this redirect URI: listen on its port again.
                let redirect_uri = self
                    .lock_record()
                    .client
                    .as_ref()
                    .map_or_else(|| self.redirect_uri(None), |c| c.redirect_uri.clone());
                let port = Url::parse(&redirect_uri).ok().and_then(|u| u.port()).unwrap_or(0);
                let listener = self.listen(port).await?;
                self.step_up(manager, &scopes, &redirect_uri, listener).await?
            }
            Err(scopes) => {
                let listener = self.listen(self.config.redirect_port.unwrap_or(0)).await?;
                let redirect_uri = self.redirect_uri(listener.as_ref());
                let (session, header) = self.start(challenge, scopes, redirect_uri).await?;
                let callback =
                    self.user_step(&session.auth_url, &session.redirect_uri, listener).await?;
                // Only now: a failed user step leaves the record as it was. The exchange saves
                // the tokens into this header through the bridge.
                *self.lock_record() = header;
                let response = session
                    .handle_callback_url(&callback)
                    .await
                    .map_err(|e| self.rmcp(Step::Token, &e))?;
                *state = Some(session.auth_manager);
                response
            }
        };
        Ok(Token::new(response.access_token().secret().clone()))
    }

    /// A new authorization request on an already configured manager, for `scopes`.
    async fn step_up(
        &self,
        manager: &AuthorizationManager,
        scopes: &[String],
        redirect_uri: &str,
        listener: Option<Listener>,
    ) -> Result<rmcp::transport::auth::OAuthTokenResponse, AuthError> {
        let mut scopes = scopes.to_vec();
        let offline = self
            .lock_record()
            .as_metadata
            .as_ref()
            .and_then(|m| m.scopes_supported.as_ref())
            .is_some_and(|s| s.iter().any(|s| s == "offline_access"));
        if offline && !scopes.iter().any(|s| s == "offline_access") {
            scopes.push("offline_access".to_owned());
        }
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let auth_url = manager
            .get_authorization_url(&refs)
            .await
            .map_err(|e| self.rmcp(Step::Authorization, &e))?;
        let callback = self.user_step(&auth_url, redirect_uri, listener).await?;
        let callback = AuthorizationCallback::from_redirect_url(&callback)
            .map_err(|e| self.rmcp(Step::Authorization, &e))?;
        manager
            .exchange_code_for_token_with_issuer(
                &callback.code,
                &callback.csrf_token,
                callback.issuer.as_deref(),
            )
            .await
            .map_err(|e| self.rmcp(Step::Token, &e))
    }

    /// The loopback listener of an interactive login on `port` (0: any), else `None`.
    async fn listen(&self, port: u16) -> Result<Option<Listener>, AuthError> {
        match self.login {
            LoginMode::Interactive { .. } => Ok(Some(agent::bind(self.server(), port).await?)),
            _ => Ok(None),
        }
    }

    /// The user step for `auth_url` under the login mode: the callback URL.
    async fn user_step(
        &self,
        auth_url: &str,
        redirect_uri: &str,
        listener: Option<Listener>,
    ) -> Result<String, AuthError> {
        match (self.login, listener) {
            (LoginMode::Interactive { login_timeout }, Some(listener)) => {
                agent::interactive(
                    self.server(),
                    self.browser.as_ref(),
                    listener,
                    auth_url,
                    login_timeout,
                )
                .await
            }
            _ => {
                let redirect = Url::parse(redirect_uri)
                    .map_err(|e| AuthError::flow(self.server(), Step::Authorization, e))?;
                let target = Url::parse(auth_url)
                    .map_err(|e| AuthError::flow(self.server(), Step::Authorization, e))?;
                self.policy.check(&target).await.map_err(|r| self.refused(r))?;
                agent::headless(self.server(), self.http.no_redirects(), auth_url, &redirect).await
            }
        }
    }

    /// The listener's redirect URI; without one `http://127.0.0.1:PORT/callback`, PORT the
    /// configured one or [`DEFAULT_REDIRECT_PORT`] (nothing listens there: headless login
    /// reads the redirect from the authorization server's answer).
    fn redirect_uri(&self, listener: Option<&Listener>) -> String {
        if let Some(listener) = listener {
            return listener.redirect_uri.clone();
        }
        let port = self.config.redirect_port.unwrap_or(DEFAULT_REDIRECT_PORT);
        format!("http://127.0.0.1:{port}/callback")
    }

    /// Discovery and registration: an rmcp session holding the authorization URL, and the
    /// record to save the tokens in (metadata, client; no credentials yet).
    async fn start(
        &self,
        challenge: Option<&str>,
        scopes: Option<Vec<String>>,
        redirect_uri: String,
    ) -> Result<(AuthorizationSession, StoredAuth), AuthError> {
        let mut manager = self.new_manager().await?;
        let metadata = self.discover(&manager, challenge).await?;
        manager.set_metadata(metadata.clone());
        let supports_cimd = metadata
            .additional_fields
            .get("client_id_metadata_document_supported")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let stored = self.lock_record().clone();
        let (id, secret, origin) = if let Some(id) = &self.config.client_id {
            (id.clone(), self.client_secret()?, "configured")
        } else if let Some(url) = self.config.client_metadata_url.as_ref().filter(|_| supports_cimd)
        {
            (url.to_string(), None, "metadata_document")
        } else if let Some(client) = stored.client.as_ref().filter(|c| {
            c.origin == "registered"
                && c.redirect_uri == redirect_uri
                && stored.issuer == metadata.issuer
        }) {
            (client.id.clone(), client.secret.clone(), "registered")
        } else {
            // Registered here rather than by rmcp's session, which would keep the secret the
            // server returns only in memory.
            let config = manager
                .register_client(&self.client_name, &redirect_uri, &[])
                .await
                .map_err(|e| self.rmcp(Step::Registration, &e))?;
            tracing::debug!(server = self.server(), "OAuth: client registered");
            (config.client_id, config.client_secret.map(Secret::new), "registered")
        };
        let mut request = AuthorizationRequest::new(redirect_uri.clone())
            .with_client_name(self.client_name.clone())
            .with_preregistered_client(id.clone());
        if let Some(secret) = &secret {
            request = request.with_client_secret(secret.expose());
        }
        request = match scopes {
            Some(scopes) => request.with_scopes(scopes),
            None if !self.config.scopes.is_empty() => {
                request.with_scopes(self.config.scopes.clone())
            }
            None => request.with_initial_scope_selection(),
        };
        let session = AuthorizationSession::new(manager, request)
            .await
            .map_err(|(_, e)| self.rmcp(Step::Authorization, &e))?;
        let resource = Url::parse(&session.auth_url).ok().and_then(|url| {
            url.query_pairs().find(|(k, _)| k == "resource").map(|(_, v)| v.into_owned())
        });
        let client = StoredClient {
            id,
            auth_method: auth_method(&metadata, secret.is_some()).to_owned(),
            secret,
            redirect_uri,
            origin: origin.to_owned(),
        };
        let header = StoredAuth {
            resource,
            issuer: metadata.issuer.clone(),
            as_metadata: Some(metadata),
            client: Some(client),
            credentials: None,
            ..StoredAuth::new(&self.key)
        };
        Ok((session, header))
    }

    /// Discovery, seeded by the challenge: the authorization server's metadata.
    async fn discover(
        &self,
        manager: &AuthorizationManager,
        challenge: Option<&str>,
    ) -> Result<AuthorizationMetadata, AuthError> {
        match manager.resolve_metadata_from_challenge(challenge).await {
            Ok(resolution) => Ok(resolution.metadata),
            Err(RmcpError::AuthorizationServerMismatch { expected_issuer, received_issuer }) => {
                self.legacy_issuer(challenge, &expected_issuer, &received_issuer).await
            }
            Err(err) => Err(self.rmcp(Step::Discovery, &err)),
        }
    }

    /// The configured client secret, read from where the config names it.
    fn client_secret(&self) -> Result<Option<Secret>, AuthError> {
        let Some(reference) = &self.config.client_secret else { return Ok(None) };
        secret::resolve(reference, self.secrets.as_ref()).map(Some).map_err(|reason| {
            AuthError::flow(
                self.server(),
                Step::Registration,
                format!("the client secret {reason}"),
            )
        })
    }

    /// The 2025-03-26 back-compat rule: discovery found no protected resource metadata and
    /// refused the authorization server metadata at the root of the resource's own origin only
    /// because its issuer names a path on that origin. Then that document is used, with a
    /// warning. Anything else stays an error.
    async fn legacy_issuer(
        &self,
        challenge: Option<&str>,
        expected: &str,
        received: &str,
    ) -> Result<AuthorizationMetadata, AuthError> {
        let url = self.key.url();
        let refused = || {
            AuthError::flow(
                self.server(),
                Step::Discovery,
                format!(
                    "the authorization server's issuer {received:?} is not the expected {expected:?}"
                ),
            )
        };
        let pointed = challenge
            .is_some_and(|c| WWWAuthenticateParams::parse(c, url).resource_metadata_url.is_some());
        if pointed || !legacy_issuer_allowed(url, expected, received) {
            return Err(refused());
        }
        let at = |path: &str| {
            let mut candidate = url.clone();
            candidate.set_query(None);
            candidate.set_fragment(None);
            candidate.set_path(path);
            candidate
        };
        let trimmed = url.path().trim_matches('/');
        let mut probes = vec![at("/.well-known/oauth-protected-resource")];
        if !trimmed.is_empty() {
            probes.push(at(&format!("/.well-known/oauth-protected-resource/{trimmed}")));
        }
        let client = self.http.no_redirects();
        for probe in probes {
            if let Ok((status, _)) = http::get(client, &probe).await
                && status.is_success()
            {
                return Err(refused());
            }
        }
        let document = at("/.well-known/oauth-authorization-server");
        let (status, body) = http::get(client, &document)
            .await
            .map_err(|e| AuthError::flow(self.server(), Step::Discovery, e))?;
        let metadata = status
            .is_success()
            .then(|| serde_json::from_slice::<AuthorizationMetadata>(&body).ok())
            .flatten()
            .filter(|m| {
                m.issuer.as_deref() == Some(received)
                    && same_origin(url, &m.authorization_endpoint)
                    && same_origin(url, &m.token_endpoint)
            })
            .ok_or_else(refused)?;
        tracing::warn!(
            server = self.server(),
            issuer = received,
            "OAuth: using the authorization server metadata at the resource's origin although its \
             issuer has a path (2025-03-26 back-compat)"
        );
        Ok(metadata)
    }
}

/// Whether the back-compat issuer rule may apply: the expected issuer is the root of the
/// resource's origin, and the received one is on that origin too.
fn legacy_issuer_allowed(resource: &Url, expected: &str, received: &str) -> bool {
    let (Ok(expected), Ok(received)) = (Url::parse(expected), Url::parse(received)) else {
        return false;
    };
    expected.origin() == resource.origin()
        && matches!(expected.path(), "" | "/")
        && received.origin() == resource.origin()
}

fn same_origin(resource: &Url, candidate: &str) -> bool {
    Url::parse(candidate).is_ok_and(|url| url.origin() == resource.origin())
}

/// The token endpoint auth method rmcp will use, as rmcp picks it (`configure_client`).
fn auth_method(metadata: &AuthorizationMetadata, has_secret: bool) -> &'static str {
    if !has_secret {
        return "none";
    }
    let listed = |name: &str| {
        metadata
            .additional_fields
            .get("token_endpoint_auth_methods_supported")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|methods| methods.iter().any(|m| m.as_str() == Some(name)))
    };
    if listed("client_secret_post") && !listed("client_secret_basic") {
        "client_secret_post"
    } else {
        "client_secret_basic"
    }
}

/// An error and its sources, as one line.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Runs blocking store I/O off the runtime's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(std::io::Error::other)?
}

/// rmcp's credential store over a [`TokenStore`] record: rmcp reads and writes the
/// credentials; the rest of the record (client, metadata) comes from the authorizer.
#[derive(Clone)]
struct Bridge {
    store: Arc<dyn TokenStore>,
    key: StoreKey,
    record: Arc<SyncMutex<StoredAuth>>,
}

impl Bridge {
    fn record(&self) -> std::sync::MutexGuard<'_, StoredAuth> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, err: std::io::Error) -> RmcpError {
        RmcpError::CredentialStoreError(format!("{}: {err}", self.store.location(&self.key)))
    }
}

#[async_trait]
impl CredentialStore for Bridge {
    async fn load(&self) -> Result<Option<StoredCredentials>, RmcpError> {
        // Read afresh: another process may have refreshed (under the lock) or logged out.
        let (store, key) = (self.store.clone(), self.key.clone());
        let stored = blocking(move || store.load(&key)).await.map_err(|e| self.failed(e))?;
        let mut record = self.record();
        let ours = record.client.as_ref().map(|c| c.id.clone());
        match stored {
            Some(stored) if stored.client.as_ref().map(|c| c.id.clone()) == ours => {
                record.credentials.clone_from(&stored.credentials);
                Ok(stored.credentials)
            }
            _ => Ok(None),
        }
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), RmcpError> {
        let snapshot = {
            let mut record = self.record();
            record.credentials = Some(credentials);
            record.clone()
        };
        let (store, key) = (self.store.clone(), self.key.clone());
        blocking(move || store.save(&key, &snapshot)).await.map_err(|e| self.failed(e))
    }

    async fn clear(&self) -> Result<(), RmcpError> {
        self.record().credentials = None;
        let (store, key) = (self.store.clone(), self.key.clone());
        blocking(move || store.delete(&key)).await.map(drop).map_err(|e| self.failed(e))
    }

    async fn acquire_refresh_guard(&self) -> Result<Option<CredentialRefreshGuard>, RmcpError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        let guard = blocking(move || store.lock(&key)).await.map_err(|e| self.failed(e))?;
        Ok(Some(CredentialRefreshGuard::new(guard)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{self, Answer};
    use serde_json::json;

    /// A 2025-03-26 server: no protected resource metadata (unless `prm`), authorization
    /// server metadata at the root whose issuer is `ORIGIN/oauth`, endpoints under `/oauth`,
    /// and an MCP endpoint whose `GET` opens an endless event stream.
    async fn legacy_server(prm: bool) -> mock::Mock {
        mock::serve(move |origin, method, target| {
            let path = target.split('?').next().unwrap_or_default();
            match (method, path) {
                ("GET", "/mcp") => Answer { status: 200, headers: Vec::new(), body: None },
                ("GET", "/.well-known/oauth-protected-resource/mcp") if prm => Answer::json(
                    200,
                    &json!({"resource": format!("{origin}/mcp"), "authorization_servers": [origin]}),
                ),
                ("GET", "/.well-known/oauth-authorization-server") => Answer::json(
                    200,
                    &json!({
                        "issuer": format!("{origin}/oauth"),
                        "authorization_endpoint": format!("{origin}/oauth/authorize"),
                        "token_endpoint": format!("{origin}/oauth/token"),
                        "registration_endpoint": format!("{origin}/oauth/register"),
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                    }),
                ),
                ("POST", "/oauth/register") => Answer::json(
                    201,
                    &json!({"client_id": "c1", "redirect_uris": ["http://127.0.0.1:8976/callback"]}),
                ),
                ("GET", "/oauth/authorize") => {
                    let redirect = mock::param(target, "redirect_uri").unwrap_or_default();
                    let state = mock::param(target, "state").unwrap_or_default();
                    Answer::redirect(&format!("{redirect}?code=c0de&state={state}"))
                }
                ("POST", "/oauth/token") => Answer::json(
                    200,
                    &json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3600}),
                ),
                _ => Answer::status(404),
            }
        })
        .await
    }

    fn authorizer(mock: &mock::Mock, dir: &std::path::Path) -> Authorizer {
        let url = Url::parse(&format!("{}/mcp", mock.origin)).unwrap();
        Authorizer::builder("old", &url, OAuthConfig::default(), mock::http())
            .store(Arc::new(FileStore::new(dir)))
            .login(LoginMode::Headless)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_2025_03_26_server_on_the_resources_origin_is_accepted() {
        let mock = legacy_server(false).await;
        let dir = tempfile::tempdir().unwrap();
        let auth = authorizer(&mock, dir.path());
        let token = tokio::time::timeout(std::time::Duration::from_secs(20), auth.authorize(None))
            .await
            .expect("no wait on the event stream")
            .unwrap();
        assert_eq!(token.expose(), "at");
        let record = auth.stored().await.unwrap().unwrap();
        assert_eq!(record.issuer(), Some(format!("{}/oauth", mock.origin).as_str()));
    }

    #[tokio::test]
    async fn with_resource_metadata_the_issuer_check_stays_strict() {
        let mock = legacy_server(true).await;
        let dir = tempfile::tempdir().unwrap();
        let err = authorizer(&mock, dir.path()).authorize(None).await.unwrap_err();
        assert_eq!(err.step(), Step::Discovery, "{err}");
        assert!(err.to_string().contains("is not the expected"), "{err}");
    }

    /// A server on a "public" address (the policy made strict: the mock is on loopback) whose
    /// protected resource metadata names an authorization server on another loopback address:
    /// nothing is sent there, and the error is typed. Its own origin stays reachable.
    #[tokio::test]
    async fn metadata_may_not_send_the_client_to_a_local_address() {
        let mock = mock::serve(|origin, method, target| match (method, target) {
            ("GET", "/.well-known/oauth-protected-resource/mcp") => {
                let port = origin.rsplit(':').next().unwrap_or_default();
                Answer::json(
                    200,
                    &json!({
                        "resource": format!("{origin}/mcp"),
                        "authorization_servers": [format!("http://127.0.0.2:{port}")],
                    }),
                )
            }
            _ => Answer::status(404),
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let mut auth = authorizer(&mock, dir.path());
        auth.policy = Arc::new(AddressPolicy::strict(auth.key.url()));
        auth.http = auth.http.guarded(auth.policy.clone());
        let challenge = format!(
            r#"Bearer resource_metadata="{}/.well-known/oauth-protected-resource/mcp""#,
            mock.origin
        );
        let err = auth.authorize(Some(&challenge)).await.unwrap_err();
        let AuthError::AddressRefused { url, reason, .. } = &err else { panic!("{err:?}") };
        assert!(url.starts_with("http://127.0.0.2:"), "{url}");
        assert!(reason.contains("loopback, private or link-local"), "{reason}");
        assert_eq!(err.step(), Step::Discovery);
    }

    /// Under a policy, redirects are followed hop by hop, each checked.
    #[tokio::test]
    async fn each_redirect_is_checked() {
        let mock = mock::serve(|origin, _, target| match target {
            "/here" => Answer::redirect(&format!("{origin}/there")),
            "/there" => Answer::json(200, &json!({"ok": true})),
            _ => {
                let port = origin.rsplit(':').next().unwrap_or_default();
                Answer::redirect(&format!("http://127.0.0.2:{port}/inside"))
            }
        })
        .await;
        let resource = Url::parse(&format!("{}/mcp", mock.origin)).unwrap();
        let policy = AddressPolicy::strict(&resource);
        let http = mock::http();
        let get =
            |path: &str| http.no_redirects().get(format!("{}{path}", mock.origin)).build().unwrap();
        let deadline = std::time::Duration::from_secs(10);
        let answer = http.guarded_execute(&policy, get("/here"), true, deadline).await.unwrap();
        assert_eq!(answer.status(), 200, "a redirect on the resource's origin is followed");
        let err = http.guarded_execute(&policy, get("/away"), true, deadline).await.unwrap_err();
        assert!(err.to_string().starts_with("refused to contact http://127.0.0.2:"), "{err}");
        // Not following: the redirect itself is the answer.
        let answer = http.guarded_execute(&policy, get("/away"), false, deadline).await.unwrap();
        assert_eq!(answer.status(), 302);
    }

    #[test]
    fn legacy_issuer_only_on_the_resources_own_origin() {
        let resource = Url::parse("http://localhost:3000/mcp").unwrap();
        assert!(legacy_issuer_allowed(
            &resource,
            "http://localhost:3000/",
            "http://localhost:3000/oauth"
        ));
        // Another origin, or a PRM-named issuer with a path: strict.
        assert!(!legacy_issuer_allowed(
            &resource,
            "http://localhost:3000/",
            "http://evil.example/oauth"
        ));
        assert!(!legacy_issuer_allowed(
            &resource,
            "http://localhost:3000/tenant",
            "http://localhost:3000/x"
        ));
        assert!(!legacy_issuer_allowed(
            &resource,
            "http://localhost:4000/",
            "http://localhost:4000/oauth"
        ));
    }

    #[test]
    fn auth_method_follows_rmcp() {
        let mut metadata = AuthorizationMetadata::default();
        assert_eq!(auth_method(&metadata, false), "none");
        assert_eq!(auth_method(&metadata, true), "client_secret_basic");
        metadata.additional_fields.insert(
            "token_endpoint_auth_methods_supported".into(),
            serde_json::json!(["client_secret_post"]),
        );
        assert_eq!(auth_method(&metadata, true), "client_secret_post");
    }
}
