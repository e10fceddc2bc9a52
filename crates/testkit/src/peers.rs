//! Real MCP peers installed by `cargo xtask peers`: the reference server-everything (Node) and a
//! FastMCP server (Python), located through `MCP_PEERS_DIR`.
//!
//! Without `MCP_PEERS_DIR` (or with peers missing) [`peers`] returns `None` and the test says it
//! is skipped, unless `CI=true`: then a missing peer fails the test, so CI cannot pass without
//! them.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the peers are.
#[derive(Clone, Debug)]
pub struct Peers {
    dir: PathBuf,
}

/// The installed peers, or `None` (after saying why) when a test should be skipped.
///
/// # Panics
/// When `CI` is `true` and the peers are missing.
pub fn peers() -> Option<Peers> {
    let dir = std::env::var_os("MCP_PEERS_DIR").map(PathBuf::from);
    let found = dir.filter(|dir| {
        dir.join("npm/node_modules/@modelcontextprotocol/server-everything/package.json").is_file()
            && dir.join("npm/node_modules/@modelcontextprotocol/inspector/package.json").is_file()
            && dir.join("venv/bin/python").is_file()
    });
    match found {
        Some(dir) => Some(Peers { dir }),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but the MCP peers are missing: run `cargo xtask peers` and set MCP_PEERS_DIR=target/peers"
            )
        }
        None => {
            let mut stderr = std::io::stderr();
            let _ = writeln!(
                stderr,
                "skipped: MCP peers not installed (run `cargo xtask peers`, set MCP_PEERS_DIR)"
            );
            None
        }
    }
}

/// A peer server process, killed (with its children) on drop.
#[derive(Debug)]
pub struct PeerProcess {
    child: Child,
    /// The URL it serves, for HTTP modes.
    pub url: String,
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log file for one peer process.
fn log_file(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    std::env::temp_dir().join(format!("mcp-peer-{name}-{}-{n}.log", std::process::id()))
}

/// Waits (bounded) until the peer writes `marker` and a port number to `log`, and something
/// listens there. Servers are started on port 0 and say which port they got, so tests running
/// side by side never race for a port.
fn port_from_log(log: &Path, marker: &str, what: &str, child: &mut Child) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let port = text.find(marker).and_then(|at| {
            let digits: String =
                text[at + marker.len()..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u16>().ok()
        });
        if let Some(port) = port.filter(|&p| TcpStream::connect(("127.0.0.1", p)).is_ok()) {
            return port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before listening; its log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not say where it listens within 30 s; its log is {}", log.display());
}

impl Peers {
    /// The Node preload that forces `listen` onto 127.0.0.1.
    pub fn loopback_preload() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/loopback.cjs")
    }

    /// The Python `mcp` SDK's client script: `python_client.py SSE_URL [TOOL [ARGUMENTS_JSON]]`
    /// or `python_client.py stdio TOOL ARGUMENTS_JSON COMMAND [ARG...]`.
    pub fn python_client() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python_client.py")
    }

    /// The FastMCP server script.
    pub fn fastmcp_script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/fastmcp_server.py")
    }

    /// server-everything's entry point.
    pub fn everything_script(&self) -> PathBuf {
        self.dir.join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
    }

    /// mcp-inspector's command line entry point (run it with `node`, then `--cli`).
    pub fn inspector_script(&self) -> PathBuf {
        self.dir.join(
            "npm/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js",
        )
    }

    /// The venv's Python.
    pub fn python(&self) -> PathBuf {
        self.dir.join("venv/bin/python")
    }

    /// The Python of the AG2 venv (`ag2[mcp,openai]`, which pins `mcp` 1.x), for benchmarks.
    pub fn ag2_python(&self) -> PathBuf {
        self.dir.join("ag2-venv/bin/python")
    }

    /// The command and arguments that run server-everything over stdio.
    pub fn everything_stdio(&self) -> (String, Vec<String>) {
        (
            "node".to_owned(),
            vec![
                "--require".to_owned(),
                Self::loopback_preload().display().to_string(),
                self.everything_script().display().to_string(),
                "stdio".to_owned(),
            ],
        )
    }

    /// The command and arguments that run the FastMCP server over stdio.
    pub fn fastmcp_stdio(&self) -> (String, Vec<String>) {
        (
            self.python().display().to_string(),
            vec![Self::fastmcp_script().display().to_string(), "stdio".to_owned()],
        )
    }

    /// Starts server-everything over streamable HTTP on a free loopback port; its stderr and
    /// stdout go to `log`.
    ///
    /// # Panics
    /// When it cannot start or does not listen.
    pub fn start_everything_http(&self, log: &Path) -> PeerProcess {
        self.start_everything("streamableHttp", log)
    }

    /// Starts server-everything in `mode` (`streamableHttp` or `sse`) on a free loopback port;
    /// its stderr and stdout go to `log`.
    ///
    /// # Panics
    /// When it cannot start or does not listen.
    pub fn start_everything(&self, mode: &str, log: &Path) -> PeerProcess {
        let out = std::fs::File::create(log).expect("log file");
        let mut child = Command::new("node")
            .arg("--require")
            .arg(Self::loopback_preload())
            .arg(self.everything_script())
            .arg(mode)
            .env("PORT", "0")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("node runs");
        let port =
            port_from_log(log, "loopback.cjs: listening on ", "server-everything", &mut child);
        let path = if mode == "sse" { "sse" } else { "mcp" };
        PeerProcess { child, url: format!("http://127.0.0.1:{port}/{path}") }
    }

    /// Starts the FastMCP server in `mode` (`http`, `http-stateless-json` or `sse`) on a free
    /// loopback port.
    ///
    /// # Panics
    /// When it cannot start or does not listen.
    pub fn start_fastmcp(&self, mode: &str) -> PeerProcess {
        let log = log_file("fastmcp");
        let out = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(self.python())
            .arg(Self::fastmcp_script())
            .arg(mode)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("python runs");
        let port = port_from_log(
            &log,
            "Uvicorn running on http://127.0.0.1:",
            "the FastMCP server",
            &mut child,
        );
        let _ = std::fs::remove_file(&log);
        let path = if mode == "sse" { "sse" } else { "mcp" };
        PeerProcess { child, url: format!("http://127.0.0.1:{port}/{path}") }
    }
}
