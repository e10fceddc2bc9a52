//! Tests of `testkit::oauth::OAuthFixture` itself, driven with plain reqwest over loopback, and
//! of `testkit-mcp browse`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mcp_session::reqwest::{self, StatusCode, header};
use mcp_session::{HttpClientBuilder, Redirects};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use testkit::oauth::{AuthMethod, Counters, FixtureOptions, OAuthFixture};

/// A client that never follows redirects, so that `/authorize`'s 302 can be read.
fn http() -> reqwest::Client {
    HttpClientBuilder::new().redirects(Redirects::None).build().expect("an HTTP client")
}

/// A PKCE pair: `(verifier, S256 challenge)`.
fn pkce() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.text().await.expect("a body");
    (status, serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}")))
}

async fn get_json(url: &str) -> (StatusCode, Value) {
    json_of(http().get(url).send().await.expect("GET")).await
}

/// Registers a client with these redirect URIs and (optionally) auth method.
async fn register(fixture: &OAuthFixture, method: Option<&str>, redirect: &str) -> Value {
    let mut request = json!({"redirect_uris": [redirect], "client_name": "test",
        "grant_types": ["authorization_code", "refresh_token"]});
    if let Some(method) = method {
        request["token_endpoint_auth_method"] = json!(method);
    }
    let endpoint = fixture.registration_endpoint().expect("registration is on");
    let (status, body) =
        json_of(http().post(endpoint).json(&request).send().await.expect("POST")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// The authorization URL for a client, with `state=xyz` and S256 `challenge`; `extra` adds or
/// (when a value is empty) removes parameters.
fn authorize_url(
    fixture: &OAuthFixture,
    client_id: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> url::Url {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("resource", fixture.mcp_url()),
    ];
    for (name, value) in extra {
        params.retain(|(known, _)| known != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    url::Url::parse_with_params(fixture.authorization_endpoint(), &params).expect("a URL")
}

/// GETs an authorization URL: the status and the `Location` it redirects to, if any.
async fn authorize(url: &url::Url) -> (StatusCode, Option<url::Url>) {
    let response = http().get(url.as_str()).send().await.expect("GET /authorize");
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|value| url::Url::parse(value.to_str().expect("ASCII")).expect("a URL"));
    (response.status(), location)
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// POSTs a token request with `form`, and `Authorization: Basic` when `basic` is given.
async fn token(
    fixture: &OAuthFixture,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut request = http()
        .post(fixture.token_endpoint())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        request = request.header(
            header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    json_of(request.send().await.expect("POST /token")).await
}

/// A public client's tokens after the whole authorization code flow, for `scope`.
struct Login {
    client_id: String,
    access_token: String,
    refresh_token: String,
}

async fn login(fixture: &OAuthFixture, scope: &str) -> Login {
    let client_id = register(fixture, Some("none"), REDIRECT).await["client_id"]
        .as_str()
        .expect("a client_id")
        .to_owned();
    let (verifier, challenge) = pkce();
    let (status, location) =
        authorize(&authorize_url(fixture, &client_id, &challenge, &[("scope", scope)])).await;
    assert_eq!(status, StatusCode::FOUND);
    let code = query(&location.expect("a Location"), "code").expect("a code");
    let (status, body) = token(
        fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("resource", fixture.mcp_url()),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Login {
        client_id,
        access_token: body["access_token"].as_str().expect("an access token").to_owned(),
        refresh_token: body["refresh_token"].as_str().expect("a refresh token").to_owned(),
    }
}

/// A confidential client's token from `client_credentials` (client `app`, Basic).
async fn service_token(fixture: &OAuthFixture, scope: &str) -> String {
    let (status, body) = token(
        fixture,
        &[("grant_type", "client_credentials"), ("scope", scope)],
        Some(("app", "s3cret")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("an access token").to_owned()
}

fn with_app(options: FixtureOptions) -> FixtureOptions {
    options.client("app", Some("s3cret"), AuthMethod::ClientSecretBasic)
}

fn initialize(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "oauth-test", "version": "0"}}})
}

/// POSTs a JSON-RPC message to `url`, with the bearer `token` if any.
async fn mcp_post(url: &str, token: Option<&str>, message: &Value) -> reqwest::Response {
    let mut request = http()
        .post(url)
        .header(header::ACCEPT, "application/json, text/event-stream")
        .json(message);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("POST to the MCP endpoint")
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .expect("a WWW-Authenticate header")
        .to_str()
        .expect("ASCII")
        .to_owned()
}

#[tokio::test]
async fn metadata_documents() {
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::ClientSecretPost, AuthMethod::None])
            .client_id_metadata_documents(true),
    )
    .await;
    let issuer = fixture.issuer();
    let (status, metadata) = get_json(fixture.authorization_server_metadata_url()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        metadata,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "registration_endpoint": format!("{issuer}/register"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
            "scopes_supported": ["mcp:read", "mcp:write"],
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": true,
        })
    );
    let (status, prm) = get_json(fixture.resource_metadata_url()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fixture.resource_metadata_url(),
        format!("{issuer}/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(prm["resource"], json!(format!("{issuer}/mcp")));
    assert_eq!(prm["resource"], json!(fixture.mcp_url()));
    assert_eq!(prm["authorization_servers"], json!([issuer]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));
    let (_, sse) = get_json(fixture.sse_resource_metadata_url()).await;
    assert_eq!(sse["resource"], json!(fixture.sse_url()));

    let closed = OAuthFixture::start(FixtureOptions::default().registration(false)).await;
    let (_, metadata) = get_json(closed.authorization_server_metadata_url()).await;
    assert!(metadata.get("registration_endpoint").is_none(), "{metadata}");
    assert_eq!(metadata["client_id_metadata_document_supported"], json!(false));
    assert_eq!(closed.registration_endpoint(), None);
    let response = http()
        .post(format!("{}/register", closed.issuer()))
        .json(&json!({"redirect_uris": [REDIRECT]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dynamic_registration() {
    let fixture = OAuthFixture::start(
        FixtureOptions::default().auth_methods([AuthMethod::ClientSecretBasic, AuthMethod::None]),
    )
    .await;
    let public = register(&fixture, Some("none"), REDIRECT).await;
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert!(public.get("client_secret").is_none(), "{public}");
    assert_eq!(public["redirect_uris"], json!([REDIRECT]));
    assert_eq!(public["grant_types"], json!(["authorization_code", "refresh_token"]));

    let basic = register(&fixture, Some("client_secret_basic"), REDIRECT).await;
    assert_eq!(basic["token_endpoint_auth_method"], "client_secret_basic");
    assert!(basic["client_secret"].as_str().is_some_and(|s| !s.is_empty()), "{basic}");
    assert_ne!(basic["client_id"], public["client_id"]);

    // A method the server does not support: it assigns its first one (with a secret).
    let post = register(&fixture, Some("client_secret_post"), REDIRECT).await;
    assert_eq!(post["token_endpoint_auth_method"], "client_secret_basic");
    assert!(post["client_secret"].is_string());

    let endpoint = fixture.registration_endpoint().expect("registration is on");
    let (status, error) = json_of(
        http()
            .post(endpoint)
            .json(&json!({"client_name": "no redirects"}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_redirect_uri");
    let (status, error) =
        json_of(http().post(endpoint).body("not json").send().await.expect("POST")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_client_metadata");
    assert_eq!(fixture.counters().register, 5);
}

#[tokio::test]
async fn authorization_code_flow_with_pkce() {
    let fixture = OAuthFixture::start(FixtureOptions::default().expires_in(120)).await;
    let client_id = register(&fixture, Some("none"), REDIRECT).await["client_id"]
        .as_str()
        .expect("a client_id")
        .to_owned();
    let (verifier, challenge) = pkce();
    let (status, location) =
        authorize(&authorize_url(&fixture, &client_id, &challenge, &[("scope", "mcp:read")])).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.expect("a Location");
    assert_eq!(location.as_str().split('?').next(), Some(REDIRECT));
    assert_eq!(query(&location, "state").as_deref(), Some("xyz"));
    let code = query(&location, "code").expect("a code");

    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
        ("client_id", &client_id),
        ("resource", fixture.mcp_url()),
    ];
    let (status, tokens) = token(&fixture, &exchange, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 120);
    assert_eq!(tokens["scope"], "mcp:read");
    assert!(tokens["refresh_token"].is_string());
    let access = tokens["access_token"].as_str().expect("an access token");

    // A code works once.
    let (status, error) = token(&fixture, &exchange, None).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));

    // The token opens an MCP session: initialize, then a list.
    let response = mcp_post(fixture.mcp_url(), Some(access), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers().get("mcp-session-id").cloned().expect("a session id");
    assert!(response.text().await.expect("a body").contains("serverInfo"));
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = http()
        .post(fixture.mcp_url())
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-session-id", session.clone())
        .bearer_auth(access)
        .json(&initialized)
        .send()
        .await
        .expect("POST");
    assert!(response.status().is_success(), "{}", response.status());
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let response = http()
        .post(fixture.mcp_url())
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .bearer_auth(access)
        .json(&list)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("a body").contains("\"echo\""));

    let counters = fixture.counters();
    assert_eq!(
        (counters.register, counters.authorize, counters.token_authorization_code),
        (1, 1, 2)
    );
    assert_eq!((counters.authorized, counters.unauthorized), (3, 0));
    let asked = &fixture.authorize_requests()[0];
    assert_eq!(asked.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(asked.resource.as_deref(), Some(fixture.mcp_url()));
    assert_eq!(asked.code_challenge_method.as_deref(), Some("S256"));
    assert!(asked.code_challenge && asked.state);
    let sent = &fixture.token_requests()[0];
    assert_eq!(sent.auth_method, Some(AuthMethod::None));
    assert_eq!(sent.resource.as_deref(), Some(fixture.mcp_url()));
}

#[tokio::test]
async fn wrong_verifier_is_refused() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let client_id = register(&fixture, Some("none"), REDIRECT).await["client_id"]
        .as_str()
        .expect("a client_id")
        .to_owned();
    let (verifier, challenge) = pkce();
    let (_, location) = authorize(&authorize_url(&fixture, &client_id, &challenge, &[])).await;
    let code = query(&location.expect("a Location"), "code").expect("a code");
    let (other, _) = pkce();
    let exchange = |verifier: &str| {
        [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("client_id", client_id.clone()),
        ]
    };
    let form = exchange(&other);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, error) = token(&fixture, &form, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");
    assert!(error["error_description"].as_str().is_some_and(|d| d.contains("PKCE")), "{error}");
    // The failed exchange used the code up: the right verifier is too late.
    let form = exchange(&verifier);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, error) = token(&fixture, &form, None).await;
    assert_eq!(error["error"], "invalid_grant");

    // A wrong redirect_uri at the token endpoint is refused too.
    let (verifier, challenge) = pkce();
    let (_, location) = authorize(&authorize_url(&fixture, &client_id, &challenge, &[])).await;
    let code = query(&location.expect("a Location"), "code").expect("a code");
    let (_, error) = token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
        None,
    )
    .await;
    assert_eq!(error["error"], "invalid_grant");
}

#[tokio::test]
async fn authorize_checks_its_request() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let client_id = register(&fixture, Some("none"), REDIRECT).await["client_id"]
        .as_str()
        .expect("a client_id")
        .to_owned();
    let (_, challenge) = pkce();
    // Errors that cannot go back to the client: answered directly.
    for extra in [
        [("client_id", "nobody")],
        [("redirect_uri", "http://127.0.0.1:9/elsewhere")],
        [("redirect_uri", "")],
    ] {
        let (status, location) =
            authorize(&authorize_url(&fixture, &client_id, &challenge, &extra)).await;
        assert_eq!((status, location), (StatusCode::BAD_REQUEST, None), "{extra:?}");
    }
    // The others: a redirect carrying the error and the state.
    for (extra, expected) in [
        (("code_challenge", ""), "invalid_request"),
        (("code_challenge_method", "plain"), "invalid_request"),
        (("code_challenge_method", ""), "invalid_request"),
        (("response_type", "token"), "unsupported_response_type"),
        (("resource", "http://127.0.0.1:9/mcp"), "invalid_target"),
        (("scope", "mcp:admin"), "invalid_scope"),
    ] {
        let (status, location) =
            authorize(&authorize_url(&fixture, &client_id, &challenge, &[extra])).await;
        assert_eq!(status, StatusCode::FOUND, "{extra:?}");
        let location = location.expect("a Location");
        assert_eq!(query(&location, "error").as_deref(), Some(expected), "{extra:?}");
        assert_eq!(query(&location, "state").as_deref(), Some("xyz"));
        assert_eq!(query(&location, "code"), None);
    }
    assert_eq!(fixture.counters().authorize, 9);
}

#[tokio::test]
async fn refresh_rotates() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let login = login(&fixture, "mcp:read mcp:write").await;
    let refresh = |refresh_token: String| {
        let client_id = login.client_id.clone();
        let fixture = &fixture;
        async move {
            token(
                fixture,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                    ("client_id", &client_id),
                ],
                None,
            )
            .await
        }
    };
    let (status, renewed) = refresh(login.refresh_token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["scope"], "mcp:read mcp:write");
    let next = renewed["refresh_token"].as_str().expect("a new refresh token").to_owned();
    assert_ne!(next, login.refresh_token);
    assert_ne!(renewed["access_token"], json!(login.access_token));
    // The old refresh token is gone; the new one works once.
    let (status, error) = refresh(login.refresh_token.clone()).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    // Narrowing the scope works, widening does not.
    let (status, narrowed) = token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &next),
            ("client_id", &login.client_id),
            ("scope", "mcp:read"),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "mcp:read");
    let after = narrowed["refresh_token"].as_str().expect("a refresh token").to_owned();

    fixture.deny_refresh();
    let (status, error) = refresh(after).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    assert_eq!(fixture.counters().token_refresh, 4);
}

/// A refused token request: extra form fields, Basic credentials, the status and error code.
type Refusal<'a> = (&'a [(&'a str, &'a str)], Option<(&'a str, &'a str)>, StatusCode, &'a str);

#[tokio::test]
async fn client_credentials_and_client_authentication() {
    let fixture = OAuthFixture::start(
        with_app(FixtureOptions::default())
            .client("poster", Some("p0st"), AuthMethod::ClientSecretPost)
            .client("public", None, AuthMethod::None),
    )
    .await;
    let (status, body) = token(
        &fixture,
        &[("grant_type", "client_credentials"), ("scope", "mcp:write")],
        Some(("app", "s3cret")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "mcp:write");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let response = mcp_post(fixture.mcp_url(), body["access_token"].as_str(), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::OK);

    let (status, body) = token(
        &fixture,
        &[("grant_type", "client_credentials"), ("client_id", "poster"), ("client_secret", "p0st")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("scope").is_none(), "no scope asked, none granted: {body}");

    let refusals: [Refusal<'_>; 6] = [
        (&[], Some(("app", "wrong")), StatusCode::UNAUTHORIZED, "invalid_client"),
        (
            &[("client_id", "app"), ("client_secret", "s3cret")],
            None,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (&[], Some(("poster", "p0st")), StatusCode::UNAUTHORIZED, "invalid_client"),
        (&[], Some(("nobody", "x")), StatusCode::UNAUTHORIZED, "invalid_client"),
        (&[("client_id", "public")], None, StatusCode::BAD_REQUEST, "unauthorized_client"),
        (
            &[("scope", "mcp:admin")],
            Some(("app", "s3cret")),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
    ];
    for (extra, basic, status, code) in refusals {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let (got, error) = token(&fixture, &form, basic).await;
        assert_eq!((got, &error["error"]), (status, &json!(code)), "{extra:?} {basic:?}: {error}");
    }
    let (status, error) =
        token(&fixture, &[("grant_type", "password")], Some(("app", "s3cret"))).await;
    assert_eq!(
        (status, &error["error"]),
        (StatusCode::BAD_REQUEST, &json!("unsupported_grant_type"))
    );

    let methods: Vec<_> = fixture.token_requests().iter().map(|r| r.auth_method).collect();
    assert_eq!(
        methods[..3],
        [
            Some(AuthMethod::ClientSecretBasic),
            Some(AuthMethod::ClientSecretPost),
            Some(AuthMethod::ClientSecretBasic)
        ]
    );
    let counters = fixture.counters();
    assert_eq!((counters.token_client_credentials, counters.token_other), (8, 1));
}

#[tokio::test]
async fn challenge_shape() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let metadata = fixture.resource_metadata_url().to_owned();

    let response = mcp_post(fixture.mcp_url(), None, &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&response), format!("Bearer resource_metadata=\"{metadata}\""));
    // The probe GET a client makes before anything else is challenged too.
    let response = http().get(fixture.mcp_url()).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    fixture.set_challenge_scope(Some("mcp:read"));
    let response = mcp_post(fixture.mcp_url(), Some("made-up"), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"the access token is unknown or \
             revoked\", resource_metadata=\"{metadata}\", scope=\"mcp:read\""
        )
    );
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"], "invalid_token");

    let scoped = OAuthFixture::start(FixtureOptions::default().challenge_scope("mcp:write")).await;
    let response = mcp_post(scoped.mcp_url(), None, &initialize(1)).await;
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"mcp:write\"",
            scoped.resource_metadata_url()
        )
    );
    assert_eq!(fixture.counters().unauthorized, 3);
}

#[tokio::test]
async fn audience_mismatch_is_refused() {
    let fixture = OAuthFixture::start(with_app(FixtureOptions::default())).await;
    // A token for the SSE resource does not open the streamable HTTP one.
    let (status, body) = token(
        &fixture,
        &[("grant_type", "client_credentials"), ("resource", fixture.sse_url())],
        Some(("app", "s3cret")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = mcp_post(fixture.mcp_url(), body["access_token"].as_str(), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("error=\"invalid_token\""));

    let before = service_token(&fixture, "mcp:read").await;
    fixture.rotate_audience("https://elsewhere.example/mcp");
    let after = service_token(&fixture, "mcp:read").await;
    let response = mcp_post(fixture.mcp_url(), Some(&after), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("issued for another resource"));
    // Tokens issued before the rotation keep their audience.
    let response = mcp_post(fixture.mcp_url(), Some(&before), &initialize(2)).await;
    assert_eq!(response.status(), StatusCode::OK);

    // An unknown resource is refused at the token endpoint.
    let (status, error) = token(
        &fixture,
        &[("grant_type", "client_credentials"), ("resource", "http://127.0.0.1:9/mcp")],
        Some(("app", "s3cret")),
    )
    .await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_target")));
}

#[tokio::test]
async fn insufficient_scope() {
    let fixture = OAuthFixture::start(
        with_app(FixtureOptions::default()).require_scopes("tools/call", ["mcp:read", "mcp:write"]),
    )
    .await;
    let reader = service_token(&fixture, "mcp:read").await;
    let writer = service_token(&fixture, "mcp:read mcp:write").await;
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}}});

    let response = mcp_post(fixture.mcp_url(), Some(&reader), &call).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"this request needs the \
             scopes mcp:read mcp:write\", scope=\"mcp:read mcp:write\", resource_metadata=\"{}\"",
            fixture.resource_metadata_url()
        )
    );
    // Other methods need nothing; batches need what their methods need.
    let response = mcp_post(fixture.mcp_url(), Some(&reader), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let batch = json!([initialize(4), call]);
    let response = mcp_post(fixture.mcp_url(), Some(&reader), &batch).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // With the scopes, the call gets past the check (to rmcp, which wants a session).
    let response = mcp_post(fixture.mcp_url(), Some(&writer), &call).await;
    assert_ne!(response.status(), StatusCode::FORBIDDEN);
    assert_ne!(response.status(), StatusCode::UNAUTHORIZED);

    fixture.set_required_scopes("tools/call", Vec::<String>::new());
    fixture.set_required_scopes("initialize", ["mcp:write"]);
    let response = mcp_post(fixture.mcp_url(), Some(&reader), &initialize(5)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&response).contains("scope=\"mcp:write\""));
    let response = mcp_post(fixture.mcp_url(), Some(&reader), &call).await;
    assert_ne!(response.status(), StatusCode::FORBIDDEN);

    let counters = fixture.counters();
    assert_eq!((counters.forbidden, counters.unauthorized, counters.authorized), (3, 0, 3));
}

#[tokio::test]
async fn revoke_and_expire() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let login = login(&fixture, "mcp:read").await;
    let response = mcp_post(fixture.mcp_url(), Some(&login.access_token), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::OK);

    fixture.expire_access_tokens();
    let response = mcp_post(fixture.mcp_url(), Some(&login.access_token), &initialize(2)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let header = challenge(&response);
    assert!(header.contains("error=\"invalid_token\"") && header.contains("expired"), "{header}");
    // The refresh token still works, and its access token opens the resource.
    let (status, renewed) = token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &login.refresh_token),
            ("client_id", &login.client_id),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let access = renewed["access_token"].as_str().expect("an access token");
    let response = mcp_post(fixture.mcp_url(), Some(access), &initialize(3)).await;
    assert_eq!(response.status(), StatusCode::OK);

    fixture.revoke_all();
    let response = mcp_post(fixture.mcp_url(), Some(access), &initialize(4)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("unknown or revoked"));
    let (status, error) = token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", renewed["refresh_token"].as_str().expect("a refresh token")),
            ("client_id", &login.client_id),
        ],
        None,
    )
    .await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    let counters = fixture.counters();
    assert_eq!((counters.authorized, counters.unauthorized), (2, 2));
}

#[tokio::test]
async fn legacy_sse_is_protected() {
    let fixture = OAuthFixture::start(with_app(FixtureOptions::default())).await;
    let response = http().get(fixture.sse_url()).send().await.expect("GET /sse");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        format!("Bearer resource_metadata=\"{}\"", fixture.sse_resource_metadata_url())
    );
    let (status, body) = token(
        &fixture,
        &[("grant_type", "client_credentials"), ("resource", fixture.sse_url())],
        Some(("app", "s3cret")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().expect("an access token");
    let mut stream = http().get(fixture.sse_url()).bearer_auth(access).send().await.expect("GET");
    assert_eq!(stream.status(), StatusCode::OK);
    let mut first = String::new();
    while !first.contains("\n\n") {
        let chunk = stream.chunk().await.expect("a chunk").expect("the endpoint event");
        first.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(first.contains("event: endpoint"), "{first}");
    let endpoint = first
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("the endpoint")
        .to_owned();
    let message_url = format!("{}{endpoint}", fixture.issuer());
    // The message endpoint checks the token too.
    let response = mcp_post(&message_url, None, &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = mcp_post(&message_url, Some(access), &initialize(1)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let address = fixture.issuer().trim_start_matches("http://").to_owned();
    let (status, _) = get_json(fixture.authorization_server_metadata_url()).await;
    assert_eq!(status, StatusCode::OK);
    fixture.shutdown().await;
    assert!(tokio::net::TcpStream::connect(&address).await.is_err(), "{address} still accepts");
}

/// A loopback callback listener: its URL, and a receiver of the queries it is called with.
async fn callback_listener()
-> (String, tokio::sync::mpsc::UnboundedReceiver<String>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}/callback", listener.local_addr().expect("an address"));
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(move |uri: axum::http::Uri| {
            let _ = sender.send(uri.query().unwrap_or_default().to_owned());
            async { "You can close this tab." }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, receiver, task)
}

/// Runs `testkit-mcp browse URL`: whether it succeeded, and its stderr.
async fn browse(url: &str) -> (bool, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_testkit-mcp"))
        .args(["browse", url])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("testkit-mcp starts");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("testkit-mcp browse ended within 60 s")
        .expect("testkit-mcp browse's output");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn browse_follows_the_redirect_to_the_callback() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let (callback, mut calls, listener) = callback_listener().await;
    let client_id = register(&fixture, Some("none"), &callback).await["client_id"]
        .as_str()
        .expect("a client_id")
        .to_owned();
    let (verifier, challenge) = pkce();
    let url = authorize_url(&fixture, &client_id, &challenge, &[("redirect_uri", &callback)]);

    let (ok, stderr) = browse(url.as_str()).await;
    assert!(ok, "browse failed: {stderr}");
    assert!(stderr.contains("/callback answered 200"), "{stderr}");
    assert!(!stderr.contains("code="), "browse printed the code: {stderr}");
    let query = calls.recv().await.expect("the callback was called");
    let called = url::Url::parse(&format!("{callback}?{query}")).expect("a URL");
    assert_eq!(self::query(&called, "state").as_deref(), Some("xyz"));
    let code = self::query(&called, "code").expect("a code");
    let (status, tokens) = token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &callback),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // A refused authorization (unknown client) is a 400 page: browse fails and says so.
    let refused = authorize_url(&fixture, "nobody", &challenge, &[("redirect_uri", &callback)]);
    let (ok, stderr) = browse(refused.as_str()).await;
    assert!(!ok);
    assert!(stderr.contains("/authorize answered 400 Bad Request"), "{stderr}");
    assert!(calls.try_recv().is_err(), "the callback was called again");
    listener.abort();
}

#[tokio::test]
async fn counters_start_at_zero() {
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    assert_eq!(fixture.counters(), Counters::default());
    assert!(fixture.authorize_requests().is_empty() && fixture.token_requests().is_empty());
}

/// A signer of ES256 JWTs with a fresh P-256 key: `(sign(header, claims), public key)`.
fn es256_signer() -> (impl Fn(&Value, &Value) -> String, Vec<u8>) {
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let sign = move |header: &Value, claims: &Value| {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = pair.sign(&ring::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    };
    (sign, public)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// private_key_jwt: a good assertion gets a token; a replayed one, another key's, a wrong
/// `aud`, an expired or too long-lived one, `iss` ≠ `sub`, another algorithm or another
/// assertion type get `invalid_client` (401).
#[tokio::test]
async fn private_key_jwt_assertions_are_verified() {
    let (sign, public) = es256_signer();
    let (other_sign, _) = es256_signer();
    let fixture = OAuthFixture::start(
        FixtureOptions::default()
            .auth_methods([AuthMethod::PrivateKeyJwt])
            .jwt_client("bot", public),
    )
    .await;
    let (_, metadata) = get_json(fixture.authorization_server_metadata_url()).await;
    assert_eq!(metadata["token_endpoint_auth_methods_supported"], json!(["private_key_jwt"]));
    assert_eq!(metadata["token_endpoint_auth_signing_alg_values_supported"], json!(["ES256"]));
    let es256 = json!({"alg": "ES256", "typ": "JWT"});
    let claims = |jti: &str| {
        json!({"iss": "bot", "sub": "bot", "aud": fixture.issuer(), "iat": now(),
               "exp": now() + 60, "jti": jti})
    };
    const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let fixture = &fixture;
    let grant = |assertion: String, kind: &'static str| async move {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", kind),
            ("client_assertion", &assertion),
        ];
        token(fixture, &form, None).await
    };
    let good = sign(&es256, &claims("one"));
    let (status, body) = grant(good.clone(), TYPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let last = fixture.token_requests().last().cloned().unwrap();
    assert_eq!(
        (last.auth_method, last.client_id.as_deref()),
        (Some(AuthMethod::PrivateKeyJwt), Some("bot"))
    );
    let mut with_slash = claims("slash");
    with_slash["aud"] = json!(format!("{}/", fixture.issuer()));
    assert_eq!(grant(sign(&es256, &with_slash), TYPE).await.0, StatusCode::OK);

    let mut wrong_aud = claims("aud");
    wrong_aud["aud"] = json!("https://elsewhere.example");
    let mut expired = claims("expired");
    expired["exp"] = json!(now() - 120);
    let mut long = claims("long");
    long["exp"] = json!(now() + 3600);
    let mut impostor = claims("iss");
    impostor["iss"] = json!("someone-else");
    for (assertion, kind, expected) in [
        (good, TYPE, "used before"),
        (other_sign(&es256, &claims("other-key")), TYPE, "does not verify"),
        (sign(&es256, &wrong_aud), TYPE, "aud must be the issuer"),
        (sign(&es256, &expired), TYPE, "has expired"),
        (sign(&es256, &long), TYPE, "longer than 5 minutes"),
        (sign(&es256, &impostor), TYPE, "iss differs from its sub"),
        (sign(&json!({"alg": "HS256"}), &claims("hs")), TYPE, "must be signed ES256"),
        (sign(&es256, &claims("type")), "urn:example:other", "client_assertion_type must be"),
    ] {
        let (status, body) = grant(assertion, kind).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{expected}: {body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(expected), "{expected}: {description}");
    }
    assert_eq!(fixture.counters().token_client_credentials, 10);
}

/// Cross-app access: the identity provider exchanges its own, unexpired ID tokens for ID-JAGs
/// addressed to the issuer, and the authorization server takes an ID-JAG once, from the client
/// it names.
#[tokio::test]
async fn the_identity_provider_and_the_jwt_bearer_grant() {
    let fixture = OAuthFixture::start(
        with_app(FixtureOptions::default())
            .client("other", Some("0ther"), AuthMethod::ClientSecretBasic)
            .identity_provider("agent-at-idp", "app"),
    )
    .await;
    let exchange = |subject_token: String, audience: String| {
        let fixture = &fixture;
        async move {
            let form = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                ("client_id", "agent-at-idp"),
                ("requested_token_type", "urn:ietf:params:oauth:token-type:id-jag"),
                ("subject_token", subject_token.as_str()),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"),
                ("audience", audience.as_str()),
                ("resource", fixture.mcp_url()),
            ];
            let body =
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
            let request = http()
                .post(fixture.idp_token_endpoint())
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
            json_of(request.send().await.unwrap()).await
        }
    };
    let id_token = fixture.id_token("ada").unwrap();
    let (status, answer) = exchange(id_token.clone(), fixture.issuer().to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["issued_token_type"], "urn:ietf:params:oauth:token-type:id-jag");
    let id_jag = answer["access_token"].as_str().unwrap().to_owned();
    let (status, answer) =
        exchange(fixture.expired_id_token("ada").unwrap(), fixture.issuer().to_owned()).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, answer) = exchange(id_token, "https://other-as.example".to_owned()).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );

    let bearer = |assertion: String, client: (&'static str, &'static str)| {
        let fixture = &fixture;
        async move {
            let form = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ];
            token(fixture, &form, Some(client)).await
        }
    };
    let (status, answer) = bearer(id_jag.clone(), ("other", "0ther")).await;
    assert_eq!(answer["error_description"], "the ID-JAG was issued for another client", "{status}");
    let (status, answer) = bearer(id_jag.clone(), ("app", "s3cret")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = bearer(id_jag.clone(), ("app", "s3cret")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a replay: {answer}"
    );
    let counters = fixture.counters();
    assert_eq!((counters.token_exchange, counters.token_jwt_bearer), (3, 3));
}
