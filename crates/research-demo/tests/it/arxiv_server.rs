//! The arXiv MCP server as its users meet it: `research-demo serve arxiv`, spawned over stdio by
//! an MCP session, answering from the recorded fixtures.

use std::path::Path;

use mcp_config::StdioConfig;
use mcp_session::{MCPClientSessionManager, Session};
use serde_json::json;

use crate::common::{call, call_json, raw};

async fn open(storage: &Path, extra: &[&str]) -> Session {
    let mut args = vec!["serve", "arxiv", "--storage-path", storage.to_str().unwrap()];
    args.extend_from_slice(extra);
    let config = StdioConfig::new("ArxivServer", env!("CARGO_BIN_EXE_research-demo")).args(args);
    MCPClientSessionManager::new().open_session(&config.into()).await.unwrap()
}

#[tokio::test]
async fn search_read_and_list_papers() {
    let storage = tempfile::tempdir().unwrap();
    let session = open(storage.path(), &[]).await;
    assert_eq!(session.server_info().unwrap().name, "arxiv-mcp-server");
    let mut tools: Vec<String> =
        session.list_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    tools.sort();
    assert_eq!(
        tools,
        ["download_paper", "get_abstract", "list_papers", "read_paper", "search_papers"]
    );

    let found = call_json(
        &session,
        "search_papers",
        json!({"query": "large language models", "max_results": 2, "sort": "date"}),
    )
    .await;
    assert_eq!(found["papers"].as_array().unwrap().len(), 2);
    assert_eq!(found["papers"][0]["id"], "2611.01234v1");
    assert_eq!(found["papers"][0]["title"], "Scaling Laws for Tool-Using Large Language Models");

    let paper = call_json(&session, "get_abstract", json!({"paper_id": "2611.00987v2"})).await;
    assert_eq!(paper["authors"], json!(["Grace Hopper"]));

    let (failed, text) = call(&session, "read_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert!(failed && text.contains("call download_paper"), "{text}");

    let downloaded =
        call_json(&session, "download_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert_eq!(downloaded["status"], "success");
    let again = call_json(&session, "download_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert!(again["message"].as_str().unwrap().contains("already downloaded"));

    let listed = call_json(&session, "list_papers", json!({})).await;
    assert_eq!(listed, json!({"total_papers": 1, "papers": ["2611.01234v1"]}));
    let (failed, text) = call(&session, "read_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert!(!failed, "{text}");
    assert!(text.contains("Scaling Laws for Tool-Using Large Language Models"), "{text}");
    assert!(!text.contains('<'), "the stored text has no markup: {text}");
    session.close().await.unwrap();

    // The papers outlive the server: a new one lists them.
    let session = open(storage.path(), &[]).await;
    let listed = call_json(&session, "list_papers", json!({})).await;
    assert_eq!(listed["total_papers"], 1);
    session.close().await.unwrap();
}

#[tokio::test]
async fn bad_ids_and_missing_papers_are_tool_errors() {
    let storage = tempfile::tempdir().unwrap();
    let session = open(&storage.path().join("papers"), &[]).await;
    for id in ["../../etc/passwd", "../2401.01234", "2401.01234/../../x", "", "2401.1"] {
        let (failed, text) = call(&session, "download_paper", json!({"paper_id": id})).await;
        assert!(failed && text.contains("is not an arXiv id"), "{id}: {text}");
    }
    let (failed, text) = call(&session, "get_abstract", json!({"paper_id": "2611.99999"})).await;
    assert!(failed && text.contains("no arXiv paper 2611.99999"), "{text}");
    let (failed, text) =
        call(&session, "download_paper", json!({"paper_id": "2611.00456v1"})).await;
    assert!(failed && text.contains("use get_abstract"), "{text}");
    // Nothing was written: not even the storage directory.
    assert!(!storage.path().join("papers").exists());
    let listed = call_json(&session, "list_papers", json!({})).await;
    assert_eq!(listed["total_papers"], 0);
    session.close().await.unwrap();
}

#[tokio::test]
async fn traversal_ids_are_refused_by_every_tool_that_takes_an_id() {
    let root = tempfile::tempdir().unwrap();
    let storage = root.path().join("papers");
    std::fs::create_dir_all(&storage).unwrap();
    // A file one level up that a traversal would reach.
    std::fs::write(root.path().join("x.md"), "outside the storage").unwrap();
    let session = open(&storage, &[]).await;
    for id in ["../x", "/etc/passwd", "a/../../b", "../../x", "2611.01234v1/../../x", "..\\x"] {
        for tool in ["read_paper", "get_abstract", "download_paper"] {
            let (failed, text) = call(&session, tool, json!({"paper_id": id})).await;
            assert!(failed, "{tool}({id:?}) succeeded: {text}");
            assert!(text.contains("is not an arXiv id"), "{tool}({id:?}): {text}");
            assert!(!text.contains("outside the storage"), "{tool}({id:?}): {text}");
        }
    }
    assert_eq!(std::fs::read_dir(&storage).unwrap().count(), 0, "nothing was written");
    session.close().await.unwrap();
}

#[tokio::test]
async fn an_interrupted_download_leaves_no_listed_paper() {
    // The rendering's body ends long before its announced length: the connection drops mid-way.
    let cut = raw(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n<html><body><h1>Half a pa",
    );
    let storage = tempfile::tempdir().unwrap();
    let session = open(storage.path(), &["--api-base", cut.as_str()]).await;
    let (failed, text) =
        call(&session, "download_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert!(failed && text.contains("cannot reach arXiv"), "{text}");
    let listed = call_json(&session, "list_papers", json!({})).await;
    assert_eq!(listed, json!({"total_papers": 0, "papers": []}));
    let (failed, text) = call(&session, "read_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert!(failed && text.contains("call download_paper"), "{text}");
    assert_eq!(std::fs::read_dir(storage.path()).unwrap().count(), 0, "no file was left");
    session.close().await.unwrap();
}

#[tokio::test]
async fn files_left_by_a_crash_mid_write_are_not_listed() {
    let storage = tempfile::tempdir().unwrap();
    // What a server killed between writing and renaming leaves, and other names that are not
    // whole papers.
    for name in [".2611.01234v1.md.4242-0.partial", "2611.01234v1.md.partial", "2611.00987v2.tmp"] {
        std::fs::write(storage.path().join(name), "half a paper").unwrap();
    }
    let session = open(storage.path(), &[]).await;
    let listed = call_json(&session, "list_papers", json!({})).await;
    assert_eq!(listed, json!({"total_papers": 0, "papers": []}));
    // A download then stores the paper whole, and only it is listed.
    let downloaded =
        call_json(&session, "download_paper", json!({"paper_id": "2611.01234v1"})).await;
    assert_eq!(downloaded["status"], "success");
    let listed = call_json(&session, "list_papers", json!({})).await;
    assert_eq!(listed, json!({"total_papers": 1, "papers": ["2611.01234v1"]}));
    session.close().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_api_is_a_tool_error_that_names_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}/");
    let storage = tempfile::tempdir().unwrap();
    let session = open(storage.path(), &["--api-base", &base]).await;
    let (failed, text) =
        call(&session, "search_papers", json!({"query": "large language models"})).await;
    assert!(failed && text.contains("cannot reach arXiv") && text.contains(&base), "{text}");
    session.close().await.unwrap();
}

#[test]
fn usage_errors_exit_2() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_research-demo"))
        .args(["serve", "arxiv", "--live", "--api-base", "http://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be used with"));
}
