//! Handoffs and `ReplyResult` targets, in `run` and in `run_group`.

use agent_core::{
    AgentTarget, ConversableAgent, Event, OnCondition, ReplyResult, RevertToUserTarget, Role,
    RunOptions, StayTarget, StopReason, StringLLMCondition, Target, TerminateTarget, Tool,
    run_group, transfer_tool_name,
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

/// A tool called `name` whose result is `message`, with `target` if any.
fn targeting(name: &str, message: &'static str, target: Option<Target>) -> Tool {
    Tool::new(name, "Decides who speaks next.", json!({"type": "object"}), move |_| {
        let mut result = ReplyResult::new(message);
        result.target = target.clone();
        async move { result }
    })
}

#[tokio::test]
async fn revert_to_user_ends_a_run_and_a_group_run() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().last_role("user"), Reply::tool_call("ask_user", json!({})));
    let ask_user = || targeting("ask_user", "Which year?", Some(RevertToUserTarget.into()));

    // In `run`: the run ends at once, with the tool's message last, without asking the LLM again.
    let response =
        agent(&llm, "a", "s").run(RunOptions::new("go").tools([ask_user()])).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::RevertedToUser);
    assert_eq!(response.last_message().unwrap().role, Role::Tool);
    assert_eq!(response.last_message().unwrap().text(), "Which year?");
    assert_eq!(llm.requests().len(), 1);
    assert_eq!(
        response.events.last(),
        Some(&Event::Termination { reason: StopReason::RevertedToUser })
    );

    // In `run_group`: the same, even though the agent has an after-work target.
    let mut asker =
        ConversableAgent::builder("asker").llm_config(llm_config(&llm)).tool(ask_user()).build();
    asker.handoffs().set_after_work(AgentTarget::new("other"));
    let other = ConversableAgent::builder("other").llm_config(llm_config(&llm)).build();
    let response = run_group(&[asker, other], "asker", "go", 5).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::RevertedToUser);
    assert_eq!(response.last_speaker, "asker");
    assert_eq!(llm.requests().len(), 2, "one more request: the group's only turn");
}

#[tokio::test]
async fn stay_keeps_the_same_agent_in_a_run_and_a_group_run() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().last_role("user"), Reply::tool_call("keep_going", json!({})));
    llm.when(Match::any().last_message("stay here"), Reply::text("finished myself"));
    let keep_going = || targeting("keep_going", "stay here", Some(StayTarget.into()));

    // In `run`: the LLM is asked again, as after any tool without a target.
    let response =
        agent(&llm, "a", "s").run(RunOptions::new("go").tools([keep_going()])).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.summary(), "finished myself");
    assert_eq!(llm.requests().len(), 2);

    // In `run_group`: the same agent speaks again (no handoff), then its answer ends the run.
    let stayer =
        ConversableAgent::builder("stayer").llm_config(llm_config(&llm)).tool(keep_going()).build();
    let other = ConversableAgent::builder("other").llm_config(llm_config(&llm)).build();
    let response = run_group(&[stayer, other], "stayer", "go", 5).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.last_speaker, "stayer");
    let speakers: Vec<String> = response.messages.iter().filter_map(|m| m.name.clone()).collect();
    assert_eq!(speakers, ["stayer", "stayer"]);
    assert!(!response.events.iter().any(|e| matches!(e, Event::Handoff { .. })));
}

#[tokio::test]
async fn the_first_call_that_names_a_target_wins() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::ToolCalls(vec![
            ("plain".into(), json!({})),
            ("stay".into(), json!({})),
            ("to_b".into(), json!({})),
            ("to_c".into(), json!({})),
        ]),
    );
    let tools = [
        targeting("plain", "no target", None),
        targeting("stay", "stay names no one", Some(StayTarget.into())),
        targeting("to_b", "go to b", Some(AgentTarget::new("b").into())),
        targeting("to_c", "go to c", Some(AgentTarget::new("c").into())),
    ];
    let response = agent(&llm, "a", "s").run(RunOptions::new("go").tools(tools)).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::HandedOff { to: "b".into() });
    // Every call ran, in order; the handoff names the first target.
    let results: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(results, ["no target", "stay names no one", "go to b", "go to c"]);
    assert!(response.events.contains(&Event::Handoff { from: "a".into(), to: "b".into() }));
}

#[test]
fn transfer_tools_have_one_name() {
    let condition = OnCondition::new(
        AgentTarget::new("research assistant"),
        StringLLMCondition::new("The ids are fetched."),
    );
    assert_eq!(condition.tool_name(), transfer_tool_name("research assistant"));
    assert_eq!(condition.tool_name(), "transfer_to_research_assistant");
    assert_eq!(AgentTarget::new("x".repeat(80)).transfer_tool_name().len(), 64);
    assert!(agent_core::is_transfer_tool_name(&condition.tool_name()));
}
