//! Real MCP peers installed by `cargo xtask peers`: the reference server-everything (Node) and a
//! FastMCP server (Python), located through `MCP_PEERS_DIR`.
//!
//! Without `MCP_PEERS_DIR` (or with peers missing) [`peers`] returns `None` and the test says it
//! is skipped, unless `CI=true`: then a missing peer fails the test, so CI cannot pass without
//! them.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
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

/// A free TCP port on 127.0.0.1.
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until something listens on `port` (bounded), or panics naming `what`.
fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status} before listening on port {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on port {port} within 30 s");
}

impl Peers {
    /// The Node preload that forces `listen` onto 127.0.0.1.
    pub fn loopback_preload() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/loopback.cjs")
    }

    /// The Python `mcp` SDK's SSE client script (`python_sse_client.py URL`).
    pub fn python_sse_client() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python_sse_client.py")
    }

    /// The FastMCP server script.
    pub fn fastmcp_script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/fastmcp_server.py")
    }

    /// server-everything's entry point.
    pub fn everything_script(&self) -> PathBuf {
        self.dir.join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
    }

    /// The venv's Python.
    pub fn python(&self) -> PathBuf {
        self.dir.join("venv/bin/python")
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
        let port = free_port();
        let out = std::fs::File::create(log).expect("log file");
        let mut child = Command::new("node")
            .arg("--require")
            .arg(Self::loopback_preload())
            .arg(self.everything_script())
            .arg(mode)
            .env("PORT", port.to_string())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("node runs");
        wait_for_port(port, "server-everything", &mut child);
        let path = if mode == "sse" { "sse" } else { "mcp" };
        PeerProcess { child, url: format!("http://127.0.0.1:{port}/{path}") }
    }

    /// Starts the FastMCP server in `mode` (`http`, `http-stateless-json` or `sse`) on a free
    /// loopback port.
    ///
    /// # Panics
    /// When it cannot start or does not listen.
    pub fn start_fastmcp(&self, mode: &str) -> PeerProcess {
        let port = free_port();
        let mut child = Command::new(self.python())
            .arg(Self::fastmcp_script())
            .arg(mode)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python runs");
        wait_for_port(port, "the FastMCP server", &mut child);
        let path = if mode == "sse" { "sse" } else { "mcp" };
        PeerProcess { child, url: format!("http://127.0.0.1:{port}/{path}") }
    }
}
