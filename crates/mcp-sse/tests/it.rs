//! mcp-sse end to end on loopback: our client against our server, and each failure against a raw
//! socket server that misbehaves on purpose.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use mcp_sse::client::{SseClientConfig, SseClientTransport, SseError};
use mcp_sse::server::{SseServer, SseServerConfig};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::Transport as _;
use rmcp::{ServiceExt as _, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone)]
struct Echo {
    #[allow(dead_code)] // read by the code `tool_router` generates
    tool_router: ToolRouter<Echo>,
}

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

#[tool_router(server_handler)]
impl Echo {
    fn new() -> Self {
        Echo { tool_router: Self::tool_router() }
    }

    #[tool(description = "Returns its text.")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        args.text
    }

    #[tool(description = "Sleeps a while, then answers.")]
    async fn slow(&self) -> String {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "done".to_owned()
    }
}

fn config(url: &str) -> SseClientConfig {
    SseClientConfig::new(url.parse().unwrap())
        .timeout(Duration::from_secs(5))
        .sse_read_timeout(Duration::from_secs(30))
}

#[tokio::test]
async fn our_client_with_our_server() {
    let server = SseServer::bind_loopback(0, Echo::new, SseServerConfig::default()).await.unwrap();
    assert!(server.local_addr().ip().is_loopback());
    let transport = SseClientTransport::connect(config(&server.url())).await.unwrap();
    assert_eq!(transport.endpoint().path(), "/message");
    let client = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 2);
    let mut params = CallToolRequestParams::new("echo");
    params.arguments = Some(serde_json::json!({"text": "over SSE"}).as_object().unwrap().clone());
    let result = client.call_tool(params).await.unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "over SSE");
    client.cancel().await.unwrap();
    server.shutdown().await;
}

/// A raw HTTP server on loopback that answers each connection with `respond`, given the
/// request's head (its request line, then its header lines).
fn raw_server(respond: impl Fn(&str, TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let respond = std::sync::Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let respond = respond.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let request = read_request(&mut reader).unwrap_or_default();
                respond(&request, stream);
            });
        }
    });
    format!("http://{address}/sse")
}

/// Reads one request from `reader`: its head (the request line, then its header lines) is
/// returned, its body (by `content-length`) read and dropped. `None` when the connection ends
/// before a request line.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut head = String::new();
    if reader.read_line(&mut head).unwrap_or(0) == 0 {
        return None;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    Some(head)
}

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";

#[tokio::test]
async fn no_endpoint_within_timeout() {
    let url = raw_server(|_, mut stream| {
        let _ = stream.write_all(SSE_HEAD.as_bytes());
        std::thread::sleep(Duration::from_secs(5));
    });
    let err = SseClientTransport::connect(config(&url).timeout(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SseError::NoEndpoint { after, .. } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.to_string().contains("is it a legacy SSE endpoint"), "{err}");
}

#[tokio::test]
async fn endpoint_on_another_origin_is_refused() {
    let url = raw_server(|_, mut stream| {
        let _ = stream.write_all(
            format!("{SSE_HEAD}event: endpoint\ndata: http://attacker.invalid/message\n\n")
                .as_bytes(),
        );
        std::thread::sleep(Duration::from_secs(2));
    });
    let err = SseClientTransport::connect(config(&url)).await.unwrap_err();
    assert!(
        matches!(&err, SseError::ForeignEndpoint { endpoint, .. } if endpoint == "http://attacker.invalid/message"),
        "{err:?}"
    );
}

#[tokio::test]
async fn get_404() {
    let url = raw_server(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nno stream");
    });
    let err = SseClientTransport::connect(config(&url)).await.unwrap_err();
    assert!(
        matches!(&err, SseError::Http { status: 404, body, .. } if body == "no stream"),
        "{err:?}"
    );
}

/// A server whose stream sends `endpoint`, then `after_endpoint`, and answers POSTs with `post`.
fn scripted(after_endpoint: &'static str, hold: Duration, post: &'static str) -> String {
    raw_server(move |request, mut stream| {
        if request.starts_with("GET") {
            let _ = stream.write_all(
                format!(
                    "{SSE_HEAD}event: endpoint\ndata: /message?sessionId=1\n\n{after_endpoint}"
                )
                .as_bytes(),
            );
            let _ = stream.flush();
            std::thread::sleep(hold);
        } else {
            let _ = stream.write_all(post.as_bytes());
        }
    })
}

fn ping() -> rmcp::service::TxJsonRpcMessage<rmcp::RoleClient> {
    serde_json::from_value(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .unwrap()
}

#[tokio::test]
async fn post_500_is_an_error_of_send() {
    let url = scripted(
        "",
        Duration::from_secs(3),
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops",
    );
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    let err = transport.send(ping()).await.unwrap_err();
    assert!(matches!(&err, SseError::Http { status: 500, body, .. } if body == "oops"), "{err:?}");
}

#[tokio::test]
async fn stream_cut_ends_the_transport_with_the_reason() {
    // One message, then the server closes the stream.
    let message = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
    let url =
        scripted(message, Duration::ZERO, "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    assert!(transport.receive().await.is_some(), "the message before the cut arrives");
    assert!(transport.receive().await.is_none());
    assert_eq!(transport.closed_reason().as_deref(), Some("the server closed the event stream"));
}

#[tokio::test]
async fn unnamed_events_are_messages_too() {
    let message = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
    let url = scripted(
        message,
        Duration::from_secs(1),
        "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
    );
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    assert!(transport.receive().await.is_some());
}

#[tokio::test]
async fn silence_past_sse_read_timeout_ends_the_transport() {
    let url =
        scripted("", Duration::from_secs(5), "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
    let mut transport =
        SseClientTransport::connect(config(&url).sse_read_timeout(Duration::from_millis(300)))
            .await
            .unwrap();
    assert!(transport.receive().await.is_none());
    assert_eq!(
        transport.closed_reason().as_deref(),
        Some("nothing arrived for 300ms (sse_read_timeout)")
    );
}

#[tokio::test]
async fn oversize_messages_end_the_transport() {
    let big = format!("event: message\ndata: {}\n\n", "x".repeat(10_000));
    let url = scripted(
        Box::leak(big.into_boxed_str()),
        Duration::from_secs(2),
        "HTTP/1.1 202 Accepted\r\n\r\n",
    );
    // The big message may arrive with the endpoint (failing the connect) or after it (ending the
    // transport); either way it is refused, and the reason says why.
    let reason = match SseClientTransport::connect(config(&url).max_message_size(1_000)).await {
        Err(err) => err.to_string(),
        Ok(mut transport) => {
            assert!(transport.receive().await.is_none());
            transport.closed_reason().unwrap()
        }
    };
    assert!(reason.contains("larger than 1000 bytes (max_message_size)"), "{reason}");
}

/// Sends a raw request to `address` and returns the status line.
fn raw_request(address: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    status.trim().to_owned()
}

#[tokio::test]
async fn server_refuses_unknown_sessions_foreign_origins_and_hosts() {
    let server =
        SseServer::bind("127.0.0.1:0", Echo::new, SseServerConfig::default()).await.unwrap();
    let address = server.local_addr();
    let status = tokio::task::spawn_blocking(move || {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let post = |extra: &str| {
            format!(
                "POST /message?sessionId=nope HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        (
            raw_request(address, &post("")),
            raw_request(address, &post("origin: http://evil.example\r\n")),
            raw_request(address, "GET /sse HTTP/1.1\r\nhost: evil.example\r\nconnection: close\r\n\r\n"),
        )
    })
    .await
    .unwrap();
    assert_eq!(status.0, "HTTP/1.1 404 Not Found");
    assert_eq!(status.1, "HTTP/1.1 403 Forbidden");
    assert_eq!(status.2, "HTTP/1.1 403 Forbidden");
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_ends_when_its_stream_is_dropped() {
    let server =
        SseServer::bind("127.0.0.1:0", Echo::new, SseServerConfig::default()).await.unwrap();
    let transport = SseClientTransport::connect(config(&server.url())).await.unwrap();
    let endpoint = transport.endpoint().clone();
    drop(transport);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut status = 0;
    for _ in 0..100 {
        let response = client
            .post(endpoint.clone())
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .send()
            .await
            .unwrap();
        status = response.status().as_u16();
        if status == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 404, "the session outlived its stream");
    server.shutdown().await;
}

#[tokio::test]
async fn absolute_same_origin_endpoint_and_headers_are_used() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(2) {
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line.to_ascii_lowercase());
                }
                let get = head.starts_with("get");
                record.lock().unwrap().push(head);
                let mut stream = stream;
                if get {
                    let endpoint =
                        format!("event: endpoint\ndata: http://{address}/post-here?session=7\n\n");
                    let _ = stream.write_all(format!("{SSE_HEAD}{endpoint}").as_bytes());
                    std::thread::sleep(Duration::from_secs(2));
                } else {
                    let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
                }
            });
        }
    });
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", "k3y".parse().unwrap());
    let url = format!("http://{address}/sse");
    let mut transport = SseClientTransport::connect(config(&url).headers(headers)).await.unwrap();
    assert_eq!(transport.endpoint().as_str(), format!("http://{address}/post-here?session=7"));
    transport.send(ping()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|head| head.contains("x-api-key: k3y")), "{seen:?}");
    assert!(seen[1].starts_with("post /post-here?session=7 "), "{seen:?}");
}

#[tokio::test]
async fn keep_alive_comments_keep_an_idle_stream_open() {
    let config_server = SseServerConfig::default().keep_alive(Duration::from_millis(100));
    let server = SseServer::bind("127.0.0.1:0", Echo::new, config_server).await.unwrap();
    // 2 s of tolerated silence (20 keep-alive periods: a loaded machine cannot delay them all),
    // 5 s of idleness: only the keep-alives keep it open. The wait is the idleness under test.
    let transport =
        SseClientTransport::connect(config(&server.url()).sse_read_timeout(Duration::from_secs(2)))
            .await
            .unwrap();
    let client = ().serve(transport).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(client.list_all_tools().await.unwrap().len(), 2);
    client.cancel().await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_posts_are_refused() {
    let server =
        SseServer::bind("127.0.0.1:0", Echo::new, SseServerConfig::default()).await.unwrap();
    let transport = SseClientTransport::connect(config(&server.url())).await.unwrap();
    let endpoint = transport.endpoint().clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(endpoint)
        .header("content-type", "application/json")
        .body(vec![b' '; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    server.shutdown().await;
}

#[tokio::test]
async fn get_401_and_403_are_unauthorized_with_the_challenge() {
    let url = raw_server(|_, mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm=\"mcp\", scope=\"read\"\r\ncontent-length: 4\r\n\r\nnope",
        );
    });
    let err = SseClientTransport::connect(config(&url)).await.unwrap_err();
    let SseError::Unauthorized { status: 401, www_authenticate, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(www_authenticate.as_deref(), Some("Bearer realm=\"mcp\", scope=\"read\""));
    assert_eq!(
        err.to_string(),
        format!(
            "HTTP 401 from {url}: unauthorized (WWW-Authenticate: Bearer realm=\"mcp\", scope=\"read\")"
        )
    );
    let url = raw_server(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    });
    let err = SseClientTransport::connect(config(&url)).await.unwrap_err();
    assert!(
        matches!(&err, SseError::Unauthorized { status: 403, www_authenticate: None, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), format!("HTTP 403 from {url}: forbidden"));
}

#[tokio::test]
async fn post_401_is_unauthorized() {
    let url = scripted(
        "",
        Duration::from_secs(3),
        "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer error=\"invalid_token\"\r\ncontent-length: 0\r\n\r\n",
    );
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    let err = transport.send(ping()).await.unwrap_err();
    let SseError::Unauthorized { status: 401, www_authenticate, url } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(www_authenticate.as_deref(), Some("Bearer error=\"invalid_token\""));
    assert!(url.ends_with("/message?sessionId=***"), "the session id stays hidden: {url}");
}

/// A bearer token given as a (sensitive) header goes with the `GET` and every `POST`, and never
/// shows in the transport's `Debug`.
#[tokio::test]
async fn an_authorization_header_goes_with_every_request() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let url = raw_server(move |request, mut stream| {
        record.lock().unwrap().push(request.to_owned());
        if request.starts_with("GET") {
            let _ = stream.write_all(
                format!("{SSE_HEAD}event: endpoint\ndata: /message?sessionId=1\n\n").as_bytes(),
            );
            std::thread::sleep(Duration::from_secs(2));
        } else {
            let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let mut token = reqwest::header::HeaderValue::from_static("Bearer tok-secret-9");
    token.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, token);
    let config = config(&url).headers(headers);
    assert!(!format!("{config:?}").contains("tok-secret-9"));
    let mut transport = SseClientTransport::connect(config).await.unwrap();
    assert!(!format!("{transport:?}").contains("tok-secret-9"));
    transport.send(ping()).await.unwrap();
    transport.send(ping()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen[0].starts_with("GET /sse "), "{seen:?}");
    assert!(seen[1..].iter().all(|r| r.starts_with("POST /message")), "{seen:?}");
    for head in &seen {
        assert!(head.contains("authorization: Bearer tok-secret-9\r\n"), "{head}");
    }
}

/// What a `BearerAuth` heard of a refusal: the status, the challenge, the token sent.
type Rejection = (u16, Option<String>, Option<String>);

/// A `BearerAuth` that hands out `tokens` in turn: the first at once, the next one each time a
/// token is rejected. It records the rejections it heard.
#[derive(Debug)]
struct Rotating {
    tokens: &'static [&'static str],
    at: std::sync::Mutex<usize>,
    rejections: std::sync::Mutex<Vec<Rejection>>,
}

impl Rotating {
    fn new(tokens: &'static [&'static str]) -> std::sync::Arc<Rotating> {
        std::sync::Arc::new(Rotating {
            tokens,
            at: Default::default(),
            rejections: Default::default(),
        })
    }
}

impl mcp_sse::client::BearerAuth for Rotating {
    fn token(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<Option<String>, mcp_sse::client::BearerError>> {
        let at = *self.at.lock().unwrap();
        let token = self.tokens.get(at).map(|t| (*t).to_owned());
        Box::pin(async move {
            if at == usize::MAX { Err("no token for you".into()) } else { Ok(token) }
        })
    }

    fn rejected<'a>(
        &'a self,
        status: u16,
        challenge: Option<&'a str>,
        sent: Option<&'a str>,
    ) -> futures::future::BoxFuture<'a, Result<bool, mcp_sse::client::BearerError>> {
        self.rejections.lock().unwrap().push((
            status,
            challenge.map(str::to_owned),
            sent.map(str::to_owned),
        ));
        let mut at = self.at.lock().unwrap();
        *at += 1;
        let renewed = *at < self.tokens.len();
        Box::pin(async move { Ok(renewed) })
    }
}

/// The bearer hook: a refused `GET` and a refused `POST` are each sent again once with the
/// renewed token; a second refusal is final; a hook that fails is `SseError::Auth`.
#[tokio::test]
async fn a_bearer_hook_renews_a_refused_token_once_per_request() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let url = raw_server(move |request, mut stream| {
        record.lock().unwrap().push(request.lines().next().unwrap_or_default().to_owned());
        let has = |token: &str| request.contains(&format!("authorization: Bearer {token}\r\n"));
        let refuse = b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer error=\"invalid_token\"\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        if request.starts_with("GET") && (has("new") || has("newer")) {
            let _ = stream.write_all(
                format!("{SSE_HEAD}event: endpoint\ndata: /message?sessionId=1\n\n").as_bytes(),
            );
            std::thread::sleep(Duration::from_secs(2));
        } else if request.starts_with("POST") && has("newer") {
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            );
        } else {
            let _ = stream.write_all(refuse);
        }
    });
    let bearer = Rotating::new(&["old", "new", "newer"]);
    let mut transport =
        SseClientTransport::connect(config(&url).bearer(bearer.clone())).await.unwrap();
    transport.send(ping()).await.unwrap();
    transport.send(ping()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let methods: Vec<&str> = seen.iter().map(|r| r.split(' ').next().unwrap()).collect();
    assert_eq!(methods, ["GET", "GET", "POST", "POST", "POST"], "{seen:?}");
    let rejections = bearer.rejections.lock().unwrap().clone();
    let challenge = Some("Bearer error=\"invalid_token\"".to_owned());
    assert_eq!(
        rejections,
        [
            (401, challenge.clone(), Some("old".to_owned())),
            (401, challenge, Some("new".to_owned()))
        ]
    );

    // A token refused twice: one retry, then the refusal.
    let bearer = Rotating::new(&["old", "stale"]);
    let err = SseClientTransport::connect(config(&url).bearer(bearer.clone())).await.unwrap_err();
    assert!(matches!(&err, SseError::Unauthorized { status: 401, .. }), "{err:?}");
    assert_eq!(bearer.rejections.lock().unwrap().len(), 1);

    // A hook that cannot give a token.
    let bearer = Rotating::new(&[]);
    *bearer.at.lock().unwrap() = usize::MAX;
    let err = SseClientTransport::connect(config(&url).bearer(bearer)).await.unwrap_err();
    let SseError::Auth { source, .. } = &err else { panic!("{err:?}") };
    assert_eq!(source.to_string(), "no token for you");
}

/// What a [`keep_alive_server`] saw: each `POST`'s request line, with the number of the
/// connection it came on.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>>;

/// A raw HTTP server on loopback that keeps connections open for as long as `answer`'s
/// responses allow (it ends a connection after one whose head says `connection: close`); it
/// answers the `GET` with an event stream naming `/message?sessionId=1`, held for 5 s.
fn keep_alive_server(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> (String, Posts) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    let posts = Posts::default();
    let seen = posts.clone();
    std::thread::spawn(move || {
        for (number, stream) in listener.incoming().flatten().enumerate() {
            let (answer, seen) = (answer.clone(), seen.clone());
            std::thread::spawn(move || {
                // An answer's second part goes out when written, not held for the first's ACK.
                stream.set_nodelay(true).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                while let Some(request) = read_request(&mut reader) {
                    let line = request.lines().next().unwrap_or_default();
                    if line.starts_with("GET") {
                        let endpoint = "event: endpoint\ndata: /message?sessionId=1\n\n";
                        let _ = writer.write_all(format!("{SSE_HEAD}{endpoint}").as_bytes());
                        std::thread::sleep(Duration::from_secs(5));
                        return;
                    }
                    seen.lock().unwrap().push((number, line.trim_end().to_owned()));
                    let response = answer(line);
                    // An answer in two writes, the second a moment later, which is then noted.
                    if let Some((first, second)) = response.split_once(PAUSE) {
                        let _ = writer.write_all(first.as_bytes());
                        std::thread::sleep(Duration::from_millis(20));
                        let _ = writer.write_all(second.as_bytes());
                        seen.lock().unwrap().push((number, WRITTEN.to_owned()));
                        continue;
                    }
                    let _ = writer.write_all(response.as_bytes());
                    if response.to_ascii_lowercase().contains("connection: close") {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{address}/sse"), posts)
}

/// Splits an answer of [`keep_alive_server`]'s in two writes.
const PAUSE: &str = "\0pause\0";
/// What [`keep_alive_server`] notes once it wrote the second part of an answer.
const WRITTEN: &str = "(the rest written)";

/// The connection numbers the `POST`s came on.
fn connections(posts: &Posts) -> Vec<usize> {
    let posts = posts.lock().unwrap();
    posts.iter().filter(|(_, line)| line != WRITTEN).map(|(number, _)| *number).collect()
}

/// `POST`s go out on one kept-alive connection, whatever framing the server's answers use;
/// a `connection: close` answer is honoured (the next `POST` opens a new connection).
#[tokio::test]
async fn posts_share_a_kept_alive_connection() {
    let answers = std::sync::Mutex::new(
        [
            "HTTP/1.1 202 Accepted\r\ncontent-length: 8\r\n\r\nAccepted",
            "HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n4\r\nAcce\r\n4;x=y\r\npted\r\n0\r\nx-trailer: 1\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
        ]
        .into_iter(),
    );
    let (url, posts) =
        keep_alive_server(move |_| answers.lock().unwrap().next().unwrap().to_owned());
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    for _ in 0..5 {
        transport.send(ping()).await.unwrap();
    }
    let on = connections(&posts);
    assert_eq!(on.len(), 5);
    assert!(on[..4].iter().all(|&c| c == on[0]), "the first four on one connection: {on:?}");
    assert_ne!(on[4], on[0], "a new connection after `connection: close`: {on:?}");
    assert!(
        posts.lock().unwrap().iter().all(|(_, line)| line == "POST /message?sessionId=1 HTTP/1.1")
    );
}

/// An event stream dropped after the event its reader wanted, whose end came with it, gives
/// its connection back at once: the very next `POST` goes out on it, not on a new connection
/// while a task of its own reads the stream's end.
#[tokio::test]
async fn a_stream_dropped_with_its_end_received_keeps_its_connection() {
    streams_dropped_after_their_event(false).await;
}

/// The same when the stream's end comes after the event and waits, unread, in the socket when
/// the stream is dropped (a read took only part of what the server sent: a long tool list).
#[tokio::test]
async fn a_stream_dropped_with_its_end_in_the_socket_keeps_its_connection() {
    streams_dropped_after_their_event(true).await;
}

/// Three `POST`s whose event streams are dropped after their one event, the stream's end sent
/// with it, or (`end_later`) a moment later and in the socket when the stream is dropped: all
/// three go out on one connection.
async fn streams_dropped_after_their_event(end_later: bool) {
    use futures::StreamExt as _;
    use mcp_sse::post::DirectPoster;

    const EVENT: &str = "data: {}\n\n";
    let (url, posts) = keep_alive_server(move |_| {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let pause = if end_later { PAUSE } else { "" };
        format!("{head}{:X}\r\n{EVENT}{pause}\r\n0\r\n\r\n", EVENT.len())
    });
    let poster = DirectPoster::new(&url.parse().unwrap(), &reqwest::header::HeaderMap::new())
        .expect("direct posts to a plain http:// URL (and no proxy set in the environment)");
    for round in 1..=3 {
        let response = poster.send(poster.request(), b"{}").await.unwrap();
        let mut body = response.into_body();
        assert_eq!(body.next().await.unwrap().unwrap(), EVENT.as_bytes());
        if end_later {
            // Until the server wrote the end (loopback: it is in our socket then), and a little
            // more.
            while posts.lock().unwrap().iter().filter(|(_, line)| line == WRITTEN).count() < round {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(body);
    }
    let on = connections(&posts);
    assert_eq!(on, [on[0]; 3], "all on one connection");
}

/// A kept-alive connection the server closes while it is idle (without saying so) is replaced:
/// the next `POST` succeeds on a new connection.
#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced() {
    let url =
        scripted("", Duration::from_secs(5), "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    for _ in 0..3 {
        transport.send(ping()).await.unwrap();
        // Time for the server's close to arrive, and not: both ways must work.
        tokio::time::sleep(Duration::from_millis(20)).await;
        transport.send(ping()).await.unwrap();
    }
}

/// An error answer's chunked body is quoted in the error, and the connection serves on.
#[tokio::test]
async fn a_chunked_error_body_is_quoted() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let (url, posts) = keep_alive_server(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
            "HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n3\r\nbad\r\n5\r\n news\r\n0\r\n\r\n".to_owned()
        } else {
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_owned()
        }
    });
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    let err = transport.send(ping()).await.unwrap_err();
    assert!(
        matches!(&err, SseError::Http { status: 500, body, .. } if body == "bad news"),
        "{err:?}"
    );
    transport.send(ping()).await.unwrap();
    let on = connections(&posts);
    assert_eq!(on[0], on[1], "{on:?}");
}

/// What is not an HTTP response is an error that says so, not a hang.
#[tokio::test]
async fn a_garbage_answer_is_an_error() {
    let url = scripted("", Duration::from_secs(5), "SMTP ready\r\n\r\n");
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    let err = transport.send(ping()).await.unwrap_err();
    assert!(err.to_string().contains("a malformed HTTP response"), "{err}");
}

/// A redirect is sent again through the reqwest client, which follows it (its default policy);
/// with direct posts off, every `POST` goes through that client.
#[tokio::test]
async fn a_redirect_goes_through_the_client() {
    let answer = |line: &str| {
        if line.starts_with("POST /message") {
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n"
        } else {
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
        }
        .to_owned()
    };
    let (url, posts) = keep_alive_server(answer);
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    transport.send(ping()).await.unwrap();
    let lines: Vec<String> = posts.lock().unwrap().iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(lines.len(), 3, "ours, reqwest's, and reqwest's after the redirect: {lines:?}");
    assert!(lines[2].starts_with("POST /elsewhere "), "{lines:?}");

    let (url, posts) = keep_alive_server(answer);
    let mut transport =
        SseClientTransport::connect(config(&url).direct_posts(false)).await.unwrap();
    transport.send(ping()).await.unwrap();
    assert_eq!(posts.lock().unwrap().len(), 2, "reqwest's, and reqwest's after the redirect");
}

/// The event stream read on our own connection: a chunked body whose chunks split lines and
/// events anywhere (and carry a chunk extension) is read whole, and its last chunk ends it.
#[tokio::test]
async fn a_chunked_event_stream_split_anywhere() {
    let url = raw_server(|_, mut stream| {
        let events = "event: endpoint\ndata: /message?sessionId=1\n\n\
                      data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        for (i, piece) in events.as_bytes().chunks(7).enumerate() {
            let extension = if i % 2 == 0 { ";x=1" } else { "" };
            let _ = stream.write_all(format!("{:x}{extension}\r\n", piece.len()).as_bytes());
            let _ = stream.write_all(piece);
            let _ = stream.write_all(b"\r\n");
            let _ = stream.flush();
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        std::thread::sleep(Duration::from_secs(2));
    });
    let mut transport = SseClientTransport::connect(config(&url)).await.unwrap();
    assert_eq!(transport.endpoint().query(), Some("sessionId=1"));
    let message = transport.receive().await.expect("the message");
    assert!(matches!(message, rmcp::model::JsonRpcMessage::Response(_)), "{message:?}");
    assert!(transport.receive().await.is_none(), "the last chunk ends the stream");
}

/// With our own requests off, the event stream is opened through reqwest, with the same
/// outcomes: an error status quoted, a stream read.
#[tokio::test]
async fn the_stream_through_reqwest_when_direct_requests_are_off() {
    let url = raw_server(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nno stream");
    });
    let err = SseClientTransport::connect(config(&url).direct_posts(false)).await.unwrap_err();
    assert!(
        matches!(&err, SseError::Http { status: 404, body, .. } if body == "no stream"),
        "{err:?}"
    );
    let url = scripted(
        "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n",
        Duration::from_secs(2),
        "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
    );
    let mut transport =
        SseClientTransport::connect(config(&url).direct_posts(false)).await.unwrap();
    assert!(transport.receive().await.is_some());
}

/// A response's header is found by its name in any case, its value trimmed; a name that is only
/// the start of another's, or that appears in a value, is not taken for it.
#[tokio::test]
async fn a_response_header_is_found_by_its_whole_name() {
    use mcp_sse::post::DirectPoster;

    let (url, _posts) = keep_alive_server(move |_| {
        "HTTP/1.1 200 OK\r\nX-Note: content-type: no\r\nContent-Type-Extra: no\r\n\
         CONTENT-TYPE:  text/event-stream  \r\nmcp-session-id: abc\r\nempty:\r\ncontent-length: 0\r\n\r\n"
            .to_owned()
    });
    let poster = DirectPoster::new(&url.parse().unwrap(), &reqwest::header::HeaderMap::new())
        .expect("direct posts to a plain http:// URL (and no proxy set in the environment)");
    let response = poster.send(poster.request(), b"{}").await.unwrap();
    assert_eq!(response.header("content-type"), Some(&b"text/event-stream"[..]));
    assert_eq!(response.header("mcp-session-id"), Some(&b"abc"[..]));
    assert_eq!(response.header("empty"), Some(&b""[..]));
    assert_eq!(response.header("x-note"), Some(&b"content-type: no"[..]));
    assert_eq!(response.header("content"), None);
    assert_eq!(response.header("http/1.1 200 ok"), None);
    assert_eq!(response.header("retry-after"), None);
}

/// One timer serves all the reads of a connection, yet the read timeout counts from each read:
/// an answer that comes later than the timeout after the timer was made, but within the
/// timeout of its own request, is read; one that never comes fails once the timeout is up.
#[tokio::test]
async fn the_read_timeout_counts_from_each_read() {
    use futures::StreamExt as _;
    use mcp_sse::post::{DirectPoster, SendError};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const LIMIT: Duration = Duration::from_millis(1000);
    const LATE: Duration = Duration::from_millis(600);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0; 4096];
        // Three requests on the one connection: answered at once, late, never.
        for delay in [Some(Duration::ZERO), Some(LATE), None] {
            let mut request = Vec::new();
            while !request.ends_with(b"{}") {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            let Some(delay) = delay else { return std::future::pending().await };
            tokio::time::sleep(delay).await;
            socket.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await.unwrap();
        }
    });
    let poster = DirectPoster::new(&url.parse().unwrap(), &reqwest::header::HeaderMap::new())
        .expect("direct posts to a plain http:// URL (and no proxy set in the environment)")
        .timeouts(Duration::from_secs(5), LIMIT);
    let post = || async {
        let response = poster.send(poster.request(), b"{}").await?;
        let status = response.status();
        // Read to its end, so that the connection carries the next request.
        let mut body = response.into_body();
        while body.next().await.is_some() {}
        Ok::<_, SendError>(status)
    };
    assert_eq!(post().await.unwrap(), 202);
    tokio::time::sleep(LATE).await;
    // More than the timeout after the first read waited; less after this one began.
    assert_eq!(post().await.unwrap(), 202);
    let started = std::time::Instant::now();
    let err = post().await.unwrap_err();
    assert!(
        matches!(&err, SendError::Exchange(e) if e.kind() == std::io::ErrorKind::TimedOut),
        "{err:?}"
    );
    assert!(started.elapsed() >= LIMIT, "{:?}", started.elapsed());
}
