//! [`AuthError`] and [`Step`]: why getting a token failed, and in which step of the flow.
//!
//! No message ever holds a token, an authorization code or a client secret; URLs in messages
//! are redacted with [`mcp_config::redact::redact_text`].

use std::fmt;

use mcp_config::redact::redact_text;

/// The step of the OAuth flow an [`AuthError`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Finding the protected resource and authorization server metadata.
    Discovery,
    /// Getting a client id: the configured one, a metadata document, or dynamic registration.
    Registration,
    /// The user step: the authorization request and its redirect.
    Authorization,
    /// Exchanging the authorization code for tokens.
    Token,
    /// Refreshing an access token.
    Refresh,
    /// Reading, writing or locking the token store.
    Storage,
}

impl Step {
    /// The step's name in messages: `discovery`, `registration`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Discovery => "discovery",
            Step::Registration => "registration",
            Step::Authorization => "authorization",
            Step::Token => "token",
            Step::Refresh => "refresh",
            Step::Storage => "storage",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why no token could be had for a server.
///
/// ```
/// use mcp_auth::{AuthError, Step};
///
/// let err = AuthError::LoginRequired { server: "docs".into(), reason: "no stored token".into() };
/// assert_eq!(err.step(), Step::Authorization);
/// assert_eq!(
///     err.to_string(),
///     "docs: no stored token; logging in needs a person: run `research-demo login docs`"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A step of the flow failed; `reason` is redacted and holds no secret.
    #[error("{server}: OAuth {step} failed: {reason}")]
    Flow {
        /// The server's name.
        server: String,
        /// The step that failed.
        step: Step,
        /// What went wrong, redacted.
        reason: String,
    },
    /// Logging in needs a person: the login mode is [`LoginMode::Never`](crate::LoginMode), the
    /// authorization server showed a page to a headless login, or an interactive login timed
    /// out.
    #[error("{server}: {reason}; logging in needs a person: run `research-demo login {server}`")]
    LoginRequired {
        /// The server's name.
        server: String,
        /// Why no token could be had without one.
        reason: String,
    },
    /// One logical request needed more authorizations than allowed.
    #[error(
        "{server}: gave up after {authorizations} authorizations for one request; the server \
         keeps refusing the token (last: {last})"
    )]
    TooManyAuthorizations {
        /// The server's name.
        server: String,
        /// How many authorizations were run for the request.
        authorizations: u32,
        /// The last refusal, such as `insufficient_scope for "mcp:admin"`.
        last: String,
    },
    /// The server asks for scopes the token already has: authorizing again would not help.
    #[error(
        "{server}: the server refuses the token for lack of scope {required:?}, which it \
         already grants; check the server's scope configuration"
    )]
    ScopeNotHonoured {
        /// The server's name.
        server: String,
        /// The scopes the server asked for.
        required: String,
    },
    /// A 403 answer that is not `insufficient_scope`: another authorization would not help.
    #[error("{server}: forbidden ({error}); another authorization would not help")]
    Forbidden {
        /// The server's name.
        server: String,
        /// The challenge's `error`, or `no error code`.
        error: String,
    },
}

impl AuthError {
    /// The step of the flow this error comes from.
    pub fn step(&self) -> Step {
        match self {
            AuthError::Flow { step, .. } => *step,
            AuthError::LoginRequired { .. }
            | AuthError::TooManyAuthorizations { .. }
            | AuthError::ScopeNotHonoured { .. }
            | AuthError::Forbidden { .. } => Step::Authorization,
        }
    }

    /// The server's name.
    pub fn server(&self) -> &str {
        match self {
            AuthError::Flow { server, .. }
            | AuthError::LoginRequired { server, .. }
            | AuthError::TooManyAuthorizations { server, .. }
            | AuthError::ScopeNotHonoured { server, .. }
            | AuthError::Forbidden { server, .. } => server,
        }
    }

    /// A [`Flow`](Self::Flow) error whose reason is `reason`, redacted.
    pub(crate) fn flow(server: &str, step: Step, reason: impl fmt::Display) -> AuthError {
        AuthError::Flow {
            server: server.to_owned(),
            step,
            reason: redact_text(&reason.to_string()),
        }
    }
}
