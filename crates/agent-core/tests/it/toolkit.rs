//! An MCP toolkit from `testkit-mcp` (stdio), used end to end by an agent, as the seed does;
//! and a toolkit of a pool lease, whose tools outlive the server process they started with.

use std::time::Duration;

use agent_core::{
    ConversableAgent, Role, RunOptions, create_toolkit, create_toolkit_from_lease,
    create_toolkit_from_pool,
};
use mcp_session::mcp_config::{MCPConfig, StdioConfig};
use mcp_session::{MCPClientSessionManager, SessionPool};
use serde_json::json;
use testkit::ledger;
use testkit::llm::{Match, Reply, ScriptedLlm};

use crate::llm_config;

#[tokio::test]
async fn the_seeds_flow_with_a_stdio_toolkit() {
    let llm = ScriptedLlm::start().await;
    llm.when_times(
        Match::any().last_role("user"),
        Reply::tool_call("echo", json!({"text": "2 papers found"})),
        1,
    );
    llm.when_times(
        Match::any().last_message("2 papers found"),
        Reply::tool_call("fail", json!({"message": "no PDF"})),
        1,
    );
    llm.when(
        Match::any().last_message("Error: no PDF"),
        Reply::text("The research paper ids are fetched."),
    );

    let server = StdioConfig::new("testkit", testkit::testkit_mcp().display().to_string())
        .arg("stdio")
        .into();
    let manager = MCPClientSessionManager::new();
    let session = manager.open_session(&server).await.unwrap();
    session.initialize().await.unwrap();
    let toolkit = create_toolkit(&session).await.unwrap();
    let echo = toolkit.tools().into_iter().find(|t| t.name() == "echo").unwrap();
    assert_eq!(echo.spec().parameters["required"], json!(["text"]), "the server's schema is kept");
    assert_eq!(toolkit.mcp_name("echo"), Some("echo"));

    let mut agent = ConversableAgent::builder("mcp_agent")
        .system_message(
            "You are an agent with access to testkit tools. Use them to answer queries.",
        )
        .llm_config(llm_config(&llm))
        .build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    let response = agent.run(RunOptions::new("Find papers").max_turns(5)).await.unwrap();
    session.close().await.unwrap();

    let tool_results: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(tool_results, ["2 papers found", "Error: no PDF"]);
    assert_eq!(response.summary(), "The research paper ids are fetched.");
    let offered: Vec<String> = llm.requests()[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        offered.contains(&"echo".to_owned()) && offered.contains(&"sleep".to_owned()),
        "{offered:?}"
    );
}

#[tokio::test]
async fn a_tool_of_a_closed_session_reports_it_to_the_model() {
    let server = StdioConfig::new("testkit", testkit::testkit_mcp().display().to_string())
        .arg("stdio")
        .into();
    let session = MCPClientSessionManager::new().open_session(&server).await.unwrap();
    let toolkit = create_toolkit(&session).await.unwrap();
    session.close().await.unwrap();
    let echo = toolkit.tools().into_iter().find(|t| t.name() == "echo").unwrap();
    let output = echo.call(r#"{"text": "hi"}"#).await;
    assert_eq!(output, Err("testkit: the session is closed; open a new one".to_owned()));
}

/// The state letter of process `pid` in /proc (`R`, `S`, `Z`…).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Whether process `pid` is gone. A killed multi-threaded process shows its leader as a zombie
/// while its other threads still exit (holding its pipes open): it is gone once the leader is
/// a zombie alone, or no longer exists.
fn gone(pid: u32) -> bool {
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count);
    state(pid).is_none_or(|state| state == 'Z' && threads <= 1)
}

#[tokio::test]
async fn a_lease_toolkit_keeps_working_after_its_server_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let server = StdioConfig::new("testkit", testkit::testkit_mcp().display().to_string())
        .arg("stdio")
        .env(ledger::ENV, ledger.display().to_string());
    let pool = SessionPool::new(MCPConfig::new([server.into()]).unwrap());
    let lease = pool.get("testkit").await.unwrap();
    let toolkit = create_toolkit_from_lease(&lease).await.unwrap();
    let tool = |name: &str| toolkit.tools().into_iter().find(|t| t.name() == name).unwrap();
    let (echo, lookup) = (tool("echo"), tool("lookup"));
    assert_eq!(echo.spec().parameters["required"], json!(["text"]), "the server's schema is kept");
    assert_eq!(echo.call(r#"{"text": "before"}"#).await.unwrap().message, "before");
    assert_eq!(lookup.call("{}").await.unwrap().message, "found");

    let pid = lease.session().unwrap().process_id().unwrap();
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for _ in 0..2000 {
        if gone(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone(pid), "the killed server is still there");

    // The same tools, now through a new server process, driven by an agent.
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().last_role("user"),
        Reply::tool_call("echo", json!({"text": "after the restart"})),
    );
    llm.when(Match::any().last_role("tool"), Reply::text("done"));
    let mut agent = ConversableAgent::builder("mcp_agent")
        .system_message("You are an agent with access to testkit tools.")
        .llm_config(llm_config(&llm))
        .build();
    toolkit.register_for_llm(&mut agent);
    toolkit.register_for_execution(&mut agent);
    let response = agent.run(RunOptions::new("Say it").max_turns(3)).await.unwrap();
    let tool_results: Vec<&str> =
        response.messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.text()).collect();
    assert_eq!(tool_results, ["after the restart"]);
    assert_eq!(lookup.call("{}").await.unwrap().message, "found");

    let restarted = lease.session().unwrap().process_id().unwrap();
    assert_ne!(restarted, pid, "a new server process");
    let started: Vec<u32> = ledger::read(&ledger)
        .into_iter()
        .filter(|(event, _, _)| event == "initialize")
        .map(|(_, _, pid)| pid)
        .collect();
    assert_eq!(started, [pid, restarted], "started once, then once more after the kill");

    drop((agent, toolkit, echo, lookup, lease));
    pool.close_all().await;
    let done = tokio::time::timeout(Duration::from_secs(20), async {
        while !gone(restarted) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(done.await.is_ok(), "close_all ended the restarted server");
}

#[tokio::test]
async fn a_pool_toolkit_names_routes_and_leaves_out_dead_servers() {
    let testkit = |name: &str| {
        StdioConfig::new(name, testkit::testkit_mcp().display().to_string()).arg("stdio").into()
    };
    let long = "a-server-with-a-name-far-longer-than-the-prefix-allows";
    let dead = StdioConfig::new("dead", "/nonexistent/mcp-server").into();
    let config = MCPConfig::new([testkit("alpha"), testkit("beta"), testkit(long), dead]).unwrap();
    let pool = SessionPool::new(config);
    let unknown = create_toolkit_from_pool(&pool, Some(&["alpha", "gamma"])).await.unwrap_err();
    assert!(unknown.to_string().contains("gamma"), "{unknown}");

    let toolkit = create_toolkit_from_pool(&pool, None).await.unwrap();
    let unavailable: Vec<&str> =
        toolkit.unavailable().iter().map(|(server, _)| server.as_str()).collect();
    assert_eq!(unavailable, ["dead"]);
    let names: Vec<String> = toolkit.tools().iter().map(|tool| tool.name().to_owned()).collect();
    assert!(names.contains(&"alpha__echo".to_owned()), "{names:?}");
    assert!(names.contains(&"beta__echo".to_owned()), "{names:?}");
    for name in &names {
        assert!(
            name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{name}"
        );
    }
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "no two tools share a name");
    let long_echo =
        names.iter().find(|name| name.ends_with("__echo") && name.starts_with("a-server")).unwrap();
    assert_eq!(toolkit.route(long_echo), Some((Some(long), "echo")));
    assert_eq!(toolkit.route("beta__add"), Some((Some("beta"), "add")));

    let tool = |name: &str| toolkit.tools().into_iter().find(|t| t.name() == name).unwrap();
    let add = tool("beta__add");
    assert!(add.spec().description.starts_with("[beta] "), "{}", add.spec().description);
    assert_eq!(add.call(r#"{"a": 2, "b": 3}"#).await.unwrap().message, "5");
    // A call the tool's schema refuses goes back to the model as the tool's error, saying
    // what to fix; the server never sees it.
    let refused = add.call(r#"{"a": "two"}"#).await.unwrap_err();
    assert!(refused.contains("Fix the arguments"), "{refused}");
    assert!(pool.stats("beta").unwrap().open);
    assert!(pool.stats("alpha").unwrap().open, "listing opened every live server");
    drop(toolkit);
    pool.close_all().await;
}
