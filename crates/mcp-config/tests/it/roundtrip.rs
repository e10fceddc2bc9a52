//! Serialize → load gives back the same configuration.

use mcp_config::{Format, MCPConfig, ServerConfig, StdioConfig};

use crate::load;

#[test]
fn every_fixture_round_trips_through_native_json() {
    for name in [
        "seed.json",
        "native.json",
        "native.toml",
        "claude_desktop.json",
        "cursor.json",
        "vscode/.vscode/mcp.json",
        "claude_code/.mcp.json",
    ] {
        let config = load(name).config;
        let text = config.to_json_string();
        let again = MCPConfig::from_str(&text, Format::Json)
            .unwrap_or_else(|err| panic!("{name}: {err}\n{text}"));
        assert_eq!(again.config, config, "{name} changed in a round trip:\n{text}");
        assert_eq!(again.warnings, [], "{name}");
    }
}

#[test]
fn values_that_look_like_variables_survive() {
    let server = StdioConfig::new("sh", "sh")
        .args(["-c", "echo ${HOME} $${X} $PATH"])
        .env("V", "${input:id}");
    let config = MCPConfig::new([server.into()]).unwrap();
    let loaded = MCPConfig::from_str(&config.to_json_string(), Format::Json).unwrap();
    assert_eq!(loaded.config, config);
    assert_eq!(loaded.warnings, [], "an escaped ${{input:…}} is not an input");
}

#[test]
fn serde_round_trip_without_expansion() {
    // The serde impls are plain data: no expansion, no escaping.
    let config = load("native.json").config;
    let json = serde_json::to_string(&config).unwrap();
    let back: MCPConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
    let toml_text = toml::to_string(&config).unwrap();
    let back: MCPConfig = toml::from_str(&toml_text).unwrap();
    assert_eq!(back, config);
}

#[test]
fn serde_refuses_duplicate_names() {
    let json = r#"{"servers": [{"transport": "stdio", "server_name": "a", "command": "x"},
                               {"transport": "stdio", "server_name": "a", "command": "y"}]}"#;
    let err = serde_json::from_str::<MCPConfig>(json).unwrap_err();
    assert!(err.to_string().starts_with("duplicate server name \"a\""), "{err}");
    let one: ServerConfig = serde_json::from_str(
        r#"{"transport": "http", "server_name": "h", "url": "http://127.0.0.1:1/mcp"}"#,
    )
    .unwrap();
    assert_eq!(one.transport(), mcp_config::TransportKind::StreamableHttp);
    let ftp = r#"{"transport": "sse", "server_name": "f", "url": "ftp://127.0.0.1/sse"}"#;
    let err = serde_json::from_str::<ServerConfig>(ftp).unwrap_err();
    assert!(err.to_string().contains("the scheme is `ftp`, expected `http` or `https`"), "{err}");
}
