//! `research-demo route [--top K] [--json] [--embeddings-url URL [--embedding-model NAME]]
//! [server flags] QUERY`: which of the servers' tools fit a request, ranked by agent-core's
//! [`Router`] (no model involved; with `--embeddings-url`, its [`HybridRouter`] over that
//! embeddings endpoint, and with `--examples FILE` the requests that tools served, one JSON object
//! a line), each with the words that matched. The servers (the built-in two, or those the server flags choose, see
//! `sources.rs`) are listed at once through a session pool, then closed.

use std::path::Path;
use std::sync::Arc;

use agent_core::{EmbeddingConfig, Hit, HybridRouter, Router};
use mcp_session::SessionPool;
use serde::Deserialize;

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
    let examples = match &args.examples {
        Some(path) => read_examples(path)?,
        None => Vec::new(),
    };
    let servers = crate::sources::resolve(&args.servers).await?;
    let pool =
        SessionPool::builder(servers.config.clone()).manager(crate::login::manager()).build();
    let outcome = tokio::select! {
        outcome = rank(&pool, &query, &args, &examples, output) => outcome,
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
    examples: &[Example],
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
            semantic(router, examples, query, top, url, model).await
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
    examples: &[Example],
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
    let mut hybrid = HybridRouter::new(router, Arc::new(embedder));
    let mut unknown = 0_usize;
    for example in examples {
        if hybrid.add_example(&example.server, &example.tool, &example.request).is_err() {
            unknown += 1;
        }
    }
    if unknown > 0 {
        eprint_line(&format!(
            "research-demo: left out {unknown} of the {} examples, whose tools no listed server has",
            examples.len()
        ));
    }
    match hybrid.try_rank(query, top).await {
        Ok(hits) => hits,
        Err(err) => {
            eprint_line(&format!("research-demo: ranking by words alone: {err}"));
            hybrid.router().rank(query, top)
        }
    }
}

/// One line of an `--examples` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Example {
    server: String,
    tool: String,
    request: String,
}

/// What a line of an `--examples` file looks like, for error messages.
const SHAPE: &str = "each line must be a JSON object such as {\"server\": \"time\", \"tool\": \"get_current_time\", \"request\": \"what time is it in Lima?\"}";

/// The examples of the JSON Lines file at `path` (blank lines skipped).
fn read_examples(path: &Path) -> Result<Vec<Example>, Error> {
    let fail = |reason: String| Error::Examples { path: path.to_owned(), reason };
    let text =
        std::fs::read_to_string(path).map_err(|err| fail(format!("cannot read it: {err}")))?;
    let mut examples = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let example: Example = serde_json::from_str(line).map_err(|err| {
            // serde_json's text ends in its own position, " at line 1 column C".
            let text = err.to_string();
            let place = format!(" at line {} column {}", err.line(), err.column());
            let what = text.strip_suffix(&place).unwrap_or(&text);
            fail(format!("line {}, column {}: {what}; {SHAPE}", number + 1, err.column()))
        })?;
        if example.request.trim().is_empty() {
            return Err(fail(format!("line {}: `request` is empty; {SHAPE}", number + 1)));
        }
        examples.push(example);
    }
    if examples.is_empty() {
        return Err(fail(format!("no example in it; {SHAPE}")));
    }
    Ok(examples)
}
