//! Recorded answers of the real APIs, served on loopback: the demo runs offline with the same
//! HTTP code it uses against arXiv and Wikipedia.
//!
//! The files under `fixtures/` are hand-written in the exact formats of the real APIs (arXiv's
//! Atom feed, its `/html/ID` renderings). [`FixtureServer`] answers:
//! - `GET /api/query?search_query=…`: the recorded feed whose topic the query names, else an
//!   empty feed (as arXiv answers a query nothing matches);
//! - `GET /api/query?id_list=ID`: a feed with that paper, if any recording has it;
//! - `GET /html/ID`: the recorded rendering, else 404;
//! - `GET /w/api.php?action=query&list=search&srsearch=…`: Wikipedia's recorded search whose
//!   topic the query names, else no hits;
//! - `GET /w/api.php?action=query&prop=extracts&titles=…`: the recorded article text, else the
//!   action API's `missing` page;
//! - `GET /api/rest_v1/page/summary/TITLE`: the recorded summary, else the REST API's 404;
//! - `GET /api/rest_v1/feed/featured/YYYY/MM/DD`: the recorded featured feed (recorded on
//!   2026-11-26; every date gets it).
//!
//! Topics recorded: large language models and the Model Context Protocol (arXiv searches,
//! Wikipedia searches, summaries and article texts), one HTML rendering, one featured feed.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Recorded arXiv feeds, and the query words that select each.
const ARXIV_FEEDS: &[(&[&str], &str)] = &[
    (
        &["model context protocol", "mcp"],
        include_str!("../fixtures/arxiv/query_model_context_protocol.xml"),
    ),
    (
        &["large language model", "llm", "language model", "tool use"],
        include_str!("../fixtures/arxiv/query_large_language_models.xml"),
    ),
];

/// Recorded arXiv HTML renderings, by id.
const ARXIV_HTML: &[(&str, &str)] =
    &[("2611.01234v1", include_str!("../fixtures/arxiv/html/2611.01234v1.html"))];

/// Recorded Wikipedia searches, and the query words that select each.
const WIKI_SEARCHES: &[(&[&str], &str)] = &[
    (
        &["model context protocol", "mcp"],
        include_str!("../fixtures/wikipedia/search_model_context_protocol.json"),
    ),
    (
        &["large language model", "llm", "language model"],
        include_str!("../fixtures/wikipedia/search_large_language_model.json"),
    ),
];

/// Recorded Wikipedia summaries and article texts, by title.
const WIKI_PAGES: &[(&str, &str, &str)] = &[
    (
        "Large language model",
        include_str!("../fixtures/wikipedia/summary_Large_language_model.json"),
        include_str!("../fixtures/wikipedia/extract_Large_language_model.json"),
    ),
    (
        "Model Context Protocol",
        include_str!("../fixtures/wikipedia/summary_Model_Context_Protocol.json"),
        include_str!("../fixtures/wikipedia/extract_Model_Context_Protocol.json"),
    ),
];

const WIKI_FEATURED: &str = include_str!("../fixtures/wikipedia/featured_2026_11_26.json");

const ATOM: &str = "application/atom+xml; charset=utf-8";

/// The fixture server, serving until dropped.
#[derive(Debug)]
pub struct FixtureServer {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FixtureServer {
    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/api/query", axum::routing::get(arxiv_query))
            .route("/html/{id}", axum::routing::get(arxiv_html))
            .route("/w/api.php", axum::routing::get(wiki_action))
            .route("/api/rest_v1/page/summary/{title}", axum::routing::get(wiki_summary))
            .route(
                "/api/rest_v1/feed/featured/{year}/{month}/{day}",
                axum::routing::get(wiki_featured),
            );
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!("the fixture server stopped: {err}");
            }
        });
        Ok(FixtureServer { address, task })
    }

    /// The base URL, such as `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.address))
            .unwrap_or_else(|_| unreachable!("a socket address is a URL"))
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn arxiv_query(Query(params): Query<HashMap<String, String>>) -> Response {
    if let Some(ids) = params.get("id_list").filter(|ids| !ids.is_empty()) {
        let wanted: Vec<&str> = ids.split(',').map(str::trim).collect();
        let entries: Vec<&str> = ARXIV_FEEDS
            .iter()
            .flat_map(|(_, feed)| entries(feed))
            .filter(|entry| {
                wanted.iter().any(|id| entry.contains(&format!("<id>http://arxiv.org/abs/{id}")))
            })
            .collect();
        return atom_response(&feed_of(&entries));
    }
    let query = params.get("search_query").map(|q| q.to_lowercase()).unwrap_or_default();
    let recorded = ARXIV_FEEDS.iter().find(|(words, _)| words.iter().any(|w| query.contains(w)));
    match recorded {
        Some((_, feed)) => {
            let max: usize = params.get("max_results").and_then(|m| m.parse().ok()).unwrap_or(10);
            let entries: Vec<&str> = entries(feed).into_iter().take(max).collect();
            atom_response(&feed_of(&entries))
        }
        None => atom_response(&feed_of(&[])),
    }
}

async fn arxiv_html(Path(id): Path<String>) -> Response {
    match ARXIV_HTML.iter().find(|(known, _)| *known == id) {
        Some((_, html)) => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], *html).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no HTML rendering of this paper").into_response(),
    }
}

async fn wiki_action(Query(params): Query<HashMap<String, String>>) -> Response {
    let param = |key: &str| params.get(key).map_or("", String::as_str);
    if param("action") != "query" || param("format") != "json" {
        return json_response(
            StatusCode::OK,
            r#"{"error":{"code":"badvalue","info":"The fixture answers action=query&format=json only."}}"#,
        );
    }
    if param("list") == "search" {
        let query = param("srsearch").to_lowercase();
        let recorded =
            WIKI_SEARCHES.iter().find(|(words, _)| words.iter().any(|w| query.contains(w)));
        return match recorded {
            Some((_, answer)) => json_response(StatusCode::OK, answer),
            None => json_response(
                StatusCode::OK,
                r#"{"batchcomplete":true,"query":{"searchinfo":{"totalhits":0},"search":[]}}"#,
            ),
        };
    }
    let title = param("titles").replace('_', " ");
    match WIKI_PAGES.iter().find(|(known, _, _)| known.eq_ignore_ascii_case(&title)) {
        Some((_, _, extract)) => json_response(StatusCode::OK, extract),
        None => {
            let missing = serde_json::json!({"batchcomplete": true, "query": {"pages": [{"ns": 0, "title": title, "missing": true}]}});
            json_response(StatusCode::OK, &missing.to_string())
        }
    }
}

async fn wiki_summary(Path(title): Path<String>) -> Response {
    let title = title.replace('_', " ");
    match WIKI_PAGES.iter().find(|(known, _, _)| known.eq_ignore_ascii_case(&title)) {
        Some((_, summary, _)) => json_response(StatusCode::OK, summary),
        None => {
            let problem = serde_json::json!({
                "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
                "title": "Not found.",
                "method": "get",
                "detail": "Page or revision not found.",
                "uri": format!("/en.wikipedia.org/v1/page/summary/{}", title.replace(' ', "_")),
            });
            json_response(StatusCode::NOT_FOUND, &problem.to_string())
        }
    }
}

async fn wiki_featured() -> Response {
    json_response(StatusCode::OK, WIKI_FEATURED)
}

fn json_response(status: StatusCode, body: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_owned())
        .into_response()
}

fn atom_response(feed: &str) -> Response {
    ([(header::CONTENT_TYPE, ATOM)], feed.to_owned()).into_response()
}

/// The `<entry>…</entry>` elements of a recorded feed.
fn entries(feed: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = feed;
    while let Some(start) = rest.find("<entry>") {
        let Some(len) = rest[start..].find("</entry>") else { break };
        let end = start + len + "</entry>".len();
        found.push(&rest[start..end]);
        rest = &rest[end..];
    }
    found
}

/// A feed in arXiv's shape holding `entries`.
fn feed_of(entries: &[&str]) -> String {
    let mut feed = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<feed xmlns="http://www.w3.org/2005/Atom">"#,
        "\n  <title type=\"html\">ArXiv Query (recorded fixture)</title>\n",
        "  <id>http://arxiv.org/api/fixture</id>\n  <updated>2026-11-26T00:00:00-05:00</updated>\n",
    ));
    feed.push_str(&format!(
        "  <opensearch:totalResults xmlns:opensearch=\"http://a9.com/-/spec/opensearch/1.1/\">{}</opensearch:totalResults>\n",
        entries.len()
    ));
    for entry in entries {
        feed.push_str("  ");
        feed.push_str(entry);
        feed.push('\n');
    }
    feed.push_str("</feed>\n");
    feed
}
