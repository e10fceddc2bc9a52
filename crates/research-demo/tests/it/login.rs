//! `research-demo login` and `logout` against testkit's `OAuthFixture` (an authorization server
//! and the MCP server it protects, in this test process on loopback), the binary run as a
//! process with `MCP_SESSION_STATE_DIR` set to a temp dir in its environment only: a headless
//! login stores a `0600` file that a later `tools` uses without a new authorization; an
//! interactive login completes through `BROWSER="testkit-mcp browse"`; `logout` removes the
//! file; off a terminal a command never opens a browser and asks for `research-demo login`;
//! usage errors exit 2. The fixture's counters say what happened, so no test sleeps.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::json;
use testkit::oauth::{FixtureOptions, OAuthFixture};

use crate::common::{Ran, marker, research_demo_with};

/// A config file in `dir` with the fixture's MCP server as `docs` (`auth: oauth`) and
/// testkit-mcp over stdio as `plain`.
fn config(dir: &Path, fixture: &OAuthFixture) -> String {
    let servers = json!({"servers": [
        {
            "server_name": "docs",
            "transport": "streamable_http",
            "url": fixture.mcp_url(),
            "auth": {"type": "oauth"},
        },
        {
            "server_name": "plain",
            "transport": "stdio",
            "command": testkit::testkit_mcp(),
            "args": ["stdio"],
        },
    ]});
    let path = dir.join("servers.json");
    std::fs::write(&path, servers.to_string()).unwrap();
    path.display().to_string()
}

/// A test's temp dir, its config and its state dir (where the tokens go).
struct Setup {
    _dir: tempfile::TempDir,
    config: String,
    state: PathBuf,
}

impl Setup {
    fn new(fixture: &OAuthFixture) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), fixture);
        let state = dir.path().join("state");
        Setup { _dir: dir, config, state }
    }

    /// `research-demo ARGS --config CONFIG` with `MCP_SESSION_STATE_DIR` and `env` set.
    async fn run(&self, args: &[&str], env: &[(&str, &OsStr)], marker: &str) -> Ran {
        let mut env = env.to_vec();
        env.push(("MCP_SESSION_STATE_DIR", self.state.as_os_str()));
        let args = [args, &["--config", &self.config]].concat();
        research_demo_with(None, &args, &env, marker).await
    }

    /// The one token file in the state dir, if any.
    fn token_file(&self) -> Option<PathBuf> {
        let files: Vec<PathBuf> = std::fs::read_dir(self.state.join("oauth"))
            .into_iter()
            .flatten()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        assert!(files.len() <= 1, "{files:?}");
        files.into_iter().next()
    }
}

/// The access and refresh tokens in the record at `path`.
fn tokens(path: &Path) -> Vec<String> {
    let tokens = testkit::oauth::tokens_in(
        &serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
    );
    assert!(!tokens.is_empty(), "no tokens in {}", path.display());
    tokens
}

/// Checks what `login` printed: the issuer and the file, and no token.
#[track_caller]
fn check_report(ran: &Ran, fixture: &OAuthFixture, file: &Path) {
    let stdout = &ran.stdout;
    assert!(stdout.starts_with("Logged in to docs.\n"), "{stdout}");
    assert!(stdout.contains(&format!("  issuer:  {}\n", fixture.issuer())), "{stdout}");
    assert!(stdout.contains("  scopes:  "), "{stdout}");
    assert!(stdout.contains("  expires: ") && stdout.contains(" min; refreshed"), "{stdout}");
    assert!(stdout.contains(&format!("  stored:  {}\n", file.display())), "{stdout}");
    for token in tokens(file) {
        assert!(!stdout.contains(&token) && !ran.stderr.contains(&token), "a token was printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_login_is_used_by_tools_and_logout_removes_it() {
    let marker = marker("login-headless");
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let setup = Setup::new(&fixture);

    let ran = setup.run(&["login", "docs", "--headless"], &[], &marker).await;
    ran.exits(0);
    let file = setup.token_file().expect("a token file");
    check_report(&ran, &fixture, &file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let after_login = fixture.counters();
    assert_eq!(after_login.authorize, 1);
    assert_eq!(after_login.token_authorization_code, 1);

    // `tools` uses the stored tokens: no new authorization.
    let ran = setup.run(&["tools", "docs"], &[], &marker).await;
    ran.exits(0);
    assert!(ran.stdout.starts_with("docs: ") && ran.stdout.contains("  echo "), "{}", ran.stdout);
    let after_tools = fixture.counters();
    assert_eq!(after_tools.authorize, 1);
    assert_eq!(after_tools.token_authorization_code, 1);
    assert!(after_tools.authorized > after_login.authorized);

    let ran = setup.run(&["logout", "docs"], &[], &marker).await;
    ran.exits(0);
    assert_eq!(
        ran.stdout,
        format!("Logged out of docs: removed its stored tokens ({}).\n", file.display())
    );
    assert!(!file.exists());
    let ran = setup.run(&["logout", "docs"], &[], &marker).await;
    ran.exits(0);
    assert!(ran.stdout.starts_with("docs had no stored tokens ("), "{}", ran.stdout);
    fixture.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_login_completes_in_the_browser() {
    let marker = marker("login-interactive");
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let setup = Setup::new(&fixture);
    let browser = format!("'{}' browse", testkit::testkit_mcp().display());

    // stdin is not a terminal, but `login` is interactive all the same.
    let ran = setup.run(&["login", "docs"], &[("BROWSER", OsStr::new(&browser))], &marker).await;
    ran.exits(0);
    let file = setup.token_file().expect("a token file");
    check_report(&ran, &fixture, &file);
    assert_eq!(fixture.counters().authorize, 1);
    let redirect = fixture.authorize_requests()[0].redirect_uri.clone().unwrap_or_default();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    fixture.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_a_terminal_a_missing_login_fails_with_the_hint() {
    let marker = marker("login-missing");
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let setup = Setup::new(&fixture);
    // A browser that would log in, to show that none is opened.
    let browser = format!("'{}' browse", testkit::testkit_mcp().display());

    let ran = setup.run(&["tools", "docs"], &[("BROWSER", OsStr::new(&browser))], &marker).await;
    ran.exits(1);
    assert!(ran.stderr.contains("docs: not logged in ("), "{}", ran.stderr);
    assert!(ran.stderr.contains("run `research-demo login docs`"), "{}", ran.stderr);
    assert_eq!(fixture.counters().authorize, 0, "no browser, no authorization");
    assert!(setup.token_file().is_none());
    fixture.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_server_or_one_without_oauth_is_2() {
    let marker = marker("login-usage");
    let fixture = OAuthFixture::start(FixtureOptions::default()).await;
    let setup = Setup::new(&fixture);

    let ran = setup.run(&["login", "dcos", "--headless"], &[], &marker).await;
    ran.exits(2);
    assert!(
        ran.stderr.contains("unknown MCP server \"dcos\": Known servers: docs, plain"),
        "{}",
        ran.stderr
    );
    let ran = setup.run(&["login", "plain"], &[], &marker).await;
    ran.exits(2);
    assert!(
        ran.stderr.contains("research-demo: plain does not use OAuth (it is a stdio server)"),
        "{}",
        ran.stderr
    );
    let ran = setup.run(&["logout", "nope"], &[], &marker).await;
    ran.exits(2);
    assert!(ran.stderr.contains("Known servers: docs, plain"), "{}", ran.stderr);
    assert_eq!(fixture.counters().authorize, 0);
    fixture.shutdown().await;
}
