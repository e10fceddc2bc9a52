//! What `testkit-mcp` lets a test observe: its ledger (`TESTKIT_LEDGER`), the `increment` and
//! `lookup` tools (`ms`, `crash`), the `stats` gauge of calls in flight, and a restart of
//! `http` on the port of a server just killed.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion};
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ClientLifecycleMode, ClientServiceExt as _};
use testkit::ledger;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_testkit-mcp");

type Client = RunningService<RoleClient, ()>;

/// A ledger path of this test alone, not there yet.
fn scratch_ledger(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("testkit-observables-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// `testkit-mcp stdio ARGS` writing to `ledger`, with a client that speaks to it through
/// `lifecycle`.
async fn start(
    ledger: &Path,
    args: &[&str],
    lifecycle: ClientLifecycleMode,
) -> (Child, Client, u32) {
    let mut child = Command::new(BIN)
        .arg("stdio")
        .args(args)
        .env(ledger::ENV, ledger)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let transport = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let client = ().serve_with_lifecycle(transport, lifecycle).await.unwrap();
    (child, client, pid)
}

/// `name` called with `arguments`.
fn call(name: &'static str, arguments: serde_json::Value) -> CallToolRequestParams {
    let serde_json::Value::Object(arguments) = arguments else { panic!("arguments: an object") };
    CallToolRequestParams::new(name).with_arguments(arguments)
}

/// The text of a tool result.
fn text(result: &CallToolResult) -> String {
    result.content[0].as_text().unwrap().text.clone()
}

/// The server's `stats`.
async fn stats(client: &Client) -> serde_json::Value {
    let result = client.call_tool(CallToolRequestParams::new("stats")).await.unwrap();
    serde_json::from_str(&text(&result)).unwrap()
}

#[tokio::test]
async fn ledger_and_stats_record_initialize_and_calls() {
    let path = scratch_ledger("calls");
    let (_child, client, pid) = start(&path, &[], ClientLifecycleMode::Initialize).await;
    assert_eq!(ledger::read(&path), vec![("initialize".to_owned(), String::new(), pid)]);

    let first = client.call_tool(call("increment", serde_json::json!({}))).await.unwrap();
    let second = client.call_tool(call("increment", serde_json::json!({"ms": 10}))).await.unwrap();
    assert_eq!((text(&first).as_str(), text(&second).as_str()), ("1", "2"));
    let found = client.call_tool(CallToolRequestParams::new("lookup")).await.unwrap();
    assert_eq!(text(&found), "found");
    client.call_tool(call("echo", serde_json::json!({"text": "x"}))).await.unwrap();

    assert_eq!(ledger::count(&path, "initialize"), 1);
    assert_eq!(ledger::count(&path, "call increment"), 2);
    assert_eq!(ledger::count(&path, "call lookup"), 1);
    assert_eq!(ledger::count(&path, "call"), 3, "echo is not in the ledger");
    assert!(ledger::read(&path).iter().all(|(_, _, by)| *by == pid));

    let stats = stats(&client).await;
    assert_eq!(stats["initializes"], 1);
    assert_eq!(stats["in_flight"], 0);
    assert_eq!(stats["max_in_flight"], 1);
    assert_eq!(stats["calls"], 4);
    client.cancel().await.unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn annotations_tell_increment_from_lookup() {
    let path = scratch_ledger("annotations");
    let (_child, client, _) = start(&path, &[], ClientLifecycleMode::Initialize).await;
    let tools = client.list_all_tools().await.unwrap();
    let annotations = |name: &str| {
        let tool = tools.iter().find(|tool| tool.name == name).unwrap();
        serde_json::to_value(tool.annotations.as_ref().unwrap()).unwrap()
    };
    let increment = annotations("increment");
    assert_eq!(increment["readOnlyHint"], false);
    assert_eq!(increment["destructiveHint"], false);
    assert_eq!(increment["idempotentHint"], false);
    let lookup = annotations("lookup");
    assert_eq!(lookup["readOnlyHint"], true);
    assert_eq!(lookup["idempotentHint"], true);
    client.cancel().await.unwrap();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn stats_gauge_counts_calls_running_at_once() {
    let path = scratch_ledger("gauge");
    let (_child, client, _) = start(&path, &[], ClientLifecycleMode::Initialize).await;
    let sleeps = futures::future::join_all(
        (0..3).map(|_| client.call_tool(call("sleep", serde_json::json!({"ms": 400})))),
    );
    let watch = async {
        loop {
            let stats = stats(&client).await;
            if stats["in_flight"] == 3 {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (results, during) = tokio::join!(sleeps, watch);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(during["max_in_flight"], 3, "stats itself is not counted: {during}");
    let after = stats(&client).await;
    assert_eq!((after["in_flight"].as_u64(), after["max_in_flight"].as_u64()), (Some(0), Some(3)));
    client.cancel().await.unwrap();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn crash_exits_after_the_tool_ran_without_answering() {
    let path = scratch_ledger("crash");
    let (mut child, client, pid) = start(&path, &[], ClientLifecycleMode::Initialize).await;
    let call = client.call_tool(call("increment", serde_json::json!({"crash": true}))).await;
    assert!(call.is_err(), "answered: {call:?}");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap();
    assert_eq!(status.unwrap().code(), Some(1));
    assert_eq!(ledger::read(&path).last(), Some(&("call".to_owned(), "increment".to_owned(), pid)));
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_server_killed_during_ms_did_not_run_the_tool() {
    let path = scratch_ledger("killed");
    let (mut child, client, _) = start(&path, &[], ClientLifecycleMode::Initialize).await;
    let waiting = client.call_tool(call("lookup", serde_json::json!({"ms": 30_000})));
    let kill = async {
        while stats(&client).await["in_flight"] != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().await.unwrap();
    };
    let (call, ()) = tokio::join!(waiting, kill);
    assert!(call.is_err());
    assert_eq!(ledger::count(&path, "call"), 0);
    assert_eq!(ledger::count(&path, "initialize"), 1);
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_cancelled_wait_does_not_run_the_tool() {
    let path = scratch_ledger("cancelled");
    let (_child, client, _) = start(&path, &[], ClientLifecycleMode::Initialize).await;
    let waiting = client.call_tool(call("increment", serde_json::json!({"ms": 30_000})));
    // Dropping the call's future cancels the request (notifications/cancelled).
    let timed_out = tokio::time::timeout(Duration::from_millis(200), waiting).await;
    assert!(timed_out.is_err());
    let stats = loop {
        let stats = stats(&client).await;
        if stats["in_flight"] == 0 {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(stats["cancelled"], 1);
    let next = client.call_tool(call("increment", serde_json::json!({}))).await.unwrap();
    assert_eq!(text(&next), "1", "the cancelled increment did not count");
    assert_eq!(ledger::count(&path, "call increment"), 1);
    client.cancel().await.unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn ledger_records_discover_of_both_eras() {
    let path = scratch_ledger("discover");
    let discover =
        ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    let (_child, client, pid) = start(&path, &[], discover).await;
    assert_eq!(ledger::read(&path), vec![("discover".to_owned(), String::new(), pid)]);
    client.cancel().await.unwrap();

    // As mcp-session probes: every known version, newest first. rmcp refuses the 2026-07-28
    // probe of a legacy server before its handler runs (unsupported version), so only the
    // retry with a version both know reaches `discover`, answers "method not found", and is
    // in the ledger.
    let auto = ClientLifecycleMode::Auto {
        preferred_versions: ProtocolVersion::KNOWN_VERSIONS.iter().rev().cloned().collect(),
        legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
    };
    let (_legacy, client, legacy_pid) = start(&path, &["--legacy"], auto).await;
    let entries = ledger::read(&path);
    assert_eq!(
        entries[1..],
        [
            ("discover".to_owned(), String::new(), legacy_pid),
            ("initialize".to_owned(), String::new(), legacy_pid),
        ]
    );
    client.cancel().await.unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// Starts `testkit-mcp http --port PORT` and returns it with its port.
fn start_http(port: u16) -> (std::process::Child, u16) {
    let mut child = std::process::Command::new(BIN)
        .args(["http", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
    let port = url
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no URL from testkit-mcp http: {url:?}"));
    (child, port)
}

#[test]
fn http_restarts_on_the_port_of_a_killed_server() {
    let (mut first, port) = start_http(0);
    // A connection the server accepted, still open when it is killed: its socket outlives the
    // process (FIN_WAIT), which only SO_REUSEADDR lets a new listener bind past.
    let mut connection = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    connection.write_all(b"GET /mcp HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    connection.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut some = [0; 16];
    assert!(connection.read(&mut some).unwrap() > 0);
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, again) = start_http(port);
    assert_eq!(again, port);
    second.kill().unwrap();
    second.wait().unwrap();
    drop(connection);
}
