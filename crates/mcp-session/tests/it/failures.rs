//! How sessions fail: each fault gives its typed error, fast, and leaves nothing running.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use mcp_session::mcp_config::{ServerConfig, StdioConfig, StreamableHttpConfig};
use mcp_session::{MCPClientSessionManager, SessionError};
use serde_json::json;

use crate::{HttpServer, quick_timeouts, stdio_server};

async fn open(config: impl Into<ServerConfig>) -> Result<mcp_session::Session, SessionError> {
    MCPClientSessionManager::new().open_session(&config.into()).await
}

#[tokio::test]
async fn missing_command() {
    let err = open(StdioConfig::new("ghost", "/nonexistent/mcp-server")).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::Spawn { command, .. } if command == "/nonexistent/mcp-server"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "ghost: cannot start `/nonexistent/mcp-server`: command not found: /nonexistent/mcp-server — is it installed and on PATH?"
    );
}

#[tokio::test]
async fn server_exits_at_once() {
    let config = StdioConfig::new("quitter", testkit::testkit_mcp().to_string_lossy())
        .arg("exit-at-once")
        .timeouts(quick_timeouts());
    let err = open(config).await.unwrap_err();
    match &err {
        SessionError::ServerExited { status, stderr_tail, .. } => {
            assert_eq!(status, "exit status: 3");
            assert_eq!(stderr_tail.as_deref(), Some("testkit-mcp: exiting at once, as asked"));
        }
        other => panic!("expected ServerExited, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("quitter: the server exited (exit status: 3); its stderr ended with:\n"),
        "{err}"
    );
}

#[tokio::test]
async fn server_never_answers_initialize() {
    let config = StdioConfig::new("mute", testkit::testkit_mcp().to_string_lossy())
        .arg("silent")
        .timeouts(quick_timeouts().startup(Duration::from_millis(300)));
    let err = open(config).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::Timeout { operation, after, .. } if operation == "initialize" && *after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.to_string().contains("raise `timeouts.startup`"), "{err}");
}

#[tokio::test]
async fn garbage_on_stdout() {
    let config = StdioConfig::new("noisy", testkit::testkit_mcp().to_string_lossy())
        .arg("garbage")
        .timeouts(quick_timeouts().startup(Duration::from_secs(3)));
    let err = open(config).await.unwrap_err();
    match &err {
        SessionError::Handshake { reason, .. } => {
            assert!(
                reason.contains("that are not JSON-RPC, the first: \"this is not JSON-RPC\""),
                "{reason}"
            );
            assert!(reason.contains("logs go to stderr"), "{reason}");
        }
        other => panic!("expected Handshake, got {other:?}"),
    }
}

#[tokio::test]
async fn server_killed_mid_call() {
    let session = open(stdio_server(&[])).await.unwrap();
    let pid = session.process_id().expect("a stdio session has a pid");
    let call = session.call_tool("sleep", json!({"ms": 20_000}));
    let kill = async {
        crate::until_sleeping(&session).await;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    };
    let (result, ()) = tokio::join!(call, kill);
    let err = result.unwrap_err();
    assert!(
        matches!(&err, SessionError::ServerExited { status, .. } if status == "signal: 9 (SIGKILL)"),
        "{err:?}"
    );
    session.close().await.unwrap();
}

#[tokio::test]
async fn http_404() {
    let server = HttpServer::start(&[]);
    let url = server.url.replace("/mcp", "/nope");
    let err = open(StreamableHttpConfig::new("lost", &url).unwrap().timeouts(quick_timeouts()))
        .await
        .unwrap_err();
    assert!(matches!(&err, SessionError::NotStreamableHttp { status: 404, .. }), "{err:?}");
    assert!(err.to_string().contains("is not a streamable HTTP endpoint (HTTP 404"), "{err}");
    assert!(err.to_string().contains("check the URL's path"), "{err}");
}

/// A one-shot HTTP server that answers every request with `status`.
fn fixed_status_server(status: &'static str) -> String {
    fixed_response_server(status, "content-type: text/plain\r\n", "/mcp")
}

/// A one-shot HTTP server that answers every request with `status`, `headers` (each ending in
/// CRLF) and a short body, at `path`.
fn fixed_response_server(status: &'static str, headers: &'static str, path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "internal failure";
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[tokio::test]
async fn http_500() {
    let url = fixed_status_server("500 Internal Server Error");
    let err = open(StreamableHttpConfig::new("broken", &url).unwrap().timeouts(quick_timeouts()))
        .await
        .unwrap_err();
    assert!(matches!(&err, SessionError::Http { status: 500, .. }), "{err:?}");
}

#[tokio::test]
async fn http_401_says_the_server_needs_authorization() {
    let url = fixed_response_server(
        "401 Unauthorized",
        "www-authenticate: Bearer realm=\"mcp\"\r\ncontent-type: text/plain\r\n",
        "/mcp",
    );
    let err = open(StreamableHttpConfig::new("locked", &url).unwrap().timeouts(quick_timeouts()))
        .await
        .unwrap_err();
    let SessionError::Unauthorized { status: 401, challenge, .. } = &err else { panic!("{err:?}") };
    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"mcp\""));
    assert!(
        err.to_string().ends_with(
            ": the server needs authorization (it asks for: Bearer realm=\"mcp\"); give this \
             server an `auth` in its config (a bearer token read from an environment variable: \
             {\"type\": \"bearer\", \"token_env\": \"VAR\"}), or an `Authorization` header \
             under `headers`"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn legacy_sse_401_says_the_server_needs_authorization() {
    let url = fixed_response_server("401 Unauthorized", "content-type: text/plain\r\n", "/sse");
    let config = mcp_session::mcp_config::SseConfig::new("locked-sse", &url)
        .unwrap()
        .timeouts(quick_timeouts());
    let err = open(config).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SessionError::Unauthorized { status: 401, challenge: None, token_env: None, .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn legacy_sse_url_that_is_a_web_page() {
    let url = fixed_response_server("200 OK", "content-type: text/html\r\n", "/sse");
    let config =
        mcp_session::mcp_config::SseConfig::new("page", &url).unwrap().timeouts(quick_timeouts());
    let err = open(config).await.unwrap_err();
    let SessionError::NotSse { reason, .. } = &err else { panic!("{err:?}") };
    assert!(reason.contains("text/html"), "{reason}");
    assert!(err.to_string().starts_with("page: http://127.0.0.1:"), "{err}");
}

/// MCP transports never follow redirects: a redirected `POST` would lose its body, and a
/// session must not move to another place silently. The redirect target here is a live MCP
/// server, so following it would succeed.
#[tokio::test]
async fn redirects_are_refused_over_streamable_http_and_sse() {
    let target = HttpServer::start(&[]);
    let location: &'static str = Box::leak(
        format!("location: {}\r\ncontent-type: text/plain\r\n", target.url).into_boxed_str(),
    );
    let http_url = fixed_response_server("307 Temporary Redirect", location, "/mcp");
    let err =
        open(StreamableHttpConfig::new("moved", &http_url).unwrap().timeouts(quick_timeouts()))
            .await
            .unwrap_err();
    assert!(matches!(&err, SessionError::Http { status: 307, .. }), "{err:?}");
    assert!(err.to_string().contains("MCP transports do not follow redirects"), "{err}");

    let sse_url = fixed_response_server("302 Found", location, "/sse");
    let config = mcp_session::mcp_config::SseConfig::new("moved-sse", &sse_url)
        .unwrap()
        .timeouts(quick_timeouts());
    let err = open(config).await.unwrap_err();
    assert!(matches!(&err, SessionError::Http { status: 302, .. }), "{err:?}");
}

#[tokio::test]
async fn connection_refused() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let err = open(StreamableHttpConfig::new("nobody", &url).unwrap().timeouts(quick_timeouts()))
        .await
        .unwrap_err();
    assert!(matches!(&err, SessionError::Connect { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("nobody: cannot connect to {url}")), "{err}");
}

#[tokio::test]
async fn legacy_sse_connection_refused() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/sse");
    let config = mcp_session::mcp_config::SseConfig::new("wiki", &url).unwrap();
    let err = open(config).await.unwrap_err();
    assert!(matches!(&err, SessionError::Connect { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("wiki: cannot connect to {url}")), "{err}");
}

#[tokio::test]
async fn legacy_sse_no_endpoint_is_a_timeout() {
    // Serves an event stream that never names its endpoint.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sse", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(1) {
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n");
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    let config = mcp_session::mcp_config::SseConfig::new("mute-sse", &url)
        .unwrap()
        .timeout(Duration::from_millis(300));
    let err = open(config).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::Timeout { operation, .. } if operation == "connect (waiting for the `endpoint` event)"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_message_over_the_size_cap_says_so() {
    let config = StdioConfig::new("huge", testkit::testkit_mcp().to_string_lossy())
        .args(["fault", "oversize"])
        .timeouts(quick_timeouts());
    let session = open(config).await.unwrap();
    let err = session.call_tool("echo", json!({"text": "hi"})).await.unwrap_err();
    let SessionError::ConnectionClosed { reason: Some(reason), .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        reason,
        "the server sent a message over 64 MiB, the limit of one message; the session was closed"
    );
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_connection_reset_at_open_is_a_connect_error() {
    let server = HttpServer::start_mode("http-fault", &["reset"]);
    let err =
        open(StreamableHttpConfig::new("reset", &server.url).unwrap().timeouts(quick_timeouts()))
            .await
            .unwrap_err();
    let SessionError::Connect { reason, .. } = &err else { panic!("{err:?}") };
    assert!(reason.contains("reset"), "{reason}");
}
