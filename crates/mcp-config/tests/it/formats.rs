//! Each layout, loaded from a fixture file written as users write them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mcp_config::{
    CatalogSettings, Dialect, Format, Loader, PoolSettings, ServerConfig, SseConfig, StdioConfig,
    StreamableHttpConfig, Timeouts, ToolFilter, TransportKind, WarningKind,
};

use crate::{fixture, load};

fn stdio(server: &ServerConfig) -> &StdioConfig {
    match server {
        ServerConfig::Stdio(c) => c,
        other => panic!("expected stdio, got {other:?}"),
    }
}

fn sse(server: &ServerConfig) -> &SseConfig {
    match server {
        ServerConfig::Sse(c) => c,
        other => panic!("expected sse, got {other:?}"),
    }
}

fn http(server: &ServerConfig) -> &StreamableHttpConfig {
    match server {
        ServerConfig::StreamableHttp(c) => c,
        other => panic!("expected streamable http, got {other:?}"),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// native.json and native.toml describe the same servers.
fn check_native(file: &str) {
    let loaded = load(file);
    assert_eq!(loaded.dialect, Dialect::Native);
    assert_eq!(loaded.warnings, []);
    let config = &loaded.config;
    assert_eq!(
        config.names().collect::<Vec<_>>(),
        ["ArxivServer", "WikipediaServer", "GitHub", "Everything"]
    );

    let arxiv = stdio(config.get("ArxivServer").unwrap());
    assert_eq!(arxiv.command, "python3");
    assert_eq!(arxiv.args, ["mcp/mcp_arxiv.py", "stdio", "--storage-path", "/tmp/arxiv_papers"]);
    assert_eq!(arxiv.env, map(&[("ARXIV_API_KEY", "arxiv-secret-1"), ("PYTHONUNBUFFERED", "1")]));
    assert_eq!(arxiv.working_dir, Some(PathBuf::from("/srv/research")));
    assert_eq!(
        arxiv.timeouts,
        Timeouts::default()
            .startup(Duration::from_secs(90))
            .request(Duration::from_secs(120))
            .close_grace(Duration::from_millis(500))
    );

    let wikipedia = sse(config.get("WikipediaServer").unwrap());
    assert_eq!(wikipedia.url.as_str(), "http://127.0.0.1:8000/sse");
    assert_eq!(wikipedia.timeout, Duration::from_secs(10));
    assert_eq!(wikipedia.sse_read_timeout, Duration::from_secs(60));
    assert_eq!(wikipedia.timeouts, Timeouts::default());
    assert_eq!(wikipedia.pool, PoolSettings::default());

    let github = http(config.get("GitHub").unwrap());
    assert_eq!(github.url.as_str(), "https://api.githubcopilot.com/mcp/");
    assert_eq!(
        github.headers,
        map(&[("Authorization", "Bearer ghp_secret2"), ("X-MCP-Toolsets", "repos,issues")])
    );
    assert_eq!(github.timeout, Duration::from_secs(15));
    assert_eq!(github.sse_read_timeout, StreamableHttpConfig::DEFAULT_SSE_READ_TIMEOUT);
    assert!(!github.sse_fallback);
    assert_eq!(
        github.pool,
        PoolSettings::default()
            .max_in_flight(4)
            .max_queued(0)
            .idle_timeout(Duration::from_secs(600))
            .backoff(Duration::from_millis(500))
            .degraded_after(Duration::from_millis(2500))
    );
    assert_eq!(arxiv.pool, PoolSettings::default());
    assert_eq!(github.tools.allow_patterns(), ["get_*", "list_*", "search_*"]);
    assert_eq!(github.tools.deny_patterns(), ["*_secret*"]);
    assert!(github.tools.allows("list_issues"));
    assert!(!github.tools.allows("list_secrets"));
    assert!(!github.tools.allows("create_issue"));
    assert_eq!(
        github.catalog,
        CatalogSettings::default().ttl(Duration::from_secs(60)).max_pages(20)
    );
    assert!(arxiv.tools.is_empty());
    assert_eq!(arxiv.catalog, CatalogSettings::default());

    let everything = http(config.get("Everything").unwrap());
    assert!(everything.sse_fallback);
    assert_eq!(everything.timeout, StreamableHttpConfig::DEFAULT_TIMEOUT);
}

#[test]
fn native_json() {
    check_native("native.json");
}

#[test]
fn native_toml() {
    check_native("native.toml");
}

#[test]
fn native_json_and_toml_agree() {
    assert_eq!(load("native.json").config, load("native.toml").config);
}

#[test]
fn claude_desktop() {
    let loaded = load("claude_desktop.json");
    assert_eq!(loaded.dialect, Dialect::McpServers);
    let config = &loaded.config;
    assert_eq!(
        config.names().collect::<Vec<_>>(),
        ["filesystem", "github", "weather", "remote-docs"]
    );

    let fs = stdio(config.get("filesystem").unwrap());
    assert_eq!(fs.command, "npx");
    assert_eq!(fs.args[1], "@modelcontextprotocol/server-filesystem");
    assert_eq!(fs.timeouts, Timeouts::default());
    let github = stdio(config.get("github").unwrap());
    assert_eq!(github.env["GITHUB_PERSONAL_ACCESS_TOKEN"], "ghp_exampleTokenValue123");
    assert_eq!(stdio(config.get("weather").unwrap()).command, "node");

    // A bare `url` may be either HTTP transport: streamable HTTP first, legacy SSE as fallback.
    let docs = http(config.get("remote-docs").unwrap());
    assert!(docs.sse_fallback);
    assert_eq!(docs.timeout, StreamableHttpConfig::DEFAULT_TIMEOUT);

    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "server \"sqlite\": skipped: it is marked \"disabled\": true",
            "server \"weather\": ignored key `autoApprove`, which mcp-config does not use",
        ]
    );
}

#[test]
fn cursor() {
    let loaded = load("cursor.json");
    assert_eq!(loaded.dialect, Dialect::McpServers);
    assert_eq!(loaded.warnings, []);
    let linear = http(loaded.config.get("linear").unwrap());
    assert_eq!(linear.url.as_str(), "https://mcp.linear.app/sse");
    assert_eq!(linear.headers["Authorization"], "Bearer lin_secret3");
    assert!(linear.sse_fallback);
    let postgres = stdio(loaded.config.get("postgres").unwrap());
    assert_eq!(postgres.env["PGPASSWORD"], "pg-secret4");
}

#[test]
fn vscode() {
    let loaded = load("vscode/.vscode/mcp.json");
    assert_eq!(loaded.dialect, Dialect::VsCode);
    let config = &loaded.config;
    assert_eq!(config.names().collect::<Vec<_>>(), ["Perplexity", "fetch", "wikipedia", "github"]);
    let workspace = std::path::absolute(fixture("vscode")).unwrap();

    let perplexity = stdio(config.get("Perplexity").unwrap());
    assert_eq!(perplexity.env["PERPLEXITY_API_KEY"], "${input:perplexity-key}");
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].server.as_deref(), Some("Perplexity"));
    assert_eq!(loaded.warnings[0].kind, WarningKind::Input { id: "perplexity-key".into() });
    assert!(
        loaded.warnings[0].to_string().contains("`${input:perplexity-key}` is left as written")
    );

    let fetch = stdio(config.get("fetch").unwrap());
    assert_eq!(fetch.args[2], format!("{}/.cache", workspace.display()));
    assert_eq!(fetch.working_dir.as_deref(), Some(workspace.as_path()));
    // envFile values first, then `env` on top.
    assert_eq!(
        fetch.env,
        map(&[
            ("FETCH_MODE", "strict"),
            ("FETCH_TIMEOUT", "30"),
            (
                "FETCH_USER_AGENT",
                "ModelContextProtocol/1.0 (User-Specified; +https://github.com/modelcontextprotocol/servers)"
            ),
        ])
    );

    let wikipedia = sse(config.get("wikipedia").unwrap());
    assert_eq!(wikipedia.timeout, SseConfig::DEFAULT_TIMEOUT);
    assert_eq!(wikipedia.sse_read_timeout, SseConfig::DEFAULT_SSE_READ_TIMEOUT);
    let github = http(config.get("github").unwrap());
    assert_eq!(github.headers["Authorization"], "Bearer ghp_secret2");
    assert!(!github.sse_fallback, "an explicit type is not a guess");
}

#[test]
fn claude_code() {
    let loaded = load("claude_code/.mcp.json");
    assert_eq!(loaded.dialect, Dialect::McpServers);
    assert_eq!(loaded.warnings, []);
    let config = &loaded.config;
    assert_eq!(stdio(config.get("airtable").unwrap()).env["AIRTABLE_API_KEY"], "pat-secret5");
    let sentry = http(config.get("sentry").unwrap());
    assert_eq!(sentry.url.as_str(), "https://mcp.sentry.dev/mcp");
    assert!(!sentry.sse_fallback);
    let asana = sse(config.get("asana").unwrap());
    assert_eq!(asana.headers["X-Workspace"], "default");
}

#[test]
fn process_environment_is_the_default_source() {
    // PATH is set in every environment tests run in.
    let path = std::env::var("PATH").unwrap();
    let text = r#"{"mcpServers": {"x": {"command": "run", "env": {"P": "${PATH}"}}}}"#;
    let loaded = mcp_config::MCPConfig::from_str(text, mcp_config::Format::Json).unwrap();
    assert_eq!(stdio(loaded.config.get("x").unwrap()).env["P"], path);
}

#[test]
fn workspace_folder_can_be_set_for_text() {
    let text =
        r#"{"servers": {"x": {"type": "stdio", "command": "${workspaceFolder}/bin/server"}}}"#;
    let loaded = mcp_config::Loader::new().workspace_folder("/src/app").load_str(text).unwrap();
    assert_eq!(stdio(loaded.config.get("x").unwrap()).command, "/src/app/bin/server");
}

#[test]
fn a_disabled_server_may_use_unset_variables() {
    let text = r#"{"mcpServers": {
        "off": {"command": "x", "env": {"K": "${NOT_SET_ANYWHERE}", "I": "${input:key}"}, "disabled": true},
        "on": {"command": "y"}
    }}"#;
    let loaded = mcp_config::Loader::new().vars([("A", "b")]).load_str(text).unwrap();
    assert_eq!(loaded.config.names().collect::<Vec<_>>(), ["on"]);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings, ["server \"off\": skipped: it is marked \"disabled\": true"]);
}

#[test]
fn an_inner_name_that_differs_from_the_key_is_reported() {
    let text = r#"{"mcpServers": {"key-name": {"name": "inner", "command": "x"}, "same": {"name": "same", "command": "y"}}}"#;
    let loaded = mcp_config::MCPConfig::from_str(text, mcp_config::Format::Json).unwrap();
    assert_eq!(loaded.config.names().collect::<Vec<_>>(), ["key-name", "same"]);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(
        loaded.warnings[0].to_string(),
        "server \"key-name\": ignored the inner name \"inner\": in this layout the key an entry sits under names it"
    );
}

#[test]
fn builders_give_the_documented_defaults() {
    let server = SseConfig::new("s", "http://127.0.0.1:1/sse").unwrap();
    assert_eq!(server.timeout, Duration::from_secs(5));
    assert_eq!(server.sse_read_timeout, Duration::from_secs(300));
    let timeouts = Timeouts::default();
    assert_eq!(
        (timeouts.startup, timeouts.request, timeouts.close_grace),
        (Duration::from_secs(60), Duration::from_secs(60), Duration::from_secs(2))
    );
    let pool = PoolSettings::default();
    assert_eq!(
        (pool.max_in_flight, pool.max_queued, pool.max_restarts),
        (16, 64, 5),
        "calls in flight, queued, restarts"
    );
    assert_eq!(
        [
            pool.idle_timeout,
            pool.healthy_after,
            pool.backoff,
            pool.max_backoff,
            pool.ping_timeout,
            pool.degraded_after
        ],
        [
            Duration::from_secs(300),
            Duration::from_secs(60),
            Duration::from_millis(250),
            Duration::from_secs(10),
            Duration::from_secs(5),
            Duration::from_secs(1)
        ]
    );
    assert_eq!(server.pool, pool);
    assert_eq!(StdioConfig::new("s", "x").pool, pool);
    assert_eq!(StreamableHttpConfig::new("h", "http://127.0.0.1:1/mcp").unwrap().pool, pool);
}

/// A `pool` that sets every key, durations written every way, and what it must load to.
const POOL_JSON: &str = r#"{"max_in_flight": 2, "max_queued": 0, "idle_timeout": "5m",
    "max_restarts": 0, "healthy_after": 90, "backoff": "100ms", "max_backoff": 2.5,
    "ping_timeout": "1s 500ms", "degraded_after": "750ms"}"#;

const POOL_TOML: &str = r#"{ max_in_flight = 2, max_queued = 0, idle_timeout = "5m", max_restarts = 0, healthy_after = 90, backoff = "100ms", max_backoff = 2.5, ping_timeout = "1s 500ms", degraded_after = "750ms" }"#;

fn pool_written() -> PoolSettings {
    PoolSettings::default()
        .max_in_flight(2)
        .max_queued(0)
        .idle_timeout(Duration::from_secs(300))
        .max_restarts(0)
        .healthy_after(Duration::from_secs(90))
        .backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_millis(2500))
        .ping_timeout(Duration::from_millis(1500))
        .degraded_after(Duration::from_millis(750))
}

/// `pool` is read in every layout and format, for every transport, like `timeouts`; a server
/// without one gets the defaults.
#[test]
fn pool_in_every_layout() {
    let p = POOL_JSON;
    let t = POOL_TOML;
    let texts = [
        (
            "mcpServers",
            Format::Json,
            Dialect::McpServers,
            format!(
                r#"{{"mcpServers": {{
                    "s": {{"command": "x", "pool": {p}}},
                    "e": {{"type": "sse", "url": "http://127.0.0.1:1/sse", "pool": {p}}},
                    "h": {{"url": "http://127.0.0.1:1/mcp", "pool": {p}}},
                    "d": {{"command": "y"}}
                }}}}"#
            ),
        ),
        (
            "VS Code",
            Format::Jsonc,
            Dialect::VsCode,
            format!(
                r#"{{"servers": {{ // VS Code
                    "s": {{"type": "stdio", "command": "x", "pool": {p},}},
                    "e": {{"type": "sse", "url": "http://127.0.0.1:1/sse", "pool": {p}}},
                    "h": {{"type": "http", "url": "http://127.0.0.1:1/mcp", "pool": {p}}},
                    "d": {{"type": "stdio", "command": "y"}},
                }}}}"#
            ),
        ),
        (
            "native JSON",
            Format::Json,
            Dialect::Native,
            format!(
                r#"{{"servers": [
                    {{"server_name": "s", "command": "x", "pool": {p}}},
                    {{"server_name": "e", "transport": "sse", "url": "http://127.0.0.1:1/sse", "pool": {p}}},
                    {{"server_name": "h", "transport": "http", "url": "http://127.0.0.1:1/mcp", "pool": {p}}},
                    {{"server_name": "d", "command": "y"}}
                ]}}"#
            ),
        ),
        (
            "native TOML",
            Format::Toml,
            Dialect::Native,
            format!(
                "[[servers]]\nserver_name = \"s\"\ncommand = \"x\"\npool = {t}\n\n\
                 [[servers]]\nserver_name = \"e\"\ntransport = \"sse\"\nurl = \"http://127.0.0.1:1/sse\"\n\
                 [servers.pool]\n{}\n\n\
                 [[servers]]\nserver_name = \"h\"\ntransport = \"http\"\nurl = \"http://127.0.0.1:1/mcp\"\npool = {t}\n\n\
                 [[servers]]\nserver_name = \"d\"\ncommand = \"y\"\n",
                t.trim_matches(['{', '}', ' ']).replace(", ", "\n")
            ),
        ),
        (
            "mcpServers TOML",
            Format::Toml,
            Dialect::McpServers,
            format!(
                "[mcpServers.s]\ncommand = \"x\"\npool = {t}\n\n\
                 [mcpServers.e]\ntype = \"sse\"\nurl = \"http://127.0.0.1:1/sse\"\npool = {t}\n\n\
                 [mcpServers.h]\nurl = \"http://127.0.0.1:1/mcp\"\npool = {t}\n\n\
                 [mcpServers.d]\ncommand = \"y\"\n"
            ),
        ),
    ];
    for (layout, format, dialect, text) in texts {
        let loaded = Loader::new()
            .format(format)
            .load_str(&text)
            .unwrap_or_else(|err| panic!("{layout}: {err}\n{text}"));
        assert_eq!(loaded.dialect, dialect, "{layout}");
        assert_eq!(loaded.warnings, [], "{layout}");
        let config = &loaded.config;
        let transports: Vec<TransportKind> = config.iter().map(ServerConfig::transport).collect();
        assert_eq!(
            transports,
            [
                TransportKind::Stdio,
                TransportKind::Sse,
                TransportKind::StreamableHttp,
                TransportKind::Stdio
            ],
            "{layout}"
        );
        for name in ["s", "e", "h"] {
            assert_eq!(*config.get(name).unwrap().pool(), pool_written(), "{layout}: {name}");
        }
        assert_eq!(*config.get("d").unwrap().pool(), PoolSettings::default(), "{layout}");
    }
}

/// Every fixture's server without `pool`, `tools` or `catalog` (all but GitHub) has the
/// defaults.
#[test]
fn pool_tools_and_catalog_default_when_absent() {
    for name in [
        "seed.json",
        "native.json",
        "native.toml",
        "claude_desktop.json",
        "cursor.json",
        "mcp_remote.json",
        "vscode/.vscode/mcp.json",
        "claude_code/.mcp.json",
    ] {
        for server in load(name).config.iter() {
            if server.server_name() != "GitHub" {
                assert_eq!(*server.pool(), PoolSettings::default(), "{name}: {server}");
                assert_eq!(*server.tools(), ToolFilter::default(), "{name}: {server}");
                assert!(server.tools().allows("anything"), "{name}: {server}");
                assert_eq!(*server.catalog(), CatalogSettings::default(), "{name}: {server}");
            }
        }
    }
}

/// `tools` and `catalog` as one entry writes them, in JSON and in inline TOML, and what they
/// must load to.
const TOOLS_JSON: &str = r#""tools": {"allow": ["read_*", "list_{files,dirs}"], "deny": ["*secret*"]},
    "catalog": {"ttl": "30s", "max_pages": 5, "max_items": 250}"#;

const TOOLS_TOML: &str = r#"tools = { allow = ["read_*", "list_{files,dirs}"], deny = ["*secret*"] }
catalog = { ttl = "30s", max_pages = 5, max_items = 250 }"#;

fn tools_written() -> ToolFilter {
    ToolFilter::new(["read_*", "list_{files,dirs}"], ["*secret*"]).unwrap()
}

fn catalog_written() -> CatalogSettings {
    CatalogSettings::default().ttl(Duration::from_secs(30)).max_pages(5).max_items(250)
}

/// `tools` and `catalog` are read in every layout and format, for every transport, like `pool`;
/// a server without them gets the defaults.
#[test]
fn tools_and_catalog_in_every_layout() {
    let j = TOOLS_JSON;
    let t = TOOLS_TOML;
    let texts = [
        (
            "mcpServers",
            Format::Json,
            Dialect::McpServers,
            format!(
                r#"{{"mcpServers": {{
                    "s": {{"command": "x", {j}}},
                    "e": {{"type": "sse", "url": "http://127.0.0.1:1/sse", {j}}},
                    "h": {{"url": "http://127.0.0.1:1/mcp", {j}}},
                    "d": {{"command": "y"}}
                }}}}"#
            ),
        ),
        (
            "VS Code",
            Format::Jsonc,
            Dialect::VsCode,
            format!(
                r#"{{"servers": {{ // VS Code
                    "s": {{"type": "stdio", "command": "x", {j},}},
                    "e": {{"type": "sse", "url": "http://127.0.0.1:1/sse", {j}}},
                    "h": {{"type": "http", "url": "http://127.0.0.1:1/mcp", {j}}},
                    "d": {{"type": "stdio", "command": "y"}},
                }}}}"#
            ),
        ),
        (
            "native JSON",
            Format::Json,
            Dialect::Native,
            format!(
                r#"{{"servers": [
                    {{"server_name": "s", "command": "x", {j}}},
                    {{"server_name": "e", "transport": "sse", "url": "http://127.0.0.1:1/sse", {j}}},
                    {{"server_name": "h", "transport": "http", "url": "http://127.0.0.1:1/mcp", {j}}},
                    {{"server_name": "d", "command": "y"}}
                ]}}"#
            ),
        ),
        (
            "native TOML",
            Format::Toml,
            Dialect::Native,
            format!(
                "[[servers]]\nserver_name = \"s\"\ncommand = \"x\"\n{t}\n\n\
                 [[servers]]\nserver_name = \"e\"\ntransport = \"sse\"\nurl = \"http://127.0.0.1:1/sse\"\n\
                 [servers.tools]\nallow = [\"read_*\", \"list_{{files,dirs}}\"]\ndeny = [\"*secret*\"]\n\
                 [servers.catalog]\nttl = \"30s\"\nmax_pages = 5\nmax_items = 250\n\n\
                 [[servers]]\nserver_name = \"h\"\ntransport = \"http\"\nurl = \"http://127.0.0.1:1/mcp\"\n{t}\n\n\
                 [[servers]]\nserver_name = \"d\"\ncommand = \"y\"\n"
            ),
        ),
        (
            "mcpServers TOML",
            Format::Toml,
            Dialect::McpServers,
            format!(
                "[mcpServers.s]\ncommand = \"x\"\n{t}\n\n\
                 [mcpServers.e]\ntype = \"sse\"\nurl = \"http://127.0.0.1:1/sse\"\n{t}\n\n\
                 [mcpServers.h]\nurl = \"http://127.0.0.1:1/mcp\"\n{t}\n\n\
                 [mcpServers.d]\ncommand = \"y\"\n"
            ),
        ),
    ];
    for (layout, format, dialect, text) in texts {
        let loaded = Loader::new()
            .format(format)
            .load_str(&text)
            .unwrap_or_else(|err| panic!("{layout}: {err}\n{text}"));
        assert_eq!(loaded.dialect, dialect, "{layout}");
        assert_eq!(loaded.warnings, [], "{layout}");
        let config = &loaded.config;
        assert_eq!(config.len(), 4, "{layout}");
        for name in ["s", "e", "h"] {
            let server = config.get(name).unwrap();
            assert_eq!(*server.tools(), tools_written(), "{layout}: {name}");
            assert_eq!(*server.catalog(), catalog_written(), "{layout}: {name}");
            assert!(server.tools().allows("list_dirs"), "{layout}: {name}");
            assert!(!server.tools().allows("read_secret_file"), "{layout}: {name}: deny wins");
            assert!(!server.tools().allows("write_file"), "{layout}: {name}");
        }
        let default = config.get("d").unwrap();
        assert!(default.tools().is_empty(), "{layout}");
        assert_eq!(*default.catalog(), CatalogSettings::default(), "{layout}");
    }
}

/// Each list of `tools` and each key of `catalog` may be left out; empty lists are no filter.
#[test]
fn tools_and_catalog_keys_are_each_optional() {
    let text = r#"{"mcpServers": {
        "a": {"command": "x", "tools": {"deny": ["rm"]}, "catalog": {"max_items": 1}},
        "b": {"command": "x", "tools": {"allow": []}, "catalog": {}},
        "c": {"command": "x", "tools": {}, "catalog": {"ttl": 0}}
    }}"#;
    let config = Loader::new().load_str(text).unwrap().config;
    let a = config.get("a").unwrap();
    assert_eq!(*a.tools(), ToolFilter::default().deny(["rm"]).unwrap());
    assert!(a.tools().allow_patterns().is_empty());
    assert!(a.tools().allows("ls") && !a.tools().allows("rm"));
    assert_eq!(*a.catalog(), CatalogSettings::default().max_items(1));
    for name in ["b", "c"] {
        assert!(config.get(name).unwrap().tools().is_empty(), "{name}");
    }
    assert_eq!(*config.get("b").unwrap().catalog(), CatalogSettings::default());
    assert_eq!(config.get("c").unwrap().catalog().ttl, Duration::ZERO, "0 = list on every use");
}

#[test]
fn catalog_builders_give_the_documented_defaults() {
    let catalog = CatalogSettings::default();
    assert_eq!(
        (catalog.ttl, catalog.max_pages, catalog.max_items),
        (Duration::from_secs(300), 100, 10_000)
    );
    assert_eq!(
        (CatalogSettings::DEFAULT_TTL, CatalogSettings::DEFAULT_MAX_PAGES),
        (catalog.ttl, catalog.max_pages)
    );
    assert_eq!(CatalogSettings::DEFAULT_MAX_ITEMS, catalog.max_items);
    assert_eq!(StdioConfig::new("s", "x").catalog, catalog);
    assert_eq!(SseConfig::new("e", "http://127.0.0.1:1/sse").unwrap().catalog, catalog);
    assert_eq!(StreamableHttpConfig::new("h", "http://127.0.0.1:1/mcp").unwrap().catalog, catalog);
    assert!(StdioConfig::new("s", "x").tools.is_empty());
    assert!(SseConfig::new("e", "http://127.0.0.1:1/sse").unwrap().tools.is_empty());
    assert!(StreamableHttpConfig::new("h", "http://127.0.0.1:1/mcp").unwrap().tools.is_empty());
}

/// mcp-remote's README: the header's value sits in the server's own `env` block, and
/// `${AUTH_HEADER}` in `args` resolves to it; the process environment still comes first.
#[test]
fn variables_from_the_servers_own_env_block() {
    let loaded = load("mcp_remote.json");
    assert_eq!(loaded.dialect, Dialect::McpServers);
    assert_eq!(loaded.warnings, []);
    let remote = stdio(loaded.config.get("remote-example").unwrap());
    assert_eq!(
        remote.args,
        [
            "mcp-remote",
            "https://remote.mcp.server/sse",
            "--header",
            "Authorization:Bearer remote-secret-6"
        ]
    );
    assert_eq!(remote.env["AUTH_HEADER"], "Bearer remote-secret-6");
    let spaced = stdio(loaded.config.get("remote-with-space").unwrap());
    assert_eq!(spaced.args[3], "Authorization: Bearer remote-secret-7");
    // GITHUB_TOKEN is in the process environment (the fixtures' VARS): that value wins.
    let github = stdio(loaded.config.get("github").unwrap());
    assert_eq!(github.args[2], "--token=ghp_secret2");
    assert_eq!(github.env["GITHUB_TOKEN"], "ghp_from_the_env_block");

    // The value stays a secret wherever the command line is shown.
    let shown = [
        loaded.config.to_string(),
        format!("{:?}", loaded.config),
        loaded.config.redacted().to_json_string(),
    ];
    for text in shown {
        assert!(!text.contains("remote-secret"), "{text}");
    }
    assert!(loaded.config.to_string().contains("--header Authorization:***)"));
    let redacted = loaded.config.redacted();
    assert_eq!(stdio(redacted.get("remote-example").unwrap()).args[3], "Authorization:***");
    // The real config, written out and read back, still carries it (as a literal).
    let text = loaded.config.to_json_string();
    let again = mcp_config::MCPConfig::from_str(&text, mcp_config::Format::Json).unwrap();
    assert_eq!(again.config, loaded.config);
}

/// Only the mcpServers layout takes variables from the `env` block: VS Code and mcp-config's own
/// layout read `${VAR}` from the environment alone, as VS Code does.
#[test]
fn other_layouts_do_not_read_the_env_block() {
    let vscode = r#"{"servers": {"r": {"type": "stdio", "command": "npx", "args": ["${AUTH}"], "env": {"AUTH": "x"}}}}"#;
    let native = r#"{"servers": [{"server_name": "r", "command": "npx", "args": ["${AUTH}"], "env": {"AUTH": "x"}}]}"#;
    for text in [vscode, native] {
        let err = mcp_config::Loader::new().vars([("HOME", "/h")]).load_str(text).unwrap_err();
        assert!(
            matches!(err.kind(), mcp_config::LoadErrorKind::UnsetVariable { name } if name == "AUTH"),
            "{err}"
        );
    }
}
