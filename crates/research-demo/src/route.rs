//! `research-demo route [--config FILE] [--top K] [--json] QUERY`: which of the servers' tools
//! fit a request, ranked by agent-core's [`Router`] (no model involved), each with the words
//! that matched. The servers (the built-in two, or those of `--config`) are listed at once
//! through a session pool, then closed.

use agent_core::Router;
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
    let (servers, wikipedia) = crate::ask::servers_of(args.config.as_deref(), false, None).await?;
    let pool = SessionPool::new(servers);
    let outcome = tokio::select! {
        outcome = rank(&pool, &query, usize::from(args.top), output) => outcome,
        signal = signals.first() => Err(Error::Interrupted { signal }),
    };
    pool.close_all().await;
    if let Some(wikipedia) = wikipedia {
        wikipedia.stop().await;
    }
    outcome
}

async fn rank(pool: &SessionPool, query: &str, top: usize, output: &Output) -> Result<(), Error> {
    let names: Vec<String> = pool.config().names().map(str::to_owned).collect();
    let listed = futures::future::join_all(names.iter().map(|name| pool.list_tools(name))).await;
    let mut router = Router::new();
    let mut failures = Vec::new();
    for (name, listing) in names.into_iter().zip(listed) {
        match listing {
            Ok(tools) => {
                router.add_server(&name, &tools);
            }
            Err(err) => {
                eprint_line(&format!(
                    "research-demo: left out {name}, whose tools could not be listed: {err}"
                ));
                failures.push((name, err));
            }
        }
    }
    if router.is_empty() && !failures.is_empty() {
        return Err(Error::NoCatalog { failures });
    }
    let hits = router.rank(query, top);
    if hits.is_empty() {
        return Err(Error::NoRoute { query: query.to_owned() });
    }
    for (rank, hit) in hits.iter().enumerate() {
        output.hit(rank + 1, hit);
    }
    Ok(())
}
