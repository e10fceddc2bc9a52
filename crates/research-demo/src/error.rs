//! [`Error`]: why a command of research-demo stopped, and [`Error::exit_code`], the one place
//! where a failure becomes an exit status.
//!
//! | status | when |
//! |---|---|
//! | 0 | the command finished: every query got an answer, and no server and no LLM failed on the way (a tool's own `is_error` result, which the model can work around, is not a failure); or stdout was closed (`\| head`) |
//! | 1 | a server, a tool, the LLM, or the async runtime failed (a server that needs `research-demo login` first included): during the run (a session that could not be opened, a call that failed in transport, the temporary agent's LLM; the answer, if any, is printed first) or so that the command stopped; `servers`: a server is unreachable; `tools`: a server could not be listed; `call`: the call failed, or its result is an error (`isError`) or breaks the tool's output schema |
//! | 2 | bad usage (clap's own errors exit 2 too; an empty query, a near miss of a command, a server or tool name that does not exist, `call` arguments that are not a JSON object or break the tool's input schema, a tool the config's `tools` filter leaves out) or a configuration that cannot be used (one with no servers, `--discover` finding no file, `login` of a server that does not use OAuth) |
//! | 130, 143 | SIGINT, SIGTERM: every session and server was closed first |

use std::net::SocketAddr;
use std::path::PathBuf;

use agent_core::AgentError;
use mcp_session::{SchemaSide, SessionError};
use research_demo::arxiv::api::ArxivError;
use research_demo::wikipedia::api::WikipediaError;

use crate::signal::Interrupt;

/// Exit status when something failed and the command stopped.
pub(crate) const EXIT_FAILED: u8 = 1;

/// Exit status for bad usage or configuration (as clap's for the usage errors it finds).
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why a command stopped. Each message says what failed, naming the file, address or server,
/// and the cause is in the message (never also the `source()`, so it prints once).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The query is empty or blank.
    #[error(
        "the query is empty; ask a question, such as \"Search for recent papers about large language models on ArxivServer\", or give none for the notebook's two"
    )]
    EmptyQuery,
    /// The query is one word that looks like a mistyped command.
    #[error(
        "unknown command `{given}`: did you mean `{suggestion}`? (to ask it as a question: research-demo ask {given})"
    )]
    NearMissCommand {
        /// The word given.
        given: String,
        /// The command it is close to.
        suggestion: &'static str,
    },
    /// The `--config` (or `--discover`) file names no server, and no ad-hoc server is given.
    #[error(
        "{}: the config file has no servers; add one, or leave out {flag} for the built-in two",
        path.display()
    )]
    NoServers {
        /// The file.
        path: PathBuf,
        /// The flag that chose it: `--config` or `--discover`.
        flag: &'static str,
    },
    /// The `--config` file cannot be loaded (its message starts with the file's name).
    #[error("{0}")]
    ConfigFile(mcp_config::LoadError),
    /// `--discover` found none of the files it looks for.
    #[error(
        "--discover found no MCP config file in {}: looked for {}; write one there, or name one with --config FILE",
        dir.display(),
        looked.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NothingDiscovered {
        /// The folder it looked in (the current one).
        dir: PathBuf,
        /// Every path it looked at, in order.
        looked: Vec<PathBuf>,
    },
    /// The current folder, where `--discover` looks, cannot be read.
    #[error("--discover cannot tell the current folder: {reason}")]
    CurrentDir {
        /// The I/O error.
        reason: std::io::Error,
    },
    /// A server named on the command line (`--server`, `tools SERVER`, `call SERVER`) is not
    /// one of the servers (the message lists them, and the closest).
    #[error("{0}")]
    UnknownServer(mcp_config::ConfigError),
    /// A server of `--stdio` or `--url` cannot be used as given.
    #[error("a server of --stdio or --url cannot be used: {0}")]
    AdHocServer(mcp_config::ConfigError),
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
    /// The research assistant's run failed: its LLM.
    #[error("{0}")]
    Run(AgentError),
    /// The run went on, but servers or the temporary agents' LLM failed during it (each went to
    /// the model as the tool's error first): a session that could not be opened, a call that
    /// failed in transport. In the order they happened.
    #[error("{}", failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    DuringRun {
        /// The failures; never empty.
        failures: Vec<AgentError>,
    },
    /// `route`: no server's tools could be listed.
    #[error("no server's tools could be listed: {}", failures.iter().map(|(_, err)| err.to_string()).collect::<Vec<_>>().join("; "))]
    NoCatalog {
        /// Each server and why.
        failures: Vec<(String, mcp_session::SessionError)>,
    },
    /// `route --examples`: the file cannot be read, or a line is not an example.
    #[error("{}: {reason}", path.display())]
    Examples {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line's number.
        reason: String,
    },
    /// `route`: no tool matches any word of the request.
    #[error("no tool of the servers matches any word of \"{query}\"; try other words")]
    NoRoute {
        /// The request.
        query: String,
    },
    /// `servers`: some servers are unreachable (their rows are printed all the same).
    #[error("unreachable: {}", reasons.join("; "))]
    Unreachable {
        /// Why each unreachable server is, each starting with its name.
        reasons: Vec<String>,
    },
    /// `tools`: some servers' tools could not be listed (the others' are printed).
    #[error(
        "the tools of {} could not be listed: {}",
        failures.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", "),
        failures.iter().map(|(_, err)| err.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Unlisted {
        /// Each server, and why.
        failures: Vec<(String, SessionError)>,
    },
    /// `call`: the server has no tool of that name (among those its `tools` filter lets
    /// through).
    #[error(
        "{server} has no tool `{tool}`{}; its tools: {}; `research-demo tools {server}` describes them",
        suggestion.as_ref().map(|name| format!(" (did you mean `{name}`?)")).unwrap_or_default(),
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownTool {
        /// The server.
        server: String,
        /// The tool asked for.
        tool: String,
        /// The server's tools.
        known: Vec<String>,
        /// The known tool closest to `tool`, when one is close.
        suggestion: Option<String>,
    },
    /// `call`: an argument is given twice (in JSON_OBJECT and an `--arg`, or in two `--arg`s).
    #[error(
        "the argument `{key}` is given twice; give each argument once, in JSON_OBJECT or in one --arg"
    )]
    DuplicateArgument {
        /// The argument's name.
        key: String,
    },
    /// `call`: the call failed (the server could not be reached, refused the call, or the
    /// arguments or result do not match the tool's schemas).
    #[error("{0}")]
    Call(SessionError),
    /// `call`: the tool answered with an error result (`isError`), printed on stdout.
    #[error("{tool} of {server} answered with an error: {text}")]
    ToolFailed {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The start of the error's text.
        text: String,
    },
    /// `chat`: a line starting with `/` that is no chat command.
    #[error(
        "unknown chat command /{given}{}; /help lists the commands",
        suggestion.map(|name| format!(" (did you mean /{name}?)")).unwrap_or_default()
    )]
    UnknownChatCommand {
        /// The word after the `/`.
        given: String,
        /// The command it is close to.
        suggestion: Option<&'static str>,
    },
    /// `chat`: a chat command given arguments it takes none of.
    #[error("/{given}: the command takes no arguments; /help lists the commands")]
    ChatArguments {
        /// The line after the `/`.
        given: String,
    },
    /// `chat`: the prompt could not be read any more (stdin or the terminal failed).
    #[error("the chat's prompt failed: {reason}")]
    Prompt {
        /// Why.
        reason: String,
    },
    /// stdout could not be written (other than closed, which is a quiet end).
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    /// SIGINT or SIGTERM stopped the command, which closed every session and server first.
    #[error("stopped by {signal}; every session and server it opened was closed")]
    Interrupted {
        /// The signal.
        signal: Interrupt,
    },
    /// `login`, `logout`: the server does not use OAuth.
    #[error(
        "{server} does not use OAuth ({has}); `research-demo login` and `logout` are for servers \
         whose config has `\"auth\": {{\"type\": \"oauth\"}}`"
    )]
    NotOAuth {
        /// The server.
        server: String,
        /// What it has instead: "its `auth` is `bearer`", "it is a stdio server".
        has: String,
    },
    /// `login`, `logout`: there is no state directory to keep the tokens in.
    #[error(
        "no place to keep OAuth tokens: {reason}; set MCP_SESSION_STATE_DIR to a folder for them"
    )]
    TokenStore {
        /// Why.
        reason: std::io::Error,
    },
    /// `login`: the authorization failed (or needs a person, for `--headless`); `logout`: the
    /// stored tokens could not be deleted.
    #[error("{0}")]
    Login(SessionError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl Error {
    /// The exit status: [`EXIT_USAGE`] for usage and configuration, 130 or 143 for SIGINT or
    /// SIGTERM, else [`EXIT_FAILED`].
    pub(crate) fn exit_code(&self) -> u8 {
        match (self, self.kind()) {
            (Error::Interrupted { signal }, _) => signal.exit_code(),
            (_, Kind::Usage | Kind::Config) => EXIT_USAGE,
            (_, Kind::Server | Kind::Llm | Kind::Runtime | Kind::Interrupted) => EXIT_FAILED,
        }
    }

    /// What failed.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Error::EmptyQuery
            | Error::NearMissCommand { .. }
            | Error::UnknownServer(_)
            | Error::AdHocServer(_)
            | Error::UnknownTool { .. }
            | Error::DuplicateArgument { .. }
            | Error::UnknownChatCommand { .. }
            | Error::ChatArguments { .. } => Kind::Usage,
            Error::ConfigFile(_)
            | Error::NoServers { .. }
            | Error::NothingDiscovered { .. }
            | Error::CurrentDir { .. }
            | Error::ServerConfig(_)
            | Error::LlmConfig(_)
            | Error::NotOAuth { .. }
            | Error::Examples { .. }
            | Error::TokenStore { .. } => Kind::Config,
            Error::Login(_) => Kind::Server,
            Error::Call(err) => call_kind(err),
            Error::WikipediaApi(WikipediaError::Invalid(_)) => Kind::Usage,
            Error::Fixtures { .. }
            | Error::ArxivApi(_)
            | Error::WikipediaApi(_)
            | Error::Listen { .. }
            | Error::ServerStopped { .. }
            | Error::McpInitialize { .. }
            | Error::McpSession { .. }
            | Error::NoCatalog { .. }
            | Error::NoRoute { .. }
            | Error::Unreachable { .. }
            | Error::Unlisted { .. }
            | Error::ToolFailed { .. } => Kind::Server,
            Error::Run(AgentError::Session(_)) => Kind::Server,
            Error::Run(_) => Kind::Llm,
            Error::DuringRun { failures } => match failures.first() {
                Some(AgentError::Session(_)) | None => Kind::Server,
                Some(_) => Kind::Llm,
            },
            Error::Interrupted { .. } => Kind::Interrupted,
            Error::Runtime(_) | Error::Prompt { .. } | Error::Stdout(_) => Kind::Runtime,
        }
    }
}

/// What a failed `call` was: the caller's mistake (exit 2: an unknown server, a tool the
/// `tools` filter leaves out, arguments that are not an object or break the input schema), or
/// the server's (exit 1: anything else, a result that breaks the output schema included).
fn call_kind(err: &SessionError) -> Kind {
    match err {
        SessionError::Config(_) | SessionError::InvalidArguments { .. } => Kind::Usage,
        SessionError::ToolFiltered { .. } => Kind::Config,
        SessionError::SchemaMismatch { violation, .. }
            if violation.side == SchemaSide::Arguments =>
        {
            Kind::Usage
        }
        _ => Kind::Server,
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
    /// SIGINT or SIGTERM (exit 130 or 143).
    Interrupted,
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

        assert_eq!((Error::EmptyQuery.kind(), Error::EmptyQuery.exit_code()), (Kind::Usage, 2));
        let no_servers = Error::NoServers { path: "mcp.json".into(), flag: "--config" };
        assert_eq!((no_servers.kind(), no_servers.exit_code()), (Kind::Config, 2));
        let interrupted = Error::Interrupted { signal: Interrupt::Sigint };
        assert_eq!((interrupted.kind(), interrupted.exit_code()), (Kind::Interrupted, 130));
        assert_eq!(Error::Interrupted { signal: Interrupt::Sigterm }.exit_code(), 143);
    }

    #[test]
    fn the_server_commands_errors_are_2_for_usage_and_1_for_failures() {
        let config = mcp_config::MCPConfig::new([]).unwrap();
        let unknown = Error::UnknownServer(config.get("nope").unwrap_err());
        assert_eq!((unknown.kind(), unknown.exit_code()), (Kind::Usage, 2));
        let nothing =
            Error::NothingDiscovered { dir: "/w".into(), looked: vec!["/w/mcp.json".into()] };
        assert_eq!((nothing.kind(), nothing.exit_code()), (Kind::Config, 2));
        assert_eq!(
            nothing.to_string(),
            "--discover found no MCP config file in /w: looked for /w/mcp.json; write one there, or name one with --config FILE"
        );
        let tool = Error::UnknownTool {
            server: "s".into(),
            tool: "ecko".into(),
            known: vec!["echo".into()],
            suggestion: Some("echo".into()),
        };
        assert_eq!(tool.exit_code(), 2);
        assert_eq!(
            tool.to_string(),
            "s has no tool `ecko` (did you mean `echo`?); its tools: echo; `research-demo tools s` describes them"
        );
        let filtered = SessionError::ToolFiltered { server: "s".into(), tool: "rm".into() };
        assert_eq!(Error::Call(filtered).exit_code(), 2);
        let closed = Error::Call(SessionError::Closed { server: "s".into() });
        assert_eq!((closed.kind(), closed.exit_code()), (Kind::Server, 1));
        let failed =
            Error::ToolFailed { server: "s".into(), tool: "t".into(), text: "boom".into() };
        assert_eq!(
            (failed.exit_code(), failed.to_string()),
            (1, "t of s answered with an error: boom".into())
        );
        let down = Error::Unreachable { reasons: vec!["a: gone".into(), "b: gone".into()] };
        assert_eq!(
            (down.exit_code(), down.to_string()),
            (1, "unreachable: a: gone; b: gone".into())
        );
    }

    #[test]
    fn login_usage_is_2_and_a_failed_login_is_1() {
        let not_oauth =
            Error::NotOAuth { server: "plain".into(), has: "it is a stdio server".into() };
        assert_eq!((not_oauth.kind(), not_oauth.exit_code()), (Kind::Config, 2));
        let reason = std::io::Error::other("no HOME");
        assert_eq!(Error::TokenStore { reason }.exit_code(), 2);
        let needed = SessionError::LoginRequired { server: "docs".into(), reason: "r".into() };
        let failed = Error::Login(needed);
        assert_eq!((failed.kind(), failed.exit_code()), (Kind::Server, 1));
        assert!(failed.to_string().contains("run `research-demo login docs`"), "{failed}");
    }

    #[test]
    fn failures_during_the_run_are_1_and_say_each() {
        let closed = mcp_session::SessionError::Closed { server: "ArxivServer".into() };
        let llm = AgentError::Llm { status: Some(500), message: "boom".into() };
        let err = Error::DuringRun { failures: vec![AgentError::Session(closed), llm] };
        assert_eq!((err.kind(), err.exit_code()), (Kind::Server, 1));
        let text = err.to_string();
        assert!(text.starts_with("ArxivServer: the session is closed; open a new one; "), "{text}");
        assert!(text.contains("HTTP 500"), "{text}");
        let llm = AgentError::LlmTimeout { after: std::time::Duration::from_secs(1) };
        let err = Error::DuringRun { failures: vec![llm] };
        assert_eq!((err.kind(), err.exit_code()), (Kind::Llm, 1));
    }
}
