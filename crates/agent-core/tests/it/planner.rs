//! The offline planner on requests that name their server: the tool it picks from the server's
//! real catalog, and the arguments it fills from the request by the tool's schema
//! (`tests/data/planner-requests.json`).

use agent_core::{LlmClient, LlmRequest, Message, Offline, ToolSpec};
use serde_json::Value;

/// What `${DIR}` stands for here: the planner only reads it from the text.
const DIR: &str = "/tmp/planner-dir";

fn data(path: &str) -> Value {
    let path = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn with_dir(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace("${DIR}", DIR)),
        Value::Array(items) => Value::Array(items.iter().map(with_dir).collect()),
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), with_dir(v))).collect())
        }
        other => other.clone(),
    }
}

fn tools_of(server: &str) -> Vec<ToolSpec> {
    let catalog = data(&format!("catalogs/{server}.json"));
    catalog["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| {
            ToolSpec::new(
                tool["name"].as_str().unwrap(),
                tool["description"].as_str().unwrap_or_default(),
                tool["inputSchema"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn arguments_are_filled_from_the_request_by_schema() {
    let requests = data("planner-requests.json");
    let requests = requests.as_array().unwrap();
    let mut passed = 0;
    println!("{:<3} {:<5} {:<24} request / arguments", "id", "ok", "tool");
    for entry in requests {
        let text = entry["request"].as_str().unwrap().replace("${DIR}", DIR);
        let mut request = LlmRequest::default();
        request.messages = vec![Message::user(text.clone())];
        request.tools = tools_of(entry["server"].as_str().unwrap());
        let reply = Offline.complete(&request).await.unwrap();
        let call = reply.message.tool_calls.first();
        let tool = call.map_or("(none)", |c| c.name.as_str());
        let arguments: Value =
            call.and_then(|c| serde_json::from_str(&c.arguments).ok()).unwrap_or_default();
        let expected = with_dir(&entry["arguments"]);
        let ok = tool == entry["tool"] && arguments == expected;
        passed += usize::from(ok);
        println!(
            "{:<3} {:<5} {:<24} {text}\n{:<34} got {arguments}\n{:<34} want {} {expected}",
            entry["id"],
            if ok { "pass" } else { "FAIL" },
            tool,
            "",
            "",
            entry["tool"].as_str().unwrap_or_default(),
        );
    }
    println!("{passed} of {} pass", requests.len());
    assert!(passed >= 9, "{passed} of {} pass", requests.len());
}
