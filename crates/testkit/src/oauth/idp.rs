//! Cross-app access (SEP-990): an enterprise identity provider at `ORIGIN/idp` whose token
//! endpoint exchanges its ID tokens (RFC 8693) for ID-JAGs, and the authorization server's JWT
//! bearer grant (RFC 7523 §2.1) that takes them. Every JWT is ES256, signed and verified with
//! `ring`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use serde_json::{Value, json};

use super::error::OAuthError;
use super::state::{self, Issued, same_resource};
use super::{Shared, TokenRequest, Urls};

/// The `grant_type` of a token exchange (RFC 8693 §2.1).
pub(crate) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The `grant_type` of a JWT bearer grant (RFC 7523 §2.1).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// The identity provider: its signing key, the client the MCP client is there, and the client
/// id its ID-JAGs name at the authorization server.
pub(crate) struct Idp {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    pub(crate) client_id: String,
    pub(crate) as_client_id: String,
}

impl Idp {
    pub(crate) fn new(client_id: &str, as_client_id: &str) -> Idp {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("random numbers for the identity provider's key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("the key just made");
        Idp { key, rng, client_id: client_id.to_owned(), as_client_id: as_client_id.to_owned() }
    }

    /// A JWT of `header` and `claims`, signed ES256.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(&self.rng, input.as_bytes()).expect("a signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// The header and claims of `jwt` if its ES256 signature verifies with this key.
    fn verify(&self, jwt: &str) -> Option<(Value, Value)> {
        let (input, signature) = jwt.rsplit_once('.')?;
        let (header, claims) = input.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.key.public_key().as_ref())
            .verify(input.as_bytes(), &signature)
            .ok()?;
        let part = |text: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).ok()?).ok()
        };
        Some((part(header)?, part(claims)?))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An ID token for `subject`, as the identity provider issues it to its client at sign-in;
/// `lifetime` seconds from now (0: already expired).
pub(crate) fn id_token(idp: &Idp, urls: &Urls, subject: &str, lifetime: u64) -> String {
    let now = now();
    let claims = json!({
        "iss": urls.idp_issuer, "sub": subject, "aud": idp.client_id,
        "iat": now.saturating_sub(1), "exp": now + lifetime,
    });
    idp.sign(&json!({"alg": "ES256", "typ": "JWT"}), &claims)
}

/// `POST /idp/token`: the token exchange of an ID token for an ID-JAG.
pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let mut state = shared.lock();
    state.counters.token_exchange += 1;
    state.idp_log.push(TokenRequest {
        grant_type: form.get("grant_type").cloned(),
        client_id: form.get("client_id").cloned(),
        auth_method: None,
        scope: form.get("scope").cloned(),
        resource: form.get("resource").cloned(),
    });
    let urls = &shared.urls;
    let Some(idp) = state.idp.as_ref() else {
        return OAuthError::invalid_request("no identity provider here").into_response();
    };
    let result = exchange(idp, urls, &headers, &form);
    match result {
        Ok(id_jag) => Json(json!({
            "access_token": id_jag,
            "issued_token_type": ID_JAG_TYPE,
            "token_type": "N_A",
            "expires_in": 300,
        }))
        .into_response(),
        Err(error) => error.into_response(),
    }
}

fn exchange(
    idp: &Idp,
    urls: &Urls,
    headers: &HeaderMap,
    form: &std::collections::HashMap<String, String>,
) -> Result<String, OAuthError> {
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some(TOKEN_EXCHANGE) {
        return Err(OAuthError::unsupported_grant_type(
            "the identity provider does token exchange only",
        ));
    }
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        return Err(OAuthError::invalid_client(
            "the identity provider's client is public: no secret",
        ));
    }
    if field("client_id") != Some(idp.client_id.as_str()) {
        return Err(OAuthError::invalid_client("unknown client at the identity provider"));
    }
    if field("requested_token_type") != Some(ID_JAG_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "requested_token_type must be {ID_JAG_TYPE}"
        )));
    }
    if field("subject_token_type") != Some(ID_TOKEN_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "subject_token_type must be {ID_TOKEN_TYPE}"
        )));
    }
    let audience = field("audience").unwrap_or_default();
    if !same_resource(audience, &urls.issuer) {
        return Err(OAuthError::invalid_target(
            "audience must be the authorization server's issuer",
        ));
    }
    let resource = field("resource")
        .filter(|r| [&urls.mcp, &urls.sse].iter().any(|known| same_resource(known, r)))
        .ok_or_else(|| OAuthError::invalid_target("resource is missing or unknown"))?;
    let subject_token = field("subject_token").unwrap_or_default();
    let claims = idp
        .verify(subject_token)
        .map(|(_, claims)| claims)
        .filter(|claims| {
            claims["iss"] == urls.idp_issuer.as_str()
                && claims["aud"] == idp.client_id.as_str()
                && claims["exp"].as_u64().is_some_and(|exp| exp > now())
        })
        .ok_or_else(|| OAuthError::invalid_grant("the ID token is invalid or expired"))?;
    let now = now();
    let mut jag = json!({
        "iss": urls.idp_issuer, "sub": claims["sub"], "aud": urls.issuer,
        "client_id": idp.as_client_id, "resource": resource,
        "iat": now, "exp": now + 300, "jti": state::random("jag"),
    });
    if let Some(scope) = field("scope") {
        jag["scope"] = json!(scope);
    }
    Ok(idp.sign(&json!({"alg": "ES256", "typ": ID_JAG_TYP}), &jag))
}

/// The authorization server's `grant_type=…:jwt-bearer` with an ID-JAG, for the authenticated
/// client `client_id`: its signature by the identity provider, `typ`, `iss`, `aud` (the
/// issuer), `exp`, `client_id` (the authenticated client), `resource` and a new `jti`.
pub(super) fn jwt_bearer(
    state: &mut state::State,
    urls: &Urls,
    client_id: &str,
    form: &std::collections::HashMap<String, String>,
) -> Result<Issued, OAuthError> {
    let idp = state.idp.as_ref().ok_or_else(|| {
        OAuthError::unsupported_grant_type("no identity provider is trusted here")
    })?;
    let assertion =
        form.get("assertion").ok_or_else(|| OAuthError::invalid_request("assertion is missing"))?;
    let (header, claims) = idp
        .verify(assertion)
        .ok_or_else(|| OAuthError::invalid_grant("the ID-JAG's signature does not verify"))?;
    if header["typ"] != ID_JAG_TYP {
        return Err(OAuthError::invalid_grant(format!("the ID-JAG's typ must be {ID_JAG_TYP}")));
    }
    let valid = claims["iss"] == urls.idp_issuer.as_str()
        && claims["aud"].as_str().is_some_and(|aud| same_resource(aud, &urls.issuer))
        && claims["exp"].as_u64().is_some_and(|exp| exp > now());
    if !valid {
        return Err(OAuthError::invalid_grant("the ID-JAG's iss, aud or exp is wrong"));
    }
    if claims["client_id"] != client_id {
        return Err(OAuthError::invalid_grant("the ID-JAG was issued for another client"));
    }
    let resource = claims["resource"].as_str().unwrap_or_default().to_owned();
    if form.get("resource").is_some_and(|asked| !same_resource(asked, &resource)) {
        return Err(OAuthError::invalid_target("resource differs from the ID-JAG's"));
    }
    let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
    if jti.is_empty() || !state.assertion_ids.insert(jti) {
        return Err(OAuthError::invalid_grant("the ID-JAG has no jti or was used before"));
    }
    let scopes = state.scopes(form.get("scope").map(String::as_str))?;
    Ok(state.issue(client_id, scopes, &resource, None))
}
