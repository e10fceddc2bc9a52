//! Secrets never show in Debug, Display or printed configs.

use mcp_config::{
    ConfigError, Format, LoadError, Loader, ServerConfig, SseConfig, StreamableHttpConfig,
};

use crate::{VARS, load};

const SECRETS: &[&str] = &[
    "arxiv-secret-1",
    "ghp_secret2",
    "lin_secret3",
    "pg-secret4",
    "pat-secret5",
    "ghp_exampleTokenValue123",
    "mw-literal-secret6",
];

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
    }
}

#[test]
fn debug_and_display_hide_env_and_header_values() {
    for name in [
        "native.json",
        "claude_desktop.json",
        "cursor.json",
        "claude_code/.mcp.json",
        "cursor_auth.json",
        "claude_code_oauth/.mcp.json",
    ] {
        let loaded = load(name);
        assert_no_secret(&format!("{:?}", loaded.config));
        assert_no_secret(&format!("{:#?}", loaded));
        assert_no_secret(&loaded.config.to_string());
        assert_no_secret(&loaded.config.redacted().to_json_string());
        for server in &loaded.config {
            assert_no_secret(&format!("{server:?} {server}"));
        }
    }
}

#[test]
fn redacted_keeps_names_and_masks_values() {
    let config = load("native.json").config.redacted();
    let ServerConfig::Stdio(arxiv) = config.get("ArxivServer").unwrap() else { panic!() };
    assert_eq!(arxiv.env["ARXIV_API_KEY"], "***");
    assert_eq!(arxiv.env["PYTHONUNBUFFERED"], "***");
    assert_eq!(arxiv.args[3], "/tmp/arxiv_papers", "arguments are not secrets");
    let ServerConfig::StreamableHttp(github) = config.get("GitHub").unwrap() else { panic!() };
    assert_eq!(github.headers["Authorization"], "***");
    let debug = format!("{arxiv:?}");
    assert!(
        debug.contains(r#"env: {"ARXIV_API_KEY": "***", "PYTHONUNBUFFERED": "***"}"#),
        "{debug}"
    );
}

#[test]
fn url_credentials_are_hidden() {
    let server =
        StreamableHttpConfig::new("h", "https://bot:hunter2@example.com/mcp?token=abc123&v=2")
            .unwrap();
    let shown = format!("{server:?} {}", ServerConfig::from(server.clone()));
    assert!(!shown.contains("hunter2") && !shown.contains("abc123"), "{shown}");
    assert!(shown.contains("v=2"), "{shown}");
    let ServerConfig::StreamableHttp(redacted) = ServerConfig::from(server).redacted() else {
        panic!()
    };
    assert_eq!(redacted.url.password(), Some("***"));
}

#[test]
fn errors_do_not_echo_secret_values() {
    // A fault in a server with secrets names the server and key, not the values.
    let text = r#"{"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}, "env": {"A": "b"}}}}"#;
    let err =
        Loader::new().vars(VARS.iter().copied()).format(Format::Json).load_str(text).unwrap_err();
    assert_no_secret(&err.to_string());
    assert_no_secret(&format!("{err:?}"));
}

/// Secrets written in the cases below; none may show in an error's `Display` or `Debug`.
const WRITTEN: &[&str] = &["pw-secret", "abc-secret", "sess-secret", "lit-secret"];

/// Asserts that `err` shows none of [`WRITTEN`] or [`SECRETS`], and that its message says
/// `expected`: so the error is the one the case is about, and its text did go through redaction.
fn assert_redacted<E: std::fmt::Display + std::fmt::Debug>(err: &E, expected: &str) {
    let (display, debug) = (err.to_string(), format!("{err:?}"));
    for text in [&display, &debug] {
        for secret in WRITTEN.iter().chain(SECRETS) {
            assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
        }
    }
    assert!(display.contains(expected), "expected {expected:?} in:\n{display}");
    assert!(display.contains("***"), "the secret should show as *** in:\n{display}");
}

#[test]
fn an_invalid_url_is_quoted_without_its_password_or_secret_query_values() {
    // Does not parse (a space in the host): redacted as text.
    let err: ConfigError =
        StreamableHttpConfig::new("h", "http://bot:pw-secret@exa mple.com/mcp?token=abc-secret")
            .unwrap_err();
    assert_redacted(&err, "invalid URL \"http://bot:***@exa mple.com/mcp?token=***\"");
    // Parses, but the scheme is refused: redacted as a URL.
    let err =
        SseConfig::new("s", "ftp://bot:pw-secret@h.example/sse?sessionId=sess-secret").unwrap_err();
    assert_redacted(&err, "invalid URL \"ftp://bot:***@h.example/sse?sessionId=***\"");
}

#[test]
fn a_load_error_about_a_url_hides_its_secrets_even_from_the_environment() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"mcpServers": {"x": {"url": "ftp://u:pw-secret@h.example/?api_key=abc-secret"}}}"#,
            "invalid URL \"ftp://u:***@h.example/?api_key=***\"",
        ),
        // The password comes from the environment (`GITHUB_TOKEN` is `ghp_secret2`).
        (
            r#"{"mcpServers": {"x": {"url": "http://u:${GITHUB_TOKEN}@exa mple.com/mcp"}}}"#,
            "invalid URL \"http://u:***@exa mple.com/mcp\"",
        ),
        // A fault of expansion quotes the URL, redacted.
        (
            r#"{"mcpServers": {"x": {"url": "https://h.example/mcp?token=abc-secret&v=${"}}}"#,
            "unterminated `${` in \"https://h.example/mcp?token=***&v=${\"",
        ),
    ];
    for (text, expected) in cases {
        let err: LoadError = crate::load_err(text, Format::Json);
        assert_redacted(&err, expected);
    }
}

#[test]
fn a_fault_in_a_header_or_env_value_does_not_quote_the_value() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"mcpServers": {"x": {"url": "https://h.example/mcp", "headers": {"Authorization": "Bearer lit-secret ${"}}}}"#,
            "`headers`: unterminated `${` in \"***\"",
        ),
        (
            r#"{"mcpServers": {"x": {"command": "x", "env": {"TOKEN": "lit-secret${"}}}}"#,
            "`env`: unterminated `${` in \"***\"",
        ),
        (
            r#"{"mcpServers": {"x": {"command": "x", "env": {"TOKEN": "${lit-secret}"}}}}"#,
            "`env`: unsupported variable in \"***\"",
        ),
    ];
    for (text, expected) in cases {
        let err: LoadError = crate::load_err(text, Format::Json);
        assert_redacted(&err, expected);
    }
}

/// With no secret taken from an `env` block, `redacted()` leaves the command line and the
/// working directory exactly as they are, even a directory name that is not UTF-8.
#[test]
fn redacted_keeps_a_working_dir_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/srv/caf\xe9"));
    let server = mcp_config::StdioConfig::new("s", "x").working_dir(&dir);
    let mcp_config::ServerConfig::Stdio(redacted) =
        mcp_config::ServerConfig::from(server).redacted()
    else {
        unreachable!()
    };
    assert_eq!(redacted.working_dir, Some(dir));
}
