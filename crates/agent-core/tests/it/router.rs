//! The tool router measured on real catalogs: 8 MCP servers' tool lists and hand-written
//! requests, each with the server and the tools that would serve it.
//!
//! The requests come in eight splits (tests/data/README.md): `dev`, `heldout`, `heldout2` and
//! `heldout3`, which the router was tuned on, and `heldout4` to `heldout7`, measured as they come
//! (`heldout5` to `heldout7` were written for the semantic stage: `hybrid_router_on_real_catalogs`;
//! the fusion and the model were chosen on ids 0–579, the example weights on ids 0–695). The test
//! prints a markdown table (`cargo test -p agent-core --test it router -- --nocapture`), the
//! router next to the plain BM25 baseline, and asserts floors that hold with a margin. With
//! `ROUTER_MISSES=dev,heldout` it also prints the requests of those splits the router gets wrong,
//! with the rank of the right tool and the best `ROUTER_TOP` hits (3 unless set): the tuning aid.
//! While tuning, `ROUTER_SPLIT=dev,heldout,heldout2,heldout3` measures those splits only and
//! leaves the held-out requests unread.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use agent_core::mcp_session::rmcp::model::Tool;
use agent_core::{Hit, Router};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Catalog {
    server: String,
    tools: Vec<Tool>,
}

#[derive(Deserialize)]
struct Request {
    id: serde_json::Value,
    request: String,
    server: String,
    tools: Vec<String>,
    split: String,
}

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every catalog, by file name.
fn catalogs() -> Vec<Catalog> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data().join("catalogs"))
        .expect("tests/data/catalogs")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("a catalog");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn requests() -> Vec<Request> {
    let text = std::fs::read_to_string(data().join("routing-requests.json")).expect("requests");
    serde_json::from_str(&text).expect("routing-requests.json")
}

fn load(mut router: Router, catalogs: &[Catalog]) -> Router {
    for catalog in catalogs {
        router.add_server(&catalog.server, &catalog.tools);
    }
    router
}

/// Hits at k ∈ {1, 3} for the server and for the (server, tool) pair.
#[derive(Default, Clone, Copy)]
struct Score {
    n: usize,
    server: [usize; 2],
    tool: [usize; 2],
}

impl Score {
    fn add(&mut self, request: &Request, hits: &[Hit]) -> bool {
        self.n += 1;
        let mut servers: Vec<&str> = Vec::new();
        for hit in hits {
            if !servers.contains(&hit.server.as_str()) {
                servers.push(&hit.server);
            }
        }
        let good = |hit: &Hit| hit.server == request.server && request.tools.contains(&hit.tool);
        let server_rank = servers.iter().position(|s| *s == request.server);
        let tool_rank = hits.iter().position(good);
        for (i, k) in [1, 3].into_iter().enumerate() {
            self.server[i] += usize::from(server_rank.is_some_and(|r| r < k));
            self.tool[i] += usize::from(tool_rank.is_some_and(|r| r < k));
        }
        tool_rank == Some(0)
    }

    fn percent(&self, count: usize) -> f64 {
        if self.n == 0 { 0.0 } else { 100.0 * count as f64 / self.n as f64 }
    }
}

struct Measured {
    scores: [Score; SPLITS.len()],
    misses: Vec<String>,
}

const SPLITS: [&str; 8] =
    ["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7"];

fn measure(router: &Router, requests: &[Request], show: Option<&str>) -> Measured {
    let mut scores = [Score::default(); SPLITS.len()];
    let mut misses = Vec::new();
    for request in requests {
        let Some(split) = SPLITS.iter().position(|s| *s == request.split) else {
            panic!("{}: unknown split {:?}", request.id, request.split);
        };
        // Every tool, so that the server ranking sees every server.
        let hits = router.rank(&request.request, router.len());
        let right = scores[split].add(request, &hits);
        if !right && show.is_some_and(|show| show.split(',').any(|s| s == request.split)) {
            let top: Vec<String> = hits
                .iter()
                .take(std::env::var("ROUTER_TOP").ok().and_then(|n| n.parse().ok()).unwrap_or(3))
                .map(|h| {
                    let why: Vec<String> = h.why.iter().map(ToString::to_string).collect();
                    format!("{}/{} {:.2} {why:?}", h.server, h.tool, h.score)
                })
                .collect();
            let rank = hits
                .iter()
                .position(|h| h.server == request.server && request.tools.contains(&h.tool));
            misses.push(format!(
                "{} (rank {}) {:?} want {}/{:?}\n    {}",
                request.id,
                rank.map_or(0, |r| r + 1),
                request.request,
                request.server,
                request.tools,
                top.join("\n    ")
            ));
        }
    }
    Measured { scores, misses }
}

fn row(model: &str, split: &str, score: &Score) -> String {
    format!(
        "| {model} | {split} | {} | {:.1} % | {:.1} % | {:.1} % | {:.1} % |",
        score.n,
        score.percent(score.server[0]),
        score.percent(score.server[1]),
        score.percent(score.tool[0]),
        score.percent(score.tool[1]),
    )
}

fn per_query(router: &Router, requests: &[Request]) -> Duration {
    const ROUNDS: u32 = 20;
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for request in requests {
            std::hint::black_box(router.rank(&request.request, 3));
        }
    }
    start.elapsed() / (ROUNDS * u32::try_from(requests.len().max(1)).unwrap_or(u32::MAX))
}

/// A build of the index, timed: the first ranking after a change builds it.
fn build_time(router: &Router) -> Duration {
    let start = Instant::now();
    router.rank("", 1);
    start.elapsed()
}

#[test]
fn router_accuracy_on_real_catalogs() {
    let catalogs = catalogs();
    assert!(!catalogs.is_empty(), "no catalog in tests/data/catalogs");
    let only = std::env::var("ROUTER_SPLIT").ok();
    let requests: Vec<Request> = requests()
        .into_iter()
        .filter(|r| only.as_deref().is_none_or(|only| only.split(',').any(|s| s == r.split)))
        .collect();
    let show = std::env::var("ROUTER_MISSES").ok();

    let router = load(Router::new(), &catalogs);
    let baseline = load(Router::plain_bm25(), &catalogs);
    let build = build_time(&router);
    build_time(&baseline);
    let lexical = measure(&router, &requests, show.as_deref());
    let plain = measure(&baseline, &requests, None);

    let tools: usize = catalogs.iter().map(|c| c.tools.len()).sum();
    let mut table = vec![
        format!(
            "Tool routing over {} servers ({tools} tools), {} requests.",
            catalogs.len(),
            requests.len()
        ),
        String::new(),
        "| model | split | requests | server top-1 | server top-3 | tool top-1 | tool top-3 |"
            .to_owned(),
        "|---|---|---|---|---|---|---|".to_owned(),
    ];
    for (split, name) in SPLITS.iter().enumerate() {
        if only.as_deref().is_some_and(|only| !only.split(',').any(|s| s == *name)) {
            continue;
        }
        table.push(row("router", name, &lexical.scores[split]));
        table.push(row("plain BM25", name, &plain.scores[split]));
    }

    // Timing: the real catalog, then copies of it up to 500+ tools under other server names.
    let copies = 500_usize.div_ceil(tools.max(1));
    let mut big = Router::new();
    for copy in 0..copies {
        for catalog in &catalogs {
            big.add_server(&format!("{}-{copy}", catalog.server), &catalog.tools);
        }
    }
    let big_build = build_time(&big);
    table.push(String::new());
    table.push(format!(
        "Timing ({} build): index {build:.2?} for {tools} tools, ranking {:.1?} per request; \
         index {big_build:.2?} for {} tools, ranking {:.1?} per request.",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        per_query(&router, &requests),
        big.len(),
        per_query(&big, &requests),
    ));
    println!("{}", table.join("\n"));
    for miss in &lexical.misses {
        println!("{miss}");
    }

    if only.is_some() {
        return;
    }
    // Floors, with a margin below what the router measures (see the table).
    assert!(lexical.scores.iter().all(|s| s.n > 0), "requests per split");
    for (score, base) in lexical.scores.iter().zip(&plain.scores) {
        assert!(score.tool[0] >= base.tool[0], "router top-1 below BM25");
        assert!(score.tool[1] >= base.tool[1], "router top-3 below BM25");
        assert!(score.server[0] >= base.server[0], "router server top-1 below BM25");
    }
    // Measured (tool top-3, tool top-1, server top-1): held out (heldout4) 72.4 %, 51.7 %,
    // 80.2 %; tuning data (dev, heldout, heldout2, heldout3) 94.8 %, 77.6 %, 91.4 %; 93.1 %,
    // 79.3 %, 93.1 %; 87.9 %, 65.5 %, 94.0 %; 84.5 %, 64.7 %, 87.1 %. The goal held out (top-3
    // ≥ 85 %, top-1 ≥ 70 %) is not met.
    // `heldout5` (written for the semantic stage, never tuned on): 81.9 %, 64.7 %, 87.9 %;
    // `heldout6` (likewise): 81.9 %, 60.3 %, 86.2 %; `heldout7` (likewise): 81.9 %, 60.3 %,
    // 84.5 %.
    let [dev, heldout, heldout2, heldout3, heldout4, heldout5, heldout6, heldout7] = lexical.scores;
    assert!(heldout4.percent(heldout4.tool[1]) >= 68.0, "held-out tool top-3 below 68 %");
    assert!(heldout4.percent(heldout4.tool[0]) >= 47.0, "held-out tool top-1 below 47 %");
    assert!(heldout4.percent(heldout4.server[0]) >= 75.0, "held-out server top-1 below 75 %");
    assert!(heldout5.percent(heldout5.tool[1]) >= 77.0, "heldout5 tool top-3 below 77 %");
    assert!(heldout5.percent(heldout5.tool[0]) >= 60.0, "heldout5 tool top-1 below 60 %");
    assert!(heldout5.percent(heldout5.server[0]) >= 83.0, "heldout5 server top-1 below 83 %");
    assert!(heldout6.percent(heldout6.tool[1]) >= 77.0, "heldout6 tool top-3 below 77 %");
    assert!(heldout6.percent(heldout6.tool[0]) >= 56.0, "heldout6 tool top-1 below 56 %");
    assert!(heldout6.percent(heldout6.server[0]) >= 82.0, "heldout6 server top-1 below 82 %");
    assert!(heldout7.percent(heldout7.tool[1]) >= 77.0, "heldout7 tool top-3 below 77 %");
    assert!(heldout7.percent(heldout7.tool[0]) >= 56.0, "heldout7 tool top-1 below 56 %");
    assert!(heldout7.percent(heldout7.server[0]) >= 80.0, "heldout7 server top-1 below 80 %");
    for tuned in [dev, heldout, heldout2, heldout3] {
        assert!(tuned.percent(tuned.tool[1]) >= 82.0, "tuning-data tool top-3 below 82 %");
        assert!(tuned.percent(tuned.tool[0]) >= 60.0, "tuning-data tool top-1 below 60 %");
    }
}

#[test]
fn routing_is_deterministic_and_independent_of_insertion_order() {
    let mut catalogs = catalogs();
    let requests = requests();
    let forward = load(Router::new(), &catalogs);
    catalogs.reverse();
    let backward = load(Router::new(), &catalogs);
    for request in &requests {
        let a = forward.rank(&request.request, 5);
        assert_eq!(a, forward.rank(&request.request, 5));
        assert_eq!(a, backward.rank(&request.request, 5), "{}", request.id);
    }
}

#[test]
fn every_hit_explains_itself() {
    let router = load(Router::new(), &catalogs());
    for request in requests() {
        for hit in router.rank(&request.request, 3) {
            assert!(!hit.why.is_empty(), "{}: {hit:?}", request.id);
            let json = serde_json::to_value(&hit).expect("serializable");
            assert!(json["why"][0]["word"].is_string());
        }
    }
}

static ROUTER: LazyLock<Router> = LazyLock::new(|| load(Router::new(), &catalogs()));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rank_never_panics_and_orders_its_hits(request in any::<String>(), words in "[a-zA-Z_ .-]{0,60}", k in 0_usize..8) {
        for request in [request, words] {
            let hits = ROUTER.rank(&request, k);
            prop_assert!(hits.len() <= k);
            prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
            prop_assert!(hits.iter().all(|h| h.score.is_finite() && h.score > 0.0));
            let distinct: BTreeSet<(&str, &str)> =
                hits.iter().map(|h| (h.server.as_str(), h.tool.as_str())).collect();
            prop_assert_eq!(distinct.len(), hits.len());
        }
    }
}

/// Scores per split of [`SPLITS`], from each request's hits (every tool ranked).
fn score_splits(requests: &[Request], hits: &[Vec<Hit>]) -> [Score; SPLITS.len()] {
    let mut scores = [Score::default(); SPLITS.len()];
    for (request, hits) in requests.iter().zip(hits) {
        let Some(split) = SPLITS.iter().position(|s| *s == request.split) else {
            panic!("{}: unknown split {:?}", request.id, request.split);
        };
        scores[split].add(request, hits);
    }
    scores
}

/// An embedder that asks its endpoint once per text: a sweep over fusion settings re-ranks
/// without re-embedding.
#[derive(Debug)]
struct Memo {
    inner: agent_core::OpenAiEmbedder,
    seen: std::sync::Mutex<std::collections::HashMap<String, Vec<f32>>>,
}

impl agent_core::Embedder for Memo {
    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> futures::future::BoxFuture<'a, Result<Vec<Vec<f32>>, agent_core::EmbedError>> {
        Box::pin(async move {
            let missing: Vec<String> = {
                let seen = self.seen.lock().expect("the memo");
                let mut missing: Vec<String> =
                    texts.iter().filter(|t| !seen.contains_key(*t)).cloned().collect();
                missing.sort();
                missing.dedup();
                missing
            };
            if !missing.is_empty() {
                let vectors = self.inner.embed(&missing).await?;
                let mut seen = self.seen.lock().expect("the memo");
                seen.extend(missing.into_iter().zip(vectors));
            }
            let seen = self.seen.lock().expect("the memo");
            Ok(texts.iter().map(|t| seen[t].clone()).collect())
        })
    }
}

/// The example weights a sweep tries: (nearest, votes, k).
fn example_grid() -> Vec<(f64, f64, usize)> {
    let mut grid = Vec::new();
    for nearest in [0.2, 0.3, 0.4] {
        for votes in [0.1, 0.15, 0.2] {
            grid.push((nearest, votes, 5));
        }
    }
    grid.extend([(0.3, 0.15, 3), (0.3, 0.15, 10), (0.0, 0.0, 5)]);
    grid
}

/// The fusion settings a sweep tries.
fn fusion_grid() -> Vec<(String, agent_core::Fusion)> {
    use agent_core::Fusion;
    let mut grid = Vec::new();
    for tenth in 0..=10 {
        let lexical = f64::from(tenth) / 10.0;
        grid.push((format!("weighted lexical {lexical:.1}"), Fusion::Weighted { lexical }));
    }
    for k in [5.0, 20.0, 60.0] {
        for tenth in [3, 5, 7] {
            let lexical = f64::from(tenth) / 10.0;
            grid.push((format!("rrf k {k} lexical {lexical:.1}"), Fusion::Rrf { k, lexical }));
        }
    }
    grid
}

/// The hybrid router (lexical + embeddings) on the real catalogs, next to the lexical router
/// and plain BM25, over an OpenAI-compatible embeddings endpoint: `cargo xtask route-eval
/// --embed` starts a local model and runs this. `ROUTER_EMBED_URL` is the endpoint's base URL,
/// `ROUTER_EMBED_MODEL` the model's name. With `ROUTER_FUSION_SWEEP=1` it measures every setting
/// of [`fusion_grid`] and [`example_grid`] on the splits of `ROUTER_SPLIT` instead, which must
/// not name `heldout7`: the fusion, the example weights and the model are chosen on the tuning
/// splits (ids 0–695) only. "hybrid + examples" ranks each split with the requests of the other
/// tuning splits as [`HybridRouter::add_example`] examples. `ROUTER_DUMP=FILE` writes each
/// request's lexical and semantic hits (every tool) as JSON lines instead, for analysis.
///
/// [`HybridRouter::add_example`]: agent_core::HybridRouter::add_example
#[tokio::test]
#[ignore = "needs an embeddings endpoint: cargo xtask route-eval --embed"]
async fn hybrid_router_on_real_catalogs() {
    use agent_core::{EmbeddingConfig, Fusion, HybridRouter};
    let url = std::env::var("ROUTER_EMBED_URL").expect("ROUTER_EMBED_URL: the endpoint's base URL");
    let model = std::env::var("ROUTER_EMBED_MODEL").unwrap_or_else(|_| "all-MiniLM-L6-v2".into());
    let embedder = EmbeddingConfig::new(&model)
        .base_url(url.parse().expect("ROUTER_EMBED_URL: a URL"))
        .batch_size(32)
        .request_timeout(Duration::from_secs(300))
        .embedder()
        .expect("an embedder");
    let memo = Arc::new(Memo { inner: embedder, seen: Default::default() });
    let catalogs = catalogs();
    let only = std::env::var("ROUTER_SPLIT").ok();
    let sweep = std::env::var("ROUTER_FUSION_SWEEP").is_ok();
    if sweep {
        assert!(
            only.as_deref().is_some_and(|o| !o.split(',').any(|s| s == "heldout7")),
            "a sweep reads tuning splits only: set \
             ROUTER_SPLIT=dev,heldout,heldout2,heldout3,heldout4,heldout5,heldout6"
        );
    }
    let requests: Vec<Request> = requests()
        .into_iter()
        .filter(|r| only.as_deref().is_none_or(|only| only.split(',').any(|s| s == r.split)))
        .collect();
    let texts: Vec<String> = requests.iter().map(|r| r.request.clone()).collect();
    let start = Instant::now();
    agent_core::Embedder::embed(&*memo, &texts).await.expect("the requests embedded");
    let embedded = start.elapsed();

    let hybrid_hits = |fusion: Fusion| {
        let memo = memo.clone();
        let requests = &requests;
        let catalogs = &catalogs;
        async move {
            let router = HybridRouter::new(load(Router::new(), catalogs), memo).fusion(fusion);
            let n = router.router().len();
            let mut all = Vec::new();
            for request in requests {
                all.push(router.try_rank(&request.request, n).await.expect("a hybrid ranking"));
            }
            all
        }
    };
    // Each split ranked with the requests of the other tuning splits (ids 0–695) as examples:
    // what a deployment that logged earlier requests and their tools would have.
    let example_hits = |fusion: Fusion, weights: agent_core::ExampleWeights| {
        let memo = memo.clone();
        let requests = &requests;
        let catalogs = &catalogs;
        async move {
            let mut all: Vec<Option<Vec<Hit>>> = vec![None; requests.len()];
            for split in SPLITS.iter() {
                if !requests.iter().any(|r| r.split == *split) {
                    continue;
                }
                let mut router = HybridRouter::new(load(Router::new(), catalogs), memo.clone())
                    .fusion(fusion)
                    .example_weights(weights);
                for bank in requests.iter().filter(|r| r.split != *split && r.split != "heldout7") {
                    for tool in &bank.tools {
                        router
                            .add_example(&bank.server, tool, &bank.request)
                            .expect("a labelled tool the catalogs list");
                    }
                }
                let n = router.router().len();
                for (i, request) in requests.iter().enumerate() {
                    if request.split == *split {
                        let hits = router.try_rank(&request.request, n).await;
                        all[i] = Some(hits.expect("a hybrid ranking"));
                    }
                }
            }
            all.into_iter().map(|hits| hits.expect("every request ranked")).collect::<Vec<_>>()
        }
    };
    let lexical_router = load(Router::new(), &catalogs);
    let plain_router = load(Router::plain_bm25(), &catalogs);
    let lexical: Vec<Vec<Hit>> =
        requests.iter().map(|r| lexical_router.rank(&r.request, lexical_router.len())).collect();
    let plain: Vec<Vec<Hit>> =
        requests.iter().map(|r| plain_router.rank(&r.request, plain_router.len())).collect();

    let total = |scores: &[Score]| {
        scores.iter().fold(Score::default(), |mut sum, s| {
            sum.n += s.n;
            for i in 0..2 {
                sum.server[i] += s.server[i];
                sum.tool[i] += s.tool[i];
            }
            sum
        })
    };
    if let Ok(path) = std::env::var("ROUTER_DUMP") {
        let semantic = hybrid_hits(agent_core::Fusion::Weighted { lexical: 0.0 }).await;
        let mut out = String::new();
        for ((request, lexical), semantic) in requests.iter().zip(&lexical).zip(&semantic) {
            let line = serde_json::json!({
                "id": request.id, "split": request.split, "server": request.server,
                "tools": request.tools, "lexical": lexical, "semantic": semantic,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        std::fs::write(&path, out).expect("ROUTER_DUMP written");
        return;
    }
    if sweep {
        println!(
            "Fusion sweep over {} requests ({only:?}, embedded in {embedded:.2?}): tool top-1, \
             tool top-3, server top-1",
            requests.len()
        );
        let show = |name: &str, s: Score| {
            println!(
                "| {name} | {:.1} % | {:.1} % | {:.1} % |",
                s.percent(s.tool[0]),
                s.percent(s.tool[1]),
                s.percent(s.server[0])
            );
        };
        show("lexical router", total(&score_splits(&requests, &lexical)));
        for (name, fusion) in fusion_grid() {
            show(&name, total(&score_splits(&requests, &hybrid_hits(fusion).await)));
        }
        for (nearest, votes, k) in example_grid() {
            let weights = agent_core::ExampleWeights::new(nearest, votes, k);
            let hits = example_hits(Fusion::default(), weights).await;
            show(
                &format!("examples nearest {nearest:.2} votes {votes:.2} k {k}"),
                total(&score_splits(&requests, &hits)),
            );
        }
        return;
    }

    let fusion = Fusion::default();
    let start = Instant::now();
    let hybrid = hybrid_hits(fusion).await;
    let ranked = start.elapsed();
    let semantic = hybrid_hits(Fusion::Weighted { lexical: 0.0 }).await;
    let examples = example_hits(fusion, agent_core::ExampleWeights::default()).await;
    let rows = [
        (format!("hybrid ({fusion:?})"), score_splits(&requests, &hybrid)),
        ("hybrid + examples".to_owned(), score_splits(&requests, &examples)),
        ("embeddings only".to_owned(), score_splits(&requests, &semantic)),
        ("router (lexical)".to_owned(), score_splits(&requests, &lexical)),
        ("plain BM25".to_owned(), score_splits(&requests, &plain)),
    ];
    let mut table = vec![
        format!("Hybrid routing with {model} over {} requests.", requests.len()),
        String::new(),
        "| model | split | requests | server top-1 | server top-3 | tool top-1 | tool top-3 |"
            .to_owned(),
        "|---|---|---|---|---|---|---|".to_owned(),
    ];
    for (split, name) in SPLITS.iter().enumerate() {
        if rows[0].1[split].n == 0 {
            continue;
        }
        for (model, scores) in &rows {
            table.push(row(model, name, &scores[split]));
        }
    }
    table.push(String::new());
    table.push(format!(
        "Embedding the {} requests took {embedded:.2?}; embedding the tools once and the {} \
         hybrid rankings after it (requests from the memo) {ranked:.2?} ({} build).",
        requests.len(),
        requests.len(),
        if cfg!(debug_assertions) { "debug" } else { "release" },
    ));
    println!("{}", table.join("\n"));
    if only.is_none() {
        // The hybrid router must not lose to the lexical one on the tuning splits it was
        // chosen on.
        let tuned = total(&rows[0].1[..6]);
        let lexical = total(&rows[3].1[..6]);
        assert!(tuned.tool[0] >= lexical.tool[0], "hybrid top-1 below lexical on tuning data");
    }
}
