//! `research-demo login SERVER [--headless]` and `logout SERVER`: OAuth for a server whose
//! config says `"auth": {"type": "oauth"}`, ahead of the commands that use it; and
//! [`manager`], the session manager of every command that opens sessions, whose login mode
//! ([`session_login_mode`]) reaches a person only on a terminal.
//!
//! The tokens live in one `0600` file per server and URL under `$MCP_SESSION_STATE_DIR/oauth`
//! (else under `$XDG_STATE_HOME/mcp-session-rs` or `~/.local/state/mcp-session-rs`; mcp-auth's
//! `FileStore`). Nothing here prints a token: what `login` reports comes from the record's
//! issuer, scopes and expiry, and the file's path.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_auth::{FileStore, LoginMode, StoreKey, StoredAuth};
use mcp_session::mcp_config::{AuthConfig, ServerConfig};

use crate::cli::{LoginArgs, LogoutArgs, ServerArgs};
use crate::error::Error;
use crate::output::Output;
use crate::signal::Signals;

/// The login mode of the commands that open sessions: [`LoginMode::interactive`] when stdin
/// and stderr are terminals (a person is there to use the browser), else [`LoginMode::Never`],
/// so that a run in CI never opens a browser and a missing login fails with
/// `SessionError::LoginRequired` ("run `research-demo login NAME`").
pub(crate) fn session_login_mode() -> LoginMode {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        LoginMode::interactive()
    } else {
        LoginMode::Never
    }
}

/// The session manager of a command that opens sessions, with [`session_login_mode`].
pub(crate) fn manager() -> MCPClientSessionManager {
    MCPClientSessionManager::builder().login(session_login_mode()).build()
}

/// `research-demo login SERVER`: runs an OAuth authorization for the server now (in a browser,
/// or headless with `--headless`), stores its tokens, and says what was stored.
pub(crate) async fn login(args: LoginArgs, output: &Output, signals: Signals) -> Result<(), Error> {
    let login = if args.headless { LoginMode::Headless } else { LoginMode::interactive() };
    let (server, store, path) = oauth_server(&args.servers, &args.server).await?;
    let manager =
        MCPClientSessionManager::builder().login(login).token_store(Arc::new(store)).build();
    let outcome = tokio::select! {
        outcome = manager.login(&server) => outcome.map_err(Error::Login),
        signal = signals.first() => Err(Error::Interrupted { signal }),
    };
    manager.shutdown().await;
    let Some(stored) = outcome? else {
        // `oauth_server` checked that the server's `auth` is oauth.
        return Err(Error::NotOAuth { server: args.server, has: auth_of(&server) });
    };
    for line in report(&args.server, &stored, &path, SystemTime::now()) {
        output.line(&line);
    }
    Ok(())
}

/// `research-demo logout SERVER`: deletes the tokens stored for the server, and says whether
/// there were any.
pub(crate) async fn logout(args: LogoutArgs, output: &Output) -> Result<(), Error> {
    let (server, store, path) = oauth_server(&args.servers, &args.server).await?;
    let manager = MCPClientSessionManager::builder().token_store(Arc::new(store)).build();
    let removed = manager.logout(&server).await.map_err(Error::Login)?;
    let name = &args.server;
    output.line(&if removed {
        format!("Logged out of {name}: removed its stored tokens ({}).", path.display())
    } else {
        format!("{name} had no stored tokens ({} does not exist).", path.display())
    });
    Ok(())
}

/// The configured server named `name`, which must use OAuth; the store its tokens go to, and
/// the file that holds them there.
async fn oauth_server(
    args: &ServerArgs,
    name: &str,
) -> Result<(ServerConfig, FileStore, PathBuf), Error> {
    // Only the named server is chosen: an unknown name is an error listing the known ones, and
    // the built-in Wikipedia server is started only when named (it does not use OAuth).
    let mut args = args.clone();
    args.only = vec![name.to_owned()];
    let servers = crate::sources::resolve(&args).await?;
    let server = servers.config.get(name).map_err(Error::UnknownServer).cloned();
    servers.stop().await;
    let server = server?;
    let url = match &server {
        ServerConfig::Sse(sse) if matches!(sse.auth, AuthConfig::OAuth(_)) => sse.url.clone(),
        ServerConfig::StreamableHttp(http) if matches!(http.auth, AuthConfig::OAuth(_)) => {
            http.url.clone()
        }
        _ => return Err(Error::NotOAuth { server: name.to_owned(), has: auth_of(&server) }),
    };
    let store = FileStore::default_location().map_err(|reason| Error::TokenStore { reason })?;
    let path = store.path(&StoreKey::new(name, &url));
    Ok((server, store, path))
}

/// What `server` has instead of OAuth, for [`Error::NotOAuth`].
fn auth_of(server: &ServerConfig) -> String {
    match server {
        ServerConfig::Sse(sse) => format!("its `auth` is `{}`", sse.auth.kind()),
        ServerConfig::StreamableHttp(http) => format!("its `auth` is `{}`", http.auth.kind()),
        _ => "it is a stdio server".to_owned(),
    }
}

/// What `login` prints: the issuer, the scopes, the expiry and the file; never a token.
fn report(name: &str, stored: &StoredAuth, path: &std::path::Path, now: SystemTime) -> Vec<String> {
    let scopes = match stored.granted_scopes() {
        [] => "none named".to_owned(),
        scopes => scopes.join(" "),
    };
    let expires = match stored.expires_at() {
        Some(at) => {
            let left = at.duration_since(now).unwrap_or_default().as_secs();
            let at = humantime::format_rfc3339_seconds(at);
            format!("{at} (in {} min; refreshed when needed)", left.div_ceil(60))
        }
        None => "not said by the server".to_owned(),
    };
    vec![
        format!("Logged in to {name}."),
        format!("  issuer:  {}", stored.issuer().unwrap_or("unknown")),
        format!("  scopes:  {scopes}"),
        format!("  expires: {expires}"),
        format!("  stored:  {}", path.display()),
    ]
}
