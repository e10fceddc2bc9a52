//! [`Offline`]: a deterministic, rule-based planner that stands in for an LLM when none is
//! configured. It is not a model and never claims to be one: every answer it writes starts with
//! `[offline planner]`.
//!
//! Each turn it:
//! 1. answers with a summary of the last successful tool result, after first calling a transfer
//!    tool (`transfer_to_…`) if one is offered and not yet called;
//! 2. otherwise picks the tool the [`Router`](crate::Router) ranks first for the request (tools
//!    that already failed are skipped; a close runner-up whose parameters fit the request
//!    strictly better replaces it), and fills its required arguments from the text by their
//!    schema (`fill`): enum values named in the request; numbers (in range, matched to the
//!    parameter whose name or description fits the words around them); quoted text; paths, file
//!    names, IANA time zones, times of day (`HH:MM`), URLs and names (capitalized words, or the
//!    words after "named"/"called") for parameters about them; flags the request names; lists of
//!    strings; then defaults, and for other text either the whole request (when the
//!    parameter's description asks for the user's query) or its topic (the words after "about",
//!    "for", "on" …). Optional counts and flags are filled only when the request gives them.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::client::{LlmClient, LlmReply, LlmRequest, ToolSpec, Usage};
use crate::error::AgentError;
use crate::handoff::is_transfer_tool_name;
use crate::message::{Message, Role, ToolCall};
use crate::router::Router;
use crate::search::{CALL_TOOL, SEARCH_TOOLS};

mod fill;

use self::fill::arguments;

/// The offline planner: a deterministic, rule-based stand-in for an LLM, not a model. Every
/// answer it writes starts with `[offline planner]`.
///
/// Each turn it answers with a summary of the last successful tool result (after first calling
/// an offered `transfer_to_…` tool, once); otherwise it picks the tool the [`Router`] ranks first
/// for the request (skipping tools that failed; a close runner-up whose parameters fit the
/// request strictly better replaces it) and fills the required arguments from the text by their
/// schema: enum values, numbers, quoted text, paths, file names, time zones, times of day, URLs,
/// names, flags and lists found in the request, then defaults, and for other text either the
/// whole request (when the parameter's description mentions the user) or its topic.
///
/// ```
/// use agent_core::{LlmClient, LlmRequest, Message, Offline, ToolSpec};
/// use serde_json::json;
///
/// let mut request = LlmRequest::default();
/// request.messages = vec![Message::user("Search for recent papers about large language models")];
/// request.tools = vec![ToolSpec::new(
///     "search_papers",
///     "Searches arXiv for papers matching a query.",
///     json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
/// )];
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let reply = runtime.block_on(Offline.complete(&request))?;
/// assert_eq!(reply.message.tool_calls[0].name, "search_papers");
/// assert_eq!(reply.message.tool_calls[0].arguments, r#"{"query":"large language models"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Offline;

const PREFIX: &str = "[offline planner]";

impl LlmClient for Offline {
    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmReply, AgentError>> {
        Box::pin(std::future::ready(Ok(LlmReply {
            message: plan(request),
            usage: Usage::default(),
        })))
    }

    fn describe(&self) -> String {
        "offline planner (rule-based, not a model)".to_owned()
    }
}

fn plan(request: &LlmRequest) -> Message {
    let start = request.messages.iter().rposition(|m| m.role == Role::User).unwrap_or(0);
    let task = core_request(request.messages.get(start).map_or("", Message::text));
    let since: &[Message] = request.messages.get(start..).unwrap_or_default();
    let called: Vec<&ToolCall> = since.iter().flat_map(|m| &m.tool_calls).collect();
    let result_of = |call: &ToolCall| {
        since
            .iter()
            .find(|m| m.role == Role::Tool && m.tool_call_id.as_deref() == Some(&call.id))
            .map(Message::text)
    };
    if let Some(step) = lazy_step(request, task, since, &called) {
        return step;
    }
    let succeeded = called
        .iter()
        .rev()
        .filter(|call| !is_transfer_tool_name(&call.name))
        .filter_map(|call| Some((call.name.as_str(), result_of(call)?)))
        .find(|(_, text)| !text.starts_with("Error:"));
    if let Some((tool, output)) = succeeded {
        let transfer = request
            .tools
            .iter()
            .find(|t| is_transfer_tool_name(&t.name) && !called.iter().any(|c| c.name == t.name));
        if let Some(transfer) = transfer {
            return call(&transfer.name, Value::Object(Map::new()));
        }
        return Message::assistant(format!(
            "{PREFIX} {tool} returned:\n{}",
            excerpt(&readable(output), 1500)
        ));
    }
    let failed: Vec<&str> = called.iter().map(|c| c.name.as_str()).collect();
    let candidates: Vec<&ToolSpec> = request
        .tools
        .iter()
        .filter(|t| !is_transfer_tool_name(&t.name) && !failed.contains(&t.name.as_str()))
        .collect();
    let best = best_tool(&candidates, task);
    match best {
        Some(tool) => call(&tool.name, arguments(tool, task)),
        None if !failed.is_empty() => {
            let last_error =
                since.iter().rev().find(|m| m.role == Role::Tool).map_or("", Message::text);
            Message::assistant(format!(
                "{PREFIX} could not complete the request: {}",
                excerpt(last_error, 500)
            ))
        }
        None => Message::assistant(format!(
            "{PREFIX} no tool matches this request, and I am not a model that could answer it myself."
        )),
    }
}

/// With the meta-tools of a lazy toolkit ([`SEARCH_TOOLS`], [`CALL_TOOL`]): search for the
/// request first, then call the best tool found (the next one after a call that failed) with
/// arguments filled from its parameters. `None` once a call succeeded (the usual answer
/// follows), or when the meta-tools are not offered.
fn lazy_step(
    request: &LlmRequest,
    task: &str,
    since: &[Message],
    called: &[&ToolCall],
) -> Option<Message> {
    let offered = |name: &str| request.tools.iter().any(|tool| tool.name == name);
    if !offered(SEARCH_TOOLS) || !offered(CALL_TOOL) {
        return None;
    }
    let result_of = |call: &ToolCall| {
        since
            .iter()
            .find(|m| m.role == Role::Tool && m.tool_call_id.as_deref() == Some(&call.id))
            .map(Message::text)
    };
    let ok = |text: &str| !text.starts_with("Error:");
    let Some(search) = called.iter().rposition(|c| c.name == SEARCH_TOOLS) else {
        return Some(call(SEARCH_TOOLS, json!({"query": task})));
    };
    let tried: Vec<String> = called[search..]
        .iter()
        .filter(|c| c.name == CALL_TOOL)
        .map(|c| {
            if result_of(c).is_some_and(ok) {
                return None;
            }
            let arguments: Value = serde_json::from_str(&c.arguments).unwrap_or_default();
            Some(arguments["name"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Option<_>>()?;
    let found: Value =
        result_of(called[search]).and_then(|text| serde_json::from_str(text).ok())?;
    let next = found["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|hit| hit["name"].as_str().is_some_and(|name| !tried.iter().any(|t| t == name)));
    let Some(hit) = next else {
        return Some(Message::assistant(format!(
            "{PREFIX} could not complete the request: no tool found for it did the job"
        )));
    };
    let spec = ToolSpec::new(
        hit["name"].as_str().unwrap_or_default(),
        hit["description"].as_str().unwrap_or_default(),
        hit["parameters"].clone(),
    );
    Some(call(CALL_TOOL, json!({"name": spec.name, "arguments": arguments(&spec, task)})))
}

/// The candidate the [`Router`] ranks first for `task` (ties go to the one offered first), unless
/// its parameters do not fit the request (a required one finds nothing of its kind, or something
/// the request names is left over): then the best fitting of those ranked close to it.
fn best_tool<'a>(candidates: &[&'a ToolSpec], task: &str) -> Option<&'a ToolSpec> {
    let mut router = Router::new();
    for tool in candidates {
        router.add_tool("", &tool.name, &tool.description, &tool.parameters);
    }
    let hits = router.rank(task, candidates.len());
    let top = hits.first()?.score;
    let tied = |name: &str| hits.iter().any(|hit| hit.tool == name && hit.score >= top);
    let first = candidates.iter().copied().find(|tool| tied(&tool.name))?;
    let first_fit = fill::fit(first, task);
    let unfit = |fit: fill::Fit| (fit.missing > 0, fit.unused);
    if unfit(first_fit) == (false, 0) {
        return Some(first);
    }
    let close = hits.iter().filter(|hit| hit.score >= top * CLOSE).filter_map(|hit| {
        let tool = candidates.iter().copied().find(|tool| tool.name == hit.tool)?;
        Some((tool, fill::fit(tool, task)))
    });
    let key = |fit: fill::Fit| (unfit(fit), std::cmp::Reverse(fit.found));
    let best = close.fold(None, |best: Option<(&ToolSpec, fill::Fit)>, (tool, fit)| match best {
        Some((_, kept)) if key(kept) <= key(fit) => best,
        _ => Some((tool, fit)),
    });
    match best {
        // Only a tool that fits strictly better replaces the router's choice.
        Some((tool, fit)) if unfit(fit) < unfit(first_fit) => Some(tool),
        _ => Some(first),
    }
}

/// How close to the top score a tool must rank to be chosen for fitting the request better.
const CLOSE: f64 = 0.4;

fn call(name: &str, arguments: Value) -> Message {
    let id = format!("offline_{name}");
    Message::assistant_calls(
        None,
        vec![ToolCall { id, name: name.to_owned(), arguments: arguments.to_string() }],
    )
}

/// A tool's output for people: JSON becomes an outline (records with a `title` or `name` as one
/// line each, with their id, date and authors); any other text is kept as it is.
fn readable(output: &str) -> String {
    match serde_json::from_str::<Value>(output.trim()) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => {
            let mut text = String::new();
            outline(&value, &mut text);
            if text.is_empty() { output.to_owned() } else { text.trim_end().to_owned() }
        }
        _ => output.to_owned(),
    }
}

fn outline(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| outline(item, out)),
        Value::Object(fields) => {
            let label = ["title", "name"].iter().find_map(|key| fields.get(*key)?.as_str());
            if let Some(label) = label {
                out.push_str(&format!("- {label}"));
                if let Some(id) = fields.get("id").and_then(Value::as_str) {
                    out.push_str(&format!(" [{id}]"));
                }
                let names: Vec<&str> = match fields.get("authors") {
                    Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if !names.is_empty() {
                    out.push_str(&format!(", {}", names.join(", ")));
                }
                let date = ["published", "date"].iter().find_map(|key| fields.get(*key)?.as_str());
                if let Some(date) = date {
                    out.push_str(&format!(" ({})", date.get(..10).unwrap_or(date)));
                }
                if let Some(description) = fields.get("description").and_then(Value::as_str) {
                    out.push_str(&format!(": {description}"));
                }
                out.push('\n');
                return;
            }
            for (key, field) in fields {
                match field {
                    Value::Array(items) if items.iter().all(Value::is_string) => {
                        if !items.is_empty() {
                            out.push_str(&format!("{key}:\n"));
                        }
                        for item in items.iter().filter_map(Value::as_str) {
                            out.push_str(&format!("- {item}\n"));
                        }
                    }
                    Value::Array(_) | Value::Object(_) => outline(field, out),
                    Value::String(text) => out.push_str(&format!("{key}: {text}\n")),
                    Value::Null => {}
                    other => out.push_str(&format!("{key}: {other}\n")),
                }
            }
        }
        _ => {}
    }
}

fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The request itself: its first line, without an appended instruction such as the seed's
/// "Use the following tools to answer the question: …".
fn core_request(text: &str) -> &str {
    let first_line = text.lines().next().unwrap_or("");
    let cut =
        first_line.to_lowercase().find(" use the following tools").unwrap_or(first_line.len());
    first_line[..cut].trim()
}

/// The request without its phrasing: the words after "about", "for", "on"…, up to a trailing
/// "on/using/from <Name>".
fn topic(task: &str) -> String {
    let lower = task.to_lowercase();
    let mut start = 0;
    for marker in [" about ", " regarding ", " on ", " for "] {
        if let Some(at) = lower.find(marker) {
            start = at + marker.len();
            break;
        }
    }
    let mut topic = task[start..].trim();
    for marker in [" on ", " using ", " from ", " in ", " via "] {
        if let Some(at) = topic.to_lowercase().rfind(marker) {
            let tail = &topic[at + marker.len()..];
            if tail.split_whitespace().count() <= 2
                && tail.chars().next().is_some_and(char::is_uppercase)
            {
                topic = &topic[..at];
            }
        }
    }
    let topic = topic.trim().trim_end_matches(['.', '?', '!']);
    if topic.is_empty() { task.trim().to_owned() } else { topic.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_results_read_as_outlines() {
        let papers = r#"{"papers": [
            {"id": "2611.01234v1", "title": "Scaling Laws", "authors": ["Ada Lovelace", "Alan Turing"], "published": "2026-11-20T18:02:11Z", "abstract": "long"},
            {"id": "2611.00987v2", "title": "A Survey", "authors": ["Grace Hopper"]}
        ], "total_results": 2}"#;
        assert_eq!(
            readable(papers),
            "- Scaling Laws [2611.01234v1], Ada Lovelace, Alan Turing (2026-11-20)\n\
             - A Survey [2611.00987v2], Grace Hopper\n\
             total_results: 2"
        );
        assert_eq!(readable("plain text {"), "plain text {");
        assert_eq!(readable("42"), "42");
        assert_eq!(readable("{}"), "{}");
    }

    #[test]
    fn appended_instructions_are_not_the_request() {
        assert_eq!(
            core_request(
                "Find papers on ArxivServer Use the following tools to answer the question: [..]"
            ),
            "Find papers on ArxivServer"
        );
        assert_eq!(core_request("first line\nsecond"), "first line");
    }

    #[test]
    fn topics_drop_the_phrasing() {
        assert_eq!(
            topic("Search for recent papers about large language models on ArxivServer"),
            "large language models"
        );
        assert_eq!(
            topic("Get me the latest news from Wikipedia using WikipediaServer"),
            "Get me the latest news"
        );
        assert_eq!(topic("quantum computing"), "quantum computing");
    }
}
