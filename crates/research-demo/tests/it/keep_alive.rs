//! `--keep-alive`: the assistant's tool calls share a session pool, so a server is started once
//! for many calls; and `check_mcp_servers`, the health check tool, in both modes. The binary is
//! run as a process, thinking with the scripted model.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use agent_core::transfer_tool_name;
use research_demo::assistant::{ASSISTANT, CHECK_TOOL};
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};

const QUERY: &str = "Search for recent papers about large language models on ArxivServer";
const ASSISTANT_PROMPT: &str = "You are a research assistant agent.";

/// Runs `research-demo --json --base-url LLM --model m ARGS…` to its end, with
/// `MCP_LEAK_MARKER=marker` (its servers inherit it) and a fake API key.
async fn demo(llm: &ScriptedLlm, args: &[&str], marker: &str) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"));
    command
        .args(["--json", "--base-url", llm.base_url(), "--model", "m"])
        .args(args)
        .env(testkit::procs::MARKER_VAR, marker)
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("research-demo did not end within 60 s")
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(testkit::procs::survivors(marker, Duration::from_secs(15)), Vec::<String>::new());
    output
}

/// The stdout lines, each parsed as JSON.
fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

/// The names of the tools the assistant called, in order.
fn assistant_calls(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line["type"] == "tool_call" && line["agent"] == ASSISTANT)
        .map(|line| line["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The temporary agent's part of the seed flow: it searches arXiv, then hands back.
fn the_temporary_agent_searches(llm: &ScriptedLlm) {
    llm.when(
        Match::any().system("access to ArxivServer tools").last_role("user"),
        Reply::tool_call(
            "search_papers",
            json!({"query": "large language models", "max_results": 2, "sort": "date"}),
        ),
    );
    llm.when(
        Match::any().system("access to ArxivServer tools").last_role("tool"),
        Reply::tool_call(transfer_tool_name(ASSISTANT), json!({})),
    );
}

/// The assistant's replies, one per turn: each reply after the first comes once the previous
/// one's tool answered.
async fn assistant_replies(replies: Vec<Reply>) -> ScriptedLlm {
    let llm = ScriptedLlm::start().await;
    the_temporary_agent_searches(&llm);
    let mut replies = replies.into_iter();
    if let Some(first) = replies.next() {
        llm.when(Match::any().system(ASSISTANT_PROMPT).last_role("user"), first);
    }
    for reply in replies {
        llm.when_times(Match::any().system(ASSISTANT_PROMPT).last_role("tool"), reply, 1);
    }
    llm
}

fn research(query: &str) -> Reply {
    Reply::tool_call(
        "run_mcp_agent_to_client",
        json!({"query": query, "server_name": "ArxivServer"}),
    )
}

/// A config whose ArxivServer is this binary's `serve arxiv`, started through a shell that
/// first appends a line to `spawns`: one line per start of the server.
fn counting_config(dir: &Path, spawns: &Path) -> String {
    let script = format!(
        "echo started >> '{}'; exec \"$0\" serve arxiv --storage-path '{}'",
        spawns.display(),
        dir.display()
    );
    let server = json!({
        "command": "sh",
        "args": ["-c", script, env!("CARGO_BIN_EXE_research-demo")],
    });
    let path = dir.join("mcp.json");
    std::fs::write(&path, json!({"mcpServers": {"ArxivServer": server}}).to_string()).unwrap();
    path.display().to_string()
}

fn starts(spawns: &Path) -> usize {
    std::fs::read_to_string(spawns).map_or(0, |text| text.lines().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_starts_the_server_once_for_two_calls() {
    for (keep_alive, expected) in [(true, 1), (false, 2)] {
        let llm = assistant_replies(vec![
            research(QUERY),
            research("Search for papers about retrieval-augmented agents on ArxivServer"),
            Reply::text("Two searches done."),
        ])
        .await;
        let dir = tempfile::tempdir().unwrap();
        let spawns = dir.path().join("spawns");
        let config = counting_config(dir.path(), &spawns);
        let mut args = vec!["--config", config.as_str(), "--max-turns", "3"];
        if keep_alive {
            args.push("--keep-alive");
        }
        args.push(QUERY);
        let marker = format!("keep-alive-{keep_alive}-{}", std::process::id());
        let output = demo(&llm, &args, &marker).await;
        let lines = json_lines(&output);
        assert_eq!(
            assistant_calls(&lines),
            ["run_mcp_agent_to_client", "run_mcp_agent_to_client"],
            "{lines:?}"
        );
        // Both calls reached the server: each temporary agent searched and got papers.
        let found = lines
            .iter()
            .filter(|line| {
                line["type"] == "tool_response"
                    && line["content"].as_str().unwrap_or("").contains("Scaling Laws")
            })
            .count();
        assert!(found >= 2, "{lines:?}");
        assert_eq!(lines.last().unwrap()["text"], "Two searches done.");
        assert_eq!(starts(&spawns), expected, "keep_alive: {keep_alive}");
    }
}

/// The content of the tool message answering the assistant's call of `check_mcp_servers`, as
/// the model received it.
fn check_reply(llm: &ScriptedLlm, nth: usize) -> String {
    let requests = llm.requests();
    let messages = requests.last().unwrap()["messages"].as_array().unwrap().clone();
    let ids: Vec<String> = messages
        .iter()
        .flat_map(|message| message["tool_calls"].as_array().cloned().unwrap_or_default())
        .filter(|call| call["function"]["name"] == CHECK_TOOL)
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect();
    let id = &ids[nth];
    let reply = messages.iter().find(|message| message["tool_call_id"] == id.as_str()).unwrap();
    reply["content"].as_str().unwrap().to_owned()
}

/// Whether `line` says `server` answered its check: healthy, or degraded by a slow ping only
/// (a loaded machine may take over `pool.degraded_after`).
fn answered(line: &str, server: &str) -> bool {
    line.starts_with(&format!("{server}: healthy: answered in "))
        || line.starts_with(&format!("{server}: degraded: its ping took "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_mcp_servers_reports_each_servers_health() {
    // --keep-alive: the pool's sessions are checked as they are; `start` would start any that
    // is not open.
    let llm = assistant_replies(vec![
        research(QUERY),
        Reply::tool_call(CHECK_TOOL, json!({})),
        Reply::tool_call(CHECK_TOOL, json!({"start": true})),
        Reply::text("Both servers are up."),
    ])
    .await;
    let marker = format!("check-keep-alive-{}", std::process::id());
    let output =
        demo(&llm, &["--keep-alive", "--max-turns", "4", "Are the MCP servers up?"], &marker).await;
    let lines = json_lines(&output);
    assert_eq!(
        assistant_calls(&lines),
        ["run_mcp_agent_to_client", CHECK_TOOL, CHECK_TOOL],
        "{lines:?}"
    );
    let first = check_reply(&llm, 0);
    let first: Vec<&str> = first.lines().collect();
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(answered(first[0], "ArxivServer"), "{first:?}");
    // Before the question the assistant lists every server's tools from the pool's catalog,
    // which starts each: both answer.
    assert!(answered(first[1], "WikipediaServer"), "{first:?}");
    let started = check_reply(&llm, 1);
    let started: Vec<&str> = started.lines().collect();
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(answered(started[0], "ArxivServer"), "{started:?}");
    assert!(answered(started[1], "WikipediaServer"), "{started:?}");
    assert_eq!(lines.last().unwrap()["text"], "Both servers are up.");
    // The tool is offered with its `start` flag, and a description that says when to use it.
    let offered = &llm.requests()[0]["tools"];
    let check = offered.as_array().unwrap().iter().find(|t| t["function"]["name"] == CHECK_TOOL);
    let check = &check.unwrap()["function"];
    assert_eq!(check["parameters"]["properties"]["start"]["type"], "boolean");
    assert!(check["description"].as_str().unwrap().contains("Use it when"), "{check}");

    // The seed's flow: the check starts every server for itself, and closes it.
    let llm = assistant_replies(vec![
        Reply::tool_call(CHECK_TOOL, json!({})),
        Reply::text("Both servers are up."),
    ])
    .await;
    let marker = format!("check-seed-{}", std::process::id());
    let output = demo(&llm, &["Are the MCP servers up?"], &marker).await;
    assert_eq!(assistant_calls(&json_lines(&output)), [CHECK_TOOL]);
    let report = check_reply(&llm, 0);
    let report: Vec<&str> = report.lines().collect();
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(answered(report[0], "ArxivServer"), "{report:?}");
    assert!(answered(report[1], "WikipediaServer"), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_servers_with_one_dead_the_dead_one_is_reported_the_others_serve() {
    let llm = assistant_replies(vec![research(QUERY), Reply::text("Found them.")]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut servers = serde_json::Map::new();
    servers.insert(
        "ArxivServer".to_owned(),
        json!({
            "command": env!("CARGO_BIN_EXE_research-demo"),
            "args": ["serve", "arxiv", "--storage-path", dir.path()],
        }),
    );
    for index in 1..=18 {
        servers.insert(
            format!("testkit-{index:02}"),
            json!({"command": testkit::testkit_mcp(), "args": ["stdio"]}),
        );
    }
    servers.insert("gone".to_owned(), json!({"command": "/nonexistent/mcp-server"}));
    let path = dir.path().join("mcp.json");
    std::fs::write(&path, json!({"mcpServers": servers}).to_string()).unwrap();
    let config = path.display().to_string();
    let marker = format!("twenty-{}", std::process::id());
    let args = ["--config", config.as_str(), "--keep-alive", "--max-turns", "2", QUERY];
    let output = demo(&llm, &args, &marker).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("left out gone"), "{stderr}");
    let lines = json_lines(&output);
    assert_eq!(lines.last().unwrap()["text"], "Found them.", "{lines:?}");
    // The model was offered the 19 servers that listed, each described from its catalog.
    let first = &llm.requests()[0];
    let system = first["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(system.contains("You have 19 MCP servers to use:"), "{system}");
    assert!(system.contains("1. ArxivServer: to search for papers on arXiv"), "{system}");
    assert!(system.contains("testkit-07: its tools: add, ask_client"), "{system}");
    assert!(!system.contains("gone"), "{system}");
    let tool = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["function"]["name"] == "run_mcp_agent_to_client")
        .unwrap();
    let choices =
        tool["function"]["parameters"]["properties"]["server_name"]["enum"].as_array().unwrap();
    assert_eq!(choices.len(), 19);
    assert!(!choices.contains(&json!("gone")));
}
