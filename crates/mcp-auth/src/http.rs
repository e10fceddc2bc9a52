//! [`ReqwestOAuth`]: rmcp's [`OAuthHttpClient`] over two reqwest clients the caller builds, so
//! that OAuth traffic uses the caller's TLS roots, proxy and `ca_file`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::policy::AddressPolicy;
use reqwest::header::CONTENT_TYPE;
use rmcp::transport::auth::{
    OAuthHttpClient, OAuthHttpClientError, OAuthHttpClientFuture, OAuthHttpRedirectPolicy,
    OAuthHttpRequest,
};

/// The deadline of one OAuth HTTP operation, connect to last body byte.
pub const OAUTH_HTTP_DEADLINE: Duration = Duration::from_secs(30);

/// The largest OAuth response body read, 1 MiB; a larger one fails the request.
pub const MAX_OAUTH_BODY_BYTES: usize = 1024 * 1024;

/// rmcp's [`OAuthHttpClient`] over two reqwest clients: one that never follows redirects (token,
/// registration and discovery requests that rmcp wants unfollowed, and the headless login) and
/// one that follows them (rmcp's `Follow` policy). Build both with the same TLS settings; the
/// follower should cap redirects (10 is rmcp's own limit).
///
/// Every operation gets a 30 s deadline ([`OAUTH_HTTP_DEADLINE`], or rmcp's own if shorter) and
/// a 1 MiB body cap ([`MAX_OAUTH_BODY_BYTES`]). An answer of type `text/event-stream` is
/// returned at once with an empty body: rmcp's discovery probes the MCP URL with a `GET`, which
/// a streamable HTTP server may answer with a stream that never ends.
///
/// ```
/// use mcp_auth::ReqwestOAuth;
///
/// # fn clients() -> (reqwest::Client, reqwest::Client) { unimplemented!() }
/// # fn demo() {
/// let (no_redirects, following) = clients(); // e.g. from mcp-session's HttpClientBuilder
/// let http = ReqwestOAuth::new(no_redirects, following);
/// # let _ = http;
/// # }
/// ```
#[derive(Clone)]
pub struct ReqwestOAuth {
    no_redirects: reqwest::Client,
    following: reqwest::Client,
    /// Set by the authorizer: every URL is checked, and redirects are followed here (with the
    /// `no_redirects` client) so that each hop is checked too.
    policy: Option<Arc<AddressPolicy>>,
}

/// The most redirects followed for one request under a policy (rmcp's own limit).
const MAX_REDIRECTS: usize = 10;

impl fmt::Debug for ReqwestOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestOAuth").finish_non_exhaustive()
    }
}

impl ReqwestOAuth {
    /// An OAuth HTTP client over `no_redirects` (must not follow redirects) and `following`
    /// (follows a bounded number of them).
    pub fn new(no_redirects: reqwest::Client, following: reqwest::Client) -> Self {
        ReqwestOAuth { no_redirects, following, policy: None }
    }

    /// This client under `policy`.
    pub(crate) fn guarded(&self, policy: Arc<AddressPolicy>) -> ReqwestOAuth {
        ReqwestOAuth { policy: Some(policy), ..self.clone() }
    }

    /// Sends `request` under the policy, following redirects when `follow` (each hop checked;
    /// 301, 302 and 303 turn into a `GET` without a body, as browsers do; `Authorization` is
    /// dropped when the origin changes).
    pub(crate) async fn guarded_execute(
        &self,
        policy: &AddressPolicy,
        mut request: reqwest::Request,
        follow: bool,
        deadline: Duration,
    ) -> Result<oauth2::HttpResponse, OAuthHttpClientError> {
        for _ in 0..=MAX_REDIRECTS {
            policy.check(request.url()).await.map_err(|e| Box::new(e) as OAuthHttpClientError)?;
            let again = if follow { request.try_clone() } else { None };
            let from = request.url().clone();
            let response =
                match tokio::time::timeout(deadline, fetch(&self.no_redirects, request)).await {
                    Ok(result) => result?,
                    Err(_) => return Err(Box::new(HttpFailure::Deadline(deadline))),
                };
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| from.join(value).ok());
            let (Some(mut next), Some(target), true) =
                (again, location, response.status().is_redirection())
            else {
                return Ok(response);
            };
            if !matches!(response.status().as_u16(), 307 | 308) {
                *next.method_mut() = reqwest::Method::GET;
                *next.body_mut() = None;
                next.headers_mut().remove(CONTENT_TYPE);
            }
            if target.origin() != from.origin() {
                next.headers_mut().remove(reqwest::header::AUTHORIZATION);
            }
            *next.url_mut() = target;
            request = next;
        }
        Err(Box::new(HttpFailure::TooManyRedirects))
    }

    /// The client that never follows redirects (the headless login reads `Location` with it).
    pub(crate) fn no_redirects(&self) -> &reqwest::Client {
        &self.no_redirects
    }
}

/// Why an OAuth HTTP operation failed (the message names no URL query and no body).
#[derive(Debug, thiserror::Error)]
enum HttpFailure {
    #[error("no answer within {0:?}")]
    Deadline(Duration),
    #[error("the answer is larger than {MAX_OAUTH_BODY_BYTES} bytes")]
    TooLarge,
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

impl OAuthHttpClient for ReqwestOAuth {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        Box::pin(async move {
            let deadline =
                request.timeout.map_or(OAUTH_HTTP_DEADLINE, |t| t.min(OAUTH_HTTP_DEADLINE));
            let client = match request.redirect_policy {
                OAuthHttpRedirectPolicy::Stop => &self.no_redirects,
                _ => &self.following,
            };
            let follow = !matches!(request.redirect_policy, OAuthHttpRedirectPolicy::Stop);
            let request = reqwest::Request::try_from(request.request)
                .map_err(|error| Box::new(error) as OAuthHttpClientError)?;
            if let Some(policy) = &self.policy {
                return self.guarded_execute(policy, request, follow, deadline).await;
            }
            match tokio::time::timeout(deadline, fetch(client, request)).await {
                Ok(result) => result,
                Err(_) => Err(Box::new(HttpFailure::Deadline(deadline)) as OAuthHttpClientError),
            }
        })
    }
}

/// Sends `request` and reads its answer, capped, into an `http` response.
async fn fetch(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<oauth2::HttpResponse, OAuthHttpClientError> {
    let mut response = client.execute(request).await?;
    let mut builder =
        oauth2::http::Response::builder().status(response.status()).version(response.version());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let streaming =
        response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(
            |value| value.trim_start().to_ascii_lowercase().starts_with("text/event-stream"),
        );
    let mut body = Vec::new();
    if !streaming {
        while let Some(chunk) = response.chunk().await? {
            if chunk.len() > MAX_OAUTH_BODY_BYTES - body.len() {
                return Err(Box::new(HttpFailure::TooLarge));
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(builder.body(body)?)
}

/// `GET url` with `client`, under the deadline and the body cap: the status and the body.
pub(crate) async fn get(
    client: &reqwest::Client,
    url: &url::Url,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    send(client, client.get(url.clone())).await
}

/// `POST url` of the form `fields` (`application/x-www-form-urlencoded`) with `client`, under
/// the deadline and the body cap, with `authorization` as the `Authorization` header (marked
/// sensitive) if given: the status and the body.
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: &url::Url,
    fields: &[(&str, &str)],
    authorization: Option<&str>,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let mut request = client
        .post(url.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body);
    if let Some(value) = authorization {
        let mut value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| "the client credentials cannot be sent in a header".to_owned())?;
        value.set_sensitive(true);
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    send(client, request).await
}

/// Sends `request` with `client`, under the deadline and the body cap: the status and the body.
async fn send(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    let request = request.build().map_err(|e| e.without_url().to_string())?;
    let response = tokio::time::timeout(OAUTH_HTTP_DEADLINE, fetch(client, request))
        .await
        .map_err(|_| HttpFailure::Deadline(OAUTH_HTTP_DEADLINE).to_string())?
        .map_err(|e| e.to_string())?;
    let status = response.status();
    Ok((status, response.into_body()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{self, Answer};

    #[tokio::test]
    async fn an_event_stream_is_answered_at_once_and_large_bodies_are_refused() {
        let mock = mock::serve(|_, _, target| match target {
            "/stream" => Answer { status: 200, headers: Vec::new(), body: None },
            _ => Answer {
                status: 200,
                headers: Vec::new(),
                body: Some(vec![b'x'; MAX_OAUTH_BODY_BYTES + 1]),
            },
        })
        .await;
        let http = mock::http();
        let url = |path: &str| url::Url::parse(&format!("{}{path}", mock.origin)).unwrap();
        // The stream never ends: only returning at once lets this finish.
        let (status, body) = get(http.no_redirects(), &url("/stream")).await.unwrap();
        assert_eq!((status.as_u16(), body.len()), (200, 0));
        let err = get(http.no_redirects(), &url("/large")).await.unwrap_err();
        assert_eq!(err, "the answer is larger than 1048576 bytes");
    }
}
