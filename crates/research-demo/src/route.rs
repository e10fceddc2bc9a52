//! `research-demo route [--top K] [--json] [--embeddings-url URL [--embedding-model NAME]]
//! [server flags] QUERY`: which of the servers' tools fit a request, ranked by agent-core's
//! [`Router`] (no model involved; with `--embeddings-url`, its [`HybridRouter`] over that
//! embeddings endpoint), each with the words that matched. The servers (the built-in two, or those the server flags choose, see
//! `sources.rs`) are listed at once through a session pool, then closed.

use std::sync::Arc;

use agent_core::{EmbeddingConfig, Hit, HybridRouter, Router};
use mcp_session::SessionPool;

use crate::cli::RouteArgs;
use crate::error::Error;
use crate::output::{Output, eprint_line};
use crate::signal::Signals;

/// Lists every server's tools, ranks them for the query and prints the best `--top`. A server
/// that cannot be listed is named on stderr and left out; none listed, or no tool matching,
/// fails the command.
pub(crate) async fn route(args: RouteArgs, output: &Output, signals: Signals) -> Result<(), Error> {
    let query = args.query.join(" ");
    if query.trim().is_empty() {
        return Err(Error::EmptyQuery);
    }
    let servers = crate::sources::resolve(&args.servers).await?;
    let pool =
        SessionPool::builder(servers.config.clone()).manager(crate::login::manager()).build();
    let outcome = tokio::select! {
        outcome = rank(&pool, &query, &args, output) => outcome,
        signal = signals.first() => Err(Error::Interrupted { signal }),
    };
    pool.close_all().await;
    servers.stop().await;
    outcome
}

async fn rank(
    pool: &SessionPool,
    query: &str,
    args: &RouteArgs,
    output: &Output,
) -> Result<(), Error> {
    let top = usize::from(args.top);
    let found = pool.list_tools_of_all(None).await;
    let mut router = Router::new();
    for (name, tools) in &found.listed {
        router.add_server(name, tools);
    }
    for (name, err) in &found.failed {
        eprint_line(&format!(
            "research-demo: left out {name}, whose tools could not be listed: {err}"
        ));
    }
    if router.is_empty() && !found.failed.is_empty() {
        return Err(Error::NoCatalog { failures: found.failed });
    }
    let hits = match &args.embeddings_url {
        Some(url) => {
            let model = args.embedding_model.as_deref().unwrap_or("all-MiniLM-L6-v2");
            semantic(router, query, top, url, model).await
        }
        None => router.rank(query, top),
    };
    if hits.is_empty() {
        return Err(Error::NoRoute { query: query.to_owned() });
    }
    for (rank, hit) in hits.iter().enumerate() {
        output.hit(rank + 1, hit);
    }
    Ok(())
}

/// The hybrid ranking over the embeddings endpoint at `url`; the lexical one, said on stderr,
/// when the endpoint fails.
async fn semantic(
    router: Router,
    query: &str,
    top: usize,
    url: &url::Url,
    model: &str,
) -> Vec<Hit> {
    let embedder = match EmbeddingConfig::new(model).base_url(url.clone()).embedder() {
        Ok(embedder) => embedder,
        Err(err) => {
            eprint_line(&format!("research-demo: ranking by words alone: {err}"));
            return router.rank(query, top);
        }
    };
    let hybrid = HybridRouter::new(router, Arc::new(embedder));
    match hybrid.try_rank(query, top).await {
        Ok(hits) => hits,
        Err(err) => {
            eprint_line(&format!("research-demo: ranking by words alone: {err}"));
            hybrid.router().rank(query, top)
        }
    }
}
