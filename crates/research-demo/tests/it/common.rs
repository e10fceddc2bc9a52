//! Helpers the research-demo tests share: MCP tool calls, and HTTP servers that misbehave.

use std::io::{Read, Write};
use std::net::TcpListener;

use mcp_session::Session;
use mcp_session::rmcp::model::CallToolResult;
use serde_json::Value;

/// The text blocks of a tool result, joined.
pub(crate) fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect()
}

/// Calls `tool`: whether it failed (`is_error`), and its text.
pub(crate) async fn call(session: &Session, tool: &str, arguments: Value) -> (bool, String) {
    let result = session.call_tool(tool, arguments).await.unwrap();
    (result.is_error == Some(true), text_of(&result))
}

/// Calls `tool`, which must succeed with JSON text.
pub(crate) async fn call_json(session: &Session, tool: &str, arguments: Value) -> Value {
    let (failed, text) = call(session, tool, arguments).await;
    assert!(!failed, "{tool} failed: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A server answering every request with `response`; returns its base URL.
pub(crate) fn raw(response: &'static str) -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url.parse().unwrap()
}

/// Serves `app` on a loopback port until the test's runtime ends; returns its base URL.
pub(crate) async fn serve(app: axum::Router) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url.parse().unwrap()
}
