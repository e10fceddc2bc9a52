//! Every way a config file can be wrong: the error kind, its place and its exact message.

use std::io::Write;

use mcp_config::{Format, LoadErrorKind, Loader, Location, MCPConfig};

use crate::load_err;

/// Loads `text`, expects an error at `line`:`column` whose message is `message`.
#[track_caller]
fn check(text: &str, format: Format, at: Option<(usize, usize)>, message: &str) -> LoadErrorKind {
    let err = load_err(text, format);
    let expected_at = at.map(|(line, column)| Location { line, column });
    assert_eq!(err.location(), expected_at, "wrong place for: {err}");
    let prefix = at.map(|(l, c)| format!("line {l}, column {c}: ")).unwrap_or_default();
    assert_eq!(err.to_string(), format!("{prefix}{message}"));
    err.kind().clone_kind()
}

/// `LoadErrorKind` holds an `io::Error` and so is not `Clone`; tests only need its shape.
trait CloneKind {
    fn clone_kind(&self) -> LoadErrorKind;
}

impl CloneKind for LoadErrorKind {
    fn clone_kind(&self) -> LoadErrorKind {
        match self {
            LoadErrorKind::Syntax { message } => LoadErrorKind::Syntax { message: message.clone() },
            LoadErrorKind::Invalid { message } => {
                LoadErrorKind::Invalid { message: message.clone() }
            }
            LoadErrorKind::UnsetVariable { name } => {
                LoadErrorKind::UnsetVariable { name: name.clone() }
            }
            LoadErrorKind::UnknownLayout { found } => {
                LoadErrorKind::UnknownLayout { found: found.clone() }
            }
            LoadErrorKind::UndeclaredInput { server, id, declared, suggestion } => {
                LoadErrorKind::UndeclaredInput {
                    server: server.clone(),
                    id: id.clone(),
                    declared: declared.clone(),
                    suggestion: suggestion.clone(),
                }
            }
            LoadErrorKind::Empty => LoadErrorKind::Empty,
            LoadErrorKind::ByteOrderMark => LoadErrorKind::ByteOrderMark,
            LoadErrorKind::InvalidUtf8 => LoadErrorKind::InvalidUtf8,
            other => panic!("unexpected kind {other:?}"),
        }
    }
}

#[test]
fn malformed_json() {
    let text = "{\n  \"servers\": [\n    {\"server_name\": \"a\" \"transport\": \"stdio\"}\n  ]\n}";
    let kind = check(
        text,
        Format::Json,
        Some((3, 25)),
        "invalid JSON: expected `,` or `}`; fix the JSON syntax here",
    );
    assert!(matches!(kind, LoadErrorKind::Syntax { .. }));
}

#[test]
fn truncated_json() {
    check(
        "{\"mcpServers\": {\"a\": {\"command\": \"x\"}",
        Format::Json,
        Some((1, 37)),
        "invalid JSON: EOF while parsing an object; the text ends early: close every `{` and `[`",
    );
}

#[test]
fn malformed_toml() {
    let text = "[[servers]]\nserver_name = \"a\ncommand = \"x\"\n";
    let kind = check(
        text,
        Format::Toml,
        Some((2, 17)),
        "invalid TOML: invalid basic string, expected `\"`; fix the TOML syntax here",
    );
    assert!(matches!(kind, LoadErrorKind::Syntax { .. }));
}

#[test]
fn trailing_comma_outside_jsonc() {
    let text = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"},\n  }\n}";
    check(
        text,
        Format::Json,
        Some((4, 3)),
        "invalid JSON: trailing comma; plain JSON allows no comments or trailing commas: remove it \
         (only `.jsonc` files and VS Code's .vscode/mcp.json are read as JSONC)",
    );
    // The same text is fine as JSONC.
    let loaded = Loader::new().format(Format::Jsonc).load_str(text).unwrap();
    assert_eq!(loaded.config.len(), 1);
}

#[test]
fn comment_outside_jsonc() {
    check(
        "{\n  // my servers\n  \"mcpServers\": {}\n}",
        Format::Json,
        Some((2, 3)),
        "invalid JSON: key must be a string; plain JSON allows no comments or trailing commas: remove it \
         (only `.jsonc` files and VS Code's .vscode/mcp.json are read as JSONC)",
    );
}

#[test]
fn unknown_transport() {
    check(
        r#"{"servers": {"w": {"type": "websocket", "url": "ws://127.0.0.1:1"}}}"#,
        Format::Json,
        Some((1, 66)),
        "server \"w\" has unknown transport \"websocket\": use \"stdio\", \"sse\" or \"http\" (also written \"streamable_http\")",
    );
    let toml = "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n\n[[servers]]\nserver_name = \"b\"\ntransport = \"grpc\"\n";
    check(
        toml,
        Format::Toml,
        Some((5, 1)),
        "server \"b\" has unknown transport \"grpc\": use \"stdio\", \"sse\" or \"http\" (also written \"streamable_http\")",
    );
}

#[test]
fn missing_command_or_url() {
    check(
        r#"{"mcpServers": {"a": {"type": "stdio", "args": ["x"]}}}"#,
        Format::Json,
        Some((1, 53)),
        "server \"a\" is a stdio server but has no `command`; add the program to run, such as \"command\": \"python3\"",
    );
    check(
        r#"{"mcpServers": {"a": {"type": "sse"}}}"#,
        Format::Json,
        Some((1, 36)),
        "server \"a\" is an sse server but has no `url`; add one, such as \"url\": \"http://127.0.0.1:8000/sse\"",
    );
    check(
        r#"{"servers": [{"server_name": "a", "transport": "streamable_http"}]}"#,
        Format::Json,
        Some((1, 65)),
        "server \"a\" is an http server but has no `url`; add one, such as \"url\": \"http://127.0.0.1:8000/mcp\"",
    );
    check(
        "[mcpServers.a]\nargs = [\"x\"]\n",
        Format::Toml,
        Some((1, 1)),
        "server \"a\" has neither `command` (to start a local stdio server) nor `url` (for a remote sse or http server); add one",
    );
    check(
        r#"{"servers": [{"transport": "stdio", "command": "x"}]}"#,
        Format::Json,
        Some((1, 51)),
        "server #1 has no `server_name`; add one, such as \"server_name\": \"my-server\"",
    );
}

#[test]
fn both_command_and_url() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "url": "http://127.0.0.1:1/mcp"}}}"#,
        Format::Json,
        Some((1, 70)),
        "server \"a\" has both `command` and `url`: keep `command` for a local process, or `url` for a remote server",
    );
}

#[test]
fn keys_of_another_transport() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "headers": {"A": "b"}}}}"#,
        Format::Json,
        Some((1, 60)),
        "server \"a\" is a stdio server, which takes no `headers`; remove it",
    );
    check(
        r#"{"mcpServers": {"a": {"type": "sse", "url": "http://127.0.0.1:1/sse", "env": {}}}}"#,
        Format::Json,
        Some((1, 80)),
        "server \"a\" is an sse server, which takes no `env`; remove it",
    );
}

#[test]
fn wrong_types() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "args": "--verbose"}}}"#,
        Format::Json,
        Some((1, 57)),
        "server \"a\": `args`: invalid type: string \"--verbose\", expected a list of strings; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "env": {"N": 1}}}}"#,
        Format::Json,
        Some((1, 52)),
        "server \"a\": `env`: invalid type: integer `1`, expected a string; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"url": "http://127.0.0.1:1/sse", "sse_fallback": "yes"}}}"#,
        Format::Json,
        Some((1, 76)),
        "server \"a\": `sse_fallback`: invalid type: string \"yes\", expected a boolean; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = 42\n",
        Format::Toml,
        Some((3, 1)),
        "server \"a\": `command`: invalid type: integer `42`, expected a string; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": []}"#,
        Format::Json,
        Some((1, 17)),
        "`mcpServers`: invalid type: sequence, expected an object mapping server names to servers; \
         see docs/configuration.md for the layouts mcp-config reads",
    );
}

#[test]
fn duplicate_names() {
    let list = "{\"servers\": [\n  {\"server_name\": \"a\", \"transport\": \"stdio\", \"command\": \"x\"},\n  {\"server_name\": \"a\", \"transport\": \"stdio\", \"command\": \"y\"}\n]}";
    check(
        list,
        Format::Json,
        Some((3, 21)),
        "duplicate server name \"a\": every server needs its own name; rename or remove one of them",
    );
    let object =
        "{\"mcpServers\": {\n  \"a\": {\"command\": \"x\"},\n  \"a\": {\"command\": \"y\"}\n}}";
    check(
        object,
        Format::Json,
        Some((3, 5)),
        "duplicate server name \"a\": every server needs its own name; rename or remove one of them",
    );
    let toml = "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n\n[[servers]]\nserver_name = \"a\"\ncommand = \"y\"\n";
    check(
        toml,
        Format::Toml,
        Some((6, 1)),
        "duplicate server name \"a\": every server needs its own name; rename or remove one of them",
    );
}

#[test]
fn duplicate_keys() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "command": "y"}}}"#,
        Format::Json,
        Some((1, 47)),
        "duplicate key `command` in server \"a\": write each key once",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "cwd": "/", "working_dir": "/tmp"}}}"#,
        Format::Json,
        Some((1, 63)),
        "duplicate key `working_dir` in server \"a\": write each key once",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "1", "K": "2"}}}}"#,
        Format::Json,
        Some((1, 65)),
        "server \"a\": `env`: duplicate key `K`: write each key once; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "{\"servers\": [], \"mcpServers\": {}}",
        Format::Json,
        Some((1, 28)),
        "a second server list `mcpServers`: a file holds one `servers` or `mcpServers`; merge them into one",
    );
}

#[test]
fn unknown_key_in_native_layout() {
    check(
        r#"{"servers": [{"server_name": "a", "transport": "stdio", "comand": "x"}]}"#,
        Format::Json,
        Some((1, 64)),
        "unknown key `comand` in server \"a\": did you mean `command`? the keys are server_name, transport, \
         command, args, env, working_dir, envFile, url, headers, timeout, sse_read_timeout, timeouts, \
         pool, tools, catalog, sse_fallback, protocol, ca_file, auth, disabled",
    );
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "timeouts": {"startup": 1, "requests": 2}}]}"#,
        Format::Json,
        Some((1, 87)),
        "server \"a\": `timeouts`: unknown field `requests`, expected one of `startup`, `request`, `close_grace`; \
         see docs/configuration.md for the keys each server takes",
    );
}

/// The keys `pool` takes, as its unknown-key message lists them.
const POOL_KEYS: &str = "max_in_flight, max_queued, idle_timeout, max_restarts, healthy_after, \
     backoff, max_backoff, ping_timeout, degraded_after";

#[test]
fn unknown_key_in_pool() {
    let message = format!(
        "unknown key `max_inflight` in the `pool` of server \"a\": did you mean `max_in_flight`? \
         the keys are {POOL_KEYS}"
    );
    // JSON: at the key, in every layout (unlike unknown keys of the entry itself, which the
    // object layouts only warn about).
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "pool": {"max_inflight": 2}}]}"#,
        Format::Json,
        Some((1, 73)),
        &message,
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "pool": {"max_queued": 1, "max_inflight": 2}}}}"#,
        Format::Json,
        Some((1, 78)),
        &message,
    );
    // TOML: at the key too, inline or in a table of its own.
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\npool = { max_queued = 2, max_inflight = 3 }\n",
        Format::Toml,
        Some((4, 26)),
        &message,
    );
    check(
        "[servers.a]\ntype = \"stdio\"\ncommand = \"x\"\n\n[servers.a.pool]\nmax_queued = 2\nmax_inflight = 3\n",
        Format::Toml,
        Some((7, 1)),
        &message,
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "pool": {"size": 2}}}}"#,
        Format::Json,
        Some((1, 53)),
        &format!("unknown key `size` in the `pool` of server \"a\": the keys are {POOL_KEYS}"),
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "pool": {"max_queued": 1, "max_queued": 2}}}}"#,
        Format::Json,
        Some((1, 76)),
        "duplicate key `max_queued` in the `pool` of server \"a\": write each key once",
    );
}

#[test]
fn max_in_flight_must_be_at_least_one() {
    let message = "server \"a\": `pool.max_in_flight` is 0, but it must be at least 1 (with no call in \
         flight the server could never be used); write 1 or more, or leave it out for the default, 16";
    // At the value: the end of it in JSON, its start in TOML.
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "pool": {"max_in_flight": 0}}]}"#,
        Format::Json,
        Some((1, 78)),
        message,
    );
    check(
        "{\"mcpServers\": {\"a\": {\n  \"url\": \"http://127.0.0.1:1/mcp\",\n  \"pool\": {\"max_in_flight\": 0, \"max_queued\": 1}\n}}}",
        Format::Json,
        Some((3, 29)),
        message,
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\npool = { max_queued = 2, max_in_flight = 0 }\n",
        Format::Toml,
        Some((4, 42)),
        message,
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n\n[servers.pool]\nmax_queued = 2\nmax_in_flight = 0\n",
        Format::Toml,
        Some((7, 17)),
        message,
    );
    // serde's own `Deserialize` refuses it too.
    let err = serde_json::from_str::<mcp_config::PoolSettings>(r#"{"max_in_flight": 0}"#)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("`max_in_flight` is 0, but it must be at least 1"), "{err}");
    let one: mcp_config::PoolSettings = serde_json::from_str(r#"{"max_in_flight": 1}"#).unwrap();
    assert_eq!(one.max_in_flight, 1);
}

#[test]
fn bad_pool_values() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "pool": {"max_queued": "many"}}}}"#,
        Format::Json,
        Some((1, 67)),
        "server \"a\": `pool.max_queued`: invalid type: string \"many\", expected u32; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n\n[servers.pool]\nmax_restarts = -1\n",
        Format::Toml,
        Some((6, 16)),
        "server \"a\": `pool.max_restarts`: invalid value: integer `-1`, expected u32; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "[mcpServers.a]\ncommand = \"x\"\npool = { idle_timeout = \"5m\", ping_timeout = -1 }\n",
        Format::Toml,
        Some((3, 46)),
        "server \"a\": `pool.ping_timeout`: invalid duration -1: durations cannot be negative; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "pool": 16}}}"#,
        Format::Json,
        Some((1, 48)),
        &format!(
            "server \"a\": `pool`: invalid type: integer `16`, expected a table of pool settings \
             ({POOL_KEYS}); see docs/configuration.md for the keys each server takes"
        ),
    );
}

/// What every invalid-glob message ends with.
const GLOB_HELP: &str = "in a glob `*` matches any text, `?` one character, `[abc]` one of a set, \
     `{a,b}` either alternative, and `\\` escapes the next character (`\\*` is a literal `*`)";

#[test]
fn unknown_key_in_tools() {
    let message = "unknown key `alow` in the `tools` of server \"a\": did you mean `allow`? \
                   the keys are allow, deny";
    // At the key, in every layout, like `pool`.
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "tools": {"alow": ["x"]}}]}"#,
        Format::Json,
        Some((1, 66)),
        message,
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\ntools = { allow = [\"x\"], alow = [\"y\"] }\n",
        Format::Toml,
        Some((4, 26)),
        message,
    );
    check(
        "[servers.a]\ntype = \"stdio\"\ncommand = \"x\"\n\n[servers.a.tools]\nallow = [\"x\"]\ndenys = [\"y\"]\n",
        Format::Toml,
        Some((7, 1)),
        "unknown key `denys` in the `tools` of server \"a\": did you mean `deny`? the keys are allow, deny",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "tools": {"deny": [], "only": ["x"]}}}}"#,
        Format::Json,
        Some((1, 66)),
        "unknown key `only` in the `tools` of server \"a\": the keys are allow, deny",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "tools": {"deny": [], "deny": ["x"]}}}}"#,
        Format::Json,
        Some((1, 66)),
        "duplicate key `deny` in the `tools` of server \"a\": write each key once",
    );
}

#[test]
fn invalid_tool_globs_name_server_key_and_pattern() {
    // JSON: at the end of the bad glob, in every layout.
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "tools": {"allow": ["read_*", "list_[", "x"]}}]}"#,
        Format::Json,
        Some((1, 90)),
        &format!(
            "server \"a\": `tools.allow`: invalid glob \"list_[\": unclosed character class; \
             missing ']'; {GLOB_HELP}"
        ),
    );
    check(
        "{\"mcpServers\": {\"a\": {\n  \"url\": \"http://127.0.0.1:1/mcp\",\n  \"tools\": {\"deny\": [\"ok\", \"{a,b\"]}\n}}}",
        Format::Json,
        Some((3, 34)),
        &format!(
            "server \"a\": `tools.deny`: invalid glob \"{{a,b\": unclosed alternate group; \
             missing '}}' (maybe escape '{{' with '[{{]'?); {GLOB_HELP}"
        ),
    );
    check(
        "{\"servers\": {\"a\": {\"type\": \"stdio\", \"command\": \"x\", // VS Code\n  \"tools\": {\"allow\": [\"a}\"],},}}}",
        Format::Jsonc,
        Some((2, 27)),
        &format!(
            "server \"a\": `tools.allow`: invalid glob \"a}}\": unopened alternate group; \
             missing '{{' (maybe escape '}}' with '[}}]'?); {GLOB_HELP}"
        ),
    );
    // TOML: at the start of the bad glob, inline or in a table of its own.
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\ntools = { allow = [\"read_*\", \"list_[\"] }\n",
        Format::Toml,
        Some((4, 30)),
        &format!(
            "server \"a\": `tools.allow`: invalid glob \"list_[\": unclosed character class; \
             missing ']'; {GLOB_HELP}"
        ),
    );
    let kind = check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n\n[servers.tools]\ndeny = [\n  \"ok\",\n  \"x\\\\\",\n]\n",
        Format::Toml,
        Some((8, 3)),
        &format!("server \"a\": `tools.deny`: invalid glob \"x\\\\\": dangling '\\'; {GLOB_HELP}"),
    );
    assert!(matches!(kind, LoadErrorKind::Invalid { .. }));
    // Checked in a disabled server too, as it is read.
    check(
        r#"{"mcpServers": {"a": {"command": "x", "disabled": true, "tools": {"allow": ["["]}}}}"#,
        Format::Json,
        Some((1, 80)),
        &format!(
            "server \"a\": `tools.allow`: invalid glob \"[\": unclosed character class; \
             missing ']'; {GLOB_HELP}"
        ),
    );
}

#[test]
fn bad_tools_values() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "tools": {"allow": ["ok", 3]}}}}"#,
        Format::Json,
        Some((1, 65)),
        "server \"a\": `tools.allow`: invalid type: integer `3`, expected a string; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "[mcpServers.a]\ncommand = \"x\"\ntools = { allow = [\"ok\", 3] }\n",
        Format::Toml,
        Some((3, 26)),
        "server \"a\": `tools.allow`: invalid type: integer `3`, expected a string; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "tools": {"allow": "read_*"}}}}"#,
        Format::Json,
        Some((1, 65)),
        "server \"a\": `tools.allow`: invalid type: string \"read_*\", expected a list of globs, \
         such as [\"read_*\", \"list_*\"]; see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "tools": ["read_*"]}}}"#,
        Format::Json,
        Some((1, 47)),
        "server \"a\": `tools`: invalid type: sequence, expected a table of tool globs (allow, deny); \
         see docs/configuration.md for the keys each server takes",
    );
}

/// serde's own `Deserialize` of a `ToolFilter` checks its globs and keys too.
#[test]
fn serde_refuses_bad_tool_filters() {
    use mcp_config::{ServerConfig, ToolFilter};

    let err = serde_json::from_str::<ToolFilter>(r#"{"deny": ["a[b"]}"#).unwrap_err().to_string();
    assert!(
        err.starts_with("`tools.deny`: invalid glob \"a[b\": unclosed character class"),
        "{err}"
    );
    let err = serde_json::from_str::<ToolFilter>(r#"{"allowed": []}"#).unwrap_err().to_string();
    assert!(err.starts_with("unknown field `allowed`, expected `allow` or `deny`"), "{err}");
    let json =
        r#"{"transport": "stdio", "server_name": "a", "command": "x", "tools": {"allow": ["{"]}}"#;
    let err = serde_json::from_str::<ServerConfig>(json).unwrap_err().to_string();
    assert!(err.contains("`tools.allow`: invalid glob \"{\": unclosed alternate group"), "{err}");
}

/// The keys `catalog` takes, as its unknown-key message lists them.
const CATALOG_KEYS: &str = "ttl, max_pages, max_items";

#[test]
fn unknown_key_in_catalog() {
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "catalog": {"max_page": 2}}]}"#,
        Format::Json,
        Some((1, 72)),
        &format!(
            "unknown key `max_page` in the `catalog` of server \"a\": did you mean `max_pages`? \
             the keys are {CATALOG_KEYS}"
        ),
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\ncatalog = { ttl = 2, maxitems = 3 }\n",
        Format::Toml,
        Some((4, 22)),
        &format!(
            "unknown key `maxitems` in the `catalog` of server \"a\": did you mean `max_items`? \
             the keys are {CATALOG_KEYS}"
        ),
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "catalog": {"size": 2}}}}"#,
        Format::Json,
        Some((1, 56)),
        &format!(
            "unknown key `size` in the `catalog` of server \"a\": the keys are {CATALOG_KEYS}"
        ),
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "catalog": {"ttl": 1, "ttl": 2}}}}"#,
        Format::Json,
        Some((1, 65)),
        "duplicate key `ttl` in the `catalog` of server \"a\": write each key once",
    );
}

#[test]
fn catalog_limits_must_be_at_least_one() {
    let pages = "server \"a\": `catalog.max_pages` is 0, but it must be at least 1 (a listing of no \
                 page could list nothing); write 1 or more, or leave it out for the default, 100";
    let items = "server \"a\": `catalog.max_items` is 0, but it must be at least 1 (a listing could \
                 hold no tool); write 1 or more, or leave it out for the default, 10000";
    check(
        r#"{"servers": [{"server_name": "a", "command": "x", "catalog": {"max_pages": 0}}]}"#,
        Format::Json,
        Some((1, 77)),
        pages,
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n\n[servers.catalog]\nttl = 2\nmax_pages = 0\n",
        Format::Toml,
        Some((7, 13)),
        pages,
    );
    check(
        r#"{"mcpServers": {"a": {"url": "http://127.0.0.1:1/mcp", "catalog": {"max_items": 0}}}}"#,
        Format::Json,
        Some((1, 82)),
        items,
    );
    check(
        "[mcpServers.a]\ncommand = \"x\"\ncatalog = { max_items = 0 }\n",
        Format::Toml,
        Some((3, 25)),
        items,
    );
    // serde's own `Deserialize` refuses them too.
    for key in ["max_pages", "max_items"] {
        let err =
            serde_json::from_str::<mcp_config::CatalogSettings>(&format!(r#"{{"{key}": 0}}"#))
                .unwrap_err()
                .to_string();
        assert!(err.starts_with(&format!("`{key}` is 0, but it must be at least 1")), "{err}");
    }
    let one: mcp_config::CatalogSettings =
        serde_json::from_str(r#"{"max_pages": 1, "max_items": 1, "ttl": 0}"#).unwrap();
    assert_eq!((one.max_pages, one.max_items), (1, 1));
}

#[test]
fn bad_catalog_values() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "catalog": {"ttl": "soon"}}}}"#,
        Format::Json,
        Some((1, 63)),
        "server \"a\": `catalog.ttl`: invalid duration \"soon\" (expected number at 0); expected a \
         duration: seconds as a number (10, 0.5) or a string such as \"10s\", \"500ms\", \"1m\"; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "[mcpServers.a]\ncommand = \"x\"\ncatalog = { max_pages = -1 }\n",
        Format::Toml,
        Some((3, 25)),
        "server \"a\": `catalog.max_pages`: invalid value: integer `-1`, expected u32; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "x", "catalog": 16}}}"#,
        Format::Json,
        Some((1, 51)),
        &format!(
            "server \"a\": `catalog`: invalid type: integer `16`, expected a table of catalog \
             settings ({CATALOG_KEYS}); see docs/configuration.md for the keys each server takes"
        ),
    );
}

#[test]
fn protocol_values_and_places() {
    check(
        r#"{"mcpServers": {"a": {"command": "x", "protocol": "newest"}}}"#,
        Format::Json,
        Some((1, 58)),
        "server \"a\": `protocol`: unknown variant `newest`, expected one of `initialize`, `auto`, `discover`; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        r#"{"mcpServers": {"a": {"type": "sse", "url": "http://127.0.0.1:1/sse", "protocol": "auto"}}}"#,
        Format::Json,
        Some((1, 89)),
        "server \"a\" is an sse server, which takes no `protocol`; remove it",
    );
    let loaded = mcp_config::MCPConfig::from_str(
        r#"{"mcpServers": {"a": {"command": "x", "protocol": "auto"}, "b": {"url": "http://127.0.0.1:1/mcp", "protocol": "discover"}}}"#,
        Format::Json,
    )
    .unwrap();
    let mcp_config::ServerConfig::Stdio(a) = loaded.config.get("a").unwrap() else { panic!() };
    assert_eq!(a.protocol, mcp_config::Protocol::Auto);
    let mcp_config::ServerConfig::StreamableHttp(b) = loaded.config.get("b").unwrap() else {
        panic!()
    };
    assert_eq!(b.protocol, mcp_config::Protocol::Discover);
}

#[test]
fn unset_variable() {
    let kind = check(
        "{\"mcpServers\": {\n  \"a\": {\"command\": \"x\", \"env\": {\"TOKEN\": \"${MISSING_TOKEN}\"}}\n}}",
        Format::Json,
        Some((2, 61)),
        "environment variable `MISSING_TOKEN` is not set; set it, or give a default with `${MISSING_TOKEN:-default}`",
    );
    assert!(matches!(kind, LoadErrorKind::UnsetVariable { name } if name == "MISSING_TOKEN"));
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\nargs = [\"--key\", \"${env:NOPE}\"]\n",
        Format::Toml,
        Some((4, 1)),
        "environment variable `NOPE` is not set; set it, or give a default with `${NOPE:-default}`",
    );
    check(
        r#"{"mcpServers": {"a": {"command": "${TOOL"}}}"#,
        Format::Json,
        Some((1, 42)),
        "server \"a\": `command`: unterminated `${` in \"${TOOL\"; close it with `}`, or write `$${` for a literal `${`",
    );
}

#[test]
fn bad_duration() {
    check(
        r#"{"mcpServers": {"a": {"url": "http://127.0.0.1:1/sse", "timeout": "10 parsecs"}}}"#,
        Format::Json,
        Some((1, 78)),
        "server \"a\": `timeout`: invalid duration \"10 parsecs\" (unknown time unit \"parsecs\", supported units: \
         ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)); expected a duration: \
         seconds as a number (10, 0.5) or a string such as \"10s\", \"500ms\", \"1m\"; \
         see docs/configuration.md for the keys each server takes",
    );
    check(
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\ntimeouts = { startup = -5 }\n",
        Format::Toml,
        Some((4, 1)),
        "server \"a\": `timeouts`: invalid duration -5: durations cannot be negative; \
         see docs/configuration.md for the keys each server takes",
    );
}

#[test]
fn bad_url() {
    check(
        r#"{"mcpServers": {"a": {"type": "sse", "url": "127.0.0.1:8000/sse"}}}"#,
        Format::Json,
        Some((1, 65)),
        "server \"a\": invalid URL \"127.0.0.1:8000/sse\": relative URL without a base; write an absolute \
         http:// or https:// URL such as http://127.0.0.1:8000/sse",
    );
    check(
        r#"{"mcpServers": {"a": {"url": "ftp://example.com/mcp"}}}"#,
        Format::Json,
        Some((1, 53)),
        "server \"a\": invalid URL \"ftp://example.com/mcp\": the scheme is `ftp`, expected `http` or `https`; \
         write an absolute http:// or https:// URL such as http://127.0.0.1:8000/sse",
    );
}

#[test]
fn url_passwords_stay_out_of_messages() {
    check(
        r#"{"mcpServers": {"a": {"url": "https://bot:hunter2@exa mple.com/mcp"}}}"#,
        Format::Json,
        Some((1, 68)),
        "server \"a\": invalid URL \"https://bot:***@exa mple.com/mcp\": invalid international domain name; \
         write an absolute http:// or https:// URL such as http://127.0.0.1:8000/sse",
    );
}

#[test]
fn bad_headers() {
    check(
        r#"{"mcpServers": {"a": {"url": "http://127.0.0.1:1/mcp", "headers": {"Bad Name": "x"}}}}"#,
        Format::Json,
        Some((1, 84)),
        "server \"a\": \"Bad Name\" is not a valid HTTP header name; use letters, digits and `-`",
    );
}

#[test]
fn unknown_layout() {
    let kind = check(
        r#"{"server": [], "version": 1}"#,
        Format::Json,
        Some((1, 28)),
        "no servers found: expected a top-level `servers` (mcp-config's own form, or VS Code's .vscode/mcp.json) \
         or `mcpServers` (Claude Desktop, Cursor, Claude Code); the top-level keys are: server, version",
    );
    assert!(matches!(kind, LoadErrorKind::UnknownLayout { .. }));
}

#[test]
fn empty_text() {
    let kind = check(
        " \n\t\n",
        Format::Json,
        None,
        "the config file is empty; write servers into it, such as {\"servers\": []} (see docs/configuration.md)",
    );
    assert!(matches!(kind, LoadErrorKind::Empty));
}

/// Writes `bytes` to a temporary file with `name` and loads it.
fn load_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, mcp_config::LoadError) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    let err = MCPConfig::load(&path).unwrap_err();
    assert_eq!(err.path(), Some(path.as_path()));
    (dir, err)
}

#[test]
fn byte_order_mark() {
    let (dir, err) = load_file("mcp.json", b"\xEF\xBB\xBF{\"servers\": []}");
    assert!(matches!(err.kind(), LoadErrorKind::ByteOrderMark));
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1:1: the file starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM",
            dir.path().join("mcp.json").display()
        )
    );
}

#[test]
fn invalid_utf8() {
    let (dir, err) = load_file("mcp.json", b"{\"servers\": [\n  {\"server_name\": \"caf\xE9\"}]}");
    assert!(matches!(err.kind(), LoadErrorKind::InvalidUtf8));
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:23: the file is not valid UTF-8 (first bad byte here); save it with UTF-8 encoding",
            dir.path().join("mcp.json").display()
        )
    );
}

#[test]
fn empty_file() {
    let (dir, err) = load_file("servers.toml", b"");
    assert!(matches!(err.kind(), LoadErrorKind::Empty));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the config file is empty; write servers into it, such as {{\"servers\": []}} (see docs/configuration.md)",
            dir.path().join("servers.toml").display()
        )
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.json");
    let err = MCPConfig::load(&path).unwrap_err();
    assert!(matches!(err.kind(), LoadErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: cannot read the config file: No such file or directory (os error 2); check the path",
            path.display()
        )
    );
}

#[test]
fn missing_env_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".vscode")).unwrap();
    let path = dir.path().join(".vscode/mcp.json");
    std::fs::write(&path, r#"{"servers": {"a": {"type": "stdio", "command": "x", "envFile": "${workspaceFolder}/.env"}}}"#)
        .unwrap();
    let err = MCPConfig::load(&path).unwrap_err();
    let env_path = std::path::absolute(dir.path()).unwrap().join(".env");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1:89: server \"a\": cannot read its envFile {}: No such file or directory (os error 2); \
             check the path (relative paths start at the config file's folder)",
            path.display(),
            env_path.display()
        )
    );
}

#[test]
fn file_errors_name_the_file_and_place() {
    let (dir, err) =
        load_file("claude_desktop_config.json", b"{\n  \"mcpServers\": {\n    \"a\": {}\n  }\n}\n");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:11: server \"a\" has neither `command` (to start a local stdio server) nor `url` \
             (for a remote sse or http server); add one",
            dir.path().join("claude_desktop_config.json").display()
        )
    );
}

#[test]
fn undeclared_vscode_input() {
    let dir = crate::fixture("vscode_undeclared");
    let err = Loader::new().load(dir.join(".vscode/mcp.json")).unwrap_err();
    assert_eq!(err.location(), Some(Location { line: 11, column: 65 }));
    assert!(matches!(
        err.kind(),
        LoadErrorKind::UndeclaredInput { server: Some(server), id, declared, suggestion: Some(suggestion) }
            if server == "github" && id == "github-tokn" && declared == &["github-token", "linear-key"]
            && suggestion == "github-token"
    ));
    assert!(err.to_string().ends_with(
        "mcp.json:11:65: server \"github\": `${input:github-tokn}` names no input the file declares; \
         did you mean `${input:github-token}`? the declared inputs are github-token, linear-key; \
         fix the ID, or add it to `inputs`"
    ));

    // In VS Code's layout, a file without `inputs` declares none.
    check(
        "{\"servers\": {\"gh\": {\"type\": \"stdio\", \"command\": \"gh\",\n  \"env\": {\"T\": \"${input:token}\"}}}}",
        Format::Json,
        Some((2, 31)),
        "server \"gh\": `${input:token}` names no input the file declares; the file has no `inputs` \
         list; declare it there, such as \"inputs\": [{\"id\": \"api-key\", \"type\": \"promptString\", \"password\": true}]",
    );
    // A declared one loads, with a warning; an escaped one is text.
    let text = r#"{"servers": {"gh": {"type": "stdio", "command": "gh", "args": ["$${input:x}"],
                   "env": {"T": "${input:token}"}}}, "inputs": [{"id": "token", "type": "promptString"}]}"#;
    let loaded = Loader::new().load_str(text).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    // TOML places it at its key.
    check(
        "inputs = [{ id = \"token\", type = \"promptString\" }]\n[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\nargs = [\"${input:tokn}\"]\n",
        Format::Toml,
        Some((5, 1)),
        "server \"a\": `${input:tokn}` names no input the file declares; did you mean `${input:token}`? \
         the declared inputs are token; fix the ID, or add it to `inputs`",
    );
}
