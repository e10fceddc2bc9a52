//! What the binary offers a shell: `completions bash|zsh|fish`, and logs on stderr chosen by
//! `-v` or `RUST_LOG`.

use std::process::Stdio;
use std::time::Duration;

use crate::common::{Ran, marker, testkit_stdio};

/// Runs `research-demo ARGS` with `RUST_LOG` set to `rust_log` (or unset), stdin closed, to
/// its end; none of its processes may outlive it.
async fn run(args: &[&str], rust_log: Option<&str>, marker: &str) -> Ran {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"));
    command
        .args(args)
        .env(testkit::procs::MARKER_VAR, marker)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("research-demo did not end within 60 s")
        .unwrap();
    Ran::ended(output, marker)
}

#[tokio::test]
async fn completions_for_each_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let ran = run(&["completions", shell], None, "unused").await;
        ran.exits(0);
        assert_eq!(ran.stderr, "");
        assert!(ran.stdout.contains("research-demo"), "{shell}: {}", ran.stdout);
        for command in ["ask", "chat", "route", "servers", "tools", "call", "serve", "completions"]
        {
            assert!(ran.stdout.contains(command), "{shell} completions lack {command}");
        }
        // fish writes `-l keep-alive`, the others `--keep-alive`.
        for flag in ["keep-alive", "wikipedia-url", "max-turns", "no-history"] {
            assert!(ran.stdout.contains(flag), "{shell} completions lack {flag}");
        }
    }
    let ran = run(&["completions", "tcsh"], None, "unused").await;
    ran.exits(2);
    assert!(ran.stderr.contains("possible values"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_and_v_choose_what_is_logged() {
    let marker = marker("logging");
    let testkit = testkit_stdio();
    let args = ["tools", "--stdio", testkit.as_str(), "--server", "testkit-mcp"];
    // By default, only errors: none here.
    let ran = run(&args, None, &marker).await;
    ran.exits(0);
    assert_eq!(ran.stderr, "");

    // RUST_LOG: debug lines of the stack, but not rmcp's own unless named.
    let ran = run(&args, Some("debug"), &marker).await;
    ran.exits(0);
    assert!(ran.stderr.contains(" DEBUG "), "{}", ran.stderr);
    assert!(ran.stderr.contains("mcp_session"), "{}", ran.stderr);
    assert!(!ran.stderr.contains(" rmcp::"), "{}", ran.stderr);
    let ran = run(&args, Some("info,rmcp=info"), &marker).await;
    ran.exits(0);
    assert!(ran.stderr.contains(" rmcp::"), "{}", ran.stderr);
    assert!(!ran.stderr.contains(" DEBUG "), "{}", ran.stderr);

    // -v still works without RUST_LOG, and RUST_LOG wins over it when set.
    let verbose = [&["-vv"][..], &args[..]].concat();
    let ran = run(&verbose, None, &marker).await;
    ran.exits(0);
    assert!(ran.stderr.contains(" DEBUG "), "{}", ran.stderr);
    let ran = run(&verbose, Some("error"), &marker).await;
    ran.exits(0);
    assert_eq!(ran.stderr, "");

    // A filter that does not parse is said, and -v's level used.
    let ran = run(&args, Some("[nope"), &marker).await;
    ran.exits(0);
    assert!(
        ran.stderr.starts_with("research-demo: RUST_LOG=\"[nope\" is not a log filter ("),
        "{}",
        ran.stderr
    );
}
