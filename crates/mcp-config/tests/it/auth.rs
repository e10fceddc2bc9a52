//! `auth`: its native forms in JSON and TOML, the Claude Code and Cursor imports, round trips,
//! every error with its message and place, redaction and the JSON Schema.

use mcp_config::{
    AuthConfig, Format, IdpConfig, LoadError, Loader, Location, MCPConfig, OAuthConfig, OAuthGrant,
    SecretRef, ServerConfig, SigningAlg, SseConfig, StdioConfig, StreamableHttpConfig, Warning,
    WarningKind,
};

use crate::{VARS, load, load_err};

/// Each warning's server and kind.
fn warned(warnings: &[Warning]) -> Vec<(Option<&str>, WarningKind)> {
    warnings.iter().map(|w| (w.server.as_deref(), w.kind.clone())).collect()
}

fn auth_of(config: &MCPConfig, name: &str) -> AuthConfig {
    match config.get(name).unwrap() {
        ServerConfig::Sse(sse) => sse.auth.clone(),
        ServerConfig::StreamableHttp(http) => http.auth.clone(),
        other => panic!("{name} is not remote: {other:?}"),
    }
}

fn loads(text: &str, format: Format) -> mcp_config::Loaded {
    Loader::new()
        .vars(VARS.iter().copied())
        .format(format)
        .load_str(text)
        .unwrap_or_else(|err| panic!("does not load: {err}\n{text}"))
}

#[test]
fn native_json_forms() {
    let text = r#"{"servers": [
      {"server_name": "plain", "transport": "sse", "url": "http://127.0.0.1:1/sse", "auth": "none"},
      {"server_name": "none2", "transport": "sse", "url": "http://127.0.0.1:1/sse", "auth": {"type": "none"}},
      {"server_name": "gh", "transport": "http", "url": "https://api.example.com/mcp",
       "auth": {"type": "bearer", "token_env": "GH_TOKEN"}},
      {"server_name": "o", "transport": "http", "url": "https://o.example.com/mcp", "auth": "oauth"},
      {"server_name": "full", "transport": "sse", "url": "https://f.example.com/sse",
       "auth": {"type": "oauth", "client_id": "app-${HOME}", "client_secret_env": "APP_SECRET",
                "scopes": ["read", "write"], "redirect_port": 8976,
                "client_metadata_url": "https://app.example.com/oauth/client.json"}}
    ]}"#;
    let loaded = loads(text, Format::Json);
    assert_eq!(loaded.warnings, []);
    let config = &loaded.config;
    assert_eq!(auth_of(config, "plain"), AuthConfig::None);
    assert_eq!(auth_of(config, "none2"), AuthConfig::None);
    assert_eq!(auth_of(config, "gh"), AuthConfig::bearer("GH_TOKEN"));
    assert_eq!(auth_of(config, "o"), AuthConfig::oauth(OAuthConfig::default()));
    let full = OAuthConfig::default()
        .client_id("app-/home/ada")
        .client_secret(SecretRef::env("APP_SECRET"))
        .scopes(["read", "write"])
        .redirect_port(8976)
        .client_metadata_url("https://app.example.com/oauth/client.json")
        .unwrap();
    assert_eq!(auth_of(config, "full"), AuthConfig::oauth(full));
}

#[test]
fn native_toml_forms() {
    let text = r#"
[[servers]]
server_name = "gh"
transport = "streamable_http"
url = "https://api.example.com/mcp"
auth = { type = "bearer", token_env = "GH_TOKEN" }

[[servers]]
server_name = "wiki"
transport = "sse"
url = "https://wiki.example.com/sse"

[servers.auth]
type = "oauth"
client_id = "wiki-cli"
scopes = ["read"]
redirect_port = 3118

[[servers]]
server_name = "o"
transport = "http"
url = "https://o.example.com/mcp"
auth = "oauth"
"#;
    let config = loads(text, Format::Toml).config;
    assert_eq!(auth_of(&config, "gh"), AuthConfig::bearer("GH_TOKEN"));
    let wiki = OAuthConfig::default().client_id("wiki-cli").scopes(["read"]).redirect_port(3118);
    assert_eq!(auth_of(&config, "wiki"), AuthConfig::oauth(wiki));
    assert_eq!(auth_of(&config, "o"), AuthConfig::oauth(OAuthConfig::default()));
}

#[test]
fn vscode_layout_takes_native_auth() {
    let text = r#"{"servers": {"gh": {"type": "http", "url": "https://api.example.com/mcp",
                    "auth": {"type": "bearer", "token_env": "GH_TOKEN"}, "oauth": {}}}}"#;
    let loaded = loads(text, Format::Jsonc);
    assert_eq!(auth_of(&loaded.config, "gh"), AuthConfig::bearer("GH_TOKEN"));
    // Claude Code's `oauth` belongs to the mcpServers layout: here it is an unknown key.
    assert_eq!(
        warned(&loaded.warnings),
        [(Some("gh"), WarningKind::UnknownKey { key: "oauth".into() })]
    );
}

#[test]
fn claude_code_oauth_import() {
    let loaded = load("claude_code_oauth/.mcp.json");
    let config = &loaded.config;
    let sentry = OAuthConfig::default()
        .client_id("sentry-client-7")
        .redirect_port(8976)
        .scopes(["org:read", "project:read"]);
    assert_eq!(auth_of(config, "sentry"), AuthConfig::oauth(sentry));
    let notion = OAuthConfig::default().redirect_port(3118);
    assert_eq!(auth_of(config, "notion"), AuthConfig::oauth(notion));
    assert_eq!(config.get("asana").unwrap().transport(), mcp_config::TransportKind::Sse);
    let asana = OAuthConfig::default().client_id("asana-cli").scopes(["default"]);
    assert_eq!(auth_of(config, "asana"), AuthConfig::oauth(asana));
    assert_eq!(auth_of(config, "github"), AuthConfig::bearer("GITHUB_TOKEN"));
    assert_eq!(
        warned(&loaded.warnings),
        [(Some("sentry"), WarningKind::UnknownKey { key: "oauth.authServerMetadataUrl".into() })]
    );
    assert_eq!(
        loaded.warnings[0].to_string(),
        "server \"sentry\": ignored key `oauth.authServerMetadataUrl`, which mcp-config does not use"
    );
}

#[test]
fn cursor_auth_import() {
    let loaded = load("cursor_auth.json");
    let config = &loaded.config;
    let ServerConfig::StreamableHttp(pipeshub) = config.get("pipeshub").unwrap() else { panic!() };
    assert!(pipeshub.sse_fallback, "a bare `url` keeps its fallback with `auth`");
    // `${env:VAR}` in CLIENT_SECRET names the variable: it is not read (nor needed) at load.
    let expected = OAuthConfig::default()
        .client_id("pipeshub-client-8")
        .client_secret(SecretRef::env("PIPESHUB_CLIENT_SECRET"))
        .scopes(["openid", "offline_access", "kb:read"]);
    assert_eq!(pipeshub.auth, AuthConfig::oauth(expected));
    let expected = OAuthConfig::default()
        .client_id("mittwald-app")
        .client_secret(SecretRef::Value("mw-literal-secret6".into()))
        .scopes(["mcp"]);
    assert_eq!(auth_of(config, "mittwald"), AuthConfig::oauth(expected));
    // Cursor's table without CLIENT_ID: OAuth with discovery.
    let expected = OAuthConfig::default().scopes(["read"]);
    assert_eq!(auth_of(config, "discovered"), AuthConfig::oauth(expected));
    assert_eq!(
        warned(&loaded.warnings),
        [(Some("mittwald"), WarningKind::LiteralSecret { key: "auth.CLIENT_SECRET".into() })]
    );
    assert_eq!(
        loaded.warnings[0].to_string(),
        "server \"mittwald\": `auth.CLIENT_SECRET` holds the OAuth client secret itself: keep the \
         secret in an environment variable and write `${env:VAR}` there instead (or \
         `client_secret_env` in mcp-config's own layout), so that it stays out of the file"
    );
}

#[test]
fn secrets_written_as_a_variable_are_references_in_every_spelling() {
    for (written, expected) in [
        ("${APP_SECRET}", SecretRef::env("APP_SECRET")),
        ("${env:APP_SECRET}", SecretRef::env("APP_SECRET")),
        // Anything else is expanded and kept as the secret itself.
        ("${HOME:-x}/s", SecretRef::Value("/home/ada/s".into())),
        ("$${APP_SECRET}", SecretRef::Value("${APP_SECRET}".into())),
    ] {
        let text = format!(
            r#"{{"mcpServers": {{"a": {{"url": "https://a.example.com/mcp",
                 "auth": {{"CLIENT_ID": "a", "CLIENT_SECRET": "{written}"}}}}}}}}"#
        );
        let loaded = loads(&text, Format::Json);
        let AuthConfig::OAuth(oauth) = auth_of(&loaded.config, "a") else { panic!() };
        assert_eq!(oauth.client_secret, Some(expected.clone()), "{written}");
        let literal = matches!(expected, SecretRef::Value(_));
        assert_eq!(loaded.warnings.len(), usize::from(literal), "{written}");
    }
}

#[test]
fn builders_and_debug() {
    let oauth = OAuthConfig::default()
        .client_id("app")
        .client_secret(SecretRef::Value("lit-secret".into()))
        .scopes(["a"]);
    let sse =
        SseConfig::new("s", "https://s.example.com/sse").unwrap().auth(AuthConfig::oauth(oauth));
    let debug = format!("{sse:?}");
    assert!(
        debug.contains(
            r#"auth: OAuth(OAuthConfig { client_id: Some("app"), client_secret: Some(Value("***")), scopes: ["a"], redirect_port: None, client_metadata_url: None, grant: AuthorizationCode, private_key: None, signing_alg: Es256, idp: None })"#
        ),
        "{debug}"
    );
    assert!(!debug.contains("lit-secret"), "{debug}");
    let server = ServerConfig::from(sse);
    let ServerConfig::Sse(shown) = server.redacted() else { panic!() };
    let AuthConfig::OAuth(oauth) = &shown.auth else { panic!() };
    assert_eq!(oauth.client_secret, Some(SecretRef::Value("***".into())));
    assert_eq!(server.to_string(), "s (sse: https://s.example.com/sse)");
    let http = StreamableHttpConfig::new("h", "https://h.example.com/mcp")
        .unwrap()
        .auth(AuthConfig::bearer("H_TOKEN"));
    assert_eq!(http.auth.kind(), "bearer");
    assert!(format!("{http:?}").contains(r#"auth: Bearer { token_env: "H_TOKEN" }"#));
    assert_eq!(ServerConfig::from(http.clone()).redacted(), ServerConfig::from(http));
}

/// Every form, written by `to_json_string` and by serde, loads back equal.
#[test]
fn auth_round_trips() {
    let full = OAuthConfig::default()
        .client_id("app-$${literal}-${x}")
        .client_secret(SecretRef::env("APP_SECRET"))
        .scopes(["read", "write"])
        .redirect_port(8976)
        .client_metadata_url("https://app.example.com/oauth/client.json")
        .unwrap();
    let literal = OAuthConfig::default()
        .client_id("lit")
        .client_secret(SecretRef::Value("lit-${secret}".into()));
    let config = MCPConfig::new([
        SseConfig::new("none", "http://127.0.0.1:1/sse").unwrap().into(),
        SseConfig::new("bearer", "http://127.0.0.1:1/sse")
            .unwrap()
            .auth(AuthConfig::bearer("TOKEN_VAR"))
            .into(),
        StreamableHttpConfig::new("oauth", "http://127.0.0.1:1/mcp")
            .unwrap()
            .auth(AuthConfig::oauth(OAuthConfig::default()))
            .into(),
        StreamableHttpConfig::new("full", "http://127.0.0.1:1/mcp")
            .unwrap()
            .auth(AuthConfig::oauth(full))
            .into(),
        SseConfig::new("literal", "http://127.0.0.1:1/sse")
            .unwrap()
            .auth(AuthConfig::oauth(literal))
            .into(),
        StdioConfig::new("stdio", "x").into(),
    ])
    .unwrap();
    let text = config.to_json_string();
    let again = MCPConfig::from_str(&text, Format::Json).unwrap();
    assert_eq!(again.config, config, "{text}");
    assert_eq!(
        warned(&again.warnings),
        [(Some("literal"), WarningKind::LiteralSecret { key: "auth.client_secret".into() })]
    );
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(written["servers"][0].get("auth").is_none(), "the default is left out: {text}");
    assert_eq!(
        written["servers"][1]["auth"],
        serde_json::json!({"type": "bearer", "token_env": "TOKEN_VAR"})
    );
    assert_eq!(written["servers"][2]["auth"], serde_json::json!({"type": "oauth"}));
    assert_eq!(
        written["servers"][3]["auth"],
        serde_json::json!({
            "type": "oauth", "client_id": "app-$$${literal}-$${x}", "client_secret_env": "APP_SECRET",
            "scopes": ["read", "write"], "redirect_port": 8976,
            "client_metadata_url": "https://app.example.com/oauth/client.json"
        })
    );
    // The plain serde impls, in JSON and TOML (no expansion, no escaping).
    let back: MCPConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    let toml_text = toml::to_string(&config).unwrap();
    let back: MCPConfig = toml::from_str(&toml_text).unwrap();
    assert_eq!(back, config, "{toml_text}");
    // The string forms, through serde.
    let short: ServerConfig = serde_json::from_str(
        r#"{"transport": "sse", "server_name": "s", "url": "http://h/sse", "auth": "oauth"}"#,
    )
    .unwrap();
    let ServerConfig::Sse(short) = short else { panic!() };
    assert_eq!(short.auth, AuthConfig::oauth(OAuthConfig::default()));
}

#[test]
fn imports_round_trip_through_native_json() {
    for name in ["claude_code_oauth/.mcp.json", "cursor_auth.json"] {
        let loaded = load(name);
        let text = loaded.config.to_json_string();
        let again = MCPConfig::from_str(&text, Format::Json).unwrap();
        assert_eq!(again.config, loaded.config, "{name}:\n{text}");
    }
}

/// Loads `text`, expects an error at `line`:`column` whose message is `message`.
#[track_caller]
fn check(text: &str, format: Format, at: (usize, usize), message: &str) {
    let err = load_err(text, format);
    assert_eq!(err.location(), Some(Location { line: at.0, column: at.1 }), "wrong place: {err}");
    assert_eq!(err.to_string(), format!("line {}, column {}: {message}", at.0, at.1));
}

/// A native JSON file with one server of `transport` holding `extra` (JSON members).
fn native(transport: &str, extra: &str) -> String {
    let target = match transport {
        "stdio" => r#""command": "x""#,
        _ => r#""url": "https://h.example.com/mcp""#,
    };
    format!(
        r#"{{"servers": [{{"server_name": "a", "transport": "{transport}", {target}, {extra}}}]}}"#
    )
}

#[test]
fn auth_on_a_stdio_server() {
    let text = native("stdio", r#""auth": "oauth""#);
    check(
        &text,
        Format::Json,
        (1, 88),
        "server \"a\" is a stdio server, which takes no `auth`; remove it",
    );
    let text = r#"{"mcpServers": {"a": {"command": "x", "oauth": {"clientId": "c"}}}}"#;
    check(
        text,
        Format::Json,
        (1, 65),
        "server \"a\" is a stdio server, which takes no `oauth`; remove it",
    );
    let text =
        "[[servers]]\nserver_name = \"a\"\ncommand = \"x\"\n[servers.auth]\ntype = \"none\"\n";
    check(
        text,
        Format::Toml,
        (1, 1),
        "server \"a\" is a stdio server, which takes no `auth`; remove it",
    );
}

#[test]
fn auth_with_an_authorization_header() {
    let text = native(
        "sse",
        r#""headers": {"authorization": "Bearer lit-secret"}, "auth": {"type": "bearer", "token_env": "T"}"#,
    );
    check(
        &text,
        Format::Json,
        (1, 186),
        "server \"a\" sets both `auth` and an `Authorization` header; set one: `auth` or \
         `headers.Authorization`, not both",
    );
    // `none` goes with any header.
    loads(
        &native("sse", r#""headers": {"Authorization": "Bearer x"}, "auth": "none""#),
        Format::Json,
    );
    let text = r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp",
        "headers": {"Authorization": "Bearer x"}, "oauth": {"clientId": "c"}}}}"#;
    check(
        text,
        Format::Json,
        (2, 77),
        "server \"a\" sets both `oauth` and an `Authorization` header; set one: `oauth` or \
         `headers.Authorization`, not both",
    );
}

#[test]
fn client_secret_without_client_id() {
    let text = native("http", r#""auth": {"type": "oauth", "client_secret_env": "APP_SECRET"}"#);
    check(
        &text,
        Format::Json,
        (1, 151),
        "server \"a\": `auth` has a client secret but no client ID: a secret belongs to a client \
         registered beforehand; add its `client_id`, or remove the secret",
    );
    let text = r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp", "auth": {"CLIENT_SECRET": "${S}"}}}}"#;
    check(
        text,
        Format::Json,
        (1, 91),
        "server \"a\": `auth` has a client secret but no client ID: a secret belongs to a client \
         registered beforehand; add its `client_id`, or remove the secret",
    );
    let text = "[[servers]]\nserver_name = \"a\"\nurl = \"https://h.example.com/mcp\"\n\
                [servers.auth]\ntype = \"oauth\"\nclient_secret_env = \"S\"\n";
    check(
        text,
        Format::Toml,
        (4, 10),
        "server \"a\": `auth` has a client secret but no client ID: a secret belongs to a client \
         registered beforehand; add its `client_id`, or remove the secret",
    );
}

#[test]
fn redirect_port_zero() {
    let message = "server \"a\": `auth.redirect_port` is 0: give the loopback port the redirect URI \
                   was registered with (1 to 65535), or leave it out for any free port";
    let text = native("http", r#""auth": {"type": "oauth", "redirect_port": 0}"#);
    check(&text, Format::Json, (1, 136), message);
    let text = "[[servers]]\nserver_name = \"a\"\nurl = \"https://h.example.com/mcp\"\n\
                auth = { type = \"oauth\", redirect_port = 0 }\n";
    check(text, Format::Toml, (4, 42), message);
    let text = r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp", "oauth": {"callbackPort": 0}}}}"#;
    check(
        text,
        Format::Json,
        (1, 86),
        "server \"a\": `oauth.callbackPort` is 0: give the loopback port the redirect URI was \
         registered with (1 to 65535), or leave it out for any free port",
    );
    let text = native("http", r#""auth": {"type": "oauth", "redirect_port": 70000}"#);
    check(
        &text,
        Format::Json,
        (1, 139),
        "server \"a\": `auth.redirect_port`: invalid value: integer `70000`, expected u16; see \
         docs/configuration.md for the keys each server takes",
    );
}

#[test]
fn client_metadata_url_must_be_https() {
    let text = native(
        "http",
        r#""auth": {"type": "oauth", "client_metadata_url": "http://app.example.com/client.json"}"#,
    );
    check(
        &text,
        Format::Json,
        (1, 177),
        "server \"a\": `auth.client_metadata_url`: invalid client metadata URL \
         \"http://app.example.com/client.json\": the scheme is `http`, but it must be `https`; \
         write the https URL of the client ID metadata document, such as \
         https://app.example.com/oauth/client.json",
    );
}

#[test]
fn unknown_and_misplaced_auth_keys() {
    let keys = "type, token_env, client_id, client_secret_env, client_secret, scopes, \
                redirect_port, client_metadata_url, grant, private_key_env, private_key_file, \
                signing_alg, idp_token_endpoint, idp_client_id, idp_client_secret_env, id_token_env, \
                id_token_file";
    let text = native("http", r#""auth": {"type": "bearer", "token_var": "T"}"#);
    check(
        &text,
        Format::Json,
        (1, 129),
        &format!(
            "unknown key `token_var` in the `auth` of server \"a\": did you mean `token_env`? the \
             keys are {keys}"
        ),
    );
    // Cursor's spelling belongs to the mcpServers layout.
    let text = native("http", r#""auth": {"CLIENT_ID": "c"}"#);
    check(
        &text,
        Format::Json,
        (1, 111),
        &format!(
            "unknown key `CLIENT_ID` in the `auth` of server \"a\": did you mean `client_id`? the \
             keys are {keys}"
        ),
    );
    let text = native("http", r#""auth": {"type": "bearer", "token_env": "T", "scopes": ["a"]}"#);
    check(
        &text,
        Format::Json,
        (1, 152),
        "server \"a\": `auth.scopes` belongs to an `auth` of type oauth, and this one is of type \
         bearer; remove it, or change `type`",
    );
    let text = native("http", r#""auth": {"type": "bearer", "token_env": "T", "token_env": "U"}"#);
    check(
        &text,
        Format::Json,
        (1, 147),
        "duplicate key `token_env` in the `auth` of server \"a\": write each key once",
    );
    let text = r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp", "auth": {"CLIENT_ID": "c", "client_id": "d"}}}}"#;
    check(
        text,
        Format::Json,
        (1, 96),
        "duplicate key `client_id` in the `auth` of server \"a\" (as `CLIENT_ID`): write each key once",
    );
    let text = r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp", "auth": "oauth", "oauth": {}}}}"#;
    check(
        text,
        Format::Json,
        (1, 87),
        "server \"a\" has both `auth` and `oauth` (Claude Code's OAuth settings); keep one",
    );
}

#[test]
fn incomplete_auth() {
    let text = native("http", r#""auth": {"token_env": "T"}"#);
    check(
        &text,
        Format::Json,
        (1, 117),
        "server \"a\": `auth` has no `type`: write \"type\": \"bearer\" (with `token_env`), \
         \"oauth\" or \"none\"",
    );
    let text = native("http", r#""auth": {"type": "bearer"}"#);
    check(
        &text,
        Format::Json,
        (1, 117),
        "server \"a\": an `auth` of type bearer needs `token_env`, the name of the environment \
         variable that holds the token, such as \"token_env\": \"GITHUB_TOKEN\"",
    );
    let text = native("http", r#""auth": "bearer""#);
    check(
        &text,
        Format::Json,
        (1, 107),
        "server \"a\": `auth: \"bearer\"` needs the variable that holds the token: write \
         {\"type\": \"bearer\", \"token_env\": \"VAR\"}",
    );
    let text = native("http", r#""auth": {"type": "basic"}"#);
    check(
        &text,
        Format::Json,
        (1, 116),
        "server \"a\": unknown `auth.type` \"basic\": use \"none\", \"bearer\" or \"oauth\"",
    );
    let text = native(
        "http",
        r#""auth": {"type": "oauth", "client_id": "c", "client_secret_env": "S", "client_secret": "x"}"#,
    );
    check(
        &text,
        Format::Json,
        (1, 182),
        "server \"a\": `auth` has both `client_secret_env` and a `client_secret`; keep one \
         (`client_secret_env`, the name of the variable that holds the secret)",
    );
}

#[test]
fn token_env_must_be_a_name_and_is_not_quoted() {
    let message = "server \"a\": `auth.token_env` is not an environment variable name: write the NAME \
                   of the variable that holds the secret (letters, digits and `_`, not starting \
                   with a digit), such as GITHUB_TOKEN, not the secret itself nor `${VAR}`";
    let text = native("http", r#""auth": {"type": "bearer", "token_env": "Bearer lit-secret"}"#);
    check(&text, Format::Json, (1, 151), message);
    let text = native("http", r#""auth": {"type": "bearer", "token_env": "${GH_TOKEN}"}"#);
    check(&text, Format::Json, (1, 145), message);
}

/// The secrets in `auth` never show in Debug, Display, printed configs, warnings or errors.
#[test]
fn auth_secrets_stay_hidden() {
    let loaded = load("cursor_auth.json");
    for text in [
        format!("{:?}", loaded.config),
        format!("{loaded:#?}"),
        loaded.config.to_string(),
        loaded.config.redacted().to_json_string(),
        loaded.warnings.iter().map(ToString::to_string).collect(),
    ] {
        assert!(!text.contains("mw-literal-secret6"), "leaked in:\n{text}");
    }
    assert!(loaded.config.to_json_string().contains("mw-literal-secret6"), "written as it is");
    let cases = [
        // A fault of expansion shows the secret as `***`.
        (
            r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp", "auth": {"CLIENT_ID": "c", "CLIENT_SECRET": "lit-secret${"}}}}"#,
            "server \"a\": `auth`: unterminated `${` in \"***\"",
        ),
        // A value of the wrong type is not quoted.
        (
            r#"{"mcpServers": {"a": {"url": "https://h.example.com/mcp", "auth": {"CLIENT_ID": "c", "CLIENT_SECRET": 1234567}}}}"#,
            "invalid type: a value that is not a string, expected a string",
        ),
    ];
    for (text, expected) in cases {
        let err: LoadError = load_err(text, Format::Json);
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(expected), "{shown}");
        assert!(!shown.contains("lit-secret") && !shown.contains("1234567"), "{shown}");
    }
}

/// The schema describes `auth` on both remote transports, and it accepts and refuses what the
/// loader does for the shapes it knows.
#[test]
fn schema_describes_auth() {
    let schema = MCPConfig::json_schema();
    let auth = &schema["$defs"]["Auth"];
    assert_eq!(auth["oneOf"].as_array().map(Vec::len), Some(4), "{auth}");
    let variants = schema["$defs"]["ServerConfig"]["oneOf"].as_array().unwrap();
    for variant in variants {
        let transport = variant["properties"]["transport"]["const"].as_str().unwrap();
        let auth_ref = &variant["properties"]["auth"]["$ref"];
        if transport == "stdio" {
            assert!(auth_ref.is_null(), "{variant}");
        } else {
            assert_eq!(auth_ref, "#/$defs/Auth", "{transport}");
        }
    }
    let validator = jsonschema::options().offline().build(&schema).unwrap();
    let valid = |extra: &str, transport: &str| {
        let text = native(transport, extra);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        validator.is_valid(&value)
    };
    for good in [
        r#""auth": "none""#,
        r#""auth": "oauth""#,
        r#""auth": {"type": "none"}"#,
        r#""auth": {"type": "bearer", "token_env": "GH_TOKEN"}"#,
        r#""auth": {"type": "oauth", "client_id": "c", "client_secret_env": "S", "scopes": ["a"],
             "redirect_port": 8976, "client_metadata_url": "https://a.example.com/c.json"}"#,
        r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c",
             "client_secret_env": "S"}"#,
        r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c",
             "private_key_file": "key.pem", "signing_alg": "ES256"}"#,
        r#""auth": {"type": "oauth", "grant": "authorization_code"}"#,
        r#""auth": {"type": "oauth", "grant": "cross_app_access", "client_id": "c",
             "client_secret_env": "S", "idp_token_endpoint": "https://idp.example.com/token",
             "idp_client_id": "i", "idp_client_secret_env": "IS", "id_token_file": "t.jwt"}"#,
    ] {
        assert!(valid(good, "sse"), "refused: {good}");
        assert!(valid(good, "streamable_http"), "refused: {good}");
        // The loader reads every one of them too.
        loads(&native("sse", good), Format::Json);
    }
    for bad in [
        r#""auth": "bearer""#,
        r#""auth": {"type": "bearer"}"#,
        r#""auth": {"type": "bearer", "token_env": "Bearer x"}"#,
        r#""auth": {"type": "oauth", "client_secret_env": "S"}"#,
        r#""auth": {"type": "oauth", "redirect_port": 0}"#,
        r#""auth": {"type": "oauth", "client_metadata_url": "http://a.example.com/c.json"}"#,
        r#""auth": {"type": "oauth", "client_id": "c", "client_secret_env": "S", "client_secret": "x"}"#,
        r#""auth": {"type": "bearer", "token_env": "T", "scopes": []}"#,
        r#""auth": {"CLIENT_ID": "c"}"#,
        r#""auth": {"type": "oauth", "grant": "client_credentials"}"#,
        r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c"}"#,
        r#""auth": {"type": "oauth", "grant": "password", "client_id": "c"}"#,
        r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c",
             "private_key_env": "K", "private_key_file": "k.pem"}"#,
        r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c",
             "private_key_env": "K", "signing_alg": "RS256"}"#,
        r#""auth": {"type": "oauth", "client_id": "c", "private_key_env": "K"}"#,
        r#""auth": {"type": "oauth", "grant": "cross_app_access", "client_id": "c",
             "client_secret_env": "S", "idp_token_endpoint": "https://idp.example.com/token",
             "id_token_env": "T"}"#,
        r#""auth": {"type": "oauth", "idp_client_id": "i"}"#,
        r#""auth": {"type": "oauth", "grant": "cross_app_access", "client_id": "c",
             "client_secret_env": "S", "idp_token_endpoint": "https://idp.example.com/token",
             "idp_client_id": "i", "id_token_env": "T", "id_token_file": "t.jwt"}"#,
    ] {
        assert!(!valid(bad, "sse"), "accepted: {bad}");
        load_err(&native("sse", bad), Format::Json);
    }
    assert!(!valid(r#""auth": "none""#, "stdio"), "stdio servers take no auth");
}

/// The client credentials grant (SEP-1046): with a secret, a private key in a variable, or a
/// key file (relative to the config file's folder, with `${…}` expanded).
#[test]
fn client_credentials_forms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("servers.json");
    std::fs::write(
        &path,
        r#"{"servers": [
          {"server_name": "secret", "transport": "http", "url": "https://s.example.com/mcp",
           "auth": {"type": "oauth", "grant": "client_credentials", "client_id": "bot",
                    "client_secret_env": "BOT_SECRET", "scopes": ["read"]}},
          {"server_name": "jwt", "transport": "http", "url": "https://j.example.com/mcp",
           "auth": {"type": "oauth", "grant": "client_credentials", "client_id": "bot",
                    "private_key_env": "BOT_KEY", "signing_alg": "ES256"}},
          {"server_name": "file", "transport": "sse", "url": "https://f.example.com/sse",
           "auth": {"type": "oauth", "grant": "client_credentials", "client_id": "bot",
                    "private_key_file": "keys/${USER}.pem"}},
          {"server_name": "code", "transport": "http", "url": "https://c.example.com/mcp",
           "auth": {"type": "oauth", "grant": "authorization_code"}}
        ]}"#,
    )
    .unwrap();
    let loaded = Loader::new().vars([("USER", "ada")]).load(&path).unwrap();
    assert_eq!(loaded.warnings, []);
    let config = &loaded.config;
    let bot = OAuthConfig::default().client_id("bot").grant(OAuthGrant::ClientCredentials);
    assert_eq!(
        auth_of(config, "secret"),
        AuthConfig::oauth(bot.clone().client_secret(SecretRef::env("BOT_SECRET")).scopes(["read"]))
    );
    assert_eq!(
        auth_of(config, "jwt"),
        AuthConfig::oauth(bot.clone().private_key(SecretRef::env("BOT_KEY")))
    );
    let key = SecretRef::file(dir.path().join("keys/ada.pem"));
    assert_eq!(auth_of(config, "file"), AuthConfig::oauth(bot.clone().private_key(key)));
    assert_eq!(auth_of(config, "code"), AuthConfig::oauth(OAuthConfig::default()));
    // Written back, they load equal; the default grant and algorithm are left out.
    let text = config.to_json_string();
    let again = MCPConfig::from_str(&text, Format::Json).unwrap();
    assert_eq!(again.config, *config, "{text}");
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        written["servers"][1]["auth"],
        serde_json::json!({"type": "oauth", "client_id": "bot", "grant": "client_credentials",
                           "private_key_env": "BOT_KEY"})
    );
    assert_eq!(written["servers"][3]["auth"], serde_json::json!({"type": "oauth"}));
    // TOML, and the plain serde impls.
    let toml_text = toml::to_string(config).unwrap();
    assert_eq!(toml::from_str::<MCPConfig>(&toml_text).unwrap(), *config, "{toml_text}");
    let toml_native = "[[servers]]\nserver_name = \"t\"\nurl = \"https://t.example.com/mcp\"\n\
                       [servers.auth]\ntype = \"oauth\"\ngrant = \"client_credentials\"\n\
                       client_id = \"bot\"\nprivate_key_env = \"BOT_KEY\"\n";
    let config = loads(toml_native, Format::Toml).config;
    assert_eq!(
        auth_of(&config, "t"),
        AuthConfig::oauth(bot.private_key(SecretRef::env("BOT_KEY")))
    );
    // Debug shows the variable and the algorithm, never a key held in the config.
    let held = OAuthConfig::default()
        .client_id("bot")
        .grant(OAuthGrant::ClientCredentials)
        .private_key(SecretRef::Value("-----BEGIN PRIVATE KEY-----lit-key".into()))
        .signing_alg(SigningAlg::Es256);
    let http = StreamableHttpConfig::new("h", "https://h.example.com/mcp")
        .unwrap()
        .auth(AuthConfig::oauth(held));
    let debug = format!("{http:?}");
    assert!(
        debug.contains(
            r#"grant: ClientCredentials, private_key: Some(Value("***")), signing_alg: Es256"#
        ),
        "{debug}"
    );
    assert!(!debug.contains("lit-key"), "{debug}");
    let ServerConfig::StreamableHttp(shown) = ServerConfig::from(http).redacted() else { panic!() };
    let AuthConfig::OAuth(oauth) = &shown.auth else { panic!() };
    assert_eq!(oauth.private_key, Some(SecretRef::Value("***".into())));
}

#[test]
fn client_credentials_errors() {
    let cases = [
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "client_secret_env": "S"}"#,
            (1, 173),
            "server \"a\": `auth` has a client secret but no client ID: a secret belongs to a \
             client registered beforehand; add its `client_id`, or remove the secret",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "private_key_env": "K"}"#,
            (1, 171),
            "server \"a\": `auth` asks for the client_credentials grant but has no `client_id`: \
             add the client ID the authorization server registered for this client",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c"}"#,
            (1, 165),
            "server \"a\": `auth` asks for the client_credentials grant but gives no way to \
             authenticate: add `client_secret_env` (the variable holding the secret) or \
             `private_key_env`/`private_key_file` (a PKCS#8 PEM key, for private_key_jwt)",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c", "client_secret_env": "S", "private_key_env": "K"}"#,
            (1, 215),
            "server \"a\": `auth` has both a client secret and a private key; keep one: \
             `client_secret_env` (client_secret_basic or client_secret_post) or \
             `private_key_env`/`private_key_file` (private_key_jwt)",
        ),
        (
            r#""auth": {"type": "oauth", "client_id": "c", "private_key_file": "k.pem"}"#,
            (1, 163),
            "server \"a\": `auth` has a private key, which signs client assertions of the \
             client_credentials grant only: add \"grant\": \"client_credentials\", or remove the key",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "password"}"#,
            (1, 137),
            "server \"a\": unknown `auth.grant` \"password\": use \"authorization_code\" (the \
             default), \"client_credentials\" or \"cross_app_access\"",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c", "private_key_env": "K", "signing_alg": "RS256"}"#,
            (1, 213),
            "server \"a\": unsupported `auth.signing_alg` \"RS256\": only \"ES256\" (a P-256 key \
             in PKCS#8 PEM) is supported",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c", "private_key_env": "K", "private_key_file": "k.pem"}"#,
            (1, 218),
            "server \"a\": `auth` has both `private_key_env` and `private_key_file`; keep one (the \
             variable, or the file, that holds the PKCS#8 PEM key)",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "client_credentials", "client_id": "c", "private_key_env": "-----BEGIN"}"#,
            (1, 198),
            "server \"a\": `auth.private_key_env` is not an environment variable name: write the \
             NAME of the variable that holds the secret (letters, digits and `_`, not starting \
             with a digit), such as GITHUB_TOKEN, not the secret itself nor `${VAR}`",
        ),
    ];
    for (extra, at, message) in cases {
        let text = native("http", extra);
        let err = load_err(&text, Format::Json);
        assert_eq!(
            err.to_string(),
            format!("line {}, column {}: {message}", at.0, at.1),
            "{extra}"
        );
        // The serde impl refuses it too.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let server = value["servers"][0].clone();
        assert!(serde_json::from_value::<ServerConfig>(server).is_err(), "{extra}");
    }
}

/// The cross-app access grant (SEP-990): the identity provider's keys, complete or refused, and
/// only with that grant.
#[test]
fn cross_app_access_forms_and_errors() {
    let text = native(
        "http",
        r#""auth": {"type": "oauth", "grant": "cross_app_access", "client_id": "agent",
            "client_secret_env": "AGENT_SECRET", "idp_token_endpoint": "https://idp.example.com/token",
            "idp_client_id": "agent-at-idp", "idp_client_secret_env": "IDP_SECRET",
            "id_token_env": "ID_TOKEN"}"#,
    );
    let loaded = loads(&text, Format::Json);
    let idp =
        IdpConfig::new("https://idp.example.com/token", "agent-at-idp", SecretRef::env("ID_TOKEN"))
            .unwrap()
            .client_secret(SecretRef::env("IDP_SECRET"));
    let expected = OAuthConfig::default()
        .client_id("agent")
        .client_secret(SecretRef::env("AGENT_SECRET"))
        .grant(OAuthGrant::CrossAppAccess)
        .idp(idp);
    assert_eq!(auth_of(&loaded.config, "a"), AuthConfig::oauth(expected));
    let written = loaded.config.to_json_string();
    assert_eq!(MCPConfig::from_str(&written, Format::Json).unwrap().config, loaded.config);
    let toml_text = toml::to_string(&loaded.config).unwrap();
    assert_eq!(toml::from_str::<MCPConfig>(&toml_text).unwrap(), loaded.config);
    for (extra, message) in [
        (
            r#""auth": {"type": "oauth", "grant": "cross_app_access", "client_id": "agent", "client_secret_env": "S", "idp_client_id": "x"}"#,
            "`auth` asks for the cross_app_access grant but lacks `idp_token_endpoint`, \
             `id_token_env` or `id_token_file`: the identity provider's token endpoint, this \
             client's id there, and where the user's ID token is read",
        ),
        (
            r#""auth": {"type": "oauth", "id_token_file": "t.jwt"}"#,
            "`auth` names an identity provider (`idp_*`, `id_token_*`), which only the \
             cross_app_access grant uses: add \"grant\": \"cross_app_access\", or remove them",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "cross_app_access", "client_id": "agent", "idp_token_endpoint": "https://i/t", "idp_client_id": "x", "id_token_env": "T"}"#,
            "`auth` asks for the cross_app_access grant but gives no way to authenticate",
        ),
        (
            r#""auth": {"type": "oauth", "grant": "cross_app_access", "idp_token_endpoint": "ftp://i/t"}"#,
            "`auth.idp_token_endpoint`: invalid identity provider token endpoint \"ftp://i/t\": \
             the scheme is `ftp`, but it must be `https` (or `http`)",
        ),
    ] {
        let err = load_err(&native("http", extra), Format::Json).to_string();
        assert!(err.contains(message), "{extra}\n{err}");
        let value: serde_json::Value = serde_json::from_str(&native("http", extra)).unwrap();
        assert!(
            serde_json::from_value::<ServerConfig>(value["servers"][0].clone()).is_err(),
            "{extra}"
        );
    }
}
