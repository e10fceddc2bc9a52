//! No process outlives its session: close, drop, drop outside a runtime, a server that forks.

use std::time::Duration;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::{ServerConfig, StdioConfig};

use crate::quick_timeouts;

fn survivors(marker: &str) -> Vec<String> {
    testkit::procs::survivors(marker, Duration::from_secs(15))
}

/// A server started through `sh -c` that first starts a child of its own (which would outlive a
/// careless client), both carrying `marker` in their environment.
fn forking_server(marker: &str) -> ServerConfig {
    let script = format!("sleep 600 & exec {} stdio", testkit::testkit_mcp().display());
    StdioConfig::new("forking", "sh")
        .args(["-c", &script])
        .env(testkit::procs::MARKER_VAR, marker)
        .timeouts(quick_timeouts().close_grace(Duration::from_millis(200)))
        .into()
}

fn marker(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_open_close_cycles_leave_nothing() {
    let marker = marker("close");
    let config = forking_server(&marker);
    let manager = MCPClientSessionManager::new();
    for _ in 0..100 {
        let session = manager.open_session(&config).await.unwrap();
        session.close().await.unwrap();
        // close() returns once the whole group is gone.
        assert_eq!(testkit::procs::marked_processes(&marker), Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_drops_without_close_leave_nothing() {
    let marker = marker("drop");
    let config = forking_server(&marker);
    let manager = MCPClientSessionManager::new();
    for _ in 0..100 {
        let session = manager.open_session(&config).await.unwrap();
        drop(session);
    }
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

#[test]
fn drop_outside_a_runtime_leaves_nothing() {
    let marker = marker("noruntime");
    let config = forking_server(&marker);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let session = runtime.block_on(MCPClientSessionManager::new().open_session(&config)).unwrap();
    drop(runtime);
    drop(session);
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

#[tokio::test]
async fn with_session_closes_after_a_panic() {
    let marker = marker("panic");
    let config = forking_server(&marker);
    let manager = MCPClientSessionManager::new();
    let task = tokio::spawn(async move {
        let _: Result<(), mcp_session::SessionError> = manager
            .with_session(&config, async |session| {
                session.ping().await?;
                panic!("tool code panicked");
            })
            .await;
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        testkit::procs::marked_processes(&marker),
        Vec::<String>::new(),
        "closed before the panic went on"
    );
}

#[tokio::test]
async fn with_session_cancelled_leaves_nothing() {
    let marker = marker("cancel");
    let config = forking_server(&marker);
    let manager = MCPClientSessionManager::new();
    let (inside, entered) = tokio::sync::oneshot::channel();
    let run = manager.with_session(&config, async move |session| {
        session.ping().await?;
        let _ = inside.send(());
        std::future::pending::<Result<(), mcp_session::SessionError>>().await
    });
    // Cancel only once the session is open and the closure runs: what is cancelled is the
    // closure, never the open.
    tokio::select! {
        outcome = run => panic!("the closure never ends, yet with_session returned {outcome:?}"),
        entered = entered => entered.expect("the closure ran"),
    }
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

/// A server that leaves its process group twice before it starts: a grandchild that calls
/// `setsid()` (still its child), and a double-forked daemon (reparented away, its own session).
/// Every process carries `marker`.
fn escaping_server(marker: &str) -> ServerConfig {
    let script = format!(
        "setsid sleep 600 & (setsid sh -c 'sleep 600 &' &); exec {} stdio",
        testkit::testkit_mcp().display()
    );
    StdioConfig::new("escaping", "sh")
        .args(["-c", &script])
        .env(testkit::procs::MARKER_VAR, marker)
        .timeouts(quick_timeouts().close_grace(Duration::from_millis(200)))
        .into()
}

/// Waits until both of the escaping server's `sleep`s run (they start in the background), so
/// that cleanup is tested against them and not against their absence.
fn until_escaped(marker: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let sleeping = testkit::procs::marked_processes(marker)
            .iter()
            .filter(|stat| stat.contains("(sleep)"))
            .count();
        if sleeping == 2 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the escaping sleeps never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_that_left_the_group_end_on_close() {
    let marker = marker("setsid-close");
    let session =
        MCPClientSessionManager::new().open_session(&escaping_server(&marker)).await.unwrap();
    until_escaped(&marker);
    session.close().await.unwrap();
    // close() returns once every marked process is gone.
    assert_eq!(testkit::procs::marked_processes(&marker), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_that_left_the_group_end_on_drop() {
    let marker = marker("setsid-drop");
    let session =
        MCPClientSessionManager::new().open_session(&escaping_server(&marker)).await.unwrap();
    until_escaped(&marker);
    drop(session);
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

#[test]
fn processes_that_left_the_group_end_when_the_runtime_is_gone() {
    let marker = marker("setsid-noruntime");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let session = runtime
        .block_on(MCPClientSessionManager::new().open_session(&escaping_server(&marker)))
        .unwrap();
    until_escaped(&marker);
    drop(runtime);
    drop(session);
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

#[tokio::test]
async fn processes_that_left_the_group_end_after_a_panic_in_with_session() {
    let marker = marker("setsid-panic");
    let config = escaping_server(&marker);
    let task = tokio::spawn({
        let marker = marker.clone();
        async move {
            let _: Result<(), mcp_session::SessionError> = MCPClientSessionManager::new()
                .with_session(&config, async |session| {
                    session.ping().await?;
                    until_escaped(&marker);
                    panic!("tool code panicked");
                })
                .await;
        }
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(testkit::procs::marked_processes(&marker), Vec::<String>::new());
}

/// A client killed by SIGKILL cannot close anything: the server's parent-death signal ends it.
/// The server here ignores stdin's EOF, so only that signal can.
#[test]
fn a_server_ends_when_its_client_is_killed() {
    use std::io::BufRead as _;

    let marker = marker("pdeathsig");
    let mut client = std::process::Command::new(testkit::executable_path("mcp-hold"))
        .arg(testkit::testkit_mcp())
        .args(["stdio", "--ignore-eof"])
        .env(testkit::procs::MARKER_VAR, &marker)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(client.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("open "), "{line:?}");
    let server = testkit::procs::marked_processes(&marker);
    assert_eq!(server.len(), 2, "the client and its server run: {server:?}");
    client.kill().unwrap();
    client.wait().unwrap();
    assert_eq!(survivors(&marker), Vec::<String>::new());
}

/// Cleanup needs no privilege and no cgroup: an ordinary user's client ends the processes its
/// server started, a `setsid` grandchild and a daemon among them. Run as the user `nobody` when
/// the tests run as root (as CI does), else as the user running them.
#[test]
fn cleanup_works_for_an_ordinary_user() {
    use std::io::{BufRead as _, Write as _};

    use std::os::unix::fs::PermissionsExt as _;

    let marker = marker("ordinary-user");
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0;
    // `nobody` may not reach the checkout (under /root, say): run copies from a folder anyone
    // can read.
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let reachable = |built: &std::path::Path| {
        let copy = shared.path().join(built.file_name().unwrap());
        std::fs::copy(built, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    };
    let server = reachable(testkit::testkit_mcp());
    let hold = reachable(testkit::executable_path("mcp-hold"));
    let script = format!(
        "setsid sleep 600 & (setsid sh -c 'sleep 600 &' &); exec {} stdio",
        server.display()
    );
    let mut command = if root {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(&hold);
        command
    } else {
        std::process::Command::new(&hold)
    };
    let mut client = command
        .args(["--close-on-input", "sh", "-c", &script])
        .env(testkit::procs::MARKER_VAR, &marker)
        .current_dir(shared.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) runs mcp-hold");
    let mut lines = std::io::BufReader::new(client.stdout.take().unwrap()).lines();
    let opened = lines.next().unwrap().unwrap();
    assert!(opened.starts_with("open "), "{opened:?}");
    until_escaped(&marker);
    if root {
        let owners: Vec<String> = testkit::procs::marked_processes(&marker)
            .iter()
            .filter_map(|stat| stat.split_whitespace().next().map(str::to_owned))
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|status| status.lines().find(|l| l.starts_with("Uid:")).map(str::to_owned))
            .collect();
        assert!(
            owners.iter().all(|uid| uid.split_whitespace().nth(1) == Some("65534")),
            "{owners:?}"
        );
    }
    writeln!(client.stdin.take().unwrap(), "close").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "closed");
    assert!(client.wait().unwrap().success());
    assert_eq!(survivors(&marker), Vec::<String>::new());
}
