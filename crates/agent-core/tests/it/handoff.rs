//! Handoffs and `ReplyResult` targets, in `run` and in `run_group`.

use agent_core::{
    AgentTarget, ConversableAgent, OnCondition, ReplyResult, RunOptions, StopReason,
    StringLLMCondition, TerminateTarget, Tool, run_group,
};
use serde_json::json;
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::{agent, llm_config};

fn fetch_ids() -> Tool {
    Tool::new("fetch_ids", "Fetches paper ids.", json!({"type": "object"}), |_| async {
        ReplyResult::new("ids: 2401.00001, 2401.00002")
            .target(AgentTarget::new("research_assistant"))
            .context_variable("paper_count", json!(2))
    })
}

#[tokio::test]
async fn a_reply_result_target_outside_the_run_hands_off() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().last_role("user"), Reply::tool_call("fetch_ids", json!({})));
    let response = agent(&llm, "mcp_agent", "You use tools.")
        .run(RunOptions::new("find ids").tools([fetch_ids()]))
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::HandedOff { to: "research_assistant".into() });
    assert_eq!(response.summary(), "ids: 2401.00001, 2401.00002");
    assert_eq!(llm.requests().len(), 1, "the run ends without asking the LLM again");
}

#[tokio::test]
async fn an_on_condition_becomes_a_transfer_tool() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().offers_tool("transfer_to_research_assistant").last_role("user"),
        Reply::tool_call("transfer_to_research_assistant", json!({})),
    );
    let mut mcp_agent = agent(&llm, "mcp_agent", "You use tools.");
    mcp_agent.handoffs().add_llm_conditions([OnCondition::new(
        AgentTarget::new("research_assistant"),
        StringLLMCondition::new("The research paper ids are fetched."),
    )]);
    let response = mcp_agent.run(RunOptions::new("find ids").max_turns(5)).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::HandedOff { to: "research_assistant".into() });
    assert_eq!(response.summary(), "Transferred to research_assistant.");
    let offered = &llm.requests()[0]["tools"][0]["function"];
    assert_eq!(offered["name"], "transfer_to_research_assistant");
    assert!(
        offered["description"].as_str().unwrap().starts_with("The research paper ids are fetched.")
    );
}

#[tokio::test]
async fn a_terminate_target_ends_the_run() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().last_role("user"), Reply::tool_call("stop", json!({})));
    let stop = Tool::new("stop", "Stops.", json!({"type": "object"}), |_| async {
        ReplyResult::new("stopping").target(TerminateTarget)
    });
    let response = agent(&llm, "a", "s").run(RunOptions::new("go").tools([stop])).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Terminated);
    assert_eq!(response.summary(), "stopping");
}

#[tokio::test]
async fn run_group_follows_transfers_reply_results_and_after_work() {
    let llm = ScriptedLlm::start().await;
    // The assistant hands over to the MCP agent, which fetches ids (its tool's ReplyResult sends
    // the conversation back), then the assistant answers.
    llm.when_times(
        Match::any().system("research assistant").last_role("user"),
        Reply::tool_call("transfer_to_mcp_agent", json!({})),
        1,
    );
    llm.when(
        Match::any().system("You use tools").last_role("tool"),
        Reply::tool_call("fetch_ids", json!({})),
    );
    llm.when(
        Match::any().system("research assistant").last_message("ids: 2401"),
        Reply::text("Two papers: 2401.00001 and 2401.00002."),
    );

    let mut assistant = ConversableAgent::builder("research_assistant")
        .system_message("You are a research assistant.")
        .llm_config(llm_config(&llm))
        .build();
    assistant.handoffs().add_llm_conditions([OnCondition::new(
        AgentTarget::new("mcp_agent"),
        StringLLMCondition::new("The query needs an MCP server."),
    )]);
    let mcp_agent = ConversableAgent::builder("mcp_agent")
        .system_message("You use tools.")
        .llm_config(llm_config(&llm))
        .tool(fetch_ids())
        .build();

    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let response = agent_core::run_group_streaming(
        &[assistant, mcp_agent],
        "research_assistant",
        "Find LLM papers",
        10,
        Some(sender),
    )
    .await
    .unwrap();
    let mut streamed = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        streamed.push(event);
    }
    assert_eq!(streamed, response.events, "events stream during a group run too");
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.last_speaker, "research_assistant");
    assert_eq!(response.summary(), "Two papers: 2401.00001 and 2401.00002.");
    let speakers: Vec<String> = response.messages.iter().filter_map(|m| m.name.clone()).collect();
    assert_eq!(speakers, ["research_assistant", "mcp_agent", "research_assistant"]);
    let handoffs: Vec<String> = response
        .events
        .iter()
        .filter_map(|e| match e {
            agent_core::Event::Handoff { from, to } => Some(format!("{from} -> {to}")),
            _ => None,
        })
        .collect();
    assert_eq!(handoffs, ["research_assistant -> mcp_agent", "mcp_agent -> research_assistant"]);
    // Each agent spoke with its own system message; context variables reach the agents after.
    let requests = llm.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1]["messages"][0]["content"], "You use tools.");
    assert_eq!(requests[2]["messages"][1]["content"], r#"Context variables: {"paper_count":2}"#);
    assert_eq!(response.context_variables["paper_count"], json!(2));
}

#[tokio::test]
async fn run_group_after_work_and_unknown_agents() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().system("writer"), Reply::text("draft"));
    llm.when(Match::any().system("reviewer"), Reply::text("approved"));
    let mut writer = ConversableAgent::builder("writer")
        .system_message("You are a writer.")
        .llm_config(llm_config(&llm))
        .build();
    writer.handoffs().set_after_work(AgentTarget::new("reviewer"));
    let reviewer = ConversableAgent::builder("reviewer")
        .system_message("You are a reviewer.")
        .llm_config(llm_config(&llm))
        .build();
    let response = run_group(&[writer.clone(), reviewer], "writer", "Write", 5).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.summary(), "approved");

    let err = run_group(&[writer], "nobody", "Write", 5).await.unwrap_err();
    assert_eq!(err.to_string(), "no agent called \"nobody\" in the group; the agents are: writer");
}

#[tokio::test]
async fn run_group_max_rounds() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::tool_call("fetch_again", json!({})));
    let again = Tool::new("fetch_again", "Again.", json!({"type": "object"}), |_| async { "more" });
    let looper =
        ConversableAgent::builder("looper").llm_config(llm_config(&llm)).tool(again).build();
    let response = run_group(&[looper], "looper", "go", 3).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::MaxTurns);
    assert_eq!(llm.requests().len(), 3);
}
