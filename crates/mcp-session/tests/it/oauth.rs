//! `auth` of type oauth over streamable HTTP and legacy SSE, against testkit's `OAuthFixture`
//! (an authorization server and the MCP server it protects, in process on loopback): a headless
//! first login and its reuse, refresh mid-session, re-authorization or `LoginRequired` after
//! revocation, one authorization for many concurrent refusals, step-up, `login`/`logout`, and
//! no token in any error text. The fixture's controls (expire, revoke) replace the clock, so no
//! test sleeps.

use std::path::Path;
use std::sync::Arc;

use mcp_session::mcp_auth::{FileStore, LoginMode, StoreKey};
use mcp_session::mcp_config::{
    AuthConfig, OAuthConfig, ServerConfig, SseConfig, StreamableHttpConfig,
};
use mcp_session::{MCPClientSessionManager, Session, SessionError};
use serde_json::json;
use testkit::oauth::{FixtureOptions, OAuthFixture};

use crate::quick_timeouts;

fn oauth() -> AuthConfig {
    AuthConfig::oauth(OAuthConfig::default())
}

fn http(fixture: &OAuthFixture) -> ServerConfig {
    StreamableHttpConfig::new("docs", fixture.mcp_url())
        .unwrap()
        .timeouts(quick_timeouts())
        .auth(oauth())
        .into()
}

fn sse(fixture: &OAuthFixture) -> ServerConfig {
    SseConfig::new("docs", fixture.sse_url())
        .unwrap()
        .timeouts(quick_timeouts())
        .auth(oauth())
        .into()
}

/// A manager keeping its tokens in `dir`, logging in as `login` says.
fn manager(dir: &Path, login: LoginMode) -> MCPClientSessionManager {
    MCPClientSessionManager::builder()
        .login(login)
        .token_store(Arc::new(FileStore::new(dir)))
        .build()
}

/// Calls `echo`: the session works.
async fn echo(session: &Session, text: &str) {
    let echoed = session.call_tool("echo", json!({"text": text})).await.unwrap();
    assert_eq!(echoed.content[0].as_text().unwrap().text, text);
}

/// The access and refresh tokens stored for `url` in `dir`.
fn stored_tokens(dir: &Path, url: &str) -> Vec<String> {
    let key = StoreKey::new("docs", &url::Url::parse(url).unwrap());
    let text = std::fs::read_to_string(FileStore::new(dir).path(&key)).expect("a stored record");
    let tokens = testkit::oauth::tokens_in(&serde_json::from_str(&text).unwrap());
    assert!(!tokens.is_empty(), "tokens in {text:?}");
    tokens
}

/// Neither the text nor the debug form of `err` holds any of `secrets`.
fn assert_hidden(err: &SessionError, secrets: &[String]) {
    let (text, debug) = (err.to_string(), format!("{err:?}"));
    for secret in secrets {
        assert!(!text.contains(secret.as_str()) && !debug.contains(secret.as_str()), "{debug}");
    }
}

#[tokio::test]
async fn a_headless_login_is_stored_and_reused_by_the_next_manager() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let session =
        manager(dir.path(), LoginMode::Headless).open_session(&http(&fixture)).await.unwrap();
    echo(&session, "first").await;
    session.close().await.unwrap();
    let counters = fixture.counters();
    assert_eq!(
        (counters.register, counters.authorize, counters.token_authorization_code),
        (1, 1, 1)
    );

    // A new manager (a new process, as far as the tokens go) reads them from the file.
    let session =
        manager(dir.path(), LoginMode::Never).open_session(&http(&fixture)).await.unwrap();
    echo(&session, "again").await;
    session.close().await.unwrap();
    let counters = fixture.counters();
    assert_eq!((counters.register, counters.authorize, counters.token_refresh), (1, 1, 0));
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_mid_session() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let session =
        manager(dir.path(), LoginMode::Headless).open_session(&http(&fixture)).await.unwrap();
    echo(&session, "before").await;
    fixture.expire_access_tokens();
    echo(&session, "after").await;
    let counters = fixture.counters();
    assert_eq!((counters.authorize, counters.token_refresh), (1, 1));
    assert!(counters.unauthorized >= 2, "the first 401 and the expired token's: {counters:?}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn revoked_tokens_reauthorize_headless_and_need_a_login_otherwise() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let session =
        manager(dir.path(), LoginMode::Headless).open_session(&http(&fixture)).await.unwrap();
    echo(&session, "before").await;
    fixture.revoke_all();
    echo(&session, "after").await;
    assert_eq!(fixture.counters().authorize, 2);
    session.close().await.unwrap();

    // Under `Never` (the library default), a revoked record needs a person.
    let tokens = stored_tokens(dir.path(), fixture.mcp_url());
    fixture.revoke_all();
    let never = manager(dir.path(), LoginMode::Never);
    for config in [http(&fixture), sse(&fixture)] {
        let err = never.open_session(&config).await.unwrap_err();
        assert!(
            matches!(&err, SessionError::LoginRequired { server, .. } if server == "docs"),
            "{err:?}"
        );
        assert_eq!(err.kind(), "login_required");
        assert!(err.to_string().contains("run `research-demo login docs`"), "{err}");
        assert_hidden(&err, &tokens);
    }
    assert_eq!(fixture.counters().authorize, 2);
}

#[tokio::test]
async fn with_no_stored_token_and_no_login_the_error_says_to_log_in() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // The default login mode.
    let manager = MCPClientSessionManager::builder()
        .token_store(Arc::new(FileStore::new(dir.path())))
        .build();
    let err = manager.open_session(&http(&fixture)).await.unwrap_err();
    assert!(matches!(&err, SessionError::LoginRequired { .. }), "{err:?}");
    assert!(err.to_string().starts_with("docs: not logged in ("), "{err}");
    assert_eq!((fixture.counters().authorize, fixture.counters().authorized), (0, 0));
}

#[tokio::test]
async fn eight_concurrent_refusals_make_one_authorization() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let session =
        manager(dir.path(), LoginMode::Headless).open_session(&http(&fixture)).await.unwrap();
    echo(&session, "before").await;
    fixture.revoke_all();
    let unauthorized = fixture.counters().unauthorized;
    let calls = (0..8).map(|i| {
        let session = session.clone();
        async move { echo(&session, &format!("call {i}")).await }
    });
    futures::future::join_all(calls).await;
    let counters = fixture.counters();
    assert_eq!(counters.authorize, 2, "{counters:?}");
    assert!(counters.unauthorized > unauthorized, "{counters:?}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_method_that_needs_a_scope_steps_up_to_the_union() {
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .challenge_scope("mcp:read")
            .require_scopes("tools/call", ["mcp:read", "mcp:write"]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let session =
        manager(dir.path(), LoginMode::Headless).open_session(&http(&fixture)).await.unwrap();
    assert!(!session.list_tools().await.unwrap().is_empty());
    assert_eq!(fixture.counters().authorize, 1);
    echo(&session, "needs mcp:write").await;
    let requests = fixture.authorize_requests();
    let scopes: Vec<_> = requests.iter().map(|r| r.scope.as_deref()).collect();
    assert_eq!(scopes, [Some("mcp:read"), Some("mcp:read mcp:write")]);
    assert_eq!(fixture.counters().forbidden, 1);
    // The stepped-up token serves the next call at once.
    echo(&session, "again").await;
    assert_eq!((fixture.counters().authorize, fixture.counters().forbidden), (2, 1));
    session.close().await.unwrap();
}

#[tokio::test]
async fn legacy_sse_logs_in_and_refreshes_through_the_bearer_hook() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let session =
        manager(dir.path(), LoginMode::Headless).open_session(&sse(&fixture)).await.unwrap();
    echo(&session, "over sse").await;
    assert_eq!(fixture.counters().authorize, 1);
    // The POST of the next call is refused, refreshed, and sent again.
    fixture.expire_access_tokens();
    echo(&session, "refreshed").await;
    let counters = fixture.counters();
    assert_eq!((counters.authorize, counters.token_refresh), (1, 1));
    let resource = fixture.authorize_requests()[0].resource.clone();
    assert_eq!(resource.as_deref(), Some(fixture.sse_url()));
    session.close().await.unwrap();
}

#[tokio::test]
async fn login_stores_a_record_and_logout_deletes_it() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let manager = manager(dir.path(), LoginMode::Headless);
    let config = http(&fixture);
    let stored = manager.login(&config).await.unwrap().expect("an oauth server");
    assert_eq!(stored.issuer().map(|i| i.trim_end_matches('/')), Some(fixture.issuer()));
    assert!(stored.has_tokens());
    assert_eq!(fixture.counters().authorize, 1);
    let session = manager.open_session(&config).await.unwrap();
    echo(&session, "logged in").await;
    session.close().await.unwrap();
    assert_eq!(fixture.counters().authorize, 1, "the login's token was used");

    assert!(manager.logout(&config).await.unwrap());
    assert!(!manager.logout(&config).await.unwrap());
    let key = StoreKey::new("docs", &url::Url::parse(fixture.mcp_url()).unwrap());
    assert!(!FileStore::new(dir.path()).path(&key).exists());
    // A server without oauth has nothing to log in to.
    let plain: ServerConfig = StreamableHttpConfig::new("plain", fixture.mcp_url()).unwrap().into();
    assert!(manager.login(&plain).await.unwrap().is_none());
}

/// Secrets from a fixed list, not the process environment.
#[derive(Debug)]
struct Vars(Vec<(&'static str, String)>);

impl mcp_session::mcp_auth::SecretSource for Vars {
    fn var(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    }
}

/// The client credentials grant (SEP-1046) with a private key (private_key_jwt) and with a
/// secret (client_secret_basic), under the default login mode (never ask a person): sessions
/// open and call tools, an expired token mid-session is replaced by the grant again, and a key
/// the server does not hold fails the session with a typed error at the token step, naming no
/// secret.
#[tokio::test]
async fn client_credentials_needs_no_person_and_a_wrong_key_is_a_token_error() {
    use mcp_session::mcp_auth::Step;
    use mcp_session::mcp_config::{OAuthGrant, SecretRef};
    use testkit::oauth::AuthMethod;

    let (pem, public) = testkit::oauth::es256_key_pair();
    let (wrong_pem, _) = testkit::oauth::es256_key_pair();
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::PrivateKeyJwt, AuthMethod::ClientSecretBasic])
            .registration(false)
            .jwt_client("jwt-bot", public)
            .client("basic-bot", Some("s3cret-basic"), AuthMethod::ClientSecretBasic),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = |name: &str, oauth: OAuthConfig| -> ServerConfig {
        StreamableHttpConfig::new(name, fixture.mcp_url())
            .unwrap()
            .timeouts(quick_timeouts())
            .auth(AuthConfig::oauth(oauth.grant(OAuthGrant::ClientCredentials)))
            .into()
    };
    let jwt = server(
        "jwt",
        OAuthConfig::default().client_id("jwt-bot").private_key(SecretRef::env("BOT_KEY")),
    );
    let basic = server(
        "basic",
        OAuthConfig::default().client_id("basic-bot").client_secret(SecretRef::env("BOT_SECRET")),
    );
    let manager = |key: &str| {
        MCPClientSessionManager::builder()
            .token_store(Arc::new(FileStore::new(dir.path())))
            .secrets(Arc::new(Vars(vec![
                ("BOT_KEY", key.to_owned()),
                ("BOT_SECRET", "s3cret-basic".to_owned()),
            ])))
            .build()
    };
    let good = manager(&pem);
    for config in [&jwt, &basic] {
        let session = good.open_session(config).await.unwrap();
        echo(&session, "machine").await;
        fixture.expire_access_tokens();
        echo(&session, "again").await;
        session.close().await.unwrap();
    }
    let counters = fixture.counters();
    assert_eq!((counters.authorize, counters.token_client_credentials), (0, 4), "{counters:?}");
    let methods: Vec<_> = fixture.token_requests().iter().map(|r| r.auth_method).collect();
    assert_eq!(
        methods,
        [
            Some(AuthMethod::PrivateKeyJwt),
            Some(AuthMethod::PrivateKeyJwt),
            Some(AuthMethod::ClientSecretBasic),
            Some(AuthMethod::ClientSecretBasic)
        ]
    );

    // Another key: refused at the token endpoint; a fresh store, so nothing stored helps.
    let other = tempfile::tempdir().unwrap();
    let bad = MCPClientSessionManager::builder()
        .token_store(Arc::new(FileStore::new(other.path())))
        .secrets(Arc::new(Vars(vec![("BOT_KEY", wrong_pem.clone())])))
        .build();
    let err = bad.open_session(&jwt).await.unwrap_err();
    let SessionError::Authorization { step, ref reason, .. } = err else { panic!("{err:?}") };
    assert_eq!(step, Step::Token);
    assert!(reason.contains("refused client \"jwt-bot\" (private_key_jwt)"), "{reason}");
    assert!(reason.contains("signature does not verify"), "{reason}");
    assert_hidden(&err, &[wrong_pem, pem, "s3cret-basic".to_owned()]);
}

/// Cross-app access (SEP-990) through the manager under the default login mode: the ID token
/// (from a `SecretSource`) is exchanged at the fixture's identity provider, the ID-JAG taken by
/// its authorization server, and the session calls a tool.
#[tokio::test]
async fn cross_app_access_opens_a_session_with_no_person() {
    use mcp_session::mcp_config::{IdpConfig, OAuthGrant, SecretRef};
    use testkit::oauth::AuthMethod;

    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::ClientSecretBasic])
            .registration(false)
            .client("agent", Some("s3cret-agent"), AuthMethod::ClientSecretBasic)
            .identity_provider("agent-at-idp", "agent"),
    )
    .await;
    let id_token = fixture.id_token("ada@example.com").unwrap();
    let idp =
        IdpConfig::new(fixture.idp_token_endpoint(), "agent-at-idp", SecretRef::env("ID_TOKEN"))
            .unwrap();
    let config: ServerConfig = StreamableHttpConfig::new("docs", fixture.mcp_url())
        .unwrap()
        .timeouts(quick_timeouts())
        .auth(AuthConfig::oauth(
            OAuthConfig::default()
                .client_id("agent")
                .client_secret(SecretRef::env("AGENT_SECRET"))
                .grant(OAuthGrant::CrossAppAccess)
                .idp(idp),
        ))
        .into();
    let dir = tempfile::tempdir().unwrap();
    let manager = MCPClientSessionManager::builder()
        .token_store(Arc::new(FileStore::new(dir.path())))
        .secrets(Arc::new(Vars(vec![
            ("ID_TOKEN", id_token.clone()),
            ("AGENT_SECRET", "s3cret-agent".to_owned()),
        ])))
        .build();
    let session = manager.open_session(&config).await.unwrap();
    echo(&session, "on behalf of ada").await;
    session.close().await.unwrap();
    let counters = fixture.counters();
    assert_eq!(
        (counters.token_exchange, counters.token_jwt_bearer, counters.authorize),
        (1, 1, 0),
        "{counters:?}"
    );
    let record = std::fs::read_to_string(
        FileStore::new(dir.path())
            .path(&StoreKey::new("docs", &url::Url::parse(fixture.mcp_url()).unwrap())),
    )
    .unwrap();
    assert!(!record.contains(&id_token), "the ID token is never stored");
}
