//! `cargo run -p examples --example agent_with_mcp_tools`, run as a process with the offline
//! planner against testkit-mcp.

use std::process::Command;

#[test]
fn the_offline_planner_uses_the_servers_tool() {
    let output = Command::new(testkit::example("agent_with_mcp_tools"))
        .args(["echo hello world", &testkit::testkit_mcp().display().to_string(), "stdio"])
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("LLM: offline planner (rule-based, not a model)\n"), "{stdout}");
    assert!(stdout.contains("mcp_agent calls echo({\"text\":\"echo hello world\"})"), "{stdout}");
    assert!(
        stdout.ends_with("answer: [offline planner] echo returned:\necho hello world\n"),
        "{stdout}"
    );
}

#[test]
fn a_missing_server_is_reported() {
    let output = Command::new(testkit::example("agent_with_mcp_tools"))
        .args(["hi", "/nonexistent/server"])
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("command not found: /nonexistent/server")
    );
}
