//! [`ToolValidator`]: check a tool's arguments against its `inputSchema`, and its structured
//! result against its `outputSchema`, before and after `tools/call`.
//!
//! A validator is compiled once per tool and shared (it is `Send + Sync`; hold it in an `Arc`).
//! It is lenient with servers: a schema that does not compile (malformed, or with a `$ref` to a
//! remote document: nothing is ever fetched) leaves that side unchecked, and says why, rather
//! than failing calls the server would accept. A failed check is a [`SchemaViolation`], whose
//! text tells a model what to fix.

use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::{Map, Value};

/// How many problems a [`SchemaViolation`] keeps and shows.
const MAX_PROBLEMS: usize = 5;
/// Roughly how many characters of problems a [`SchemaViolation`]'s message shows.
const MAX_PROBLEM_CHARS: usize = 1000;
/// How many characters of an offending value a message quotes.
const MAX_VALUE_CHARS: usize = 80;
/// How many characters one problem's message may take.
const MAX_MESSAGE_CHARS: usize = 300;
/// How many allowed values or property names a message lists.
const MAX_LISTED: usize = 10;

/// A tool's input and output schemas, compiled once, to check calls against.
///
/// Build one with [`ToolValidator::new`] from the [`Tool`] a server listed, keep it (in an
/// `Arc`) as long as the tool list does not change, and call
/// [`check_arguments`](Self::check_arguments) before `tools/call` and
/// [`check_structured_content`](Self::check_structured_content) on its result.
///
/// The dialect is the schema's `$schema` (drafts 4, 6, 7, 2019-09 and 2020-12), and 2020-12,
/// MCP's default, when it has none or names one not known. `format` is not asserted (in
/// 2020-12 it is an annotation). References resolve within the schema only (`#/$defs/...`):
/// nothing is fetched, from the network or from files, and a schema that needs a remote
/// document, or does not compile at all, leaves its side unchecked:
/// [`input_unchecked_reason`](Self::input_unchecked_reason) and
/// [`output_unchecked_reason`](Self::output_unchecked_reason) say why.
///
/// ```
/// use mcp_session::ToolValidator;
/// use mcp_session::rmcp::model::Tool;
/// use serde_json::json;
///
/// let schema = json!({
///     "type": "object",
///     "properties": {"query": {"type": "string"}, "max_results": {"type": "integer"}},
///     "required": ["query"]
/// });
/// let tool = Tool::new("search_papers", "Search arXiv", schema.as_object().unwrap().clone());
/// let validator = ToolValidator::new(&tool);
///
/// assert!(validator.check_arguments(&json!({"query": "llm", "max_results": 10})).is_ok());
/// let err = validator.check_arguments(&json!({"max_results": "ten"})).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"arguments for tool "search_papers" do not match its input schema: missing required property "query"; /max_results: "ten" is not of type "integer". Fix the arguments and call the tool again."#
/// );
/// ```
#[derive(Debug)]
pub struct ToolValidator {
    tool: Arc<str>,
    input: Compiled,
    /// `None` when the tool declares no `outputSchema`.
    output: Option<Compiled>,
}

/// One side's schema: compiled, or left unchecked for a reason.
#[derive(Debug)]
enum Compiled {
    Ready {
        validator: Box<Validator>,
        /// The schema as the server sent it, to name allowed properties in messages.
        schema: Arc<JsonObject>,
    },
    Unchecked(String),
}

impl ToolValidator {
    /// Compiles `tool`'s `inputSchema`, and its `outputSchema` if it has one.
    ///
    /// Never fails: a schema that does not compile is logged at debug level and that side is
    /// left unchecked. Nothing is fetched, so this is safe to call in an async task; it costs
    /// about as much as the schema is big, so compile once per tool list, not per call.
    pub fn new(tool: &Tool) -> Self {
        let name: Arc<str> = Arc::from(tool.name.as_ref());
        let input = Compiled::new(&name, "input", &tool.input_schema);
        let output =
            tool.output_schema.as_ref().map(|schema| Compiled::new(&name, "output", schema));
        Self { tool: name, input, output }
    }

    /// The tool's name.
    pub fn tool_name(&self) -> &str {
        &self.tool
    }

    /// Why arguments go unchecked: the `inputSchema` did not compile. `None` when they are
    /// checked.
    pub fn input_unchecked_reason(&self) -> Option<&str> {
        self.input.unchecked_reason()
    }

    /// Whether the tool declares an `outputSchema` (compiled or not).
    pub fn has_output_schema(&self) -> bool {
        self.output.is_some()
    }

    /// Why structured results go unchecked although the tool declares an `outputSchema`: it
    /// did not compile. `None` when they are checked, or when there is no `outputSchema`.
    pub fn output_unchecked_reason(&self) -> Option<&str> {
        self.output.as_ref().and_then(Compiled::unchecked_reason)
    }

    /// Checks a call's arguments against the tool's `inputSchema`.
    ///
    /// `null` (no arguments) is checked as `{}`, so a tool with required properties rejects
    /// it. Always `Ok` when the input schema did not compile.
    ///
    /// # Errors
    ///
    /// A [`SchemaViolation`] on the [`Arguments`](SchemaSide::Arguments) side, whose message
    /// tells the model what to fix.
    pub fn check_arguments(&self, arguments: &Value) -> Result<(), SchemaViolation> {
        let empty;
        let arguments = if arguments.is_null() {
            empty = Value::Object(Map::new());
            &empty
        } else {
            arguments
        };
        self.input.check(arguments).map_err(|(problems, more)| SchemaViolation {
            tool: self.tool.to_string(),
            side: SchemaSide::Arguments,
            problems,
            more,
        })
    }

    /// Checks a call's result against the tool's `outputSchema`.
    ///
    /// `Ok` when the tool declares no `outputSchema` (or it did not compile), when the result
    /// is an error (`isError: true`), and when it is not a final result (a `resultType` other
    /// than `complete`). Otherwise, as the MCP spec requires, `structuredContent` must be
    /// present and conform to the schema.
    ///
    /// # Errors
    ///
    /// A [`SchemaViolation`] on the [`StructuredContent`](SchemaSide::StructuredContent)
    /// side: the server's fault, not the arguments'.
    pub fn check_structured_content(&self, result: &CallToolResult) -> Result<(), SchemaViolation> {
        let Some(output) = &self.output else { return Ok(()) };
        if result.is_error == Some(true)
            || result.result_type.as_ref().is_some_and(|kind| !kind.is_complete())
            || output.unchecked_reason().is_some()
        {
            return Ok(());
        }
        let violation = |problems, more| SchemaViolation {
            tool: self.tool.to_string(),
            side: SchemaSide::StructuredContent,
            problems,
            more,
        };
        match &result.structured_content {
            None => Err(violation(
                vec![SchemaProblem {
                    instance_path: String::new(),
                    keyword: "structuredContent".into(),
                    message: "structuredContent is missing, but the tool declares an outputSchema"
                        .into(),
                }],
                0,
            )),
            Some(content) => {
                output.check(content).map_err(|(problems, more)| violation(problems, more))
            }
        }
    }
}

impl Compiled {
    fn new(tool: &str, side: &str, schema: &Arc<JsonObject>) -> Self {
        match compile(schema) {
            Ok(validator) => {
                Compiled::Ready { validator: Box::new(validator), schema: Arc::clone(schema) }
            }
            Err(reason) => {
                tracing::debug!(
                    tool,
                    side,
                    %reason,
                    "tool schema does not compile; left unchecked"
                );
                Compiled::Unchecked(reason)
            }
        }
    }

    fn unchecked_reason(&self) -> Option<&str> {
        match self {
            Compiled::Ready { .. } => None,
            Compiled::Unchecked(reason) => Some(reason),
        }
    }

    /// `Err` with the first problems and how many more there are.
    fn check(&self, instance: &Value) -> Result<(), (Vec<SchemaProblem>, usize)> {
        let Compiled::Ready { validator, schema } = self else { return Ok(()) };
        // The fast path allocates nothing; errors are collected only for an invalid instance.
        if validator.is_valid(instance) {
            return Ok(());
        }
        let mut problems = Vec::new();
        let mut more = 0;
        for error in validator.iter_errors(instance) {
            if problems.len() < MAX_PROBLEMS {
                problems.push(SchemaProblem::from_error(&error, schema));
            } else {
                more += 1;
            }
        }
        if problems.is_empty() {
            // `is_valid` and `iter_errors` disagree: should not happen, but never reject
            // without saying why.
            problems.push(SchemaProblem {
                instance_path: String::new(),
                keyword: String::new(),
                message: "the value does not match the schema".into(),
            });
        }
        Err((problems, more))
    }
}

/// Compiles `schema` in its declared dialect (2020-12 by default), fetching nothing.
fn compile(schema: &JsonObject) -> Result<Validator, String> {
    let draft = match schema.get("$schema") {
        Some(Value::String(uri)) => match Draft::from_schema_uri(uri) {
            draft @ (Draft::Draft4
            | Draft::Draft6
            | Draft::Draft7
            | Draft::Draft201909
            | Draft::Draft202012) => draft,
            _ => {
                tracing::debug!(schema = %uri, "unknown $schema; validating as draft 2020-12");
                Draft::Draft202012
            }
        },
        _ => Draft::Draft202012,
    };
    let document = Value::Object(schema.clone());
    let build = || {
        jsonschema::options()
            .with_draft(draft)
            .offline()
            .should_validate_formats(false)
            .build(&document)
            .map_err(|error| {
                // For a schema that breaks the meta-schema, the location is in the schema.
                let mut reason = String::new();
                let at = error.instance_path().as_str();
                if !at.is_empty() {
                    let _ = write!(reason, "{at}: ");
                }
                let _ = write!(reason, "{}", error.masked_with(render(error.instance())));
                truncate(&mut reason, MAX_MESSAGE_CHARS);
                reason
            })
    };
    // A server's schema is untrusted input: a panic in the compiler must not take the client
    // down with it.
    catch_unwind(AssertUnwindSafe(build))
        .unwrap_or_else(|_| Err("the schema validator panicked compiling this schema".into()))
}

/// A tool call that does not match the tool's schema: its arguments, or its structured result.
///
/// The message says which tool, which side, and what is wrong where (at most 5 problems and
/// about 1000 characters, then "and N more"), and for arguments tells the model to fix them
/// and call again; quoted values are cut at 80 characters. For example:
///
/// ```text
/// arguments for tool "search_papers" do not match its input schema: missing required property "query"; /max_results: "ten" is not of type "integer". Fix the arguments and call the tool again.
/// tool "get_weather" returned structured content that does not match its output schema: /temperature: "warm" is not of type "number". This is a fault of the MCP server, not of the arguments.
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct SchemaViolation {
    /// The tool's name.
    pub tool: String,
    /// What did not match: the arguments, or the structured result.
    pub side: SchemaSide,
    /// The first problems found (at most 5, and at least one), in the validator's order (a
    /// keyword's problems with an object, such as `required`, before those in its properties).
    pub problems: Vec<SchemaProblem>,
    /// How many further problems were found and not kept.
    pub more: usize,
}

/// What a [`SchemaViolation`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchemaSide {
    /// The call's arguments, checked against the tool's `inputSchema`: the caller's fault.
    Arguments,
    /// The result's `structuredContent`, checked against the tool's `outputSchema`: the
    /// server's fault.
    StructuredContent,
}

/// One thing wrong in a [`SchemaViolation`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaProblem {
    /// The JSON pointer of the offending value in the arguments or structured content, such as
    /// `/max_results` or `/filters/0/field`; empty for the whole value (for a missing required
    /// property, the object that lacks it).
    pub instance_path: String,
    /// The JSON Schema keyword that failed, such as `type` or `required`
    /// (`structuredContent` when the result has none).
    pub keyword: String,
    /// What is wrong, for a model to read, such as `"ten" is not of type "integer"`.
    pub message: String,
}

impl fmt::Display for SchemaSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchemaSide::Arguments => "arguments",
            SchemaSide::StructuredContent => "structured content",
        })
    }
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.instance_path.is_empty() {
            write!(f, "{}: ", self.instance_path)?;
        }
        f.write_str(&self.message)
    }
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.side {
            SchemaSide::Arguments => {
                write!(f, "arguments for tool \"{}\" do not match its input schema: ", self.tool)?
            }
            SchemaSide::StructuredContent => write!(
                f,
                "tool \"{}\" returned structured content that does not match its output schema: ",
                self.tool
            )?,
        }
        let mut shown = 0;
        let mut chars = 0;
        for problem in &self.problems {
            let text = problem.to_string();
            if shown > 0 {
                if chars + text.len() > MAX_PROBLEM_CHARS {
                    break;
                }
                f.write_str("; ")?;
            }
            f.write_str(&text)?;
            chars += text.len() + 2;
            shown += 1;
        }
        let rest = self.problems.len() - shown + self.more;
        if rest > 0 {
            write!(f, "; and {rest} more problem{}", if rest == 1 { "" } else { "s" })?;
        }
        f.write_str(match self.side {
            SchemaSide::Arguments => ". Fix the arguments and call the tool again.",
            SchemaSide::StructuredContent => {
                ". This is a fault of the MCP server, not of the arguments."
            }
        })
    }
}

impl SchemaProblem {
    fn from_error(error: &ValidationError<'_>, schema: &JsonObject) -> Self {
        let kind = error.kind();
        let value = || render(error.instance());
        let mut message = String::new();
        // Writing to a `String` cannot fail.
        let _ = match kind {
            ValidationErrorKind::Type { kind: TypeKind::Single(expected) } => {
                write!(message, "{} is not of type \"{expected}\"", value())
            }
            ValidationErrorKind::Type { kind: TypeKind::Multiple(expected) } => {
                write!(message, "{} is not of type ", value()).and_then(|()| {
                    // `null` last: `"integer" or "null"` reads as an optional integer.
                    let mut expected: Vec<_> = expected.iter().collect();
                    expected.sort_by_key(|t| *t == JsonType::Null);
                    let expected: Vec<_> = expected.iter().map(|t| format!("\"{t}\"")).collect();
                    write_alternatives(&mut message, &expected, expected.len())
                })
            }
            ValidationErrorKind::Required { property } => {
                write!(message, "missing required property {}", render(property))
            }
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                write_unexpected(&mut message, unexpected).and_then(|()| {
                    let allowed = allowed_properties(schema, error.schema_path().as_str());
                    match allowed {
                        Some(allowed) if !allowed.is_empty() => {
                            let names: Vec<_> =
                                allowed.iter().take(MAX_LISTED).map(|n| render_str(n)).collect();
                            message.push_str(" (allowed: ");
                            write_list(&mut message, &names, allowed.len())?;
                            message.push(')');
                            Ok(())
                        }
                        _ => Ok(()),
                    }
                })
            }
            ValidationErrorKind::Enum { options } => write!(message, "{} is not one of ", value())
                .and_then(|()| {
                    let options = options.as_array().map(Vec::as_slice).unwrap_or_default();
                    let listed: Vec<_> = options.iter().take(MAX_LISTED).map(render).collect();
                    write_alternatives(&mut message, &listed, options.len())
                }),
            ValidationErrorKind::Constant { expected_value } => {
                write!(
                    message,
                    "{} is not {}, the only allowed value",
                    value(),
                    render(expected_value)
                )
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                write!(
                    message,
                    "{} does not match any of the allowed alternatives ({})",
                    value(),
                    kind.keyword()
                )
            }
            ValidationErrorKind::OneOfMultipleValid { .. } => write!(
                message,
                "{} matches more than one of the alternatives (oneOf); it must match exactly one",
                value()
            ),
            ValidationErrorKind::FalseSchema => write!(message, "{} is not allowed here", value()),
            ValidationErrorKind::Not { .. } => {
                write!(message, "{} matches a schema it must not match (not)", value())
            }
            _ => write!(message, "{}", error.masked_with(value())),
        };
        truncate(&mut message, MAX_MESSAGE_CHARS);
        SchemaProblem {
            instance_path: error.instance_path().as_str().to_owned(),
            keyword: kind.keyword().to_owned(),
            message,
        }
    }
}

/// `property "a" is not allowed` or `properties "a", "b" are not allowed`.
fn write_unexpected(message: &mut String, unexpected: &[String]) -> fmt::Result {
    let names: Vec<_> = unexpected.iter().take(MAX_LISTED).map(|n| render_str(n)).collect();
    let (noun, verb) =
        if unexpected.len() == 1 { ("property", "is") } else { ("properties", "are") };
    write!(message, "{noun} ")?;
    write_list(message, &names, unexpected.len())?;
    write!(message, " {verb} not allowed")
}

/// `a, b, c` then `and N more` for the `total - items.len()` not listed.
fn write_list(message: &mut String, items: &[String], total: usize) -> fmt::Result {
    message.push_str(&items.join(", "));
    if total > items.len() {
        write!(message, " and {} more", total - items.len())?;
    }
    Ok(())
}

/// `a`, `a or b`, `a, b or c`, or `a, b, ... (N more)`.
fn write_alternatives(message: &mut String, items: &[String], total: usize) -> fmt::Result {
    match items {
        [] => Ok(()),
        [only] if total == 1 => write!(message, "{only}"),
        [head @ .., last] if total == items.len() => {
            write!(message, "{} or {last}", head.join(", "))
        }
        _ => write!(message, "{} ({} more)", items.join(", "), total - items.len()),
    }
}

/// The property names the object schema holding the keyword at `keyword_path` lists, when
/// that schema can be found in the document (not behind a `$ref`).
fn allowed_properties<'s>(schema: &'s JsonObject, keyword_path: &str) -> Option<Vec<&'s String>> {
    let split = keyword_path.rfind('/')?;
    let (parent, keyword) = (&keyword_path[..split], &keyword_path[split + 1..]);
    let holder = if parent.is_empty() {
        schema
    } else {
        let rest = parent.strip_prefix('/')?;
        let (first, rest) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
        let first = first.replace("~1", "/").replace("~0", "~");
        let node = schema.get(&first)?;
        let node = if rest.is_empty() { node } else { node.pointer(&format!("/{rest}"))? };
        node.as_object()?
    };
    // Make sure this is the schema that failed, not one that merely sits at the same path.
    holder.get(keyword)?;
    Some(holder.get("properties")?.as_object()?.keys().collect())
}

/// A JSON value as compact JSON, cut at [`MAX_VALUE_CHARS`] without serializing the rest.
fn render(value: &Value) -> String {
    let mut out = Bounded { bytes: Vec::new(), limit: MAX_VALUE_CHARS, cut: false };
    // `Bounded` stops the serializer once it is full: the error is expected.
    let _ = serde_json::to_writer(&mut out, value);
    let mut text = match String::from_utf8(out.bytes) {
        Ok(text) => text,
        Err(error) => {
            // Cut inside a multi-byte character: keep the whole characters before it.
            let valid = error.utf8_error().valid_up_to();
            let mut bytes = error.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    };
    if out.cut {
        text.push('…');
    }
    text
}

/// A string as a JSON string, cut like [`render`].
fn render_str(text: &str) -> String {
    if text.len() <= MAX_VALUE_CHARS {
        serde_json::to_string(text).unwrap_or_default()
    } else {
        render(&Value::String(text.to_owned()))
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary, marking the cut.
fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// A writer that keeps the first `limit` bytes and then refuses more.
struct Bounded {
    bytes: Vec<u8>,
    limit: usize,
    cut: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.limit - self.bytes.len();
        if buf.len() > room {
            self.bytes.extend_from_slice(&buf[..room]);
            self.cut = true;
            return Err(std::io::Error::other("value cut"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{ContentBlock as Content, ResultType};
    use serde_json::json;

    fn object(value: Value) -> JsonObject {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn tool(name: &'static str, input: Value) -> Tool {
        Tool::new(name, "test tool", object(input))
    }

    fn tool_with_output(name: &'static str, input: Value, output: Value) -> Tool {
        tool(name, input).with_raw_output_schema(Arc::new(object(output)))
    }

    fn search_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_results": {"type": "integer", "minimum": 1},
                "sort": {"enum": ["relevance", "date"]}
            },
            "required": ["query"]
        })
    }

    fn arguments_error(validator: &ToolValidator, arguments: Value) -> SchemaViolation {
        validator.check_arguments(&arguments).expect_err("arguments should be rejected")
    }

    #[test]
    fn valid_arguments_pass() {
        let v = ToolValidator::new(&tool("search_papers", search_schema()));
        assert_eq!(v.tool_name(), "search_papers");
        assert_eq!(v.input_unchecked_reason(), None);
        assert!(!v.has_output_schema());
        v.check_arguments(&json!({"query": "llm", "max_results": 3, "sort": "date"})).unwrap();
    }

    #[test]
    fn missing_required_and_wrong_type() {
        let v = ToolValidator::new(&tool("search_papers", search_schema()));
        let err = arguments_error(&v, json!({"max_results": "ten"}));
        assert_eq!(err.tool, "search_papers");
        assert_eq!(err.side, SchemaSide::Arguments);
        assert_eq!(err.more, 0);
        assert_eq!(
            err.problems,
            vec![
                SchemaProblem {
                    instance_path: String::new(),
                    keyword: "required".into(),
                    message: r#"missing required property "query""#.into(),
                },
                SchemaProblem {
                    instance_path: "/max_results".into(),
                    keyword: "type".into(),
                    message: r#""ten" is not of type "integer""#.into(),
                },
            ]
        );
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "search_papers" do not match its input schema: missing required property "query"; /max_results: "ten" is not of type "integer". Fix the arguments and call the tool again."#
        );
    }

    #[test]
    fn enum_lists_the_allowed_values() {
        let v = ToolValidator::new(&tool("search_papers", search_schema()));
        let err = arguments_error(&v, json!({"query": "llm", "sort": "newest"}));
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "search_papers" do not match its input schema: /sort: "newest" is not one of "relevance" or "date". Fix the arguments and call the tool again."#
        );
        let many: Vec<_> = (0..15).map(|i| format!("v{i}")).collect();
        let v = ToolValidator::new(&tool(
            "t",
            json!({"type": "object", "properties": {"x": {"enum": many}}}),
        ));
        let err = arguments_error(&v, json!({"x": 1}));
        assert_eq!(
            err.problems[0].message,
            r#"1 is not one of "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9" (5 more)"#
        );
    }

    #[test]
    fn nested_pointer() {
        let v = ToolValidator::new(&tool(
            "filter",
            json!({
                "type": "object",
                "properties": {
                    "filters": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"field": {"type": "string"}, "value": {}},
                            "required": ["field"]
                        }
                    }
                }
            }),
        ));
        let err = arguments_error(&v, json!({"filters": [{"field": "a"}, {"field": 7}, {}]}));
        let at: Vec<_> = err.problems.iter().map(|p| p.instance_path.as_str()).collect();
        assert_eq!(at, ["/filters/1/field", "/filters/2"]);
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "filter" do not match its input schema: /filters/1/field: 7 is not of type "string"; /filters/2: missing required property "field". Fix the arguments and call the tool again."#
        );
    }

    #[test]
    fn additional_properties_false_names_what_is_allowed() {
        let v = ToolValidator::new(&tool(
            "search_papers",
            json!({
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                "additionalProperties": false
            }),
        ));
        let err = arguments_error(&v, json!({"query": "x", "max_results": 3}));
        assert_eq!(err.problems[0].keyword, "additionalProperties");
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "search_papers" do not match its input schema: property "max_results" is not allowed (allowed: "limit", "query"). Fix the arguments and call the tool again."#
        );
        let err = arguments_error(&v, json!({"a": 1, "b": 2}));
        assert_eq!(
            err.problems[0].message,
            r#"properties "a", "b" are not allowed (allowed: "limit", "query")"#
        );
    }

    #[test]
    fn null_arguments_are_checked_as_an_empty_object() {
        let v = ToolValidator::new(&tool("search_papers", search_schema()));
        let err = arguments_error(&v, Value::Null);
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "search_papers" do not match its input schema: missing required property "query". Fix the arguments and call the tool again."#
        );
        let v = ToolValidator::new(&tool("list", json!({"type": "object", "properties": {}})));
        v.check_arguments(&Value::Null).unwrap();
        v.check_arguments(&json!({})).unwrap();
        // Not an object at all.
        let err = arguments_error(&v, json!("llm"));
        assert_eq!(err.problems[0].message, r#""llm" is not of type "object""#);
    }

    #[test]
    fn many_problems_are_capped() {
        let properties: Map<String, Value> =
            (0..12).map(|i| (format!("p{i:02}"), json!({"type": "integer"}))).collect();
        let v =
            ToolValidator::new(&tool("wide", json!({"type": "object", "properties": properties})));
        let arguments: Map<String, Value> =
            (0..12).map(|i| (format!("p{i:02}"), json!("x".repeat(300)))).collect();
        let err = arguments_error(&v, Value::Object(arguments));
        assert_eq!(err.problems.len(), MAX_PROBLEMS);
        assert_eq!(err.more, 7);
        let text = err.to_string();
        assert!(
            text.ends_with("; and 7 more problems. Fix the arguments and call the tool again."),
            "{text}"
        );
        assert!(text.len() < 1400, "{} chars: {text}", text.len());
        // Values are quoted, cut at 80 characters.
        let quoted = format!("\"{}…", "x".repeat(MAX_VALUE_CHARS - 1));
        assert_eq!(err.problems[0].message, format!("{quoted} is not of type \"integer\""));
    }

    #[test]
    fn long_problems_are_cut_by_length() {
        let properties: Map<String, Value> = (0..5)
            .map(|i| (format!("{}{i}", "k".repeat(250)), json!({"type": "integer"})))
            .collect();
        let v =
            ToolValidator::new(&tool("long", json!({"type": "object", "properties": properties})));
        let arguments: Map<String, Value> =
            (0..5).map(|i| (format!("{}{i}", "k".repeat(250)), json!("x"))).collect();
        let err = arguments_error(&v, Value::Object(arguments));
        assert_eq!(err.problems.len(), 5);
        let text = err.to_string();
        assert!(text.contains("; and 2 more problems. Fix"), "{text}");
        assert!(text.len() < 1200, "{} chars", text.len());
    }

    #[test]
    fn render_cuts_multibyte_text_on_a_boundary() {
        let text = render(&json!("é".repeat(100)));
        assert!(text.ends_with('…'));
        assert!(text.len() <= MAX_VALUE_CHARS + '…'.len_utf8());
        assert_eq!(render(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn output_schema_requires_structured_content() {
        let v = ToolValidator::new(&tool_with_output(
            "get_weather",
            json!({"type": "object"}),
            json!({
                "type": "object",
                "properties": {"temperature": {"type": "number"}},
                "required": ["temperature"]
            }),
        ));
        assert!(v.has_output_schema());
        assert_eq!(v.output_unchecked_reason(), None);

        let missing = CallToolResult::success(vec![Content::text("22 degrees")]);
        let err = v.check_structured_content(&missing).unwrap_err();
        assert_eq!(err.side, SchemaSide::StructuredContent);
        assert_eq!(
            err.to_string(),
            r#"tool "get_weather" returned structured content that does not match its output schema: structuredContent is missing, but the tool declares an outputSchema. This is a fault of the MCP server, not of the arguments."#
        );

        let wrong = CallToolResult::structured(json!({"temperature": "warm"}));
        assert_eq!(
            v.check_structured_content(&wrong).unwrap_err().to_string(),
            r#"tool "get_weather" returned structured content that does not match its output schema: /temperature: "warm" is not of type "number". This is a fault of the MCP server, not of the arguments."#
        );

        v.check_structured_content(&CallToolResult::structured(json!({"temperature": 22.5})))
            .unwrap();
    }

    #[test]
    fn error_and_unfinished_results_are_not_checked() {
        let v = ToolValidator::new(&tool_with_output(
            "get_weather",
            json!({"type": "object"}),
            json!({"type": "object", "required": ["temperature"]}),
        ));
        v.check_structured_content(&CallToolResult::error(vec![Content::text("no such city")]))
            .unwrap();
        v.check_structured_content(&CallToolResult::structured_error(json!({"code": 404})))
            .unwrap();
        let mut pending = CallToolResult::success(vec![]);
        pending.result_type = Some(ResultType::INPUT_REQUIRED);
        v.check_structured_content(&pending).unwrap();
        // No `resultType` (older protocol versions) means complete.
        let mut legacy = CallToolResult::success(vec![]);
        legacy.result_type = None;
        v.check_structured_content(&legacy).unwrap_err();
    }

    #[test]
    fn no_output_schema_accepts_anything() {
        let v = ToolValidator::new(&tool("t", json!({"type": "object"})));
        v.check_structured_content(&CallToolResult::success(vec![])).unwrap();
        v.check_structured_content(&CallToolResult::structured(json!([1, 2]))).unwrap();
        assert_eq!(v.output_unchecked_reason(), None);
    }

    #[test]
    fn schema_that_does_not_compile_leaves_its_side_unchecked() {
        let v = ToolValidator::new(&tool_with_output(
            "broken",
            json!({"type": 12}),
            json!({"type": "object", "properties": {"x": {"minimum": "zero"}}}),
        ));
        assert_eq!(
            v.input_unchecked_reason(),
            Some("/type: 12 is not valid under any of the schemas listed in the 'anyOf' keyword")
        );
        v.check_arguments(&json!({"anything": true})).unwrap();
        v.check_arguments(&Value::Null).unwrap();
        assert!(v.has_output_schema());
        assert!(v.output_unchecked_reason().is_some());
        v.check_structured_content(&CallToolResult::success(vec![])).unwrap();
    }

    #[test]
    fn local_refs_resolve() {
        let v = ToolValidator::new(&tool(
            "create_issue",
            json!({
                "type": "object",
                "properties": {"label": {"$ref": "#/$defs/label"}},
                "required": ["label"],
                "$defs": {
                    "label": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                        "additionalProperties": false
                    }
                }
            }),
        ));
        assert_eq!(v.input_unchecked_reason(), None);
        v.check_arguments(&json!({"label": {"name": "bug"}})).unwrap();
        let err = arguments_error(&v, json!({"label": {"name": 1, "color": "red"}}));
        let text = err.to_string();
        assert!(text.contains(r#"/label/name: 1 is not of type "string""#), "{text}");
        assert!(
            text.contains(r#"/label: property "color" is not allowed (allowed: "name")"#),
            "{text}"
        );

        // Under a remote `$id`, local references still resolve within the document.
        let v = ToolValidator::new(&tool(
            "with_id",
            json!({
                "$id": "https://example.com/tools/with_id.json",
                "type": "object",
                "properties": {"x": {"$ref": "#/$defs/x"}},
                "$defs": {"x": {"type": "integer"}}
            }),
        ));
        assert_eq!(v.input_unchecked_reason(), None);
        assert_eq!(
            arguments_error(&v, json!({"x": "1"})).problems[0].message,
            r#""1" is not of type "integer""#
        );
    }

    #[test]
    fn remote_ref_is_not_fetched_and_leaves_arguments_unchecked() {
        let v = ToolValidator::new(&tool(
            "remote",
            json!({
                "type": "object",
                "properties": {"x": {"$ref": "https://example.com/x.json"}}
            }),
        ));
        assert_eq!(
            v.input_unchecked_reason(),
            Some(
                "Resource 'https://example.com/x.json' is not present in a registry and retrieving \
                 it failed: Retrieval is disabled, cannot fetch https://example.com/x.json"
            )
        );
        v.check_arguments(&json!({"x": 1})).unwrap();

        // Nor is a file.
        let v = ToolValidator::new(&tool("file", json!({"$ref": "file:///etc/passwd"})));
        assert!(v.input_unchecked_reason().is_some());
    }

    #[test]
    fn draft_07_is_honoured() {
        // Tuple `items` is draft-07; in 2020-12 `items` must be a schema.
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"point": {"type": "array", "items": [{"type": "number"}, {"type": "number"}]}},
            "definitions": {"unused": {"type": "string"}}
        });
        let v = ToolValidator::new(&tool("plot", schema.clone()));
        assert_eq!(v.input_unchecked_reason(), None);
        v.check_arguments(&json!({"point": [1, 2]})).unwrap();
        let err = arguments_error(&v, json!({"point": [1, "two"]}));
        assert_eq!(err.problems[0].instance_path, "/point/1");

        // The same schema read as 2020-12 does not compile.
        let mut as_2020 = object(schema);
        as_2020.remove("$schema");
        let v = ToolValidator::new(&Tool::new("plot", "test tool", as_2020));
        assert!(v.input_unchecked_reason().is_some());
    }

    #[test]
    fn unknown_dialect_is_read_as_2020_12() {
        let v = ToolValidator::new(&tool(
            "custom",
            json!({
                "$schema": "https://example.com/my-dialect",
                "type": "object",
                "required": ["q"]
            }),
        ));
        assert_eq!(v.input_unchecked_reason(), None);
        arguments_error(&v, json!({}));
    }

    #[test]
    fn formats_are_not_asserted() {
        let v = ToolValidator::new(&tool(
            "mail",
            json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"to": {"type": "string", "format": "email"}}
            }),
        ));
        v.check_arguments(&json!({"to": "not an email"})).unwrap();
    }

    /// Shapes real servers send: schemars (rmcp servers), pydantic (FastMCP) and
    /// zod-to-json-schema (TypeScript SDK).
    #[test]
    fn schemas_real_servers_send() {
        let schemars = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "SearchParams",
            "type": "object",
            "properties": {
                "query": {"description": "What to search for", "type": "string"},
                "max_results": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "order": {"anyOf": [{"$ref": "#/$defs/Order"}, {"type": "null"}]}
            },
            "required": ["query"],
            "$defs": {"Order": {"type": "string", "enum": ["asc", "desc"]}}
        });
        let v = ToolValidator::new(&tool("search_papers", schemars));
        assert_eq!(v.input_unchecked_reason(), None);
        v.check_arguments(&json!({"query": "llm", "max_results": null, "order": "asc"})).unwrap();
        let err = arguments_error(&v, json!({"query": "llm", "max_results": -1, "order": "up"}));
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "search_papers" do not match its input schema: /max_results: -1 is less than the minimum of 0; /order: "up" does not match any of the allowed alternatives (anyOf). Fix the arguments and call the tool again."#
        );
        let err = arguments_error(&v, json!({"query": "llm", "max_results": "3"}));
        assert_eq!(err.problems[0].message, r#""3" is not of type "integer" or "null""#);

        let pydantic = json!({
            "type": "object",
            "properties": {
                "city": {"title": "City", "type": "string"},
                "units": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Units"}
            },
            "required": ["city"],
            "title": "get_weatherArguments"
        });
        let v = ToolValidator::new(&tool("get_weather", pydantic));
        v.check_arguments(&json!({"city": "Paris"})).unwrap();
        arguments_error(&v, json!({"city": ["Paris"]}));

        let zod = json!({
            "type": "object",
            "properties": {"path": {"type": "string"}, "recursive": {"type": "boolean", "default": false}},
            "required": ["path"],
            "additionalProperties": false,
            "$schema": "http://json-schema.org/draft-07/schema#"
        });
        let v = ToolValidator::new(&tool("list_dir", zod));
        assert_eq!(v.input_unchecked_reason(), None);
        v.check_arguments(&json!({"path": "/tmp"})).unwrap();
        let err = arguments_error(&v, json!({"path": "/tmp", "recursive": "yes", "depth": 2}));
        assert_eq!(
            err.to_string(),
            r#"arguments for tool "list_dir" do not match its input schema: /recursive: "yes" is not of type "boolean"; property "depth" is not allowed (allowed: "path", "recursive"). Fix the arguments and call the tool again."#
        );
    }

    #[test]
    fn validator_is_shareable() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<ToolValidator>();
        shareable::<SchemaViolation>();
    }
}
