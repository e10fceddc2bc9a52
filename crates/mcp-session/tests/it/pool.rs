//! The session pool against real `testkit-mcp` processes: reuse, idle close, leases, the cap,
//! the in-flight limit and its queue, supervision, retries that never run a call twice, health,
//! era memory, `close_all`. Servers append what they do to a ledger file (`TESTKIT_LEDGER`), so
//! counts survive restarts; assertions are about order and counts, never wall-clock time.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mcp_session::mcp_config::{
    MCPConfig, PoolSettings, Protocol, ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig,
};
use mcp_session::{CallOptions, Health, SessionError, SessionPool};
use serde_json::json;
use tempfile::TempDir;
use testkit::ledger;

use crate::{HttpServer, quick_timeouts};

/// A test's servers and their ledger.
pub(crate) struct Bench {
    dir: TempDir,
}

impl Bench {
    pub(crate) fn new() -> Bench {
        Bench { dir: tempfile::tempdir().unwrap() }
    }

    fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    pub(crate) fn count(&self, what: &str) -> usize {
        ledger::count(self.ledger(), what)
    }

    /// `testkit-mcp stdio ARGS…` named `name`, writing to the ledger.
    pub(crate) fn stdio(&self, name: &str, args: &[&str], pool: PoolSettings) -> StdioConfig {
        StdioConfig::new(name, testkit::testkit_mcp().to_string_lossy())
            .args(std::iter::once("stdio").chain(args.iter().copied()))
            .env(ledger::ENV, self.ledger().to_string_lossy())
            .timeouts(quick_timeouts())
            .pool(pool)
    }
}

impl Bench {
    /// A server named `flaky` that exits at once (status 3, "not yet" on stderr) until the
    /// returned flag file exists, then serves as `testkit-mcp stdio`.
    fn flaky(&self, pool: PoolSettings) -> (StdioConfig, PathBuf) {
        let flag = self.dir.path().join("up");
        let script = format!(
            "if [ -e '{}' ]; then exec '{}' stdio; else echo 'not yet' >&2; exit 3; fi",
            flag.display(),
            testkit::testkit_mcp().display()
        );
        let server = StdioConfig::new("flaky", "sh")
            .args(["-c", &script])
            .env(ledger::ENV, self.ledger().to_string_lossy())
            .timeouts(quick_timeouts())
            .pool(pool);
        (server, flag)
    }
}

pub(crate) fn pool_of(servers: impl IntoIterator<Item = StdioConfig>) -> SessionPool {
    SessionPool::new(config_of(servers.into_iter().map(Into::into)))
}

pub(crate) fn config_of(servers: impl IntoIterator<Item = ServerConfig>) -> MCPConfig {
    MCPConfig::new(servers).unwrap()
}

/// Settings that close nothing on their own during a test.
pub(crate) fn settled() -> PoolSettings {
    PoolSettings::default().idle_timeout(Duration::from_secs(3600))
}

/// Waits until `done` holds, polling; panics after about 20 s.
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The state letter of process `pid` in /proc (`R`, `S`, `T` for stopped, `Z`…).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Stops (SIGSTOP) the process group of `pid`, and waits until its leader is stopped: a
/// server that hangs.
async fn stop(pid: u32) {
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    until("the server stopped", || state(pid) == Some('T')).await;
}

/// Whether process `pid` still runs. A killed multi-threaded process shows its leader as a
/// zombie while its other threads still exit, holding its pipes open: it is gone once the
/// leader is a zombie alone (or reaped).
pub(crate) fn alive(pid: u32) -> bool {
    let exists = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count);
    exists && !(state(pid) == Some('Z') && threads <= 1)
}

pub(crate) fn kill_group(pid: u32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

pub(crate) async fn pid_of(pool: &SessionPool, server: &str) -> u32 {
    let lease = pool.get(server).await.unwrap();
    lease.session().and_then(|s| s.process_id()).expect("a stdio session has a pid")
}

pub(crate) fn text(result: &rmcp::model::CallToolResult) -> String {
    result.content[0].as_text().expect("text content").text.clone()
}

async fn server_stats(pool: &SessionPool, server: &str) -> serde_json::Value {
    let result = pool.call_tool(server, "stats", json!({})).await.unwrap();
    serde_json::from_str(&text(&result)).unwrap()
}

#[tokio::test]
async fn a_session_is_reused_then_closed_when_idle_then_reopened() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio(
        "a",
        &[],
        PoolSettings::default().idle_timeout(Duration::from_millis(200)),
    )]);
    pool.call_tool("a", "echo", json!({"text": "1"})).await.unwrap();
    let pid = pid_of(&pool, "a").await;
    pool.call_tool("a", "echo", json!({"text": "2"})).await.unwrap();
    assert_eq!(bench.count("initialize"), 1, "one session served both calls");

    until("the idle session closed", || !pool.stats("a").unwrap().open).await;
    until("its server exited", || !alive(pid)).await;
    assert_eq!(pool.open_sessions(), 0);

    pool.call_tool("a", "echo", json!({"text": "3"})).await.unwrap();
    assert_eq!(bench.count("initialize"), 2, "reopened on next use");
    pool.close_all().await;
}

#[tokio::test]
async fn a_lease_keeps_its_session_from_idle_close_and_eviction() {
    let bench = Bench::new();
    let quick = PoolSettings::default().idle_timeout(Duration::from_millis(100));
    let config = config_of([
        bench.stdio("a", &[], quick).into(),
        bench
            .stdio("b", &[], quick)
            .timeouts(quick_timeouts().startup(Duration::from_millis(600)))
            .into(),
    ]);
    let pool = SessionPool::builder(config).max_sessions(1).build();
    let lease = pool.get("a").await.unwrap();
    let pid = lease.session().unwrap().process_id().unwrap();
    // Many idle timeouts pass: the lease holds the session.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.stats("a").unwrap().open);
    }
    // The cap is reached and nothing is idle: b waits, then gives up.
    let err = pool.call_tool("b", "echo", json!({"text": "x"})).await.unwrap_err();
    assert!(matches!(err, SessionError::PoolFull { max_sessions: 1, .. }), "{err}");
    assert!(alive(pid), "a's server kept running");
    assert_eq!(
        lease.call_tool("echo", json!({"text": "still"})).await.unwrap().is_error,
        Some(false)
    );

    drop(lease);
    until("a closed once let go", || !pool.stats("a").unwrap().open).await;
    until("a's server exited", || !alive(pid)).await;
    pool.close_all().await;
}

#[tokio::test]
async fn the_cap_closes_the_least_recently_used_idle_session() {
    let bench = Bench::new();
    let pool = SessionPool::builder(config_of([
        bench.stdio("a", &[], settled()).into(),
        bench.stdio("b", &[], settled()).into(),
        bench.stdio("c", &[], settled()).into(),
    ]))
    .max_sessions(2)
    .build();
    pool.call_tool("a", "echo", json!({"text": "1"})).await.unwrap();
    pool.call_tool("b", "echo", json!({"text": "1"})).await.unwrap();
    // a was used last: b is now the least recently used.
    pool.call_tool("a", "echo", json!({"text": "2"})).await.unwrap();
    pool.call_tool("c", "echo", json!({"text": "1"})).await.unwrap();
    let open: Vec<bool> = ["a", "b", "c"].iter().map(|s| pool.stats(s).unwrap().open).collect();
    assert_eq!(open, [true, false, true]);
    assert_eq!(pool.open_sessions(), 2);
    pool.close_all().await;
}

#[tokio::test]
async fn calls_in_flight_stay_within_the_limit() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled().max_in_flight(2))]);
    let calls = (0..6).map(|_| pool.call_tool("a", "sleep", json!({"ms": 100})));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().is_error, Some(false));
    }
    let stats = server_stats(&pool, "a").await;
    assert_eq!(stats["max_in_flight"], 2, "the server saw at most 2 calls at once: {stats}");
    assert_eq!(bench.count("initialize"), 1);
    pool.close_all().await;
}

#[tokio::test]
async fn a_full_queue_answers_busy_at_once() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled().max_in_flight(1).max_queued(1))]);
    // The calls' schema checks list the tools first: list them now, so that the places below
    // are the calls' own.
    pool.list_tools("a").await.unwrap();
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("a", "sleep", json!({"ms": 1500})).await }
    });
    until("one call runs", || pool.stats("a").unwrap().in_flight == 1).await;
    let queued = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("a", "echo", json!({"text": "queued"})).await }
    });
    until("one call waits", || pool.stats("a").unwrap().queued == 1).await;
    let err = pool.call_tool("a", "echo", json!({"text": "third"})).await.unwrap_err();
    assert!(matches!(err, SessionError::Busy { in_flight: 1, queued: 1, .. }), "{err}");
    assert!(!running.is_finished(), "Busy came before the running call ended");
    assert!(running.await.unwrap().is_ok());
    assert!(queued.await.unwrap().is_ok());
    pool.close_all().await;
}

#[tokio::test]
async fn time_queued_counts_against_the_timeout() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled().max_in_flight(1))]);
    pool.list_tools("a").await.unwrap();
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("a", "sleep", json!({"ms": 3000})).await }
    });
    until("one call runs", || pool.stats("a").unwrap().in_flight == 1).await;
    let options = CallOptions::new().timeout(Duration::from_millis(300));
    let err = pool.call_tool_with("a", "echo", json!({"text": "x"}), options).await.unwrap_err();
    assert!(
        matches!(&err, SessionError::Timeout { operation, .. } if operation.contains("queue")),
        "{err}"
    );
    assert!(!running.is_finished(), "the queued call timed out while the first still ran");
    running.abort();
    pool.close_all().await;
}

#[tokio::test]
async fn concurrent_first_uses_open_one_session() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled())]);
    let calls = (0..8).map(|i| pool.call_tool("a", "echo", json!({"text": i.to_string()})));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(bench.count("initialize"), 1);
    assert_eq!(pool.open_sessions(), 1);
    pool.close_all().await;
}

#[tokio::test]
async fn a_crashed_server_is_restarted_on_next_call() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled())]);
    let pid = pid_of(&pool, "a").await;
    kill_group(pid);
    until("the server died", || !alive(pid)).await;
    let result = pool.call_tool("a", "increment", json!({})).await.unwrap();
    assert_eq!(text(&result), "1");
    assert_eq!(bench.count("initialize"), 2);
    assert_eq!(bench.count("call increment"), 1, "sent once, to the new server");
    assert_ne!(pid_of(&pool, "a").await, pid);
    // The restart shows in its health while the healthy period runs.
    let health = pool.health("a").await.unwrap();
    assert!(
        matches!(&health, Health::Degraded { reason } if reason.contains("restarted")),
        "{health}"
    );
    pool.close_all().await;
}

#[tokio::test]
async fn a_server_over_its_budget_fails_fast_until_it_refills() {
    let bench = Bench::new();
    let settings = PoolSettings::default()
        .max_restarts(2)
        .backoff(Duration::from_millis(10))
        .healthy_after(Duration::from_millis(700));
    let (server, flag) = bench.flaky(settings);
    let pool = pool_of([server]);

    let err = pool.call_tool("flaky", "echo", json!({"text": "x"})).await.unwrap_err();
    assert!(matches!(&err, SessionError::ServerFailed { restarts: 2, .. }), "{err}");
    assert!(err.to_string().contains("exit status: 3"), "names the last cause: {err}");
    let health = pool.health("flaky").await.unwrap();
    assert!(matches!(health, Health::Failed { restarts: 2, .. }), "{health}");

    // Fails fast: no new process is started.
    std::fs::write(&flag, "").unwrap();
    let err = pool.call_tool("flaky", "echo", json!({"text": "x"})).await.unwrap_err();
    assert!(matches!(err, SessionError::ServerFailed { .. }), "{err}");
    assert_eq!(bench.count("initialize"), 0);

    // After the healthy period the budget refills and the server starts.
    until("the budget refilled", || !pool.stats("flaky").unwrap().failed).await;
    pool.call_tool("flaky", "echo", json!({"text": "x"})).await.unwrap();
    assert_eq!(bench.count("initialize"), 1);
    pool.close_all().await;
}

/// A server named `name` that runs `script` with `sh -c`, `$TESTKIT` set to testkit-mcp's path,
/// with a startup timeout of `startup` and a first restart after `backoff`.
fn shell(name: &str, script: &str, startup: Duration, backoff: Duration) -> StdioConfig {
    StdioConfig::new(name, "sh")
        .args(["-c", script])
        .env("TESTKIT", testkit::testkit_mcp().to_string_lossy())
        .timeouts(quick_timeouts().startup(startup))
        .pool(PoolSettings::default().backoff(backoff))
}

/// A server that exits during its first start, and whose restart then hangs until the startup
/// timeout: the error names the exit, which is what the user can act on, not only the timeout.
#[tokio::test]
async fn a_restart_cut_short_by_the_startup_timeout_reports_the_first_failure() {
    let bench = Bench::new();
    let tried = bench.dir.path().join("tried");
    let tried_at = tried.display();
    let script = format!(
        "if [ -e '{tried_at}' ]; then exec \"$TESTKIT\" silent; \
         else : > '{tried_at}'; echo 'crashed' >&2; exit 3; fi"
    );
    let server = shell("crashy", &script, Duration::from_secs(2), Duration::from_millis(10));
    let pool = pool_of([server]);

    let err = pool.call_tool("crashy", "echo", json!({"text": "x"})).await.unwrap_err();
    assert!(matches!(&err, SessionError::ServerExited { .. }), "{err}");
    assert!(err.to_string().contains("exit status: 3"), "names the exit: {err}");
    assert!(tried.exists(), "the server was started");
    pool.close_all().await;
}

/// A call first lists the server's tools (to check its arguments); when the server hangs, that
/// failure is the call's: the server is not started a second time for the call itself.
#[tokio::test]
async fn a_call_to_a_hanging_server_starts_it_once() {
    let bench = Bench::new();
    let starts = bench.dir.path().join("starts");
    let script = format!("echo start >> '{}'; exec \"$TESTKIT\" silent", starts.display());
    let server = shell("hanging", &script, Duration::from_millis(500), Duration::from_secs(5));
    let pool = pool_of([server]);

    let err = pool.call_tool("hanging", "echo", json!({"text": "x"})).await.unwrap_err();
    assert!(matches!(&err, SessionError::Timeout { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&starts).unwrap().lines().count(), 1);
    pool.close_all().await;
}

#[tokio::test]
async fn reset_lifts_a_failed_state_at_once() {
    let bench = Bench::new();
    let settings = PoolSettings::default()
        .max_restarts(1)
        .backoff(Duration::from_millis(10))
        .healthy_after(Duration::from_secs(3600));
    let (server, flag) = bench.flaky(settings);
    let pool = pool_of([server]);
    assert!(matches!(
        pool.call_tool("flaky", "echo", json!({"text": "x"})).await,
        Err(SessionError::ServerFailed { .. })
    ));
    std::fs::write(&flag, "").unwrap();
    pool.reset("flaky").unwrap();
    pool.call_tool("flaky", "echo", json!({"text": "x"})).await.unwrap();
    assert!(!pool.stats("flaky").unwrap().failed);
    let health = pool.health("flaky").await.unwrap();
    assert!(
        matches!(&health, Health::Degraded { reason } if reason.contains("restarted")),
        "{health}"
    );
    pool.close_all().await;
}

#[tokio::test]
async fn an_http_server_restarted_under_the_pool_is_reinitialized() {
    let mut server = HttpServer::start(&[]);
    let url = server.url.clone();
    let port = url::Url::parse(&url).unwrap().port().unwrap().to_string();
    let config: ServerConfig =
        StreamableHttpConfig::new("web", &url).unwrap().timeouts(quick_timeouts()).into();
    let pool = SessionPool::new(config_of([config]));
    assert_eq!(text(&pool.call_tool("web", "echo", json!({"text": "a"})).await.unwrap()), "a");

    server.kill();
    let _restarted = HttpServer::start(&["--port", &port]);
    // The old session is unknown to the new process (or its connection is gone): the pool
    // opens a new session and sends again. Listings are always sent again; a tool only when it
    // is annotated read-only or idempotent and the caller allows it (the old connection may
    // have broken with the request on it, which a crash mid-call looks like too).
    assert!(pool.list_tools("web").await.unwrap().len() > 10);
    let options = CallOptions::new().retry_idempotent(true);
    let found = pool.call_tool_with("web", "lookup", json!({}), options).await.unwrap();
    assert_eq!(text(&found), "found");
    assert_eq!(text(&pool.call_tool("web", "echo", json!({"text": "b"})).await.unwrap()), "b");
    pool.close_all().await;
}

#[tokio::test]
async fn a_legacy_sse_server_restarted_under_the_pool_is_reconnected() {
    let mut server = HttpServer::start_mode("sse", &[]);
    let url = server.url.clone();
    let port = url::Url::parse(&url).unwrap().port().unwrap().to_string();
    let config: ServerConfig =
        SseConfig::new("sse", &url).unwrap().timeouts(quick_timeouts()).into();
    let pool = SessionPool::new(config_of([config]));
    assert_eq!(text(&pool.call_tool("sse", "echo", json!({"text": "a"})).await.unwrap()), "a");

    // The event stream closes with the server: the session is dead, and reopened on next use.
    server.kill();
    let _restarted = HttpServer::start_mode("sse", &["--port", &port]);
    // A ping (which has no effects) finds the stream gone and is sent again on a new session.
    pool.get("sse").await.unwrap().ping().await.unwrap();
    assert!(pool.list_tools("sse").await.unwrap().len() > 10);
    assert_eq!(text(&pool.call_tool("sse", "echo", json!({"text": "b"})).await.unwrap()), "b");
    pool.close_all().await;
}

/// A server that fails its handshake in a way the manager explains when the startup timeout
/// ends (here: it writes only garbage to stdout) gets that explanation through the pool too,
/// not a bare timeout: the pool leaves the startup timeout to the manager, which explains it.
#[tokio::test]
async fn a_start_that_times_out_keeps_the_managers_explanation() {
    let pool = pool_of([noisy()]);
    let err = pool.call_tool("noisy", "echo", json!({"text": "a"})).await.unwrap_err();
    assert_explains_the_garbage(&err);
    pool.close_all().await;
}

/// A server that writes only garbage to stdout, with a startup timeout of 2 s.
fn noisy() -> StdioConfig {
    StdioConfig::new("noisy", testkit::testkit_mcp().to_string_lossy())
        .arg("garbage")
        .timeouts(quick_timeouts().startup(Duration::from_secs(2)))
}

/// `err` is the handshake's explanation of [`noisy`]'s timeout, not a bare timeout.
fn assert_explains_the_garbage(err: &SessionError) {
    match err {
        SessionError::Handshake { reason, .. } => {
            assert!(
                reason.contains("not JSON-RPC, the first: \"this is not JSON-RPC\""),
                "{reason}"
            );
        }
        other => panic!("expected the handshake's explanation, got {other:?}"),
    }
}

/// The same when the start first waits for a seat: the startup timeout counts from the pool's
/// start, wait included, in the manager too, so its explanation comes before the pool gives up.
#[tokio::test]
async fn a_start_that_waited_for_a_seat_keeps_the_managers_explanation() {
    let bench = Bench::new();
    let config = config_of([bench.stdio("a", &[], settled()).into(), noisy().into()]);
    let pool = SessionPool::builder(config).max_sessions(1).build();
    let lease = pool.get("a").await.unwrap();
    let started = std::time::Instant::now();
    let call = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("noisy", "echo", json!({"text": "a"})).await }
    });
    // Most of the startup timeout goes by waiting for a's seat.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    drop(lease);
    assert_explains_the_garbage(&call.await.unwrap().unwrap_err());
    // The timeout (2 s) and the close grace (0.5 s) from the call's start, not 2 s more after
    // the wait (3.7 s at the least).
    let took = started.elapsed();
    assert!(took < Duration::from_millis(3500), "{took:?}");
    pool.close_all().await;
}

#[tokio::test]
async fn dead_and_hanging_servers_do_not_hold_up_the_live_ones() {
    let bench = Bench::new();
    let hanging = StdioConfig::new("hanging", testkit::testkit_mcp().to_string_lossy())
        .arg("silent")
        .timeouts(quick_timeouts().startup(Duration::from_secs(30)));
    let dead = StdioConfig::new("dead", "/nonexistent/mcp-server").timeouts(quick_timeouts());
    let pool = pool_of([
        bench.stdio("live1", &[], settled()),
        hanging,
        bench.stdio("live2", &[], settled()),
        dead,
        bench.stdio("live3", &[], settled()),
    ]);
    let call = |server: &'static str| {
        let pool = pool.clone();
        tokio::spawn(async move { pool.call_tool(server, "echo", json!({"text": server})).await })
    };
    let hung = call("hanging");
    let failed = call("dead");
    let live: Vec<_> = ["live1", "live2", "live3"].into_iter().map(call).collect();
    for (task, name) in live.into_iter().zip(["live1", "live2", "live3"]) {
        assert_eq!(text(&task.await.unwrap().unwrap()), name);
    }
    assert!(!hung.is_finished(), "the hanging server's call still waits");
    let err = failed.await.unwrap().unwrap_err();
    assert!(matches!(err, SessionError::Spawn { .. }), "{err}");
    hung.abort();
    pool.close_all().await;
}

/// A non-idempotent tool is never run twice, whatever fault hits it; an idempotent one the
/// caller allowed to repeat is sent again after its connection died before it ran.
#[tokio::test]
async fn retries_never_run_a_call_twice() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled().backoff(Duration::from_millis(10)))]);
    let retrying = CallOptions::new().retry_idempotent(true);

    // 1. The server dies after running the tool, before answering: not sent again.
    let before = bench.count("call increment");
    let err = pool
        .call_tool_with("a", "increment", json!({"crash": true}), retrying.clone())
        .await
        .unwrap_err();
    assert!(err.is_connection_lost(), "{err}");
    assert_eq!(bench.count("call increment") - before, 1, "ran once, not again");

    // 2. The server dies while the call waits, before running it: still not sent again (the
    //    request reached the server, which could have run it).
    let pid = pid_of(&pool, "a").await;
    let call = tokio::spawn({
        let pool = pool.clone();
        let options = retrying.clone();
        async move { pool.call_tool_with("a", "increment", json!({"ms": 30_000}), options).await }
    });
    until("the call is in flight", || pool.stats("a").unwrap().in_flight == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    kill_group(pid);
    let err = call.await.unwrap().unwrap_err();
    assert!(err.is_connection_lost(), "{err}");
    assert_eq!(bench.count("call increment") - before, 1, "the killed call never ran");

    // 3. The server died between calls: the dead session is found before sending, and the
    //    call runs once on a new one.
    let pid = pid_of(&pool, "a").await;
    kill_group(pid);
    until("the server died", || !alive(pid)).await;
    pool.call_tool("a", "increment", json!({})).await.unwrap();
    assert_eq!(bench.count("call increment") - before, 2);

    // 4. An idempotent tool, opted in: sent again after the connection died mid-call.
    let pid = pid_of(&pool, "a").await;
    let call = tokio::spawn({
        let pool = pool.clone();
        let options = retrying.clone();
        async move { pool.call_tool_with("a", "lookup", json!({"ms": 400}), options).await }
    });
    until("the lookup is in flight", || pool.stats("a").unwrap().in_flight == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    kill_group(pid);
    let result = call.await.unwrap().unwrap();
    assert_eq!(text(&result), "found");
    assert_eq!(bench.count("call lookup"), 1, "the first try died before running");

    // 5. The same without opting in: not sent again.
    let pid = pid_of(&pool, "a").await;
    let call = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("a", "lookup", json!({"ms": 30_000})).await }
    });
    until("the lookup is in flight", || pool.stats("a").unwrap().in_flight == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    kill_group(pid);
    assert!(call.await.unwrap().is_err());
    assert_eq!(bench.count("call lookup"), 1);
    assert_eq!(
        bench.count("call increment") - before,
        2,
        "increment ran once per call, never more"
    );
    pool.close_all().await;
}

#[tokio::test]
async fn close_all_cancels_calls_in_flight_then_refuses_new_ones() {
    let bench = Bench::new();
    let pool = pool_of([bench
        .stdio("a", &[], settled())
        .timeouts(quick_timeouts().close_grace(Duration::from_millis(200)))]);
    let pid = pid_of(&pool, "a").await;
    let call = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("a", "sleep", json!({"ms": 60_000})).await }
    });
    until("the call is in flight", || pool.stats("a").unwrap().in_flight == 1).await;
    pool.close_all().await;
    let err = call.await.unwrap().unwrap_err();
    assert!(matches!(err, SessionError::Cancelled { .. }), "{err}");
    assert!(!alive(pid), "the server is gone when close_all returns");
    let err = pool.call_tool("a", "echo", json!({"text": "x"})).await.unwrap_err();
    assert!(matches!(err, SessionError::PoolClosed { .. }), "{err}");
    assert!(matches!(pool.get("a").await, Err(SessionError::PoolClosed { .. })));
    assert_eq!(pool.open_sessions(), 0);
}

#[tokio::test]
async fn close_all_sends_the_cancellation_of_calls_in_flight() {
    let server = HttpServer::start(&[]);
    let (proxy, forwarded) =
        crate::cancel::counting_proxy(crate::cancel::address_of(&server.url)).await;
    let url = crate::cancel::via(&server.url, proxy);
    let config: ServerConfig = StreamableHttpConfig::new("web", &url)
        .unwrap()
        .timeouts(quick_timeouts().close_grace(Duration::from_millis(200)))
        .into();
    let pool = SessionPool::new(config_of([config]));
    let call = tokio::spawn({
        let pool = pool.clone();
        async move { pool.call_tool("web", "sleep", json!({"ms": 60_000})).await }
    });
    until("the call is in flight", || pool.stats("web").unwrap().in_flight == 1).await;
    // Let the request reach the server.
    tokio::time::sleep(Duration::from_millis(100)).await;
    pool.close_all().await;
    assert!(call.await.unwrap().is_err());
    assert_eq!(forwarded.load(Ordering::SeqCst), 1, "notifications/cancelled reached the server");
}

#[tokio::test]
async fn dropping_the_pool_ends_its_servers() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled())]);
    let pid = pid_of(&pool, "a").await;
    drop(pool);
    until("the server exited", || !alive(pid)).await;
}

#[tokio::test]
async fn health_reports_each_state_and_does_not_start_servers() {
    let bench = Bench::new();
    let pool = pool_of([
        bench.stdio("up", &[], settled()),
        bench.stdio("idle", &[], settled()),
        bench.stdio("stopped", &[], settled().ping_timeout(Duration::from_millis(300))),
        StdioConfig::new("missing", "/nonexistent/mcp-server").timeouts(quick_timeouts()),
    ]);
    pool.call_tool("up", "echo", json!({"text": "x"})).await.unwrap();
    let stopped = pid_of(&pool, "stopped").await;
    stop(stopped).await;

    let all = pool.health_all().await;
    let names: Vec<&str> = all.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["up", "idle", "stopped", "missing"]);
    assert!(
        matches!(&all[0].1, Health::Healthy { protocol_version, tool_count, .. } if protocol_version == "2025-11-25" && *tool_count > 10),
        "{}",
        all[0].1
    );
    assert!(matches!(all[1].1, Health::NotStarted), "{}", all[1].1);
    assert!(
        matches!(&all[2].1, Health::Unreachable { error: SessionError::Timeout { .. } }),
        "{}",
        all[2].1
    );
    assert!(matches!(all[3].1, Health::NotStarted), "{}", all[3].1);
    assert_eq!(bench.count("initialize"), 2, "health_all started nothing");

    let started = pool.health_all_started().await;
    assert!(started[1].1.is_healthy(), "{}", started[1].1);
    assert!(
        matches!(&started[3].1, Health::Unreachable { error: SessionError::Spawn { .. } }),
        "{}",
        started[3].1
    );
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(stopped as i32),
        nix::sys::signal::Signal::SIGCONT,
    )
    .unwrap();
    pool.close_all().await;
}

#[tokio::test]
async fn background_pings_replace_a_session_that_stops_answering() {
    let bench = Bench::new();
    let settings = settled().ping_timeout(Duration::from_millis(200));
    let pool = SessionPool::builder(config_of([bench.stdio("a", &[], settings).into()]))
        .ping_every(Duration::from_millis(100), 2)
        .build();
    let pid = pid_of(&pool, "a").await;
    stop(pid).await;
    until("the unanswered session was let go", || !pool.stats("a").unwrap().open).await;
    pool.call_tool("a", "echo", json!({"text": "x"})).await.unwrap();
    assert_ne!(pid_of(&pool, "a").await, pid);
    assert_eq!(bench.count("initialize"), 2);
    pool.close_all().await;
    until("the stopped server was ended too", || !alive(pid)).await;
}

/// With `protocol = "auto"`, the pool learns each server's era once: an `initialize`-era server
/// is not asked `server/discover` again after a restart.
#[tokio::test]
async fn auto_protocol_is_learnt_once_per_server() {
    let bench = Bench::new();
    let legacy = bench.stdio("legacy", &["--legacy"], settled()).protocol(Protocol::Auto);
    let modern = bench.stdio("modern", &[], settled()).protocol(Protocol::Auto);
    let pool = pool_of([legacy, modern]);
    // First sessions: each server is asked `server/discover`; the legacy one then falls back.
    for server in ["legacy", "modern"] {
        pool.get(server).await.unwrap();
    }
    assert_eq!(bench.count("discover"), 2);
    assert_eq!(bench.count("initialize"), 1, "only the legacy server was initialized");

    for server in ["legacy", "modern"] {
        let pid = pid_of(&pool, server).await;
        kill_group(pid);
        until("the server died", || !alive(pid)).await;
    }
    // Restarted: the legacy one straight to `initialize`, the modern one straight to discovery.
    for server in ["legacy", "modern"] {
        pool.list_tools(server).await.unwrap();
    }
    let version = async |server| pool.get(server).await.unwrap().protocol_version().unwrap();
    assert_eq!(version("legacy").await, "2025-11-25");
    assert_eq!(version("modern").await, "2026-07-28");
    assert_eq!(bench.count("initialize"), 2, "legacy: initialize again, no discovery");
    assert_eq!(bench.count("discover"), 3, "modern: discovery only");
    pool.close_all().await;
}

#[tokio::test]
async fn an_unknown_server_names_the_known_ones() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("ArxivServer", &[], settled())]);
    let err = pool.call_tool("ArxivServr", "echo", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("ArxivServer"), "{err}");
    assert!(matches!(pool.health("nope").await, Err(SessionError::Config(_))));
}

#[tokio::test]
async fn a_traceparent_reaches_the_server_in_meta() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("a", &[], settled())]);
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let options = CallOptions::new().traceparent(traceparent);
    let result = pool.call_tool_with("a", "request_meta", json!({}), options).await.unwrap();
    let meta: serde_json::Value = serde_json::from_str(&text(&result)).unwrap();
    assert_eq!(meta["traceparent"], traceparent, "{meta}");
    let plain = pool.call_tool("a", "request_meta", json!({})).await.unwrap();
    assert!(!text(&plain).contains("traceparent"));
    pool.close_all().await;
}
