//! [`Error`]: why a command of research-demo stopped, and [`Error::exit_code`], the one place
//! where a failure becomes an exit status.
//!
//! | status | when |
//! |---|---|
//! | 0 | the command finished: every query got an answer (a tool call that failed during the run went back to the model as the tool's result, and is part of that answer) |
//! | 1 | a server, the LLM, or the async runtime failed, and the command stopped |
//! | 2 | bad usage (clap's own errors exit 2 too) or a configuration that cannot be used |

use std::net::SocketAddr;

use agent_core::AgentError;
use research_demo::arxiv::api::ArxivError;
use research_demo::wikipedia::api::WikipediaError;

/// Exit status when something failed and the command stopped.
pub(crate) const EXIT_FAILED: u8 = 1;

/// Exit status for bad usage or configuration (as clap's for the usage errors it finds).
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why a command stopped. Each message says what failed, naming the file, address or server,
/// and the cause is in the message (never also the `source()`, so it prints once).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The `--config` file cannot be loaded (its message starts with the file's name).
    #[error("{0}")]
    ConfigFile(mcp_config::LoadError),
    /// The built-in servers' configuration is not valid.
    #[error("the built-in servers' configuration is not valid: {0}")]
    ServerConfig(mcp_config::ConfigError),
    /// The LLM settings (`--base-url`, `--model`, `OPENAI_*`) cannot be used.
    #[error("{0}")]
    LlmConfig(AgentError),
    /// The loopback server of the recorded fixtures could not start.
    #[error("cannot start the fixture server on loopback: {reason}")]
    Fixtures {
        /// The I/O error.
        reason: std::io::Error,
    },
    /// The arXiv client could not be set up.
    #[error("{0}")]
    ArxivApi(ArxivError),
    /// The Wikipedia client could not be set up (such as for a `--language` that is not one).
    #[error("{0}")]
    WikipediaApi(WikipediaError),
    /// The Wikipedia server cannot listen on its address.
    #[error("cannot listen on {address}: {reason}; choose another port")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        reason: std::io::Error,
    },
    /// The Wikipedia server stopped serving.
    #[error("the Wikipedia server at {address} stopped")]
    ServerStopped {
        /// Where it listened.
        address: SocketAddr,
    },
    /// `serve arxiv`: the MCP client on stdin/stdout did not initialize the session.
    #[error("the MCP client did not initialize: {reason}")]
    McpInitialize {
        /// rmcp's error.
        reason: String,
    },
    /// `serve arxiv`: the MCP session on stdin/stdout failed.
    #[error("the MCP session failed: {reason}")]
    McpSession {
        /// rmcp's error.
        reason: String,
    },
    /// The research assistant's run failed: its LLM (tool failures go to the model instead).
    #[error("{0}")]
    Run(AgentError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl Error {
    /// The exit status: [`EXIT_USAGE`] for usage and configuration, else [`EXIT_FAILED`].
    pub(crate) fn exit_code(&self) -> u8 {
        match self.kind() {
            Kind::Usage | Kind::Config => EXIT_USAGE,
            Kind::Server | Kind::Llm | Kind::Runtime => EXIT_FAILED,
        }
    }

    /// What failed.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Error::ConfigFile(_) | Error::ServerConfig(_) | Error::LlmConfig(_) => Kind::Config,
            Error::WikipediaApi(WikipediaError::Invalid(_)) => Kind::Usage,
            Error::Fixtures { .. }
            | Error::ArxivApi(_)
            | Error::WikipediaApi(_)
            | Error::Listen { .. }
            | Error::ServerStopped { .. }
            | Error::McpInitialize { .. }
            | Error::McpSession { .. } => Kind::Server,
            Error::Run(AgentError::Session(_)) => Kind::Server,
            Error::Run(_) => Kind::Llm,
            Error::Runtime(_) => Kind::Runtime,
        }
    }
}

/// What failed, as the `kind` of `--json`'s `error` line says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// An option or argument that cannot be used (exit 2).
    Usage,
    /// A config file, the LLM settings or the servers' configuration (exit 2).
    Config,
    /// One of the demo's servers, or an MCP session (exit 1).
    Server,
    /// The LLM (exit 1).
    Llm,
    /// The process itself, such as the async runtime (exit 1).
    Runtime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_2_and_failures_are_1() {
        let load = mcp_config::MCPConfig::load("/nonexistent/mcp.json").unwrap_err();
        assert_eq!(Error::ConfigFile(load).exit_code(), 2);
        let base = agent_core::LlmOverrides::new().base_url("ftp://example.com/".parse().unwrap());
        let bad_base = agent_core::LLMConfig::from_env_with(base).unwrap_err();
        assert_eq!(Error::LlmConfig(bad_base).exit_code(), 2);
        let language =
            research_demo::wikipedia::api::WikipediaApi::live("no/such", std::time::Duration::ZERO)
                .unwrap_err();
        assert_eq!(Error::WikipediaApi(language).kind(), Kind::Usage);
        assert_eq!(Error::WikipediaApi(WikipediaError::Invalid(String::new())).exit_code(), 2);

        let llm = AgentError::Llm { status: Some(500), message: "boom".into() };
        assert_eq!(Error::Run(llm).exit_code(), 1);
        let reason = std::io::Error::other("in use");
        let listen = Error::Listen { address: ([127, 0, 0, 1], 8000).into(), reason };
        assert_eq!((listen.kind(), listen.exit_code()), (Kind::Server, 1));
        assert_eq!(
            listen.to_string(),
            "cannot listen on 127.0.0.1:8000: in use; choose another port"
        );
    }
}
