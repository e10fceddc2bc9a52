//! The router's semantic stage over real HTTP: `HybridRouter` with `OpenAiEmbedder` against
//! testkit's loopback embeddings server (deterministic hashed-bag-of-words vectors): batching,
//! caching, the fusion, and the fall back to lexical ranking when the endpoint fails or hangs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_core::{EmbedError, EmbeddingConfig, Fusion, Hit, HybridRouter, Router};
use serde_json::json;
use testkit::embed::{Behavior, EmbeddingServer};

fn config(server: &EmbeddingServer) -> EmbeddingConfig {
    EmbeddingConfig::new("fixture")
        .base_url(server.base_url().parse().expect("a URL"))
        .batch_size(4)
        .request_timeout(Duration::from_secs(5))
}

/// Ten tools on two servers.
fn router() -> Router {
    let mut router = Router::new();
    let path = json!({"type": "object", "properties": {"path": {"type": "string"}}});
    for (name, description) in [
        ("read_file", "Read the complete contents of a file."),
        ("write_file", "Create a new file or overwrite an existing one."),
        ("list_directory", "List the files and folders in a directory."),
        ("move_file", "Move or rename a file."),
        ("search_files", "Search for files matching a pattern."),
        ("get_file_info", "Retrieve metadata about a file: size, times, permissions."),
    ] {
        router.add_tool("filesystem", name, description, &path);
    }
    for (name, description) in [
        ("git_status", "Shows the working tree status."),
        ("git_log", "Shows the commit logs."),
        ("git_diff", "Shows differences between branches or commits."),
        ("git_commit", "Records changes to the repository."),
    ] {
        router.add_tool("git", name, description, &json!({}));
    }
    router
}

fn hybrid(server: &EmbeddingServer, fusion: Fusion) -> HybridRouter {
    let embedder = config(server).embedder().expect("an embedder");
    HybridRouter::new(router(), Arc::new(embedder)).fusion(fusion)
}

fn tools(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.tool.as_str()).collect()
}

#[tokio::test]
async fn tools_are_embedded_once_in_batches_and_requests_at_each_ranking() {
    let server = EmbeddingServer::start().await;
    let mut hybrid = hybrid(&server, Fusion::default());
    hybrid.index().await.expect("indexed");
    let sizes: Vec<usize> = server.requests().iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 4, 2], "ten tool texts in batches of four");
    assert_eq!(hybrid.cached(), 10);
    let tool_texts: Vec<String> = server.requests().concat();
    assert!(tool_texts.iter().any(|t| t.starts_with("git: git log.")), "{tool_texts:?}");

    let hits = hybrid.try_rank("show me the commit logs", 3).await.expect("ranked");
    assert_eq!(hits[0].tool, "git_log");
    hybrid.try_rank("show me the commit logs", 3).await.expect("ranked");
    // Each ranking sends only the request; no tool is embedded again.
    let requests = server.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[3], ["show me the commit logs"]);
    assert_eq!(requests[4], ["show me the commit logs"]);

    // A new tool: only it is embedded at the next ranking; a replaced server's unchanged
    // tools are not.
    hybrid.router_mut().add_tool("git", "git_branch", "List Git branches.", &json!({}));
    hybrid.try_rank("which branches are there", 1).await.expect("ranked");
    let requests = server.requests();
    assert_eq!(requests[5].len(), 1, "{:?}", requests[5]);
    assert!(requests[5][0].starts_with("git: git branch."), "{:?}", requests[5]);
    assert_eq!(hybrid.cached(), 11);
}

#[tokio::test]
async fn fusion_weighs_lexical_scores_against_similarities() {
    let server = EmbeddingServer::start().await;
    let request = "what changed between the two branches";
    // All lexical: the lexical router's order, and only the tools it matched.
    let lexical = hybrid(&server, Fusion::Weighted { lexical: 1.0 });
    let hits = lexical.try_rank(request, 10).await.expect("ranked");
    let plain = lexical.router().rank(request, 10);
    assert_eq!(tools(&hits), tools(&plain));
    assert!((hits[0].score - 1.0).abs() < 1e-9, "normalised by the best: {}", hits[0].score);
    assert_eq!(hits[0].why, plain[0].why, "the lexical explanation is kept");
    assert!(hits.iter().all(|h| h.similarity.is_some_and(|s| (-1.0..=1.0).contains(&s))));
    assert!(plain.iter().all(|h| h.similarity.is_none()));

    // All semantic: ordered by similarity, every tool above the least similar one.
    let semantic = hybrid(&server, Fusion::Weighted { lexical: 0.0 });
    let hits = semantic.try_rank(request, 10).await.expect("ranked");
    let similarity: Vec<f64> = hits.iter().map(|h| h.similarity.expect("a similarity")).collect();
    assert!(similarity.windows(2).all(|w| w[0] >= w[1]), "{similarity:?}");
    assert!(hits.len() >= plain.len(), "{hits:?}");
    let json = serde_json::to_value(&hits[0]).expect("serializable");
    assert!(json["similarity"].is_number(), "{json}");

    // Halfway: each score is the mean of the two normalised scores.
    let half = hybrid(&server, Fusion::Weighted { lexical: 0.5 });
    let hits = half.try_rank(request, 10).await.expect("ranked");
    let best_lexical = plain[0].score;
    // All semantic, each score is (c − low)/(high − low): the best scores 1, and any other
    // gives the spread.
    let all = semantic.try_rank(request, 20).await.expect("ranked");
    let high = all[0].similarity.expect("a similarity");
    assert!((all[0].score - 1.0).abs() < 1e-9);
    let last = all.last().expect("hits");
    let spread = (high - last.similarity.expect("a similarity")) / (1.0 - last.score);
    let low = high - spread;
    for hit in &hits {
        let lexical = plain.iter().find(|p| p.tool == hit.tool).map_or(0.0, |p| p.score);
        let similarity = hit.similarity.expect("a similarity");
        let want = 0.5 * lexical / best_lexical + 0.5 * (similarity - low) / spread;
        assert!((hit.score - want).abs() < 1e-9, "{}: {} against {want}", hit.tool, hit.score);
    }

    // Reciprocal-rank fusion: positive, ordered scores.
    let rrf = hybrid(&server, Fusion::Rrf { k: 60.0, lexical: 0.5 });
    let hits = rrf.try_rank(request, 10).await.expect("ranked");
    assert_eq!(hits[0].tool, "git_diff");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score && w[1].score > 0.0));
}

#[tokio::test]
async fn a_failing_endpoint_falls_back_to_lexical_ranking() {
    let server = EmbeddingServer::start().await;
    let hybrid = hybrid(&server, Fusion::default());
    let request = "show me the commit logs";
    let lexical = hybrid.router().rank(request, 3);

    server.behave(Behavior::Status(400));
    let err = hybrid.try_rank(request, 3).await.expect_err("a 400");
    assert!(matches!(err, EmbedError::Endpoint { status: Some(400), .. }), "{err:?}");
    assert_eq!(hybrid.rank(request, 3).await, lexical);

    // A 5xx is retried (async-openai's retries), then reported.
    let before = server.requests().len();
    server.behave(Behavior::Status(503));
    let err = hybrid.try_rank(request, 3).await.expect_err("a 503");
    assert!(matches!(err, EmbedError::Endpoint { status: Some(503), .. }), "{err:?}");
    assert!(server.requests().len() - before > 1, "retried");

    server.behave(Behavior::Short);
    let err = hybrid.try_rank(request, 3).await.expect_err("a vector short");
    assert!(matches!(err, EmbedError::Shape(_)), "{err:?}");
    assert_eq!(hybrid.cached(), 0, "nothing cached from a bad answer");

    // Recovered: ranked with similarities again.
    server.behave(Behavior::Vectors);
    let hits = hybrid.try_rank(request, 3).await.expect("ranked");
    assert!(hits[0].similarity.is_some());
}

#[tokio::test]
async fn a_hanging_endpoint_times_out_and_falls_back() {
    let server = EmbeddingServer::start().await;
    server.behave(Behavior::Hang(Duration::from_secs(30)));
    let embedder = config(&server)
        .request_timeout(Duration::from_millis(300))
        .embedder()
        .expect("an embedder");
    let hybrid = HybridRouter::new(router(), Arc::new(embedder));
    let request = "show me the commit logs";
    let start = Instant::now();
    let err = hybrid.try_rank(request, 3).await.expect_err("a timeout");
    assert_eq!(err, EmbedError::Timeout(Duration::from_millis(300)));
    assert_eq!(hybrid.rank(request, 3).await, hybrid.router().rank(request, 3));
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_an_error_without_a_status() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let embedder = EmbeddingConfig::new("none")
        .base_url(format!("http://127.0.0.1:{port}/v1/").parse().expect("a URL"))
        .request_timeout(Duration::from_secs(10))
        .embedder()
        .expect("an embedder");
    let hybrid = HybridRouter::new(router(), Arc::new(embedder));
    let err = hybrid.try_rank("commit logs", 3).await.expect_err("refused");
    assert!(matches!(err, EmbedError::Endpoint { status: None, .. }), "{err:?}");
    assert_eq!(hybrid.rank("commit logs", 3).await, hybrid.router().rank("commit logs", 3));
}

/// Fifty tools, for a lazy toolkit.
fn many_tools() -> Vec<agent_core::Tool> {
    let mut tools: Vec<agent_core::Tool> = (0..50)
        .map(|n| {
            agent_core::Tool::new(
                format!("inventory_item_{n}"),
                format!("Looks up stock level number {n} of the warehouse inventory."),
                json!({"type": "object", "properties": {"sku": {"type": "string"}}}),
                |_| async { "in stock" },
            )
        })
        .collect();
    tools.push(agent_core::Tool::new(
        "convert_time",
        "Converts a time of day between two IANA time zones.",
        json!({"type": "object", "properties": {"time": {"type": "string"}}}),
        |_| async { "10:00" },
    ));
    tools
}

/// What `search_tools` answers for `query`, as JSON.
async fn search(toolkit: &agent_core::Toolkit, query: &str) -> serde_json::Value {
    let tool = toolkit
        .offered()
        .iter()
        .find(|t| t.name() == agent_core::SEARCH_TOOLS)
        .expect("search_tools")
        .clone();
    let reply = tool.call(&json!({"query": query, "limit": 3}).to_string()).await.expect("a reply");
    serde_json::from_str(&reply.message).expect("JSON")
}

#[tokio::test]
async fn search_tools_ranks_with_the_embedder_and_falls_back_without_it() {
    let server = EmbeddingServer::start().await;
    let embedder = Arc::new(config(&server).embedder().expect("an embedder"));
    let toolkit = agent_core::Toolkit::from_tools(many_tools()).lazy_above_with(40, embedder);
    let found = search(&toolkit, "convert a time of day between zones").await;
    let first = &found["tools"][0];
    assert_eq!(first["name"], "convert_time", "{found}");
    assert!(first["similarity"].as_f64().is_some_and(|s| s > 0.5), "{found}");
    assert!(!first["why"].as_array().expect("why").is_empty(), "{found}");
    // 51 tool texts in batches of 4, then the query.
    let requests = server.requests();
    assert_eq!(requests.len(), 13 + 1, "{}", requests.len());
    assert_eq!(requests.last().expect("the query"), &["convert a time of day between zones"]);

    // The endpoint down: the lexical answer, without similarities.
    server.behave(Behavior::Status(400));
    let found = search(&toolkit, "convert a time of day between zones").await;
    assert_eq!(found["tools"][0]["name"], "convert_time", "{found}");
    assert!(found["tools"][0].get("similarity").is_none(), "{found}");
    let lexical = agent_core::Toolkit::from_tools(many_tools()).lazy_above(40);
    assert_eq!(search(&lexical, "convert a time of day between zones").await, found);
}
