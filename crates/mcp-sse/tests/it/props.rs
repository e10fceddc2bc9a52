//! Random bodies POSTed to the legacy SSE server's message endpoint: with the session of a live
//! client, without a session, with unknown sessions and odd query strings.

use mcp_sse::client::SseClientTransport;
use mcp_sse::server::{SseServer, SseServerConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use rmcp::RoleServer;
use rmcp::ServiceExt as _;
use rmcp::service::RxJsonRpcMessage;
use serde_json::Value;

use super::{Echo, config};

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

/// A request id as JSON text: valid ones (never one of the client's own small ids, so that an
/// answer cannot be taken for the answer to its next request) and wrong ones.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        ((1u64 << 40)..=i64::MAX.unsigned_abs()).prop_map(|n| n.to_string()),
        (-1000i64..0).prop_map(|n| n.to_string()),
        "[a-z0-9-]{0,12}".prop_map(|s| format!("\"prop-{s}\"")),
        prop::sample::select(vec![
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
        Just(r#"{"name":"echo","arguments":{"text":"hi"}}"#.to_owned()),
        ("[a-z_]{0,8}", json_value())
            .prop_map(|(name, args)| format!(r#"{{"name":"{name}","arguments":{args}}}"#)),
        id().prop_map(|id| format!(r#"{{"requestId":{id},"reason":"r"}}"#)),
        (id(), any::<f64>()).prop_map(|(id, progress)| {
            format!(r#"{{"progressToken":{id},"progress":{}}}"#, Value::from(progress))
        }),
        Just(
            r#"{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"p","version":"0"}}"#
                .to_owned()
        ),
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

/// A valid JSON-RPC message from a client, as text.
fn valid_message() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        ((1u64 << 40)..=i64::MAX.unsigned_abs()).prop_map(|n| n.to_string()),
        "[a-z0-9-]{0,12}".prop_map(|s| format!("\"prop-{s}\"")),
    ];
    (id, "[ -~]{0,20}", 0usize..7).prop_map(|(id, text, kind)| {
        let text = Value::from(text);
        match kind {
            0 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#),
            1 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{}}}}"#),
            2 => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":{text}}}}}}}"#
            ),
            3 => format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{id},"reason":{text}}}}}"#
            ),
            4 => format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{id},"progress":0.5}}}}"#
            ),
            5 => format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#),
            _ => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":{text}}}}}"#
            ),
        }
    })
}

/// A request body: random bytes, random JSON, JSON-RPC-shaped objects, or such objects cut
/// short or with one byte changed.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        2 => prop::collection::vec(any::<u8>(), 0..200),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        6 => jsonrpc_shaped().prop_map(String::into_bytes),
        3 => valid_message().prop_map(String::into_bytes),
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
    ]
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (server, client, endpoint) = runtime.block_on(async {
        let server =
            SseServer::bind_loopback(0, Echo::new, SseServerConfig::default()).await.unwrap();
        let transport = SseClientTransport::connect(config(&server.url())).await.unwrap();
        let endpoint = transport.endpoint().clone();
        let client = ().serve(transport).await.unwrap();
        (server, client, endpoint)
    });
    let http = reqwest::Client::new();
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
            let valid = serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(&body).is_ok();
            let json_type = is_json_type(content_type.as_deref());
            let expected = match &target {
                Target::Session if !json_type => Some(415),
                Target::Session if !valid => Some(400),
                Target::Session => Some(202),
                Target::NoSession => Some(400),
                Target::Unknown(_) => Some(404),
                Target::Twice | Target::Query(_) => None,
            };
            let (status, tools) = runtime.block_on(async {
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
            prop_assert_eq!(tools.ok(), Some(2), "the session works on");
            Ok(())
        });
    runtime.block_on(async {
        client.cancel().await.unwrap();
        server.shutdown().await;
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
