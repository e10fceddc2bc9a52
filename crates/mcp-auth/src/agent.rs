//! The user step of an authorization: [`LoginMode`] says whether and how the authorization URL
//! is visited; `headless` visits it without a person, `interactive` opens a [`Browser`] and
//! waits for the redirect on a loopback [`Listener`].

use std::fmt;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use mcp_config::redact::redact_url;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use url::Url;

use crate::error::{AuthError, Step};
use crate::http::OAUTH_HTTP_DEADLINE;

/// How many redirects the headless login follows on the authorization server's origin.
const HEADLESS_MAX_REDIRECTS: usize = 5;

/// How an authorization reaches the user (or does without one).
///
/// ```
/// use mcp_auth::LoginMode;
///
/// assert_eq!(LoginMode::default(), LoginMode::Never);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginMode {
    /// No user step: when no stored or refreshed token works, fail with
    /// [`AuthError::LoginRequired`]. The default for libraries and non-interactive runs.
    #[default]
    Never,
    /// Visit the authorization URL without a person: `GET` it without following redirects,
    /// follow at most 5 redirects on the authorization server's origin, and take the redirect
    /// to the `redirect_uri` carrying `code` and `state`. Works with servers that approve at
    /// once (test servers, some enterprise setups); a login page gives
    /// [`AuthError::LoginRequired`].
    Headless,
    /// Listen on `127.0.0.1:PORT` (the configured `redirect_port`, else a free one) before
    /// registering, open the authorization URL in a [`Browser`] (or print it to stderr when none
    /// opens), and wait at most `login_timeout` for the redirect to `/callback`.
    Interactive {
        /// How long to wait for the person to finish.
        login_timeout: Duration,
    },
}

impl LoginMode {
    /// [`Interactive`](Self::Interactive) with the default 300 s timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_auth::LoginMode;
    ///
    /// assert_eq!(LoginMode::interactive(), LoginMode::Interactive { login_timeout: Duration::from_secs(300) });
    /// ```
    pub fn interactive() -> Self {
        LoginMode::Interactive { login_timeout: Duration::from_secs(300) }
    }
}

/// Opens a URL for a person: the interactive login's browser.
pub trait Browser: Send + Sync + fmt::Debug {
    /// Starts opening `url`; returns once the opener is started, not when the person is done.
    ///
    /// # Errors
    /// When no opener could be started (the URL is then printed to stderr instead).
    fn open(&self, url: &str) -> io::Result<()>;
}

/// [`Browser`] of the desktop: `$BROWSER` (split as a shell would, the URL appended), else
/// `open` on macOS and `xdg-open` elsewhere. The opener runs in the background.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemBrowser;

impl Browser for SystemBrowser {
    fn open(&self, url: &str) -> io::Result<()> {
        let command = match std::env::var("BROWSER") {
            Ok(value) if !value.trim().is_empty() => {
                shlex::split(&value).filter(|words| !words.is_empty()).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "BROWSER does not parse")
                })?
            }
            _ => vec![if cfg!(target_os = "macos") { "open" } else { "xdg-open" }.to_owned()],
        };
        // tokio reaps the child in the background once it exits.
        tokio::process::Command::new(&command[0])
            .args(&command[1..])
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(drop)
    }
}

/// The loopback listener of an interactive login, bound before registration so that the
/// registered redirect URI names its real port.
#[derive(Debug)]
pub(crate) struct Listener {
    listener: TcpListener,
    pub(crate) redirect_uri: String,
}

/// Binds `127.0.0.1:port` (0: any free port).
pub(crate) async fn bind(server: &str, port: u16) -> Result<Listener, AuthError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        AuthError::flow(
            server,
            Step::Authorization,
            format!("cannot listen on 127.0.0.1:{port}: {e}"),
        )
    })?;
    let port =
        listener.local_addr().map_err(|e| AuthError::flow(server, Step::Authorization, e))?.port();
    Ok(Listener { listener, redirect_uri: format!("http://127.0.0.1:{port}/callback") })
}

/// Opens `auth_url` in `browser` and waits, at most `timeout`, for the redirect to the
/// listener's `/callback` carrying the authorization request's `state`: the callback URL.
pub(crate) async fn interactive(
    server: &str,
    browser: &dyn Browser,
    listener: Listener,
    auth_url: &str,
    timeout: Duration,
) -> Result<String, AuthError> {
    let fail = |reason: String| AuthError::flow(server, Step::Authorization, reason);
    let expected_state = Url::parse(auth_url)
        .ok()
        .and_then(|url| url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()))
        .ok_or_else(|| fail("the authorization URL has no state".to_owned()))?;
    if let Err(err) = browser.open(auth_url) {
        tracing::debug!(server, "OAuth: no browser opened: {err}");
        eprintln!("To log in to {server}, open this URL in a browser:\n{auth_url}");
    }
    let wait = async {
        loop {
            let (mut stream, _) =
                listener.listener.accept().await.map_err(|e| fail(e.to_string()))?;
            let Some(target) = read_target(&mut stream).await else { continue };
            let url = Url::parse(&format!("http://127.0.0.1{target}")).ok();
            let url = url.filter(|url| url.path() == "/callback");
            let state = url.as_ref().and_then(|url| {
                url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned())
            });
            if state.as_deref() != Some(expected_state.as_str()) {
                // Not our redirect (a favicon, a stale tab, a forged request): keep waiting.
                let _ = respond(&mut stream, "404 Not Found", "Not found.").await;
                continue;
            }
            let mut redirect =
                Url::parse(&listener.redirect_uri).map_err(|e| fail(e.to_string()))?;
            redirect.set_query(url.as_ref().and_then(Url::query));
            let _ = respond(&mut stream, "200 OK", "Logged in. You can close this tab.").await;
            return callback(server, redirect);
        }
    };
    match tokio::time::timeout(timeout, wait).await {
        Ok(result) => result,
        Err(_) => Err(AuthError::LoginRequired {
            server: server.to_owned(),
            reason: format!("no login within {timeout:?}"),
        }),
    }
}

/// The request target of an HTTP request (`/callback?…`), its head read up to 8 KiB.
async fn read_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .ok()?
            .ok()?;
        if read == 0 || head.len() > 8 * 1024 {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let line = String::from_utf8_lossy(&head).lines().next()?.to_owned();
    let mut words = line.split_whitespace();
    (words.next() == Some("GET")).then(|| words.next().map(str::to_owned)).flatten()
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, text: &str) -> io::Result<()> {
    let body = format!("<!doctype html><title>{text}</title><p>{text}</p>");
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Visits `auth_url` headless (see [`LoginMode::Headless`]): the URL of the redirect to
/// `redirect_uri`, to hand to rmcp's callback handling. Nothing secret reaches an error.
pub(crate) async fn headless(
    server: &str,
    http: &reqwest::Client,
    auth_url: &str,
    redirect_uri: &Url,
) -> Result<String, AuthError> {
    let fail = |reason: String| AuthError::flow(server, Step::Authorization, reason);
    let mut url = Url::parse(auth_url).map_err(|e| fail(format!("bad authorization URL: {e}")))?;
    let origin = url.origin();
    for hop in 0..=HEADLESS_MAX_REDIRECTS {
        let response = tokio::time::timeout(OAUTH_HTTP_DEADLINE, http.get(url.clone()).send())
            .await
            .map_err(|_| {
                fail(format!(
                    "no answer from the authorization server within {OAUTH_HTTP_DEADLINE:?}"
                ))
            })?
            .map_err(|e| fail(format!("the authorization request failed: {}", e.without_url())))?;
        let status = response.status();
        if status.is_redirection() {
            let location =
                response
                    .headers()
                    .get(LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| fail(format!("a {status} redirect without a Location")))?;
            let next = url.join(location).map_err(|e| fail(format!("a bad redirect: {e}")))?;
            if is_redirect_target(&next, redirect_uri) {
                return callback(server, next);
            }
            if next.origin() != origin {
                return Err(AuthError::LoginRequired {
                    server: server.to_owned(),
                    reason: format!(
                        "the authorization server sent the login to another site ({})",
                        redact_url(&without_query(&next))
                    ),
                });
            }
            if hop == HEADLESS_MAX_REDIRECTS {
                break;
            }
            url = next;
            continue;
        }
        if status == StatusCode::OK {
            return Err(AuthError::LoginRequired {
                server: server.to_owned(),
                reason: "the authorization server shows a login page".to_owned(),
            });
        }
        return Err(fail(format!("the authorization server answered {status}")));
    }
    Err(fail(format!("more than {HEADLESS_MAX_REDIRECTS} redirects on the authorization server")))
}

/// Whether `url` is the redirect URI (same scheme, host, port and path; any query).
fn is_redirect_target(url: &Url, redirect_uri: &Url) -> bool {
    url.scheme() == redirect_uri.scheme()
        && url.host_str() == redirect_uri.host_str()
        && url.port_or_known_default() == redirect_uri.port_or_known_default()
        && url.path() == redirect_uri.path()
}

/// The callback URL when it carries a code, else the authorization server's refusal.
fn callback(server: &str, url: Url) -> Result<String, AuthError> {
    let param =
        |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if let Some(error) = param("error") {
        // An RFC 6749 error code is a short ASCII word, no secret; the description may be long.
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return Err(AuthError::flow(
            server,
            Step::Authorization,
            format!("the authorization server refused the request: {error}"),
        ));
    }
    if param("code").is_none() || param("state").is_none() {
        return Err(AuthError::flow(
            server,
            Step::Authorization,
            "the redirect carries no code or no state",
        ));
    }
    Ok(url.into())
}

fn without_query(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{self, Answer};

    const REDIRECT: &str = "http://127.0.0.1:8976/callback";

    async fn visit(mock: &mock::Mock) -> Result<String, AuthError> {
        let http = mock::http();
        let redirect = Url::parse(REDIRECT).unwrap();
        headless("docs", http.no_redirects(), &format!("{}/authorize?x=1", mock.origin), &redirect)
            .await
    }

    #[tokio::test]
    async fn redirects_on_the_servers_origin_are_followed_to_the_callback() {
        let mock = mock::serve(|_, _, target| match target.split('?').next() {
            Some("/authorize") => Answer::redirect("/login"),
            Some("/login") => Answer::redirect(&format!("{REDIRECT}?code=c0de&state=st8")),
            _ => Answer::status(404),
        })
        .await;
        assert_eq!(visit(&mock).await.unwrap(), format!("{REDIRECT}?code=c0de&state=st8"));
    }

    #[tokio::test]
    async fn a_login_page_needs_a_person() {
        let mock = mock::serve(|_, _, _| Answer::json(200, &serde_json::json!({}))).await;
        let err = visit(&mock).await.unwrap_err();
        assert!(matches!(err, AuthError::LoginRequired { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "docs: the authorization server shows a login page; logging in needs a person: run \
             `research-demo login docs`"
        );
    }

    #[tokio::test]
    async fn other_sites_loops_and_refusals_end_in_errors() {
        let elsewhere =
            mock::serve(|_, _, _| Answer::redirect("https://idp.example/sso?token=t0k")).await;
        let err = visit(&elsewhere).await.unwrap_err();
        assert!(matches!(err, AuthError::LoginRequired { .. }), "{err:?}");
        assert!(err.to_string().contains("another site (https://idp.example/sso)"), "{err}");

        let looping = mock::serve(|_, _, _| Answer::redirect("/authorize")).await;
        let err = visit(&looping).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "docs: OAuth authorization failed: more than 5 redirects on the authorization server"
        );

        let refused = mock::serve(|_, _, _| {
            Answer::redirect(&format!(
                "{REDIRECT}?error=access_denied&error_description=n0pe&state=s"
            ))
        })
        .await;
        let err = visit(&refused).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "docs: OAuth authorization failed: the authorization server refused the request: access_denied"
        );
        assert_eq!(err.step(), Step::Authorization);
    }
}
