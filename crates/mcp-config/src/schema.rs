//! The JSON Schema of the native config file.

use schemars::JsonSchema;

use crate::server::ServerConfig;

/// The native config file, as its schema describes it.
#[derive(JsonSchema)]
#[schemars(
    title = "mcp-session-rs server configuration",
    description = "MCP servers for mcp-session-rs, each under its own `server_name`. See docs/configuration.md."
)]
#[allow(dead_code)] // only its schema is used
struct ConfigFile {
    /// Optional: the URL or path of this schema, for editors.
    #[serde(rename = "$schema", default)]
    schema: Option<String>,
    /// The servers. Names must be unique and non-empty.
    servers: Vec<ServerConfig>,
}

pub(crate) fn file_schema() -> serde_json::Value {
    schemars::schema_for!(ConfigFile).to_value()
}
