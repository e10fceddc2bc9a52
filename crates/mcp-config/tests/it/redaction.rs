//! Secrets never show in Debug, Display or printed configs.

use mcp_config::{Format, Loader, ServerConfig, StreamableHttpConfig};

use crate::{VARS, load};

const SECRETS: &[&str] = &[
    "arxiv-secret-1",
    "ghp_secret2",
    "lin_secret3",
    "pg-secret4",
    "pat-secret5",
    "ghp_exampleTokenValue123",
];

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
    }
}

#[test]
fn debug_and_display_hide_env_and_header_values() {
    for name in ["native.json", "claude_desktop.json", "cursor.json", "claude_code/.mcp.json"] {
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
