//! The protected resource: [`TestServer`] over streamable HTTP (`/mcp`) and legacy SSE (`/sse`,
//! `/message`) behind a bearer-token check (RFC 6750, with the MCP authorization spec's
//! `resource_metadata` challenge), and the protected resource metadata (RFC 9728).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::state::Verdict;
use crate::mcp_server::TestServer;

/// The largest MCP request body the bearer check reads (to find its JSON-RPC method).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// `GET /.well-known/oauth-protected-resource/mcp`.
pub(super) async fn mcp_metadata(State(shared): State<Arc<Shared>>) -> Json<Value> {
    metadata(&shared, &shared.urls.mcp)
}

/// `GET /.well-known/oauth-protected-resource/sse`.
pub(super) async fn sse_metadata(State(shared): State<Arc<Shared>>) -> Json<Value> {
    metadata(&shared, &shared.urls.sse)
}

fn metadata(shared: &Shared, resource: &str) -> Json<Value> {
    let scopes = shared.lock().scopes_supported.clone();
    Json(json!({
        "resource": resource,
        "authorization_servers": [shared.urls.issuer],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "testkit MCP server",
    }))
}

/// `/mcp`: streamable HTTP, behind the bearer check. Its sessions end when `cancel` fires.
pub(super) fn streamable_http(shared: &Arc<Shared>, cancel: &CancellationToken) -> Router {
    let config =
        StreamableHttpServerConfig::default().with_cancellation_token(cancel.child_token());
    let service = StreamableHttpService::new(
        || Ok(TestServer::default()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let guard = Guard {
        shared: shared.clone(),
        resource: shared.urls.mcp.clone(),
        metadata: shared.urls.mcp_metadata.clone(),
    };
    Router::new()
        .nest_service("/mcp", service)
        .route_layer(middleware::from_fn_with_state(Arc::new(guard), require_bearer))
}

/// `/sse` and `/message`: legacy HTTP+SSE (mcp-sse's server), behind the bearer check. A
/// session ends with its event stream.
pub(super) fn legacy_sse(shared: &Arc<Shared>) -> Router {
    let guard = Guard {
        shared: shared.clone(),
        resource: shared.urls.sse.clone(),
        metadata: shared.urls.sse_metadata.clone(),
    };
    mcp_sse::server::router(TestServer::default, mcp_sse::server::SseServerConfig::default())
        .route_layer(middleware::from_fn_with_state(Arc::new(guard), require_bearer))
}

/// The bearer check of one resource.
#[derive(Debug)]
struct Guard {
    shared: Arc<Shared>,
    /// The resource identifier tokens must be issued for.
    resource: String,
    /// Its protected resource metadata URL, named in challenges.
    metadata: String,
}

/// Lets a request through when it carries a valid token for this resource with the scopes its
/// JSON-RPC method needs; otherwise 401 or 403 with a `WWW-Authenticate` challenge.
async fn require_bearer(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let Some(token) = bearer(request.headers()) else {
        return guard.unauthorized(None);
    };
    let verdict = guard.shared.lock().verdict(&token, &guard.resource);
    let granted = match verdict {
        Verdict::Valid(scopes) => scopes,
        Verdict::Unknown => {
            return guard.unauthorized(Some("the access token is unknown or revoked"));
        }
        Verdict::Expired => return guard.unauthorized(Some("the access token expired")),
        Verdict::WrongAudience => {
            return guard.unauthorized(Some("the access token was issued for another resource"));
        }
    };
    let request = if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large")
                .into_response();
        };
        let required = guard.required_scopes(&body);
        if !required.is_subset(&granted) {
            return guard.forbidden(&required);
        }
        Request::from_parts(parts, Body::from(body))
    } else {
        request
    };
    guard.shared.lock().counters.authorized += 1;
    next.run(request).await
}

impl Guard {
    /// The scopes the JSON-RPC request(s) in `body` need together.
    fn required_scopes(&self, body: &[u8]) -> BTreeSet<String> {
        let messages = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(messages)) => messages,
            Ok(message) => vec![message],
            Err(_) => Vec::new(),
        };
        let state = self.shared.lock();
        messages
            .iter()
            .filter_map(|message| message["method"].as_str())
            .filter_map(|method| state.required_scopes.get(method))
            .flatten()
            .cloned()
            .collect()
    }

    /// 401 with `WWW-Authenticate: Bearer [error="invalid_token", error_description="…", ]
    /// resource_metadata="…"[, scope="…"]`; `problem`: why a token sent is refused (none: no
    /// token was sent, so no error code, RFC 6750 §3.1).
    fn unauthorized(&self, problem: Option<&str>) -> Response {
        let scope = {
            let mut state = self.shared.lock();
            state.counters.unauthorized += 1;
            state.challenge_scope.clone()
        };
        tracing::debug!(problem, "MCP request refused: 401");
        let mut params = Vec::new();
        if let Some(problem) = problem {
            params.push(("error", "invalid_token".to_owned()));
            params.push(("error_description", problem.to_owned()));
        }
        params.push(("resource_metadata", self.metadata.clone()));
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let body = match problem {
            Some(problem) => json!({"error": "invalid_token", "error_description": problem}),
            None => {
                json!({"error": "unauthorized", "error_description": "a bearer token is required"})
            }
        };
        challenge_response(StatusCode::UNAUTHORIZED, &params, body)
    }

    /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="REQUIRED", …`.
    fn forbidden(&self, required: &BTreeSet<String>) -> Response {
        self.shared.lock().counters.forbidden += 1;
        let scope = required.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
        tracing::debug!(%scope, "MCP request refused: 403 insufficient_scope");
        let description = format!("this request needs the scopes {scope}");
        let params = [
            ("error", "insufficient_scope".to_owned()),
            ("error_description", description.clone()),
            ("scope", scope),
            ("resource_metadata", self.metadata.clone()),
        ];
        let body = json!({"error": "insufficient_scope", "error_description": description});
        challenge_response(StatusCode::FORBIDDEN, &params, body)
    }
}

/// A response with a `Bearer` challenge made of `params` (values quoted) and a JSON body.
fn challenge_response(status: StatusCode, params: &[(&str, String)], body: Value) -> Response {
    let challenge = params
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", value.replace(['\\', '"'], "")))
        .collect::<Vec<_>>()
        .join(", ");
    let mut response = (status, Json(body)).into_response();
    match HeaderValue::from_str(&format!("Bearer {challenge}")) {
        Ok(value) => {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        Err(_) => tracing::warn!("cannot make a WWW-Authenticate header of {challenge:?}"),
    }
    response
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
