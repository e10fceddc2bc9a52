//! `research-demo call`: one tool call through the pool, its result printed (text as it is,
//! media as a one-line note, structured content as JSON, or the raw result with `--json`);
//! exit 1 for an error result or a failed server, 2 for usage (arguments, unknown names, a tool
//! the `tools` filter leaves out, arguments that break the input schema).

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, Resource, ServerCapabilities, ServerConfig,
};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::{Value, json};

use crate::common::{Ran, marker, research_demo, serve, testkit_stdio};

/// Calls a tool of testkit-mcp (an ad-hoc server over stdio, the only one used) with `args`
/// after `call testkit-mcp`.
async fn call_testkit(args: &[&str], marker: &str) -> Ran {
    let testkit = testkit_stdio();
    let mut all = vec!["call", "testkit-mcp"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--stdio", &testkit, "--server", "testkit-mcp"]);
    research_demo(None, &all, marker).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_results_with_a_json_object_with_args_and_both() {
    let marker = marker("call-text");
    let ran = call_testkit(&["echo", r#"{"text": "hello there"}"#], &marker).await;
    ran.exits(0);
    assert_eq!(ran.stdout, "hello there\n");
    assert!(ran.stderr.is_empty(), "{}", ran.stderr);

    // --arg values are JSON when they parse (numbers here), else strings.
    let ran = call_testkit(&["add", "--arg", "a=2", "--arg", "b=3.5"], &marker).await;
    ran.exits(0);
    assert_eq!(ran.stdout, "5.5\n");
    let ran = call_testkit(&["echo", "--arg", "text=42 is not a number"], &marker).await;
    assert_eq!(ran.exits(0).stdout, "42 is not a number\n");
    let ran = call_testkit(&["echo", "--arg", r#"text="42""#], &marker).await;
    assert_eq!(ran.exits(0).stdout, "42\n");
    let ran = call_testkit(&["add", r#"{"a": 1}"#, "--arg", "b=2"], &marker).await;
    assert_eq!(ran.exits(0).stdout, "3\n");

    // --json: the result as the server sent it.
    let ran = call_testkit(&["echo", "--json", "--arg", "text=hi"], &marker).await;
    let lines = ran.exits(0).json_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["content"], json!([{"type": "text", "text": "hi"}]), "{}", lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_result_or_a_failed_server_exits_1() {
    let marker = marker("call-error");
    let ran = call_testkit(&["fail", "--arg", "message=the disk is full"], &marker).await;
    ran.exits(1);
    assert_eq!(ran.stdout, "the disk is full\n");
    assert_eq!(
        ran.stderr,
        "research-demo: fail of testkit-mcp answered with an error: the disk is full\n"
    );
    let ran = call_testkit(&["fail", "--json", "--arg", "message=boom"], &marker).await;
    let lines = ran.exits(1).json_lines();
    assert_eq!(lines[0]["isError"], true, "{lines:?}");
    assert_eq!((&lines[1]["type"], &lines[1]["kind"]), (&json!("error"), &json!("server")));

    // The server cannot start.
    let args = ["call", "mcp-server", "echo", "--stdio", "/nonexistent/mcp-server"];
    let ran = research_demo(None, &args, &marker).await;
    ran.exits(1);
    assert!(
        ran.stderr.starts_with("research-demo: mcp-server: cannot start `/nonexistent/mcp-server`"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_content_is_json_and_the_schemas_are_checked() {
    let marker = marker("call-schemas");
    let ran = call_testkit(&["structured", "--arg", "n=3"], &marker).await;
    ran.exits(0);
    assert_eq!(ran.stdout, "{\n  \"n\": 3\n}\n");

    // A result that breaks the tool's output schema is the server's fault: 1.
    let ran = call_testkit(&["structured", "--arg", "n=three"], &marker).await;
    ran.exits(1);
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert!(
        ran.stderr.contains(
            "testkit-mcp: tool \"structured\" returned structured content that does not match its output schema: /n:"
        ),
        "{}",
        ran.stderr
    );
    // Arguments that break its input schema are the caller's: 2, and nothing is called.
    let ran = call_testkit(&["add", "--arg", "a=one", "--arg", "b=2"], &marker).await;
    ran.exits(2);
    assert!(
        ran.stderr.contains(
            "testkit-mcp: arguments for tool \"add\" do not match its input schema: /a: \"one\" is not of type \"number\""
        ),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let marker = marker("call-usage");
    for (args, says) in [
        (&["echo", "[1, 2]"][..], "the arguments must be a JSON object"),
        (&["echo", "{oops"], "not JSON"),
        (&["echo", "--arg", "text"], "expected KEY=VALUE"),
        (&["echo", r#"{"text": "a"}"#, "--arg", "text=b"], "the argument `text` is given twice"),
        (&["ecko", "--arg", "text=a"], "testkit-mcp has no tool `ecko` (did you mean `echo`?)"),
    ] {
        let ran = call_testkit(args, &marker).await;
        ran.exits(2);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{args:?}: {}", ran.stdout);
    }
    let ran = research_demo(None, &["call", "Wikipedia", "get_summary"], &marker).await;
    ran.exits(2);
    assert!(ran.stderr.contains("did you mean \"WikipediaServer\"?"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_the_filter_leaves_out_cannot_be_called() {
    let marker = marker("call-filter");
    let dir = tempfile::tempdir().unwrap();
    let server =
        json!({"command": testkit::testkit_mcp(), "args": ["stdio"], "tools": {"deny": ["fail"]}});
    let config = dir.path().join("mcp.json");
    std::fs::write(&config, json!({"mcpServers": {"testkit": server}}).to_string()).unwrap();
    let config = config.display().to_string();
    let args = ["call", "testkit", "fail", "--arg", "message=x", "--config", &config];
    let ran = research_demo(None, &args, &marker).await;
    ran.exits(2);
    assert!(
        ran.stderr.contains("testkit: the tool `fail` is not available: this server's `tools` filter in the config leaves it out"),
        "{}",
        ran.stderr
    );
    let args = ["call", "testkit", "echo", "--arg", "text=allowed", "--config", &config];
    assert_eq!(research_demo(None, &args, &marker).await.exits(0).stdout, "allowed\n");
}

/// An MCP server whose tools answer with images, audio and resources.
#[derive(Clone)]
struct Media {
    tool_router: ToolRouter<Media>,
}

#[tool_router]
impl Media {
    fn new() -> Self {
        Media { tool_router: Self::tool_router() }
    }

    #[tool(description = "A picture, with a caption.")]
    async fn picture(&self) -> CallToolResult {
        // 1648 base64 digits: 1236 bytes.
        CallToolResult::success(vec![
            ContentBlock::text("A cat."),
            ContentBlock::image("A".repeat(1648), "image/png"),
        ])
    }

    #[tool(description = "A sound.")]
    async fn sound(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::audio("AAAA".repeat(100), "audio/wav")])
    }

    #[tool(description = "A file, linked and embedded.")]
    async fn files(&self) -> CallToolResult {
        let mut link = Resource::new("file:///srv/report.pdf", "report");
        link.mime_type = Some("application/pdf".to_owned());
        CallToolResult::success(vec![
            ContentBlock::resource_link(link),
            ContentBlock::embedded_text("file:///srv/notes.txt", "twelve bytes"),
        ])
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Media {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("media", "1.0.0");
        info
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_audio_and_resources_are_one_line_each() {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let service = StreamableHttpService::new(
        || Ok(Media::new()),
        std::sync::Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let base = serve(axum::Router::new().nest_service("/mcp", service)).await;
    let url = base.join("mcp").unwrap().to_string();
    let name = format!("127.0.0.1:{}", base.port().unwrap());
    let marker = marker("call-media");
    let call = |tool: &'static str| {
        let (url, name, marker) = (url.clone(), name.clone(), marker.clone());
        async move {
            let args = ["call", &name, tool, "--url", &url, "--server", &name];
            research_demo(None, &args, &marker).await
        }
    };
    assert_eq!(call("picture").await.exits(0).stdout, "A cat.\n[image: image/png, 1.2 KiB]\n");
    assert_eq!(call("sound").await.exits(0).stdout, "[audio: audio/wav, 300 B]\n");
    assert_eq!(
        call("files").await.exits(0).stdout,
        "[resource link: file:///srv/report.pdf, report, application/pdf]\n\
         [resource: file:///srv/notes.txt, text/plain, 12 B of text]\n"
    );
    // The raw result keeps the data.
    let args = ["call", &name, "picture", "--json", "--url", &url, "--server", &name];
    let raw: Vec<Value> = research_demo(None, &args, &marker).await.exits(0).json_lines();
    assert_eq!(raw[0]["content"][1]["data"].as_str().unwrap().len(), 1648);
}
