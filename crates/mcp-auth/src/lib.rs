//! OAuth 2.1 for MCP clients: getting and keeping bearer tokens for one server and resource.
//!
//! This crate runs the client side of the MCP authorization spec on top of rmcp's `auth`
//! feature (discovery, PKCE, registration, token exchange and refresh), and adds what a client
//! that runs for weeks needs around it:
//!
//! - [`Authorizer`] (`flow.rs`): one per server and URL, shared by that server's sessions. A
//!   transport asks it for [`bearer`](Authorizer::bearer) before a request, and calls
//!   [`unauthorized`](Authorizer::unauthorized) after a 401 or
//!   [`insufficient_scope`](Authorizer::insufficient_scope) after a 403, then retries with the
//!   token it gets. Calls run one at a time, so concurrent 401s make one authorization; a
//!   [`Round`] caps one request at [`MAX_AUTHORIZATIONS_PER_REQUEST`] authorizations.
//! - [`LoginMode`] (`agent.rs`): whether an authorization may reach a person. `Never` fails
//!   with [`AuthError::LoginRequired`]; `Headless` follows the authorization server's redirects
//!   itself, for servers that approve at once; `Interactive` opens a [`Browser`] and waits for
//!   the redirect on a loopback listener.
//! - [`TokenStore`] and [`FileStore`] (`store.rs`): the record of one server (client id and
//!   secret, redirect URI, the authorization server's metadata, the tokens), one `0600` JSON
//!   file per server and URL, replaced atomically, refreshes coordinated by a file lock.
//! - [`ReqwestOAuth`] (`http.rs`): every OAuth HTTP request goes through reqwest clients the
//!   caller builds (so TLS roots and `ca_file` are the caller's), with a deadline and a body cap.
//! - [`AuthError`] (`error.rs`) names the [`Step`] that failed; no message holds a token, a
//!   code or a secret, and `Debug` of [`Token`] and [`Secret`] prints `***`.
//!
//! It opens no MCP transport: it speaks HTTP only to the resource's metadata URLs and the
//! authorization server.
//!
//! rmcp logs the authorization code and extra token fields at `debug`
//! (`rmcp::transport::auth`); binaries should filter that target to `info`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mcp_auth::{Authorizer, FileStore, LoginMode, ReqwestOAuth, Round};
//! use mcp_config::OAuthConfig;
//!
//! # async fn demo(no_redirects: reqwest::Client, following: reqwest::Client)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let url = url::Url::parse("https://docs.example/mcp")?;
//! let auth = Authorizer::builder("docs", &url, OAuthConfig::default(),
//!         ReqwestOAuth::new(no_redirects, following))
//!     .store(Arc::new(FileStore::default_location()?))
//!     .login(LoginMode::Headless)
//!     .build()?;
//!
//! // One logical request: send with the stored token, if any; on a 401, get another and retry.
//! let mut round = Round::new();
//! let sent = auth.bearer().await?;
//! let challenge = r#"Bearer resource_metadata="https://docs.example/.well-known/oauth-protected-resource/mcp""#;
//! let token = auth.unauthorized(Some(challenge), sent.as_ref(), &mut round).await?;
//! println!("retry with {token:?}"); // prints Token(***)
//! # Ok(())
//! # }
//! ```

mod agent;
mod error;
mod flow;
mod http;
mod jwt;
#[cfg(test)]
mod mock;
mod policy;
mod secret;
mod store;

pub use agent::{Browser, LoginMode, SystemBrowser};
pub use error::{AuthError, Step};
pub use flow::{
    Authorizer, AuthorizerBuilder, DEFAULT_REDIRECT_PORT, MAX_AUTHORIZATIONS_PER_REQUEST, Round,
};
pub use http::{MAX_OAUTH_BODY_BYTES, OAUTH_HTTP_DEADLINE, ReqwestOAuth};
pub use secret::{ProcessEnv, Secret, SecretSource, Token};
pub use store::{FileStore, STATE_DIR_VAR, StoreKey, StoreLock, StoredAuth, TokenStore};
