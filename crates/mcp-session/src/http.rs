//! Streamable HTTP servers: the reqwest client (headers, timeouts, TLS) and rmcp's transport.

use std::error::Error as StdError;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use mcp_config::{SseConfig, StreamableHttpConfig};
use mcp_sse::client::{SseClientConfig, SseClientTransport, SseError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    HttpStatusError, StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::error::SessionError;

/// Headers rmcp sets itself and refuses as custom headers.
const RESERVED: &[&str] = &["accept", "mcp-session-id", "last-event-id", "mcp-protocol-version"];

/// What an HTTP server's config says about reaching it, for either HTTP transport.
pub(crate) struct Target<'a> {
    pub(crate) server: &'a str,
    pub(crate) url: &'a url::Url,
    pub(crate) headers: &'a std::collections::BTreeMap<String, String>,
    pub(crate) timeout: std::time::Duration,
    pub(crate) sse_read_timeout: std::time::Duration,
    pub(crate) ca_file: Option<&'a Path>,
}

/// `Target::from(&config)` for both HTTP configs, which share these fields.
macro_rules! target_from {
    ($config:ty) => {
        impl<'a> From<&'a $config> for Target<'a> {
            fn from(config: &'a $config) -> Self {
                Target {
                    server: &config.server_name,
                    url: &config.url,
                    headers: &config.headers,
                    timeout: config.timeout,
                    sse_read_timeout: config.sse_read_timeout,
                    ca_file: config.ca_file.as_deref(),
                }
            }
        }
    };
}

target_from!(StreamableHttpConfig);
target_from!(SseConfig);

impl Target<'_> {
    fn invalid(&self, message: String) -> SessionError {
        SessionError::Protocol { server: self.server.to_owned(), message }
    }

    /// The configured headers, checked and marked sensitive (so they never print).
    fn header_map(&self) -> Result<HeaderMap, SessionError> {
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(self.invalid(format!(
                    "the header `{name}` is set by the MCP transport itself; remove it from the config"
                )));
            }
            let header_name = HeaderName::try_from(name.as_str()).map_err(|err| {
                self.invalid(format!("the header name `{name}` is not valid: {err}"))
            })?;
            let mut header_value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                self.invalid(format!(
                    "the value of header `{name}` is not a valid HTTP header value"
                ))
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }

    /// A reqwest client for this server: its TLS trust, timeouts, no redirects, no Nagle.
    fn client(&self) -> Result<reqwest::Client, SessionError> {
        let tls = tls_config(self.ca_file).map_err(|message| self.invalid(message))?;
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(self.timeout)
            .tcp_nodelay(true)
            .read_timeout(self.sse_read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| self.invalid(format!("cannot build the HTTP client: {err}")))
    }
}

/// The transport for a streamable HTTP server.
pub(crate) fn transport(
    config: &StreamableHttpConfig,
) -> Result<StreamableHttpClientTransport<reqwest::Client>, SessionError> {
    let target = Target::from(config);
    let mut headers = target.header_map()?;
    let mut transport_config = StreamableHttpClientTransportConfig::with_uri(config.url.as_str());
    // rmcp sends the token as `Authorization: Bearer <token>` and refuses it as a custom header.
    if let Some(value) = headers.remove(reqwest::header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        transport_config =
            transport_config.auth_header(value.strip_prefix("Bearer ").unwrap_or(value));
    }
    let transport_config = transport_config
        .custom_headers(headers.into_iter().filter_map(|(k, v)| Some((k?, v))).collect());
    Ok(StreamableHttpClientTransport::with_client(target.client()?, transport_config))
}

/// Connects to a legacy SSE server: `GET` the URL and wait for its `endpoint` event.
pub(crate) async fn sse_transport(target: Target<'_>) -> Result<SseClientTransport, SessionError> {
    let config = SseClientConfig::new(target.url.clone())
        .headers(target.header_map()?)
        .timeout(target.timeout)
        .sse_read_timeout(target.sse_read_timeout)
        .client(target.client()?);
    let server = target.server.to_owned();
    let url = crate::redact_url(target.url);
    SseClientTransport::connect(config).await.map_err(|err| match err {
        SseError::Connect { reason, .. } => SessionError::Connect { server, url, reason },
        SseError::Http { status, body, .. } => {
            SessionError::Http { server, url, status, body_excerpt: body }
        }
        SseError::NoEndpoint { after, .. } => SessionError::Timeout {
            server,
            operation: "connect (waiting for the `endpoint` event)".to_owned(),
            after,
        },
        other => SessionError::Protocol {
            server,
            message: format!("{other}; check that the URL is a legacy SSE endpoint"),
        },
    })
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

/// TLS trusting the system's root certificates, built once: a session without a `ca_file`
/// clones it, which copies a few `Arc`s, where building it copies every root certificate.
fn system_tls() -> Result<rustls::ClientConfig, String> {
    static TLS: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    TLS.get_or_init(|| client_config(system_roots().clone())).clone()
}

/// TLS for one HTTP server: rustls with the ring provider, trusting the system's root
/// certificates and those of `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let Some(path) = ca_file else { return system_tls() };
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| format!("cannot read ca_file {shown}: {err}; check the path"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("ca_file {shown} is not valid PEM: {err}"))?;
    if certs.is_empty() {
        return Err(format!(
            "ca_file {shown} holds no certificate; it must hold PEM `CERTIFICATE` blocks"
        ));
    }
    let mut roots = system_roots().clone();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|err| format!("ca_file {shown}: a certificate is not usable: {err}"))?;
    }
    client_config(roots)
}

/// rustls with the ring provider, trusting `roots`.
fn client_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .map_err(|err| format!("cannot set up TLS: {err}"))
}

/// Turns a failed HTTP handshake into the most specific error.
pub(crate) fn classify_init(
    server: &str,
    url: &str,
    error: &rmcp::service::ClientInitializeError,
) -> SessionError {
    match error {
        // rmcp does not expose the transport error as this variant's source: start from it.
        rmcp::service::ClientInitializeError::TransportError { error: transport, .. } => {
            match classify(server, url, transport.error.as_ref()) {
                SessionError::Handshake { .. } => SessionError::Handshake {
                    server: server.to_owned(),
                    reason: chain(error),
                    stderr_tail: None,
                },
                specific => specific,
            }
        }
        other => classify(server, url, other),
    }
}

/// Turns a failure to reach or talk to an HTTP server into the most specific error.
pub(crate) fn classify(server: &str, url: &str, error: &(dyn StdError + 'static)) -> SessionError {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(status) = err.downcast_ref::<HttpStatusError>() {
            return http_status(server, url, status.status, "");
        }
        let reqwest_error = err.downcast_ref::<reqwest::Error>().or_else(|| {
            // rmcp's `Client(E)` variant does not expose the client error as its source.
            match err.downcast_ref::<StreamableHttpError<reqwest::Error>>()? {
                StreamableHttpError::Client(inner) => Some(inner),
                _ => None,
            }
        });
        if let Some(err) = reqwest_error {
            if let Some(status) = err.status() {
                return http_status(server, url, status.as_u16(), "");
            }
            if err.is_connect() || err.is_timeout() {
                let mut reason = root_cause(err);
                if reason.contains("certificate") {
                    reason.push_str(" (if the server's certificate comes from a private CA, set `ca_file` for it)");
                }
                return SessionError::Connect {
                    server: server.to_owned(),
                    url: url.to_owned(),
                    reason,
                };
            }
        }
        current = err.source();
    }
    let text = chain(error);
    if let Some(status) = status_in(&text) {
        return http_status(server, url, status, "");
    }
    SessionError::Handshake { server: server.to_owned(), reason: text, stderr_tail: None }
}

fn http_status(server: &str, url: &str, status: u16, body: &str) -> SessionError {
    SessionError::Http {
        server: server.to_owned(),
        url: url.to_owned(),
        status,
        body_excerpt: body.to_owned(),
    }
}

/// The innermost cause's message.
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Every message of the chain, joined.
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error.source();
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// An HTTP status mentioned in rmcp's error text ("HTTP 404", "status: 404 Not Found", …).
fn status_in(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    let markers = ["HTTP ", "status: ", "status code ", "Status code: "];
    markers.iter().find_map(|marker| {
        let at = text.find(marker)? + marker.len();
        let digits = bytes.get(at..at + 3)?;
        let status = std::str::from_utf8(digits).ok()?.parse::<u16>().ok()?;
        (400..600).contains(&status).then_some(status)
    })
}
