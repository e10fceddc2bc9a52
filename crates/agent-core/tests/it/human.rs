//! Human input: `HumanInputMode::Always` and `Terminate` with a `ChannelHumanInput`, against the
//! scripted LLM over HTTP. The human's replies are a script sent before the run; the prompts are
//! read after it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_core::{
    AgentError, AgentTarget, ChannelHumanInput, ConversableAgent, Event, HumanChannel,
    HumanInputMode, HumanMoment, HumanPrompt, HumanReply, OnCondition, Role, RunOptions,
    StopReason, StringLLMCondition, run_group,
};
use serde_json::json;
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::{llm_config, search_tool};

/// An agent in `mode` whose human answers `replies`, in order; and the human's end, to read the
/// prompts from.
fn attended(
    llm: &ScriptedLlm,
    mode: HumanInputMode,
    replies: impl IntoIterator<Item = HumanReply>,
) -> (ConversableAgent, HumanChannel) {
    let (human, person) = ChannelHumanInput::new();
    for reply in replies {
        person.reply(reply);
    }
    let agent = ConversableAgent::builder("assistant")
        .system_message("You are a research assistant.")
        .llm_config(llm_config(llm))
        .human_input_mode(mode)
        .human_input(Arc::new(human))
        .build();
    (agent, person)
}

/// The moments of every prompt the human received.
fn moments(person: &mut HumanChannel) -> Vec<HumanMoment> {
    let mut moments = Vec::new();
    while let Ok(prompt) = person.prompts.try_recv() {
        assert_eq!(prompt.agent, "assistant");
        moments.push(prompt.moment);
    }
    moments
}

fn before_end(reason: StopReason) -> HumanMoment {
    HumanMoment::BeforeEnd { reason }
}

#[tokio::test]
async fn always_asks_before_every_turn_and_at_the_end() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user").last_message("find papers"),
        Reply::tool_call("search_papers", json!({"query": "LLMs"})),
    );
    llm.when(Match::any().last_role("tool"), Reply::text("Two papers."));
    llm.when(Match::any().last_message("only from 2024"), Reply::text("One paper from 2024."));
    let (assistant, mut person) = attended(
        &llm,
        HumanInputMode::Always,
        [
            // Before turn 1: say something first.
            HumanReply::Text("find papers about LLMs".into()),
            // Before turn 2: let it reply (it answers).
            HumanReply::Continue,
            // It would end: go on.
            HumanReply::Text("only from 2024".into()),
            // It would end again: leave.
            HumanReply::Exit,
        ],
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let response =
        assistant.run(RunOptions::new("hello").tools([search_tool(calls.clone())])).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::HumanExit);
    assert_eq!(response.summary(), "One paper from 2024.");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        moments(&mut person),
        [
            HumanMoment::BeforeReply,
            HumanMoment::BeforeReply,
            before_end(StopReason::Answered),
            // After the human spoke at the end, the agent replied without being asked first.
            before_end(StopReason::Answered),
        ]
    );
    let said: Vec<(Role, &str)> = response.messages.iter().map(|m| (m.role, m.text())).collect();
    assert_eq!(
        said,
        [
            (Role::System, "You are a research assistant."),
            (Role::User, "hello"),
            (Role::User, "find papers about LLMs"),
            (Role::Assistant, ""),
            (Role::Tool, "found 2 papers about LLMs"),
            (Role::Assistant, "Two papers."),
            (Role::User, "only from 2024"),
            (Role::Assistant, "One paper from 2024."),
        ]
    );
    assert_eq!(llm.requests().len(), 3);
    // The human's prompts and replies are events, in order, with the rest.
    let human: Vec<String> = response
        .events
        .iter()
        .filter(|e| matches!(e, Event::HumanPrompt { .. } | Event::HumanReply { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(human.len(), 8);
    assert_eq!(human[1], "human: find papers about LLMs");
    assert_eq!(human[3], "human: (continue)");
    assert_eq!(human[7], "human: exit");
    assert_eq!(response.events.last(), Some(&Event::Termination { reason: StopReason::HumanExit }));
}

#[tokio::test]
async fn always_with_exit_before_the_first_turn_asks_no_llm() {
    let llm = ScriptedLlm::start().await;
    let (assistant, mut person) = attended(&llm, HumanInputMode::Always, [HumanReply::Exit]);
    let response = assistant.run(RunOptions::new("hello")).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::HumanExit);
    assert_eq!(moments(&mut person), [HumanMoment::BeforeReply]);
    assert!(llm.requests().is_empty());
}

#[tokio::test]
async fn always_with_continue_at_the_end_ends_as_it_would_have() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text("Hello."));
    // A blank text counts as Continue.
    let (assistant, mut person) = attended(
        &llm,
        HumanInputMode::Always,
        [HumanReply::Continue, HumanReply::Text("  ".into())],
    );
    let response = assistant.run(RunOptions::new("hello")).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(moments(&mut person), [HumanMoment::BeforeReply, before_end(StopReason::Answered)]);
    assert!(
        response.events.contains(&Event::HumanReply {
            agent: "assistant".into(),
            reply: HumanReply::Continue
        })
    );
}

#[tokio::test]
async fn terminate_asks_only_at_the_end_and_goes_on_with_text() {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user").last_message("papers"),
        Reply::tool_call("search_papers", json!({"query": "LLMs"})),
    );
    llm.when(Match::any().last_role("tool"), Reply::text("Two papers."));
    llm.when(Match::any().last_message("summarize"), Reply::text("Both scale LLMs."));
    let (assistant, mut person) = attended(
        &llm,
        HumanInputMode::Terminate,
        [HumanReply::Text("summarize them".into()), HumanReply::Exit],
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let response = assistant
        .run(RunOptions::new("find papers about LLMs").tools([search_tool(calls.clone())]))
        .await
        .unwrap();
    assert_eq!(response.stop_reason, StopReason::HumanExit);
    assert_eq!(response.summary(), "Both scale LLMs.");
    // Not asked before the tool turn nor before the answers: only when it would end.
    assert_eq!(
        moments(&mut person),
        [before_end(StopReason::Answered), before_end(StopReason::Answered)]
    );
    assert_eq!(llm.requests().len(), 3);
    let last_request = &llm.requests()[2];
    let messages = last_request["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap()["role"], "user");
    assert_eq!(messages.last().unwrap()["content"], "summarize them");
}

#[tokio::test]
async fn terminate_asks_at_max_turns_and_text_gives_more_turns() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any().last_message("stop searching"), Reply::text("Here is what I found."));
    llm.when(Match::any(), Reply::tool_call("search_papers", json!({"query": "again"})));
    let (assistant, mut person) = attended(
        &llm,
        HumanInputMode::Terminate,
        [HumanReply::Text("stop searching and answer".into()), HumanReply::Continue],
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let response = assistant
        .run(RunOptions::new("search").tools([search_tool(calls.clone())]).max_turns(2))
        .await
        .unwrap();
    assert_eq!(
        moments(&mut person),
        [before_end(StopReason::MaxTurns), before_end(StopReason::Answered)]
    );
    // Continue at the end: it ends as it would have.
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert_eq!(response.summary(), "Here is what I found.");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(llm.requests().len(), 3, "two turns, then one more after the human's text");
}

#[tokio::test]
async fn a_handoff_out_of_the_run_does_not_ask() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::tool_call("transfer_to_research_assistant", json!({})));
    let (mut assistant, mut person) = attended(&llm, HumanInputMode::Terminate, []);
    assistant.handoffs().add_llm_conditions([OnCondition::new(
        AgentTarget::new("research_assistant"),
        StringLLMCondition::new("The ids are fetched."),
    )]);
    let response = assistant.run(RunOptions::new("find ids")).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::HandedOff { to: "research_assistant".into() });
    assert!(moments(&mut person).is_empty());
}

#[tokio::test]
async fn the_runs_human_input_wins_over_the_agents() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text("Hello."));
    // The agent's own human would leave at once.
    let (assistant, mut own) = attended(&llm, HumanInputMode::Terminate, [HumanReply::Exit]);
    let (run_human, run_person) = ChannelHumanInput::new();
    run_person.reply(HumanReply::Continue);
    let response =
        assistant.run(RunOptions::new("hi").human_input(Arc::new(run_human))).await.unwrap();
    assert_eq!(response.stop_reason, StopReason::Answered);
    assert!(moments(&mut own).is_empty());
}

#[tokio::test]
async fn a_missing_human_input_is_a_typed_error_before_the_run() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text("Hello."));
    for mode in [HumanInputMode::Always, HumanInputMode::Terminate] {
        let lonely = ConversableAgent::builder("assistant")
            .llm_config(llm_config(&llm))
            .human_input_mode(mode)
            .build();
        assert_eq!(lonely.human_input_mode(), mode);
        let err = lonely.run(RunOptions::new("hi")).await.unwrap_err();
        assert!(
            matches!(&err, AgentError::NoHumanInput { agent, mode: m } if agent == "assistant" && *m == mode),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "agent \"assistant\" has human_input_mode {mode:?} but no human input to ask; give one with AgentBuilder::human_input or RunOptions::human_input, or use HumanInputMode::Never"
            )
        );
    }
    // In a group too, for any agent of it.
    let quiet = ConversableAgent::builder("quiet").llm_config(llm_config(&llm)).build();
    let asking = ConversableAgent::builder("asking")
        .llm_config(llm_config(&llm))
        .human_input_mode(HumanInputMode::Terminate)
        .build();
    let err = run_group(&[quiet, asking], "quiet", "hi", 3).await.unwrap_err();
    assert!(matches!(&err, AgentError::NoHumanInput { agent, .. } if agent == "asking"), "{err:?}");
    assert!(llm.requests().is_empty(), "checked before any LLM request");
}

#[tokio::test]
async fn a_closed_human_input_is_a_typed_error() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::text("Hello."));
    let (assistant, person) = attended(&llm, HumanInputMode::Terminate, []);
    drop(person);
    let err = assistant.run(RunOptions::new("hi")).await.unwrap_err();
    assert!(matches!(&err, AgentError::HumanInput { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "cannot ask the human: the channel of human replies closed with no reply left"
    );
}

#[test]
fn prompts_say_what_the_human_can_do() {
    let prompt = HumanPrompt::new("assistant", before_end(StopReason::MaxTurns));
    assert_eq!(
        prompt.message,
        "The conversation with assistant would end (the turn limit was reached). Press enter or type 'exit' to end it, or type a message to go on: "
    );
    assert_eq!(HumanReply::from_line("EXIT"), HumanReply::Exit);
    assert_eq!(HumanReply::from_line(" more "), HumanReply::Text("more".into()));
}
