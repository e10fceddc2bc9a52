//! The seed notebook's exact configuration, built in code and read from a file.

use std::time::Duration;

use mcp_config::{ConfigError, MCPConfig, SseConfig, StdioConfig};

use crate::load;

/// As the notebook writes it.
fn seed_in_code() -> MCPConfig {
    let arxiv_server = StdioConfig::new("ArxivServer", "python3").args([
        "mcp/mcp_arxiv.py",
        "stdio",
        "--storage-path",
        "/tmp/arxiv_papers",
    ]);
    let wikipedia_server = SseConfig::new("WikipediaServer", "http://127.0.0.1:8000/sse")
        .unwrap()
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    MCPConfig::new([arxiv_server.into(), wikipedia_server.into()]).unwrap()
}

#[test]
fn seed_config_from_file_equals_seed_config_in_code() {
    assert_eq!(load("seed.json").config, seed_in_code());
}

#[test]
fn seed_config_prints_like_the_notebook() {
    let config = seed_in_code();
    assert_eq!(config.len(), 2);
    assert_eq!(
        config.to_string(),
        "ArxivServer (stdio: python3 mcp/mcp_arxiv.py stdio --storage-path /tmp/arxiv_papers)\n\
         WikipediaServer (sse: http://127.0.0.1:8000/sse)"
    );
}

#[test]
fn get_server_config_as_in_the_notebook() {
    let config = seed_in_code();
    assert_eq!(config.get("ArxivServer").unwrap().server_name(), "ArxivServer");
    // The notebook's KeyError lists the existing servers; ours also suggests the closest one.
    let err = config.get("Wikipedia").unwrap_err();
    assert_eq!(
        err,
        ConfigError::UnknownServer {
            name: "Wikipedia".into(),
            known: vec!["ArxivServer".into(), "WikipediaServer".into()],
            suggestion: Some("WikipediaServer".into()),
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown MCP server \"Wikipedia\": did you mean \"WikipediaServer\"? Known servers: ArxivServer, WikipediaServer"
    );
    assert_eq!(
        config.get("Github").unwrap_err().to_string(),
        "unknown MCP server \"Github\": Known servers: ArxivServer, WikipediaServer"
    );
    assert_eq!(
        MCPConfig::default().get("x").unwrap_err().to_string(),
        "unknown MCP server \"x\": the configuration has no servers; add one"
    );
}

#[test]
fn duplicate_and_empty_names_are_refused_in_code() {
    let a = StdioConfig::new("ArxivServer", "python3");
    assert_eq!(
        MCPConfig::new([a.clone().into(), a.into()]),
        Err(ConfigError::DuplicateName { name: "ArxivServer".into() })
    );
    assert_eq!(MCPConfig::new([StdioConfig::new(" ", "x").into()]), Err(ConfigError::EmptyName));
}
