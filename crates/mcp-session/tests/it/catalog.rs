//! The pool's catalog against real `testkit-mcp` processes: lists kept and listed again when
//! the server says they changed, when their time to live passes or when the server restarts;
//! bounded paging; tool filters. The servers write each `tools/list` they answer to a ledger,
//! so the counts are the server's own.

use std::time::Duration;

use mcp_session::mcp_config::{CatalogSettings, PoolSettings, StdioConfig, ToolFilter};
use mcp_session::{PagingProblem, SessionError};
use serde_json::json;

use crate::pool::{Bench, alive, kill_group, pid_of, pool_of, settled, until};

const LIST: &str = "tools/list";

fn names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|tool| tool.name.to_string()).collect()
}

fn with_catalog(server: StdioConfig, catalog: CatalogSettings) -> StdioConfig {
    server.catalog(catalog)
}

#[tokio::test]
async fn a_list_is_listed_once_and_kept() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("kept", &["--page-size", "3"], settled())]);
    let first = pool.list_tools("kept").await.unwrap();
    let again = pool.list_tools("kept").await.unwrap();
    assert_eq!(names(&first), names(&again));
    assert!(first.len() > 3, "every page: {:?}", names(&first));
    // A call's schema check reads the same kept list.
    pool.call_tool("kept", "echo", json!({"text": "x"})).await.unwrap();
    assert_eq!(bench.count(LIST), first.len().div_ceil(3), "one listing of every page, once");
    let stats = pool.stats("kept").unwrap();
    assert_eq!((stats.catalog_misses, stats.catalog_hits), (1, 2));
    pool.close_all().await;
}

#[tokio::test]
async fn concurrent_first_lists_list_once() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("busy", &[], settled())]);
    let lists = (0..8).map(|_| pool.list_tools("busy"));
    for listed in futures::future::join_all(lists).await {
        assert!(!listed.unwrap().is_empty());
    }
    assert_eq!(bench.count(LIST), 1);
    let stats = pool.stats("busy").unwrap();
    assert_eq!((stats.catalog_misses, stats.catalog_hits), (1, 7));
    pool.close_all().await;
}

#[tokio::test]
async fn a_list_changed_notice_makes_the_next_use_list_again() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("changing", &[], settled())]);
    pool.list_tools("changing").await.unwrap();
    pool.call_tool("changing", "change_tools", json!({})).await.unwrap();
    // The notice travels before the call's answer but is handled on its own: wait for the
    // listing it causes rather than for a time.
    let mut listings = 1;
    for _ in 0..2000 {
        pool.list_tools("changing").await.unwrap();
        listings = bench.count(LIST);
        if listings > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(listings, 2, "listed again once after the notice");
    pool.list_tools("changing").await.unwrap();
    assert_eq!(bench.count(LIST), 2, "and kept again after");
    pool.close_all().await;
}

#[tokio::test]
async fn a_ttl_of_zero_from_the_server_or_the_config_lists_on_every_use() {
    let bench = Bench::new();
    let keep_long = CatalogSettings::default().ttl(Duration::from_secs(3600));
    let servers = [
        // The server's `ttlMs` wins over the config's ttl.
        with_catalog(bench.stdio("server-says", &["--ttl-ms", "0"], settled()), keep_long),
        with_catalog(
            bench.stdio("config-says", &[], settled()),
            CatalogSettings::default().ttl(Duration::ZERO),
        ),
    ];
    let pool = pool_of(servers);
    for _ in 0..3 {
        pool.list_tools("server-says").await.unwrap();
        pool.list_tools("config-says").await.unwrap();
    }
    assert_eq!(bench.count(LIST), 6);
    assert_eq!(pool.stats("server-says").unwrap().catalog_hits, 0);
    pool.close_all().await;
}

#[tokio::test]
async fn a_restarted_server_is_listed_again() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("restarting", &[], settled())]);
    pool.list_tools("restarting").await.unwrap();
    let pid = pid_of(&pool, "restarting").await;
    kill_group(pid);
    until("the server is gone", || !alive(pid)).await;
    // Until the session's transport has seen the end, its kept list may still answer; after,
    // the next use reopens the server and lists its tools afresh.
    for _ in 0..2000 {
        if pool.list_tools("restarting").await.is_ok_and(|tools| !tools.is_empty())
            && bench.count(LIST) > 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_ne!(pid_of(&pool, "restarting").await, pid);
    assert_eq!(bench.count(LIST), 2);
    assert_eq!(bench.count("initialize"), 2);
    pool.close_all().await;
}

#[tokio::test]
async fn paging_is_bounded_with_typed_errors() {
    let bench = Bench::new();
    let servers = [
        bench.stdio("repeats", &["--page-size", "2", "--paging", "repeat"], settled()),
        with_catalog(
            bench.stdio("endless", &["--page-size", "2", "--paging", "endless"], settled()),
            CatalogSettings::default().max_pages(5).max_items(1_000),
        ),
        with_catalog(
            bench.stdio("long", &["--page-size", "2"], settled()),
            CatalogSettings::default().max_items(3),
        ),
    ];
    let pool = pool_of(servers);
    let problem = |err: SessionError| match err {
        SessionError::Paging { operation, problem, .. } => {
            assert_eq!(operation, "tools/list");
            problem
        }
        other => panic!("expected a paging error, got {other:?}"),
    };
    let repeated = problem(pool.list_tools("repeats").await.unwrap_err());
    assert_eq!(repeated, PagingProblem::RepeatedCursor { cursor: "1".to_owned() });
    let endless = pool.list_tools("endless").await.unwrap_err();
    assert!(endless.to_string().contains("catalog.max_pages"), "{endless}");
    assert_eq!(problem(endless), PagingProblem::TooManyPages { max: 5 });
    assert_eq!(bench.count(LIST), 2 + 5, "stopped at the bound");
    let long = problem(pool.list_tools("long").await.unwrap_err());
    assert_eq!(long, PagingProblem::TooManyItems { max: 3 });
    // The session stays usable: the bound failed the list, not the server.
    pool.call_tool("long", "echo", json!({"text": "still here"})).await.unwrap();
    pool.close_all().await;
}

#[tokio::test]
async fn a_bare_session_honours_the_paging_bounds_too() {
    let bench = Bench::new();
    let server = with_catalog(
        bench.stdio("bare", &["--page-size", "1", "--paging", "endless"], PoolSettings::default()),
        CatalogSettings::default().max_pages(3),
    );
    let manager = mcp_session::MCPClientSessionManager::new();
    let session = manager.open_session(&server.into()).await.unwrap();
    let err = session.list_tools().await.unwrap_err();
    assert!(
        matches!(err, SessionError::Paging { problem: PagingProblem::TooManyPages { max: 3 }, .. }),
        "{err:?}"
    );
    session.close().await.unwrap();
}

#[tokio::test]
async fn filtered_tools_are_neither_listed_nor_called() {
    let bench = Bench::new();
    let denied = ToolFilter::default().deny(["sleep", "fail*", "*_headers"]).unwrap();
    let allowed =
        ToolFilter::default().allow(["echo", "add", "sl*"]).unwrap().deny(["sleep"]).unwrap();
    let pool = pool_of([
        bench.stdio("denied", &[], settled()).tools(denied),
        bench.stdio("allowed", &[], settled()).tools(allowed),
    ]);
    let seen = names(&pool.list_tools("denied").await.unwrap());
    assert!(seen.contains(&"echo".to_owned()), "{seen:?}");
    for hidden in ["sleep", "fail", "request_headers"] {
        assert!(!seen.contains(&hidden.to_owned()), "{hidden} listed: {seen:?}");
    }
    assert_eq!(names(&pool.list_tools("allowed").await.unwrap()), ["add", "echo"], "deny wins");
    let refused = pool.call_tool("denied", "fail", json!({"message": "x"})).await.unwrap_err();
    assert!(
        matches!(&refused, SessionError::ToolFiltered { tool, .. } if tool == "fail"),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("tools.allow"), "{refused}");
    let stats = pool.stats("denied").unwrap();
    assert_eq!(stats.in_flight, 0);
    pool.close_all().await;
}

#[tokio::test]
async fn resources_templates_and_prompts_are_kept_too() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("lists", &[], settled())]);
    for _ in 0..2 {
        assert_eq!(pool.list_resources("lists").await.unwrap().len(), 1);
        assert!(pool.list_resource_templates("lists").await.unwrap().is_empty());
        assert_eq!(pool.list_prompts("lists").await.unwrap().len(), 1);
    }
    let stats = pool.stats("lists").unwrap();
    assert_eq!((stats.catalog_misses, stats.catalog_hits), (3, 3));
    pool.close_all().await;
}

#[tokio::test]
async fn arguments_that_break_the_input_schema_are_refused_before_sending() {
    let bench = Bench::new();
    let pool = pool_of([bench.stdio("checked", &[], settled())]);
    let refused = pool.call_tool("checked", "add", json!({"a": "one"})).await.unwrap_err();
    let SessionError::SchemaMismatch { violation, .. } = &refused else {
        panic!("expected a schema mismatch, got {refused:?}")
    };
    assert_eq!(violation.side, mcp_session::SchemaSide::Arguments);
    let text = refused.to_string();
    assert!(text.contains("missing required property \"b\""), "{text}");
    assert!(text.contains("/a: \"one\" is not of type \"number\""), "{text}");
    assert!(text.ends_with("Fix the arguments and call the tool again."), "{text}");
    let stats: serde_json::Value = serde_json::from_str(&crate::pool::text(
        &pool.call_tool("checked", "stats", json!({})).await.unwrap(),
    ))
    .unwrap();
    assert_eq!(stats["calls"], 0, "the refused call never reached the server");
    let sum = pool.call_tool("checked", "add", json!({"a": 1, "b": 2})).await.unwrap();
    assert_eq!(crate::pool::text(&sum), "3");
    pool.close_all().await;
}

#[tokio::test]
async fn structured_content_is_checked_against_the_output_schema() {
    let bench = Bench::new();
    let config = crate::pool::config_of([bench.stdio("out", &[], settled()).into()]);
    let checked = mcp_session::SessionPool::new(config.clone());
    let fine = checked.call_tool("out", "structured", json!({"n": 7})).await.unwrap();
    assert_eq!(fine.structured_content, Some(json!({"n": 7})));
    let broken = checked.call_tool("out", "structured", json!({"n": "seven"})).await.unwrap_err();
    let SessionError::SchemaMismatch { violation, .. } = &broken else {
        panic!("expected a schema mismatch, got {broken:?}")
    };
    assert_eq!(violation.side, mcp_session::SchemaSide::StructuredContent);
    assert!(broken.to_string().contains("fault of the MCP server"), "{broken}");
    checked.close_all().await;
    let unchecked = mcp_session::SessionPool::builder(config).validate_schemas(false).build();
    let passed = unchecked.call_tool("out", "structured", json!({"n": "seven"})).await.unwrap();
    assert_eq!(passed.structured_content, Some(json!({"n": "seven"})));
    assert_eq!(bench.count(LIST), 1, "only the checking pool listed the tools");
    unchecked.close_all().await;
}
