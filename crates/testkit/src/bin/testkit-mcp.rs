//! `testkit-mcp`: the MCP server our tests start as a real process.
//!
//! ```text
//! testkit-mcp stdio [--page-size N] [--legacy] [--ignore-eof] MCP over stdin/stdout (--legacy: no
//!     server/discover; --ignore-eof: keep running after stdin closes)
//! any server mode also takes --paging proper|repeat|endless (how `tools/list` pages) and
//!     --ttl-ms N (the `ttlMs` its lists give)
//! testkit-mcp http [--page-size N] [--port P] streamable HTTP on 127.0.0.1:P (0: any free port);
//!                                             prints `http://127.0.0.1:PORT/mcp` on stdout
//!     [--tls-cert CERT.pem --tls-key KEY.pem] serves https instead (prints `https://…`)
//! `http` and `sse` also take --bearer TOKEN: every request must carry `Authorization: Bearer
//!     TOKEN` (others get 401 with `WWW-Authenticate: Bearer realm="testkit"`), but `GET /auth`,
//!     which answers the requests seen, `{"authorized": {"METHOD /path": N}, "refused": {…}}`
//! testkit-mcp sse [--port P] [--post-status S] legacy HTTP+SSE on 127.0.0.1:P; prints `http://127.0.0.1:PORT/sse`;
//!     a `POST` to `/sse` answers S (default 405);
//!                                             `GET /requests` counts the requests it saw, by method and path
//! testkit-mcp exit-at-once                    writes to stderr and exits 3 before any MCP
//! testkit-mcp silent                          reads stdin, never answers (a hung server)
//! testkit-mcp garbage                         answers every line on stdin with non-JSON text
//! testkit-mcp fault KIND                      a stdio server, by hand, that faults as KIND says:
//!     crash-mid-call, oversize, endless-line, slow-drip, wrong-id, duplicate-response,
//!     notification-flood, noise (see testkit::faults::stdio)
//! testkit-mcp http-fault KIND                 an HTTP server, by hand, on 127.0.0.1:0 that prints
//!     `http://127.0.0.1:PORT/mcp`: a status (401, 403, 404, 405, 500, 503, call-STATUS), hang,
//!     reset, call-reset, session-mismatch, session-expired (see testkit::faults::http)
//! testkit-mcp sse-fault KIND                  a legacy SSE server, by hand, that prints
//!     `http://127.0.0.1:PORT/sse`: no-endpoint, foreign-endpoint, closed-early,
//!     closed-mid-call, hang
//! testkit-mcp browse URL                      a headless browser: GETs URL, follows up to 10
//!     redirects (a loopback callback too), exits 0 when the last answer is 2xx and 1 (with the
//!     status on stderr) otherwise; a test's `$BROWSER`
//! ```
//!
//! The MCP servers (`stdio`, `http`, `sse`) are `testkit::mcp_server::TestServer`s; their tools:
//! `echo`, `add`, `sleep`, `fail`, `large_output`, `progress`, `log`, `ask_client`,
//! `change_tools`, `request_headers`, `increment` and `lookup` (`ms`: wait first; `crash`: exit
//! 1 once the tool has run, without answering) and `stats`. All the sessions of one process
//! share its `increment` counter and the `stats` fields `in_flight`, `max_in_flight` and
//! `initializes`.
//!
//! Environment: `TESTKIT_LEDGER=FILE` appends `initialize PID`, `discover PID` and
//! `call increment|lookup PID` lines to FILE (see `testkit::ledger`).
//!
//! `http` and `sse` bind with `SO_REUSEADDR` (tokio's listener sets it on Unix), so a server
//! can be restarted on the port of one just killed.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use axum::serve::ListenerExt as _;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use testkit::faults;
use testkit::faults::stdio::StdioFault;
use testkit::mcp_server::{Paging, ProcessCounters, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const USAGE: &str = "usage: testkit-mcp stdio|http|sse|exit-at-once|silent|garbage [--page-size N] [--port P] [--legacy]\n       testkit-mcp fault|http-fault|sse-fault KIND\n       testkit-mcp browse URL";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let page_size = flag("--page-size").unwrap_or(usize::MAX);
    let legacy = args.iter().any(|a| a == "--legacy");
    let text_flag =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let tls = text_flag("--tls-cert").zip(text_flag("--tls-key"));
    let bearer = text_flag("--bearer");
    // One set of process-wide counters for every server (over HTTP, one a session).
    let process = Arc::new(ProcessCounters::default());
    let paging = match text_flag("--paging").map(|text| Paging::parse(&text).ok_or(text)) {
        None => Paging::Proper,
        Some(Ok(paging)) => paging,
        Some(Err(text)) => {
            eprintln!("testkit-mcp: --paging {text}: expected proper, repeat or endless");
            return ExitCode::from(2);
        }
    };
    let ttl_ms = flag("--ttl-ms");
    let server = move || {
        let mut server = TestServer::new(page_size).sharing(process.clone()).paging(paging);
        if let Some(ttl_ms) = ttl_ms {
            server = server.ttl_ms(ttl_ms as u64);
        }
        if legacy { server.legacy() } else { server }
    };
    let port = flag("--port").unwrap_or(0);
    let result = match args.first().map(String::as_str) {
        Some("stdio") => stdio(server(), args.iter().any(|a| a == "--ignore-eof")).await,
        Some("http") => http(server, port, tls, bearer).await,
        Some("sse") => sse(server, port, flag("--post-status"), bearer).await,
        Some("exit-at-once") => {
            eprintln!("testkit-mcp: exiting at once, as asked");
            return ExitCode::from(3);
        }
        Some("browse") => browse(args.get(1).map(String::as_str)).await,
        Some("silent") => silent().await,
        Some("garbage") => garbage().await,
        Some("fault") => match args.get(1).and_then(|kind| StdioFault::parse(kind)) {
            Some(kind) => faults::stdio::serve(kind).await.map_err(Into::into),
            None => Err(format!(
                "fault needs a KIND: {}",
                StdioFault::ALL.map(StdioFault::as_str).join(", ")
            )
            .into()),
        },
        Some("http-fault") => faults::http::serve_http(args.get(1).map_or("", String::as_str))
            .await
            .map_err(|e| e as _),
        Some("sse-fault") => faults::http::serve_sse(args.get(1).map_or("", String::as_str))
            .await
            .map_err(|e| e as _),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("testkit-mcp: {err}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `ignore_eof`: keep running after stdin closes, as a careless server does (only a signal
/// ends it then).
async fn stdio(server: TestServer, ignore_eof: bool) -> Result {
    eprintln!("testkit-mcp: serving MCP on stdio");
    // On pipes (as an MCP client starts us), read and write them through the reactor:
    // tokio's stdin and stdout hand every read and write to a blocking thread, which costs a
    // thread hop per message and bounds a client's warm calls. Anything else (a terminal, a
    // file) takes tokio's stdio.
    let service = match stdio_pipes() {
        Ok(pipes) => server.serve(pipes).await?,
        Err(_) => server.serve(rmcp::transport::stdio()).await?,
    };
    service.waiting().await?;
    if ignore_eof {
        // Silently: the client may be gone, and a write to its stderr pipe would end us.
        std::future::pending::<()>().await;
    }
    Ok(())
}

/// stdin and stdout as non-blocking pipes, when both are pipes.
fn stdio_pipes()
-> std::io::Result<(tokio::net::unix::pipe::Receiver, tokio::net::unix::pipe::Sender)> {
    use std::os::fd::AsFd;
    let stdin = std::io::stdin().as_fd().try_clone_to_owned()?;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned()?;
    Ok((
        tokio::net::unix::pipe::Receiver::from_owned_fd(stdin)?,
        tokio::net::unix::pipe::Sender::from_owned_fd(stdout)?,
    ))
}

async fn http(
    server: impl Fn() -> TestServer + Send + Sync + 'static,
    port: usize,
    tls: Option<(String, String)>,
    bearer: Option<String>,
) -> Result {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", u16::try_from(port)?)).await?;
    let service = StreamableHttpService::new(
        move || Ok(server()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = require_bearer(axum::Router::new().nest_service("/mcp", service), bearer);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}/mcp", listener.local_addr()?);
    println!("{url}");
    std::io::stdout().flush()?;
    eprintln!("testkit-mcp: serving MCP at {url}");
    match tls {
        // No Nagle: an event stream is written in small pieces, and Nagle plus the peer's delayed
        // ACK would hold each reply back ~40 ms.
        None => axum::serve(listener.tap_io(|tcp| drop(tcp.set_nodelay(true))), router).await?,
        Some((cert, key)) => serve_tls(listener, router, &cert, &key).await?,
    }
    Ok(())
}

/// Serves `router` over TLS (HTTP/1.1) with the certificate chain and key in these PEM files.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    cert: &str,
    key: &str,
) -> Result {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(cert)?.collect::<std::result::Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let acceptor = acceptor.clone();
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let io = hyper_util::rt::TokioIo::new(tls);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

/// `post_status`: what a `POST` to the SSE URL answers (405 by default, from the router), as
/// servers that are not streamable HTTP answer the `initialize` POST in the wild.
async fn sse(
    server: impl Fn() -> TestServer + Send + Sync + 'static,
    port: usize,
    post_status: Option<usize>,
    bearer: Option<String>,
) -> Result {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", u16::try_from(port)?)).await?;
    let url = format!("http://{}/sse", listener.local_addr()?);
    let seen: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let counter = seen.clone();
    let router = mcp_sse::server::router(server, mcp_sse::server::SseServerConfig::default())
        .route(
            "/requests",
            axum::routing::get(move || {
                let seen = seen.clone();
                async move { axum::Json(seen.lock().map(|s| s.clone()).unwrap_or_default()) }
            }),
        )
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let key = format!("{} {}", request.method(), request.uri().path());
                if let Ok(mut seen) = counter.lock() {
                    *seen.entry(key).or_default() += 1;
                }
                let refused = post_status
                    .filter(|_| request.method() == axum::http::Method::POST)
                    .filter(|_| request.uri().path() == "/sse")
                    .and_then(|status| u16::try_from(status).ok())
                    .and_then(|status| axum::http::StatusCode::from_u16(status).ok());
                async move {
                    match refused {
                        Some(status) => axum::response::IntoResponse::into_response(status),
                        None => next.run(request).await,
                    }
                }
            },
        ));
    let router = require_bearer(router, bearer);
    println!("{url}");
    std::io::stdout().flush()?;
    eprintln!("testkit-mcp: serving legacy SSE at {url}");
    axum::serve(listener.tap_io(|tcp| drop(tcp.set_nodelay(true))), router).await?;
    Ok(())
}

/// With a token (`--bearer TOKEN`), `router` answers only requests that carry `Authorization:
/// Bearer TOKEN`, others 401 with a `WWW-Authenticate` challenge, and serves `GET /auth`: the
/// requests it saw, `{"authorized": {"METHOD /path": N}, "refused": {…}}`. Without one, `router`.
fn require_bearer(router: axum::Router, token: Option<String>) -> axum::Router {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    type Seen = BTreeMap<&'static str, BTreeMap<String, u64>>;
    let Some(token) = token else { return router };
    let expected = format!("Bearer {token}");
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    let checked = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let authorized = request
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .is_some_and(|value| value.as_bytes() == expected.as_bytes());
            let key = format!("{} {}", request.method(), request.uri().path());
            if let Ok(mut seen) = seen.lock() {
                let outcome = if authorized { "authorized" } else { "refused" };
                *seen.entry(outcome).or_default().entry(key).or_default() += 1;
            }
            async move {
                if authorized {
                    return next.run(request).await;
                }
                let challenge =
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer realm=\"testkit\"")];
                axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::UNAUTHORIZED,
                    challenge,
                    "a bearer token is required",
                ))
            }
        },
    ));
    axum::Router::new()
        .route(
            "/auth",
            axum::routing::get(move || {
                let log = log.clone();
                async move { axum::Json(log.lock().map(|s| s.clone()).unwrap_or_default()) }
            }),
        )
        .merge(checked)
}

/// `browse URL`: what a browser does with an authorization URL when the server approves at
/// once. GETs `url` and follows up to 10 redirects, to a loopback callback too; succeeds when the
/// last answer is 2xx. Messages name URLs without their query, which may carry a code.
async fn browse(url: Option<&str>) -> Result {
    use mcp_session::{HttpClientBuilder, Redirects};

    let Some(url) = url else { return Err("browse needs a URL".into()) };
    let client = HttpClientBuilder::new()
        .redirects(Redirects::Follow { max: 10 })
        .deadline(std::time::Duration::from_secs(30))
        .build()?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|err| format!("browse: GET {}: {}", without_query(url), err.without_url()))?;
    let status = response.status();
    let last = without_query(response.url().as_str());
    if status.is_success() {
        eprintln!("testkit-mcp: browse: {last} answered {status}");
        Ok(())
    } else {
        Err(format!("browse: {last} answered {status}").into())
    }
}

/// `url` without its query and fragment.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

async fn silent() -> Result {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while lines.next_line().await?.is_some() {}
    Ok(())
}

async fn garbage() -> Result {
    let mut stdout = tokio::io::stdout();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while lines.next_line().await?.is_some() {
        stdout.write_all(b"this is not JSON-RPC\n").await?;
        stdout.flush().await?;
    }
    Ok(())
}
