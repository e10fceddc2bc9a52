//! The JSON of every `Event` and `StopReason`: research-demo's `--json` prints these lines.

use agent_core::{Event, HumanMoment, HumanPrompt, HumanReply, StopReason};
use serde_json::json;

fn line(event: Event) -> String {
    serde_json::to_string(&event).unwrap()
}

#[test]
fn every_event_has_its_wire_format() {
    assert_eq!(
        line(Event::TextMessage { agent: "assistant".into(), content: "Two papers.".into() }),
        r#"{"type":"text","agent":"assistant","content":"Two papers."}"#
    );
    assert_eq!(
        line(Event::ToolCall {
            agent: "assistant".into(),
            id: "call_1".into(),
            name: "search_papers".into(),
            arguments: r#"{"query":"LLMs"}"#.into(),
        }),
        r#"{"type":"tool_call","agent":"assistant","id":"call_1","name":"search_papers","arguments":"{\"query\":\"LLMs\"}"}"#
    );
    assert_eq!(
        line(Event::ToolResponse {
            id: "call_1".into(),
            name: "search_papers".into(),
            content: "found 2 papers".into(),
        }),
        r#"{"type":"tool_response","id":"call_1","name":"search_papers","content":"found 2 papers"}"#
    );
    assert_eq!(
        line(Event::Handoff { from: "mcp_agent".into(), to: "research_assistant".into() }),
        r#"{"type":"handoff","from":"mcp_agent","to":"research_assistant"}"#
    );
    assert_eq!(
        line(Event::TextDelta { agent: "assistant".into(), delta: "Two ".into() }),
        r#"{"type":"text_delta","agent":"assistant","delta":"Two "}"#
    );
}

#[test]
fn human_events_have_their_wire_format() {
    let prompt = HumanPrompt::new("assistant", HumanMoment::BeforeReply);
    let message = prompt.message.clone();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&line(Event::HumanPrompt { prompt })).unwrap(),
        json!({
            "type": "human_prompt",
            "agent": "assistant",
            "moment": {"kind": "before_reply"},
            "message": message,
        })
    );
    let prompt =
        HumanPrompt::new("assistant", HumanMoment::BeforeEnd { reason: StopReason::MaxTurns });
    assert!(
        line(Event::HumanPrompt { prompt }).starts_with(
            r#"{"type":"human_prompt","agent":"assistant","moment":{"kind":"before_end","reason":{"kind":"max_turns"}},"message":"#
        )
    );
    let reply = |reply| line(Event::HumanReply { agent: "assistant".into(), reply });
    assert_eq!(
        reply(HumanReply::Text("only 2024".into())),
        r#"{"type":"human_reply","agent":"assistant","reply":{"kind":"text","text":"only 2024"}}"#
    );
    assert_eq!(
        reply(HumanReply::Continue),
        r#"{"type":"human_reply","agent":"assistant","reply":{"kind":"continue"}}"#
    );
    assert_eq!(
        reply(HumanReply::Exit),
        r#"{"type":"human_reply","agent":"assistant","reply":{"kind":"exit"}}"#
    );
}

#[test]
fn every_stop_reason_has_its_wire_format() {
    let cases = [
        (StopReason::Answered, json!({"kind": "answered"})),
        (StopReason::MaxTurns, json!({"kind": "max_turns"})),
        (
            StopReason::HandedOff { to: "research_assistant".into() },
            json!({"kind": "handed_off", "to": "research_assistant"}),
        ),
        (StopReason::Terminated, json!({"kind": "terminated"})),
        (StopReason::RevertedToUser, json!({"kind": "reverted_to_user"})),
        (StopReason::NoReply, json!({"kind": "no_reply"})),
        (StopReason::HumanExit, json!({"kind": "human_exit"})),
    ];
    for (reason, expected) in cases {
        let text = line(Event::Termination { reason: reason.clone() });
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, json!({"type": "termination", "reason": expected}), "{reason:?}");
        assert!(text.starts_with(r#"{"type":"termination","reason":{"kind":"#), "{text}");
    }
    assert_eq!(
        line(Event::Termination { reason: StopReason::HandedOff { to: "writer".into() } }),
        r#"{"type":"termination","reason":{"kind":"handed_off","to":"writer"}}"#
    );
}
