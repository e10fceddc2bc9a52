//! The servers of one repetition: `testkit-mcp` and FastMCP, over HTTP and SSE as long-running
//! processes, and over stdio as the command each cold session spawns.

use std::path::Path;
use std::process::Stdio;

use mcp_session::mcp_config::{ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig};
use testkit::peers::{PeerProcess, Peers};
use tokio::io::AsyncBufReadExt;

use crate::{Args, Error};

/// The installed peers, or an error saying how to install them.
pub(crate) fn peers() -> Result<Peers, Error> {
    testkit::peers::peers().filter(|peers| peers.ag2_python().is_file()).ok_or_else(|| {
        "the peers are missing: run `cargo xtask peers` and set MCP_PEERS_DIR=target/peers".into()
    })
}

/// The transports, in report order.
pub(crate) const TRANSPORTS: [&str; 3] = ["stdio", "sse", "http"];

/// The transport called `name`.
pub(crate) fn transport(name: &str) -> Result<&'static str, Error> {
    TRANSPORTS
        .into_iter()
        .find(|known| *known == name)
        .ok_or_else(|| format!("unknown transport {name:?}: stdio, sse or http").into())
}

/// The server's name in the configuration of every session of ours.
pub(crate) const NAME: &str = "bench";

/// One server over one transport, as each client needs it.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// `stdio`, `sse` or `http`.
    pub(crate) transport: &'static str,
    /// For stdio: the program and its arguments.
    pub(crate) command: Vec<String>,
    /// For SSE and HTTP: the endpoint.
    pub(crate) url: String,
}

impl Target {
    fn stdio(command: Vec<String>) -> Target {
        Target { transport: "stdio", command, url: String::new() }
    }

    fn url(transport: &'static str, url: &str) -> Target {
        Target { transport, command: Vec::new(), url: url.to_owned() }
    }

    /// A target from its transport and its [`Target::python_arg`] form.
    pub(crate) fn parse(transport_name: &str, target: &str) -> Result<Target, Error> {
        Ok(match transport(transport_name)? {
            "stdio" => Target::stdio(serde_json::from_str(target)?),
            known => Target::url(known, target),
        })
    }

    /// Our client's config for it.
    pub(crate) fn config(&self) -> Result<ServerConfig, Error> {
        Ok(match self.transport {
            "stdio" => StdioConfig::new(NAME, &self.command[0]).args(&self.command[1..]).into(),
            "sse" => SseConfig::new(NAME, &self.url)?.into(),
            _ => StreamableHttpConfig::new(NAME, &self.url)?.into(),
        })
    }

    /// The Python clients' TARGET argument: the URL, or the command as a JSON array.
    pub(crate) fn python_arg(&self) -> String {
        if self.transport == "stdio" {
            serde_json::to_string(&self.command).unwrap_or_default()
        } else {
            self.url.clone()
        }
    }
}

/// testkit-mcp over HTTP and SSE, and the command that runs it over stdio.
pub(crate) struct Testkit {
    command: String,
    http: TestkitProcess,
    sse: TestkitProcess,
}

impl Testkit {
    /// Starts testkit-mcp over HTTP and SSE on free loopback ports.
    pub(crate) async fn start(testkit: &Path) -> Result<Testkit, Error> {
        let command = testkit.display().to_string();
        Ok(Testkit {
            http: TestkitProcess::start(&command, "http").await?,
            sse: TestkitProcess::start(&command, "sse").await?,
            command,
        })
    }

    /// testkit-mcp over `transport`.
    pub(crate) fn target(&self, transport: &'static str) -> Target {
        match transport {
            "stdio" => Target::stdio(vec![self.command.clone(), "stdio".to_owned()]),
            "sse" => Target::url(transport, &self.sse.url),
            _ => Target::url(transport, &self.http.url),
        }
    }
}

/// Every server of a run, stopped when dropped.
pub(crate) struct Servers {
    testkit: Testkit,
    fastmcp_stdio: Vec<String>,
    fastmcp_http: PeerProcess,
    fastmcp_sse: PeerProcess,
}

impl Servers {
    /// Starts testkit-mcp and FastMCP over HTTP and SSE on free loopback ports.
    pub(crate) async fn start(args: &Args) -> Result<Servers, Error> {
        let peers = peers()?;
        let (program, script_args) = peers.fastmcp_stdio();
        let fastmcp_stdio = std::iter::once(program).chain(script_args).collect();
        let (fastmcp_http, fastmcp_sse) = tokio::task::spawn_blocking(move || {
            (peers.start_fastmcp("http"), peers.start_fastmcp("sse"))
        })
        .await?;
        Ok(Servers {
            testkit: Testkit::start(args.testkit()?).await?,
            fastmcp_stdio,
            fastmcp_http,
            fastmcp_sse,
        })
    }

    /// `server` (`testkit` or `fastmcp`) over `transport`.
    pub(crate) fn target(&self, server: &str, transport: &'static str) -> Target {
        match (server, transport) {
            ("testkit", _) => self.testkit.target(transport),
            (_, "stdio") => Target::stdio(self.fastmcp_stdio.clone()),
            (_, "sse") => Target::url(transport, &self.fastmcp_sse.url),
            _ => Target::url(transport, &self.fastmcp_http.url),
        }
    }
}

/// `testkit-mcp MODE` on a free loopback port, killed when dropped.
pub(crate) struct TestkitProcess {
    url: String,
    _child: tokio::process::Child,
}

impl TestkitProcess {
    /// Starts `testkit MODE --port 0` (`http` or `sse`) and reads the URL it prints.
    pub(crate) async fn start(testkit: &str, mode: &str) -> Result<TestkitProcess, Error> {
        let mut command = tokio::process::Command::new(testkit);
        command.args([mode, "--port", "0"]).stdout(Stdio::piped()).stderr(Stdio::null());
        command.kill_on_drop(true);
        // Also when this process is killed outright (`SIGKILL`), with no drop: the signal follows
        // the thread that forks, a worker of the runtime or the main thread, which live as long
        // as the process.
        // SAFETY: the closure runs in the child between fork and exec, where it makes one system
        // call and allocates nothing.
        #[cfg(target_os = "linux")]
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        tokio::io::BufReader::new(stdout).read_line(&mut line).await?;
        Ok(TestkitProcess { url: line.trim().to_owned(), _child: child })
    }

    /// Its endpoint.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}
