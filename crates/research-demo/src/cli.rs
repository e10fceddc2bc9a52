//! The command line: `research-demo [ask] [QUERY]`, `serve arxiv`, `serve wikipedia` (clap).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::error::Error;

/// The research assistant of the seed notebook, and its MCP servers.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    /// Log more to stderr: -v info, -vv debug, -vvv trace.
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

    /// Whether the command prints `--json` lines (only `ask` does).
    pub(crate) fn json(&self) -> bool {
        match &self.command {
            None => self.ask.json,
            Some(Command::Ask(args)) => args.json,
            Some(Command::Route(args)) => args.json,
            Some(Command::Serve(_)) => false,
        }
    }
}

/// The commands a mistyped first word may have meant (`help` is clap's own).
const COMMANDS: [&str; 4] = ["ask", "route", "serve", "help"];

/// The servers `serve` serves, which may follow a mistyped `serve`.
const SERVED: [&str; 2] = ["arxiv", "wikipedia"];

/// The query's first word and the command it is a near miss of, when the query is that word
/// alone, or a mistyped `serve` and a server's name.
fn near_miss(query: &[String]) -> Option<(String, &'static str)> {
    let (word, rest) = query.split_first()?;
    if word.is_empty() || word.chars().any(char::is_whitespace) {
        return None;
    }
    let lower = word.to_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    let (distance, suggestion) = COMMANDS
        .into_iter()
        .map(|command| (edit_distance(&lower, command), command))
        .min_by_key(|&(distance, _)| distance)?;
    let fits = match rest {
        [] => true,
        [server] => suggestion == "serve" && SERVED.contains(&server.as_str()),
        _ => false,
    };
    (fits && distance <= limit && word != suggestion).then(|| (word.clone(), suggestion))
}

/// Edit distance in characters, where swapping two neighbours is one edit (optimal string
/// alignment: `sevre` is one edit from `serve`).
fn edit_distance(a: &str, b: &str) -> usize {
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
    /// Rank the servers' tools for a request, without a model (the tool router).
    Route(RouteArgs),
    /// Serve one of the demo's MCP servers.
    #[command(subcommand)]
    Serve(Serve),
}

/// `research-demo route`.
#[derive(Debug, Args)]
pub(crate) struct RouteArgs {
    /// The request to route.
    #[arg(required = true)]
    pub(crate) query: Vec<String>,
    /// Rank the tools of this MCP config file's servers instead of the built-in two.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// How many tools to show.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) top: u16,
    /// Print one JSON object per tool: `server`, `tool`, `score` and `why`.
    #[arg(long)]
    pub(crate) json: bool,
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
    /// Use the servers of this MCP config file (any format mcp-config reads) instead of the
    /// built-in two.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Use the offline planner even when OPENAI_API_KEY is set.
    #[arg(long, conflicts_with_all = ["base_url", "model"])]
    pub(crate) offline: bool,
    /// The OpenAI-compatible endpoint to ask [default: OPENAI_BASE_URL, else OpenAI's].
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<Url>,
    /// The model [default: OPENAI_MODEL, else gpt-4o].
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// Let the built-in servers ask the real arXiv and Wikipedia instead of recorded fixtures.
    #[arg(long)]
    pub(crate) live: bool,
    /// The port of the built-in Wikipedia server [default: any free port; the notebook's is 8000].
    #[arg(long, value_name = "PORT", conflicts_with = "config")]
    pub(crate) wikipedia_port: Option<u16>,
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
        for typo in ["serv", "servee", "Serve", "server", "srve", "sevre"] {
            assert_eq!(suggestion(&[typo]), Some("serve"), "{typo}");
        }
        assert_eq!(suggestion(&["serv", "arxiv"]), Some("serve"));
        assert_eq!(suggestion(&["aks"]), Some("ask"));
        assert_eq!(suggestion(&["hepl"]), Some("help"));
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
