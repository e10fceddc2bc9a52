//! Every request runs in a `request` span inside its session's `session` span, with the
//! server, method, tool, request id, duration and outcome.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mcp_session::MCPClientSessionManager;
use mcp_session::mcp_config::ServerConfig;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use crate::stdio_server;

/// A span's fields, by name.
type FieldMap = BTreeMap<String, String>;

/// A closed `request` span: its fields, and its parent's name.
type Closed = (FieldMap, Option<String>);

/// Every closed `request` span.
#[derive(Clone, Default)]
struct Requests(Arc<Mutex<Vec<Closed>>>);

#[derive(Default)]
struct Fields(FieldMap);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Requests {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if span.name() != "request" {
            return;
        }
        let fields = span.extensions_mut().remove::<Fields>().unwrap_or_default().0;
        let parent = span.parent().map(|parent| parent.name().to_owned());
        self.0.lock().unwrap().push((fields, parent));
    }
}

/// Set in the child process that runs the test.
const CHILD: &str = "MCP_SESSION_SPANS_TEST_CHILD";

/// Runs in a child process of its own: `tracing` caches each callsite's interest for the whole
/// process, and another test's thread could register the span's callsite while no subscriber
/// wanted it, hiding the span from this one's (rebuilding the cache first narrowed that race,
/// but it still lost under load).
#[test]
fn each_request_has_a_span_inside_its_session_span() {
    if std::env::var_os(CHILD).is_none() {
        crate::run_child("spans::each_request_has_a_span_inside_its_session_span", &[(CHILD, "1")]);
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(spans_of_two_requests());
}

async fn spans_of_two_requests() {
    let requests = Requests::default();
    let subscriber = tracing_subscriber::registry().with(requests.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let config: ServerConfig = stdio_server(&[]).into();
    let session = MCPClientSessionManager::new().open_session(&config).await.unwrap();
    session.call_tool("echo", json!({"text": "hi"})).await.unwrap();
    session.call_tool("nope", json!({})).await.unwrap_err();
    session.close().await.unwrap();

    let seen = requests.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (ok, parent) = &seen[0];
    assert_eq!(parent.as_deref(), Some("session"));
    assert_eq!(ok["server"], "testkit");
    assert_eq!(ok["method"], "tools/call");
    assert_eq!(ok["tool"], "echo");
    assert_eq!(ok["outcome"], "ok");
    assert!(ok["id"].parse::<u64>().is_ok(), "{ok:?}");
    assert!(ok["duration_us"].parse::<u64>().is_ok(), "{ok:?}");
    let (failed, _) = &seen[1];
    assert_eq!(failed["tool"], "nope");
    assert_eq!(failed["outcome"], "rpc");
}
