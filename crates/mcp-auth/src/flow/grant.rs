//! The grants that need no person, browser or redirect:
//!
//! - client credentials (SEP-1046, RFC 6749 §4.4): the client gets a token for itself;
//! - cross-app access (SEP-990): the user's ID token from the enterprise identity provider is
//!   exchanged there (RFC 8693 token exchange) for an identity assertion authorization grant
//!   (ID-JAG), which the authorization server takes as a JWT bearer grant (RFC 7523 §2.1).
//!
//! At the authorization server's token endpoint the client authenticates with its secret
//! (`client_secret_basic` or `client_secret_post`, as the authorization server lists them) or
//! with a JWT assertion signed by its private key (`private_key_jwt`, RFC 7523 §2.2).
//!
//! Discovery is the authorization code flow's (protected resource metadata, then the
//! authorization server's); the token lands in the same record, so [`Authorizer::bearer`] and
//! the refresh rules apply unchanged. Client credentials come without a refresh token: a token
//! that expires is replaced by running the grant again, at once when the metadata is known.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_config::{IdpConfig, OAuthGrant, SecretRef};
use rmcp::transport::auth::{
    AuthorizationManager, AuthorizationMetadata, CredentialStore as _, OAuthClientConfig,
    OAuthTokenResponse, StoredCredentials,
};
use url::Url;

use super::{Authorizer, Bridge, blocking};
use crate::error::{AuthError, Step};
use crate::http;
use crate::jwt::{self, SigningKey};
use crate::secret::{self, Secret, Token};
use crate::store::{StoredAuth, StoredClient};

/// The `grant_type` of a JWT bearer grant (RFC 7523 §2.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The `grant_type` of a token exchange (RFC 8693 §2.1).
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an ID token (RFC 8693 §3).
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The token type of an identity assertion authorization grant (SEP-990).
const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// The grant a stored client's `origin` names: `client_credentials` and `cross_app_access` for
/// the grants of this module, the authorization code for any other.
pub(super) fn stored_grant(origin: &str) -> OAuthGrant {
    match origin {
        "client_credentials" => OAuthGrant::ClientCredentials,
        "cross_app_access" => OAuthGrant::CrossAppAccess,
        _ => OAuthGrant::AuthorizationCode,
    }
}

/// How the client authenticates at the token endpoint.
enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic (RFC 6749 §2.3.1).
    Basic(Secret),
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post(Secret),
    /// `private_key_jwt`: a signed assertion (RFC 7523 §2.2).
    Jwt(Box<SigningKey>),
}

impl ClientAuth {
    fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic(_) => "client_secret_basic",
            ClientAuth::Post(_) => "client_secret_post",
            ClientAuth::Jwt(_) => "private_key_jwt",
        }
    }

    fn secret(&self) -> Option<&Secret> {
        match self {
            ClientAuth::Basic(secret) | ClientAuth::Post(secret) => Some(secret),
            ClientAuth::Jwt(_) => None,
        }
    }
}

/// The methods the metadata lists in `key`, if it lists any.
fn listed(metadata: &AuthorizationMetadata, key: &str) -> Option<Vec<String>> {
    metadata.additional_fields.get(key).and_then(serde_json::Value::as_array).map(|values| {
        values.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect()
    })
}

/// Whether a secret or a key may be sent to `endpoint` for the resource `resource`: over
/// `https`, or over `http` when both are on loopback (tests, local servers).
fn secure_endpoint(resource: &Url, endpoint: &Url) -> bool {
    let loopback = |url: &Url| match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    endpoint.scheme() == "https"
        || (endpoint.scheme() == "http" && loopback(resource) && loopback(endpoint))
}

/// RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they are joined.
fn basic_header(client_id: &str, secret: &Secret) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret.expose()));
    format!("Basic {}", STANDARD.encode(pair))
}

/// An OAuth error answer as one line: `error: description`, cut short, without control
/// characters (the server could send anything).
fn oauth_error(status: reqwest::StatusCode, body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let clean = |text: &str, max: usize| -> String {
        text.chars().filter(|c| !c.is_control()).take(max).collect()
    };
    match value.get("error").and_then(serde_json::Value::as_str) {
        Some(error) => {
            let mut line = clean(error, 64);
            if let Some(description) =
                value.get("error_description").and_then(serde_json::Value::as_str)
            {
                line.push_str(": ");
                line.push_str(&clean(description, 300));
            }
            line
        }
        None => format!("HTTP {status}"),
    }
}

impl Authorizer {
    /// Runs the configured grant that needs no person (client credentials or cross-app
    /// access), the state lock held. With `rediscover` false and a configured manager whose
    /// metadata is stored, that metadata is used again (a token that expired, a step-up);
    /// otherwise discovery runs first, seeded by `challenge`. `scopes`: those to ask for (a
    /// step-up), else the configured ones, else the ones discovery names (or, reusing the
    /// metadata, the ones granted before).
    pub(super) async fn machine_grant(
        &self,
        state: &mut Option<AuthorizationManager>,
        challenge: Option<&str>,
        scopes: Option<Vec<String>>,
        rediscover: bool,
    ) -> Result<Token, AuthError> {
        let server = self.server();
        let client_id = self.config.client_id.clone().ok_or_else(|| {
            AuthError::flow(
                server,
                Step::Registration,
                format!(
                    "the {} grant needs `client_id` in the server's `auth`",
                    self.config.grant.as_str()
                ),
            )
        })?;
        let record = self.lock_record().clone();
        let reuse =
            (!rediscover && state.is_some()).then(|| record.as_metadata.clone()).flatten().filter(
                |_| record.client.as_ref().is_some_and(|c| c.origin == self.config.grant.as_str()),
            );
        let (metadata, mut fresh) = match reuse {
            Some(metadata) => (metadata, None),
            None => {
                let mut manager = self.new_manager().await?;
                let metadata = self.discover(&manager, challenge).await?;
                manager.set_metadata(metadata.clone());
                (metadata, Some(manager))
            }
        };
        let auth = self.client_auth(&metadata).await?;
        let token_endpoint = Url::parse(&metadata.token_endpoint).map_err(|e| {
            AuthError::flow(server, Step::Discovery, format!("the token endpoint: {e}"))
        })?;
        self.policy.check(&token_endpoint).await.map_err(|r| self.refused(r))?;
        if !secure_endpoint(self.key.url(), &token_endpoint) {
            return Err(AuthError::flow(
                server,
                Step::Token,
                format!(
                    "the token endpoint {} is not https: the client's {} is not sent over plain \
                     HTTP (only between loopback addresses)",
                    mcp_config::redact::redact_url(&token_endpoint),
                    if matches!(auth, ClientAuth::Jwt(_)) { "assertion" } else { "secret" },
                ),
            ));
        }
        let (resource, scopes) = match fresh.as_mut() {
            Some(manager) => {
                let mut client = OAuthClientConfig::new(client_id.clone(), self.redirect_uri(None));
                if let Some(secret) = auth.secret() {
                    client = client.with_client_secret(secret.expose());
                }
                manager.configure_client(client).map_err(|e| self.rmcp(Step::Registration, &e))?;
                let resource = discovered_resource(manager, &metadata)
                    .await
                    .unwrap_or_else(|| self.key.url().to_string());
                let scopes = match scopes {
                    Some(scopes) => scopes,
                    None if !self.config.scopes.is_empty() => self.config.scopes.clone(),
                    None => manager.select_initial_scopes(&[]).await,
                };
                (resource, scopes)
            }
            None => {
                let resource =
                    record.resource.clone().unwrap_or_else(|| self.key.url().to_string());
                let scopes = match scopes {
                    Some(scopes) => scopes,
                    None if !self.config.scopes.is_empty() => self.config.scopes.clone(),
                    None => record.granted_scopes().to_vec(),
                };
                (resource, scopes)
            }
        };
        let audience = metadata.issuer.clone().unwrap_or_else(|| metadata.token_endpoint.clone());
        let scope = scopes.join(" ");
        let id_jag;
        let mut fields: Vec<(&str, &str)> = match (&self.config.grant, &self.config.idp) {
            (OAuthGrant::CrossAppAccess, Some(idp)) => {
                id_jag = self.id_jag(idp, &resource, &audience, &scope).await?;
                vec![("grant_type", JWT_BEARER), ("assertion", id_jag.expose())]
            }
            (OAuthGrant::CrossAppAccess, None) => {
                return Err(AuthError::flow(
                    server,
                    Step::Token,
                    "the cross_app_access grant needs the identity provider (`idp_token_endpoint`, \
                     `idp_client_id`, `id_token_env`) in the server's `auth`",
                ));
            }
            _ => vec![("grant_type", "client_credentials")],
        };
        if !scope.is_empty() {
            fields.push(("scope", &scope));
        }
        fields.push(("resource", &resource));
        let assertion;
        let mut authorization = None;
        match &auth {
            ClientAuth::Basic(secret) => authorization = Some(basic_header(&client_id, secret)),
            ClientAuth::Post(secret) => {
                fields.push(("client_id", &client_id));
                fields.push(("client_secret", secret.expose()));
            }
            ClientAuth::Jwt(key) => {
                assertion =
                    key.assertion(&client_id, &audience, SystemTime::now()).map_err(|e| {
                        AuthError::ClientKey {
                            server: server.to_owned(),
                            from: self.key_source(),
                            alg: self.config.signing_alg.as_str(),
                            reason: e.to_string(),
                        }
                    })?;
                // RFC 7523 §3: the assertion identifies the client; no client_id in the body.
                fields.push(("client_assertion_type", jwt::ASSERTION_TYPE));
                fields.push(("client_assertion", &assertion));
            }
        }
        let grant = self.config.grant.as_str();
        tracing::info!(server, grant, method = auth.method(), "OAuth: token request");
        let (status, body) = http::post_form(
            self.http.no_redirects(),
            &token_endpoint,
            &fields,
            authorization.as_deref(),
        )
        .await
        .map_err(|e| AuthError::flow(server, Step::Token, e))?;
        if !status.is_success() {
            let error = mcp_config::redact::redact_text(&oauth_error(status, &body));
            return Err(match status.as_u16() {
                400 | 401 | 403
                    if error.starts_with("invalid_client")
                        || error.starts_with("unauthorized_client")
                        || status == reqwest::StatusCode::UNAUTHORIZED =>
                {
                    AuthError::ClientRejected {
                        server: server.to_owned(),
                        client_id,
                        method: auth.method().to_owned(),
                        error,
                    }
                }
                _ => AuthError::flow(
                    server,
                    Step::Token,
                    format!("the token endpoint refused the {grant} grant: {error}"),
                ),
            });
        }
        let response: OAuthTokenResponse = serde_json::from_slice(&body).map_err(|e| {
            AuthError::flow(server, Step::Token, format!("not a token response: {e}"))
        })?;
        let granted = oauth2::TokenResponse::scopes(&response)
            .map_or(scopes, |granted| granted.iter().map(|scope| scope.to_string()).collect());
        let access = oauth2::TokenResponse::access_token(&response).secret().clone();
        let header = StoredAuth {
            resource: Some(resource),
            issuer: metadata.issuer.clone(),
            as_metadata: Some(metadata.clone()),
            client: Some(StoredClient {
                id: client_id.clone(),
                secret: auth.secret().cloned(),
                redirect_uri: self.redirect_uri(None),
                auth_method: auth.method().to_owned(),
                origin: grant.to_owned(),
            }),
            credentials: None,
            ..StoredAuth::new(&self.key)
        };
        *self.lock_record() = header;
        let received =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let credentials =
            StoredCredentials::new(client_id, Some(response), granted, Some(received))
                .with_issuer(metadata.issuer.clone());
        let bridge = Bridge {
            store: self.store.clone(),
            key: self.key.clone(),
            record: self.record.clone(),
        };
        bridge.save(credentials).await.map_err(|e| self.rmcp(Step::Storage, &e))?;
        if let Some(manager) = fresh {
            *state = Some(manager);
        }
        tracing::debug!(server, grant, "OAuth: token received");
        Ok(Token::new(access))
    }

    /// How the client authenticates: with its private key when one is configured (the server
    /// must list `private_key_jwt`, and ES256 if it lists algorithms); else with its secret,
    /// by HTTP Basic unless the server lists only `client_secret_post` (RFC 8414: an absent
    /// list means `client_secret_basic`).
    async fn client_auth(&self, metadata: &AuthorizationMetadata) -> Result<ClientAuth, AuthError> {
        let server = self.server();
        let methods = listed(metadata, "token_endpoint_auth_methods_supported");
        let unsupported = |method: &str| {
            AuthError::flow(
                server,
                Step::Token,
                format!(
                    "the authorization server does not accept {method} client authentication \
                     (token_endpoint_auth_methods_supported: {}); configure the client \
                     authentication it lists",
                    methods.as_deref().unwrap_or_default().join(", ")
                ),
            )
        };
        let has = |method: &str| methods.as_ref().is_none_or(|m| m.iter().any(|x| x == method));
        if let Some(reference) = self.config.private_key.clone() {
            if !has("private_key_jwt") {
                return Err(unsupported("private_key_jwt"));
            }
            let alg = self.config.signing_alg.as_str();
            if let Some(algs) = listed(metadata, "token_endpoint_auth_signing_alg_values_supported")
                && !algs.iter().any(|a| a == alg)
            {
                return Err(AuthError::flow(
                    server,
                    Step::Token,
                    format!(
                        "the authorization server does not accept {alg} client assertions \
                         (token_endpoint_auth_signing_alg_values_supported: {})",
                        algs.join(", ")
                    ),
                ));
            }
            let key_error = |reason: String| AuthError::ClientKey {
                server: server.to_owned(),
                from: self.key_source(),
                alg,
                reason,
            };
            let secrets = self.secrets.clone();
            let pem = blocking(move || Ok(secret::resolve(&reference, secrets.as_ref())))
                .await
                .map_err(|e| key_error(e.to_string()))?
                .map_err(|reason| key_error(format!("the {reason}")))?;
            let key = SigningKey::from_pem(&pem, self.config.signing_alg)
                .map_err(|e| key_error(e.to_string()))?;
            return Ok(ClientAuth::Jwt(Box::new(key)));
        }
        let secret = self.client_secret()?.ok_or_else(|| {
            AuthError::flow(
                server,
                Step::Registration,
                format!(
                    "the {} grant needs a client secret (`client_secret_env`) or a private key \
                     (`private_key_env`/`private_key_file`) in the server's `auth`",
                    self.config.grant.as_str()
                ),
            )
        })?;
        match methods {
            None => Ok(ClientAuth::Basic(secret)),
            Some(m) if m.iter().any(|x| x == "client_secret_basic") => {
                Ok(ClientAuth::Basic(secret))
            }
            Some(m) if m.iter().any(|x| x == "client_secret_post") => Ok(ClientAuth::Post(secret)),
            Some(_) => Err(unsupported("client_secret_basic or client_secret_post")),
        }
    }

    /// SEP-990's first step: the user's ID token exchanged at the identity provider (RFC 8693)
    /// for an ID-JAG addressed to `audience` (the authorization server's issuer) for
    /// `resource`. The client authenticates there as `idp.client_id`: by HTTP Basic with its
    /// secret there, if it has one, else by naming itself in the form.
    async fn id_jag(
        &self,
        idp: &IdpConfig,
        resource: &str,
        audience: &str,
        scope: &str,
    ) -> Result<Secret, AuthError> {
        let server = self.server();
        if !secure_endpoint(self.key.url(), &idp.token_endpoint) {
            return Err(AuthError::flow(
                server,
                Step::Token,
                format!(
                    "the identity provider's token endpoint {} is not https: the ID token is not \
                     sent over plain HTTP (only between loopback addresses)",
                    mcp_config::redact::redact_url(&idp.token_endpoint)
                ),
            ));
        }
        let secrets = self.secrets.clone();
        let (reference, secret_reference) = (idp.id_token.clone(), idp.client_secret.clone());
        let (id_token, idp_secret) = blocking(move || {
            let id_token = secret::resolve(&reference, secrets.as_ref());
            let idp_secret = secret_reference.map(|r| secret::resolve(&r, secrets.as_ref()));
            Ok((id_token, idp_secret))
        })
        .await
        .map_err(|e| AuthError::flow(server, Step::Token, e))?;
        let id_token = id_token.map_err(|reason| {
            AuthError::flow(server, Step::Token, format!("the user's ID token {reason}"))
        })?;
        let idp_secret = idp_secret.transpose().map_err(|reason| {
            AuthError::flow(
                server,
                Step::Token,
                format!("the identity provider client secret {reason}"),
            )
        })?;
        let mut fields: Vec<(&str, &str)> = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG_TYPE),
            ("subject_token", id_token.expose()),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("audience", audience),
            ("resource", resource),
        ];
        if !scope.is_empty() {
            fields.push(("scope", scope));
        }
        let authorization = match &idp_secret {
            Some(secret) => Some(basic_header(&idp.client_id, secret)),
            None => {
                fields.push(("client_id", &idp.client_id));
                None
            }
        };
        tracing::info!(server, "OAuth: exchanging the ID token for an ID-JAG (SEP-990)");
        let (status, body) = http::post_form(
            self.http.no_redirects(),
            &idp.token_endpoint,
            &fields,
            authorization.as_deref(),
        )
        .await
        .map_err(|e| AuthError::flow(server, Step::Token, format!("the identity provider: {e}")))?;
        if !status.is_success() {
            return Err(AuthError::IdpRejected {
                server: server.to_owned(),
                error: mcp_config::redact::redact_text(&oauth_error(status, &body)),
            });
        }
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let issued = answer.get("issued_token_type").and_then(serde_json::Value::as_str);
        if issued.is_some_and(|t| t != ID_JAG_TYPE) {
            return Err(AuthError::flow(
                server,
                Step::Token,
                format!(
                    "the identity provider issued a token of type {:?}, not an ID-JAG",
                    issued.unwrap_or_default().chars().take(80).collect::<String>()
                ),
            ));
        }
        answer
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .map(Secret::new)
            .ok_or_else(|| {
                AuthError::flow(
                    server,
                    Step::Token,
                    "the identity provider's token exchange answer has no access_token (the ID-JAG)",
                )
            })
    }

    /// Where the private key comes from, for messages: `variable NAME`, `file PATH`, `the
    /// config`.
    fn key_source(&self) -> String {
        match &self.config.private_key {
            Some(SecretRef::Env(name)) => format!("variable {name}"),
            Some(SecretRef::File(path)) => format!("file {}", path.display()),
            _ => "the config".to_owned(),
        }
    }
}

/// The resource (RFC 8707) discovery named, as rmcp would send it: rmcp keeps it private, but
/// puts it in every authorization URL, so one is built (no request is sent) from metadata that
/// passes rmcp's checks for the code flow. `None` when discovery named none.
async fn discovered_resource(
    manager: &mut AuthorizationManager,
    metadata: &AuthorizationMetadata,
) -> Option<String> {
    let mut for_url = metadata.clone();
    for_url.response_types_supported = Some(vec!["code".to_owned()]);
    for_url.code_challenge_methods_supported = Some(vec!["S256".to_owned()]);
    manager.set_metadata(for_url);
    let url = manager.get_authorization_url(&[]).await;
    manager.set_metadata(metadata.clone());
    let url = Url::parse(&url.ok()?).ok()?;
    let resource = url.query_pairs().find(|(k, _)| k == "resource").map(|(_, v)| v.into_owned());
    resource.filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let header = basic_header("bot 1", &Secret::new("a:b+c"));
        let decoded = STANDARD.decode(header.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "bot+1:a%3Ab%2Bc");
    }

    #[test]
    fn secrets_go_over_https_or_between_loopback_addresses_only() {
        let url = |text: &str| Url::parse(text).unwrap();
        let local = url("http://127.0.0.1:3000/mcp");
        assert!(secure_endpoint(&local, &url("http://localhost:4000/token")));
        assert!(secure_endpoint(&local, &url("https://as.example/token")));
        assert!(!secure_endpoint(&local, &url("http://as.example/token")));
        assert!(!secure_endpoint(&url("https://mcp.example/mcp"), &url("http://[::1]:1/token")));
    }

    #[test]
    fn oauth_errors_are_one_clean_line() {
        let body = br#"{"error": "invalid_client", "error_description": "bad\nsignature"}"#;
        assert_eq!(
            oauth_error(reqwest::StatusCode::UNAUTHORIZED, body),
            "invalid_client: badsignature"
        );
        assert_eq!(
            oauth_error(reqwest::StatusCode::BAD_GATEWAY, b"<html>"),
            "HTTP 502 Bad Gateway"
        );
    }
}
