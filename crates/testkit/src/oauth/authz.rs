//! The authorization server's endpoints: metadata (RFC 8414), `/register` (RFC 7591),
//! `/authorize` and `/token` (RFC 6749 with PKCE, RFC 7636, and resource indicators, RFC 8707).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::error::OAuthError;
use super::idp;
use super::state::{self, Client, Code, Issued, same_resource};
use super::{AuthMethod, AuthorizeRequest, Shared, TokenRequest, Urls};

type Form = HashMap<String, String>;

/// `GET /.well-known/oauth-authorization-server`.
pub(super) async fn metadata(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let state = shared.lock();
    let urls = &shared.urls;
    let mut document = json!({
        "issuer": urls.issuer,
        "authorization_endpoint": urls.authorize,
        "token_endpoint": urls.token,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported":
            state.auth_methods.iter().map(|method| method.as_str()).collect::<Vec<_>>(),
        "scopes_supported": state.scopes_supported,
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": state.client_id_metadata_documents,
    });
    if state.idp.is_some() {
        document["grant_types_supported"] =
            json!(["authorization_code", "refresh_token", "client_credentials", idp::JWT_BEARER]);
    }
    if state.auth_methods.contains(&AuthMethod::PrivateKeyJwt) {
        document["token_endpoint_auth_signing_alg_values_supported"] = json!(["ES256"]);
    }
    if let Some(register) = &urls.register {
        document["registration_endpoint"] = json!(register);
    }
    Json(document)
}

/// The body of an RFC 7591 registration request (the fields the fixture reads).
#[derive(Debug, Deserialize)]
struct Registration {
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    client_name: Option<String>,
    scope: Option<String>,
}

/// `POST /register`: registers a client. The method asked for is granted when the server
/// supports it, otherwise the first supported one is (and said so in the answer); a secret
/// comes with any method but `none`.
#[tracing::instrument(skip_all)]
pub(super) async fn register(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut state = shared.lock();
    state.counters.register += 1;
    let registration: Registration = match serde_json::from_slice(&body) {
        Ok(registration) => registration,
        Err(err) => {
            return OAuthError::invalid_client_metadata(format!("not a registration: {err}"))
                .into_response();
        }
    };
    let grant_types =
        registration.grant_types.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if grant_types.iter().any(|grant| grant == "authorization_code")
        && registration.redirect_uris.is_empty()
    {
        return OAuthError::invalid_redirect_uri("redirect_uris is missing or empty")
            .into_response();
    }
    if let Some(bad) = registration.redirect_uris.iter().find(|uri| !valid_redirect_uri(uri)) {
        return OAuthError::invalid_redirect_uri(format!(
            "{bad:?} is not an absolute URL without a fragment"
        ))
        .into_response();
    }
    let asked = registration.token_endpoint_auth_method.as_deref().and_then(AuthMethod::parse);
    // A private_key_jwt client would need its public key (a JWKS), which the fixture does not
    // take at registration.
    let method = asked
        .filter(|method| {
            state.auth_methods.contains(method) && *method != AuthMethod::PrivateKeyJwt
        })
        .or_else(|| state.auth_methods.first().copied())
        .unwrap_or(AuthMethod::None);
    let secret = method.needs_secret().then(|| state::random("secret"));
    let client = Client {
        secret: secret.clone(),
        method,
        redirect_uris: Some(registration.redirect_uris.clone()),
        public_key: None,
    };
    let client_id = state.add_client(client);
    tracing::debug!(%client_id, method = method.as_str(), "client registered");
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": issued_at,
        "redirect_uris": registration.redirect_uris,
        "token_endpoint_auth_method": method.as_str(),
        "grant_types": grant_types,
        "response_types": ["code"],
    });
    if let Some(secret) = secret {
        answer["client_secret"] = json!(secret);
        answer["client_secret_expires_at"] = json!(0);
    }
    if let Some(name) = registration.client_name {
        answer["client_name"] = json!(name);
    }
    if let Some(scope) = registration.scope {
        answer["scope"] = json!(scope);
    }
    (StatusCode::CREATED, no_store(), Json(answer)).into_response()
}

/// Why `/authorize` refused.
enum Refusal {
    /// Before the client and redirect URI are known good: answered directly (RFC 6749 §4.1.2.1).
    Direct(OAuthError),
    /// After: a redirect to this URL, carrying the error.
    Redirect(url::Url),
}

/// `GET /authorize`: approves at once with a `302` to the `redirect_uri` with `code` and
/// `state`, or refuses.
#[tracing::instrument(skip_all)]
pub(super) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<Form>,
) -> Response {
    let mut state = shared.lock();
    state.counters.authorize += 1;
    let param = |name: &str| params.get(name).cloned();
    state.authorize_log.push(AuthorizeRequest {
        client_id: param("client_id"),
        redirect_uri: param("redirect_uri"),
        scope: param("scope"),
        resource: param("resource"),
        code_challenge_method: param("code_challenge_method"),
        code_challenge: params.contains_key("code_challenge"),
        state: params.contains_key("state"),
    });
    match approve(&mut state, &shared.urls, &params) {
        Ok(location) => {
            tracing::debug!(client_id = ?params.get("client_id"), "authorization approved");
            found(&location)
        }
        Err(Refusal::Redirect(location)) => {
            tracing::debug!("authorization refused by redirect");
            found(&location)
        }
        Err(Refusal::Direct(error)) => {
            tracing::debug!(error = error.code, "authorization refused");
            error.into_response()
        }
    }
}

/// Checks an authorization request and issues a code: the redirect to send.
fn approve(state: &mut state::State, urls: &Urls, params: &Form) -> Result<url::Url, Refusal> {
    let direct = |error: OAuthError| Refusal::Direct(error);
    let client_id = params
        .get("client_id")
        .ok_or_else(|| direct(OAuthError::invalid_request("client_id is missing")))?;
    let client = state.client(client_id).ok_or_else(|| {
        direct(OAuthError::invalid_request(format!("unknown client_id {client_id:?}")))
    })?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| direct(OAuthError::invalid_request("redirect_uri is missing")))?;
    let Some(mut location) = allowed_redirect(&client, redirect_uri) else {
        return Err(direct(OAuthError::invalid_request(format!(
            "redirect_uri {redirect_uri:?} is not registered for this client"
        ))));
    };
    let client_state = params.get("state");
    let refuse = |error: OAuthError| {
        let mut location = location.clone();
        {
            let mut query = location.query_pairs_mut();
            query.append_pair("error", error.code);
            query.append_pair("error_description", &error.description);
            if let Some(client_state) = client_state {
                query.append_pair("state", client_state);
            }
        }
        Refusal::Redirect(location)
    };
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err(refuse(OAuthError::unsupported_response_type("response_type must be code")));
    }
    let Some(client_state) = client_state else {
        return Err(refuse(OAuthError::invalid_request("state is missing")));
    };
    let Some(challenge) = params.get("code_challenge") else {
        return Err(refuse(OAuthError::invalid_request("code_challenge is missing (PKCE)")));
    };
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err(refuse(OAuthError::invalid_request("code_challenge_method must be S256")));
    }
    if !pkce_shaped(challenge) {
        return Err(refuse(OAuthError::invalid_request("code_challenge is malformed")));
    }
    let resource = resource(urls, params.get("resource").map(String::as_str)).map_err(&refuse)?;
    let scopes = state.scopes(params.get("scope").map(String::as_str)).map_err(&refuse)?;
    let code = state::random("code");
    let issued = Code {
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        challenge: challenge.clone(),
        scopes,
        resource,
    };
    state.codes.insert(code.clone(), issued);
    location.query_pairs_mut().append_pair("code", &code).append_pair("state", client_state);
    Ok(location)
}

/// `POST /token`.
#[tracing::instrument(skip_all, fields(grant_type))]
pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Form = url::form_urlencoded::parse(&body).into_owned().collect();
    let grant_type = form.get("grant_type").map(String::as_str);
    tracing::Span::current().record("grant_type", grant_type);
    let mut state = shared.lock();
    match grant_type {
        Some("authorization_code") => state.counters.token_authorization_code += 1,
        Some("refresh_token") => state.counters.token_refresh += 1,
        Some("client_credentials") => state.counters.token_client_credentials += 1,
        Some(idp::JWT_BEARER) => state.counters.token_jwt_bearer += 1,
        _ => state.counters.token_other += 1,
    }
    let basic = basic_credentials(&headers);
    let asserted =
        form.contains_key("client_assertion") || form.contains_key("client_assertion_type");
    let (client_id, auth_method) = match &basic {
        Ok(Some((id, _))) => (Some(id.clone()), Some(AuthMethod::ClientSecretBasic)),
        _ if asserted => (assertion_subject(&form), Some(AuthMethod::PrivateKeyJwt)),
        _ if form.contains_key("client_secret") => {
            (form.get("client_id").cloned(), Some(AuthMethod::ClientSecretPost))
        }
        _ => (
            form.get("client_id").cloned(),
            form.contains_key("client_id").then_some(AuthMethod::None),
        ),
    };
    state.token_log.push(TokenRequest {
        grant_type: grant_type.map(str::to_owned),
        client_id,
        auth_method,
        scope: form.get("scope").cloned(),
        resource: form.get("resource").cloned(),
    });
    let result = basic.and_then(|basic| {
        let client_id = if asserted {
            if basic.is_some() || form.contains_key("client_secret") {
                return Err(OAuthError::invalid_request(
                    "more than one client authentication method (an assertion and a secret)",
                ));
            }
            verify_assertion(&mut state, &shared.urls, &form)?
        } else {
            authenticate(&state, basic, &form)?
        };
        match grant_type {
            Some("authorization_code") => {
                authorization_code(&mut state, &shared.urls, &client_id, &form)
            }
            Some("refresh_token") => refresh(&mut state, &shared.urls, &client_id, &form),
            Some("client_credentials") => {
                client_credentials(&mut state, &shared.urls, &client_id, &form)
            }
            Some(idp::JWT_BEARER) => idp::jwt_bearer(&mut state, &shared.urls, &client_id, &form),
            Some(other) => Err(OAuthError::unsupported_grant_type(format!(
                "grant_type {other:?} is not supported"
            ))),
            None => Err(OAuthError::invalid_request("grant_type is missing")),
        }
    });
    match result {
        Ok(issued) => {
            tracing::debug!(refresh = issued.refresh_token.is_some(), "tokens issued");
            let mut answer = json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            });
            if let Some(refresh_token) = issued.refresh_token {
                answer["refresh_token"] = json!(refresh_token);
            }
            if !issued.scopes.is_empty() {
                answer["scope"] = json!(join(&issued.scopes));
            }
            (no_store(), Json(answer)).into_response()
        }
        Err(error) => {
            tracing::debug!(error = error.code, "token request refused");
            error.into_response()
        }
    }
}

/// `grant_type=authorization_code`. A code works once, even when the exchange fails.
fn authorization_code(
    state: &mut state::State,
    urls: &Urls,
    client_id: &str,
    form: &Form,
) -> Result<Issued, OAuthError> {
    let code = form.get("code").ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let code = state
        .codes
        .remove(code)
        .ok_or_else(|| OAuthError::invalid_grant("unknown, used or revoked authorization code"))?;
    if code.client_id != client_id {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    if form.get("redirect_uri") != Some(&code.redirect_uri) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    let verifier = form
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_grant("code_verifier is missing (PKCE)"))?;
    if !pkce_shaped(verifier) || s256(verifier) != code.challenge {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (PKCE S256)",
        ));
    }
    if let Some(asked) = form.get("resource")
        && !same_resource(&resource(urls, Some(asked))?, &code.resource)
    {
        return Err(OAuthError::invalid_target(
            "resource differs from the authorization request's",
        ));
    }
    let scopes = code.scopes.clone();
    Ok(state.issue(client_id, scopes.clone(), &code.resource, Some(scopes)))
}

/// `grant_type=refresh_token`, rotating: the refresh token used is gone once this succeeds.
fn refresh(
    state: &mut state::State,
    urls: &Urls,
    client_id: &str,
    form: &Form,
) -> Result<Issued, OAuthError> {
    if state.refresh_denied {
        return Err(OAuthError::invalid_grant("this server refuses every refresh now"));
    }
    let token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let refresh = state
        .refresh
        .get(token)
        .ok_or_else(|| OAuthError::invalid_grant("unknown, used or revoked refresh token"))?;
    if refresh.client_id != client_id {
        return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
    }
    let scopes = match form.get("scope") {
        None => refresh.scopes.clone(),
        Some(asked) => {
            let asked = state.scopes(Some(asked))?;
            if !asked.is_subset(&refresh.scopes) {
                return Err(OAuthError::invalid_scope(
                    "a refresh cannot add scopes the grant did not have",
                ));
            }
            asked
        }
    };
    if let Some(asked) = form.get("resource")
        && !same_resource(&resource(urls, Some(asked))?, &refresh.resource)
    {
        return Err(OAuthError::invalid_target("resource differs from the grant's"));
    }
    let (granted, resource) = (refresh.scopes.clone(), refresh.resource.clone());
    state.refresh.remove(token);
    Ok(state.issue(client_id, scopes, &resource, Some(granted)))
}

/// `grant_type=client_credentials`, for confidential clients only.
fn client_credentials(
    state: &mut state::State,
    urls: &Urls,
    client_id: &str,
    form: &Form,
) -> Result<Issued, OAuthError> {
    if state.client(client_id).is_none_or(|client| !client.method.confidential()) {
        return Err(OAuthError::unauthorized_client(
            "client_credentials needs a confidential client (one with a secret or a key)",
        ));
    }
    let scopes = state.scopes(form.get("scope").map(String::as_str))?;
    let resource = resource(urls, form.get("resource").map(String::as_str))?;
    Ok(state.issue(client_id, scopes, &resource, None))
}

/// Authenticates the client of a token request as it registered: its id.
fn authenticate(
    state: &state::State,
    basic: Option<(String, String)>,
    form: &Form,
) -> Result<String, OAuthError> {
    let (client_id, secret, used) = match (basic, form.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method (Basic and client_secret)",
            ));
        }
        (Some((id, secret)), None) => {
            if form.get("client_id").is_some_and(|body_id| *body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            (id, Some(secret.as_str().to_owned()), AuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => {
            let id = form
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client_secret without client_id"))?;
            (id.clone(), Some(secret.clone()), AuthMethod::ClientSecretPost)
        }
        (None, None) => {
            let id = form
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("no client authentication"))?;
            (id.clone(), None, AuthMethod::None)
        }
    };
    let client = state
        .client(&client_id)
        .ok_or_else(|| OAuthError::invalid_client(format!("unknown client {client_id:?}")))?;
    if client.method != used {
        return Err(OAuthError::invalid_client(format!(
            "this client authenticates with {}, not {}",
            client.method.as_str(),
            used.as_str()
        )));
    }
    if !state.auth_methods.contains(&used) {
        return Err(OAuthError::invalid_client(format!(
            "this server does not accept {}",
            used.as_str()
        )));
    }
    if client.secret != secret {
        return Err(OAuthError::invalid_client("wrong client secret"));
    }
    Ok(client_id)
}

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live, `exp` counted from now (and the clock skew allowed).
const ASSERTION_MAX_LIFETIME: u64 = 300;
const CLOCK_SKEW: u64 = 30;

/// A JSON part of a JWT, decoded (unverified).
fn jwt_part(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The `sub` of a request's client assertion, unverified (for the request log only).
fn assertion_subject(form: &Form) -> Option<String> {
    let claims = jwt_part(form.get("client_assertion")?.split('.').nth(1)?)?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Authenticates a `private_key_jwt` client (RFC 7523 §3): the assertion's type, its ES256
/// signature by the key of the client its `sub` names, `iss` = `sub`, `aud` (the issuer, with
/// or without a trailing `/`, or the token endpoint), `exp` (ahead, and at most 5 minutes so,
/// give or take 30 s) and a `jti` never seen before. The client id.
fn verify_assertion(
    state: &mut state::State,
    urls: &Urls,
    form: &Form,
) -> Result<String, OAuthError> {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion_type must be {ASSERTION_TYPE}"
        )));
    }
    let assertion = form
        .get("client_assertion")
        .ok_or_else(|| OAuthError::invalid_client("client_assertion is missing"))?;
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(OAuthError::invalid_client("client_assertion is not a signed JWT"));
    };
    let malformed = || OAuthError::invalid_client("client_assertion is malformed");
    let header_json = jwt_part(header).ok_or_else(malformed)?;
    if header_json.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(OAuthError::invalid_client("the assertion must be signed ES256"));
    }
    let claims = jwt_part(claims).ok_or_else(malformed)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let sub = text("sub").ok_or_else(|| OAuthError::invalid_client("the assertion has no sub"))?;
    if text("iss") != Some(sub) {
        return Err(OAuthError::invalid_client("the assertion's iss differs from its sub"));
    }
    if form.get("client_id").is_some_and(|id| id != sub) {
        return Err(OAuthError::invalid_client("client_id differs from the assertion's sub"));
    }
    let client =
        state.client(sub).filter(|client| client.method == AuthMethod::PrivateKeyJwt).ok_or_else(
            || OAuthError::invalid_client(format!("{sub:?} is no private_key_jwt client here")),
        )?;
    if !state.auth_methods.contains(&AuthMethod::PrivateKeyJwt) {
        return Err(OAuthError::invalid_client("this server does not accept private_key_jwt"));
    }
    let key = client.public_key.unwrap_or_default();
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
    let signed = &assertion[..header.len() + 1 + parts[1].len()];
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| {
            OAuthError::invalid_client(
                "the assertion's signature does not verify with the client's key",
            )
        })?;
    let issuer = urls.issuer.trim_end_matches('/');
    let audience_ok = |aud: &str| aud.trim_end_matches('/') == issuer || aud == urls.token;
    let audience = match claims.get("aud") {
        Some(Value::String(aud)) => audience_ok(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(audience_ok),
        _ => false,
    };
    if !audience {
        return Err(OAuthError::invalid_client(format!(
            "the assertion's aud must be the issuer {issuer} or the token endpoint"
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp + CLOCK_SKEW < now {
        return Err(OAuthError::invalid_client("the assertion has expired"));
    }
    if exp > now + ASSERTION_MAX_LIFETIME + CLOCK_SKEW {
        return Err(OAuthError::invalid_client("the assertion lives longer than 5 minutes"));
    }
    let jti = text("jti").ok_or_else(|| OAuthError::invalid_client("the assertion has no jti"))?;
    if !state.assertion_ids.insert(jti.to_owned()) {
        return Err(OAuthError::invalid_client("the assertion was used before (its jti)"));
    }
    Ok(sub.to_owned())
}

/// The `client_secret_basic` credentials of a request, if it carries `Authorization: Basic`
/// (RFC 6749 §2.3.1: both parts form-urlencoded before base64).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let malformed = || OAuthError::invalid_client("malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else { return Err(malformed()) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decode(id).ok_or_else(malformed)?, form_decode(secret).ok_or_else(malformed)?)))
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space); `None` if it is not
/// UTF-8 once decoded or has a broken escape.
fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(byte) = rest.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = char::from(rest.next()?).to_digit(16)?;
                let low = char::from(rest.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

/// The resource a request names (RFC 8707), canonical; none: the MCP endpoint.
fn resource(urls: &Urls, asked: Option<&str>) -> Result<String, OAuthError> {
    let Some(asked) = asked else { return Ok(urls.mcp.clone()) };
    if asked.contains('#') {
        return Err(OAuthError::invalid_target("a resource must not have a fragment"));
    }
    [&urls.mcp, &urls.sse]
        .into_iter()
        .find(|known| same_resource(known, asked))
        .cloned()
        .ok_or_else(|| {
            OAuthError::invalid_target(format!(
                "unknown resource {asked:?}; this server protects {} and {}",
                urls.mcp, urls.sse
            ))
        })
}

/// The redirect URI, parsed, if `client` may use it: one it registered, or any loopback one
/// for a client that registered none.
fn allowed_redirect(client: &Client, uri: &str) -> Option<url::Url> {
    let url = url::Url::parse(uri).ok().filter(|url| url.fragment().is_none())?;
    let allowed = match &client.redirect_uris {
        Some(registered) => registered.iter().any(|registered| registered == uri),
        None => {
            url.scheme() == "http"
                && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
    };
    allowed.then_some(url)
}

/// Whether `uri` may be registered: absolute, no fragment.
fn valid_redirect_uri(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|url| url.fragment().is_none())
}

/// Whether `text` has the shape of a PKCE verifier or S256 challenge: 43 to 128 characters of
/// `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
fn pkce_shaped(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The S256 challenge of a verifier: `BASE64URL(SHA256(verifier))`, unpadded.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Scopes as a space-separated list.
fn join(scopes: &BTreeSet<String>) -> String {
    scopes.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, for answers carrying credentials.
fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// A `302 Found` to `location`.
fn found(location: &url::Url) -> Response {
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => {
            OAuthError::invalid_request("the redirect URI cannot be a header").into_response()
        }
    }
}
