//! How a remote server is authorized: [`AuthConfig`] (none, a bearer token read from an
//! environment variable, or OAuth), [`OAuthConfig`] and [`SecretRef`].
//!
//! Configurations hold variable *names*, never tokens: mcp-session reads the variable when it
//! opens a session. The one exception is an OAuth client secret written in the file itself, as
//! Cursor's files may hold one ([`SecretRef::Value`]), which `Debug` shows as `***`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap as _, Serializer};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::ConfigError;

/// How a remote (legacy SSE or streamable HTTP) server is authorized.
///
/// - [`None`](Self::None), the default: nothing beyond the configured `headers`.
/// - [`Bearer`](Self::Bearer): `Authorization: Bearer <token>` on every request, the token read
///   from the environment variable `token_env` each time a session opens.
/// - [`OAuth`](Self::OAuth): OAuth 2.1 as the MCP authorization spec describes it, run by
///   mcp-session through mcp-auth (discovery, registration, PKCE, refresh, step-up).
///
/// In files, `"auth": {"type": "bearer", "token_env": "GITHUB_TOKEN"}`, `"auth": "oauth"` or
/// `"auth": {"type": "oauth", "client_id": "…", "scopes": ["read"]}` (see
/// docs/configuration.md, "Authorization").
///
/// ```
/// use mcp_config::{AuthConfig, StreamableHttpConfig};
///
/// let github = StreamableHttpConfig::new("github", "https://api.githubcopilot.com/mcp/")?
///     .auth(AuthConfig::bearer("GITHUB_TOKEN"));
/// assert_eq!(github.auth.token_env(), Some("GITHUB_TOKEN"));
/// // The variable's name is no secret: Debug shows it.
/// assert!(format!("{github:?}").contains(r#"auth: Bearer { token_env: "GITHUB_TOKEN" }"#));
/// assert_eq!(AuthConfig::default(), AuthConfig::None);
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthConfig {
    /// No authorization beyond the configured headers.
    #[default]
    None,
    /// A bearer token read from an environment variable when a session opens.
    Bearer {
        /// The name of the environment variable that holds the token (not the token).
        token_env: String,
    },
    /// OAuth 2.1: mcp-session gets tokens through mcp-auth (discovery, registration, PKCE,
    /// refresh, step-up) and keeps them in its token store.
    ///
    /// Boxed: the settings are several times the size of the other variants, and a config of
    /// many servers holds one `AuthConfig` per remote server.
    OAuth(Box<OAuthConfig>),
}

impl AuthConfig {
    /// A bearer token read from the environment variable `token_env` when a session opens.
    ///
    /// ```
    /// use mcp_config::AuthConfig;
    ///
    /// let auth = AuthConfig::bearer("DOCS_TOKEN");
    /// assert_eq!(auth, AuthConfig::Bearer { token_env: "DOCS_TOKEN".into() });
    /// ```
    pub fn bearer(token_env: impl Into<String>) -> Self {
        AuthConfig::Bearer { token_env: token_env.into() }
    }

    /// OAuth with `config`.
    ///
    /// ```
    /// use mcp_config::{AuthConfig, OAuthConfig};
    ///
    /// let auth = AuthConfig::oauth(OAuthConfig::default().client_id("my-app"));
    /// assert_eq!(auth.kind(), "oauth");
    /// ```
    pub fn oauth(config: OAuthConfig) -> Self {
        AuthConfig::OAuth(Box::new(config))
    }

    /// The name files give this kind: `none`, `bearer` or `oauth`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthConfig::None => "none",
            AuthConfig::Bearer { .. } => "bearer",
            AuthConfig::OAuth(_) => "oauth",
        }
    }

    /// Whether this is [`AuthConfig::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, AuthConfig::None)
    }

    /// The environment variable a bearer token is read from, for [`AuthConfig::Bearer`].
    pub fn token_env(&self) -> Option<&str> {
        match self {
            AuthConfig::Bearer { token_env } => Some(token_env),
            _ => None,
        }
    }

    /// A copy with a client secret written in the config replaced by `***`.
    pub(crate) fn redacted(&self) -> AuthConfig {
        match self {
            AuthConfig::OAuth(oauth) => {
                let mut oauth = oauth.clone();
                if let Some(SecretRef::Value(value)) = &mut oauth.client_secret {
                    *value = crate::redact::MASK.to_owned();
                }
                AuthConfig::OAuth(oauth)
            }
            other => other.clone(),
        }
    }
}

/// The settings of [`AuthConfig::OAuth`]. Every field is optional: by default the client
/// registers itself with the authorization server and asks for the scopes the server names.
///
/// ```
/// use mcp_config::{OAuthConfig, SecretRef};
///
/// let oauth = OAuthConfig::default()
///     .client_id("my-app")
///     .client_secret(SecretRef::env("MY_APP_SECRET"))
///     .scopes(["read", "write"])
///     .redirect_port(8976)
///     .client_metadata_url("https://app.example.com/oauth/client.json")?;
/// assert_eq!(oauth.scopes, ["read", "write"]);
/// assert_eq!(oauth.redirect_port, Some(8976));
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OAuthConfig {
    /// A client ID registered with the authorization server beforehand. Unset: the client uses
    /// its metadata document (`client_metadata_url`) or registers itself.
    pub client_id: Option<String>,
    /// The client secret of `client_id`, if the client has one: an environment variable's name
    /// (`client_secret_env` in files) or the secret itself, written in the file (Cursor's
    /// `CLIENT_SECRET`), which the loader warns about.
    pub client_secret: Option<SecretRef>,
    /// The scopes to ask for. Empty: the ones the server's challenge or metadata names, or none.
    pub scopes: Vec<String>,
    /// The loopback port of the redirect (`http://127.0.0.1:PORT/callback`). Unset: any free
    /// port. The file loader refuses 0.
    pub redirect_port: Option<u16>,
    /// The `https` URL of this client's metadata document (a client ID metadata document), used
    /// as its client ID where the authorization server supports it.
    pub client_metadata_url: Option<Url>,
}

impl OAuthConfig {
    /// Sets the pre-registered client ID.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets where the client secret comes from.
    #[must_use]
    pub fn client_secret(mut self, secret: SecretRef) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Sets the scopes to ask for.
    #[must_use]
    pub fn scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the loopback port of the redirect.
    #[must_use]
    pub fn redirect_port(mut self, port: u16) -> Self {
        self.redirect_port = Some(port);
        self
    }

    /// Sets the URL of the client ID metadata document.
    ///
    /// # Errors
    /// [`ConfigError::InvalidClientMetadataUrl`] when `url` does not parse, is not `https`, or
    /// has no path (the document's own URL is the client ID).
    ///
    /// ```
    /// use mcp_config::{ConfigError, OAuthConfig};
    ///
    /// let err = OAuthConfig::default().client_metadata_url("https://app.example.com/");
    /// assert!(matches!(err, Err(ConfigError::InvalidClientMetadataUrl { .. })));
    /// ```
    pub fn client_metadata_url(mut self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        self.client_metadata_url = Some(parse_metadata_url(url.as_ref())?);
        Ok(self)
    }
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scopes", &self.scopes)
            .field("redirect_port", &self.redirect_port)
            .field("client_metadata_url", &self.client_metadata_url.as_ref().map(Url::as_str))
            .finish()
    }
}

/// Where a secret comes from: an environment variable, read when it is needed, or (written in
/// the config file, as Cursor's files do) the secret itself.
///
/// `Debug` shows a variable's name and hides a value:
///
/// ```
/// use mcp_config::SecretRef;
///
/// assert_eq!(format!("{:?}", SecretRef::env("APP_SECRET")), r#"Env("APP_SECRET")"#);
/// assert_eq!(format!("{:?}", SecretRef::Value("s3cret".into())), r#"Value("***")"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretRef {
    /// The name of the environment variable that holds the secret.
    Env(String),
    /// The secret itself, as a config file wrote it (Cursor's `CLIENT_SECRET`, or
    /// `client_secret`); the loader warns about it.
    Value(String),
}

impl SecretRef {
    /// The secret held by the environment variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        SecretRef::Env(name.into())
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretRef::Value(_) => f.debug_tuple("Value").field(&crate::redact::MASK).finish(),
        }
    }
}

/// Whether `name` can name an environment variable in a config: a letter or `_`, then
/// letters, digits or `_` (the names `${VAR}` takes).
pub(crate) fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses the URL of a client ID metadata document: `https`, with a path.
pub(crate) fn parse_metadata_url(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidClientMetadataUrl {
        url: crate::redact::redact_url_text(text),
        reason,
    };
    let url = Url::parse(text.trim()).map_err(|err| invalid(err.to_string()))?;
    if url.scheme() != "https" {
        let scheme = url.scheme();
        return Err(invalid(format!("the scheme is `{scheme}`, but it must be `https`")));
    }
    if url.path() == "/" {
        return Err(invalid(
            "it has no path, but the document's own URL is the client ID, so it needs one"
                .to_owned(),
        ));
    }
    Ok(url)
}

/// The keys of `auth` in files, and the kind each belongs to.
pub(crate) const AUTH_KEYS: &[(&str, &str)] = &[
    ("type", ""),
    ("token_env", "bearer"),
    ("client_id", "oauth"),
    ("client_secret_env", "oauth"),
    ("client_secret", "oauth"),
    ("scopes", "oauth"),
    ("redirect_port", "oauth"),
    ("client_metadata_url", "oauth"),
];

/// The serde form of an `auth` object (the string forms are read by [`AuthConfig`]'s visitor).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum AuthObject {
    None {},
    Bearer {
        token_env: String,
    },
    #[serde(rename = "oauth")]
    OAuth {
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        client_secret_env: Option<String>,
        #[serde(default)]
        client_secret: Option<String>,
        #[serde(default)]
        scopes: Vec<String>,
        #[serde(default)]
        redirect_port: Option<u16>,
        #[serde(default)]
        client_metadata_url: Option<String>,
    },
}

impl Serialize for AuthConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AuthConfig::None => serializer.serialize_str("none"),
            AuthConfig::Bearer { token_env } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "bearer")?;
                map.serialize_entry("token_env", token_env)?;
                map.end()
            }
            AuthConfig::OAuth(oauth) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("type", "oauth")?;
                if let Some(client_id) = &oauth.client_id {
                    map.serialize_entry("client_id", client_id)?;
                }
                match &oauth.client_secret {
                    Some(SecretRef::Env(name)) => map.serialize_entry("client_secret_env", name)?,
                    Some(SecretRef::Value(value)) => map.serialize_entry("client_secret", value)?,
                    None => {}
                }
                if !oauth.scopes.is_empty() {
                    map.serialize_entry("scopes", &oauth.scopes)?;
                }
                if let Some(port) = oauth.redirect_port {
                    map.serialize_entry("redirect_port", &port)?;
                }
                if let Some(url) = &oauth.client_metadata_url {
                    map.serialize_entry("client_metadata_url", url.as_str())?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for AuthConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AuthVisitor)
    }
}

struct AuthVisitor;

impl<'de> Visitor<'de> for AuthVisitor {
    type Value = AuthConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "\"none\", \"oauth\", or an object with `type` (none, bearer or oauth), such as \
             {\"type\": \"bearer\", \"token_env\": \"GITHUB_TOKEN\"}",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<AuthConfig, E> {
        auth_word(text).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AuthConfig, A::Error> {
        use de::Error as _;
        let object = AuthObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(match object {
            AuthObject::None {} => AuthConfig::None,
            AuthObject::Bearer { token_env } => {
                if !is_var_name(&token_env) {
                    return Err(A::Error::custom(bad_token_env("auth.token_env")));
                }
                AuthConfig::Bearer { token_env }
            }
            AuthObject::OAuth {
                client_id,
                client_secret_env,
                client_secret,
                scopes,
                redirect_port,
                client_metadata_url,
            } => {
                let client_secret = match (client_secret_env, client_secret) {
                    (Some(_), Some(_)) => {
                        return Err(A::Error::custom(
                            "`auth` has both `client_secret_env` and `client_secret`; keep one \
                             (`client_secret_env`, the name of the variable that holds it)",
                        ));
                    }
                    (Some(name), None) => Some(SecretRef::Env(name)),
                    (None, Some(value)) => Some(SecretRef::Value(value)),
                    (None, None) => None,
                };
                if client_secret.is_some() && client_id.is_none() {
                    return Err(A::Error::custom(secret_without_client_id("auth")));
                }
                if redirect_port == Some(0) {
                    return Err(A::Error::custom(redirect_port_zero("auth.redirect_port")));
                }
                let client_metadata_url = client_metadata_url
                    .map(|url| parse_metadata_url(&url))
                    .transpose()
                    .map_err(A::Error::custom)?;
                AuthConfig::oauth(OAuthConfig {
                    client_id,
                    client_secret,
                    scopes,
                    redirect_port,
                    client_metadata_url,
                })
            }
        })
    }
}

/// The string forms of `auth`: `none` and `oauth`.
pub(crate) fn auth_word(text: &str) -> Result<AuthConfig, String> {
    match text {
        "none" => Ok(AuthConfig::None),
        "oauth" => Ok(AuthConfig::oauth(OAuthConfig::default())),
        "bearer" => Err("`auth: \"bearer\"` needs the variable that holds the token: write \
                         {\"type\": \"bearer\", \"token_env\": \"VAR\"}"
            .to_owned()),
        other => Err(format!(
            "unknown `auth` {other:?}: use \"none\", \"oauth\", or {{\"type\": \"bearer\", \
             \"token_env\": \"VAR\"}}"
        )),
    }
}

/// What a `token_env` (or `client_secret_env`) that is no variable name is told. The value is
/// not quoted: it may be the token itself, written in the wrong place.
pub(crate) fn bad_token_env(key: &str) -> String {
    format!(
        "`{key}` is not an environment variable name: write the NAME of the variable that holds \
         the secret (letters, digits and `_`, not starting with a digit), such as GITHUB_TOKEN, \
         not the secret itself nor `${{VAR}}`"
    )
}

/// What a client secret without a client ID is told; `table` is how the message names the
/// table it is in (`auth`, `oauth`).
pub(crate) fn secret_without_client_id(table: &str) -> String {
    format!(
        "`{table}` has a client secret but no client ID: a secret belongs to a client registered \
         beforehand; add its `client_id`, or remove the secret"
    )
}

/// What a redirect port of 0 is told; `key` is how the message names it.
pub(crate) fn redirect_port_zero(key: &str) -> String {
    format!(
        "`{key}` is 0: give the loopback port the redirect URI was registered with (1 to \
         65535), or leave it out for any free port"
    )
}

impl JsonSchema for AuthConfig {
    fn schema_name() -> Cow<'static, str> {
        "Auth".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        const VAR_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
        json_schema!({
            "description": "How the server is authorized. Default \"none\". `bearer`: `Authorization: Bearer <token>` on every request, the token read from the environment variable `token_env` when a session opens. `oauth`: OAuth 2.1 as the MCP authorization spec describes it: discovery, registration, authorization code with PKCE, refresh. See docs/configuration.md, \"Authorization\".",
            "oneOf": [
                {
                    "description": "\"none\": no authorization beyond `headers`; \"oauth\": OAuth with every setting left to discovery.",
                    "type": "string",
                    "enum": ["none", "oauth"]
                },
                {
                    "description": "No authorization beyond `headers`.",
                    "type": "object",
                    "properties": { "type": { "const": "none" } },
                    "required": ["type"],
                    "additionalProperties": false
                },
                {
                    "description": "A bearer token read from an environment variable when a session opens.",
                    "type": "object",
                    "properties": {
                        "type": { "const": "bearer" },
                        "token_env": {
                            "description": "The name of the environment variable that holds the token (not the token).",
                            "type": "string",
                            "pattern": VAR_NAME
                        }
                    },
                    "required": ["type", "token_env"],
                    "additionalProperties": false
                },
                {
                    "description": "OAuth 2.1, as the MCP authorization spec describes it.",
                    "type": "object",
                    "properties": {
                        "type": { "const": "oauth" },
                        "client_id": {
                            "description": "A client ID registered with the authorization server beforehand.",
                            "type": "string"
                        },
                        "client_secret_env": {
                            "description": "The name of the environment variable that holds the client secret of `client_id`.",
                            "type": "string",
                            "pattern": VAR_NAME
                        },
                        "client_secret": {
                            "description": "The client secret itself (discouraged: prefer `client_secret_env`); written for configurations imported with a literal secret.",
                            "type": "string"
                        },
                        "scopes": {
                            "description": "The scopes to ask for. Default: those the server names.",
                            "type": "array",
                            "items": { "type": "string" }
                        },
                        "redirect_port": {
                            "description": "The loopback port of the redirect URI. Default: any free port.",
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 65535
                        },
                        "client_metadata_url": {
                            "description": "The https URL of this client's metadata document (a client ID metadata document).",
                            "type": "string",
                            "format": "uri",
                            "pattern": "^https://"
                        }
                    },
                    "required": ["type"],
                    "dependentRequired": {
                        "client_secret_env": ["client_id"],
                        "client_secret": ["client_id"]
                    },
                    "not": { "required": ["client_secret_env", "client_secret"] },
                    "additionalProperties": false
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        for name in ["GITHUB_TOKEN", "_x", "a1"] {
            assert!(is_var_name(name), "{name}");
        }
        for name in ["", "1A", "GH TOKEN", "${GH}", "Bearer abc", "a-b"] {
            assert!(!is_var_name(name), "{name}");
        }
    }

    #[test]
    fn metadata_urls_are_https_with_a_path() {
        assert!(parse_metadata_url("https://app.example.com/client.json").is_ok());
        assert!(parse_metadata_url("https://app.example.com/").is_err());
        assert!(parse_metadata_url("http://app.example.com/client.json").is_err());
        assert!(parse_metadata_url("not a url").is_err());
    }
}
