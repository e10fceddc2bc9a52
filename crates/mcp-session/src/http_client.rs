//! [`HttpClientBuilder`]: the one place HTTP clients are made, for MCP transports and for any
//! other HTTP the stack speaks (LLM endpoints, API fetchers).
//!
//! Every client gets rustls with the ring provider, the system's root certificates (loaded once
//! per process) plus an optional `ca_file`, and `TCP_NODELAY`. What differs between uses is
//! chosen per builder: redirects (MCP transports refuse them; API fetchers follow them), a total
//! deadline per request, connect and read timeouts, default headers and a user agent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::HeaderMap;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Whether a client follows HTTP redirects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redirects {
    /// Never: a redirect is returned as the response (what MCP transports want: a redirected
    /// `POST` would lose its body, and a session must not move to another origin silently).
    #[default]
    None,
    /// Up to `max` redirects per request.
    Follow {
        /// The most redirects followed before the request fails.
        max: usize,
    },
}

/// Why an HTTP client could not be built.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpClientError {
    /// The `ca_file` could not be read or holds no usable certificate.
    #[error("ca_file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and what to do.
        reason: String,
    },
    /// TLS could not be set up (the crypto provider refused the protocol versions).
    #[error("cannot set up TLS: {reason}")]
    Tls {
        /// The cause.
        reason: String,
    },
    /// The client could not be built from these settings.
    #[error("cannot build the HTTP client: {reason}")]
    Build {
        /// The cause.
        reason: String,
    },
}

/// Builds a `reqwest::Client` with the stack's TLS and socket settings.
///
/// Defaults: system roots, `TCP_NODELAY`, no redirects, no deadline, reqwest's own connect and
/// read behaviour, no user agent.
///
/// ```
/// use std::time::Duration;
/// use mcp_session::{HttpClientBuilder, Redirects};
///
/// // An API fetcher: follows redirects, gives up on a request after 30 s.
/// let client = HttpClientBuilder::new()
///     .redirects(Redirects::Follow { max: 10 })
///     .deadline(Duration::from_secs(30))
///     .user_agent("my-agent/1.0")
///     .build()?;
/// # let _ = client;
/// # Ok::<(), mcp_session::HttpClientError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct HttpClientBuilder {
    ca_file: Option<PathBuf>,
    headers: HeaderMap,
    redirects: Redirects,
    deadline: Option<Duration>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    max_idle_per_host: Option<usize>,
    user_agent: Option<String>,
}

impl HttpClientBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        HttpClientBuilder::default()
    }

    /// Also trusts the PEM `CERTIFICATE` blocks of this file (a private CA).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sends these headers with every request. Mark secret values with
    /// [`HeaderValue::set_sensitive`](reqwest::header::HeaderValue::set_sensitive) so that they
    /// never print.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Whether to follow redirects (default: never).
    pub fn redirects(mut self, redirects: Redirects) -> Self {
        self.redirects = redirects;
        self
    }

    /// Bounds each whole request, body included. Not for clients that hold event streams open.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Bounds connecting (TCP and TLS).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Bounds the silence between two reads of a response (an event stream's keep-alives count).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// The most idle keep-alive connections kept to one host (default: no bound). A client
    /// shared by many sessions to one server wants a bound: without one it keeps as many as
    /// were ever busy at once.
    pub fn max_idle_per_host(mut self, connections: usize) -> Self {
        self.max_idle_per_host = Some(connections);
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`HttpClientError`]: an unreadable or empty `ca_file`, or settings reqwest refuses.
    pub fn build(&self) -> Result<reqwest::Client, HttpClientError> {
        let tls = tls_config(self.ca_file.as_deref())?;
        let redirect = match self.redirects {
            Redirects::None => reqwest::redirect::Policy::none(),
            Redirects::Follow { max } => reqwest::redirect::Policy::limited(max),
        };
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .tcp_nodelay(true)
            .redirect(redirect)
            .default_headers(self.headers.clone());
        if let Some(deadline) = self.deadline {
            builder = builder.timeout(deadline);
        }
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = self.read_timeout {
            builder = builder.read_timeout(timeout);
        }
        if let Some(connections) = self.max_idle_per_host {
            builder = builder.pool_max_idle_per_host(connections);
        }
        if let Some(agent) = &self.user_agent {
            builder = builder.user_agent(agent);
        }
        builder.build().map_err(|err| HttpClientError::Build { reason: root_cause(&err) })
    }
}

/// The innermost cause's message.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// The system's root certificates, loaded once.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!("skipping a system certificate: {error}");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "loaded system root certificates");
        roots
    })
}

/// TLS trusting the system's root certificates, built once: a client without a `ca_file`
/// clones it, which copies a few `Arc`s, where building it copies every root certificate.
fn system_tls() -> Result<rustls::ClientConfig, HttpClientError> {
    static TLS: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    TLS.get_or_init(|| client_config(system_roots().clone()))
        .clone()
        .map_err(|reason| HttpClientError::Tls { reason })
}

/// rustls with the ring provider, trusting the system's roots and those of `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, HttpClientError> {
    let Some(path) = ca_file else { return system_tls() };
    let fault = |reason: String| HttpClientError::CaFile { path: path.to_owned(), reason };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| fault(format!("cannot be read: {err}; check the path")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| fault(format!("is not valid PEM: {err}")))?;
    if certs.is_empty() {
        return Err(fault("holds no certificate; it must hold PEM `CERTIFICATE` blocks".into()));
    }
    let mut roots = system_roots().clone();
    for cert in certs {
        roots.add(cert).map_err(|err| fault(format!("a certificate is not usable: {err}")))?;
    }
    client_config(roots).map_err(|reason| HttpClientError::Tls { reason })
}

/// rustls with the ring provider, trusting `roots`.
fn client_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_names_the_file_and_the_fix() {
        let err = HttpClientBuilder::new().ca_file("/nonexistent/ca.pem").build().unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("ca_file /nonexistent/ca.pem: cannot be read"), "{text}");
        assert!(text.ends_with("check the path"), "{text}");
    }

    #[test]
    fn an_empty_ca_file_says_what_it_must_hold() {
        let dir = std::env::temp_dir().join(format!("mcp-session-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = HttpClientBuilder::new().ca_file(&path).build().unwrap_err();
        assert!(err.to_string().contains("holds no certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
