//! `Authorizer` against testkit's `OAuthFixture`, over real HTTP on loopback: headless
//! authorization, reuse from the file, client authentication, refresh, re-authorization,
//! step-up and its cap, single flight, the file's modes, logout, secrets kept out of text, and
//! the interactive login's loopback listener (with a browser that is a task).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mcp_auth::{
    AuthError, Authorizer, Browser, FileStore, LoginMode, ReqwestOAuth, Round, SecretSource, Step,
    StoreKey, Token, TokenStore,
};
use mcp_config::{OAuthConfig, OAuthGrant, SecretRef};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use testkit::oauth::{AuthMethod, FixtureOptions, OAuthFixture};
use url::Url;

/// The OAuth HTTP client: two plain reqwest clients (TLS is never used on loopback, but
/// reqwest wants a provider to build).
fn http() -> ReqwestOAuth {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let build = |policy| {
        reqwest::Client::builder().no_proxy().redirect(policy).build().expect("a reqwest client")
    };
    ReqwestOAuth::new(
        build(reqwest::redirect::Policy::none()),
        build(reqwest::redirect::Policy::limited(10)),
    )
}

/// Secrets from a fixed list instead of the process environment.
#[derive(Debug)]
struct Vars(&'static [(&'static str, &'static str)]);

impl SecretSource for Vars {
    fn var(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }
}

fn authorizer(
    fixture: &OAuthFixture,
    dir: &Path,
    config: OAuthConfig,
    login: LoginMode,
) -> Authorizer {
    Authorizer::builder("docs", &mcp_url(fixture), config, http())
        .store(Arc::new(FileStore::new(dir)))
        .secrets(Arc::new(Vars(&[("APP_SECRET", "s3cret"), ("POST_SECRET", "p0st")])))
        .login(login)
        .build()
        .expect("an authorizer")
}

fn mcp_url(fixture: &OAuthFixture) -> Url {
    Url::parse(fixture.mcp_url()).expect("a URL")
}

fn message(method: &str) -> Value {
    match method {
        "initialize" => json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "mcp-auth-test", "version": "0"}}}),
        _ => json!({"jsonrpc": "2.0", "id": 2, "method": method,
            "params": {"name": "echo", "arguments": {"message": "hi"}}}),
    }
}

/// POSTs a JSON-RPC `method` to the protected MCP endpoint: the status and the challenge.
async fn call(
    fixture: &OAuthFixture,
    token: Option<&Token>,
    method: &str,
) -> (StatusCode, Option<String>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client")
        .post(fixture.mcp_url())
        .header(ACCEPT, "application/json, text/event-stream")
        .json(&message(method));
    if let Some(token) = token {
        request = request.bearer_auth(token.expose());
    }
    let response = request.send().await.expect("an answer from the MCP endpoint");
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| value.to_str().expect("ASCII").to_owned());
    (response.status(), challenge)
}

/// A 401 challenge from the endpoint for a request carrying `token`.
async fn challenge(fixture: &OAuthFixture, token: Option<&Token>) -> String {
    let (status, challenge) = call(fixture, token, "initialize").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    challenge.expect("a WWW-Authenticate challenge")
}

/// Authorizes from scratch through a 401, as a transport would: the token.
async fn first_login(fixture: &OAuthFixture, auth: &Authorizer) -> Token {
    assert!(auth.bearer().await.expect("bearer").is_none(), "nothing stored yet");
    let challenge = challenge(fixture, None).await;
    let token = auth
        .unauthorized(Some(&challenge), None, &mut Round::new())
        .await
        .expect("a headless authorization");
    assert_eq!(call(fixture, Some(&token), "initialize").await.0, StatusCode::OK);
    token
}

fn stored_json(dir: &Path, fixture: &OAuthFixture) -> Value {
    let key = StoreKey::new("docs", &mcp_url(fixture));
    let text = std::fs::read(FileStore::new(dir).path(&key)).expect("the record file");
    serde_json::from_slice(&text).expect("JSON")
}

/// A fixture that knows one client, `id` with `secret`, authenticating by `method` (its only
/// one, and no dynamic registration); a temp state dir; and the config of that client, whose
/// secret is read from `secret_var`.
async fn preregistered(
    method: AuthMethod,
    id: &str,
    secret: &str,
    secret_var: &str,
) -> (OAuthFixture, tempfile::TempDir, OAuthConfig) {
    let fixture = OAuthFixture::start(
        FixtureOptions::default().registration(false).auth_methods([method]).client(
            id,
            Some(secret),
            method,
        ),
    )
    .await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = OAuthConfig::default().client_id(id).client_secret(SecretRef::env(secret_var));
    (fixture, dir, config)
}

#[tokio::test]
async fn headless_registration_then_reuse_from_the_file() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless);
    let token = first_login(&fixture, &auth).await;

    let counters = fixture.counters();
    assert_eq!(
        (counters.register, counters.authorize, counters.token_authorization_code),
        (1, 1, 1)
    );
    let request = &fixture.authorize_requests()[0];
    assert_eq!(request.resource.as_deref(), Some(fixture.mcp_url()));
    assert_eq!(request.code_challenge_method.as_deref(), Some("S256"));
    // No challenge scope: the protected resource metadata's scopes_supported.
    assert_eq!(request.scope.as_deref(), Some("mcp:read mcp:write"));
    let record = auth.stored().await.expect("the store").expect("a record");
    assert_eq!(record.issuer(), Some(fixture.issuer()));
    assert_eq!(record.resource(), Some(fixture.mcp_url()));
    assert_eq!(record.granted_scopes(), ["mcp:read", "mcp:write"]);

    // Another authorizer (a restart) over the same directory: the token, with no network.
    let again = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Never);
    assert_eq!(again.bearer().await.expect("bearer"), Some(token.clone()));
    assert_eq!(call(&fixture, Some(&token), "initialize").await.0, StatusCode::OK);
    let after = fixture.counters();
    assert_eq!((after.register, after.authorize, after.token_authorization_code), (1, 1, 1));
}

#[tokio::test]
async fn preregistered_client_with_client_secret_basic_survives_a_restart() {
    let (fixture, dir, config) =
        preregistered(AuthMethod::ClientSecretBasic, "app", "s3cret", "APP_SECRET").await;
    let auth = authorizer(&fixture, dir.path(), config.clone(), LoginMode::Headless);
    let token = first_login(&fixture, &auth).await;
    let exchange = fixture.token_requests().pop().expect("a token request");
    assert_eq!(exchange.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(exchange.client_id.as_deref(), Some("app"));
    assert_eq!(exchange.auth_method, Some(AuthMethod::ClientSecretBasic));
    assert_eq!(exchange.resource.as_deref(), Some(fixture.mcp_url()));
    assert_eq!(fixture.counters().register, 0);

    // After a restart the refresh still authenticates with the secret, restored from the file.
    fixture.expire_access_tokens();
    let again = authorizer(&fixture, dir.path(), config, LoginMode::Never);
    let sent = again.bearer().await.expect("bearer").expect("the stored token");
    assert_eq!(sent, token);
    let challenge = challenge(&fixture, Some(&sent)).await;
    let renewed = again
        .unauthorized(Some(&challenge), Some(&sent), &mut Round::new())
        .await
        .expect("a refresh");
    assert_ne!(renewed, token);
    let refresh = fixture.token_requests().pop().expect("a token request");
    assert_eq!(refresh.grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(refresh.auth_method, Some(AuthMethod::ClientSecretBasic));
    assert_eq!(call(&fixture, Some(&renewed), "initialize").await.0, StatusCode::OK);
}

#[tokio::test]
async fn preregistered_client_with_client_secret_post() {
    let (fixture, dir, config) =
        preregistered(AuthMethod::ClientSecretPost, "poster", "p0st", "POST_SECRET").await;
    let auth = authorizer(&fixture, dir.path(), config, LoginMode::Headless);
    first_login(&fixture, &auth).await;
    let exchange = fixture.token_requests().pop().expect("a token request");
    assert_eq!(exchange.auth_method, Some(AuthMethod::ClientSecretPost));
    assert_eq!(exchange.client_id.as_deref(), Some("poster"));
}

#[tokio::test]
async fn a_missing_secret_variable_is_named() {
    let fixture = OAuthFixture::start(FixtureOptions::default().registration(false)).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = OAuthConfig::default().client_id("app").client_secret(SecretRef::env("NOT_SET"));
    let auth = authorizer(&fixture, dir.path(), config, LoginMode::Headless);
    let err = auth.authorize(None).await.expect_err("no secret");
    assert_eq!(err.step(), Step::Registration);
    assert_eq!(
        err.to_string(),
        "docs: OAuth registration failed: the client secret variable NOT_SET is not set"
    );
    assert_eq!(fixture.counters().authorize, 0);
}

#[tokio::test]
async fn an_expired_token_is_refreshed() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless);
    let token = first_login(&fixture, &auth).await;
    fixture.expire_access_tokens();
    let challenge = challenge(&fixture, Some(&token)).await;
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    let renewed = auth
        .unauthorized(Some(&challenge), Some(&token), &mut Round::new())
        .await
        .expect("a refresh");
    assert_ne!(renewed, token);
    assert_eq!(call(&fixture, Some(&renewed), "initialize").await.0, StatusCode::OK);
    let counters = fixture.counters();
    assert_eq!((counters.authorize, counters.token_refresh), (1, 1));
    assert_eq!(auth.bearer().await.expect("bearer"), Some(renewed));
}

#[tokio::test]
async fn a_refused_refresh_needs_a_login_or_reauthorizes_headless() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let headless = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless);
    let first = first_login(&fixture, &headless).await;
    fixture.revoke_all();
    fixture.deny_refresh();

    // `Never` (another process, same file): the refresh is refused, then a person is needed.
    let never = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Never);
    let sent = never.bearer().await.expect("bearer").expect("the stored token");
    let challenge = challenge(&fixture, Some(&sent)).await;
    let err = never
        .unauthorized(Some(&challenge), Some(&sent), &mut Round::new())
        .await
        .expect_err("a login is needed");
    assert!(matches!(err, AuthError::LoginRequired { .. }), "{err:?}");
    assert!(err.to_string().contains("run `research-demo login docs`"), "{err}");
    assert!(!err.to_string().contains(first.expose()));
    assert_eq!(fixture.counters().authorize, 1);

    // Headless: authorizes again.
    let renewed = headless
        .unauthorized(Some(&challenge), Some(&first), &mut Round::new())
        .await
        .expect("a new authorization");
    assert_eq!(call(&fixture, Some(&renewed), "initialize").await.0, StatusCode::OK);
    let counters = fixture.counters();
    assert_eq!((counters.authorize, counters.token_refresh), (2, 2));
    assert_eq!(counters.register, 1, "the registered client is reused");
}

#[tokio::test]
async fn never_with_nothing_stored_asks_for_a_login_without_any_request() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Never);
    let challenge = challenge(&fixture, None).await;
    let err =
        auth.unauthorized(Some(&challenge), None, &mut Round::new()).await.expect_err("a login");
    assert_eq!(
        err.to_string(),
        "docs: no usable token (401 unauthorized) and logging in is off here; logging in needs a \
         person: run `research-demo login docs`"
    );
    let counters = fixture.counters();
    assert_eq!((counters.register, counters.authorize), (0, 0));
}

#[tokio::test]
async fn step_up_asks_for_the_union_and_stops_after_three_authorizations() {
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .scopes_supported(["mcp:basic", "mcp:write", "mcp:admin", "mcp:root"])
            .challenge_scope("mcp:basic")
            .require_scopes("tools/call", ["mcp:basic", "mcp:write"]),
    )
    .await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless);

    // One logical request: the 401 authorizes (1), each 403 steps up (2, 3), then it stops.
    let mut round = Round::new();
    let challenge = challenge(&fixture, None).await;
    let token = auth.unauthorized(Some(&challenge), None, &mut round).await.expect("authorized");
    assert_eq!(fixture.authorize_requests()[0].scope.as_deref(), Some("mcp:basic"));
    let (status, forbidden) = call(&fixture, Some(&token), "tools/call").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let forbidden = forbidden.expect("a challenge");
    assert!(forbidden.contains("insufficient_scope"), "{forbidden}");
    let token =
        auth.insufficient_scope(&forbidden, Some(&token), &mut round).await.expect("stepped up");
    assert_eq!(fixture.authorize_requests()[1].scope.as_deref(), Some("mcp:basic mcp:write"));
    assert_ne!(call(&fixture, Some(&token), "tools/call").await.0, StatusCode::FORBIDDEN);

    fixture.set_required_scopes("tools/call", ["mcp:admin"]);
    let forbidden = call(&fixture, Some(&token), "tools/call").await.1.expect("a challenge");
    let token =
        auth.insufficient_scope(&forbidden, Some(&token), &mut round).await.expect("stepped up");
    assert_eq!(
        fixture.authorize_requests()[2].scope.as_deref(),
        Some("mcp:basic mcp:write mcp:admin"),
        "the granted scopes, then the required ones"
    );
    fixture.set_required_scopes("tools/call", ["mcp:root"]);
    let forbidden = call(&fixture, Some(&token), "tools/call").await.1.expect("a challenge");
    let err =
        auth.insufficient_scope(&forbidden, Some(&token), &mut round).await.expect_err("capped");
    assert!(matches!(err, AuthError::TooManyAuthorizations { authorizations: 3, .. }), "{err:?}");
    assert_eq!(round.authorizations(), 3);
    assert_eq!(fixture.counters().authorize, 3);

    // Scopes already granted: another authorization would not help. Not a scope error: no step-up.
    let granted = r#"Bearer error="insufficient_scope", scope="mcp:basic""#;
    let err = auth
        .insufficient_scope(granted, Some(&token), &mut Round::new())
        .await
        .expect_err("granted");
    assert!(matches!(err, AuthError::ScopeNotHonoured { .. }), "{err:?}");
    let other = r#"Bearer error="access_denied""#;
    let err =
        auth.insufficient_scope(other, Some(&token), &mut Round::new()).await.expect_err("other");
    assert!(matches!(err, AuthError::Forbidden { .. }), "{err:?}");
    assert_eq!(fixture.counters().authorize, 3);
}

#[tokio::test]
async fn a_token_for_another_audience_ends_in_an_error_not_a_loop() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless);
    let mut token = first_login(&fixture, &auth).await;
    fixture.rotate_audience("http://127.0.0.1:9/elsewhere");
    fixture.expire_access_tokens();
    let mut round = Round::new();
    let mut attempts = 0;
    let err = loop {
        attempts += 1;
        assert!(attempts <= 10, "no end in sight");
        let challenge = challenge(&fixture, Some(&token)).await;
        match auth.unauthorized(Some(&challenge), Some(&token), &mut round).await {
            Ok(next) => token = next,
            Err(err) => break err,
        }
    };
    assert!(matches!(err, AuthError::TooManyAuthorizations { .. }), "{err:?}");
    // One refresh, then three authorizations.
    assert_eq!(fixture.counters().token_refresh, 1);
    assert_eq!(fixture.counters().authorize, 1 + 3);
}

#[tokio::test]
async fn concurrent_401s_make_one_authorization_and_one_refresh() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth =
        Arc::new(authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless));
    let challenge = challenge(&fixture, None).await;
    let concurrently = |sent: Option<Token>| {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (auth, challenge, sent) = (auth.clone(), challenge.clone(), sent.clone());
                tokio::spawn(async move {
                    auth.unauthorized(Some(&challenge), sent.as_ref(), &mut Round::new()).await
                })
            })
            .collect();
        async move {
            let mut tokens = Vec::new();
            for task in tasks {
                tokens.push(task.await.expect("no panic").expect("a token"));
            }
            tokens
        }
    };
    let tokens = concurrently(None).await;
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    let counters = fixture.counters();
    assert_eq!(
        (counters.register, counters.authorize, counters.token_authorization_code),
        (1, 1, 1)
    );

    fixture.expire_access_tokens();
    let renewed = concurrently(Some(tokens[0].clone())).await;
    assert!(renewed.iter().all(|t| *t == renewed[0] && *t != tokens[0]));
    assert_eq!((fixture.counters().token_refresh, fixture.counters().authorize), (1, 1));
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_is_private_and_logout_removes_it() {
    use std::os::unix::fs::PermissionsExt as _;

    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let auth = authorizer(&fixture, dir.path(), OAuthConfig::default(), LoginMode::Headless);
    first_login(&fixture, &auth).await;
    let store = FileStore::new(dir.path());
    let path = store.path(auth.key());
    assert_eq!(auth.location(), path.display().to_string());
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(store.dir()), 0o700);
    let name = path.file_name().expect("a name").to_string_lossy().into_owned();
    assert!(name.starts_with("docs-") && name.ends_with(".json") && name.len() == 22, "{name}");
    let leftovers: Vec<_> = std::fs::read_dir(store.dir())
        .expect("the dir")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    assert!(auth.logout().await.expect("logout"));
    assert!(!path.exists());
    assert!(store.load(auth.key()).expect("load").is_none());
    assert!(auth.bearer().await.expect("bearer").is_none());
    assert!(!auth.logout().await.expect("logout"));
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_errors() {
    let (fixture, dir, config) =
        preregistered(AuthMethod::ClientSecretBasic, "app", "s3cret", "APP_SECRET").await;
    let auth = authorizer(&fixture, dir.path(), config, LoginMode::Headless);
    let token = first_login(&fixture, &auth).await;
    let file = stored_json(dir.path(), &fixture);
    let access = file["credentials"]["token_response"]["access_token"].as_str().expect("stored");
    let refresh = file["credentials"]["token_response"]["refresh_token"].as_str().expect("stored");
    assert_eq!(access, token.expose());
    assert_eq!(file["client"]["secret"], "s3cret", "the secret is kept for refreshes");

    let record = auth.stored().await.expect("the store").expect("a record");
    fixture.revoke_all();
    fixture.deny_refresh();
    let never =
        authorizer(&fixture, dir.path(), OAuthConfig::default().client_id("app"), LoginMode::Never);
    let err = never
        .unauthorized(None, Some(&token), &mut Round::new())
        .await
        .expect_err("a login is needed");
    let texts = [
        format!("{token:?}"),
        format!("{auth:?}"),
        format!("{record:?}"),
        format!("{err:?}"),
        err.to_string(),
    ];
    for text in &texts {
        for secret in [access, refresh, "s3cret"] {
            assert!(!text.contains(secret), "a secret in {text}");
        }
    }
    assert!(texts[2].contains("app"), "{}", texts[2]);
}

/// A browser that follows every redirect itself, after a stray request to the callback with a
/// wrong `state` (which the listener must ignore). `None`: it fails to start.
#[derive(Debug)]
struct Follower(Option<tokio::sync::mpsc::UnboundedSender<StatusCode>>);

impl Browser for Follower {
    fn open(&self, url: &str) -> std::io::Result<()> {
        let Some(done) = self.0.clone() else {
            return Err(std::io::Error::other("no browser here"));
        };
        let url = Url::parse(url).expect("an authorization URL");
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("a redirect_uri");
        tokio::spawn(async move {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder().no_proxy().build().expect("a client");
            let stray = client.get(format!("{redirect}?code=x&state=forged")).send().await;
            assert_eq!(stray.expect("an answer").status(), StatusCode::NOT_FOUND);
            let page = client.get(url).send().await.expect("the callback page");
            let _ = done.send(page.status());
        });
        Ok(())
    }
}

#[tokio::test]
async fn interactive_login_waits_for_the_redirect_on_a_loopback_port() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let (done, mut pages) = tokio::sync::mpsc::unbounded_channel();
    let auth = Authorizer::builder("docs", &mcp_url(&fixture), OAuthConfig::default(), http())
        .store(Arc::new(FileStore::new(dir.path())))
        .login(LoginMode::interactive())
        .browser(Arc::new(Follower(Some(done))))
        .build()
        .expect("an authorizer");
    let token = auth.authorize(None).await.expect("an interactive login");
    assert_eq!(pages.recv().await, Some(StatusCode::OK), "the browser got the closing page");
    assert_eq!(call(&fixture, Some(&token), "initialize").await.0, StatusCode::OK);
    // Registered with the listener's real port, not the default one.
    let redirect = fixture.authorize_requests()[0].redirect_uri.clone().expect("a redirect_uri");
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    assert!(!redirect.contains(":8976/"), "{redirect}");

    // No browser and no person: the login times out with a typed error.
    let nobody = Authorizer::builder("docs", &mcp_url(&fixture), OAuthConfig::default(), http())
        .store(Arc::new(FileStore::new(dir.path())))
        .login(LoginMode::Interactive { login_timeout: Duration::from_millis(200) })
        .browser(Arc::new(Follower(None)))
        .build()
        .expect("an authorizer");
    let err = nobody.authorize(None).await.expect_err("no login");
    assert!(matches!(err, AuthError::LoginRequired { .. }), "{err:?}");
    assert!(err.to_string().contains("no login within 200ms"), "{err}");
}

/// The configuration of a client credentials client `bot` authenticated by `secret`.
fn bot_with_secret(secret: &str) -> OAuthConfig {
    OAuthConfig::default()
        .client_id("bot")
        .grant(OAuthGrant::ClientCredentials)
        .client_secret(SecretRef::env(secret))
}

/// The configuration of a client credentials client `bot` whose key is in the file `key`.
fn bot_with_key(key: &Path) -> OAuthConfig {
    OAuthConfig::default()
        .client_id("bot")
        .grant(OAuthGrant::ClientCredentials)
        .private_key(SecretRef::file(key))
}

/// Writes `pem` to `dir/key.pem`: its path.
fn key_file(dir: &Path, pem: &str) -> std::path::PathBuf {
    let path = dir.join("key.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// The client credentials grant runs through a 401 with no person (the login mode is `Never`),
/// authenticates as the server lists (Basic, else the form body), asks for the resource, and an
/// expired token (no refresh token comes with this grant) is replaced by running it again. A
/// new authorizer reuses the stored token.
#[tokio::test]
async fn client_credentials_with_a_secret_basic_or_post() {
    for (method, secret_var, secret) in [
        (AuthMethod::ClientSecretBasic, "APP_SECRET", "s3cret"),
        (AuthMethod::ClientSecretPost, "POST_SECRET", "p0st"),
    ] {
        let fixture = OAuthFixture::start(
            FixtureOptions::default().auth_methods([method]).registration(false).client(
                "bot",
                Some(secret),
                method,
            ),
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let auth = authorizer(&fixture, dir.path(), bot_with_secret(secret_var), LoginMode::Never);
        assert!(auth.bearer().await.unwrap().is_none(), "nothing known before the first 401");
        let challenge = challenge(&fixture, None).await;
        let token = auth.unauthorized(Some(&challenge), None, &mut Round::new()).await.unwrap();
        assert_eq!(call(&fixture, Some(&token), "initialize").await.0, StatusCode::OK);
        let requests = fixture.token_requests();
        let last = requests.last().unwrap();
        assert_eq!(last.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(last.auth_method, Some(method), "{method:?}");
        assert_eq!(last.client_id.as_deref(), Some("bot"));
        assert_eq!(last.resource.as_deref(), Some(fixture.mcp_url()));
        let counters = fixture.counters();
        assert_eq!((counters.authorize, counters.token_client_credentials), (0, 1));
        assert_eq!(stored_json(dir.path(), &fixture)["client"]["auth_method"], method.as_str());

        // Expired: the 401 gets a new token by the same grant (nothing to refresh with).
        fixture.expire_access_tokens();
        let challenge = self::challenge(&fixture, Some(&token)).await;
        let again =
            auth.unauthorized(Some(&challenge), Some(&token), &mut Round::new()).await.unwrap();
        assert_ne!(again, token);
        assert_eq!(call(&fixture, Some(&again), "initialize").await.0, StatusCode::OK);
        let counters = fixture.counters();
        assert_eq!((counters.token_client_credentials, counters.token_refresh), (2, 0));

        // A new process reads it from the file, with no request.
        let restarted =
            authorizer(&fixture, dir.path(), bot_with_secret(secret_var), LoginMode::Never);
        assert_eq!(restarted.bearer().await.unwrap(), Some(again));
        assert_eq!(fixture.counters().token_client_credentials, 2);
    }
}

/// private_key_jwt: the fixture verifies the ES256 signature with the client's public key and
/// the claims (iss = sub = the client, aud, exp, a fresh jti). With a token that expires at
/// once, `bearer` gets the next one itself, with no 401.
#[tokio::test]
async fn client_credentials_with_private_key_jwt() {
    let (pem, public) = testkit::oauth::es256_key_pair();
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::PrivateKeyJwt])
            .registration(false)
            .jwt_client("bot", public)
            .expires_in(0),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &pem);
    let auth = authorizer(&fixture, dir.path(), bot_with_key(&key), LoginMode::Never);
    let challenge = challenge(&fixture, None).await;
    let token = auth.unauthorized(Some(&challenge), None, &mut Round::new()).await.unwrap();
    assert_eq!(call(&fixture, Some(&token), "initialize").await.0, StatusCode::OK);
    let last = fixture.token_requests().last().cloned().unwrap();
    assert_eq!(last.auth_method, Some(AuthMethod::PrivateKeyJwt));
    assert_eq!(last.client_id.as_deref(), Some("bot"), "the assertion's sub");
    let unauthorized = fixture.counters().unauthorized;
    // expires_in 0: the stored token counts as expired, so bearer signs a new assertion (a
    // new jti: the fixture refuses a replayed one) and gets a new token before any request.
    let next = auth.bearer().await.unwrap().expect("a new token");
    assert_ne!(next, token);
    assert_eq!(call(&fixture, Some(&next), "initialize").await.0, StatusCode::OK);
    let counters = fixture.counters();
    assert_eq!((counters.token_client_credentials, counters.unauthorized), (2, unauthorized));
    let record = stored_json(dir.path(), &fixture);
    assert_eq!(record["client"]["auth_method"], "private_key_jwt");
    assert!(!record.to_string().contains("PRIVATE KEY"), "the key is never stored");
}

/// A key the server does not hold, a wrong secret, an unusable key, a method the server does
/// not list: typed errors that say what to check, and never the key or the secret.
#[tokio::test]
async fn client_credentials_failures_are_typed() {
    let (pem, _) = testkit::oauth::es256_key_pair();
    let (_, other_public) = testkit::oauth::es256_key_pair();
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::PrivateKeyJwt, AuthMethod::ClientSecretBasic])
            .registration(false)
            .jwt_client("bot", other_public)
            .client("basic-bot", Some("right"), AuthMethod::ClientSecretBasic),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let challenge = challenge(&fixture, None).await;
    let key = key_file(dir.path(), &pem);
    let err = authorizer(&fixture, dir.path(), bot_with_key(&key), LoginMode::Never)
        .unauthorized(Some(&challenge), None, &mut Round::new())
        .await
        .unwrap_err();
    let AuthError::ClientRejected { ref client_id, ref method, ref error, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!((client_id.as_str(), method.as_str()), ("bot", "private_key_jwt"));
    assert!(error.contains("signature does not verify"), "{error}");
    assert_eq!(err.step(), Step::Token);
    assert!(err.to_string().contains("holds its public key"), "{err}");
    assert!(!format!("{err} {err:?}").contains("PRIVATE KEY"), "{err:?}");

    let wrong = OAuthConfig::default()
        .client_id("basic-bot")
        .grant(OAuthGrant::ClientCredentials)
        .client_secret(SecretRef::env("APP_SECRET"));
    let err = authorizer(&fixture, dir.path(), wrong, LoginMode::Never)
        .unauthorized(Some(&challenge), None, &mut Round::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::ClientRejected { method, .. } if method == "client_secret_basic"),
        "{err:?}"
    );
    assert!(err.to_string().contains("wrong client secret"), "{err}");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");

    for (content, expected) in [
        (
            Some("-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n"),
            "openssl pkcs8",
        ),
        (Some("not a key at all"), "it is not PEM"),
        (None, "cannot be read"),
    ] {
        let path = dir.path().join("bad.pem");
        let _ = std::fs::remove_file(&path);
        if let Some(content) = content {
            std::fs::write(&path, content).unwrap();
        }
        let err = authorizer(&fixture, dir.path(), bot_with_key(&path), LoginMode::Never)
            .unauthorized(Some(&challenge), None, &mut Round::new())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::ClientKey { .. }), "{err:?}");
        assert!(err.to_string().contains(expected), "{err}");
        assert!(err.to_string().contains("bad.pem"), "names the file: {err}");
    }

    // The server lists only private_key_jwt and client_secret_basic: a post-only setup is
    // fine, but a key where the server takes none is refused before any token request.
    let basic_only = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::ClientSecretBasic])
            .registration(false)
            .client("bot", Some("s3cret"), AuthMethod::ClientSecretBasic),
    )
    .await;
    let challenge = self::challenge(&basic_only, None).await;
    let err = authorizer(&basic_only, dir.path(), bot_with_key(&key), LoginMode::Never)
        .unauthorized(Some(&challenge), None, &mut Round::new())
        .await
        .unwrap_err();
    assert_eq!(err.step(), Step::Token, "{err}");
    assert!(err.to_string().contains("does not accept private_key_jwt"), "{err}");
    assert_eq!(basic_only.counters().token_client_credentials, 0);
}

/// Cross-app access (SEP-990): the user's ID token, read from a file, is exchanged at the
/// identity provider for an ID-JAG, which the authorization server takes as a JWT bearer grant
/// from the client (Basic). An expired ID token is refused by the identity provider with a
/// typed error; once the file holds a fresh one, the next 401 gets a token again.
#[tokio::test]
async fn cross_app_access_exchanges_the_id_token_for_an_id_jag() {
    use mcp_config::IdpConfig;

    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::ClientSecretBasic])
            .registration(false)
            .client("agent", Some("s3cret"), AuthMethod::ClientSecretBasic)
            .identity_provider("agent-at-idp", "agent")
            .scopes_supported(["mcp:read"])
            .challenge_scope("mcp:read"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let id_token_file = dir.path().join("id_token.jwt");
    std::fs::write(&id_token_file, fixture.id_token("ada@example.com").unwrap()).unwrap();
    let idp = IdpConfig::new(
        fixture.idp_token_endpoint(),
        "agent-at-idp",
        SecretRef::file(&id_token_file),
    )
    .unwrap();
    let config = OAuthConfig::default()
        .client_id("agent")
        .client_secret(SecretRef::env("APP_SECRET"))
        .grant(OAuthGrant::CrossAppAccess)
        .idp(idp);
    let auth = authorizer(&fixture, dir.path(), config, LoginMode::Never);
    let challenge = challenge(&fixture, None).await;
    let token = auth.unauthorized(Some(&challenge), None, &mut Round::new()).await.unwrap();
    assert_eq!(call(&fixture, Some(&token), "initialize").await.0, StatusCode::OK);
    let counters = fixture.counters();
    assert_eq!((counters.token_exchange, counters.token_jwt_bearer, counters.authorize), (1, 1, 0));
    let exchange = fixture.identity_provider_requests().last().cloned().unwrap();
    assert_eq!(exchange.client_id.as_deref(), Some("agent-at-idp"));
    assert_eq!(exchange.resource.as_deref(), Some(fixture.mcp_url()));
    assert_eq!(exchange.scope.as_deref(), Some("mcp:read"), "the challenge's scope");
    let grant = fixture.token_requests().last().cloned().unwrap();
    assert_eq!(grant.auth_method, Some(AuthMethod::ClientSecretBasic));
    assert_eq!(grant.grant_type.as_deref(), Some("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    assert_eq!(stored_json(dir.path(), &fixture)["client"]["origin"], "cross_app_access");

    // The ID token expired: the identity provider refuses it, typed, and nothing leaks.
    let expired = fixture.expired_id_token("ada@example.com").unwrap();
    std::fs::write(&id_token_file, &expired).unwrap();
    fixture.expire_access_tokens();
    let challenge = self::challenge(&fixture, Some(&token)).await;
    let err =
        auth.unauthorized(Some(&challenge), Some(&token), &mut Round::new()).await.unwrap_err();
    assert!(
        matches!(&err, AuthError::IdpRejected { error, .. } if error.starts_with("invalid_grant")),
        "{err:?}"
    );
    assert_eq!(err.step(), Step::Token);
    assert!(err.to_string().contains("sign in to the identity provider again"), "{err}");
    assert!(!format!("{err} {err:?}").contains(&expired), "{err:?}");

    // A fresh ID token in the file: the next 401 works again.
    std::fs::write(&id_token_file, fixture.id_token("ada@example.com").unwrap()).unwrap();
    let again = auth.unauthorized(Some(&challenge), Some(&token), &mut Round::new()).await.unwrap();
    assert_eq!(call(&fixture, Some(&again), "initialize").await.0, StatusCode::OK);
    assert_eq!(fixture.counters().token_jwt_bearer, 2);
}
