//! Secret values ([`Secret`], [`Token`]) whose `Debug` prints `***`, and [`SecretSource`], where
//! secrets named by a config (such as `client_secret_env`) are read.

use std::fmt;

use mcp_config::SecretRef;
use serde::{Deserialize, Serialize};

/// A secret string, such as a client secret. `Debug` prints `***`; there is no `Display`.
///
/// ```
/// use mcp_auth::Secret;
///
/// let secret = Secret::new("s3cret");
/// assert_eq!(format!("{secret:?}"), "***");
/// assert_eq!(secret.expose(), "s3cret");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, to send where it belongs. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(mcp_config::redact::MASK)
    }
}

/// An OAuth access token, to send as `Authorization: Bearer …`. `Debug` prints `***`.
///
/// Two tokens compare equal when they are the same string, which is how
/// [`Authorizer::unauthorized`](crate::Authorizer::unauthorized) tells whether the token was
/// replaced while a request was in flight.
///
/// ```
/// use mcp_auth::Token;
///
/// let token = Token::new("eyJ...");
/// assert_eq!(format!("{token:?}"), "Token(***)");
/// assert_eq!(token.header_value(), "Bearer eyJ...");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Secret);

impl Token {
    /// Wraps an access token.
    pub fn new(value: impl Into<String>) -> Self {
        Token(Secret::new(value))
    }

    /// The token itself. Never log it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// `Bearer <token>`, the value of an `Authorization` header. Mark the header sensitive.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.expose())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", mcp_config::redact::MASK)
    }
}

/// Where secrets named by a config come from. The default, [`ProcessEnv`], reads the process
/// environment; tests and embedders supply their own, so no one needs `set_var`.
///
/// ```
/// use mcp_auth::SecretSource;
///
/// #[derive(Debug)]
/// struct Fixed;
/// impl SecretSource for Fixed {
///     fn var(&self, name: &str) -> Option<String> {
///         (name == "APP_SECRET").then(|| "s3cret".to_owned())
///     }
/// }
/// assert_eq!(Fixed.var("APP_SECRET").as_deref(), Some("s3cret"));
/// ```
pub trait SecretSource: Send + Sync + fmt::Debug {
    /// The value of the variable `name`, if set (and valid UTF-8).
    fn var(&self, name: &str) -> Option<String>;
}

/// [`SecretSource`] over the process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl SecretSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// The secret `reference` names: read from `source` for [`SecretRef::Env`], from the file for
/// [`SecretRef::File`] (a blocking read: call it off the runtime's threads). `Err` says why, to
/// follow "the client secret " or the like: `variable NAME is not set`, `file PATH cannot be
/// read: …`; it never holds the secret.
pub(crate) fn resolve(reference: &SecretRef, source: &dyn SecretSource) -> Result<Secret, String> {
    match reference {
        SecretRef::Env(name) => {
            source.var(name).map(Secret::new).ok_or_else(|| format!("variable {name} is not set"))
        }
        SecretRef::Value(value) => Ok(Secret::new(value.clone())),
        SecretRef::File(path) => std::fs::read_to_string(path)
            .map(Secret::new)
            .map_err(|err| format!("file {} cannot be read: {err}", path.display())),
        // SecretRef is non_exhaustive: a new kind must be taught here before it can be used.
        _ => Err("is of an unsupported kind of secret reference".to_owned()),
    }
}
