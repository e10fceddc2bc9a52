//! The JSON of every `Event` and `StopReason`: research-demo's `--json` prints these lines.

use agent_core::{Event, StopReason};
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
