//! `cargo run -p examples --example open_session`, run as a real process against testkit-mcp.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn example_binary() -> &'static Path {
    testkit::example("open_session")
}

#[test]
fn stdio_lists_calls_and_closes() {
    let output = Command::new(example_binary())
        .args(["stdio", &testkit::testkit_mcp().display().to_string(), "stdio"])
        .env("MCP_CALL", r#"add {"a": 1, "b": 2}"#)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("connected to testkit-mcp 0.0.0 over stdio, protocol 20"),
        "{stdout}"
    );
    assert!(stdout.contains("tool echo: Returns the text it is given.\n"), "{stdout}");
    assert!(stdout.ends_with("add -> 3\nclosed\n"), "{stdout}");
}

#[test]
fn http_lists_and_closes() {
    let mut server =
        Command::new(testkit::testkit_mcp()).arg("http").stdout(Stdio::piped()).spawn().unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut url).unwrap();
    let output = Command::new(example_binary()).args(["http", url.trim()]).output().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("connected to testkit-mcp 0.0.0 over streamable_http"), "{stdout}");
    assert!(stdout.ends_with("closed\n"), "{stdout}");
}

#[test]
fn a_missing_command_is_reported() {
    let output =
        Command::new(example_binary()).args(["stdio", "/nonexistent/server"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: stdio-server: cannot start `/nonexistent/server`: command not found: /nonexistent/server — \
         is it installed and on PATH?\n"
    );
}
