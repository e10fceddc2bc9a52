//! Real MCP peers installed by `cargo xtask peers`: the reference server-everything (Node) and a
//! FastMCP server (Python), located through `MCP_PEERS_DIR`.
//!
//! When the peers are missing, [`peers`] returns `None` and the test says it is skipped, unless
//! [`peers_required`] says a missing peer must fail the test instead (inside `cargo xtask ci`,
//! when `MCP_PEERS_DIR` is set, or in CI).

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Set (to a truthy value) by `cargo xtask ci` for its test step: a missing peer fails.
pub const REQUIRE_PEERS_VAR: &str = "MCP_REQUIRE_PEERS";

/// Where the peers are.
#[derive(Clone, Debug)]
pub struct Peers {
    dir: PathBuf,
}

/// The installed peers, or `None` (after saying why) when a test should be skipped.
///
/// # Panics
/// When the peers are missing and [`peers_required`] says so.
pub fn peers() -> Option<Peers> {
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let dir = std::env::var_os("MCP_PEERS_DIR").map(PathBuf::from);
    match dir.clone().and_then(Peers::find) {
        Some(peers) => Some(peers),
        None => {
            if let Some(why) = peers_required(env) {
                let dir = dir.map_or_else(|| "unset".to_owned(), |d| d.display().to_string());
                panic!(
                    "the MCP peers are missing (MCP_PEERS_DIR: {dir}) and {why}: run `cargo xtask peers` \
                     and set MCP_PEERS_DIR=target/peers"
                )
            }
            let mut stderr = std::io::stderr();
            let _ = writeln!(
                stderr,
                "skipped: MCP peers not installed (run `cargo xtask peers`, set MCP_PEERS_DIR)"
            );
            None
        }
    }
}

/// Whether a missing peer fails the test instead of skipping it, and why; `var` reads an
/// environment variable. This one function decides, for every peer test.
///
/// A missing peer fails the test when
/// - `MCP_REQUIRE_PEERS` is truthy: `cargo xtask ci` sets it for its test step;
/// - `MCP_PEERS_DIR` is set (to anything but the empty string): whoever set it means to test
///   against the peers there;
/// - `CI` is truthy, as CI services set it.
///
/// Truthy is `1`, `true`, `yes` or `on`, ignoring case and surrounding spaces (see
/// [`is_truthy`]); `0`, `false`, `no`, the empty string or an unset variable are not.
///
/// ```
/// use testkit::peers::peers_required;
///
/// let env = |vars: &'static [(&'static str, &'static str)]| {
///     move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
/// };
/// assert_eq!(peers_required(env(&[])), None);
/// assert_eq!(peers_required(env(&[("CI", "0")])), None);
/// assert!(peers_required(env(&[("CI", "True")])).is_some());
/// assert!(peers_required(env(&[("MCP_PEERS_DIR", "target/peers")])).is_some());
/// assert!(peers_required(env(&[("MCP_REQUIRE_PEERS", "1")])).is_some());
/// ```
pub fn peers_required(var: impl Fn(&str) -> Option<String>) -> Option<&'static str> {
    if var(REQUIRE_PEERS_VAR).is_some_and(|v| is_truthy(&v)) {
        Some("MCP_REQUIRE_PEERS is set (as `cargo xtask ci` sets it)")
    } else if var("MCP_PEERS_DIR").is_some_and(|v| !v.is_empty()) {
        Some("MCP_PEERS_DIR is set")
    } else if var("CI").is_some_and(|v| is_truthy(&v)) {
        Some("CI is set")
    } else {
        None
    }
}

/// Whether an environment variable's value means yes: `1`, `true`, `yes` or `on`, ignoring
/// case and surrounding spaces. Anything else (`0`, `false`, `no`, `off`, empty) means no.
///
/// ```
/// use testkit::peers::is_truthy;
///
/// assert!(is_truthy("1") && is_truthy("TRUE") && is_truthy(" yes "));
/// assert!(!is_truthy("0") && !is_truthy("false") && !is_truthy(""));
/// ```
pub fn is_truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

impl Peers {
    /// The peers installed under `dir`, or `None` when some are missing; never fails a test
    /// (for tools such as the benchmark, which report missing peers their own way).
    pub fn find(dir: PathBuf) -> Option<Peers> {
        let installed = dir
            .join("npm/node_modules/@modelcontextprotocol/server-everything/package.json")
            .is_file()
            && dir.join("npm/node_modules/@modelcontextprotocol/inspector/package.json").is_file()
            && dir.join("venv/bin/python").is_file();
        installed.then_some(Peers { dir })
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

/// Copies the child's stdout and stderr to `log`, line by line, and waits (bounded) for the line
/// where the peer writes `marker` and a port number. Servers are started on port 0 and say which
/// port they got, so tests running side by side never race for a port; the line is read as it
/// is written, no polling.
fn port_from_output(log: &Path, marker: &str, what: &str, child: &mut Child) -> u16 {
    let file = std::fs::File::create(log).expect("log file");
    let (lines, seen) = mpsc::channel::<String>();
    let copy =
        |out: Option<Box<dyn Read + Send>>, file: std::fs::File, lines: mpsc::Sender<String>| {
            let Some(out) = out else { return };
            std::thread::spawn(move || {
                let mut file = file;
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let _ = writeln!(file, "{line}");
                    // The receiver is gone once the port is known: keep draining the pipe.
                    let _ = lines.send(line);
                }
            });
        };
    let stdout = child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>);
    let stderr = child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>);
    copy(stdout, file.try_clone().expect("log file"), lines.clone());
    copy(stderr, file, lines);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match seen.recv_timeout(left) {
            Ok(line) => {
                let port = line.find(marker).and_then(|at| {
                    let digits: String = line[at + marker.len()..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse::<u16>().ok()
                });
                // Both peers say it once the socket listens: that line is the event itself.
                if let Some(port) = port {
                    return port;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("{what} exited with {status} before listening; its log:\n{text}");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "{what} did not say where it listens within 30 s; its log is {}",
                log.display()
            ),
        }
    }
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
        let mut child = Command::new("node")
            .arg("--require")
            .arg(Self::loopback_preload())
            .arg(self.everything_script())
            .arg(mode)
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("node runs");
        let port =
            port_from_output(log, "loopback.cjs: listening on ", "server-everything", &mut child);
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
        let mut child = Command::new(self.python())
            .arg(Self::fastmcp_script())
            .arg(mode)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python runs");
        let port = port_from_output(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Child {
        Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh runs")
    }

    #[test]
    fn the_port_is_read_from_the_line_that_says_it_and_the_output_is_logged() {
        let log = log_file("port-test");
        // `exec cat` keeps the fake peer running, on its stdin, until it is killed.
        let mut child = shell("echo starting; echo 'listening on 4242' >&2; exec cat");
        assert_eq!(port_from_output(&log, "listening on ", "fake peer", &mut child), 4242);
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        assert!(text.contains("listening on 4242"), "{text}");
    }

    #[test]
    fn a_peer_that_exits_before_listening_fails_with_its_log() {
        let log = log_file("exit-test");
        let mut child = shell("echo 'no node here' >&2; exit 3");
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            port_from_output(&log, "listening on ", "fake peer", &mut child)
        }))
        .expect_err("no port");
        let _ = std::fs::remove_file(&log);
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("fake peer exited with exit status: 3"), "{message}");
        assert!(message.contains("no node here"), "{message}");
    }

    #[test]
    fn truthy_values() {
        for yes in ["1", "true", "TRUE", "True", "yes", "YES", "on", " true\n"] {
            assert!(is_truthy(yes), "{yes:?}");
        }
        for no in ["", "0", "false", "FALSE", "no", "off", "2", "truthy", "y"] {
            assert!(!is_truthy(no), "{no:?}");
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_missing_peer_fails_in_xtask_ci_with_a_peers_dir_or_in_ci() {
        assert!(peers_required(env(&[("MCP_REQUIRE_PEERS", "1")])).is_some());
        assert!(peers_required(env(&[("MCP_PEERS_DIR", "/nowhere")])).is_some());
        for ci in ["1", "true", "yes", "TRUE"] {
            assert!(peers_required(env(&[("CI", ci)])).is_some(), "CI={ci}");
        }
    }

    #[test]
    fn a_missing_peer_is_skipped_elsewhere() {
        assert_eq!(peers_required(env(&[])), None);
        for ci in ["", "0", "false", "no"] {
            assert_eq!(peers_required(env(&[("CI", ci)])), None, "CI={ci}");
        }
        assert_eq!(peers_required(env(&[("MCP_REQUIRE_PEERS", "0"), ("MCP_PEERS_DIR", "")])), None);
    }
}
