//! The API clients follow redirects (the real APIs send them: arXiv from `http://` to
//! `https://`, Wikipedia to canonical titles), at most 10 in a row.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use research_demo::arxiv::api::{ArxivApi, ArxivError, Sort};
use research_demo::fixtures::FixtureServer;
use research_demo::wikipedia::api::WikipediaApi;

use crate::common::serve;

fn redirect(status: StatusCode, location: &str) -> Response {
    (status, [(header::LOCATION, location.to_owned())]).into_response()
}

/// A server that sends every request on to the same path and query under `target` with
/// `status`.
async fn moved_to(target: url::Url, status: StatusCode) -> url::Url {
    let app = axum::Router::new().fallback(move |request: Request| {
        let target = target.clone();
        async move {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            redirect(status, target.join(path.trim_start_matches('/')).unwrap().as_str())
        }
    });
    serve(app).await
}

#[tokio::test]
async fn arxiv_follows_a_301_to_another_host() {
    let fixtures = FixtureServer::start().await.unwrap();
    let old = moved_to(fixtures.url(), StatusCode::MOVED_PERMANENTLY).await;
    let api = ArxivApi::at(old, Duration::ZERO).unwrap();
    let feed = api.search("large language models", 1, Sort::Relevance, &[]).await.unwrap();
    assert_eq!(feed.papers[0].title, "Scaling Laws for Tool-Using Large Language Models");
    let html = api.html("2611.01234v1").await.unwrap();
    assert!(html.contains("Scaling Laws for Tool-Using Large Language Models"));
}

#[tokio::test]
async fn wikipedia_follows_a_302_to_another_host() {
    let fixtures = FixtureServer::start().await.unwrap();
    let old = moved_to(fixtures.url(), StatusCode::FOUND).await;
    let api = WikipediaApi::at(old, Duration::ZERO).unwrap();
    let summary = api.summary("Large language model").await.unwrap();
    assert_eq!(summary.description.as_deref(), Some("Type of machine learning model"));
    let hits = api.search("large language model", 1).await.unwrap();
    assert_eq!(hits[0].title, "Large language model");
}

#[tokio::test]
async fn a_chain_of_relative_and_absolute_redirects_is_followed() {
    let fixtures = FixtureServer::start().await.unwrap();
    let last_hop = moved_to(fixtures.url(), StatusCode::MOVED_PERMANENTLY).await;
    // `/html/ID` -> `/renderings/html/ID` (relative, 302) -> the fixtures (absolute, 301).
    let app = axum::Router::new().fallback(move |request: Request| {
        let last_hop = last_hop.clone();
        async move {
            let path = request.uri().path();
            match path.strip_prefix("/renderings/") {
                Some(rest) => {
                    redirect(StatusCode::MOVED_PERMANENTLY, last_hop.join(rest).unwrap().as_str())
                }
                None => redirect(StatusCode::FOUND, &format!("/renderings{path}")),
            }
        }
    });
    let api = ArxivApi::at(serve(app).await, Duration::ZERO).unwrap();
    let html = api.html("2611.01234v1").await.unwrap();
    assert!(html.contains("<h1 class=\"ltx_title ltx_title_document\">"));
}

#[tokio::test]
async fn a_redirect_loop_stops_after_10_redirects_and_says_so() {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .fallback(|State(hits): State<Arc<AtomicUsize>>, request: Request| async move {
            let n = hits.fetch_add(1, Ordering::SeqCst);
            redirect(StatusCode::FOUND, &format!("{}?hop={n}", request.uri().path()))
        })
        .with_state(Arc::clone(&hits));
    let base = serve(app).await;
    let api = ArxivApi::at(base.clone(), Duration::ZERO).unwrap();
    let err = api.html("2611.01234v1").await.unwrap_err();
    let ArxivError::Connect { url, reason } = &err else { panic!("{err:?}") };
    assert!(url.starts_with(base.as_str()), "{url}");
    assert!(reason.contains("redirect"), "{reason}");
    // The first request, then 10 redirects followed.
    assert_eq!(hits.load(Ordering::SeqCst), 11);
}
