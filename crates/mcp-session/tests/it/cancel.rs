//! A request that times out tells the server (`notifications/cancelled`) before the error
//! returns, on every transport, and a `close()` right after it does not drop the cancellation.
//!
//! Two proofs. `stats` asked right after the timeout, on the same session, already counts the
//! cancellation (the server handles messages in order, and the cancellation went out first).
//! And, over HTTP, a proxy between client and server counts the `notifications/cancelled` it
//! forwarded: after a `close()` that follows the timeout at once, it has forwarded one. The
//! server's own "sleep cancelled" line on stderr would prove nothing there: a server that ends a
//! session (a `DELETE`, a dropped stream, stdin's end) cancels its running handlers too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_session::mcp_config::{ServerConfig, SseConfig, StreamableHttpConfig};
use mcp_session::{CallOptions, MCPClientSessionManager, Session, SessionError};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{HttpServer, quick_timeouts, stdio_server};

/// Calls `sleep` past a 300 ms timeout and checks the error.
async fn time_out(session: &Session) {
    let err = session
        .call_tool_with(
            "sleep",
            json!({"ms": 30_000}),
            CallOptions::new().timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SessionError::Timeout { operation, after, .. } if operation == "tools/call sleep" && *after == Duration::from_millis(300)),
        "{err}"
    );
}

/// The server acts on a timed-out call's cancellation, and the session goes on.
async fn cancelled_and_usable(config: ServerConfig) {
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    time_out(&session).await;
    let seen = crate::stats_once_cancelled(&session).await;
    assert_eq!(seen["cancelled"], 1, "the server saw notifications/cancelled: {seen}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn timeout_cancels_before_the_error_returns_over_stdio() {
    cancelled_and_usable(stdio_server(&[]).into()).await;
}

#[tokio::test]
async fn timeout_cancels_before_the_error_returns_over_streamable_http() {
    let server = HttpServer::start(&[]);
    cancelled_and_usable(server.config()).await;
}

#[tokio::test]
async fn timeout_cancels_before_the_error_returns_over_legacy_sse() {
    let server = HttpServer::start_mode("sse", &[]);
    let config = SseConfig::new("testkit-sse", &server.url).unwrap().timeouts(quick_timeouts());
    cancelled_and_usable(config.into()).await;
}

/// A TCP proxy to `target` that counts the `notifications/cancelled` it forwarded to it.
pub(crate) async fn counting_proxy(target: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    const NEEDLE: &[u8] = b"notifications/cancelled";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let count = forwarded.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else { return };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                let back = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                    let _ = to_client.shutdown().await;
                });
                // Client to server, scanning what passes (with a tail for a split needle).
                let mut window = Vec::new();
                let mut buf = vec![0; 16 * 1024];
                while let Ok(n) = from_client.read(&mut buf).await {
                    if n == 0 || to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    window.extend_from_slice(&buf[..n]);
                    let found = window.windows(NEEDLE.len()).filter(|w| *w == NEEDLE).count();
                    count.fetch_add(found, Ordering::SeqCst);
                    let keep = window.len().min(NEEDLE.len() - 1);
                    window.drain(..window.len() - keep);
                }
                let _ = to_server.shutdown().await;
                let _ = back.await;
            });
        }
    });
    (address, forwarded)
}

/// `url` with its host and port replaced by `address`.
pub(crate) fn via(url: &str, address: SocketAddr) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_port(Some(address.port())).unwrap();
    url.to_string()
}

/// The server's address in `url`.
pub(crate) fn address_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).unwrap();
    SocketAddr::new(url.host_str().unwrap().parse().unwrap(), url.port().unwrap())
}

/// `close()` right after a timeout: the cancellation was forwarded to the server all the same.
async fn close_at_once_keeps_the_cancellation(config: impl Fn(&str) -> ServerConfig, url: &str) {
    let (proxy, forwarded) = counting_proxy(address_of(url)).await;
    let session =
        MCPClientSessionManager::new().open_session(&config(&via(url, proxy))).await.unwrap();
    assert_eq!(forwarded.load(Ordering::SeqCst), 0);
    time_out(&session).await;
    // Already forwarded when the error returned (and the server answered its POST).
    assert_eq!(forwarded.load(Ordering::SeqCst), 1, "sent before the timeout error returned");
    session.close().await.unwrap();
    assert_eq!(
        forwarded.load(Ordering::SeqCst),
        1,
        "notifications/cancelled reached the server before close() returned"
    );
}

#[tokio::test]
async fn close_right_after_a_timeout_keeps_the_cancellation_over_streamable_http() {
    let server = HttpServer::start(&[]);
    let config = |url: &str| -> ServerConfig {
        StreamableHttpConfig::new("testkit-http", url).unwrap().timeouts(quick_timeouts()).into()
    };
    close_at_once_keeps_the_cancellation(config, &server.url).await;
}

#[tokio::test]
async fn close_right_after_a_timeout_keeps_the_cancellation_over_legacy_sse() {
    let server = HttpServer::start_mode("sse", &[]);
    let config = |url: &str| -> ServerConfig {
        SseConfig::new("testkit-sse", url).unwrap().timeouts(quick_timeouts()).into()
    };
    close_at_once_keeps_the_cancellation(config, &server.url).await;
}

/// A caller that stops waiting (drops the call) still gets the server told, and a `close()`
/// right after does not drop that either.
#[tokio::test]
async fn a_dropped_call_is_cancelled_even_when_close_follows_at_once() {
    let server = HttpServer::start(&[]);
    let (proxy, forwarded) = counting_proxy(address_of(&server.url)).await;
    let config: ServerConfig = StreamableHttpConfig::new("testkit-http", via(&server.url, proxy))
        .unwrap()
        .timeouts(quick_timeouts())
        .into();
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    let call = session.call_tool("sleep", json!({"ms": 30_000}));
    tokio::select! {
        _ = call => panic!("sleep answered"),
        () = crate::until_sleeping(&session) => {}
    }
    session.close().await.unwrap();
    assert_eq!(forwarded.load(Ordering::SeqCst), 1, "the dropped call was cancelled");
}

/// Over stdio: the server's stdin, as `tee` saw it, holds the cancellation after a `close()`
/// that followed the timeout at once (closing stdin cannot have cut it off).
#[tokio::test]
async fn close_right_after_a_timeout_keeps_the_cancellation_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("stdin");
    let script = format!("tee '{}' | '{}' stdio", seen.display(), testkit::testkit_mcp().display());
    let config: ServerConfig = mcp_session::mcp_config::StdioConfig::new("testkit", "sh")
        .args(["-c", script.as_str()])
        .timeouts(quick_timeouts())
        .into();
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    time_out(&session).await;
    session.close().await.unwrap();
    let stdin = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(stdin.matches("notifications/cancelled").count(), 1, "the server's stdin: {stdin}");
}
