//! An MCP toolkit from `testkit-mcp` (stdio), used end to end by an agent, as the seed does.

use agent_core::{ConversableAgent, Role, RunOptions, create_toolkit};
use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::StdioConfig;
use serde_json::json;
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::llm_config;

#[tokio::test]
async fn the_seeds_flow_with_a_stdio_toolkit() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(
        Match::any().last_role("user"),
        Reply::tool_call("echo", json!({"text": "2 papers found"})),
        1,
    );
    llm.when_times(
        Match::any().last_message("2 papers found"),
        Reply::tool_call("fail", json!({"message": "no PDF"})),
        1,
    );
    llm.when(
        Match::any().last_message("Error: no PDF"),
        Reply::text("The research paper ids are fetched."),
    );

    let server = StdioConfig::new("testkit", testkit::testkit_mcp().display().to_string())
        .arg("stdio")
        .into();
    let manager = MCPClientSessionManager::new();
    let session = manager.open_session(&server).await.unwrap();
    session.initialize().await.unwrap();
    let toolkit = create_toolkit(&session).await.unwrap();
    let echo = toolkit.tools().into_iter().find(|t| t.name() == "echo").unwrap();
    assert_eq!(echo.spec().parameters["required"], json!(["text"]), "the server's schema is kept");
    assert_eq!(toolkit.mcp_name("echo"), Some("echo"));

    let mut agent = ConversableAgent::builder("mcp_agent")
        .system_message(
            "You are an agent with access to testkit tools. Use them to answer queries.",
        )
        .llm_config(llm_config(&llm))
        .build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    let response = agent.run(RunOptions::new("Find papers").max_turns(5)).await.unwrap();
    session.close().await.unwrap();

    let tool_results: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(tool_results, ["2 papers found", "Error: no PDF"]);
    assert_eq!(response.summary(), "The research paper ids are fetched.");
    let offered: Vec<String> = llm.requests()[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        offered.contains(&"echo".to_owned()) && offered.contains(&"sleep".to_owned()),
        "{offered:?}"
    );
}

#[tokio::test]
async fn a_tool_of_a_closed_session_reports_it_to_the_model() {
    let server = StdioConfig::new("testkit", testkit::testkit_mcp().display().to_string())
        .arg("stdio")
        .into();
    let session = MCPClientSessionManager::new().open_session(&server).await.unwrap();
    let toolkit = create_toolkit(&session).await.unwrap();
    session.close().await.unwrap();
    let echo = toolkit.tools().into_iter().find(|t| t.name() == "echo").unwrap();
    let output = echo.call(r#"{"text": "hi"}"#).await;
    assert_eq!(output, Err("testkit: the session is closed; open a new one".to_owned()));
}
