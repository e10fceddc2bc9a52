//! MCP server configurations and the files that hold them.
//!
//! An application that talks to many [MCP] servers describes each one here: a local process
//! spoken to over stdio ([`StdioConfig`]), a legacy HTTP+SSE endpoint ([`SseConfig`]) or a
//! streamable HTTP endpoint ([`StreamableHttpConfig`]). An [`MCPConfig`] holds them all under
//! unique names, and `mcp-session` opens sessions from them. Each server also carries its
//! [`Timeouts`], the [`PoolSettings`] and [`CatalogSettings`] that mcp-session's `SessionPool`
//! follows, and a [`ToolFilter`] saying which of its tools are used; a remote one its
//! [`AuthConfig`]: a bearer token read from an environment variable, or OAuth.
//!
//! This crate does no I/O beyond reading config files: no async, no network.
//!
//! # In code
//!
//! ```
//! use std::time::Duration;
//! use mcp_config::{MCPConfig, SseConfig, StdioConfig};
//!
//! let config = MCPConfig::new([
//!     StdioConfig::new("ArxivServer", "python3")
//!         .args(["mcp/mcp_arxiv.py", "stdio", "--storage-path", "/tmp/arxiv_papers"])
//!         .into(),
//!     SseConfig::new("WikipediaServer", "http://127.0.0.1:8000/sse")?
//!         .timeout(Duration::from_secs(10))
//!         .sse_read_timeout(Duration::from_secs(60))
//!         .into(),
//! ])?;
//! let err = config.get("Wikipedia").unwrap_err();
//! assert!(err.to_string().contains("did you mean \"WikipediaServer\"?"));
//! # Ok::<(), mcp_config::ConfigError>(())
//! ```
//!
//! # From files
//!
//! [`MCPConfig::load`] reads our native layout (JSON or TOML) and the files users already have:
//! Claude Desktop and Cursor (`mcpServers`), VS Code's `.vscode/mcp.json` (JSONC, `inputs`,
//! `envFile`, `${workspaceFolder}`) and Claude Code's `.mcp.json`. `${VAR}`,
//! `${VAR:-default}` and `${env:VAR}` expand from the environment. Every fault comes back as a
//! [`LoadError`] with file, line and column. `docs/configuration.md` describes every field.
//!
//! ```
//! use mcp_config::{Dialect, Loader, ServerConfig};
//!
//! let text = r#"{
//!   "mcpServers": {
//!     "github": { "url": "https://api.example.com/mcp", "headers": { "Authorization": "Bearer ${TOKEN}" } }
//!   }
//! }"#;
//! let loaded = Loader::new().vars([("TOKEN", "s3cret")]).load_str(text)?;
//! assert_eq!(loaded.dialect, Dialect::McpServers);
//! let ServerConfig::StreamableHttp(github) = loaded.config.get("github")? else { unreachable!() };
//! assert!(github.sse_fallback, "a bare `url` may be either HTTP transport");
//! assert!(!format!("{:?}", loaded.config).contains("s3cret"), "Debug hides header values");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Redaction
//!
//! [`redact`] is the one redaction of the workspace: [`redact::redact_url`],
//! [`redact::redact_url_text`] and [`redact::redact_text`] hide URL passwords and secret-looking
//! query values (tokens, keys, signatures, legacy SSE session ids) in anything about to be
//! printed, as configurations do in their own `Debug` and `Display`.
//!
//! [MCP]: https://modelcontextprotocol.io

#![doc(test(attr(deny(warnings))))]

mod auth;
mod config;
mod duration;
mod error;
mod filter;
mod load;
pub mod redact;
mod schema;
mod server;
mod suggest;

pub use auth::{AuthConfig, IdpConfig, OAuthConfig, OAuthGrant, SecretRef, SigningAlg};
pub use config::MCPConfig;
pub use error::{ConfigError, LoadError, LoadErrorKind, Location};
pub use filter::ToolFilter;
pub use load::{Dialect, Format, Loaded, Loader, Warning, WarningKind};
pub use server::{
    CatalogSettings, PoolSettings, Protocol, ServerConfig, SseConfig, StdioConfig,
    StreamableHttpConfig, Timeouts, TransportKind,
};
