//! [`BearerAuth`]: an optional source of bearer tokens for the SSE client, consulted on the
//! `GET` and each `POST`, with one retry when the server refuses the token. The crate stays
//! auth-agnostic: how tokens are got (OAuth or anything else) is the implementor's business.

use std::fmt;

use futures::future::BoxFuture;

/// Why a [`BearerAuth`] could not give a token; returned as [`SseError::Auth`]'s source, so
/// the caller can downcast it to its own type.
///
/// [`SseError::Auth`]: crate::client::SseError::Auth
pub type BearerError = Box<dyn std::error::Error + Send + Sync>;

/// Gives the SSE client the bearer token to send, and hears when the server refused it.
///
/// Before the `GET` and each `POST` the client asks [`token`](Self::token) and, when there is
/// one, sends `Authorization: Bearer <token>` (marked sensitive). When the answer is 401 or
/// 403, it calls [`rejected`](Self::rejected) with the status, the `WWW-Authenticate` challenge
/// and the token it sent; if that returns `true` it asks for the token again and retries once.
///
/// ```
/// use futures::future::BoxFuture;
/// use mcp_sse::client::{BearerAuth, BearerError};
///
/// #[derive(Debug)]
/// struct Fixed(String);
///
/// impl BearerAuth for Fixed {
///     fn token(&self) -> BoxFuture<'_, Result<Option<String>, BearerError>> {
///         Box::pin(async move { Ok(Some(self.0.clone())) })
///     }
///     fn rejected<'a>(
///         &'a self,
///         _status: u16,
///         _challenge: Option<&'a str>,
///         _sent: Option<&'a str>,
///     ) -> BoxFuture<'a, Result<bool, BearerError>> {
///         Box::pin(async { Ok(false) }) // a fixed token cannot be renewed
///     }
/// }
///
/// let config = mcp_sse::client::SseClientConfig::new("http://127.0.0.1:8000/sse".parse()?)
///     .bearer(std::sync::Arc::new(Fixed("t0ken".into())));
/// # let _ = config;
/// # Ok::<(), url::ParseError>(())
/// ```
pub trait BearerAuth: Send + Sync + fmt::Debug {
    /// The token to send now, if any.
    fn token(&self) -> BoxFuture<'_, Result<Option<String>, BearerError>>;

    /// The server answered `status` (401 or 403) with `challenge` to a request that carried
    /// `sent`: `true` when a retry with a new [`token`](Self::token) may succeed.
    fn rejected<'a>(
        &'a self,
        status: u16,
        challenge: Option<&'a str>,
        sent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, BearerError>>;
}
