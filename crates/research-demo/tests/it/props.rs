//! Random bodies POSTed to both HTTP faces of the Wikipedia server, as
//! `wikipedia::server::router` wires them: legacy SSE's message endpoint (mcp-sse's server) and
//! streamable HTTP at `/mcp` (rmcp's `StreamableHttpService`); with the session of a live
//! client, without one, and with unknown ones.

use std::time::Duration;

use mcp_session::rmcp::ServiceExt as _;
use mcp_sse::client::{SseClientConfig, SseClientTransport};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use research_demo::fixtures::FixtureServer;
use research_demo::wikipedia::api::WikipediaApi;
use research_demo::wikipedia::server::{Listening, WikipediaServer};
use serde_json::Value;

/// A client message, as the server parses it.
type ClientMessage = mcp_session::rmcp::model::ClientJsonRpcMessage;

const ACCEPT: &str = "application/json, text/event-stream";

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A valid request id as JSON text, never one of a client's own small ids (an answer posted
/// with it could be taken for the answer to the live client's next request).
fn good_id() -> impl Strategy<Value = String> {
    prop_oneof![
        ((1u64 << 40)..=i64::MAX.unsigned_abs()).prop_map(|n| n.to_string()),
        (-1000i64..0).prop_map(|n| n.to_string()),
        "[a-z0-9-]{0,12}".prop_map(|s| format!("\"prop-{s}\"")),
    ]
}

/// A request id as JSON text: valid or not.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => good_id(),
        1 => prop::sample::select(vec![
            "123456789012345678901234567890",
            "18446744073709551616",
            "-9223372036854775809",
            "1e400",
            "1.5",
            "-0",
            "null",
            "true",
            "{}",
            "[]",
            "\"\"",
        ])
        .prop_map(str::to_owned),
    ]
}

const INITIALIZE: &str =
    r#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"p","version":"0"}}"#;

/// A JSON-RPC-shaped object as text: each member present or not, of the right type or not,
/// in any order, sometimes twice.
fn jsonrpc_shaped() -> impl Strategy<Value = String> {
    let text = |value: Value| value.to_string();
    let jsonrpc =
        prop::sample::select(vec![r#""2.0""#, r#""2.0""#, r#""1.0""#, "2.0", "null", r#""""#]);
    let method = prop_oneof![
        prop::sample::select(vec![
            "ping",
            "tools/list",
            "tools/call",
            "initialize",
            "resources/list",
            "prompts/get",
            "logging/setLevel",
            "completion/complete",
            "notifications/initialized",
            "notifications/cancelled",
            "notifications/progress",
            "notifications/roots/list_changed",
        ])
        .prop_map(|m| format!("\"{m}\"")),
        "[a-z/_]{0,16}".prop_map(|m| format!("\"{m}\"")),
        prop::sample::select(vec!["7", "null", "{}", "[]"]).prop_map(str::to_owned),
    ];
    let params = prop_oneof![
        prop::sample::select(vec!["{}", "[]", "null", "\"x\"", "0"]).prop_map(str::to_owned),
        json_value().prop_map(text),
        ("[a-z_]{0,16}", json_value())
            .prop_map(|(name, args)| format!(r#"{{"name":"{name}","arguments":{args}}}"#)),
        id().prop_map(|id| format!(r#"{{"requestId":{id},"reason":"r"}}"#)),
        (id(), any::<f64>()).prop_map(|(id, progress)| {
            format!(r#"{{"progressToken":{id},"progress":{}}}"#, Value::from(progress))
        }),
        (json_value(), json_value())
            .prop_map(|(meta, cursor)| { format!(r#"{{"_meta":{meta},"cursor":{cursor}}}"#) }),
        Just(INITIALIZE.to_owned()),
    ];
    let error = prop_oneof![
        Just(r#"{"code":-32601,"message":"no"}"#.to_owned()),
        Just(r#"{"code":"x","message":1}"#.to_owned()),
        json_value().prop_map(text),
    ];
    let member = |name: &'static str, value: BoxedStrategy<String>| {
        prop::option::weighted(0.7, value.prop_map(move |v| format!("\"{name}\":{v}")))
    };
    (
        member("jsonrpc", jsonrpc.prop_map(str::to_owned).boxed()),
        member("id", id().boxed()),
        member("method", method.boxed()),
        prop::option::weighted(0.6, member("params", params.boxed())).prop_map(Option::flatten),
        prop::option::weighted(0.2, member("result", json_value().prop_map(text).boxed()))
            .prop_map(Option::flatten),
        prop::option::weighted(0.2, member("error", error.boxed())).prop_map(Option::flatten),
        prop::option::weighted(0.1, member("id", id().boxed())).prop_map(Option::flatten),
        prop::option::weighted(0.1, member("extra", json_value().prop_map(text).boxed()))
            .prop_map(Option::flatten),
    )
        .prop_flat_map(|(a, b, c, d, e, f, g, h)| {
            Just([a, b, c, d, e, f, g, h].into_iter().flatten().collect::<Vec<_>>()).prop_shuffle()
        })
        .prop_map(|members| format!("{{{}}}", members.join(",")))
}

/// A valid client message, as text: requests (the tools too, with random arguments),
/// notifications, answers.
fn valid_message() -> impl Strategy<Value = String> {
    let tool = prop::sample::select(vec![
        "search_wikipedia",
        "get_summary",
        "get_article",
        "get_featured",
        "nope",
    ]);
    (good_id(), tool, json_value(), "[ -~]{0,20}", 0usize..9).prop_map(
        |(id, tool, args, text, kind)| {
            let text = Value::from(text);
            match kind {
                0 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#),
                1 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{}}}}"#),
                2 => format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{args}}}}}"#
                ),
                3 => format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"search_wikipedia","arguments":{{"query":{text}}}}}}}"#
                ),
                4 => format!(
                    r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{id},"reason":{text}}}}}"#
                ),
                5 => r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned(),
                6 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{INITIALIZE}}}"#),
                7 => format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#),
                _ => format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":{text}}}}}"#
                ),
            }
        },
    )
}

/// A request body: random bytes, random JSON, JSON-RPC-shaped objects (some cut short or with
/// a byte changed), valid messages.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        2 => prop::collection::vec(any::<u8>(), 0..200),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        5 => jsonrpc_shaped().prop_map(String::into_bytes),
        2 => (jsonrpc_shaped(), any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(
            |(text, at, byte, cut)| {
                let mut bytes = text.into_bytes();
                let at = at.index(bytes.len());
                if cut {
                    bytes.truncate(at);
                } else {
                    bytes[at] = byte;
                }
                bytes
            }
        ),
        4 => valid_message().prop_map(String::into_bytes),
    ]
}

/// A header value from `common` mostly, else none or any.
fn header(common: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        8 => prop::sample::select(common).prop_map(|v| Some(v.to_owned())),
        1 => "[ -~]{0,24}".prop_map(Some),
    ]
}

/// A header value: `usual` mostly, else one of `others`, none or any.
fn usual(usual: &'static str, others: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![8 => Just(Some(usual.to_owned())), 2 => header(others)]
}

/// Which session a request names.
#[derive(Clone, Debug)]
enum Session {
    /// The live client's.
    Live,
    /// None.
    Absent,
    /// One that does not exist.
    Unknown(String),
}

fn session() -> impl Strategy<Value = Session> {
    prop_oneof![
        6 => Just(Session::Live),
        2 => Just(Session::Absent),
        1 => "[ -~]{0,40}".prop_map(Session::Unknown),
    ]
}

/// Headers and body of one POST.
#[derive(Clone, Debug)]
struct Post {
    body: Vec<u8>,
    content_type: Option<String>,
    accept: Option<String>,
    version: Option<String>,
    session: Session,
}

fn post() -> impl Strategy<Value = Post> {
    (
        body(),
        usual("application/json", vec!["Application/JSON; charset=utf-8", "text/plain"]),
        usual(
            ACCEPT,
            vec![
                "application/json",
                "text/event-stream",
                "*/*",
                "text/event-stream, application/json;q=0.5",
            ],
        ),
        prop::option::weighted(
            0.15,
            header(vec!["2025-06-18", "2025-03-26", "2024-11-05", "1999-01-01"]),
        )
        .prop_map(Option::flatten),
        session(),
    )
        .prop_map(|(body, content_type, accept, version, session)| Post {
            body,
            content_type,
            accept,
            version,
            session,
        })
}

/// A `Content-Type`, or none.
fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        6 => Just(Some("application/json".to_owned())),
        3 => prop::sample::select(vec![
            "application/json; charset=utf-8",
            "Application/JSON",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jso",
            "",
        ])
        .prop_map(|t| Some(t.to_owned())),
        1 => "[ -~]{0,24}".prop_map(Some),
    ]
}

/// Where a body is posted.
#[derive(Clone, Debug)]
enum Target {
    /// The live client's session.
    Session,
    /// No query string.
    NoSession,
    /// A session that does not exist.
    Unknown(String),
    /// The live session named twice.
    Twice,
    /// Any query string.
    Query(String),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => Just(Target::Session),
        1 => Just(Target::NoSession),
        1 => "[0-9a-f]{0,32}|[ -~]{0,16}".prop_map(Target::Unknown),
        1 => Just(Target::Twice),
        1 => "[ -~]{0,30}".prop_map(Target::Query),
    ]
}

fn is_json_type(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|t| {
        t.trim().get(..16).is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
    })
}

/// Random bodies, content types and session ids POSTed to the message endpoint: never a 5xx
/// nor a dropped connection; 400 for a missing `sessionId`, 404 for an unknown one, 415 for a
/// type other than JSON, 400 for a body that is not a JSON-RPC message, 202 for one that is;
/// and the client's session works on after each.
#[test]
fn prop_sse_server_answers_random_posts() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = mcp_session::HttpClientBuilder::new().build().unwrap();
    let (fixtures, server, client, endpoint, tools) = runtime.block_on(async {
        let fixtures = FixtureServer::start().await.unwrap();
        let api = WikipediaApi::at(fixtures.url(), Duration::ZERO).unwrap();
        let server = Listening::bind(WikipediaServer::new(api), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let config = SseClientConfig::new(server.sse_url().parse().unwrap()).client(http.clone());
        let transport = SseClientTransport::connect(config).await.unwrap();
        let endpoint = transport.endpoint().clone();
        let client = ().serve(transport).await.unwrap();
        let tools = client.list_all_tools().await.unwrap().len();
        (fixtures, server, client, endpoint, tools)
    });
    let base = format!("http://{}/message", server.local_addr());
    let mut runner = TestRunner::new(expensive());
    let outcome =
        runner.run(&(body(), content_type(), target()), |(body, content_type, target)| {
            let url = match &target {
                Target::Session => endpoint.to_string(),
                Target::NoSession => base.clone(),
                Target::Unknown(id) => {
                    let mut url = url::Url::parse(&base).unwrap();
                    url.query_pairs_mut().append_pair("sessionId", id);
                    url.to_string()
                }
                Target::Twice => format!("{endpoint}&sessionId=other"),
                Target::Query(query) => format!("{base}?{query}"),
            };
            let valid = serde_json::from_slice::<ClientMessage>(&body).is_ok();
            let json_type = is_json_type(content_type.as_deref());
            let expected = match &target {
                Target::Session if !json_type => Some(415),
                Target::Session if !valid => Some(400),
                Target::Session => Some(202),
                Target::NoSession => Some(400),
                Target::Unknown(_) => Some(404),
                Target::Twice | Target::Query(_) => None,
            };
            let (status, listed) = runtime.block_on(async {
                let mut request = http.post(&url).body(body.clone());
                if let Some(content_type) = &content_type {
                    request = request.header("content-type", content_type);
                }
                let status = request.send().await.map(|r| r.status().as_u16());
                (status, client.list_all_tools().await.map(|tools| tools.len()))
            });
            let status = status.map_err(|err| TestCaseError::fail(format!("no answer: {err}")))?;
            match expected {
                Some(expected) => {
                    prop_assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
                }
                None => prop_assert!((400..500).contains(&status), "{}", status),
            }
            prop_assert_eq!(listed.ok(), Some(tools), "the session works on");
            Ok(())
        });
    runtime.block_on(async {
        client.cancel().await.unwrap();
        server.stop().await;
        drop(fixtures);
    });
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

/// The config of a property test that costs a network round trip a case: an eighth of the
/// cases (`PROPTEST_CASES` scales it). Run with a [`TestRunner`] of its own: the `proptest!`
/// macros would set the cases back to `PROPTEST_CASES`.
fn expensive() -> ProptestConfig {
    ProptestConfig {
        cases: (ProptestConfig::default().cases / 8).max(8),
        source_file: Some(file!()),
        ..ProptestConfig::default()
    }
}

/// POSTs `body` to `url` with the headers.
async fn send(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, Option<&str>)],
) -> reqwest::Result<reqwest::Response> {
    let mut request = http.post(url).body(body);
    for (name, value) in headers {
        if let Some(value) = value {
            request = request.header(*name, *value);
        }
    }
    request.send().await
}

/// Reads an event stream until `needle` shows up; whether it did before the stream ended.
async fn stream_contains(mut response: reqwest::Response, needle: &str) -> bool {
    let mut seen = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        seen.extend_from_slice(&chunk);
        if String::from_utf8_lossy(&seen).contains(needle) {
            return true;
        }
    }
    false
}

/// Random bodies and headers POSTed to `/mcp`: never a 5xx nor a dropped connection, a 4xx for
/// a body that is not a JSON-RPC message (and for a type other than JSON, or an `Accept`
/// without JSON and event streams); and the live session answers `tools/list` after each.
#[test]
fn prop_streamable_http_answers_random_posts() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = mcp_session::HttpClientBuilder::new().build().unwrap();
    let (fixtures, server, url, live) = runtime.block_on(async {
        let fixtures = FixtureServer::start().await.unwrap();
        let api = WikipediaApi::at(fixtures.url(), Duration::ZERO).unwrap();
        let server = Listening::bind(WikipediaServer::new(api), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let url = server.mcp_url();
        let json = Some("application/json");
        let initialize =
            format!(r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{INITIALIZE}}}"#);
        let answer = send(
            &http,
            &url,
            initialize.into_bytes(),
            &[("content-type", json), ("accept", Some(ACCEPT))],
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 200);
        let live = answer.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        assert!(stream_contains(answer, "wikipedia-mcp-server").await);
        let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_vec();
        let answer = send(
            &http,
            &url,
            initialized,
            &[("content-type", json), ("accept", Some(ACCEPT)), ("mcp-session-id", Some(&live))],
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 202);
        (fixtures, server, url, live)
    });

    let mut runner = TestRunner::new(expensive());
    let outcome = runner.run(&post(), |post| {
        let valid = serde_json::from_slice::<ClientMessage>(&post.body).is_ok();
        let session = match &post.session {
            Session::Live => Some(live.as_str()),
            Session::Absent => None,
            Session::Unknown(id) => Some(id.as_str()),
        };
        let headers = [
            ("content-type", post.content_type.as_deref()),
            ("accept", post.accept.as_deref()),
            ("mcp-protocol-version", post.version.as_deref()),
            ("mcp-session-id", session),
        ];
        let (status, works) = runtime.block_on(async {
            // The answer's body (an event stream for a request) is dropped unread.
            let status = send(&http, &url, post.body.clone(), &headers).await.map(|r| r.status());
            let list = br#"{"jsonrpc":"2.0","id":"follow-up","method":"tools/list"}"#.to_vec();
            let follow_up = send(
                &http,
                &url,
                list,
                &[
                    ("content-type", Some("application/json")),
                    ("accept", Some(ACCEPT)),
                    ("mcp-session-id", Some(&live)),
                ],
            )
            .await;
            let works = match follow_up {
                Ok(answer) if answer.status() == 200 => {
                    stream_contains(answer, "search_wikipedia").await
                }
                _ => false,
            };
            (status, works)
        });
        let status = status.map_err(|err| TestCaseError::fail(format!("no answer: {err}")))?;
        let body = String::from_utf8_lossy(&post.body);
        prop_assert!(!status.is_server_error(), "{} for {}", status, body);
        if !valid {
            prop_assert!(status.is_client_error(), "{} for {}", status, body);
        }
        prop_assert!(works, "the live session answers tools/list after {}", body);
        Ok(())
    });
    runtime.block_on(async {
        server.stop().await;
        drop(fixtures);
    });
    if let Err(err) = outcome {
        panic!("{err}");
    }
}
