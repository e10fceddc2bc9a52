//! The research assistant end to end: the seed's flow through a real arXiv server process,
//! with the scripted OpenAI-compatible server and with the offline planner; and the binary run
//! as a process.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use agent_core::{Event, LLMConfig, ModelConfig, StopReason};
use mcp_config::{MCPConfig, StdioConfig};
use research_demo::assistant::{ASSISTANT, ResearchAssistant};
use serde_json::{Value, json};
use testkit::llm::{Match, Reply, ScriptedLlm};

const QUERY: &str = "Search for recent papers about large language models on ArxivServer";
const TITLES: [&str; 2] = [
    "Scaling Laws for Tool-Using Large Language Models",
    "Retrieval-Augmented Agents: A Survey of Memory for Large Language Models",
];

fn arxiv_only(storage: &Path) -> MCPConfig {
    let arxiv = StdioConfig::new("ArxivServer", env!("CARGO_BIN_EXE_research-demo")).args([
        "serve",
        "arxiv",
        "--storage-path",
        storage.to_str().unwrap(),
    ]);
    MCPConfig::new([arxiv.into()]).unwrap()
}

/// A scripted model playing the seed's flow: the assistant calls the tool for ArxivServer, the
/// temporary agent makes `inner_call`, then hands back, and the assistant answers `answer`.
async fn scripted_seed_flow(inner_call: Reply, answer: &str) -> ScriptedLlm {
    let llm = ScriptedLlm::start().await;
    llm.when(
        Match::any().system("You are a research assistant agent.").last_role("user"),
        Reply::tool_call(
            "run_mcp_agent_to_client",
            json!({"query": QUERY, "server_name": "ArxivServer"}),
        ),
    );
    llm.when(Match::any().system("access to ArxivServer tools").last_role("user"), inner_call);
    llm.when(
        Match::any().system("access to ArxivServer tools").last_role("tool"),
        Reply::tool_call(agent_core::transfer_tool_name(ASSISTANT), json!({})),
    );
    llm.when(
        Match::any().system("You are a research assistant agent.").last_role("tool"),
        Reply::text(answer),
    );
    llm
}

#[tokio::test]
async fn the_seed_flow_with_a_scripted_model() {
    let llm = scripted_seed_flow(
        Reply::tool_call(
            "search_papers",
            json!({"query": "large language models", "max_results": 2, "sort": "date"}),
        ),
        "Two recent papers: the scaling laws paper and the memory survey.",
    )
    .await;
    let storage = tempfile::tempdir().unwrap();
    let llm_config = LLMConfig::new(
        ModelConfig::openai("gpt-test")
            .api_key("sk-test")
            .base_url(llm.base_url().parse().unwrap()),
    );
    let assistant = ResearchAssistant::new(arxiv_only(storage.path()), llm_config);
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let answer = assistant.ask(QUERY, 2, Some(sender)).await.unwrap();
    assert_eq!(answer.response.stop_reason, StopReason::Answered);
    assert!(answer.failures.is_empty(), "{:?}", answer.failures);
    assert_eq!(
        answer.summary(),
        "Two recent papers: the scaling laws paper and the memory survey."
    );

    let mut events = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        events.push(event);
    }
    let calls: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|event| match event {
            Event::ToolCall { agent, name, .. } => Some((agent.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("research_assistant", "run_mcp_agent_to_client"),
            ("mcp_agent", "search_papers"),
            ("mcp_agent", agent_core::transfer_tool_name(ASSISTANT).as_str()),
        ]
    );
    assert!(events.iter().any(|event| matches!(event, Event::Handoff { from, to } if from == "mcp_agent" && to == "research_assistant")));

    // The tool's schema names the configured servers, and the prompts list them.
    let requests = llm.requests();
    let first = &requests[0];
    assert_eq!(
        first["tools"][0]["function"]["parameters"]["properties"]["server_name"]["enum"],
        json!(["ArxivServer"])
    );
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("1. ArxivServer: to search for papers on arXiv"), "{system}");
    // The temporary agent's findings (the papers, not "Transferred to …") reach the assistant.
    let last = requests.last().unwrap();
    let tool_message = last["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(tool_message["role"], "tool");
    let findings = tool_message["content"].as_str().unwrap();
    for title in TITLES {
        assert!(findings.contains(title), "{findings}");
    }
}

#[tokio::test]
async fn the_seed_flow_with_the_offline_planner() {
    let storage = tempfile::tempdir().unwrap();
    let assistant =
        ResearchAssistant::new(arxiv_only(storage.path()), LLMConfig::new(ModelConfig::offline()));
    let response = assistant.ask(QUERY, 2, None).await.unwrap();
    assert_eq!(response.response.stop_reason, StopReason::Answered);
    let answer = response.summary();
    assert!(answer.starts_with("[offline planner]"), "{answer}");
    for title in TITLES {
        assert!(answer.contains(title), "{answer}");
    }
}

#[tokio::test]
async fn an_unknown_server_is_an_error_that_lists_the_known_ones() {
    let storage = tempfile::tempdir().unwrap();
    let assistant =
        ResearchAssistant::new(arxiv_only(storage.path()), LLMConfig::new(ModelConfig::offline()));
    let err = assistant.run_on_server(QUERY, "ArxivServr", None).await.unwrap_err().to_string();
    assert!(err.contains("ArxivServer"), "{err}");
}

/// Runs the binary with `args`, `MCP_LEAK_MARKER=marker` in its environment (its servers inherit
/// it), and no OpenAI variables.
fn demo(args: &[&str], marker: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(args)
        .env(testkit::procs::MARKER_VAR, marker)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_binary_answers_offline_and_leaves_no_process() {
    let marker = format!("demo-offline-{}", std::process::id());
    let output = demo(&["--offline", QUERY], &marker);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.starts_with("LLM: offline planner"), "{text}");
    assert!(text.contains("mcp_agent calls search_papers"), "{text}");
    assert!(text.contains("mcp_agent hands over to research_assistant"), "{text}");
    let answer = &text[text.rfind("answer:").unwrap()..];
    for title in TITLES {
        assert!(answer.contains(title), "{answer}");
    }
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(10)), Vec::<String>::new());
}

#[test]
fn json_lines() {
    let marker = format!("demo-json-{}", std::process::id());
    let output = demo(&["--offline", "--json", QUERY], &marker);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> =
        stdout(&output).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(
        lines[0],
        json!({"type": "llm", "text": "LLM: offline planner (not a model) — set OPENAI_API_KEY for a real model"})
    );
    assert_eq!(lines[1], json!({"type": "query", "text": QUERY}));
    for line in &lines {
        let known = [
            "text",
            "text_delta",
            "tool_call",
            "tool_response",
            "handoff",
            "termination",
            "answer",
        ];
        assert!(
            line == &lines[0]
                || line == &lines[1]
                || known.contains(&line["type"].as_str().unwrap()),
            "{line}"
        );
    }
    // Stop reasons are data: the temporary agent hands back, then the assistant answers.
    let reasons: Vec<&Value> = lines
        .iter()
        .filter(|line| line["type"] == "termination")
        .map(|line| &line["reason"])
        .collect();
    assert_eq!(
        reasons,
        [&json!({"kind": "handed_off", "to": "research_assistant"}), &json!({"kind": "answered"})]
    );
    assert!(lines.iter().any(|line| line["type"] == "tool_call"
        && line["name"] == "run_mcp_agent_to_client"
        && line["arguments"].as_str().unwrap().contains("\"server_name\":\"ArxivServer\"")));
    assert!(lines.iter().any(|line| line["type"] == "handoff"));
    let answer = lines.last().unwrap();
    assert_eq!(answer["type"], "answer");
    assert!(answer["text"].as_str().unwrap().contains(TITLES[0]));
    // The text streams (the offline planner sends it as one piece): the `text_delta` lines
    // before a `text` line add up to it.
    let mut streamed = String::new();
    for line in &lines {
        match line["type"].as_str().unwrap() {
            "text_delta" => streamed.push_str(line["delta"].as_str().unwrap()),
            "text" => {
                assert_eq!(streamed, line["content"].as_str().unwrap());
                streamed.clear();
            }
            _ => {}
        }
    }
    assert!(lines.iter().any(|line| line["type"] == "text_delta"));
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(10)), Vec::<String>::new());
}

#[test]
fn a_config_file_replaces_the_built_in_servers() {
    let Some(peers) = testkit::peers::peers() else { return };
    let (command, args) = peers.fastmcp_stdio();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcp.json");
    let servers = json!({"mcpServers": {"calculator": {"command": command, "args": args}}});
    std::fs::write(&config, servers.to_string()).unwrap();
    let marker = format!("demo-config-{}", std::process::id());
    let output =
        demo(&["--config", config.to_str().unwrap(), "Add 2 and 3 using calculator"], &marker);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("MCP servers: calculator"), "{text}");
    assert!(text.contains("mcp_agent calls add("), "{text}");
    assert!(text.contains("\"server_name\":\"calculator\""), "{text}");
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(10)), Vec::<String>::new());
}

#[test]
fn usage_and_configuration_errors_exit_2_with_one_line() {
    let output = demo(&["--config", "/nonexistent/mcp.json", QUERY], "unused");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("research-demo: ") && stderr.contains("/nonexistent/mcp.json"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stdout(&output), "");

    // With --json, stdout says it too, as the last (here the only) line.
    let output = demo(&["--json", "--config", "/nonexistent/mcp.json", QUERY], "unused");
    assert_eq!(output.status.code(), Some(2));
    let error: Value = serde_json::from_str(stdout(&output).trim_end()).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["kind"], "config");
    assert_eq!(error["exit_code"], 2);
    assert!(error["message"].as_str().unwrap().contains("/nonexistent/mcp.json"), "{error}");

    let output = Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(["--json", QUERY])
        .env("OPENAI_BASE_URL", "not a url")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OPENAI_BASE_URL \"not a url\" is not a URL"), "{stderr}");

    // clap's own usage errors.
    assert_eq!(demo(&["--max-turns", "0", QUERY], "unused").status.code(), Some(2));
    assert_eq!(demo(&["--offline", "--model", "gpt-4o", QUERY], "unused").status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_llm_exits_1_with_an_error_line() {
    let llm = ScriptedLlm::start().await;
    llm.when(Match::any(), Reply::Status { code: 401, retry_after: None });
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(["--json", "--base-url", llm.base_url(), "--model", "gpt-test", QUERY])
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("research-demo: ") && stderr.contains("401"), "{stderr}");
    let lines: Vec<Value> =
        stdout(&output).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let types: Vec<&str> = lines.iter().map(|line| line["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["llm", "query", "error"], "{lines:?}");
    let error = &lines[2];
    assert_eq!(error["kind"], "llm");
    assert_eq!(error["exit_code"], 1);
    assert!(error["message"].as_str().unwrap().contains("401"), "{error}");
    assert!(!error["message"].as_str().unwrap().contains("sk-test"), "{error}");
}

#[test]
fn without_a_query_it_asks_the_seeds_two_over_stdio_and_sse() {
    let marker = format!("demo-seed-{}", std::process::id());
    let output = demo(&["--offline"], &marker);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(text.matches("\nanswer:").count(), 2, "{text}");
    assert!(text.contains("\"server_name\":\"WikipediaServer\""), "{text}");
    assert!(text.contains("mcp_agent calls get_featured"), "{text}");
    assert!(text.contains("- Ada Lovelace: English mathematician"), "{text}");
    assert!(text.contains("- The first module of the Lunar Gateway space station is launched."));
    assert!(text.contains(TITLES[0]), "{text}");
    assert_eq!(testkit::procs::survivors(&marker, Duration::from_secs(10)), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_talks_to_an_openai_compatible_endpoint() {
    let llm = scripted_seed_flow(
        Reply::tool_call("get_abstract", json!({"paper_id": "2611.00987v2"})),
        "One paper: Retrieval-Augmented Agents, by Grace Hopper.",
    )
    .await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(["--base-url", llm.base_url(), "--model", "gpt-test", QUERY])
        .env("OPENAI_API_KEY", "sk-test")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .await
        .unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("LLM: gpt-test at http://127.0.0.1:"), "{first}");
    assert!(text.contains("mcp_agent calls get_abstract"), "{text}");
    assert!(
        text.ends_with("answer:\nOne paper: Retrieval-Augmented Agents, by Grace Hopper.\n"),
        "{text}"
    );
    assert!(llm.requests().iter().all(|request| request["model"] == "gpt-test"));
}
