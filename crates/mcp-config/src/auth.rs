//! How a remote server is authorized: [`AuthConfig`] (none, a bearer token read from an
//! environment variable, or OAuth), [`OAuthConfig`] and [`SecretRef`].
//!
//! Configurations hold variable *names*, never tokens: mcp-session reads the variable when it
//! opens a session. The one exception is an OAuth client secret written in the file itself, as
//! Cursor's files may hold one ([`SecretRef::Value`]), which `Debug` shows as `***`.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

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
                let idp = oauth.idp.as_mut();
                let (idp_secret, id_token) = match idp {
                    Some(idp) => (&mut idp.client_secret, Some(&mut idp.id_token)),
                    None => (&mut None, None),
                };
                if let Some(SecretRef::Value(value)) = id_token {
                    *value = crate::redact::MASK.to_owned();
                }
                if let Some(SecretRef::Value(value)) = idp_secret {
                    *value = crate::redact::MASK.to_owned();
                }
                for secret in [&mut oauth.client_secret, &mut oauth.private_key] {
                    if let Some(SecretRef::Value(value)) = secret {
                        *value = crate::redact::MASK.to_owned();
                    }
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
    /// The grant that gets tokens: the authorization code with PKCE (the default: a person
    /// approves in a browser), or client credentials (SEP-1046: the client authenticates as
    /// itself, no person, no redirect; needs `client_id` and a `client_secret` or a
    /// `private_key`).
    pub grant: OAuthGrant,
    /// The PKCS#8 PEM private key that signs the client's JWT assertions (`private_key_jwt`,
    /// RFC 7523) under the client credentials grant: a variable that holds the PEM
    /// (`private_key_env` in files) or a file (`private_key_file`). Unset: the client
    /// authenticates with its `client_secret`.
    pub private_key: Option<SecretRef>,
    /// The algorithm of those assertions (`signing_alg` in files; only ES256 for now).
    pub signing_alg: SigningAlg,
    /// The enterprise identity provider of the cross-app access grant (SEP-990): where the
    /// user's ID token is exchanged for an ID-JAG. Set with that grant only.
    pub idp: Option<IdpConfig>,
}

/// The identity provider of [`OAuthGrant::CrossAppAccess`] (SEP-990): the user signed in to it
/// (SSO) and holds its ID token; its token endpoint exchanges that ID token (RFC 8693) for an
/// identity assertion authorization grant (ID-JAG) for the MCP server's authorization server.
///
/// In files these are flat keys of `auth`: `idp_token_endpoint`, `idp_client_id`,
/// `idp_client_secret_env`, and `id_token_env` or `id_token_file`.
///
/// ```
/// use mcp_config::{IdpConfig, OAuthConfig, OAuthGrant, SecretRef};
///
/// let idp = IdpConfig::new("https://idp.example.com/oauth2/token", "agent-at-idp", SecretRef::env("ID_TOKEN"))?;
/// let oauth = OAuthConfig::default()
///     .client_id("agent")
///     .client_secret(SecretRef::env("AGENT_SECRET"))
///     .grant(OAuthGrant::CrossAppAccess)
///     .idp(idp);
/// assert!(format!("{oauth:?}").contains(r#"id_token: Env("ID_TOKEN")"#));
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct IdpConfig {
    /// The identity provider's token endpoint (`idp_token_endpoint`).
    pub token_endpoint: Url,
    /// This client's id at the identity provider (`idp_client_id`).
    pub client_id: String,
    /// This client's secret at the identity provider, if it has one (`idp_client_secret_env`).
    pub client_secret: Option<SecretRef>,
    /// Where the user's ID token is read, each time one is exchanged (`id_token_env` or
    /// `id_token_file`): it expires, and whatever signs the user in replaces it.
    pub id_token: SecretRef,
}

impl fmt::Debug for IdpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpConfig")
            .field("token_endpoint", &crate::redact::redact_url(&self.token_endpoint).as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("id_token", &self.id_token)
            .finish()
    }
}

impl IdpConfig {
    /// The identity provider at `token_endpoint`, where this client is `client_id`, the ID
    /// token read from `id_token`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidIdpTokenEndpoint`] when `token_endpoint` is not an http(s) URL.
    pub fn new(
        token_endpoint: impl AsRef<str>,
        client_id: impl Into<String>,
        id_token: SecretRef,
    ) -> Result<IdpConfig, ConfigError> {
        Ok(IdpConfig {
            token_endpoint: parse_idp_token_endpoint(token_endpoint.as_ref())?,
            client_id: client_id.into(),
            client_secret: None,
            id_token,
        })
    }

    /// Sets this client's secret at the identity provider.
    #[must_use]
    pub fn client_secret(mut self, secret: SecretRef) -> Self {
        self.client_secret = Some(secret);
        self
    }
}

/// Parses an identity provider's token endpoint: an `http` or `https` URL.
pub(crate) fn parse_idp_token_endpoint(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidIdpTokenEndpoint {
        url: crate::redact::redact_url_text(text),
        reason,
    };
    let url = Url::parse(text.trim()).map_err(|err| invalid(err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        let scheme = url.scheme();
        return Err(invalid(format!(
            "the scheme is `{scheme}`, but it must be `https` (or `http`)"
        )));
    }
    Ok(url)
}

/// The OAuth grant of an [`OAuthConfig`] (`grant` in files).
///
/// ```
/// use mcp_config::{OAuthConfig, OAuthGrant, SecretRef};
///
/// let machine = OAuthConfig::default()
///     .client_id("reporting-bot")
///     .client_secret(SecretRef::env("REPORTING_BOT_SECRET"))
///     .grant(OAuthGrant::ClientCredentials);
/// assert_eq!(machine.grant.as_str(), "client_credentials");
/// assert_eq!(OAuthGrant::default(), OAuthGrant::AuthorizationCode);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthGrant {
    /// `authorization_code`: the authorization code grant with PKCE; a person approves (or a
    /// headless login follows the redirects of a server that approves at once).
    #[default]
    AuthorizationCode,
    /// `client_credentials` (SEP-1046): the client gets tokens for itself with its secret or a
    /// signed JWT assertion; no browser, no redirect, no refresh token.
    ClientCredentials,
    /// `cross_app_access` (SEP-990, enterprise-managed authorization): the user's ID token from
    /// the enterprise identity provider ([`IdpConfig`]) is exchanged there (RFC 8693) for an
    /// ID-JAG, which the MCP server's authorization server takes as a JWT bearer grant
    /// (RFC 7523); no browser, no redirect.
    CrossAppAccess,
}

impl OAuthGrant {
    /// The name files give it: `authorization_code` or `client_credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthGrant::AuthorizationCode => "authorization_code",
            OAuthGrant::ClientCredentials => "client_credentials",
            OAuthGrant::CrossAppAccess => "cross_app_access",
        }
    }

    /// The grant a file's name stands for.
    pub(crate) fn parse(name: &str) -> Result<OAuthGrant, String> {
        match name {
            "authorization_code" => Ok(OAuthGrant::AuthorizationCode),
            "client_credentials" => Ok(OAuthGrant::ClientCredentials),
            "cross_app_access" => Ok(OAuthGrant::CrossAppAccess),
            other => Err(format!(
                "unknown `auth.grant` {other:?}: use \"authorization_code\" (the default), \
                 \"client_credentials\" or \"cross_app_access\""
            )),
        }
    }
}

/// The signing algorithm of `private_key_jwt` client assertions (`signing_alg` in files).
///
/// ```
/// use mcp_config::SigningAlg;
///
/// assert_eq!(SigningAlg::default().as_str(), "ES256");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlg {
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4): the key is a P-256 key in PKCS#8.
    #[default]
    Es256,
}

impl SigningAlg {
    /// The JOSE name, such as `ES256`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
        }
    }

    /// The algorithm a file's name stands for.
    pub(crate) fn parse(name: &str) -> Result<SigningAlg, String> {
        match name {
            "ES256" => Ok(SigningAlg::Es256),
            other => Err(format!(
                "unsupported `auth.signing_alg` {other:?}: only \"ES256\" (a P-256 key in PKCS#8 \
                 PEM) is supported"
            )),
        }
    }
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

    /// Sets the grant.
    #[must_use]
    pub fn grant(mut self, grant: OAuthGrant) -> Self {
        self.grant = grant;
        self
    }

    /// Sets where the private key of `private_key_jwt` client authentication comes from (a
    /// PKCS#8 PEM P-256 key for ES256).
    ///
    /// ```
    /// use mcp_config::{OAuthConfig, OAuthGrant, SecretRef};
    ///
    /// let oauth = OAuthConfig::default()
    ///     .client_id("reporting-bot")
    ///     .grant(OAuthGrant::ClientCredentials)
    ///     .private_key(SecretRef::file("/etc/bot/key.pem"));
    /// assert!(format!("{oauth:?}").contains(r#"private_key: Some(File("/etc/bot/key.pem"))"#));
    /// ```
    #[must_use]
    pub fn private_key(mut self, key: SecretRef) -> Self {
        self.private_key = Some(key);
        self
    }

    /// Sets the signing algorithm of `private_key_jwt` assertions.
    #[must_use]
    pub fn signing_alg(mut self, alg: SigningAlg) -> Self {
        self.signing_alg = alg;
        self
    }

    /// Sets the identity provider of the cross-app access grant.
    #[must_use]
    pub fn idp(mut self, idp: IdpConfig) -> Self {
        self.idp = Some(idp);
        self
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
            .field("grant", &self.grant)
            .field("private_key", &self.private_key)
            .field("signing_alg", &self.signing_alg)
            .field("idp", &self.idp)
            .finish()
    }
}

/// Where a secret comes from: an environment variable, read when it is needed, or (written in
/// the config file, as Cursor's files do) the secret itself.
///
/// `Debug` shows a variable's name and a file's path, and hides a value:
///
/// ```
/// use mcp_config::SecretRef;
///
/// assert_eq!(format!("{:?}", SecretRef::env("APP_SECRET")), r#"Env("APP_SECRET")"#);
/// assert_eq!(format!("{:?}", SecretRef::file("key.pem")), r#"File("key.pem")"#);
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
    /// A file that holds the secret (`private_key_file`), read when it is needed. A relative
    /// path in a config file is taken from that file's folder.
    File(PathBuf),
}

impl SecretRef {
    /// The secret held by the environment variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        SecretRef::Env(name.into())
    }

    /// The secret held by the file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SecretRef::File(path.into())
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretRef::Value(_) => f.debug_tuple("Value").field(&crate::redact::MASK).finish(),
            SecretRef::File(path) => f.debug_tuple("File").field(path).finish(),
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
    ("grant", "oauth"),
    ("private_key_env", "oauth"),
    ("private_key_file", "oauth"),
    ("signing_alg", "oauth"),
    ("idp_token_endpoint", "oauth"),
    ("idp_client_id", "oauth"),
    ("idp_client_secret_env", "oauth"),
    ("id_token_env", "oauth"),
    ("id_token_file", "oauth"),
];

/// The serde form of an `auth` object (the string forms are read by [`AuthConfig`]'s visitor).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
// Lives only while one `auth` is read: its size does not matter.
#[allow(clippy::large_enum_variant)]
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
        #[serde(default)]
        grant: Option<String>,
        #[serde(default)]
        private_key_env: Option<String>,
        #[serde(default)]
        private_key_file: Option<PathBuf>,
        #[serde(default)]
        signing_alg: Option<String>,
        #[serde(default)]
        idp_token_endpoint: Option<String>,
        #[serde(default)]
        idp_client_id: Option<String>,
        #[serde(default)]
        idp_client_secret_env: Option<String>,
        #[serde(default)]
        id_token_env: Option<String>,
        #[serde(default)]
        id_token_file: Option<PathBuf>,
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
                    Some(SecretRef::File(_)) => {
                        return Err(serde::ser::Error::custom(
                            "a client secret read from a file has no form in config files",
                        ));
                    }
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
                if oauth.grant != OAuthGrant::default() {
                    map.serialize_entry("grant", oauth.grant.as_str())?;
                }
                match &oauth.private_key {
                    Some(SecretRef::Env(name)) => map.serialize_entry("private_key_env", name)?,
                    Some(SecretRef::File(path)) => map.serialize_entry("private_key_file", path)?,
                    Some(SecretRef::Value(_)) => {
                        return Err(serde::ser::Error::custom(
                            "a private key held in the config has no form in config files: use \
                             `private_key_env` or `private_key_file`",
                        ));
                    }
                    None => {}
                }
                if oauth.signing_alg != SigningAlg::default() {
                    map.serialize_entry("signing_alg", oauth.signing_alg.as_str())?;
                }
                if let Some(idp) = &oauth.idp {
                    map.serialize_entry("idp_token_endpoint", idp.token_endpoint.as_str())?;
                    map.serialize_entry("idp_client_id", &idp.client_id)?;
                    match &idp.client_secret {
                        Some(SecretRef::Env(name)) => {
                            map.serialize_entry("idp_client_secret_env", name)?;
                        }
                        Some(_) => {
                            return Err(serde::ser::Error::custom(
                                "an identity provider client secret not held by a variable has \
                                 no form in config files: use `idp_client_secret_env`",
                            ));
                        }
                        None => {}
                    }
                    match &idp.id_token {
                        SecretRef::Env(name) => map.serialize_entry("id_token_env", name)?,
                        SecretRef::File(path) => map.serialize_entry("id_token_file", path)?,
                        _ => {
                            return Err(serde::ser::Error::custom(
                                "an ID token held in the config has no form in config files: \
                                 use `id_token_env` or `id_token_file`",
                            ));
                        }
                    }
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
                grant,
                private_key_env,
                private_key_file,
                signing_alg,
                idp_token_endpoint,
                idp_client_id,
                idp_client_secret_env,
                id_token_env,
                id_token_file,
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
                let grant = grant
                    .map(|g| OAuthGrant::parse(&g))
                    .transpose()
                    .map_err(A::Error::custom)?
                    .unwrap_or_default();
                let signing_alg = signing_alg
                    .map(|a| SigningAlg::parse(&a))
                    .transpose()
                    .map_err(A::Error::custom)?
                    .unwrap_or_default();
                let private_key = match (private_key_env, private_key_file) {
                    (Some(_), Some(_)) => {
                        return Err(A::Error::custom(both_private_keys("auth")));
                    }
                    (Some(name), None) => {
                        if !is_var_name(&name) {
                            return Err(A::Error::custom(bad_token_env("auth.private_key_env")));
                        }
                        Some(SecretRef::Env(name))
                    }
                    (None, Some(path)) => Some(SecretRef::File(path)),
                    (None, None) => None,
                };
                let id_token = match (id_token_env, id_token_file) {
                    (Some(_), Some(_)) => return Err(A::Error::custom(both_id_tokens("auth"))),
                    (Some(name), None) => {
                        if !is_var_name(&name) {
                            return Err(A::Error::custom(bad_token_env("auth.id_token_env")));
                        }
                        Some(SecretRef::Env(name))
                    }
                    (None, Some(path)) => Some(SecretRef::File(path)),
                    (None, None) => None,
                };
                if let Some(name) = &idp_client_secret_env
                    && !is_var_name(name)
                {
                    return Err(A::Error::custom(bad_token_env("auth.idp_client_secret_env")));
                }
                let idp_token_endpoint = idp_token_endpoint
                    .map(|url| parse_idp_token_endpoint(&url))
                    .transpose()
                    .map_err(A::Error::custom)?;
                let idp = idp_parts(
                    "auth",
                    grant,
                    idp_token_endpoint,
                    idp_client_id,
                    idp_client_secret_env.map(SecretRef::Env),
                    id_token,
                )
                .map_err(A::Error::custom)?;
                let config = OAuthConfig {
                    client_id,
                    client_secret,
                    scopes,
                    redirect_port,
                    client_metadata_url,
                    grant,
                    private_key,
                    signing_alg,
                    idp,
                };
                check_grant("auth", &config).map_err(A::Error::custom)?;
                AuthConfig::oauth(config)
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

/// What an `auth` with both `private_key_env` and `private_key_file` is told.
pub(crate) fn both_private_keys(table: &str) -> String {
    format!(
        "`{table}` has both `private_key_env` and `private_key_file`; keep one (the variable, \
         or the file, that holds the PKCS#8 PEM key)"
    )
}

/// Checks that the grant and the client authentication of `config` go together: the client
/// credentials grant needs `client_id` and one of a client secret or a private key; a private
/// key serves the client credentials grant only. `table` is how messages name the table.
pub(crate) fn check_grant(table: &str, config: &OAuthConfig) -> Result<(), String> {
    let grant = config.grant;
    match grant {
        OAuthGrant::ClientCredentials | OAuthGrant::CrossAppAccess => {
            let name = grant.as_str();
            if config.client_id.is_none() {
                return Err(format!(
                    "`{table}` asks for the {name} grant but has no `client_id`: \
                     add the client ID the authorization server registered for this client"
                ));
            }
            match (&config.client_secret, &config.private_key) {
                (Some(_), Some(_)) => Err(format!(
                    "`{table}` has both a client secret and a private key; keep one: \
                     `client_secret_env` (client_secret_basic or client_secret_post) or \
                     `private_key_env`/`private_key_file` (private_key_jwt)"
                )),
                (None, None) => Err(format!(
                    "`{table}` asks for the {name} grant but gives no way to \
                     authenticate: add `client_secret_env` (the variable holding the secret) or \
                     `private_key_env`/`private_key_file` (a PKCS#8 PEM key, for private_key_jwt)"
                )),
                _ => Ok(()),
            }
        }
        _ if config.private_key.is_some() => Err(format!(
            "`{table}` has a private key, which signs client assertions of the client_credentials \
             grant only: add \"grant\": \"client_credentials\", or remove the key"
        )),
        _ => Ok(()),
    }
}

/// What an `auth` with both `id_token_env` and `id_token_file` is told.
pub(crate) fn both_id_tokens(table: &str) -> String {
    format!(
        "`{table}` has both `id_token_env` and `id_token_file`; keep one (the variable, or the \
         file, that holds the user's ID token)"
    )
}

/// The identity provider of `grant` from its keys: all of them with the cross_app_access
/// grant (the client secret optional), none with another.
pub(crate) fn idp_parts(
    table: &str,
    grant: OAuthGrant,
    token_endpoint: Option<Url>,
    client_id: Option<String>,
    client_secret: Option<SecretRef>,
    id_token: Option<SecretRef>,
) -> Result<Option<IdpConfig>, String> {
    if grant != OAuthGrant::CrossAppAccess {
        if token_endpoint.is_some()
            || client_id.is_some()
            || client_secret.is_some()
            || id_token.is_some()
        {
            return Err(format!(
                "`{table}` names an identity provider (`idp_*`, `id_token_*`), which only the \
                 cross_app_access grant uses: add \"grant\": \"cross_app_access\", or remove them"
            ));
        }
        return Ok(None);
    }
    let mut missing = Vec::new();
    if token_endpoint.is_none() {
        missing.push("`idp_token_endpoint`");
    }
    if client_id.is_none() {
        missing.push("`idp_client_id`");
    }
    if id_token.is_none() {
        missing.push("`id_token_env` or `id_token_file`");
    }
    match (token_endpoint, client_id, id_token) {
        (Some(token_endpoint), Some(client_id), Some(id_token)) => {
            Ok(Some(IdpConfig { token_endpoint, client_id, client_secret, id_token }))
        }
        _ => Err(format!(
            "`{table}` asks for the cross_app_access grant but lacks {}: the identity provider's \
             token endpoint, this client's id there, and where the user's ID token is read",
            missing.join(", ")
        )),
    }
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
                        },
                        "grant": {
                            "description": "The grant that gets tokens. Default \"authorization_code\" (with PKCE; a person approves). \"client_credentials\" (SEP-1046): the client authenticates as itself, with `client_id` and a client secret or a private key; no browser, no redirect.",
                            "type": "string",
                            "enum": ["authorization_code", "client_credentials", "cross_app_access"]
                        },
                        "idp_token_endpoint": {
                            "description": "cross_app_access (SEP-990): the enterprise identity provider's token endpoint, where the user's ID token is exchanged (RFC 8693) for an ID-JAG.",
                            "type": "string",
                            "format": "uri",
                            "pattern": "^https?://"
                        },
                        "idp_client_id": {
                            "description": "cross_app_access: this client's id at the identity provider.",
                            "type": "string"
                        },
                        "idp_client_secret_env": {
                            "description": "cross_app_access: the name of the environment variable that holds this client's secret at the identity provider, if it has one.",
                            "type": "string",
                            "pattern": VAR_NAME
                        },
                        "id_token_env": {
                            "description": "cross_app_access: the name of the environment variable that holds the user's ID token from the identity provider.",
                            "type": "string",
                            "pattern": VAR_NAME
                        },
                        "id_token_file": {
                            "description": "cross_app_access: a file holding the user's ID token, read each time one is exchanged. A relative path is taken from the config file's folder.",
                            "type": "string"
                        },
                        "private_key_env": {
                            "description": "The name of the environment variable that holds the PKCS#8 PEM private key signing the client's JWT assertions (private_key_jwt, RFC 7523); client_credentials grant only.",
                            "type": "string",
                            "pattern": VAR_NAME
                        },
                        "private_key_file": {
                            "description": "A file holding the PKCS#8 PEM private key signing the client's JWT assertions (private_key_jwt, RFC 7523); client_credentials grant only. A relative path is taken from the config file's folder.",
                            "type": "string"
                        },
                        "signing_alg": {
                            "description": "The algorithm of the client's JWT assertions. Default and only value: ES256 (a P-256 key).",
                            "type": "string",
                            "enum": ["ES256"]
                        }
                    },
                    "required": ["type"],
                    "dependentRequired": {
                        "client_secret_env": ["client_id"],
                        "client_secret": ["client_id"],
                        "private_key_env": ["client_id", "grant"],
                        "private_key_file": ["client_id", "grant"]
                    },
                    "allOf": [
                        { "not": { "required": ["client_secret_env", "client_secret"] } },
                        { "not": { "required": ["private_key_env", "private_key_file"] } },
                        { "not": { "required": ["id_token_env", "id_token_file"] } },
                        {
                            "if": {
                                "properties": { "grant": { "const": "cross_app_access" } },
                                "required": ["grant"]
                            },
                            "then": {
                                "required": ["client_id", "idp_token_endpoint", "idp_client_id"],
                                "anyOf": [
                                    { "required": ["id_token_env"] },
                                    { "required": ["id_token_file"] }
                                ]
                            },
                            "else": {
                                "not": {
                                    "anyOf": [
                                        { "required": ["idp_token_endpoint"] },
                                        { "required": ["idp_client_id"] },
                                        { "required": ["idp_client_secret_env"] },
                                        { "required": ["id_token_env"] },
                                        { "required": ["id_token_file"] }
                                    ]
                                }
                            }
                        },
                        {
                            "if": {
                                "properties": {
                                    "grant": { "enum": ["client_credentials", "cross_app_access"] }
                                },
                                "required": ["grant"]
                            },
                            "then": {
                                "required": ["client_id"],
                                "anyOf": [
                                    { "required": ["client_secret_env"] },
                                    { "required": ["client_secret"] },
                                    { "required": ["private_key_env"] },
                                    { "required": ["private_key_file"] }
                                ]
                            }
                        }
                    ],
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
