//! `mcp-conformance-client URL`: our client (mcp-session over streamable HTTP) as the official
//! MCP conformance runner (`@modelcontextprotocol/conformance client`) drives it.
//!
//! The runner starts a mock server for a scenario, names the scenario in
//! `MCP_CONFORMANCE_SCENARIO` and runs this binary with the server's URL. It must exit 0 within
//! 30 s. What we do per scenario:
//! - `initialize`: open a session (initialize + initialized), list tools, close;
//! - `tools_call`: call `add_numbers` with `a` = 2 and `b` = 3;
//! - `elicitation-sep1034-client-defaults`: call the scenario's tool, accepting its elicitation
//!   with every default of the requested schema filled in;
//! - `sse-retry` and anything else: call every tool that takes no arguments.
//!
//! The `auth/*` scenarios protect their mock with OAuth: for those the server's `auth` is of
//! type oauth, logged in headless (the mock's authorization endpoint approves at once with a
//! redirect), with the client metadata document URL the reference client uses, and the
//! pre-registered `client_id` and `client_secret` when `MCP_CONFORMANCE_CONTEXT` gives them.
//! The `auth/client-credentials-*` scenarios (SEP-1046) ask for the client credentials grant
//! instead, with the context's `client_id` and its `client_secret` (client_secret_basic) or its
//! `private_key_pem` (private_key_jwt, ES256). `auth/cross-app-access-*` (SEP-990) asks for the
//! cross-app access grant: the context's `idp_id_token` is exchanged at its `idp_token_endpoint`
//! as `idp_client_id` for an ID-JAG, which the authorization server takes from the context's
//! client. Tokens are kept in a temporary directory removed at exit: every run logs in afresh.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use futures::future::BoxFuture;
use mcp_session::mcp_auth::{FileStore, LoginMode, SecretSource};
use mcp_session::mcp_config::{AuthConfig, IdpConfig, OAuthConfig, OAuthGrant, SecretRef};
use mcp_session::rmcp::ErrorData;
use mcp_session::rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction};
use mcp_session::{HandlerCapabilities, MCPClientSessionManager, Session, SessionHandler};
use serde_json::{Map, Value, json};

/// Accepts every elicitation with the requested schema's defaults.
struct Defaults;

impl SessionHandler for Defaults {
    fn capabilities(&self) -> HandlerCapabilities {
        HandlerCapabilities::default().elicitation()
    }

    fn create_elicitation(
        &self,
        _server: &str,
        request: ElicitRequestParams,
    ) -> BoxFuture<'static, Result<ElicitResult, ErrorData>> {
        let request = serde_json::to_value(&request).unwrap_or_default();
        let mut content = Map::new();
        if let Some(properties) = request["requestedSchema"]["properties"].as_object() {
            for (name, property) in properties {
                if let Some(default) = property.get("default") {
                    content.insert(name.clone(), default.clone());
                }
            }
        }
        let mut result = ElicitResult::new(ElicitationAction::Accept);
        result.content = Some(Value::Object(content));
        Box::pin(std::future::ready(Ok(result)))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: mcp-conformance-client URL (scenario in MCP_CONFORMANCE_SCENARIO)");
        return ExitCode::from(2);
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    match run(&url, &scenario).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mcp-conformance-client: {scenario}: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The client id metadata document URL of the runner's reference client (its `basic-cimd`
/// scenario checks that `client_id` is this URL).
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The name under which the context's `client_secret` is read (from [`Context`], never from the
/// environment).
const CLIENT_SECRET_VAR: &str = "MCP_CONFORMANCE_CLIENT_SECRET";

/// The name under which the context's `private_key_pem` is read (from [`Context`] too).
const PRIVATE_KEY_VAR: &str = "MCP_CONFORMANCE_PRIVATE_KEY";

/// The name under which the context's `idp_id_token` is read (from [`Context`] too).
const ID_TOKEN_VAR: &str = "MCP_CONFORMANCE_ID_TOKEN";

/// The scenario's `MCP_CONFORMANCE_CONTEXT`: secrets for the OAuth flow.
#[derive(Default)]
struct Context {
    client_id: Option<String>,
    client_secret: Option<String>,
    private_key_pem: Option<String>,
    signing_algorithm: Option<String>,
    idp_client_id: Option<String>,
    idp_id_token: Option<String>,
    idp_token_endpoint: Option<String>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

impl Context {
    fn from_env() -> Context {
        let value: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        Context {
            client_id: field("client_id"),
            client_secret: field("client_secret"),
            private_key_pem: field("private_key_pem"),
            signing_algorithm: field("signing_algorithm"),
            idp_client_id: field("idp_client_id"),
            idp_id_token: field("idp_id_token"),
            idp_token_endpoint: field("idp_token_endpoint"),
        }
    }
}

/// Secrets from the scenario's context: the client secret and the private key.
struct ContextSecrets {
    client_secret: Option<String>,
    private_key_pem: Option<String>,
    id_token: Option<String>,
}

impl std::fmt::Debug for ContextSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextSecrets(***)")
    }
}

impl SecretSource for ContextSecrets {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            CLIENT_SECRET_VAR => self.client_secret.clone(),
            PRIVATE_KEY_VAR => self.private_key_pem.clone(),
            ID_TOKEN_VAR => self.id_token.clone(),
            _ => None,
        }
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir()
            .join(format!("mcp-conformance-client-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn run(url: &str, scenario: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = mcp_session::mcp_config::StreamableHttpConfig::new("conformance", url)?;
    let mut builder = MCPClientSessionManager::builder()
        .client_info("mcp-session-rs-conformance", env!("CARGO_PKG_VERSION"))
        .handler(Defaults);
    let state = TempDir::new()?;
    if scenario.starts_with("auth/") {
        let context = Context::from_env();
        let mut oauth = OAuthConfig::default().client_metadata_url(CLIENT_METADATA_URL)?;
        if let Some(client_id) = context.client_id {
            oauth = oauth.client_id(client_id);
            if context.client_secret.is_some() {
                oauth = oauth.client_secret(SecretRef::env(CLIENT_SECRET_VAR));
            }
        }
        if scenario.starts_with("auth/client-credentials") {
            oauth = oauth.grant(OAuthGrant::ClientCredentials);
            if context.private_key_pem.is_some() {
                if let Some(alg) = context.signing_algorithm.as_deref().filter(|a| *a != "ES256") {
                    return Err(
                        format!("signing_algorithm {alg} is not supported (ES256 is)").into()
                    );
                }
                oauth = oauth.private_key(SecretRef::env(PRIVATE_KEY_VAR));
            }
        }
        if scenario.starts_with("auth/cross-app-access")
            && let (Some(endpoint), Some(idp_client_id)) =
                (&context.idp_token_endpoint, &context.idp_client_id)
        {
            let idp = IdpConfig::new(endpoint, idp_client_id, SecretRef::env(ID_TOKEN_VAR))?;
            oauth = oauth.grant(OAuthGrant::CrossAppAccess).idp(idp);
        }
        config = config.auth(AuthConfig::oauth(oauth));
        builder = builder
            .login(LoginMode::Headless)
            .token_store(Arc::new(FileStore::new(&state.0)))
            .secrets(Arc::new(ContextSecrets {
                client_secret: context.client_secret,
                private_key_pem: context.private_key_pem,
                id_token: context.idp_id_token,
            }));
    }
    let manager = builder.build();
    let session = manager.open_session(&config.into()).await?;
    let outcome = scenario_steps(&session, scenario).await;
    let closed = session.close().await;
    outcome?;
    closed?;
    Ok(())
}

async fn scenario_steps(
    session: &Session,
    scenario: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let tools = session.list_tools().await?;
    match scenario {
        "initialize" => {}
        "tools_call" => {
            let result = session.call_tool("add_numbers", json!({"a": 2, "b": 3})).await?;
            if result.is_error == Some(true) {
                return Err(format!("add_numbers failed: {result:?}").into());
            }
        }
        _ => {
            for tool in tools.iter().filter(|tool| {
                tool.input_schema
                    .get("required")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
            }) {
                session.call_tool(&tool.name, json!({})).await?;
            }
        }
    }
    Ok(())
}
