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

#[test]
fn pool_settings_round_trip() {
    use std::time::Duration;

    use mcp_config::{PoolSettings, SseConfig, StreamableHttpConfig};

    let pool = PoolSettings::default()
        .max_in_flight(1)
        .max_queued(0)
        .idle_timeout(Duration::from_millis(1500))
        .max_restarts(0)
        .healthy_after(Duration::from_secs(120))
        .backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_secs(30))
        .ping_timeout(Duration::from_millis(250))
        .degraded_after(Duration::from_millis(100));
    let config = MCPConfig::new([
        StdioConfig::new("s", "x").pool(pool).into(),
        SseConfig::new("e", "http://127.0.0.1:1/sse").unwrap().pool(pool).into(),
        StreamableHttpConfig::new("h", "http://127.0.0.1:1/mcp").unwrap().pool(pool).into(),
        StdioConfig::new("d", "y").into(),
    ])
    .unwrap();
    let text = config.to_json_string();
    let again = MCPConfig::from_str(&text, Format::Json).unwrap();
    assert_eq!(again.config, config, "{text}");
    assert_eq!(*again.config.get("h").unwrap().pool(), pool);
    // A default pool is left out; a set one is written whole, durations as seconds.
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(written["servers"][3].get("pool").is_none(), "{text}");
    assert_eq!(
        written["servers"][0]["pool"],
        serde_json::json!({
            "max_in_flight": 1, "max_queued": 0, "idle_timeout": 1.5, "max_restarts": 0,
            "healthy_after": 120, "backoff": 0.01, "max_backoff": 30, "ping_timeout": 0.25,
            "degraded_after": 0.1
        })
    );
    // The plain serde impls too, in JSON and TOML.
    let back: MCPConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    let back: MCPConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    // A pool is plain data: Debug shows it; `redacted` keeps it.
    assert!(format!("{config:?}").contains("pool: PoolSettings { max_in_flight: 1, max_queued: 0"));
    assert_eq!(config.redacted(), config);
}

#[test]
fn serde_refuses_unknown_pool_keys() {
    let json = r#"{"transport": "stdio", "server_name": "a", "command": "x", "pool": {"max_inflight": 2}}"#;
    let err = serde_json::from_str::<ServerConfig>(json).unwrap_err().to_string();
    assert!(err.contains("unknown field `max_inflight`, expected one of `max_in_flight`"), "{err}");
    let partial =
        r#"{"transport": "stdio", "server_name": "a", "command": "x", "pool": {"backoff": "1s"}}"#;
    let server: ServerConfig = serde_json::from_str(partial).unwrap();
    let want = mcp_config::PoolSettings::default().backoff(std::time::Duration::from_secs(1));
    assert_eq!(*server.pool(), want, "unset keys keep their defaults");
}
