//! The HTTP client both API clients share: rustls with the platform's roots, a deadline, and
//! requests spaced by a configurable interval (the APIs ask for it).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

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
    min_interval: Duration,
    last_request: Arc<Mutex<Option<Instant>>>,
}

impl Fetcher {
    pub(crate) fn new(min_interval: Duration) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_secs(30))
            .user_agent(
                "mcp-session-rs research-demo (https://github.com/mcp-session-rs/mcp-session-rs)",
            )
            .build()
            .map_err(|err| format!("HTTP client: {err}"))?;
        Ok(Fetcher { http, min_interval, last_request: Arc::default() })
    }

    pub(crate) async fn get_text(&self, url: Url) -> Result<String, Failure> {
        {
            let mut last = self.last_request.lock().await;
            if let Some(previous) = *last {
                tokio::time::sleep_until(previous + self.min_interval).await;
            }
            *last = Some(Instant::now());
        }
        let shown = url.to_string();
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|err| Failure::Connect { url: shown.clone(), reason: err.to_string() })?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::Status { url: shown, status: status.as_u16() });
        }
        response
            .text()
            .await
            .map_err(|err| Failure::Connect { url: shown, reason: err.to_string() })
    }
}

/// `path` under `base`, as if `base` ended with `/`.
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, String> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path).map_err(|err| err.to_string())
}
