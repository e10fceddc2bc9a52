//! The HTTP both API clients share: a client from mcp-session's one factory
//! ([`HttpClientBuilder`]) that follows redirects (at most [`MAX_REDIRECTS`]) and gives up on a
//! request after [`DEADLINE`], and requests spaced by a configurable interval (the APIs ask for
//! it).

use std::sync::Arc;
use std::time::Duration;

use mcp_session::{HttpClientBuilder, HttpClientError, Redirects};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

/// The most redirects one request follows (the real APIs redirect, e.g. arXiv's `http://` to
/// `https://` and Wikipedia's titles to their canonical form).
pub(crate) const MAX_REDIRECTS: usize = 10;

/// How long one request may take in all, body included.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

/// Who asks, as both APIs want to know.
pub(crate) const USER_AGENT: &str =
    "mcp-session-rs research-demo (https://github.com/mcp-session-rs/mcp-session-rs)";

/// Why a GET failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No answer: the request could not be made or the body not read.
    Connect { url: String, reason: String },
    /// An answer with an error status.
    Status { url: String, status: u16 },
}

/// GETs text, one request at a time at most every `min_interval`.
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    http: reqwest::Client,
    rate_limit: RateLimit,
}

impl Fetcher {
    /// A fetcher whose requests start at least `min_interval` apart.
    pub(crate) fn new(min_interval: Duration) -> Result<Self, HttpClientError> {
        let http = HttpClientBuilder::new()
            .redirects(Redirects::Follow { max: MAX_REDIRECTS })
            .deadline(DEADLINE)
            .user_agent(USER_AGENT)
            .build()?;
        Ok(Fetcher { http, rate_limit: RateLimit::new(min_interval) })
    }

    /// The body of `url` (after redirects), which must answer with a success status.
    pub(crate) async fn get_text(&self, url: Url) -> Result<String, Failure> {
        self.rate_limit.turn().await;
        let shown = mcp_session::mcp_config::redact::redact_url(&url);
        let connect =
            |err: reqwest::Error| Failure::Connect { url: shown.clone(), reason: causes(err) };
        let response = self.http.get(url).send().await.map_err(connect)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::Status { url: shown, status: status.as_u16() });
        }
        response.text().await.map_err(connect)
    }
}

/// reqwest's message without the URL (the caller names it) and with its causes (its own says
/// only "error sending request"), such as "error sending request: … Connection refused".
fn causes(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Spaces the starts of requests by at least `min_interval`, in the order they ask (tokio's
/// `Mutex` is fair), however many ask at once.
#[derive(Clone, Debug)]
pub(crate) struct RateLimit {
    min_interval: Duration,
    last_start: Arc<Mutex<Option<Instant>>>,
}

impl RateLimit {
    pub(crate) fn new(min_interval: Duration) -> Self {
        RateLimit { min_interval, last_start: Arc::default() }
    }

    /// Waits until this request may start, and records that it did.
    ///
    /// Cancel safety: dropping the future before it returns gives up the turn without using it.
    pub(crate) async fn turn(&self) {
        if self.min_interval.is_zero() {
            return;
        }
        let mut last = self.last_start.lock().await;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + self.min_interval).await;
        }
        *last = Some(Instant::now());
    }
}

/// `path` under `base`, as if `base` ended with `/`.
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, url::ParseError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path)
}

#[cfg(test)]
mod tests {
    //! The spacing itself, under paused time (no I/O here, so auto-advance is exact).

    use super::*;

    const INTERVAL: Duration = Duration::from_secs(3);

    /// Each gap between consecutive starts: at least `INTERVAL`, and not more than a tick over.
    fn assert_spaced(starts: &[Duration]) {
        assert_eq!(starts[0], Duration::ZERO, "the first request waits for nothing: {starts:?}");
        for pair in starts.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= INTERVAL && gap <= INTERVAL + Duration::from_millis(1),
                "gap {gap:?} in {starts:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sequential_requests_start_an_interval_apart() {
        let limit = RateLimit::new(INTERVAL);
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            limit.turn().await;
            starts.push(t0.elapsed());
        }
        assert_spaced(&starts);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_start_an_interval_apart() {
        let limit = RateLimit::new(INTERVAL);
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move {
                    limit.turn().await;
                    t0.elapsed()
                })
            })
            .collect();
        let mut starts = Vec::new();
        for task in tasks {
            starts.push(task.await.unwrap());
        }
        starts.sort();
        assert_spaced(&starts);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_after_a_pause_does_not_wait_again() {
        let limit = RateLimit::new(INTERVAL);
        limit.turn().await;
        tokio::time::sleep(INTERVAL * 2).await;
        let t1 = Instant::now();
        limit.turn().await;
        assert_eq!(t1.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn no_interval_never_waits() {
        let limit = RateLimit::new(Duration::ZERO);
        let t0 = Instant::now();
        for _ in 0..3 {
            limit.turn().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
