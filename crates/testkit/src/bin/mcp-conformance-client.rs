//! `mcp-conformance-client URL`: our client (mcp-session over streamable HTTP) as the official
//! MCP conformance runner (`@modelcontextprotocol/conformance client`) drives it.
//!
//! The runner starts a mock server for a scenario, names the scenario in
//! `MCP_CONFORMANCE_SCENARIO` and runs this binary with the server's URL. It must exit 0 within
//! 30 s. What we do per scenario:
//! - `initialize`: open a session (initialize + initialized), list tools, close;
//! - `tools_call`: call `add_numbers` with `a` = 2 and `b` = 3;
//! - `elicitation-sep1034-client-defaults`: call the scenario's tool, accepting its elicitation
//!   with every default of the requested schema filled in;
//! - `sse-retry` and anything else: call every tool that takes no arguments.

use std::process::ExitCode;

use futures::future::BoxFuture;
use mcp_session::rmcp::ErrorData;
use mcp_session::rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction};
use mcp_session::{HandlerCapabilities, MCPClientSessionManager, Session, SessionHandler};
use serde_json::{Map, Value, json};

/// Accepts every elicitation with the requested schema's defaults.
struct Defaults;

impl SessionHandler for Defaults {
    fn capabilities(&self) -> HandlerCapabilities {
        HandlerCapabilities::default().elicitation()
    }

    fn create_elicitation(
        &self,
        _server: &str,
        request: ElicitRequestParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorData>> {
        let request = serde_json::to_value(&request).unwrap_or_default();
        let mut content = Map::new();
        if let Some(properties) = request["requestedSchema"]["properties"].as_object() {
            for (name, property) in properties {
                if let Some(default) = property.get("default") {
                    content.insert(name.clone(), default.clone());
                }
            }
        }
        let mut result = ElicitResult::new(ElicitationAction::Accept);
        result.content = Some(Value::Object(content));
        Box::pin(std::future::ready(Ok(result)))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: mcp-conformance-client URL (scenario in MCP_CONFORMANCE_SCENARIO)");
        return ExitCode::from(2);
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    match run(&url, &scenario).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mcp-conformance-client: {scenario}: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, scenario: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config = mcp_session::mcp_config::StreamableHttpConfig::new("conformance", url)?;
    let manager = MCPClientSessionManager::builder()
        .client_info("mcp-session-rs-conformance", env!("CARGO_PKG_VERSION"))
        .handler(Defaults)
        .build();
    let session = manager.open_session(&config.into()).await?;
    let outcome = scenario_steps(&session, scenario).await;
    let closed = session.close().await;
    outcome?;
    closed?;
    Ok(())
}

async fn scenario_steps(
    session: &Session,
    scenario: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let tools = session.list_tools().await?;
    match scenario {
        "initialize" => {}
        "tools_call" => {
            let result = session.call_tool("add_numbers", json!({"a": 2, "b": 3})).await?;
            if result.is_error == Some(true) {
                return Err(format!("add_numbers failed: {result:?}").into());
            }
        }
        _ => {
            for tool in tools.iter().filter(|tool| {
                tool.input_schema
                    .get("required")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
            }) {
                session.call_tool(&tool.name, json!({})).await?;
            }
        }
    }
    Ok(())
}
