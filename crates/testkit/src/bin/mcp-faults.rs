//! `mcp-faults`: the fault matrix. Runs every (fault, transport) case against our client
//! (mcp-session) and prints one JSON line per case (`testkit::faults::report::CaseReport`).
//!
//! ```text
//! mcp-faults [--assert] [--markdown FILE] [--bin-dir DIR]
//!     --assert         exit 1 when a case left processes running, hung, panicked, succeeded
//!                      where an error is required, or stopped the healthy server
//!     --markdown FILE  also write the matrix as a Markdown table
//!     --bin-dir DIR    where testkit-mcp and mcp-hold are (default: next to this binary)
//! ```
//!
//! Each case gets a fresh manager holding two sessions: a healthy `testkit-mcp stdio`, pinged with
//! `echo` every 100 ms during the case and once after it, and the faulty server, opened and
//! called with short timeouts (startup and request 2 s, close grace 200 ms). Every process of a
//! faulty stdio server carries a marker of its own in its environment, so the processes left
//! after its session closed are found in `/proc`. Every case is bounded by an outer timeout
//! (20 s), and the whole run by a watchdog (5 min).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mcp_session::mcp_config::{
    ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig, Timeouts,
};
use mcp_session::{CallOptions, MCPClientSessionManager, Session, SessionError};
use serde_json::json;
use testkit::faults::report::{CaseReport, Expect, markdown_table};
use testkit::procs::{MARKER_VAR, survivors};
use tokio::io::AsyncBufReadExt as _;

const STEP: Duration = Duration::from_secs(2);
const CLOSE_GRACE: Duration = Duration::from_millis(200);
const CASE_LIMIT: Duration = Duration::from_secs(20);
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// How long processes may take to end after a session is gone (a dropped session's group gets
/// SIGKILL after 2 s).
const LEFTOVER_WAIT: Duration = Duration::from_secs(4);

/// Which server a case talks to.
#[derive(Clone, Debug)]
enum Server {
    /// A stdio server: testkit-mcp with these arguments, or `sh -c SCRIPT` (`{testkit}` is
    /// replaced by testkit-mcp's path).
    Stdio(&'static [&'static str]),
    Shell(&'static str),
    /// An HTTP server, testkit-mcp with these arguments, that prints its URL.
    Url(&'static [&'static str]),
    /// A URL where nothing listens.
    Nobody,
    /// `mcp-hold` holding a session to `testkit-mcp stdio --ignore-eof`, killed with SIGKILL.
    HeldClient,
}

#[derive(Clone, Debug)]
struct Case {
    fault: &'static str,
    transport: &'static str,
    server: Server,
    expect: Expect,
    expected: &'static str,
    /// The tool called once the session is open: `echo`, or `sleep` for a hang mid-call.
    hang_call: bool,
    /// How many marked `sleep` processes to wait for before the call (escaping servers).
    escaped: usize,
}

const fn case(
    fault: &'static str,
    transport: &'static str,
    server: Server,
    expect: Expect,
    expected: &'static str,
) -> Case {
    Case { fault, transport, server, expect, expected, hang_call: false, escaped: 0 }
}

fn cases() -> Vec<Case> {
    use Expect::{Either, Error};
    use Server::{HeldClient, Nobody, Shell, Stdio, Url};
    let mut all = vec![
        case("crash at start", "stdio", Stdio(&["exit-at-once"]), Error, "ServerExited"),
        case("crash mid-call", "stdio", Stdio(&["fault", "crash-mid-call"]), Error, "ServerExited"),
        case("hang before initialize", "stdio", Stdio(&["silent"]), Error, "Timeout"),
        Case {
            hang_call: true,
            ..case("hang mid-call", "stdio", Stdio(&["stdio"]), Error, "Timeout")
        },
        case("garbage on stdout (only)", "stdio", Stdio(&["garbage"]), Error, "Handshake"),
        case("non-JSON lines between messages", "stdio", Stdio(&["fault", "noise"]), Either, "Ok"),
        case(
            "a message over the 64 MiB cap",
            "stdio",
            Stdio(&["fault", "oversize"]),
            Error,
            "ConnectionClosed",
        ),
        case(
            "a line that never ends",
            "stdio",
            Stdio(&["fault", "endless-line"]),
            Error,
            "Timeout",
        ),
        case("slow drip (1 byte/ms)", "stdio", Stdio(&["fault", "slow-drip"]), Either, "Ok"),
        case("wrong response id", "stdio", Stdio(&["fault", "wrong-id"]), Error, "Timeout"),
        case("duplicate response", "stdio", Stdio(&["fault", "duplicate-response"]), Either, "Ok"),
        case(
            "notification flood (100k)",
            "stdio",
            Stdio(&["fault", "notification-flood"]),
            Either,
            "Ok",
        ),
        Case {
            escaped: 1,
            ..case(
                "setsid grandchild",
                "stdio",
                Shell("setsid sleep 600 & exec {testkit} stdio"),
                Either,
                "Ok",
            )
        },
        Case {
            escaped: 1,
            ..case(
                "double-forked daemon",
                "stdio",
                Shell("(setsid sh -c 'sleep 600 &' &); exec {testkit} stdio"),
                Either,
                "Ok",
            )
        },
        case("client SIGKILLed", "stdio", HeldClient, Either, "Ok"),
    ];
    for transport in ["http", "sse"] {
        let (hang, working, reset): (&[&str], &[&str], &[&str]) = if transport == "http" {
            (&["http-fault", "hang"], &["http"], &["http-fault", "reset"])
        } else {
            (&["sse-fault", "hang"], &["sse"], &["http-fault", "reset"])
        };
        all.push(case("crash at start (nothing listens)", transport, Nobody, Error, "Connect"));
        all.push(case("hang before initialize", transport, Url(hang), Error, "Timeout"));
        all.push(Case {
            hang_call: true,
            ..case("hang mid-call", transport, Url(working), Error, "Timeout")
        });
        let statuses: [(&'static str, &'static [&'static str], &'static str); 6] =
            if transport == "http" {
                [
                    ("HTTP 401", &["http-fault", "401"], "Unauthorized"),
                    ("HTTP 403", &["http-fault", "403"], "Unauthorized"),
                    ("HTTP 404", &["http-fault", "404"], "NotStreamableHttp"),
                    ("HTTP 405", &["http-fault", "405"], "NotStreamableHttp"),
                    ("HTTP 500", &["http-fault", "500"], "Http"),
                    ("HTTP 503", &["http-fault", "503"], "Http"),
                ]
            } else {
                [
                    ("HTTP 401", &["http-fault", "401"], "Unauthorized"),
                    ("HTTP 403", &["http-fault", "403"], "Unauthorized"),
                    ("HTTP 404", &["http-fault", "404"], "Http"),
                    ("HTTP 405", &["http-fault", "405"], "Http"),
                    ("HTTP 500", &["http-fault", "500"], "Http"),
                    ("HTTP 503", &["http-fault", "503"], "Http"),
                ]
            };
        for (fault, args, expected) in statuses {
            all.push(case(fault, transport, Url(args), Error, expected));
        }
        all.push(case("connection reset at connect", transport, Url(reset), Error, "Connect"));
        if transport == "http" {
            all.extend([
                case(
                    "HTTP 401 mid-call",
                    "http",
                    Url(&["http-fault", "call-401"]),
                    Error,
                    "Unauthorized",
                ),
                case(
                    "HTTP 404 mid-call",
                    "http",
                    Url(&["http-fault", "call-404"]),
                    Error,
                    "SessionExpired",
                ),
                case("HTTP 500 mid-call", "http", Url(&["http-fault", "call-500"]), Error, "Http"),
                case("HTTP 503 mid-call", "http", Url(&["http-fault", "call-503"]), Error, "Http"),
                case(
                    "connection reset mid-call",
                    "http",
                    Url(&["http-fault", "call-reset"]),
                    Error,
                    "ConnectionClosed",
                ),
                case(
                    "session-id mismatch",
                    "http",
                    Url(&["http-fault", "session-mismatch"]),
                    Either,
                    "Ok",
                ),
                case(
                    "session expired (404 to every id)",
                    "http",
                    Url(&["http-fault", "session-expired"]),
                    Error,
                    "SessionExpired",
                ),
            ]);
        } else {
            all.extend([
                case(
                    "SSE without endpoint",
                    "sse",
                    Url(&["sse-fault", "no-endpoint"]),
                    Error,
                    "Timeout",
                ),
                case(
                    "endpoint on another origin",
                    "sse",
                    Url(&["sse-fault", "foreign-endpoint"]),
                    Error,
                    "NotSse",
                ),
                case(
                    "SSE stream closed early",
                    "sse",
                    Url(&["sse-fault", "closed-early"]),
                    Error,
                    "ConnectionClosed",
                ),
                case(
                    "SSE stream closed mid-call",
                    "sse",
                    Url(&["sse-fault", "closed-mid-call"]),
                    Error,
                    "ConnectionClosed",
                ),
            ]);
        }
    }
    all
}

struct Bins {
    testkit: PathBuf,
    hold: PathBuf,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let assert = args.iter().any(|a| a == "--assert");
    let bin_dir = value("--bin-dir").map(PathBuf::from).unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default()
    });
    let bins = Bins { testkit: bin_dir.join("testkit-mcp"), hold: bin_dir.join("mcp-hold") };
    if !bins.testkit.is_file() || !bins.hold.is_file() {
        eprintln!(
            "mcp-faults: no testkit-mcp or mcp-hold in {}; build testkit's binaries",
            bin_dir.display()
        );
        return ExitCode::from(2);
    }
    // The watchdog: the run can never hang, whatever a case does.
    std::thread::spawn(|| {
        std::thread::sleep(RUN_LIMIT);
        eprintln!("mcp-faults: the run took over {RUN_LIMIT:?}; giving up");
        std::process::exit(3);
    });
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(err) => {
                eprintln!("mcp-faults: no runtime: {err}");
                return ExitCode::FAILURE;
            }
        };
    let bins = Arc::new(bins);
    let reports = runtime.block_on(async {
        let mut reports = Vec::new();
        for (index, case) in cases().into_iter().enumerate() {
            let report = bounded(case, index, bins.clone()).await;
            let line = serde_json::to_string(&report).unwrap_or_default();
            println!("{line}");
            let _ = std::io::stdout().flush();
            eprintln!(
                "mcp-faults: {:<5} {:<40} {:<18} {:>6} ms{}",
                report.transport,
                report.fault,
                report.outcome,
                report.elapsed_ms,
                report.failure().map(|why| format!("  FAIL: {why}")).unwrap_or_default()
            );
            reports.push(report);
        }
        reports
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Some(path) = value("--markdown")
        && let Err(err) = std::fs::write(path, markdown_table(&reports))
    {
        eprintln!("mcp-faults: {path}: {err}");
        return ExitCode::FAILURE;
    }
    let failed: Vec<String> = reports
        .iter()
        .filter_map(|r| r.failure().map(|why| format!("{} over {}: {why}", r.fault, r.transport)))
        .collect();
    if assert && !failed.is_empty() {
        eprintln!("mcp-faults: {} of {} cases failed:", failed.len(), reports.len());
        for line in &failed {
            eprintln!("  {line}");
        }
        return ExitCode::FAILURE;
    }
    eprintln!("mcp-faults: {} cases, {} failing", reports.len(), failed.len());
    ExitCode::SUCCESS
}

/// Runs `case` in a task of its own under [`CASE_LIMIT`]: a hang or a panic becomes its outcome.
async fn bounded(case: Case, index: usize, bins: Arc<Bins>) -> CaseReport {
    let marker = format!("mcp-faults-{}-{index}", std::process::id());
    let mut report = CaseReport::new(case.fault, case.transport, case.expect, case.expected);
    let task = tokio::spawn(run_case(case, marker.clone(), bins));
    let abort = task.abort_handle();
    match tokio::time::timeout(CASE_LIMIT, task).await {
        Ok(Ok(done)) => return done,
        Ok(Err(err)) => {
            report.outcome = if err.is_panic() { "PANIC" } else { "CANCELLED" }.to_owned();
            report.message = format!("{err}");
        }
        Err(_) => {
            abort.abort();
            report.outcome = "HUNG".to_owned();
            report.message = format!("the case did not end within {CASE_LIMIT:?}");
        }
    }
    report.elapsed_ms = CASE_LIMIT.as_millis() as u64;
    report.leftovers = leftovers(&marker).await;
    report
}

fn timeouts() -> Timeouts {
    Timeouts::default().startup(STEP).request(STEP).close_grace(CLOSE_GRACE)
}

async fn run_case(case: Case, marker: String, bins: Arc<Bins>) -> CaseReport {
    let mut report = CaseReport::new(case.fault, case.transport, case.expect, case.expected);
    let manager = MCPClientSessionManager::new();
    let healthy_config: ServerConfig =
        StdioConfig::new("healthy", bins.testkit.display().to_string())
            .arg("stdio")
            .timeouts(timeouts())
            .into();
    let healthy = manager.open_session(&healthy_config).await.ok();
    let failures = Arc::new(AtomicU64::new(u64::from(healthy.is_none())));
    let stop = tokio_util::sync::CancellationToken::new();
    let pinger = healthy
        .clone()
        .map(|session| tokio::spawn(ping_loop(session, failures.clone(), stop.clone())));

    let mut fault_server = None;
    let started = Instant::now();
    let (phase, outcome) = match &case.server {
        Server::HeldClient => held_client(&bins, &marker).await,
        server => match config(&case, server, &marker, &bins, &mut fault_server).await {
            Err(message) => ("setup", Err(message)),
            Ok(config) => exercise(&manager, &config, &case, &marker).await,
        },
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report.phase = phase.to_owned();
    match outcome {
        Ok(note) => {
            report.outcome = "Ok".to_owned();
            report.message = note;
        }
        Err(Failure::Session(err)) => {
            report.outcome = variant(&err);
            report.message = redact(&err.to_string(), &bins);
        }
        Err(Failure::Setup(message)) => {
            report.outcome = "SETUP".to_owned();
            report.message = message;
        }
    }
    report.leftovers = leftovers(&marker).await;

    stop.cancel();
    if let Some(pinger) = pinger {
        let _ = pinger.await;
    }
    if let Some(session) = healthy {
        let last = session
            .call_tool_with("echo", json!({"text": "still here"}), CallOptions::new().timeout(STEP))
            .await;
        if last.is_err() {
            failures.fetch_add(1, Ordering::SeqCst);
        }
        let _ = session.close().await;
    }
    report.healthy = failures.load(Ordering::SeqCst) == 0;
    manager.shutdown().await;
    if let Some(mut child) = fault_server {
        let _ = child.kill().await;
    }
    report
}

/// Why a case ended in error.
enum Failure {
    Session(SessionError),
    Setup(String),
}

impl From<SessionError> for Failure {
    fn from(err: SessionError) -> Self {
        Failure::Session(err)
    }
}

/// Opens the faulty session, calls its tool, closes it: the step that failed and how.
async fn exercise(
    manager: &MCPClientSessionManager,
    config: &ServerConfig,
    case: &Case,
    marker: &str,
) -> (&'static str, Result<String, Failure>) {
    let session = match manager.open_session(config).await {
        Ok(session) => session,
        Err(err) => return ("open", Err(err.into())),
    };
    if case.escaped > 0 && !until_escaped(marker, case.escaped).await {
        let _ = session.close().await;
        return ("open", Err(Failure::Setup("the escaping sleeps never started".to_owned())));
    }
    let (tool, args) = if case.hang_call {
        ("sleep", json!({"ms": 60_000}))
    } else {
        ("echo", json!({"text": "hi"}))
    };
    let call = session.call_tool_with(tool, args, CallOptions::new().timeout(STEP)).await;
    let closed = session.close().await;
    match (call, closed) {
        (Err(err), _) => ("call", Err(err.into())),
        (Ok(_), Err(err)) => ("close", Err(err.into())),
        (Ok(result), Ok(())) => {
            let note =
                if result.is_error == Some(true) { "the tool returned is_error" } else { "" };
            ("done", Ok(note.to_owned()))
        }
    }
}

/// The faulty server's config; starts the HTTP fault server when there is one.
async fn config(
    case: &Case,
    server: &Server,
    marker: &str,
    bins: &Bins,
    fault_server: &mut Option<tokio::process::Child>,
) -> Result<ServerConfig, Failure> {
    let testkit = bins.testkit.display().to_string();
    let url = match server {
        Server::Stdio(args) => {
            return Ok(StdioConfig::new("faulty", testkit)
                .args(args.iter().copied())
                .env(MARKER_VAR, marker)
                .timeouts(timeouts())
                .into());
        }
        Server::Shell(script) => {
            return Ok(StdioConfig::new("faulty", "sh")
                .args(["-c", &script.replace("{testkit}", &testkit)])
                .env(MARKER_VAR, marker)
                .timeouts(timeouts())
                .into());
        }
        Server::Url(args) => {
            let (child, url) =
                start_url_server(&bins.testkit, args).await.map_err(Failure::Setup)?;
            *fault_server = Some(child);
            // `http-fault` serves every path; name the one each transport expects.
            match url.strip_suffix("/mcp") {
                Some(base) if case.transport == "sse" => format!("{base}/sse"),
                _ => url,
            }
        }
        Server::Nobody => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")
                .map_err(|e| Failure::Setup(e.to_string()))?;
            let addr = listener.local_addr().map_err(|e| Failure::Setup(e.to_string()))?;
            drop(listener);
            let path = if case.transport == "sse" { "sse" } else { "mcp" };
            format!("http://{addr}/{path}")
        }
        Server::HeldClient => return Err(Failure::Setup("no config for a held client".to_owned())),
    };
    let config: ServerConfig = if case.transport == "sse" {
        SseConfig::new("faulty", &url)
            .map_err(|e| Failure::Setup(e.to_string()))?
            .timeout(STEP)
            .sse_read_timeout(Duration::from_secs(10))
            .timeouts(timeouts())
            .into()
    } else {
        StreamableHttpConfig::new("faulty", &url)
            .map_err(|e| Failure::Setup(e.to_string()))?
            .timeout(STEP)
            .sse_read_timeout(Duration::from_secs(10))
            .timeouts(timeouts())
            .into()
    };
    Ok(config)
}

/// Starts `testkit-mcp ARGS` and reads the URL it prints.
async fn start_url_server(
    testkit: &Path,
    args: &[&str],
) -> Result<(tokio::process::Child, String), String> {
    let mut child = tokio::process::Command::new(testkit)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("cannot start testkit-mcp {}: {err}", args.join(" ")))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
        Ok(Ok(Some(url))) => Ok((child, url.trim().to_owned())),
        _ => Err(format!("testkit-mcp {} printed no URL", args.join(" "))),
    }
}

/// The client-SIGKILL case: `mcp-hold` opens a stdio session to a server that ignores stdin's
/// end, is killed with SIGKILL, and the server must end anyway (its parent-death signal). The
/// time is from the kill until no marked process runs.
async fn held_client(bins: &Bins, marker: &str) -> (&'static str, Result<String, Failure>) {
    let mut client = match tokio::process::Command::new(&bins.hold)
        .arg(&bins.testkit)
        .args(["stdio", "--ignore-eof"])
        .env(MARKER_VAR, marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(client) => client,
        Err(err) => return ("open", Err(Failure::Setup(format!("cannot start mcp-hold: {err}")))),
    };
    let Some(stdout) = client.stdout.take() else {
        return ("open", Err(Failure::Setup("mcp-hold has no stdout".to_owned())));
    };
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let opened = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await;
    if !matches!(&opened, Ok(Ok(Some(line))) if line.starts_with("open ")) {
        let _ = client.kill().await;
        return (
            "open",
            Err(Failure::Setup(format!("mcp-hold did not open its session: {opened:?}"))),
        );
    }
    let killed = Instant::now();
    let _ = client.kill().await; // SIGKILL, then reaped
    let marker = marker.to_owned();
    let left = tokio::task::spawn_blocking(move || survivors(&marker, LEFTOVER_WAIT))
        .await
        .unwrap_or_default();
    let note = if left.is_empty() {
        format!("the server ended {} ms after its client was killed", killed.elapsed().as_millis())
    } else {
        "the server outlived its killed client".to_owned()
    };
    ("done", Ok(note))
}

/// Calls `echo` on the healthy session every 100 ms until `stop`, counting failures.
async fn ping_loop(
    session: Session,
    failures: Arc<AtomicU64>,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        let call = session.call_tool_with(
            "echo",
            json!({"text": "ping"}),
            CallOptions::new().timeout(STEP),
        );
        if call.await.is_err() {
            failures.fetch_add(1, Ordering::SeqCst);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// Waits until `count` marked `sleep` processes run.
async fn until_escaped(marker: &str, count: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let sleeping = testkit::procs::marked_processes(marker)
            .iter()
            .filter(|s| s.contains("(sleep)"))
            .count();
        if sleeping >= count {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn leftovers(marker: &str) -> Vec<String> {
    let marker = marker.to_owned();
    tokio::task::spawn_blocking(move || survivors(&marker, LEFTOVER_WAIT)).await.unwrap_or_default()
}

/// The variant's name, from its `Debug` form (`Timeout { .. }` → `Timeout`).
fn variant(err: &SessionError) -> String {
    format!("{err:?}").chars().take_while(char::is_ascii_alphanumeric).collect()
}

/// `text` without what changes from run to run: loopback ports and the binaries' folder.
fn redact(text: &str, bins: &Bins) -> String {
    let mut text = text.to_owned();
    if let Some(dir) = bins.testkit.parent() {
        text = text.replace(&format!("{}/", dir.display()), "");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("PORT");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}
