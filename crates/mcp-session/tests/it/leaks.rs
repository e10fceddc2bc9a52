//! No process outlives its session: close, drop, drop outside a runtime, a server that forks.

use std::time::{Duration, Instant};

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::{ServerConfig, StdioConfig};

use crate::quick_timeouts;

/// A server started through `sh -c` that first starts a child of its own (which would outlive a
/// careless client), both carrying `marker` in their environment.
fn forking_server(marker: &str) -> ServerConfig {
    let script = format!("sleep 600 & exec {} stdio", testkit::testkit_mcp().display());
    StdioConfig::new("forking", "sh")
        .args(["-c", &script])
        .env("MCP_LEAK_MARKER", marker)
        .timeouts(quick_timeouts().close_grace(Duration::from_millis(200)))
        .into()
}

/// Running (not zombie) processes whose environment holds `MCP_LEAK_MARKER=marker`.
fn marked_processes(marker: &str) -> Vec<String> {
    let needle = format!("MCP_LEAK_MARKER={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let path = entry.path();
        let Ok(environ) = std::fs::read(path.join("environ")) else { continue };
        if !environ.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let state =
            stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next()).unwrap_or("?");
        if state != "Z" && state != "X" {
            found.push(stat);
        }
    }
    found
}

/// Waits (bounded) until no marked process runs; returns the survivors if some remain.
fn survivors(marker: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let alive = marked_processes(marker);
        if alive.is_empty() || Instant::now() > deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
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
        assert_eq!(marked_processes(&marker), Vec::<String>::new());
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
    assert_eq!(marked_processes(&marker), Vec::<String>::new(), "closed before the panic went on");
}

#[tokio::test]
async fn with_session_cancelled_leaves_nothing() {
    let marker = marker("cancel");
    let config = forking_server(&marker);
    let manager = MCPClientSessionManager::new();
    let outcome = tokio::time::timeout(
        Duration::from_millis(1500),
        manager.with_session(&config, async |session| {
            session.ping().await?;
            std::future::pending::<Result<(), mcp_session::SessionError>>().await
        }),
    )
    .await;
    assert!(outcome.is_err(), "the closure never ends; the timeout cancels it");
    assert_eq!(survivors(&marker), Vec::<String>::new());
}
