//! The command line (clap): `research-demo [ask] [QUERY]`, `chat`, `route`, `servers`, `tools`,
//! `call`, `login`, `logout`, `serve arxiv`, `serve wikipedia` and `completions`. The flags that choose the
//! servers, shared by every command that talks to them, are [`ServerArgs`] (`sources.rs`); those
//! that choose the LLM, shared by `ask` and `chat`, are [`LlmArgs`].

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::error::Error;
pub(crate) use crate::sources::ServerArgs;

/// The research assistant of the seed notebook, and its MCP servers.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    /// Log more to stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set, wins). rmcp's
    /// OAuth module, which logs the authorization code at debug, stays at info at most unless
    /// RUST_LOG names its target, rmcp::transport::auth.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) ask: AskArgs,
}

impl Cli {
    /// The command to run: `ask` when none is named.
    ///
    /// # Errors
    /// [`Error::NearMissCommand`] when no command is named and the query's first word looks
    /// like a mistyped one (`serv`, `servee`, `aks`): alone, or (for `serve`) followed by the
    /// name of a server. `research-demo ask WORD` asks it anyway.
    pub(crate) fn into_command(self) -> Result<Command, Error> {
        match self.command {
            Some(command) => Ok(command),
            None => match near_miss(&self.ask.query) {
                Some((given, suggestion)) => Err(Error::NearMissCommand { given, suggestion }),
                None => Ok(Command::Ask(self.ask)),
            },
        }
    }

    /// Whether the command prints JSON lines (`--json`; `serve` never does), and so ends a
    /// failure with an `error` line.
    pub(crate) fn json(&self) -> bool {
        match &self.command {
            None => self.ask.json,
            Some(Command::Ask(args)) => args.json,
            Some(Command::Chat(args)) => args.json,
            Some(Command::Route(args)) => args.json,
            Some(Command::Servers(args)) => args.json,
            Some(Command::Tools(args)) => args.json,
            Some(Command::Call(args)) => args.json,
            Some(
                Command::Login(_)
                | Command::Logout(_)
                | Command::Serve(_)
                | Command::Completions(_),
            ) => false,
        }
    }
}

/// The commands a mistyped first word may have meant (`help` is clap's own). Of two as near,
/// the first wins: `server` is a near miss of `servers` (and of `serve`, when a server's name
/// follows).
const COMMANDS: [&str; 11] = [
    "ask",
    "chat",
    "route",
    "servers",
    "tools",
    "call",
    "login",
    "logout",
    "serve",
    "completions",
    "help",
];

/// The servers `serve` serves, which may follow a mistyped `serve`.
const SERVED: [&str; 2] = ["arxiv", "wikipedia"];

/// The query's first word and the command it is a near miss of, when the query is that word
/// alone, or a mistyped `serve` and a server's name.
fn near_miss(query: &[String]) -> Option<(String, &'static str)> {
    let (word, rest) = query.split_first()?;
    if word.is_empty() || word.chars().any(char::is_whitespace) {
        return None;
    }
    let candidates: &[&'static str] = match rest {
        [] => &COMMANDS,
        [server] if SERVED.contains(&server.as_str()) => &["serve"],
        _ => return None,
    };
    let lower = word.to_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    let (distance, suggestion) = candidates
        .iter()
        .map(|&command| (edit_distance(&lower, command), command))
        .min_by_key(|&(distance, _)| distance)?;
    (distance <= limit && word != suggestion).then(|| (word.clone(), suggestion))
}

/// Edit distance in characters, where swapping two neighbours is one edit (optimal string
/// alignment: `sevre` is one edit from `serve`).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // rows[i][j]: the distance between a[..i] and b[..j].
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = rows[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// A command.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Ask the research assistant a question (the default command).
    Ask(AskArgs),
    /// Talk with the research assistant, one message after another; its sessions stay open
    /// between them. /help lists the chat's commands.
    Chat(ChatArgs),
    /// Rank the servers' tools for a request, without a model (the tool router).
    Route(RouteArgs),
    /// Start every server and show its transport, health, protocol version, tool count and
    /// ping time; exit 1 if any is unreachable.
    Servers(ServersArgs),
    /// List the servers' tools (their `tools` filters applied), grouped by server.
    Tools(ToolsArgs),
    /// Call one tool of one server and print its result; exit 1 if it reports an error.
    Call(CallArgs),
    /// Log in to a server whose config has `"auth": {"type": "oauth"}`: authorize in a browser
    /// and store the tokens; exit 1 if the login fails.
    #[command(after_help = TOKENS_HELP)]
    Login(LoginArgs),
    /// Forget the OAuth tokens stored for a server (the authorization server is not told).
    #[command(after_help = TOKENS_HELP)]
    Logout(LogoutArgs),
    /// Serve one of the demo's MCP servers.
    #[command(subcommand)]
    Serve(Serve),
    /// Print the shell completions of research-demo for SHELL on stdout.
    #[command(
        after_help = "Load them in the current shell with, for bash: source <(research-demo \
completions bash); for zsh: source <(research-demo completions zsh); for fish: research-demo \
completions fish | source."
    )]
    Completions(CompletionsArgs),
}

/// `research-demo completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// The LLM the assistant thinks with: `ask` and `chat`.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct LlmArgs {
    /// Use the offline planner even when OPENAI_API_KEY is set.
    #[arg(long, conflicts_with_all = ["base_url", "model"])]
    pub(crate) offline: bool,
    /// The OpenAI-compatible endpoint to ask [default: OPENAI_BASE_URL, else OpenAI's].
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<Url>,
    /// The model [default: OPENAI_MODEL, else gpt-4o].
    #[arg(long)]
    pub(crate) model: Option<String>,
}

/// `research-demo chat`.
#[derive(Debug, Args)]
#[command(after_help = "In the chat: /servers, /tools [SERVER...], /help, /exit. Ctrl-C cancels \
the answer under way (the sessions stay open); at the prompt, Ctrl-C leaves (exit 130), and so \
do Ctrl-D and /exit (exit 0). With stdin not a terminal, each line is a message, and the end \
of stdin leaves.")]
pub(crate) struct ChatArgs {
    #[command(flatten)]
    pub(crate) llm: LlmArgs,
    /// The most turns of the research assistant for each message.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) max_turns: u16,
    /// Keep the prompt's history in this file [default: research-demo/chat_history under
    /// XDG_STATE_HOME, else ~/.local/state]; only on a terminal.
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub(crate) history: Option<PathBuf>,
    /// Keep no history file (the prompt still has this chat's history).
    #[arg(long)]
    pub(crate) no_history: bool,
    /// Print the conversation as JSON lines (see docs/demo.md for their format).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// `research-demo route`.
#[derive(Debug, Args)]
pub(crate) struct RouteArgs {
    /// The request to route.
    #[arg(required = true)]
    pub(crate) query: Vec<String>,
    /// How many tools to show.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) top: u16,
    /// Print one JSON object per tool: `server`, `tool`, `score`, `why` (and `similarity` with
    /// `--embeddings-url`, `example` when one of `--examples` led to the tool).
    #[arg(long)]
    pub(crate) json: bool,
    /// Rank by meaning too: the OpenAI-compatible embeddings endpoint to ask
    /// (`http://127.0.0.1:8080/v1`); by words alone when it fails.
    #[arg(long, value_name = "URL")]
    pub(crate) embeddings_url: Option<Url>,
    /// The embedding model, with `--embeddings-url` [default: all-MiniLM-L6-v2].
    #[arg(long, value_name = "NAME", requires = "embeddings_url")]
    pub(crate) embedding_model: Option<String>,
    /// Requests that tools served, one JSON object a line (`{"server": "time", "tool":
    /// "get_current_time", "request": "what time is it in Lima?"}`): a request near one of them
    /// points at its tool. With `--embeddings-url`.
    #[arg(long, value_name = "FILE", requires = "embeddings_url")]
    pub(crate) examples: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// `research-demo servers`.
#[derive(Debug, Args)]
pub(crate) struct ServersArgs {
    /// Print one JSON object per server: `server`, `transport`, `state`, `protocol_version`,
    /// `tools`, `latency_ms` and `reason`.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// `research-demo tools`.
#[derive(Debug, Args)]
pub(crate) struct ToolsArgs {
    /// Only these servers' tools [default: every server's].
    #[arg(value_name = "SERVER")]
    pub(crate) names: Vec<String>,
    /// Print one JSON object per tool, with its whole schemas: `server`, `name`,
    /// `description`, `inputSchema` and `outputSchema` (when it has one).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// `research-demo call`.
#[derive(Debug, Args)]
#[command(after_help = "The arguments are JSON_OBJECT and the --arg pairs together; a key given \
twice (in both, or in two --arg) is an error. An --arg value is JSON when it parses as JSON \
(--arg n=5 is the number 5, --arg tags='[\"a\"]' a list), else a string (--arg q=hello); \
quote it as JSON to force a string: --arg 'n=\"5\"'.")]
pub(crate) struct CallArgs {
    /// The server.
    pub(crate) server: String,
    /// The tool.
    pub(crate) tool: String,
    /// The tool's arguments, as a JSON object, such as '{"query": "llm"}' [default: {}].
    #[arg(value_name = "JSON_OBJECT", value_parser = crate::call::parse_object)]
    pub(crate) arguments: Option<serde_json::Map<String, serde_json::Value>>,
    /// One argument, KEY=VALUE; VALUE is JSON when it parses as JSON, else a string. Repeatable.
    #[arg(long = "arg", value_name = "KEY=VALUE", value_parser = crate::call::parse_pair)]
    pub(crate) args: Vec<(String, serde_json::Value)>,
    /// Print the result as the server sent it: one JSON object (`content`, `structuredContent`,
    /// `isError`).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// Where `login` and `logout` keep the tokens, and how the other commands use them.
const TOKENS_HELP: &str = "The tokens are kept in a 0600 file per server and URL under \
$MCP_SESSION_STATE_DIR/oauth, else $XDG_STATE_HOME/mcp-session-rs/oauth, else \
~/.local/state/mcp-session-rs/oauth. The commands that talk to servers use them and refresh them; \
when none works they open a browser to log in again only when stdin and stderr are terminals, \
else they fail with exit 1 and ask for `research-demo login SERVER`. The BROWSER variable, when \
set, is the program that opens the login page (its URL appended); else xdg-open (open on macOS). \
No token is ever printed.";

/// `research-demo login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The server, by its name in the config (--config, --discover, --url…).
    #[arg(value_name = "SERVER")]
    pub(crate) server: String,
    /// Log in without a browser, following the authorization server's redirects: only for
    /// servers that approve at once (test servers); a login page fails.
    #[arg(long)]
    pub(crate) headless: bool,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// `research-demo logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The server, by its name in the config (--config, --discover, --url…).
    #[arg(value_name = "SERVER")]
    pub(crate) server: String,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// A server to serve.
#[derive(Debug, Subcommand)]
pub(crate) enum Serve {
    /// The arXiv MCP server, over stdin/stdout.
    Arxiv(ArxivArgs),
    /// The Wikipedia MCP server: legacy SSE at /sse and /message, streamable HTTP at /mcp.
    Wikipedia(WikipediaArgs),
}

/// `research-demo [ask]`.
#[derive(Debug, Args)]
pub(crate) struct AskArgs {
    /// The question [default: the seed's two queries, one after the other].
    pub(crate) query: Vec<String>,
    #[command(flatten)]
    pub(crate) llm: LlmArgs,
    /// Keep each server's session open across the assistant's tool calls, in a session pool that
    /// restarts a server that died, instead of opening one inside every call (the notebook's way).
    #[arg(long)]
    pub(crate) keep_alive: bool,
    /// The most turns of the research assistant.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) max_turns: u16,
    /// Print the conversation as JSON lines (see docs/demo.md for their format).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) servers: ServerArgs,
}

/// `research-demo serve arxiv`.
#[derive(Debug, Args)]
pub(crate) struct ArxivArgs {
    /// Where downloaded papers are stored [default: `research-demo-arxiv` in the temp dir].
    #[arg(long, value_name = "DIR")]
    pub(crate) storage_path: Option<PathBuf>,
    /// Ask the real arXiv instead of the recorded fixtures.
    #[arg(long, conflicts_with = "api_base")]
    pub(crate) live: bool,
    /// Ask the arXiv API at this base URL (which serves `/api/query` and `/html/ID`).
    #[arg(long, value_name = "URL")]
    pub(crate) api_base: Option<Url>,
    /// The least time between two requests to arXiv, in milliseconds [default: 3000 with `--live`, else 0].
    #[arg(long, value_name = "MS")]
    pub(crate) rate_limit_ms: Option<u64>,
}

/// `research-demo serve wikipedia`.
#[derive(Debug, Args)]
pub(crate) struct WikipediaArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: IpAddr,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    /// The Wikipedia language, such as en, de or simple (with `--live`).
    #[arg(long, default_value = "en")]
    pub(crate) language: String,
    /// Ask the real Wikipedia instead of the recorded fixtures.
    #[arg(long, conflicts_with = "api_base")]
    pub(crate) live: bool,
    /// Ask the Wikipedia at this base URL (which serves `/w/api.php` and `/api/rest_v1/`).
    #[arg(long, value_name = "URL")]
    pub(crate) api_base: Option<Url>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn no_command_is_ask() {
        let cli = Cli::try_parse_from(["research-demo", "--json", "a", "question"]).unwrap();
        assert!(cli.json());
        let Ok(Command::Ask(args)) = cli.into_command() else { panic!("not ask") };
        assert!(args.json);
        assert!(!args.keep_alive, "the seed's flow is the default");
        assert_eq!(args.query, ["a", "question"]);
        let cli = Cli::try_parse_from(["research-demo", "--keep-alive", "q"]).unwrap();
        let Ok(Command::Ask(args)) = cli.into_command() else { panic!("not ask") };
        assert!(args.keep_alive);
    }

    #[test]
    fn chat_and_completions_say_whether_they_print_json() {
        let cli = Cli::try_parse_from(["research-demo", "chat", "--json", "--offline"]).unwrap();
        assert!(cli.json());
        let Ok(Command::Chat(args)) = cli.into_command() else { panic!("not chat") };
        assert!(args.llm.offline);
        assert_eq!(args.max_turns, 2);
        let cli = Cli::try_parse_from(["research-demo", "completions", "zsh"]).unwrap();
        assert!(!cli.json());
        assert!(Cli::try_parse_from(["research-demo", "completions", "tcsh"]).is_err());
        assert!(
            Cli::try_parse_from(["research-demo", "chat", "--offline", "--model", "m"]).is_err()
        );
    }

    fn suggestion(args: &[&str]) -> Option<&'static str> {
        let cli = Cli::try_parse_from(std::iter::once("research-demo").chain(args.iter().copied()))
            .unwrap();
        match cli.into_command() {
            Err(Error::NearMissCommand { suggestion, .. }) => Some(suggestion),
            Err(err) => panic!("{err}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn a_near_miss_of_a_command_is_not_a_query() {
        for typo in ["serv", "servee", "Serve", "srve", "sevre"] {
            assert_eq!(suggestion(&[typo]), Some("serve"), "{typo}");
        }
        assert_eq!(suggestion(&["serv", "arxiv"]), Some("serve"));
        assert_eq!(suggestion(&["server", "wikipedia"]), Some("serve"));
        for (typo, command) in
            [("server", "servers"), ("Servers", "servers"), ("tols", "tools"), ("cal", "call")]
        {
            assert_eq!(suggestion(&[typo]), Some(command), "{typo}");
        }
        assert_eq!(suggestion(&["aks"]), Some("ask"));
        assert_eq!(suggestion(&["chta"]), Some("chat"));
        assert_eq!(suggestion(&["completion"]), Some("completions"));
        assert_eq!(suggestion(&["hepl"]), Some("help"));
        assert_eq!(suggestion(&["logni"]), Some("login"));
        assert_eq!(suggestion(&["logut"]), Some("logout"));
        // Questions, even of one word, and a word after an explicit `ask`.
        for query in [
            &["serv", "me", "papers"][..],
            &["transformers"],
            &["LLMs"],
            &["api"],
            &["What is MCP?"],
            &["ask", "serv"],
        ] {
            assert_eq!(suggestion(query), None, "{query:?}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("sevre", "serve"), 1);
    }
}
