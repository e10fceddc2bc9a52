//! [`Endpoint`]: what an HTTP server's config says about reaching it, shared by both HTTP
//! transports (streamable HTTP and legacy SSE): its headers, checked, and its HTTP client.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mcp_config::{SseConfig, StreamableHttpConfig};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::SessionError;
use crate::http_client::HttpClientBuilder;

/// Headers the MCP transports set themselves, refused as configured headers.
const RESERVED: &[&str] = &["accept", "mcp-session-id", "last-event-id", "mcp-protocol-version"];

/// How to reach one HTTP server.
pub(crate) struct Endpoint<'a> {
    pub(crate) server: &'a str,
    pub(crate) url: &'a Url,
    headers: &'a BTreeMap<String, String>,
    pub(crate) timeout: Duration,
    pub(crate) sse_read_timeout: Duration,
    ca_file: Option<&'a Path>,
}

/// `Endpoint::from(&config)` for both HTTP configs, which share these fields.
macro_rules! endpoint_from {
    ($config:ty) => {
        impl<'a> From<&'a $config> for Endpoint<'a> {
            fn from(config: &'a $config) -> Self {
                Endpoint {
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

endpoint_from!(StreamableHttpConfig);
endpoint_from!(SseConfig);

impl Endpoint<'_> {
    /// The URL as messages show it: password, secret-looking query values and session ids
    /// hidden.
    pub(crate) fn shown_url(&self) -> String {
        mcp_config::redact::redact_url(self.url)
    }

    /// The configured headers, checked and marked sensitive (so that they never print).
    pub(crate) fn header_map(&self) -> Result<HeaderMap, SessionError> {
        let invalid = |header: &str, reason: String| SessionError::InvalidHeader {
            server: self.server.to_owned(),
            header: header.to_owned(),
            reason,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(invalid(
                    name,
                    "is set by the MCP transport itself; remove it from the config".to_owned(),
                ));
            }
            let header_name = HeaderName::try_from(name.as_str())
                .map_err(|err| invalid(name, format!("is not a valid header name: {err}")))?;
            let mut header_value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                invalid(
                    name,
                    "has a value that is not a valid HTTP header value (control characters or \
                     non-ASCII bytes); check the config"
                        .to_owned(),
                )
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }

    /// The HTTP client for this server: its TLS trust, timeouts, no redirects (a redirected
    /// `POST` loses its body, and a session must not move elsewhere silently).
    pub(crate) fn client(&self) -> Result<reqwest::Client, SessionError> {
        let mut builder = HttpClientBuilder::new()
            .connect_timeout(self.timeout)
            .read_timeout(self.sse_read_timeout);
        if let Some(ca_file) = self.ca_file {
            builder = builder.ca_file(ca_file);
        }
        builder
            .build()
            .map_err(|error| SessionError::HttpClient { server: self.server.to_owned(), error })
    }
}
