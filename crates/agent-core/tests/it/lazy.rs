//! Lazy tool search: above the threshold an agent gets `search_tools` and `call_tool` instead of
//! every schema, and both the offline planner and a model (scripted) get the work done with them.

use agent_core::{
    CALL_TOOL, ConversableAgent, LAZY_TOOL_THRESHOLD, LLMConfig, ModelConfig, RunOptions,
    SEARCH_TOOLS, StopReason, Tool, Toolkit, create_toolkit_from_pool,
};
use mcp_session::SessionPool;
use mcp_session::mcp_config::{MCPConfig, StdioConfig};
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::llm_config;

/// Fifty tools of made-up servers, and one that converts time zones, recording its arguments.
fn many_tools() -> (Vec<Tool>, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let mut tools: Vec<Tool> = (0..50)
        .map(|n| {
            Tool::new(
                format!("inventory_item_{n}"),
                format!("Looks up stock level number {n} of the warehouse inventory."),
                json!({"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}),
                |_| async { "in stock" },
            )
        })
        .collect();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tools.push(Tool::new(
        "convert_time",
        "Converts a time of day between two IANA time zones.",
        json!({
            "type": "object",
            "properties": {
                "time": {"type": "string", "description": "Time in 24-hour HH:MM."},
                "source_timezone": {"type": "string", "description": "IANA time zone name"},
                "target_timezone": {"type": "string", "description": "IANA time zone name"}
            },
            "required": ["time", "source_timezone", "target_timezone"]
        }),
        move |args| {
            record.lock().unwrap().push(args);
            async { "14:30 in Europe/London is 23:30 in Asia/Tokyo" }
        },
    ));
    (tools, seen)
}

#[tokio::test]
async fn the_offline_planner_searches_then_calls() {
    let (tools, seen) = many_tools();
    let toolkit = Toolkit::from_tools(tools).lazy_above(LAZY_TOOL_THRESHOLD);
    let offered: Vec<String> = toolkit.tools().iter().map(|t| t.name().to_owned()).collect();
    assert_eq!(offered, [SEARCH_TOOLS, CALL_TOOL]);
    let mut agent = ConversableAgent::builder("lazy")
        .llm_config(LLMConfig::new(ModelConfig::offline()))
        .build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    let response = agent
        .run(RunOptions::new("convert the time of day from one time zone to another").max_turns(4))
        .await
        .unwrap();
    let calls: Vec<String> = response
        .messages
        .iter()
        .flat_map(|m| &m.tool_calls)
        .map(|call| call.name.clone())
        .collect();
    assert_eq!(calls, [SEARCH_TOOLS, CALL_TOOL], "{:?}", response.messages);
    assert_eq!(seen.lock().unwrap().len(), 1, "the converter ran once");
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert!(response.summary().contains("23:30"), "{}", response.summary());
}

#[tokio::test]
async fn a_model_sees_two_tools_and_reaches_a_pooled_server_through_them() {
    let testkit = |name: &str| {
        StdioConfig::new(name, testkit::testkit_mcp().display().to_string()).arg("stdio").into()
    };
    let servers = ["alpha", "beta", "gamma", "delta"].map(testkit);
    let pool = SessionPool::new(MCPConfig::new(servers).unwrap());
    let toolkit =
        create_toolkit_from_pool(&pool, None).await.unwrap().lazy_above(LAZY_TOOL_THRESHOLD);
    assert!(toolkit.all_tools().len() > LAZY_TOOL_THRESHOLD);

    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::tool_call(SEARCH_TOOLS, json!({"query": "add two numbers", "limit": 3})),
    );
    llm.when_times(
        Match::any().last_role("tool"),
        Reply::tool_call(CALL_TOOL, json!({"name": "gamma__add", "arguments": {"a": 2, "b": 40}})),
        1,
    );
    llm.when(Match::any().last_role("tool"), Reply::text("It is 42."));
    let mut agent = ConversableAgent::builder("lazy").llm_config(llm_config(&llm)).build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    let response = agent.run(RunOptions::new("What is 2 + 40?").max_turns(4)).await.unwrap();
    assert_eq!(response.summary(), "It is 42.");

    let requests = llm.requests();
    let offered: Vec<&str> = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(offered, [SEARCH_TOOLS, CALL_TOOL]);
    let tool_text = |request: &Value| {
        let messages = request["messages"].as_array().unwrap();
        messages.last().unwrap()["content"].as_str().unwrap().to_owned()
    };
    let found: Value = serde_json::from_str(&tool_text(&requests[1])).unwrap();
    let names: Vec<&str> =
        found["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|name| name.ends_with("__add")), "{names:?}");
    assert_eq!(found["tools"][0]["parameters"]["required"], json!(["a", "b"]));
    assert_eq!(tool_text(&requests[2]), "42");
    drop((agent, toolkit));
    pool.close_all().await;
}
