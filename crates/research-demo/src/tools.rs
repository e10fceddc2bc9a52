//! `research-demo tools [SERVER…] [--json] [server flags]`: the servers' tools, listed at once
//! through a session pool (so each server's `tools` filter applies), grouped by server with a
//! one-line description each, or one JSON object per tool with its whole schemas. A server that
//! cannot be listed fails the command (exit 1) once the others are printed.

use std::collections::HashSet;

use mcp_session::SessionPool;
use mcp_session::rmcp::model::{JsonObject, Tool};
use serde::Serialize;

use crate::cli::ToolsArgs;
use crate::error::Error;
use crate::output::Output;
use crate::signal::Signals;

/// The most characters of a description a person is shown on a tool's line.
const DESCRIPTION_CHARS: usize = 80;

/// Lists the tools of the servers asked for (every chosen server when none is named) and
/// prints them.
pub(crate) async fn tools(args: ToolsArgs, output: &Output, signals: Signals) -> Result<(), Error> {
    let servers = crate::sources::resolve(&args.servers).await?;
    let pool =
        SessionPool::builder(servers.config.clone()).manager(crate::login::manager()).build();
    let listing = list(&pool, &args.names, args.json, None, output);
    let outcome = tokio::select! {
        outcome = output.waiting("the servers' tools", listing) => outcome,
        signal = signals.first() => Err(Error::Interrupted { signal }),
    };
    pool.close_all().await;
    servers.stop().await;
    outcome
}

/// Lists the tools of the servers named in `only` (every server when it is empty) and prints
/// them: grouped by server, or with `json` a JSON object each (whose `type` is `tag`, if given:
/// `chat --json`'s `/tools`).
pub(crate) async fn list(
    pool: &SessionPool,
    only: &[String],
    json: bool,
    tag: Option<&'static str>,
    output: &Output,
) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let only: Vec<&str> =
        only.iter().map(String::as_str).filter(|name| seen.insert(*name)).collect();
    for name in &only {
        pool.config().get(name).map_err(Error::UnknownServer)?;
    }
    let found = pool.list_tools_of_all((!only.is_empty()).then_some(&only[..])).await;
    for (index, (server, tools)) in found.listed.iter().enumerate() {
        if output.is_closed() {
            return Ok(());
        }
        if json {
            for tool in tools.iter() {
                output.line(&json_line(server, tool, tag));
            }
        } else {
            if index > 0 {
                output.line("");
            }
            for line in group(server, tools) {
                output.line(&line);
            }
        }
    }
    if found.failed.is_empty() { Ok(()) } else { Err(Error::Unlisted { failures: found.failed }) }
}

/// One tool of `--json`, its fields in this order.
#[derive(Debug, Serialize)]
struct JsonTool<'a> {
    /// In `chat --json` only, where every line has a `type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    tag: Option<&'static str>,
    server: &'a str,
    name: &'a str,
    /// `null` when the tool has none.
    description: Option<&'a str>,
    #[serde(rename = "inputSchema")]
    input_schema: &'a JsonObject,
    /// Left out when the tool has none.
    #[serde(rename = "outputSchema", skip_serializing_if = "Option::is_none")]
    output_schema: Option<&'a JsonObject>,
}

/// One tool as a JSON line: `server`, `name`, `description`, `inputSchema`, and
/// `outputSchema` when it has one.
fn json_line(server: &str, tool: &Tool, tag: Option<&'static str>) -> String {
    let line = JsonTool {
        tag,
        server,
        name: &tool.name,
        description: tool.description.as_deref(),
        input_schema: &tool.input_schema,
        output_schema: tool.output_schema.as_deref(),
    };
    serde_json::to_string(&line).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
}

/// `SERVER: N tools`, then one indented line per tool: its name, padded, and its description's
/// [first sentence](one_line).
fn group(server: &str, tools: &[Tool]) -> Vec<String> {
    let count = match tools.len() {
        0 => "no tools".to_owned(),
        1 => "1 tool".to_owned(),
        n => format!("{n} tools"),
    };
    let width = tools.iter().map(|tool| tool.name.chars().count()).max().unwrap_or(0);
    let mut lines = vec![format!("{server}: {count}")];
    for tool in tools {
        let description = one_line(tool.description.as_deref().unwrap_or_default());
        let line = format!("  {:<width$}  {description}", tool.name);
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// The first sentence of the first line of `description` that is not blank (up to its `. `),
/// cut at a word boundary within [`DESCRIPTION_CHARS`] and marked `…` when longer.
fn one_line(description: &str) -> String {
    let line = description.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
    let sentence = match line.match_indices(". ").next() {
        Some((end, _)) => &line[..=end],
        None => line,
    };
    if sentence.chars().count() <= DESCRIPTION_CHARS {
        return sentence.to_owned();
    }
    let cut =
        sentence.char_indices().nth(DESCRIPTION_CHARS - 1).map_or(sentence.len(), |(at, _)| at);
    let head = &sentence[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space > DESCRIPTION_CHARS / 2 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';'))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;

    fn tool(name: &'static str, description: &'static str) -> Tool {
        let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
        let Value::Object(schema) = schema else { unreachable!() };
        Tool::new(name, description, Arc::new(schema))
    }

    #[test]
    fn a_description_is_cut_to_its_first_sentence_or_line() {
        assert_eq!(one_line("Adds two numbers."), "Adds two numbers.");
        assert_eq!(one_line("Search arXiv. Returns papers."), "Search arXiv.");
        assert_eq!(one_line("\n  First line\nsecond line"), "First line");
        assert_eq!(one_line(""), "");
        let long = "word ".repeat(40);
        let cut = one_line(&long);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= DESCRIPTION_CHARS, "{cut}");
        let unbroken = "é".repeat(200);
        let cut = one_line(&unbroken);
        assert_eq!(cut.chars().count(), DESCRIPTION_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn tools_are_grouped_under_their_server_with_aligned_names() {
        let tools = [tool("add", "Adds two numbers."), tool("echo", "Returns the text. As is.")];
        assert_eq!(
            group("testkit", &tools),
            ["testkit: 2 tools", "  add   Adds two numbers.", "  echo  Returns the text."]
        );
        assert_eq!(group("empty", &[]), ["empty: no tools"]);
    }

    #[test]
    fn a_json_line_has_the_whole_schema() {
        let line =
            json_line("testkit", &tool("echo", "Returns the text it is given.\nMore."), None);
        assert!(line.starts_with(r#"{"server":"testkit","name":"echo","description""#), "{line}");
        let line: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(line["server"], "testkit");
        assert_eq!(line["name"], "echo");
        assert_eq!(line["description"], "Returns the text it is given.\nMore.");
        assert_eq!(line["inputSchema"]["properties"]["q"]["type"], "string");
        assert!(line.get("outputSchema").is_none());
        let tagged = json_line("testkit", &tool("echo", "Echo."), Some("tool"));
        assert!(
            tagged.starts_with(r#"{"type":"tool","server":"testkit","name":"echo""#),
            "{tagged}"
        );
    }
}
