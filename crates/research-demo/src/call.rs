//! `research-demo call SERVER TOOL [JSON_OBJECT] [--arg KEY=VALUE]… [--json] [server flags]`:
//! one tool call through a session pool (so the server's `tools` filter and the tool's schemas
//! are checked), its result printed for people ([`render`]) or as the server sent it
//! (`--json`).
//!
//! The arguments are JSON_OBJECT and the `--arg` pairs together ([`arguments`]): a key given
//! twice is an error, never a silent choice. Exit 1 when the call fails or its result is an
//! error (`isError`); 2 for arguments that are not a JSON object or do not match the tool's
//! input schema, an unknown server or tool, or a tool the `tools` filter leaves out.

use mcp_session::SessionPool;
use mcp_session::rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Map, Value};

use crate::cli::CallArgs;
use crate::error::Error;
use crate::output::Output;
use crate::signal::Signals;

/// How many characters of an error result's text the error line on stderr shows.
const ERROR_CHARS: usize = 200;

/// Calls the tool and prints its result; the arguments are checked before any server starts.
pub(crate) async fn call(args: CallArgs, output: &Output, signals: Signals) -> Result<(), Error> {
    let arguments = arguments(args.arguments.clone(), &args.args)?;
    let servers = crate::sources::resolve(&args.servers).await?;
    let pool =
        SessionPool::builder(servers.config.clone()).manager(crate::login::manager()).build();
    let what = format!("{} of {}", args.tool, args.server);
    let outcome = tokio::select! {
        outcome = output.waiting(&what, call_once(&pool, &args, arguments, output)) => outcome,
        signal = signals.first() => Err(Error::Interrupted { signal }),
    };
    pool.close_all().await;
    servers.stop().await;
    outcome
}

async fn call_once(
    pool: &SessionPool,
    args: &CallArgs,
    arguments: Map<String, Value>,
    output: &Output,
) -> Result<(), Error> {
    let (server, tool) = (args.server.as_str(), args.tool.as_str());
    let config = pool.config().get(server).map_err(Error::UnknownServer)?;
    // A tool the filter leaves out is the pool's own error, before anything starts.
    if config.tools().allows(tool) {
        let tools = pool.list_tools(server).await.map_err(Error::Call)?;
        if !tools.iter().any(|known| known.name == tool) {
            let known: Vec<String> = tools.iter().map(|known| known.name.to_string()).collect();
            let suggestion = closest(tool, &known);
            return Err(Error::UnknownTool {
                server: server.to_owned(),
                tool: tool.to_owned(),
                known,
                suggestion,
            });
        }
    }
    let result =
        pool.call_tool(server, tool, Value::Object(arguments)).await.map_err(Error::Call)?;
    if args.json {
        output.line(&serde_json::to_string(&result).unwrap_or_else(|err| {
            serde_json::json!({"error": format!("the result cannot be written as JSON: {err}")})
                .to_string()
        }));
    } else {
        for line in render(&result) {
            output.line(&line);
        }
    }
    if result.is_error == Some(true) {
        let text = render(&result).join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
        return Err(Error::ToolFailed {
            server: server.to_owned(),
            tool: tool.to_owned(),
            text: cut(&text, ERROR_CHARS),
        });
    }
    Ok(())
}

/// The name of `known` closest to `name`, when it is a few edits away (a third of its
/// length, at least one).
fn closest(name: &str, known: &[String]) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|candidate| {
            let distance =
                crate::cli::edit_distance(&name.to_lowercase(), &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate.clone())
}

/// The call's arguments: `object` (none: `{}`) with each `--arg` pair added.
///
/// # Errors
/// [`Error::DuplicateArgument`] when a key is given twice, in `object` and a pair or in two
/// pairs.
pub(crate) fn arguments(
    object: Option<Map<String, Value>>,
    pairs: &[(String, Value)],
) -> Result<Map<String, Value>, Error> {
    let mut arguments = object.unwrap_or_default();
    for (key, value) in pairs {
        if arguments.insert(key.clone(), value.clone()).is_some() {
            return Err(Error::DuplicateArgument { key: key.clone() });
        }
    }
    Ok(arguments)
}

/// Parses JSON_OBJECT (clap's value parser): a JSON object, nothing else.
pub(crate) fn parse_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "the arguments must be a JSON object, such as '{{\"query\": \"llm\"}}', not {}; \
             or give each one with --arg KEY=VALUE",
            kind(&other)
        )),
        Err(err) => Err(format!(
            "not JSON ({err}); give a JSON object, such as '{{\"query\": \"llm\"}}', in single \
             quotes, or each argument with --arg KEY=VALUE"
        )),
    }
}

/// Parses `--arg KEY=VALUE` (clap's value parser): VALUE as JSON when it parses as JSON, else
/// as a string.
pub(crate) fn parse_pair(text: &str) -> Result<(String, Value), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err("expected KEY=VALUE, such as --arg query=llm".to_owned());
    };
    if key.trim().is_empty() {
        return Err("the KEY of KEY=VALUE is empty".to_owned());
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// A JSON value's kind, with its article, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A tool result for people: each text block as it is; images, audio and resources as one
/// line (`[image: image/png, 1.2 KiB]`); then `structuredContent` as indented JSON. A text
/// block that only repeats the structured content as JSON (as servers send for older clients)
/// is left out.
pub(crate) fn render(result: &CallToolResult) -> Vec<String> {
    let structured = result.structured_content.as_ref();
    let mut lines = Vec::new();
    for block in &result.content {
        match block {
            ContentBlock::Text(text) => {
                let repeats = structured.is_some_and(|structured| {
                    serde_json::from_str::<Value>(&text.text).is_ok_and(|v| &v == structured)
                });
                if !repeats {
                    lines.push(text.text.clone());
                }
            }
            ContentBlock::Image(image) => {
                lines.push(format!("[image: {}, {}]", image.mime_type, base64_size(&image.data)));
            }
            ContentBlock::Audio(audio) => {
                lines.push(format!("[audio: {}, {}]", audio.mime_type, base64_size(&audio.data)));
            }
            ContentBlock::ResourceLink(link) => {
                let mut parts = vec![link.uri.clone(), link.name.clone()];
                parts.extend(link.mime_type.clone());
                parts.extend(link.size.map(size));
                lines.push(format!("[resource link: {}]", parts.join(", ")));
            }
            ContentBlock::Resource(embedded) => {
                let line = match &embedded.resource {
                    ResourceContents::TextResourceContents { uri, mime_type, text, .. } => {
                        let mime = mime_type.as_deref().unwrap_or("text");
                        format!("[resource: {uri}, {mime}, {} of text]", size(len(text)))
                    }
                    ResourceContents::BlobResourceContents { uri, mime_type, blob, .. } => {
                        let mime = mime_type.as_deref().unwrap_or("binary");
                        format!("[resource: {uri}, {mime}, {}]", base64_size(blob))
                    }
                    _ => "[resource]".to_owned(),
                };
                lines.push(line);
            }
            _ => lines.push("[content of a kind this client does not show]".to_owned()),
        }
    }
    if let Some(structured) = structured {
        lines.push(
            serde_json::to_string_pretty(structured).unwrap_or_else(|_| structured.to_string()),
        );
    }
    lines
}

/// `text.len()` as the `u64` sizes are.
fn len(text: &str) -> u64 {
    u64::try_from(text.len()).unwrap_or(u64::MAX)
}

/// The size of the bytes that base64 `data` holds, for people.
fn base64_size(data: &str) -> String {
    let digits = data.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
    size(u64::try_from(digits).unwrap_or(u64::MAX) / 4 * 3 + [0, 0, 1, 2][digits % 4])
}

/// `512 B`, `1.2 KiB`, `3.4 MiB`.
fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    // Precision does not matter for a size shown to one decimal.
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if value < KIB {
        format!("{bytes} B")
    } else if value < KIB * KIB {
        format!("{:.1} KiB", value / KIB)
    } else {
        format!("{:.1} MiB", value / (KIB * KIB))
    }
}

/// `text` cut after `max` characters, marked ` …`.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{} …", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use mcp_session::rmcp::model::Resource;
    use serde_json::json;

    use super::*;

    #[test]
    fn an_arg_value_is_json_when_it_parses_else_a_string() {
        assert_eq!(parse_pair("n=5"), Ok(("n".to_owned(), json!(5))));
        assert_eq!(parse_pair("q=hello world"), Ok(("q".to_owned(), json!("hello world"))));
        assert_eq!(parse_pair(r#"q="5""#), Ok(("q".to_owned(), json!("5"))));
        assert_eq!(parse_pair("flag=true"), Ok(("flag".to_owned(), json!(true))));
        assert_eq!(parse_pair(r#"tags=["a","b"]"#), Ok(("tags".to_owned(), json!(["a", "b"]))));
        assert_eq!(parse_pair("empty="), Ok(("empty".to_owned(), json!(""))));
        assert_eq!(parse_pair("eq=a=b"), Ok(("eq".to_owned(), json!("a=b"))));
        assert_eq!(parse_pair("{oops"), Err("expected KEY=VALUE, such as --arg query=llm".into()));
        assert!(parse_pair("=5").unwrap_err().contains("KEY"));
    }

    #[test]
    fn the_arguments_are_a_json_object() {
        assert_eq!(parse_object(r#"{"a": 1}"#).unwrap()["a"], 1);
        for (text, says) in [
            ("[1]", "not an array"),
            ("\"x\"", "not a string"),
            ("3", "not a number"),
            ("{", "not JSON"),
        ] {
            let err = parse_object(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn json_object_and_args_merge_and_a_key_given_twice_is_an_error() {
        let object = parse_object(r#"{"a": 1}"#).unwrap();
        let merged = arguments(Some(object.clone()), &[("b".into(), json!("x"))]).unwrap();
        assert_eq!(Value::Object(merged), json!({"a": 1, "b": "x"}));
        assert_eq!(arguments(None, &[]).unwrap(), Map::new());
        let err = arguments(Some(object), &[("a".into(), json!(2))]).unwrap_err();
        assert!(matches!(&err, Error::DuplicateArgument { key } if key == "a"), "{err}");
        assert_eq!(err.exit_code(), 2);
        let pairs = [("k".into(), json!(1)), ("k".into(), json!(2))];
        assert!(matches!(arguments(None, &pairs), Err(Error::DuplicateArgument { .. })));
    }

    #[test]
    fn media_and_resources_are_one_line_each() {
        let mut link = Resource::new("file:///tmp/report.pdf", "report");
        link.mime_type = Some("application/pdf".into());
        link.size = Some(2048);
        let result = CallToolResult::success(vec![
            ContentBlock::text("hello"),
            ContentBlock::image("A".repeat(1648), "image/png"),
            ContentBlock::audio("AAA=", "audio/wav"),
            ContentBlock::resource_link(link),
            ContentBlock::embedded_text("file:///notes.txt", "x".repeat(10)),
        ]);
        assert_eq!(
            render(&result),
            [
                "hello",
                "[image: image/png, 1.2 KiB]",
                "[audio: audio/wav, 2 B]",
                "[resource link: file:///tmp/report.pdf, report, application/pdf, 2.0 KiB]",
                "[resource: file:///notes.txt, text/plain, 10 B of text]",
            ]
        );
    }

    #[test]
    fn structured_content_is_pretty_json_and_its_text_copy_is_left_out() {
        let result = CallToolResult::structured(json!({"n": 3}));
        assert_eq!(render(&result), ["{\n  \"n\": 3\n}"]);
        let mut other = CallToolResult::success(vec![ContentBlock::text("three")]);
        other.structured_content = Some(json!({"n": 3}));
        assert_eq!(render(&other), ["three", "{\n  \"n\": 3\n}"]);
    }

    #[test]
    fn a_mistyped_tool_gets_a_suggestion() {
        let known = ["search_papers".to_owned(), "get_abstract".to_owned()];
        assert_eq!(closest("search_paper", &known).as_deref(), Some("search_papers"));
        assert_eq!(closest("Search_Papers", &known).as_deref(), Some("search_papers"));
        assert_eq!(closest("download", &known), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1229), "1.2 KiB");
        assert_eq!(size(3 * 1024 * 1024 + 400_000), "3.4 MiB");
        assert_eq!(base64_size("AAAA"), "3 B");
        assert_eq!(base64_size("AAA="), "2 B");
        assert_eq!(base64_size("AA=="), "1 B");
        assert_eq!(cut("abcdef", 3), "abc …");
    }
}
