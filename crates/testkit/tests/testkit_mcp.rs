//! The `testkit-mcp` binary itself: its usage errors and its stdio handshake.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_testkit-mcp");

#[test]
fn usage_error_exits_2() {
    let output = Command::new(BIN).arg("bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("usage: testkit-mcp"));
}

#[test]
fn answers_initialize_over_stdio_and_exits_on_eof() {
    let mut child = Command::new(BIN)
        .arg("stdio")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let request = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let reply: serde_json::Value =
        serde_json::from_slice(output.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["result"]["serverInfo"]["name"], "testkit-mcp");
    assert_eq!(reply["result"]["protocolVersion"], "2025-06-18");
}

#[test]
fn exit_at_once_says_so_on_stderr() {
    let output = Command::new(BIN).arg("exit-at-once").output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "testkit-mcp: exiting at once, as asked\n");
}
