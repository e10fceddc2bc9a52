//! Requests from servers to the client: sampling, elicitation and roots, answered by an installed
//! `SessionHandler` for the capabilities it announces, refused with a JSON-RPC error otherwise.

// Sampling and roots are deprecated by SEP-2577 (2026-07-28) but part of every earlier version.
#![allow(deprecated)]

use mcp_session::rmcp::ErrorData;
use mcp_session::rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ElicitationAction, ListRootsResult, Role, Root, SamplingMessage, SamplingMessageContentBlock,
};
use mcp_session::{HandlerCapabilities, MCPClientSessionManager, Session, SessionHandler};
use serde_json::{Value, json};

use crate::stdio_server;

/// Answers everything, as a host application with an LLM and a user would.
struct Host;

impl SessionHandler for Host {
    fn capabilities(&self) -> HandlerCapabilities {
        HandlerCapabilities::default().sampling().elicitation().roots()
    }

    fn create_message(
        &self,
        _server: &str,
        request: CreateMessageRequestParams,
    ) -> futures::future::BoxFuture<'static, Result<CreateMessageResult, ErrorData>> {
        let asked = request.messages.len();
        Box::pin(async move {
            let text = format!("4 (answered {asked} message)");
            let message =
                SamplingMessage::new(Role::Assistant, SamplingMessageContentBlock::text(text));
            Ok(CreateMessageResult::new(message, "test-model".to_owned()))
        })
    }

    fn create_elicitation(
        &self,
        _server: &str,
        _request: ElicitRequestParams,
    ) -> futures::future::BoxFuture<'static, Result<ElicitResult, ErrorData>> {
        let mut result = ElicitResult::new(ElicitationAction::Accept);
        result.content = Some(json!({"name": "Ada"}));
        Box::pin(async move { Ok(result) })
    }

    fn list_roots(
        &self,
        _server: &str,
    ) -> futures::future::BoxFuture<'static, Result<ListRootsResult, ErrorData>> {
        Box::pin(async { Ok(ListRootsResult::new(vec![Root::new("file:///work/project")])) })
    }
}

async fn ask(session: &Session, what: &str) -> Value {
    let result = session.call_tool("ask_client", json!({"what": what})).await.unwrap();
    serde_json::from_str(&result.content[0].as_text().unwrap().text).unwrap()
}

/// Answers everything, like [`Host`], but announces only sampling: the capability gate, not
/// the handler, must refuse the rest.
struct SamplingOnly;

impl SessionHandler for SamplingOnly {
    fn capabilities(&self) -> HandlerCapabilities {
        HandlerCapabilities::default().sampling()
    }

    fn create_message(
        &self,
        server: &str,
        request: CreateMessageRequestParams,
    ) -> futures::future::BoxFuture<'static, Result<CreateMessageResult, ErrorData>> {
        Host.create_message(server, request)
    }

    fn create_elicitation(
        &self,
        server: &str,
        request: ElicitRequestParams,
    ) -> futures::future::BoxFuture<'static, Result<ElicitResult, ErrorData>> {
        Host.create_elicitation(server, request)
    }

    fn list_roots(
        &self,
        server: &str,
    ) -> futures::future::BoxFuture<'static, Result<ListRootsResult, ErrorData>> {
        Host.list_roots(server)
    }
}

/// Asks the client for `what` through the server and checks that the client refused it as a
/// capability it does not offer.
async fn assert_refused(session: &Session, what: &str) {
    let answer = ask(session, what).await;
    assert_eq!(answer["error"]["code"], -32601, "{what}: {answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("this client does not offer {what}")), "{message}");
}

#[tokio::test]
async fn requests_for_capabilities_not_announced_get_method_not_found() {
    let manager = MCPClientSessionManager::builder().handler(SamplingOnly).build();
    let session = manager.open_session(&stdio_server(&[]).into()).await.unwrap();
    let advertised = ask(&session, "capabilities").await;
    assert!(advertised["answer"]["sampling"].is_object(), "{advertised}");
    assert_eq!(advertised["answer"].get("elicitation"), None, "{advertised}");
    assert_eq!(advertised["answer"].get("roots"), None, "{advertised}");

    let sampled = ask(&session, "sampling").await;
    assert_eq!(sampled["answer"]["model"], "test-model", "{sampled}");
    for what in ["elicitation", "roots"] {
        assert_refused(&session, what).await;
    }
    session.close().await.unwrap();
}

#[tokio::test]
async fn without_a_handler_nothing_is_advertised_and_requests_get_method_not_found() {
    let session =
        MCPClientSessionManager::new().open_session(&stdio_server(&[]).into()).await.unwrap();
    let advertised = ask(&session, "capabilities").await;
    for capability in ["sampling", "elicitation", "roots"] {
        assert_eq!(advertised["answer"].get(capability), None, "{advertised}");
    }
    for what in ["sampling", "elicitation", "roots"] {
        assert_refused(&session, what).await;
    }
    session.close().await.unwrap();
}

#[tokio::test]
async fn an_installed_handler_answers() {
    let manager = MCPClientSessionManager::builder().handler(Host).build();
    let session = manager.open_session(&stdio_server(&[]).into()).await.unwrap();
    let sampled = ask(&session, "sampling").await;
    assert_eq!(sampled["answer"]["model"], "test-model", "{sampled}");
    assert_eq!(sampled["answer"]["content"]["text"], "4 (answered 1 message)", "{sampled}");
    let elicited = ask(&session, "elicitation").await;
    assert_eq!(elicited["answer"], json!({"action": "accept", "content": {"name": "Ada"}}));
    let roots = ask(&session, "roots").await;
    assert_eq!(roots["answer"]["roots"][0]["uri"], "file:///work/project");
    session.close().await.unwrap();
}

#[tokio::test]
async fn server_everything_uses_the_announced_capabilities_over_stdio() {
    let Some(peers) = testkit::peers::peers() else { return };
    let (command, args) = peers.everything_stdio();
    let config = mcp_session::mcp_config::StdioConfig::new("everything", command)
        .args(args)
        .timeouts(crate::quick_timeouts());
    answers_everything(config.into()).await;
}

#[tokio::test]
async fn server_everything_uses_the_announced_capabilities_over_streamable_http() {
    let Some(peers) = testkit::peers::peers() else { return };
    let log = std::env::temp_dir().join(format!("everything-host-http-{}.log", std::process::id()));
    let server = peers.start_everything_http(&log);
    let config = mcp_session::mcp_config::StreamableHttpConfig::new("everything-http", &server.url)
        .unwrap()
        .timeouts(crate::quick_timeouts());
    answers_everything(config.into()).await;
    drop(server);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn server_everything_uses_the_announced_capabilities_over_legacy_sse() {
    let Some(peers) = testkit::peers::peers() else { return };
    let log = std::env::temp_dir().join(format!("everything-host-sse-{}.log", std::process::id()));
    let server = peers.start_everything("sse", &log);
    let config = mcp_session::mcp_config::SseConfig::new("everything-sse", &server.url)
        .unwrap()
        .timeouts(crate::quick_timeouts());
    answers_everything(config.into()).await;
    drop(server);
    let _ = std::fs::remove_file(&log);
}

/// Sampling, elicitation and roots, asked by server-everything and answered by [`Host`].
async fn answers_everything(config: mcp_session::mcp_config::ServerConfig) {
    let manager = MCPClientSessionManager::builder().handler(Host).build();
    let session = manager.open_session(&config).await.unwrap();
    let names: Vec<String> =
        session.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    for tool in ["trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"] {
        assert!(names.iter().any(|n| n == tool), "{tool} missing from {names:?}");
    }
    let sampled =
        session.call_tool("trigger-sampling-request", json!({"prompt": "2 + 2?"})).await.unwrap();
    let text: String =
        sampled.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
    assert!(text.contains("4 (answered 1 message)"), "{text}");
    let elicited = session.call_tool("trigger-elicitation-request", json!({})).await.unwrap();
    assert_ne!(elicited.is_error, Some(true), "{:?}", elicited.content);
    let roots = session.call_tool("get-roots-list", json!({})).await.unwrap();
    let text: String =
        roots.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
    assert!(text.contains("file:///work/project"), "{text}");
    session.close().await.unwrap();
}
