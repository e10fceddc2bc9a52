//! The arXiv client against the fixture server, and against raw servers that fail on purpose.

use std::time::Duration;

use research_demo::arxiv::api::{ArxivApi, ArxivError, Sort};
use research_demo::fixtures::FixtureServer;

use crate::common::raw;

async fn api() -> (FixtureServer, ArxivApi) {
    let server = FixtureServer::start().await.unwrap();
    let api = ArxivApi::at(server.url(), Duration::ZERO).unwrap();
    (server, api)
}

#[tokio::test]
async fn search_reads_the_recorded_feed() {
    let (_server, api) = api().await;
    let feed = api.search("large language models", 2, Sort::Date, &[]).await.unwrap();
    assert_eq!(feed.papers.len(), 2);
    assert_eq!(feed.papers[0].title, "Scaling Laws for Tool-Using Large Language Models");
    let mcp = api.search("Model Context Protocol", 10, Sort::Relevance, &[]).await.unwrap();
    assert_eq!(mcp.papers.len(), 2);
    assert_eq!(mcp.papers[1].authors, ["Whitfield Diffie", "Radia Perlman"]);
    let nothing =
        api.search("medieval basket weaving", 5, Sort::Relevance, &["cs.CL".into()]).await.unwrap();
    assert!(nothing.papers.is_empty());
    assert_eq!(nothing.total_results, 0);
}

#[tokio::test]
async fn papers_and_renderings_by_id() {
    let (_server, api) = api().await;
    let paper = api.paper("2611.00987v2").await.unwrap();
    assert_eq!(paper.authors, ["Grace Hopper"]);
    assert!(
        matches!(api.paper("2611.99999").await, Err(ArxivError::NotFound(id)) if id == "2611.99999")
    );
    assert!(matches!(api.paper("../../etc/passwd").await, Err(ArxivError::InvalidId(_))));
    let html = api.html("2611.01234v1").await.unwrap();
    assert!(html.contains("<h1 class=\"ltx_title ltx_title_document\">"));
    assert!(matches!(api.html("2611.00456v1").await, Err(ArxivError::NotFound(_))));
}

#[tokio::test]
async fn upstream_failures_are_typed() {
    let limited = ArxivApi::at(
        raw("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        Duration::ZERO,
    )
    .unwrap();
    let err = limited.search("llm", 1, Sort::Relevance, &[]).await.unwrap_err();
    assert!(matches!(err, ArxivError::Http { status: 429, .. }), "{err:?}");
    assert!(err.to_string().contains("wait and try again"));

    let broken = ArxivApi::at(
        raw("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        Duration::ZERO,
    )
    .unwrap();
    assert!(matches!(
        broken.search("llm", 1, Sort::Relevance, &[]).await,
        Err(ArxivError::Http { status: 500, .. })
    ));

    let garbled = ArxivApi::at(
        raw("HTTP/1.1 200 OK\r\ncontent-type: application/atom+xml\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<feed><entry>"),
        Duration::ZERO,
    )
    .unwrap();
    let err = garbled.search("llm", 1, Sort::Relevance, &[]).await.unwrap_err();
    assert!(matches!(err, ArxivError::Malformed(_)), "{err:?}");
}

/// The client applies its interval. The spacing itself (sequential and concurrent requests) is
/// checked under paused time by the unit tests of `src/http.rs`: with real I/O here, this test
/// only checks a lower bound, which no machine load can break.
#[tokio::test]
async fn the_client_waits_for_its_rate_limit() {
    let server = FixtureServer::start().await.unwrap();
    let api = ArxivApi::at(server.url(), Duration::from_millis(300)).unwrap();
    let started = std::time::Instant::now();
    api.search("llm", 1, Sort::Relevance, &[]).await.unwrap();
    api.search("llm", 1, Sort::Relevance, &[]).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}
