//! Legacy HTTP+SSE sessions through mcp-sse, and `sse_fallback`.

use std::time::Duration;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::{SseConfig, StreamableHttpConfig, TransportKind};
use serde_json::json;

use crate::{HttpServer, quick_timeouts};

#[tokio::test]
async fn every_method_over_legacy_sse() {
    let server = HttpServer::start_mode("sse", &["--page-size", "3"]);
    let config = SseConfig::new("testkit-sse", &server.url).unwrap().timeouts(quick_timeouts());
    crate::methods::exercise(config.into(), TransportKind::Sse).await;
}

#[tokio::test]
async fn the_seeds_sse_config_end_to_end() {
    let server = HttpServer::start_mode("sse", &[]);
    // As the notebook writes it: SseConfig(url=..., timeout=10, sse_read_timeout=60).
    let wikipedia = SseConfig::new("WikipediaServer", &server.url)
        .unwrap()
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    let manager = MCPClientSessionManager::new();
    let session = manager.open_session(&wikipedia.into()).await.unwrap();
    session.initialize().await.unwrap();
    assert_eq!(session.transport(), TransportKind::Sse);
    assert!(!session.list_tools().await.unwrap().is_empty());
    let echoed = session.call_tool("echo", json!({"text": "latest news"})).await.unwrap();
    assert_eq!(echoed.content[0].as_text().unwrap().text, "latest news");
    session.close().await.unwrap();
}

/// How many requests the `testkit-mcp sse` server saw, by `METHOD /path`.
async fn requests_seen(server: &HttpServer) -> serde_json::Value {
    let url = server.url.replace("/sse", "/requests");
    let (host, path) = url.trim_start_matches("http://").split_once('/').unwrap();
    let (host, path) = (host.to_owned(), format!("/{path}"));
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&host).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        serde_json::from_str(&body).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn sse_fallback_reaches_a_legacy_server_and_is_remembered() {
    sse_fallback_on(None).await;
}

#[tokio::test]
async fn sse_fallback_on_400() {
    sse_fallback_on(Some("400")).await;
}

#[tokio::test]
async fn sse_fallback_on_404() {
    sse_fallback_on(Some("404")).await;
}

/// A legacy server whose URL answers the `initialize` POST with `post_status` (405 when `None`)
/// is reached over SSE; the manager remembers it, and a fresh manager probes again.
async fn sse_fallback_on(post_status: Option<&str>) {
    let args: Vec<&str> = post_status.map(|s| vec!["--post-status", s]).unwrap_or_default();
    let server = HttpServer::start_mode("sse", &args);
    let config = StreamableHttpConfig::new("unknown-kind", &server.url)
        .unwrap()
        .timeouts(quick_timeouts())
        .sse_fallback(true);
    let manager = MCPClientSessionManager::new();
    for _ in 0..2 {
        let session = manager.open_session(&config.clone().into()).await.unwrap();
        assert_eq!(session.transport(), TransportKind::Sse);
        session.ping().await.unwrap();
        session.close().await.unwrap();
    }
    let seen = requests_seen(&server).await;
    assert_eq!(seen["POST /sse"], 1, "the second session went straight to SSE: {seen}");
    assert_eq!(seen["GET /sse"], 2, "{seen}");

    // What a manager learnt is its own: a fresh one probes streamable HTTP again.
    let fresh = MCPClientSessionManager::new();
    let session = fresh.open_session(&config.into()).await.unwrap();
    assert_eq!(session.transport(), TransportKind::Sse);
    session.close().await.unwrap();
    let seen = requests_seen(&server).await;
    assert_eq!(seen["POST /sse"], 2, "a fresh manager probes again: {seen}");
    assert_eq!(seen["GET /sse"], 3, "{seen}");
}

#[tokio::test]
async fn sse_fallback_keeps_streamable_http_when_the_server_speaks_it() {
    let server = HttpServer::start(&[]);
    let config = StreamableHttpConfig::new("modern", &server.url)
        .unwrap()
        .timeouts(quick_timeouts())
        .sse_fallback(true);
    let session = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap();
    assert_eq!(session.transport(), TransportKind::StreamableHttp);
    session.close().await.unwrap();
}

#[tokio::test]
async fn without_sse_fallback_a_legacy_server_is_not_streamable_http() {
    let server = HttpServer::start_mode("sse", &[]);
    let config =
        StreamableHttpConfig::new("strict", &server.url).unwrap().timeouts(quick_timeouts());
    let err = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap_err();
    assert!(
        matches!(&err, mcp_session::SessionError::NotStreamableHttp { status: 405, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("if it is a legacy SSE server, set its transport to `sse`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stream_cut_mid_call_fails_the_call_at_once() {
    let mut server = HttpServer::start_mode("sse", &[]);
    // A long request timeout: the call must fail because the stream ends, not because it times out.
    let config = SseConfig::new("cut", &server.url)
        .unwrap()
        .timeouts(quick_timeouts().request(Duration::from_secs(60)));
    let session = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap();
    let call = session.call_tool("sleep", json!({"ms": 30_000}));
    let cut = async {
        crate::until_sleeping(&session).await;
        server.kill();
    };
    let started = std::time::Instant::now();
    let (result, ()) = tokio::join!(call, cut);
    let err = result.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20), "the call waited for its timeout");
    // A killed server's stream ends cleanly or mid-chunk; either way the error says why.
    let mcp_session::SessionError::ConnectionClosed { operation, reason: Some(reason), .. } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(operation, "tools/call sleep");
    assert!(
        reason.contains("the server closed the event stream")
            || reason.contains("the event stream broke"),
        "{reason}"
    );
    assert!(
        err.to_string().starts_with("cut: the connection closed during tools/call sleep ("),
        "{err}"
    );
    session.close().await.unwrap();
}
