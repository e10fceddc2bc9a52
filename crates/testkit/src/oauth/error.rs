//! The fixture's own error ([`FixtureError`]) and the RFC 6749 errors its endpoints answer
//! ([`OAuthError`]).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why an [`OAuthFixture`](super::OAuthFixture) could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// No port on `127.0.0.1` could be bound (or its address read).
    #[error("the OAuth fixture cannot bind a port on 127.0.0.1; is loopback networking up?")]
    Bind {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// An OAuth error: its RFC 6749 (or RFC 7591, RFC 8707) `error` code, a description, and the
/// HTTP status of a JSON answer.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub(crate) struct OAuthError {
    pub(crate) code: &'static str,
    pub(crate) description: String,
    pub(crate) status: StatusCode,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { code, description: description.into(), status: StatusCode::BAD_REQUEST }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", description)
    }

    /// `invalid_client`, answered 401 (RFC 6749 §5.2).
    pub(crate) fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            ..OAuthError::new("invalid_client", description)
        }
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_grant", description)
    }

    pub(crate) fn unauthorized_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new("unauthorized_client", description)
    }

    pub(crate) fn unsupported_grant_type(description: impl Into<String>) -> OAuthError {
        OAuthError::new("unsupported_grant_type", description)
    }

    pub(crate) fn unsupported_response_type(description: impl Into<String>) -> OAuthError {
        OAuthError::new("unsupported_response_type", description)
    }

    pub(crate) fn invalid_scope(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_scope", description)
    }

    /// RFC 8707 §2: a `resource` the server does not serve.
    pub(crate) fn invalid_target(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_target", description)
    }

    /// RFC 7591 §3.2.2.
    pub(crate) fn invalid_redirect_uri(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_redirect_uri", description)
    }

    /// RFC 7591 §3.2.2.
    pub(crate) fn invalid_client_metadata(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_client_metadata", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "error_description": self.description});
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
