//! Where the servers come from: [`ServerArgs`], the flags every command that talks to servers
//! shares (`ask`, `route`, `servers`, `tools`, `call`), and [`resolve`], which turns them into
//! an [`MCPConfig`] and starts what must run in-process ([`Servers`]).
//!
//! - the seed's two built-in servers by default: ArxivServer, this binary's `serve arxiv` over
//!   stdio, and WikipediaServer, served in-process on a loopback port (`--wikipedia-port`) and
//!   reached over legacy SSE, or already running at `--wikipedia-url`;
//! - `--config FILE` or `--discover` (the first of [`DISCOVERED`] in the current folder, said
//!   on stderr) replace them;
//! - `--server NAME` keeps only the named ones of those;
//! - `--stdio "CMD ARGS"` and `--url URL` add servers, whatever the rest says. Each gets a name
//!   of its own ([`ad_hoc_name`]): the program's file stem, or the URL's `host:port`, with `-2`,
//!   `-3`… when that name is taken.
//!
//! Nothing is chosen silently: a file found by `--discover` is named on stderr, a name of
//! `--server` that no server has is an error listing the known ones, and an empty selection is
//! an error.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use mcp_config::{MCPConfig, ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig};
use url::Url;

use crate::error::Error;
use crate::output::eprint_line;
use crate::serve::Wikipedia;

/// The files `--discover` looks for in the current folder, in this order: the first found is
/// used.
pub(crate) const DISCOVERED: [&str; 4] =
    ["mcp.json", ".mcp.json", ".vscode/mcp.json", ".cursor/mcp.json"];

/// The built-in Wikipedia server's name, as in the seed.
const WIKIPEDIA: &str = "WikipediaServer";

/// The flags that choose the servers, flattened into every command that talks to them.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Servers")]
pub(crate) struct ServerArgs {
    /// Use the servers of this MCP config file (any format mcp-config reads: native JSON or
    /// TOML, Claude Desktop, Cursor, VS Code, Claude Code) instead of the built-in two.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Use the servers of the first of mcp.json, .mcp.json, .vscode/mcp.json and
    /// .cursor/mcp.json found in the current folder (named on stderr) instead of the built-in
    /// two.
    #[arg(long, conflicts_with = "config")]
    pub(crate) discover: bool,
    /// Use only this server of the built-in two, --config or --discover (repeatable); servers
    /// of --stdio and --url are always used.
    #[arg(long = "server", value_name = "NAME")]
    pub(crate) only: Vec<String>,
    /// Also use the MCP server this command starts, over stdio: the program and its
    /// arguments, split as a shell would (repeatable). Named after the program
    /// (`testkit-mcp`), with -2, -3… when that name is taken.
    #[arg(long = "stdio", value_name = "\"CMD ARGS\"", value_parser = parse_stdio)]
    pub(crate) stdio: Vec<StdioCommand>,
    /// Also use the MCP server at this URL (repeatable): streamable HTTP, falling back to
    /// legacy SSE at the same URL when the server refuses streamable HTTP (HTTP 400, 404 or
    /// 405). Named `host:port` (or the host), with -2, -3… when that name is taken.
    #[arg(long = "url", value_name = "URL", value_parser = parse_http_url)]
    pub(crate) urls: Vec<Url>,
    /// The built-in WikipediaServer is already running at this URL (such as
    /// `research-demo serve wikipedia --port 8000` in another shell:
    /// http://127.0.0.1:8000/sse), instead of being started here: legacy SSE when the path
    /// ends in /sse, else streamable HTTP.
    #[arg(long, value_name = "URL", value_parser = parse_http_url)]
    #[arg(conflicts_with_all = ["config", "discover", "wikipedia_port"])]
    pub(crate) wikipedia_url: Option<Url>,
    /// The port of the built-in Wikipedia server started here [default: any free port; the
    /// notebook's is 8000].
    #[arg(long, value_name = "PORT", conflicts_with_all = ["config", "discover"])]
    pub(crate) wikipedia_port: Option<u16>,
    /// Let the built-in servers ask the real arXiv and Wikipedia instead of recorded fixtures.
    #[arg(long)]
    pub(crate) live: bool,
}

/// A `--stdio` value: a program and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StdioCommand {
    /// The program.
    pub(crate) program: String,
    /// Its arguments.
    pub(crate) args: Vec<String>,
}

/// Splits a `--stdio` value as a POSIX shell would (quotes and backslashes; no expansion).
fn parse_stdio(value: &str) -> Result<StdioCommand, String> {
    let words = shlex::split(value).ok_or_else(|| {
        "unbalanced quotes or a trailing backslash; quote the command as a shell would".to_owned()
    })?;
    let mut words = words.into_iter();
    match words.next() {
        Some(program) if !program.is_empty() => Ok(StdioCommand { program, args: words.collect() }),
        _ => {
            Err("no program to run; give one, such as --stdio \"npx -y my-mcp-server\"".to_owned())
        }
    }
}

/// An `http` or `https` URL.
fn parse_http_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|err| format!("not a URL: {err}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".to_owned()),
        other => Err(format!("an MCP server's URL is http or https, not {other}")),
    }
}

/// The chosen servers, and the Wikipedia server started here for them, if any.
#[derive(Debug)]
pub(crate) struct Servers {
    /// Every server to use.
    pub(crate) config: MCPConfig,
    /// The built-in Wikipedia server, when started in-process: it serves until
    /// [`stop`](Self::stop).
    wikipedia: Option<Wikipedia>,
}

impl Servers {
    /// Stops what [`resolve`] started (the in-process Wikipedia server). Close the sessions to
    /// it first.
    pub(crate) async fn stop(self) {
        if let Some(wikipedia) = self.wikipedia {
            wikipedia.stop().await;
        }
    }
}

/// What the servers were before `--server` and the ad-hoc ones.
enum Base {
    /// The seed's two; WikipediaServer's URL is known once it is started (or given).
    BuiltIn,
    /// A config file's, and the flag that chose it (`--config`, `--discover`).
    File(PathBuf, &'static str, MCPConfig),
}

/// The servers `args` choose, with the built-in Wikipedia server started here when it is
/// among them (and not `--wikipedia-url`). Errors come before anything is started.
///
/// # Errors
/// Exit 2: a config file that cannot be loaded or (with no ad-hoc server) has no servers,
/// `--discover` finding no file, a `--server` name no server has; exit 1: the Wikipedia server
/// cannot start.
pub(crate) async fn resolve(args: &ServerArgs) -> Result<Servers, Error> {
    let base = match (&args.config, args.discover) {
        (Some(path), _) => Base::File(path.clone(), "--config", load(path)?),
        (None, true) => {
            let dir = std::env::current_dir().map_err(|reason| Error::CurrentDir { reason })?;
            let found = discover(&dir)?;
            eprint_line(&format!("research-demo: using servers from {}", found.display()));
            Base::File(found.clone(), "--discover", load(&dir.join(&found))?)
        }
        (None, false) => Base::BuiltIn,
    };
    let configured: Vec<ServerConfig> = match &base {
        // WikipediaServer's URL here is a stand-in, replaced below.
        Base::BuiltIn => builtin(args.live, args.wikipedia_url.as_ref().map(Url::as_str))?,
        Base::File(_, _, config) => config.servers().to_vec(),
    };
    let ad_hoc = ad_hoc(args, configured.iter().map(ServerConfig::server_name))?;
    let every =
        MCPConfig::new(configured.iter().chain(&ad_hoc).cloned()).map_err(Error::AdHocServer)?;
    for name in &args.only {
        every.get(name).map_err(Error::UnknownServer)?;
    }
    let kept = configured.into_iter().filter(|server| {
        args.only.is_empty() || args.only.iter().any(|name| name == server.server_name())
    });
    let mut chosen: Vec<ServerConfig> = kept.chain(ad_hoc).collect();
    // The built-in two are never empty, and `--server` names only servers there are.
    if chosen.is_empty()
        && let Base::File(path, flag, _) = &base
    {
        return Err(Error::NoServers { path: path.clone(), flag });
    }
    let in_process = matches!(base, Base::BuiltIn) && args.wikipedia_url.is_none();
    let mut wikipedia = None;
    if in_process && let Some(at) = chosen.iter().position(|s| s.server_name() == WIKIPEDIA) {
        let address = SocketAddr::from(([127, 0, 0, 1], args.wikipedia_port.unwrap_or(0)));
        let started = Wikipedia::start(address, args.live, None, "en").await?;
        match wikipedia_config(&started.server.sse_url()) {
            Ok(server) => chosen[at] = server,
            Err(err) => {
                started.stop().await;
                return Err(err);
            }
        }
        wikipedia = Some(started);
    }
    match MCPConfig::new(chosen) {
        Ok(config) => Ok(Servers { config, wikipedia }),
        Err(err) => {
            Servers { config: MCPConfig::default(), wikipedia }.stop().await;
            Err(Error::AdHocServer(err))
        }
    }
}

/// The config file at `path`, its warnings said on stderr.
fn load(path: &Path) -> Result<MCPConfig, Error> {
    let loaded = MCPConfig::load(path).map_err(Error::ConfigFile)?;
    for warning in &loaded.warnings {
        eprint_line(&format!("research-demo: warning: {warning}"));
    }
    Ok(loaded.config)
}

/// The first of [`DISCOVERED`] that is a file in `dir`, relative to it.
fn discover(dir: &Path) -> Result<PathBuf, Error> {
    DISCOVERED.iter().map(PathBuf::from).find(|candidate| dir.join(candidate).is_file()).ok_or_else(
        || Error::NothingDiscovered {
            dir: dir.to_owned(),
            looked: DISCOVERED.iter().map(|name| dir.join(name)).collect(),
        },
    )
}

/// The seed's two servers: the arXiv server is this binary's own `serve arxiv`; the Wikipedia
/// one is at `wikipedia_url`, or (`None`) a stand-in URL for the one started here.
fn builtin(live: bool, wikipedia_url: Option<&str>) -> Result<Vec<ServerConfig>, Error> {
    let storage = std::env::temp_dir().join("arxiv_papers");
    let mut args = vec![
        "serve".to_owned(),
        "arxiv".to_owned(),
        "--storage-path".to_owned(),
        storage.display().to_string(),
    ];
    if live {
        args.push("--live".to_owned());
    }
    let arxiv = StdioConfig::new("ArxivServer", current_exe()).args(args);
    let wikipedia = match wikipedia_url {
        Some(url) if !Url::parse(url).is_ok_and(|url| url.path().ends_with("/sse")) => {
            StreamableHttpConfig::new(WIKIPEDIA, url)
                .map_err(Error::ServerConfig)?
                .timeout(Duration::from_secs(10))
                .into()
        }
        Some(url) => wikipedia_config(url)?,
        None => wikipedia_config("http://127.0.0.1/sse")?,
    };
    Ok(vec![arxiv.into(), wikipedia])
}

/// The built-in WikipediaServer over legacy SSE at `url`, with the seed's timeouts.
fn wikipedia_config(url: &str) -> Result<ServerConfig, Error> {
    let sse = SseConfig::new(WIKIPEDIA, url)
        .map_err(Error::ServerConfig)?
        .timeout(Duration::from_secs(10))
        .sse_read_timeout(Duration::from_secs(60));
    Ok(sse.into())
}

/// The servers of `--stdio` and `--url`, in that order, each named apart from `taken` and from
/// each other.
fn ad_hoc<'a>(
    args: &ServerArgs,
    taken: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<ServerConfig>, Error> {
    let mut taken: HashSet<String> = taken.into_iter().map(str::to_owned).collect();
    let mut servers = Vec::new();
    for command in &args.stdio {
        let name = ad_hoc_name(&stdio_base(&command.program), &mut taken);
        servers.push(StdioConfig::new(name, &command.program).args(command.args.clone()).into());
    }
    for url in &args.urls {
        let name = ad_hoc_name(&url_base(url), &mut taken);
        let http = StreamableHttpConfig::new(name, url.as_str()).map_err(Error::AdHocServer)?;
        servers.push(http.sse_fallback(true).into());
    }
    Ok(servers)
}

/// The name a `--stdio` server is given before clashes: the program's file stem (`python3`
/// for `/usr/bin/python3`, `server` for `./server.py`), or `stdio` when it has none.
fn stdio_base(program: &str) -> String {
    Path::new(program)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .filter(|stem| !stem.trim().is_empty())
        .unwrap_or_else(|| "stdio".to_owned())
}

/// The name a `--url` server is given before clashes: `host:port` when the URL names a port,
/// else the host.
fn url_base(url: &Url) -> String {
    let host = url.host_str().unwrap_or("url");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// `base`, or `base-2`, `base-3`… when it is taken; the name returned is taken from then on.
pub(crate) fn ad_hoc_name(base: &str, taken: &mut HashSet<String>) -> String {
    let mut name = base.to_owned();
    let mut suffix = 2;
    while taken.contains(&name) {
        name = format!("{base}-{suffix}");
        suffix += 1;
    }
    taken.insert(name.clone());
    name
}

/// This binary's path, which serves arXiv as `research-demo serve arxiv`.
fn current_exe() -> String {
    std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "research-demo".to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        servers: ServerArgs,
    }

    fn parse(args: &[&str]) -> Result<ServerArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|c| c.servers)
    }

    #[test]
    fn stdio_is_split_as_a_shell_would() {
        let command = parse_stdio(r#"npx -y "@scope/my server" --flag='a b' x\ y"#).unwrap();
        assert_eq!(command.program, "npx");
        assert_eq!(command.args, ["-y", "@scope/my server", "--flag=a b", "x y"]);
        assert!(parse_stdio(r#"python3 "server.py"#).unwrap_err().contains("unbalanced quotes"));
        assert!(parse_stdio("   ").unwrap_err().contains("no program"));
        assert!(parse_stdio("''").unwrap_err().contains("no program"));
        let err = parse(&["--stdio", "sh 'oops"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn urls_are_http_or_https() {
        assert!(parse_http_url("http://127.0.0.1:8000/sse").is_ok());
        assert!(parse_http_url("https://mcp.example.com/mcp").is_ok());
        assert!(parse_http_url("ftp://example.com/").unwrap_err().contains("not ftp"));
        assert!(parse_http_url("127.0.0.1:8000").is_err());
        assert!(parse(&["--url", "file:///tmp/x"]).is_err());
    }

    #[test]
    fn ad_hoc_names_are_readable_and_unique() {
        let mut taken: HashSet<String> =
            ["ArxivServer", "testkit-mcp"].into_iter().map(str::to_owned).collect();
        assert_eq!(ad_hoc_name("testkit-mcp", &mut taken), "testkit-mcp-2");
        assert_eq!(ad_hoc_name("testkit-mcp", &mut taken), "testkit-mcp-3");
        assert_eq!(ad_hoc_name("python3", &mut taken), "python3");
        assert_eq!(ad_hoc_name("python3", &mut taken), "python3-2");
        assert_eq!(stdio_base("/usr/local/bin/testkit-mcp"), "testkit-mcp");
        assert_eq!(stdio_base("./server.py"), "server");
        assert_eq!(stdio_base("/"), "stdio");
        let url = |text: &str| url_base(&Url::parse(text).unwrap());
        assert_eq!(url("http://127.0.0.1:8000/sse"), "127.0.0.1:8000");
        assert_eq!(url("https://mcp.example.com/mcp"), "mcp.example.com");
        assert_eq!(url("http://[::1]:9/mcp"), "[::1]:9");
    }

    #[test]
    fn ad_hoc_servers_never_take_a_configured_name() {
        let args = parse(&[
            "--stdio",
            "/bin/ArxivServer serve",
            "--stdio",
            "testkit-mcp stdio",
            "--url",
            "http://127.0.0.1:8000/mcp",
            "--url",
            "http://127.0.0.1:8000/sse",
        ])
        .unwrap();
        let servers = ad_hoc(&args, ["ArxivServer", "WikipediaServer"]).unwrap();
        let names: Vec<&str> = servers.iter().map(ServerConfig::server_name).collect();
        assert_eq!(names, ["ArxivServer-2", "testkit-mcp", "127.0.0.1:8000", "127.0.0.1:8000-2"]);
        let ServerConfig::StreamableHttp(http) = &servers[3] else { panic!("{servers:?}") };
        assert!(http.sse_fallback, "a URL of unknown kind may be legacy SSE");
        let ServerConfig::Stdio(stdio) = &servers[1] else { panic!("{servers:?}") };
        assert_eq!(
            (stdio.command.as_str(), stdio.args.as_slice()),
            ("testkit-mcp", &["stdio".to_owned()][..])
        );
    }

    #[test]
    fn the_wikipedia_url_picks_its_transport_by_path() {
        let servers = builtin(false, Some("http://127.0.0.1:8000/sse")).unwrap();
        assert!(matches!(&servers[1], ServerConfig::Sse(sse) if sse.server_name == WIKIPEDIA));
        let servers = builtin(false, Some("http://127.0.0.1:8000/mcp")).unwrap();
        assert!(matches!(&servers[1], ServerConfig::StreamableHttp(http) if !http.sse_fallback));
    }

    #[test]
    fn conflicting_sources_are_usage_errors() {
        use clap::error::ErrorKind::ArgumentConflict;
        for args in [
            &["--config", "a.json", "--discover"][..],
            &["--wikipedia-url", "http://127.0.0.1:8000/sse", "--config", "a.json"],
            &["--wikipedia-url", "http://127.0.0.1:8000/sse", "--discover"],
            &["--wikipedia-url", "http://127.0.0.1:8000/sse", "--wikipedia-port", "8000"],
            &["--wikipedia-port", "8000", "--discover"],
        ] {
            assert_eq!(parse(args).unwrap_err().kind(), ArgumentConflict, "{args:?}");
        }
        let both = parse(&["--discover", "--server", "a", "--server", "b", "--live"]).unwrap();
        assert_eq!(both.only, ["a", "b"]);
    }

    #[test]
    fn discover_takes_the_first_found_and_lists_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover(dir.path()).unwrap_err();
        let text = err.to_string();
        for name in DISCOVERED {
            assert!(text.contains(&dir.path().join(name).display().to_string()), "{text}");
        }
        assert_eq!(err.exit_code(), 2);
        std::fs::create_dir_all(dir.path().join(".cursor")).unwrap();
        std::fs::create_dir_all(dir.path().join(".vscode")).unwrap();
        std::fs::write(dir.path().join(".cursor/mcp.json"), "{}").unwrap();
        assert_eq!(discover(dir.path()).unwrap(), Path::new(".cursor/mcp.json"));
        std::fs::write(dir.path().join(".vscode/mcp.json"), "{}").unwrap();
        assert_eq!(discover(dir.path()).unwrap(), Path::new(".vscode/mcp.json"));
        // A folder of that name is not a file.
        std::fs::create_dir(dir.path().join(".mcp.json")).unwrap();
        assert_eq!(discover(dir.path()).unwrap(), Path::new(".vscode/mcp.json"));
        std::fs::write(dir.path().join("mcp.json"), "{}").unwrap();
        assert_eq!(discover(dir.path()).unwrap(), Path::new("mcp.json"));
    }
}
