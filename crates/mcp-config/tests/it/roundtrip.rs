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
        "claude_code_oauth/.mcp.json",
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

#[test]
fn tools_and_catalog_round_trip() {
    use std::time::Duration;

    use mcp_config::{CatalogSettings, SseConfig, StreamableHttpConfig, ToolFilter};

    let tools = ToolFilter::default()
        .allow(["read_*", "list_{files,dirs}", "a\\*b"])
        .unwrap()
        .deny(["*secret*"])
        .unwrap();
    let deny_only = ToolFilter::default().deny(["drop_*"]).unwrap();
    let catalog =
        CatalogSettings::default().ttl(Duration::from_millis(1500)).max_pages(3).max_items(7);
    let config = MCPConfig::new([
        StdioConfig::new("s", "x").tools(tools.clone()).catalog(catalog).into(),
        SseConfig::new("e", "http://127.0.0.1:1/sse").unwrap().tools(deny_only.clone()).into(),
        StreamableHttpConfig::new("h", "http://127.0.0.1:1/mcp")
            .unwrap()
            .catalog(CatalogSettings::default().ttl(Duration::ZERO))
            .into(),
        StdioConfig::new("d", "y").into(),
    ])
    .unwrap();
    let text = config.to_json_string();
    let again = MCPConfig::from_str(&text, Format::Json).unwrap();
    assert_eq!(again.config, config, "{text}");
    assert_eq!(*again.config.get("s").unwrap().tools(), tools);
    assert!(again.config.get("s").unwrap().tools().allows("a*b"));
    assert_eq!(*again.config.get("s").unwrap().catalog(), catalog);
    // An empty filter and default catalog are left out; a set one is written whole.
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(written["servers"][3].get("tools").is_none(), "{text}");
    assert!(written["servers"][3].get("catalog").is_none(), "{text}");
    assert_eq!(
        written["servers"][0]["tools"],
        serde_json::json!({"allow": ["read_*", "list_{files,dirs}", "a\\*b"], "deny": ["*secret*"]})
    );
    assert_eq!(
        written["servers"][1]["tools"],
        serde_json::json!({"allow": [], "deny": ["drop_*"]})
    );
    assert_eq!(
        written["servers"][0]["catalog"],
        serde_json::json!({"ttl": 1.5, "max_pages": 3, "max_items": 7})
    );
    assert_eq!(written["servers"][2]["catalog"]["ttl"], 0);
    // The plain serde impls too, in JSON and TOML.
    let back: MCPConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    let back: MCPConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    assert!(back.get("e").unwrap().tools().allows("create_table"));
    assert!(!back.get("e").unwrap().tools().allows("drop_table"));
    // Plain data: Debug shows the globs (not their compiled form); `redacted` keeps them.
    let debug = format!("{config:?}");
    assert!(
        debug.contains(
            r#"tools: ToolFilter { allow: ["read_*", "list_{files,dirs}", "a\\*b"], deny: ["*secret*"] }"#
        ),
        "{debug}"
    );
    assert!(debug.contains("catalog: CatalogSettings { ttl: 1.5s, max_pages: 3, max_items: 7 }"));
    assert_eq!(config.redacted(), config);
}

#[test]
fn serde_refuses_unknown_catalog_keys() {
    let json =
        r#"{"transport": "stdio", "server_name": "a", "command": "x", "catalog": {"max_page": 2}}"#;
    let err = serde_json::from_str::<ServerConfig>(json).unwrap_err().to_string();
    assert!(err.contains("unknown field `max_page`, expected one of `ttl`, `max_pages`"), "{err}");
    let partial =
        r#"{"transport": "stdio", "server_name": "a", "command": "x", "catalog": {"ttl": "1m"}}"#;
    let server: ServerConfig = serde_json::from_str(partial).unwrap();
    let want = mcp_config::CatalogSettings::default().ttl(std::time::Duration::from_secs(60));
    assert_eq!(*server.catalog(), want, "unset keys keep their defaults");
    let tools =
        r#"{"transport": "stdio", "server_name": "a", "command": "x", "tools": {"deny": ["x"]}}"#;
    let server: ServerConfig = serde_json::from_str(tools).unwrap();
    assert_eq!(server.tools().deny_patterns(), ["x"]);
    assert!(server.tools().allow_patterns().is_empty(), "unset lists are empty");
}

/// The JSON Schema describes `tools` and `catalog` for every transport, and `auth` for the
/// remote ones (`auth::schema_describes_auth` validates files against it).
#[test]
fn schema_describes_tools_and_catalog() {
    let schema = MCPConfig::json_schema();
    let defs = &schema["$defs"];
    assert_eq!(defs["ToolFilter"]["properties"]["allow"]["items"]["type"], "string");
    assert_eq!(defs["ToolFilter"]["properties"]["deny"]["type"], "array");
    assert_eq!(defs["ToolFilter"]["additionalProperties"], false);
    assert_eq!(defs["CatalogSettings"]["properties"]["max_pages"]["minimum"], 1);
    assert_eq!(defs["CatalogSettings"]["properties"]["max_items"]["default"], 10_000);
    assert_eq!(defs["CatalogSettings"]["properties"]["ttl"]["default"], 300);
    let variants = defs["ServerConfig"]["oneOf"].as_array().unwrap();
    assert_eq!(variants.len(), 3);
    for variant in variants {
        assert_eq!(variant["properties"]["tools"]["$ref"], "#/$defs/ToolFilter", "{variant}");
        assert_eq!(variant["properties"]["catalog"]["$ref"], "#/$defs/CatalogSettings");
        let remote = variant["properties"]["transport"]["const"] != "stdio";
        assert_eq!(variant["properties"]["auth"]["$ref"] == "#/$defs/Auth", remote, "{variant}");
    }
}
