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
    /// Getting tokens at the token endpoint: the authorization code exchange, or the client
    /// credentials grant.
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
    /// The authorization server refused the client at its token endpoint under the client
    /// credentials grant (`invalid_client`, `unauthorized_client`, …): a wrong secret, an
    /// assertion it cannot verify (a wrong key), or a client not allowed this grant.
    ///
    /// ```
    /// use mcp_auth::{AuthError, Step};
    ///
    /// let err = AuthError::ClientRejected {
    ///     server: "ledger".into(),
    ///     client_id: "ledger-bot".into(),
    ///     method: "private_key_jwt".into(),
    ///     error: "invalid_client: signature verification failed".into(),
    /// };
    /// assert_eq!(err.step(), Step::Token);
    /// assert!(err.to_string().ends_with(
    ///     "check `client_id` and the private key in the server's `auth` (and that the \
    ///      authorization server holds its public key)"
    /// ));
    /// ```
    #[error(
        "{server}: the authorization server refused client {client_id:?} ({method}): {error}; \
         check `client_id` and {what} in the server's `auth`{more}",
        what = if method == "private_key_jwt" { "the private key" } else { "the client secret" },
        more = if method == "private_key_jwt" {
            " (and that the authorization server holds its public key)"
        } else {
            ""
        }
    )]
    ClientRejected {
        /// The server's name.
        server: String,
        /// The client id.
        client_id: String,
        /// How the client authenticated: `client_secret_basic`, `client_secret_post` or
        /// `private_key_jwt`.
        method: String,
        /// The OAuth `error` and its description, as the server gave them (redacted).
        error: String,
    },
    /// A URL learned from a server (its metadata, an endpoint, a redirect) was not contacted: its
    /// scheme is not http(s), or it is on a loopback, private or link-local address while the
    /// MCP server is not (a guard against server-side request forgery).
    ///
    /// ```
    /// use mcp_auth::{AuthError, Step};
    ///
    /// let err = AuthError::AddressRefused {
    ///     server: "docs".into(),
    ///     url: "http://169.254.169.254/token".into(),
    ///     reason: "it is on a loopback, private or link-local address, and the MCP server is not".into(),
    /// };
    /// assert_eq!(err.step(), Step::Discovery);
    /// assert!(err.to_string().starts_with("docs: refused to contact http://169.254.169.254/token"));
    /// ```
    #[error(
        "{server}: refused to contact {url}, which the server's OAuth metadata led to: {reason}; \
         a server may not send the client to internal addresses (check the server's protected \
         resource and authorization server metadata)"
    )]
    AddressRefused {
        /// The server's name.
        server: String,
        /// The URL refused (redacted).
        url: String,
        /// Why.
        reason: String,
    },
    /// The identity provider refused to exchange the user's ID token for an ID-JAG (the
    /// cross-app access grant, SEP-990): the ID token expired or is not for this client.
    ///
    /// ```
    /// use mcp_auth::AuthError;
    ///
    /// let err = AuthError::IdpRejected { server: "wiki".into(), error: "invalid_grant".into() };
    /// assert!(err.to_string().starts_with(
    ///     "wiki: the identity provider refused to exchange the user's ID token for an ID-JAG"
    /// ));
    /// ```
    #[error(
        "{server}: the identity provider refused to exchange the user's ID token for an ID-JAG \
         ({error}); sign in to the identity provider again for a fresh ID token, and check \
         `idp_client_id` in the server's `auth`"
    )]
    IdpRejected {
        /// The server's name.
        server: String,
        /// The OAuth `error` and its description, as the identity provider gave them (redacted).
        error: String,
    },
    /// The client's private key cannot sign its assertions: unreadable, not PKCS#8 PEM, or not
    /// a key of the signing algorithm.
    #[error(
        "{server}: the private key from {from} cannot sign {alg} client assertions: {reason}; \
         give a PKCS#8 PEM key (`-----BEGIN PRIVATE KEY-----`) of that algorithm"
    )]
    ClientKey {
        /// The server's name.
        server: String,
        /// Where the key was read: `variable NAME`, `file PATH` or `the config`.
        from: String,
        /// The signing algorithm, such as `ES256`.
        alg: &'static str,
        /// Why it cannot sign (never the key).
        reason: String,
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
            AuthError::ClientRejected { .. }
            | AuthError::ClientKey { .. }
            | AuthError::IdpRejected { .. } => Step::Token,
            AuthError::AddressRefused { .. } => Step::Discovery,
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
            | AuthError::ClientRejected { server, .. }
            | AuthError::ClientKey { server, .. }
            | AuthError::IdpRejected { server, .. }
            | AuthError::AddressRefused { server, .. }
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
