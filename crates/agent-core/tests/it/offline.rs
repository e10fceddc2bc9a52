//! The offline planner's choices on realistic requests.

use agent_core::{
    AgentTarget, ConversableAgent, LLMConfig, ModelConfig, OnCondition, Role, RunOptions,
    StopReason, StringLLMCondition, Tool, create_toolkit,
};
use serde_json::{Value, json};

fn offline_agent(name: &str) -> ConversableAgent {
    ConversableAgent::builder(name).llm_config(LLMConfig::new(ModelConfig::offline())).build()
}

/// A tool that records its arguments and answers `answer`.
fn recording(
    name: &str,
    description: &str,
    schema: Value,
    answer: &'static str,
) -> (Tool, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let tool = Tool::new(name, description, schema, move |args| {
        record.lock().unwrap().push(args);
        async move { answer }
    });
    (tool, seen)
}

fn outer_tool() -> (Tool, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    recording(
        "run_mcp_agent_to_client",
        "Run a query on the MCP server that fits it: ArxivServer to search for papers on arXiv, WikipediaServer to search for articles on Wikipedia.",
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "The user's query, as they wrote it."},
                "server_name": {"type": "string", "enum": ["ArxivServer", "WikipediaServer"]}
            },
            "required": ["query", "server_name"]
        }),
        "2 papers: 2401.00001 Scaling LLMs; 2401.00002 LLM agents",
    )
}

#[tokio::test]
async fn the_seeds_two_queries_pick_the_right_server() {
    for (query, server) in [
        ("Search for recent papers about large language models on ArxivServer", "ArxivServer"),
        ("Get me the latest news from Wikipedia using WikipediaServer", "WikipediaServer"),
    ] {
        let (tool, seen) = outer_tool();
        let response = offline_agent("research_assistant")
            .run(RunOptions::new(query).tools([tool]).max_turns(2))
            .await
            .unwrap();
        assert_eq!(*seen.lock().unwrap(), [json!({"query": query, "server_name": server})]);
        assert_eq!(response.stop_reason, StopReason::Answered);
        assert!(
            response
                .summary()
                .starts_with("[offline planner] run_mcp_agent_to_client returned:\n2 papers"),
            "{}",
            response.summary()
        );
    }
}

#[tokio::test]
async fn the_inner_agent_searches_then_hands_back() {
    let (search, searched) = recording(
        "search_papers",
        "Search arXiv for papers matching a query.",
        json!({"type": "object", "properties": {"query": {"type": "string"}, "max_results": {"type": "integer", "default": 10}}, "required": ["query"]}),
        "2401.00001: Scaling LLMs",
    );
    let (abstract_tool, _) = recording(
        "get_abstract",
        "Get the abstract of one paper by its arXiv id.",
        json!({"type": "object", "properties": {"paper_id": {"type": "string"}}, "required": ["paper_id"]}),
        "abstract",
    );
    let mut agent = offline_agent("mcp_agent");
    agent.handoffs().add_llm_conditions([OnCondition::new(
        AgentTarget::new("research_assistant"),
        StringLLMCondition::new("The research paper ids are fetched."),
    )]);
    let query = "Search for recent papers about large language models on ArxivServer Use the following tools to answer the question: [...]";
    let response = agent
        .run(RunOptions::new(query).tools([abstract_tool, search]).max_turns(5))
        .await
        .unwrap();
    assert_eq!(*searched.lock().unwrap(), [json!({"query": "large language models"})]);
    assert_eq!(response.stop_reason, StopReason::HandedOff { to: "research_assistant".into() });
}

#[tokio::test]
async fn a_failing_tool_is_not_chosen_again() {
    let (broken, _) = recording(
        "search_papers",
        "Search papers.",
        json!({"type": "object", "properties": {}}),
        "x",
    );
    let broken = Tool::new(broken.name(), "Search papers.", json!({"type": "object"}), |_| async {
        Err::<String, String>("archive down".into())
    });
    let response = offline_agent("a")
        .run(RunOptions::new("search papers about cats").tools([broken]).max_turns(4))
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(
        response.summary(),
        "[offline planner] could not complete the request: Error: archive down"
    );
}

#[tokio::test]
async fn no_matching_tool_is_said_plainly() {
    let (tool, _) =
        recording("get_weather", "Weather for a city.", json!({"type": "object"}), "sunny");
    let response =
        offline_agent("a").run(RunOptions::new("translate this poem").tools([tool])).await.unwrap();
    assert!(
        response.summary().starts_with("[offline planner] no tool matches this request"),
        "{}",
        response.summary()
    );
    assert_eq!(response.messages.iter().filter(|m| m.role == Role::Tool).count(), 0);
}

#[tokio::test]
async fn with_an_mcp_toolkit() {
    let server = mcp_session::mcp_config::StdioConfig::new(
        "testkit",
        testkit::testkit_mcp().display().to_string(),
    )
    .arg("stdio")
    .into();
    let session = mcp_session::MCPClientSessionManager::new().open_session(&server).await.unwrap();
    let toolkit = create_toolkit(&session).await.unwrap();
    let response = offline_agent("a")
        .run(RunOptions::new("echo hello world").tools(toolkit.tools()))
        .await
        .unwrap();
    session.close().await.unwrap();
    assert_eq!(response.summary(), "[offline planner] echo returned:\necho hello world");
    assert_eq!(
        agent_core::LlmClient::describe(&agent_core::Offline),
        "offline planner (rule-based, not a model)"
    );
}
