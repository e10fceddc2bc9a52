//! Misbehaving MCP servers for the fault matrix (`mcp-faults`, `cargo xtask faults`), and the
//! matrix's report.
//!
//! Each server is small and hand-written, so that it can break the protocol on purpose:
//! - [`stdio::serve`]: newline-delimited JSON-RPC on stdin/stdout that faults on `tools/call`
//!   (or on every answer), run as `testkit-mcp fault KIND`;
//! - [`http::serve_http`]: HTTP/1.1 written by hand that answers a status, hangs, resets, or
//!   speaks just enough streamable HTTP to fault mid-call, run as `testkit-mcp http-fault KIND`;
//! - [`http::serve_sse`]: legacy HTTP+SSE written by hand, run as `testkit-mcp sse-fault KIND`.
//!
//! [`report`] holds one case's outcome and renders the matrix as a Markdown table.

pub mod http;
pub mod report;
pub mod stdio;

use serde_json::{Value, json};

/// The answer of a well-behaved server to `request`, or `None` for a notification (or a
/// response). Every tool call succeeds with the text `ok`; unknown methods get -32601.
pub fn answer(request: &Value) -> Option<Value> {
    let id = request.get("id")?.clone();
    let method = request.get("method")?.as_str().unwrap_or_default();
    let result = match method {
        "initialize" => {
            let version = request["params"]["protocolVersion"].as_str().unwrap_or("2025-06-18");
            json!({
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "testkit-fault", "version": "0.0.0"},
            })
        }
        "tools/list" => json!({"tools": [{
            "name": "echo",
            "description": "Answers ok.",
            "inputSchema": {"type": "object"},
        }]}),
        "tools/call" => json!({"content": [{"type": "text", "text": "ok"}]}),
        "ping" => json!({}),
        other => {
            return Some(json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32601, "message": format!("method not found: {other}")},
            }));
        }
    };
    Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// Whether `request` is a `tools/call` request.
pub fn is_tool_call(request: &Value) -> bool {
    request.get("id").is_some() && request["method"] == "tools/call"
}
