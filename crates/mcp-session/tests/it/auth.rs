//! `auth` of type bearer over streamable HTTP and legacy SSE, against `testkit-mcp --bearer`
//! (which refuses every request without the token and logs what it saw at `GET /auth`). `auth`
//! of type oauth is tested in `oauth.rs`.
//!
//! The token is read from an environment variable when a session opens. Setting one in this
//! process would race the other tests' threads, which read the environment (`set_var` is
//! unsound then), so the tests that need one set run as a child process: this test binary
//! again, running that one test, with the variable set by `Command::env`.

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_session::mcp_config::{AuthConfig, ServerConfig, SseConfig, StreamableHttpConfig};
use mcp_session::{MCPClientSessionManager, SessionError, TokenProblem};
use serde_json::json;

use crate::{HttpServer, quick_timeouts};

/// Set in the child process: the URL of the server the parent started (`;`-separated when
/// there are two).
const CHILD_URLS: &str = "MCP_SESSION_AUTH_TEST_URLS";
/// The variable the child's configs read their bearer token from.
const TOKEN_VAR: &str = "MCP_SESSION_AUTH_TEST_TOKEN";

/// A token no other test uses.
fn new_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("tok-{:x}-{nanos:x}", std::process::id())
}

/// In the child process, the URLs the parent gave it.
fn child_urls() -> Option<Vec<String>> {
    std::env::var(CHILD_URLS).ok().map(|urls| urls.split(';').map(str::to_owned).collect())
}

/// Runs the test `name` of this binary in a child process with the servers' `urls` and the
/// environment `vars`, and asserts that it ran and passed.
fn run_child(name: &str, urls: &[&str], vars: &[(&str, &str)]) {
    let urls = urls.join(";");
    let mut all = vec![(CHILD_URLS, urls.as_str())];
    all.extend_from_slice(vars);
    crate::run_child(name, &all);
}

/// Runs `scenario` on a runtime, with every `tracing` event and span of the process written
/// (at every level) to the returned log.
fn traced<F: Future<Output = ()>>(scenario: impl FnOnce() -> F) -> String {
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The child runs this one test: the process is ours.
    tracing::subscriber::set_global_default(subscriber).expect("no subscriber yet");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(scenario());
    drop(runtime);
    String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned()
}

/// What a `testkit-mcp --bearer` server saw: `{"authorized": {…}, "refused": {…}}`.
fn auth_log(url: &str) -> serde_json::Value {
    let url = url.trim_start_matches("http://");
    let (host, _) = url.split_once('/').expect("a URL with a path");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET /auth HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap()
}

/// How many `METHOD /path` requests the server took with the token.
fn authorized(log: &serde_json::Value, request: &str) -> u64 {
    log["authorized"][request].as_u64().unwrap_or(0)
}

/// Waits (up to about 20 s) until the server has taken `request` with the token.
async fn until_authorized(url: &str, request: &str) {
    for _ in 0..2000 {
        let url = url.to_owned();
        let log = tokio::task::spawn_blocking(move || auth_log(&url)).await.unwrap();
        if authorized(&log, request) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server never took {request} with the token");
}

fn http(name: &str, url: &str, auth: AuthConfig) -> ServerConfig {
    StreamableHttpConfig::new(name, url).unwrap().timeouts(quick_timeouts()).auth(auth).into()
}

fn sse(name: &str, url: &str, auth: AuthConfig) -> ServerConfig {
    SseConfig::new(name, url).unwrap().timeouts(quick_timeouts()).auth(auth).into()
}

/// Lists the tools and calls `echo`: the session works.
async fn works(session: &mcp_session::Session) {
    assert!(!session.list_tools().await.unwrap().is_empty());
    let echoed = session.call_tool("echo", json!({"text": "with a token"})).await.unwrap();
    assert_eq!(echoed.content[0].as_text().unwrap().text, "with a token");
}

#[test]
fn bearer_over_streamable_http() {
    if let Some(urls) = child_urls() {
        let token = std::env::var(TOKEN_VAR).unwrap();
        let url = urls[0].clone();
        let log = traced(|| async move {
            let manager = MCPClientSessionManager::new();
            let config = http("locked", &url, AuthConfig::bearer(TOKEN_VAR));
            let session = manager.open_session(&config).await.unwrap();
            works(&session).await;
            // rmcp opens the GET event stream on its own after the handshake.
            until_authorized(&url, "GET /mcp").await;
            session.close().await.unwrap();
        });
        assert!(log.contains("session open"), "the log captured nothing:\n{log}");
        assert!(!log.contains(&token), "the token is in the log:\n{log}");
        return;
    }
    let token = new_token();
    let server = HttpServer::start(&["--bearer", &token]);
    run_child("auth::bearer_over_streamable_http", &[&server.url], &[(TOKEN_VAR, &token)]);
    let log = auth_log(&server.url);
    assert_eq!(log["refused"], json!(null), "every request carried the token: {log}");
    assert!(authorized(&log, "POST /mcp") >= 3, "{log}");
    assert!(authorized(&log, "GET /mcp") >= 1, "{log}");
}

#[test]
fn bearer_over_legacy_sse_and_the_sse_fallback() {
    if let Some(urls) = child_urls() {
        let token = std::env::var(TOKEN_VAR).unwrap();
        let url = urls[0].clone();
        let log = traced(|| async move {
            let manager = MCPClientSessionManager::new();
            for config in [
                sse("locked-sse", &url, AuthConfig::bearer(TOKEN_VAR)),
                // A bare URL tried as streamable HTTP first: the token goes with that POST too.
                StreamableHttpConfig::new("locked-fallback", &url)
                    .unwrap()
                    .sse_fallback(true)
                    .timeouts(quick_timeouts())
                    .auth(AuthConfig::bearer(TOKEN_VAR))
                    .into(),
            ] {
                let session = manager.open_session(&config).await.unwrap();
                works(&session).await;
                session.close().await.unwrap();
            }
        });
        assert!(log.contains("legacy SSE connected"), "the log captured nothing:\n{log}");
        assert!(!log.contains(&token), "the token is in the log:\n{log}");
        return;
    }
    let token = new_token();
    let server = HttpServer::start_mode("sse", &["--bearer", &token]);
    run_child(
        "auth::bearer_over_legacy_sse_and_the_sse_fallback",
        &[&server.url],
        &[(TOKEN_VAR, &token)],
    );
    let log = auth_log(&server.url);
    assert_eq!(log["refused"], json!(null), "every request carried the token: {log}");
    assert_eq!(authorized(&log, "GET /sse"), 2, "{log}");
    assert_eq!(authorized(&log, "POST /sse"), 1, "the fallback's initialize: {log}");
    assert!(authorized(&log, "POST /message") >= 6, "{log}");
}

/// Every error below, through `Display` and `Debug`, never shows a token.
fn assert_hidden(err: &SessionError, secrets: &[&str]) {
    let shown = format!("{err} {err:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} leaked in: {shown}");
    }
}

#[test]
fn a_wrong_or_unusable_token_is_a_typed_error_naming_the_variable() {
    const WRONG: &str = "MCP_SESSION_AUTH_TEST_WRONG";
    const EMPTY: &str = "MCP_SESSION_AUTH_TEST_EMPTY";
    const BLANK: &str = "MCP_SESSION_AUTH_TEST_BLANK";
    const BROKEN: &str = "MCP_SESSION_AUTH_TEST_BROKEN";
    if let Some(urls) = child_urls() {
        let (http_url, sse_url) = (urls[0].clone(), urls[1].clone());
        let wrong = std::env::var(WRONG).unwrap();
        let log = traced(|| async move {
            let manager = MCPClientSessionManager::new();
            let secrets = [wrong.as_str(), "line1", "line2"];
            // The server refuses the token: 401, with its challenge and the variable.
            for (config, url) in [
                (http("wrong", &http_url, AuthConfig::bearer(WRONG)), &http_url),
                (sse("wrong", &sse_url, AuthConfig::bearer(WRONG)), &sse_url),
            ] {
                let err = manager.open_session(&config).await.unwrap_err();
                let SessionError::Unauthorized { status: 401, challenge, token_env, .. } = &err
                else {
                    panic!("{err:?}")
                };
                assert_eq!(challenge.as_deref(), Some("Bearer realm=\"testkit\""));
                assert_eq!(token_env.as_deref(), Some(WRONG));
                assert_eq!(
                    err.to_string(),
                    format!(
                        "wrong: HTTP 401 from {url}: the server did not accept the bearer token \
                         read from the environment variable `{WRONG}` (it asks for: Bearer \
                         realm=\"testkit\"); check that `{WRONG}` holds a valid, unexpired token \
                         for this server"
                    )
                );
                assert_hidden(&err, &secrets);
            }
            // Variables that hold no token: refused before anything is sent.
            for (var, problem, text) in [
                (EMPTY, TokenProblem::Empty, "is empty"),
                (BLANK, TokenProblem::Empty, "is empty"),
                (
                    BROKEN,
                    TokenProblem::InvalidHeaderValue,
                    "holds characters an HTTP header cannot carry (control characters or \
                     non-ASCII bytes)",
                ),
            ] {
                for config in [
                    http("unusable", &http_url, AuthConfig::bearer(var)),
                    sse("unusable", &sse_url, AuthConfig::bearer(var)),
                ] {
                    let err = manager.open_session(&config).await.unwrap_err();
                    assert!(
                        matches!(&err, SessionError::TokenUnavailable { token_env, problem: p, .. }
                            if token_env == var && *p == problem),
                        "{err:?}"
                    );
                    assert_eq!(
                        err.to_string(),
                        format!(
                            "unusable: its `auth` sends the bearer token held by the environment \
                             variable `{var}`, which {text}; set `{var}` to the token before \
                             opening the session, or name another variable in the server's \
                             `auth.token_env`"
                        )
                    );
                    assert_eq!(err.kind(), "token_unavailable");
                    assert_hidden(&err, &secrets);
                }
            }
        });
        assert!(!log.contains(&std::env::var(WRONG).unwrap()), "the token is in the log:\n{log}");
        return;
    }
    let token = new_token();
    let http_server = HttpServer::start(&["--bearer", &token]);
    let sse_server = HttpServer::start_mode("sse", &["--bearer", &token]);
    let wrong = format!("{token}-wrong");
    run_child(
        "auth::a_wrong_or_unusable_token_is_a_typed_error_naming_the_variable",
        &[&http_server.url, &sse_server.url],
        &[(WRONG, &wrong), (EMPTY, ""), (BLANK, "  \t "), (BROKEN, "line1\nline2")],
    );
    // The unusable variables sent nothing; the wrong token was refused.
    for server in [&http_server, &sse_server] {
        let log = auth_log(&server.url);
        assert_eq!(log["authorized"], json!(null), "{log}");
        assert_eq!(log["refused"].as_object().map(|r| r.values().count()), Some(1), "{log}");
    }
}

#[tokio::test]
async fn an_unset_variable_is_named_and_nothing_is_sent() {
    let token = new_token();
    let http_server = HttpServer::start(&["--bearer", &token]);
    let sse_server = HttpServer::start_mode("sse", &["--bearer", &token]);
    let manager = MCPClientSessionManager::new();
    const UNSET: &str = "MCP_SESSION_AUTH_TEST_NEVER_SET";
    for config in [
        http("github", &http_server.url, AuthConfig::bearer(UNSET)),
        sse("github", &sse_server.url, AuthConfig::bearer(UNSET)),
        // The fallback's legacy SSE attempt reads it too (here the first attempt already fails).
        StreamableHttpConfig::new("github", &sse_server.url)
            .unwrap()
            .sse_fallback(true)
            .auth(AuthConfig::bearer(UNSET))
            .into(),
    ] {
        let err = manager.open_session(&config).await.unwrap_err();
        let SessionError::TokenUnavailable { token_env, problem: TokenProblem::Unset, .. } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(token_env, UNSET);
        assert_eq!(
            err.to_string(),
            format!(
                "github: its `auth` sends the bearer token held by the environment variable \
                 `{UNSET}`, which is not set; set `{UNSET}` to the token before opening the \
                 session, or name another variable in the server's `auth.token_env`"
            )
        );
    }
    for server in [&http_server, &sse_server] {
        assert_eq!(auth_log(&server.url), json!({}), "nothing reached the server");
    }
}

#[tokio::test]
async fn no_token_is_unauthorized_with_the_hint_to_set_auth() {
    let token = new_token();
    let http_server = HttpServer::start(&["--bearer", &token]);
    let sse_server = HttpServer::start_mode("sse", &["--bearer", &token]);
    let manager = MCPClientSessionManager::new();
    for (config, url) in [
        (http("open", &http_server.url, AuthConfig::None), &http_server.url),
        (sse("open", &sse_server.url, AuthConfig::None), &sse_server.url),
    ] {
        let err = manager.open_session(&config).await.unwrap_err();
        assert!(
            matches!(&err, SessionError::Unauthorized { status: 401, token_env: None, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "open: HTTP 401 from {url}: the server needs authorization (it asks for: Bearer \
                 realm=\"testkit\"); give this server an `auth` in its config (a bearer token \
                 read from an environment variable: {{\"type\": \"bearer\", \"token_env\": \
                 \"VAR\"}}), or an `Authorization` header under `headers`"
            )
        );
    }
}

#[tokio::test]
async fn auth_and_an_authorization_header_are_refused_together() {
    let config: ServerConfig = StreamableHttpConfig::new("both", "http://127.0.0.1:9/mcp")
        .unwrap()
        .header("Authorization", "Bearer hdr-secret")
        .auth(AuthConfig::bearer("MCP_SESSION_AUTH_TEST_NEVER_SET"))
        .into();
    let err = MCPClientSessionManager::new().open_session(&config).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::InvalidHeader { header, .. } if header == "Authorization"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "both: the header `Authorization` is set by the server's `auth` (the bearer token read \
         from `auth.token_env`) too; set one: remove the header, or the `auth`"
    );
    assert_hidden(&err, &["hdr-secret"]);
}
