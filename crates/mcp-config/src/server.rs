//! One MCP server's configuration: [`StdioConfig`], [`SseConfig`], [`StreamableHttpConfig`],
//! their shared [`Timeouts`], [`PoolSettings`], [`ToolFilter`] and [`CatalogSettings`], the
//! remote ones' [`AuthConfig`], and the [`ServerConfig`] enum over them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::auth::AuthConfig;
use crate::duration::{self, DurationSchema};
use crate::error::ConfigError;
use crate::filter::ToolFilter;
use crate::redact::{RedactedMap, RedactedUrl};

/// How long a session may take for each phase of its life.
///
/// Every wait in a session is bounded by one of these; nothing waits forever.
///
/// ```
/// use std::time::Duration;
/// use mcp_config::Timeouts;
///
/// let timeouts = Timeouts::default().request(Duration::from_secs(120));
/// assert_eq!(timeouts.startup, Duration::from_secs(60));
/// assert_eq!(timeouts.request, Duration::from_secs(120));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[schemars(description = "How long a session may take for each phase of its life.")]
pub struct Timeouts {
    /// Spawning the process or connecting, plus the `initialize` handshake. Default 60 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub startup: Duration,
    /// Each request (`tools/call`, `tools/list`, …), unless a call overrides it. Default 60 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub request: Duration,
    /// How long a closing server may take to exit on its own before it is signalled. Default 2 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub close_grace: Duration,
}

impl Timeouts {
    /// The default startup timeout: 60 s.
    pub const DEFAULT_STARTUP: Duration = Duration::from_secs(60);
    /// The default request timeout: 60 s.
    pub const DEFAULT_REQUEST: Duration = Duration::from_secs(60);
    /// The default close grace period: 2 s.
    pub const DEFAULT_CLOSE_GRACE: Duration = Duration::from_secs(2);

    /// Sets the startup timeout (spawn or connect, plus `initialize`).
    #[must_use]
    pub fn startup(mut self, startup: Duration) -> Self {
        self.startup = startup;
        self
    }

    /// Sets the default timeout of each request.
    #[must_use]
    pub fn request(mut self, request: Duration) -> Self {
        self.request = request;
        self
    }

    /// Sets the grace period a closing server gets before it is signalled.
    #[must_use]
    pub fn close_grace(mut self, close_grace: Duration) -> Self {
        self.close_grace = close_grace;
        self
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            startup: Self::DEFAULT_STARTUP,
            request: Self::DEFAULT_REQUEST,
            close_grace: Self::DEFAULT_CLOSE_GRACE,
        }
    }
}

/// How a session pool (mcp-session's `SessionPool`) treats one server: how many calls it
/// sends at once and how many it lets wait, when it closes an idle session, how it restarts a
/// session that died, and how it checks the server's health.
///
/// Only the pool reads these; a session opened on its own (`open_session`) ignores them. Every
/// field has a default, so a file sets only the ones it changes (`"pool": {"max_in_flight": 4}`),
/// and code starts from [`PoolSettings::default`] and calls the setter of each field it changes.
///
/// ```
/// use std::time::Duration;
/// use mcp_config::{PoolSettings, ServerConfig, StdioConfig};
///
/// let pool = PoolSettings::default()
///     .max_in_flight(4)
///     .max_queued(0)
///     .idle_timeout(Duration::from_secs(60));
/// assert_eq!(pool.max_queued, 0, "no queue: a fifth call fails at once as busy");
/// assert_eq!(pool.max_restarts, PoolSettings::DEFAULT_MAX_RESTARTS);
///
/// let server = ServerConfig::from(StdioConfig::new("ArxivServer", "python3").pool(pool));
/// assert_eq!(server.pool().max_in_flight, 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[schemars(
    description = "How mcp-session's `SessionPool` treats this server: calls in flight and queued, idle sessions, restarts and health checks. Sessions opened with `open_session` ignore it."
)]
pub struct PoolSettings {
    /// Calls in flight at once to this server; later calls wait in its queue. Default 16. At
    /// least 1.
    #[serde(deserialize_with = "deserialize_max_in_flight")]
    #[schemars(range(min = 1))]
    pub max_in_flight: u32,
    /// Calls that may wait for a free place; one more fails at once with a "busy" error.
    /// Default 64. 0 = no queue.
    pub max_queued: u32,
    /// An open session with no lease and no call in flight is closed after this long. Default
    /// 300 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub idle_timeout: Duration,
    /// Restarts allowed before the server is marked failed; the budget refills after
    /// `healthy_after`. Default 5.
    pub max_restarts: u32,
    /// How long a session must stay up (or a failed server wait) before its restart budget
    /// refills. Default 60 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub healthy_after: Duration,
    /// The wait before the second restart in a row (the first is immediate); it doubles each
    /// time after, with jitter. Default 250 ms.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub backoff: Duration,
    /// The longest wait between two restarts. Default 10 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub max_backoff: Duration,
    /// How long a health check's ping may take. Default 5 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub ping_timeout: Duration,
    /// A ping answered slower than this marks the server degraded. Default 1 s.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub degraded_after: Duration,
}

impl PoolSettings {
    /// The default [`max_in_flight`](Self::max_in_flight): 16 calls.
    pub const DEFAULT_MAX_IN_FLIGHT: u32 = 16;
    /// The default [`max_queued`](Self::max_queued): 64 calls.
    pub const DEFAULT_MAX_QUEUED: u32 = 64;
    /// The default [`idle_timeout`](Self::idle_timeout): 300 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
    /// The default [`max_restarts`](Self::max_restarts): 5.
    pub const DEFAULT_MAX_RESTARTS: u32 = 5;
    /// The default [`healthy_after`](Self::healthy_after): 60 s.
    pub const DEFAULT_HEALTHY_AFTER: Duration = Duration::from_secs(60);
    /// The default [`backoff`](Self::backoff): 250 ms.
    pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(250);
    /// The default [`max_backoff`](Self::max_backoff): 10 s.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);
    /// The default [`ping_timeout`](Self::ping_timeout): 5 s.
    pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`degraded_after`](Self::degraded_after): 1 s.
    pub const DEFAULT_DEGRADED_AFTER: Duration = Duration::from_secs(1);

    /// Sets how many calls may be in flight at once to this server. It should be at least 1:
    /// the file loader and serde refuse 0.
    #[must_use]
    pub fn max_in_flight(mut self, max_in_flight: u32) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Sets how many calls may wait for a free place (0: none; a call that finds no free place
    /// fails at once).
    #[must_use]
    pub fn max_queued(mut self, max_queued: u32) -> Self {
        self.max_queued = max_queued;
        self
    }

    /// Sets how long an unused open session stays open.
    #[must_use]
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets how many restarts are allowed before the server is marked failed.
    #[must_use]
    pub fn max_restarts(mut self, max_restarts: u32) -> Self {
        self.max_restarts = max_restarts;
        self
    }

    /// Sets how long a session must stay up (or a failed server wait) before its restart budget
    /// refills.
    #[must_use]
    pub fn healthy_after(mut self, healthy_after: Duration) -> Self {
        self.healthy_after = healthy_after;
        self
    }

    /// Sets the wait before the second restart in a row, which doubles each time after.
    #[must_use]
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the longest wait between two restarts.
    #[must_use]
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// Sets how long a health check's ping may take.
    #[must_use]
    pub fn ping_timeout(mut self, ping_timeout: Duration) -> Self {
        self.ping_timeout = ping_timeout;
        self
    }

    /// Sets how slow a ping answer may be before the server counts as degraded.
    #[must_use]
    pub fn degraded_after(mut self, degraded_after: Duration) -> Self {
        self.degraded_after = degraded_after;
        self
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            max_queued: Self::DEFAULT_MAX_QUEUED,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_restarts: Self::DEFAULT_MAX_RESTARTS,
            healthy_after: Self::DEFAULT_HEALTHY_AFTER,
            backoff: Self::DEFAULT_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            ping_timeout: Self::DEFAULT_PING_TIMEOUT,
            degraded_after: Self::DEFAULT_DEGRADED_AFTER,
        }
    }
}

/// What a `max_in_flight` of 0 is told, by serde and by the file loader; `key` is how the
/// message names it.
pub(crate) fn max_in_flight_zero(key: &str) -> String {
    format!(
        "`{key}` is 0, but it must be at least 1 (with no call in flight the server could never \
         be used); write 1 or more, or leave it out for the default, {}",
        PoolSettings::DEFAULT_MAX_IN_FLIGHT
    )
}

fn deserialize_max_in_flight<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u32, D::Error> {
    match u32::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom(max_in_flight_zero("max_in_flight"))),
        n => Ok(n),
    }
}

/// How a session pool keeps the catalog of one server's tools (and other listings): how long a
/// listing stays fresh, and how large one may grow.
///
/// Like [`PoolSettings`], only a session pool reads these. Every field has a default, so a file
/// sets only the ones it changes (`"catalog": {"ttl": "1m"}`), and code starts from
/// [`CatalogSettings::default`] and calls the setter of each field it changes.
///
/// ```
/// use std::time::Duration;
/// use mcp_config::{CatalogSettings, ServerConfig, StdioConfig};
///
/// let catalog = CatalogSettings::default().ttl(Duration::from_secs(60)).max_pages(10);
/// assert_eq!(catalog.max_items, CatalogSettings::DEFAULT_MAX_ITEMS);
///
/// let server = ServerConfig::from(StdioConfig::new("ArxivServer", "python3").catalog(catalog));
/// assert_eq!(server.catalog().ttl, Duration::from_secs(60));
/// assert_eq!(server.catalog().max_pages, 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[schemars(
    description = "How mcp-session's `SessionPool` keeps the catalog of this server's tools: how long a listing stays fresh, and how large one may grow."
)]
pub struct CatalogSettings {
    /// How long a listed catalog stays fresh when the server's answer gives no `ttlMs`. Default
    /// 300 s. 0 = list again on every use.
    #[serde(with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub ttl: Duration,
    /// The most pages one listing may take (each a request with the previous page's cursor).
    /// Default 100. At least 1.
    #[serde(deserialize_with = "deserialize_max_pages")]
    #[schemars(range(min = 1))]
    pub max_pages: u32,
    /// The most items (tools, prompts, …) one listing may hold. Default 10000. At least 1.
    #[serde(deserialize_with = "deserialize_max_items")]
    #[schemars(range(min = 1))]
    pub max_items: u32,
}

impl CatalogSettings {
    /// The default [`ttl`](Self::ttl): 300 s.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
    /// The default [`max_pages`](Self::max_pages): 100 pages.
    pub const DEFAULT_MAX_PAGES: u32 = 100;
    /// The default [`max_items`](Self::max_items): 10,000 items.
    pub const DEFAULT_MAX_ITEMS: u32 = 10_000;

    /// Sets how long a listed catalog stays fresh when the server gives no `ttlMs`
    /// ([`Duration::ZERO`]: list again on every use).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the most pages one listing may take. It should be at least 1: the file loader and
    /// serde refuse 0.
    #[must_use]
    pub fn max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// Sets the most items one listing may hold. It should be at least 1: the file loader and
    /// serde refuse 0.
    #[must_use]
    pub fn max_items(mut self, max_items: u32) -> Self {
        self.max_items = max_items;
        self
    }
}

impl Default for CatalogSettings {
    fn default() -> Self {
        CatalogSettings {
            ttl: Self::DEFAULT_TTL,
            max_pages: Self::DEFAULT_MAX_PAGES,
            max_items: Self::DEFAULT_MAX_ITEMS,
        }
    }
}

/// What a `max_pages` of 0 is told, by serde and by the file loader; `key` is how the message
/// names it.
pub(crate) fn max_pages_zero(key: &str) -> String {
    format!(
        "`{key}` is 0, but it must be at least 1 (a listing of no page could list nothing); \
         write 1 or more, or leave it out for the default, {}",
        CatalogSettings::DEFAULT_MAX_PAGES
    )
}

/// What a `max_items` of 0 is told, by serde and by the file loader; `key` is how the message
/// names it.
pub(crate) fn max_items_zero(key: &str) -> String {
    format!(
        "`{key}` is 0, but it must be at least 1 (a listing could hold no tool); write 1 or \
         more, or leave it out for the default, {}",
        CatalogSettings::DEFAULT_MAX_ITEMS
    )
}

fn deserialize_max_pages<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u32, D::Error> {
    match u32::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom(max_pages_zero("max_pages"))),
        n => Ok(n),
    }
}

fn deserialize_max_items<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u32, D::Error> {
    match u32::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom(max_items_zero("max_items"))),
        n => Ok(n),
    }
}

/// How a session starts: which handshake the client uses.
///
/// ```
/// use mcp_config::{Protocol, StdioConfig};
///
/// let server = StdioConfig::new("modern", "my-server").protocol(Protocol::Auto);
/// assert_eq!(server.protocol, Protocol::Auto);
/// assert_eq!(Protocol::default(), Protocol::Initialize);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Protocol {
    /// The `initialize` handshake every MCP server knows; the server picks the version.
    #[default]
    Initialize,
    /// Try the 2026-07-28 `server/discover` first and fall back to `initialize` when the server
    /// does not know it. Costs up to 10 s against servers that ignore unknown requests.
    Auto,
    /// Only `server/discover` (protocol 2026-07-28 and later).
    Discover,
}

impl Protocol {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Initialize => "initialize",
            Protocol::Auto => "auto",
            Protocol::Discover => "discover",
        }
    }
}

/// A server started as a child process that speaks MCP over its stdin and stdout.
///
/// ```
/// use mcp_config::StdioConfig;
///
/// let arxiv = StdioConfig::new("ArxivServer", "python3")
///     .args(["mcp/mcp_arxiv.py", "stdio", "--storage-path", "/tmp/arxiv_papers"])
///     .env("ARXIV_API_KEY", "secret");
/// assert_eq!(arxiv.args[0], "mcp/mcp_arxiv.py");
/// // Debug output never shows environment values.
/// assert!(!format!("{arxiv:?}").contains("secret"));
/// ```
#[derive(Clone, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
#[schemars(
    description = "A server started as a child process that speaks MCP over its stdin and stdout."
)]
pub struct StdioConfig {
    /// The name this server is looked up by: unique within its configuration.
    #[serde(alias = "name")]
    pub server_name: String,
    /// The program to run: a path, or a name looked up on `PATH`.
    pub command: String,
    /// Arguments passed to the program.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables set for the process, on top of the inherited environment.
    #[serde(default, alias = "environment", skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The directory the process starts in; the caller's current directory when unset.
    #[serde(default, alias = "cwd", skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<PathBuf>,
    /// Startup, request and close timeouts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: Timeouts,
    /// How a session pool treats this server: calls in flight and queued, idle sessions,
    /// restarts and health checks. Sessions opened on their own ignore it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub pool: PoolSettings,
    /// Which of the server's tools are used, by glob on their names. Default: every tool.
    #[serde(default, skip_serializing_if = "ToolFilter::is_empty")]
    pub tools: ToolFilter,
    /// How a session pool keeps the catalog of the server's tools: freshness and size limits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub catalog: CatalogSettings,
    /// Which handshake starts the session. Default `initialize`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub protocol: Protocol,
    /// Values of `env` that the loader put into `command`, `args` or `working_dir` (a
    /// `${VAR}` the server's own `env` block defines): secrets like every `env` value, masked
    /// wherever the command line is shown.
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) secrets: Vec<String>,
}

/// Two stdio configs are equal when they start the same process the same way.
impl PartialEq for StdioConfig {
    fn eq(&self, other: &Self) -> bool {
        let StdioConfig {
            server_name,
            command,
            args,
            env,
            working_dir,
            timeouts,
            pool,
            tools,
            catalog,
            protocol,
            secrets: _,
        } = self;
        *server_name == other.server_name
            && *command == other.command
            && *args == other.args
            && *env == other.env
            && *working_dir == other.working_dir
            && *timeouts == other.timeouts
            && *pool == other.pool
            && *tools == other.tools
            && *catalog == other.catalog
            && *protocol == other.protocol
    }
}

impl StdioConfig {
    /// A server named `server_name`, started by running `command` with no arguments.
    pub fn new(server_name: impl Into<String>, command: impl Into<String>) -> Self {
        StdioConfig {
            server_name: server_name.into(),
            command: command.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            working_dir: None,
            timeouts: Timeouts::default(),
            pool: PoolSettings::default(),
            tools: ToolFilter::default(),
            catalog: CatalogSettings::default(),
            protocol: Protocol::Initialize,
            secrets: Vec::new(),
        }
    }

    /// `text` with every secret this config knows of shown as `***`.
    fn masked<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        crate::redact::mask_values(text, &self.secrets)
    }

    /// Replaces the secrets in the command line and working directory with `***`, and forgets
    /// them. Leaves everything as it is when there are none.
    fn mask_secrets(&mut self) {
        let secrets = std::mem::take(&mut self.secrets);
        if secrets.is_empty() {
            return;
        }
        let mask = |text: &str| crate::redact::mask_values(text, &secrets).into_owned();
        self.command = mask(&self.command);
        self.args = self.args.iter().map(|arg| mask(arg)).collect();
        if let Some(dir) = &self.working_dir {
            self.working_dir = Some(mask(&dir.to_string_lossy()).into());
        }
    }

    /// Replaces the arguments.
    #[must_use]
    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Appends one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets one environment variable for the process.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets several environment variables for the process.
    #[must_use]
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets the directory the process starts in.
    #[must_use]
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Sets the timeouts.
    #[must_use]
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets how a session pool treats this server.
    #[must_use]
    pub fn pool(mut self, pool: PoolSettings) -> Self {
        self.pool = pool;
        self
    }

    /// Sets which of the server's tools are used.
    #[must_use]
    pub fn tools(mut self, tools: ToolFilter) -> Self {
        self.tools = tools;
        self
    }

    /// Sets how a session pool keeps the catalog of the server's tools.
    #[must_use]
    pub fn catalog(mut self, catalog: CatalogSettings) -> Self {
        self.catalog = catalog;
        self
    }

    /// Sets the handshake that starts the session.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }
}

impl fmt::Debug for StdioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdioConfig")
            .field("server_name", &self.server_name)
            .field("command", &self.masked(&self.command))
            .field("args", &self.args.iter().map(|a| self.masked(a)).collect::<Vec<_>>())
            .field("env", &RedactedMap(&self.env))
            .field(
                "working_dir",
                &self.working_dir.as_ref().map(|d| self.masked(&d.to_string_lossy()).into_owned()),
            )
            .field("timeouts", &self.timeouts)
            .field("pool", &self.pool)
            .field("tools", &self.tools)
            .field("catalog", &self.catalog)
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// The builder methods [`SseConfig`] and [`StreamableHttpConfig`] share.
macro_rules! http_builders {
    ($config:ident) => {
        impl $config {
            /// Sets one HTTP header sent with every request.
            #[must_use]
            pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.headers.insert(name.into(), value.into());
                self
            }

            /// Sets several HTTP headers sent with every request.
            #[must_use]
            pub fn headers<I, K, V>(mut self, headers: I) -> Self
            where
                I: IntoIterator<Item = (K, V)>,
                K: Into<String>,
                V: Into<String>,
            {
                self.headers.extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
                self
            }

            /// Sets the bound on connecting and on each HTTP exchange that is not a
            /// long-lived event stream.
            #[must_use]
            pub fn timeout(mut self, timeout: Duration) -> Self {
                self.timeout = timeout;
                self
            }

            /// Sets the longest silence tolerated on an event stream.
            #[must_use]
            pub fn sse_read_timeout(mut self, sse_read_timeout: Duration) -> Self {
                self.sse_read_timeout = sse_read_timeout;
                self
            }

            /// Sets the timeouts.
            #[must_use]
            pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
                self.timeouts = timeouts;
                self
            }

            /// Sets how a session pool treats this server.
            #[must_use]
            pub fn pool(mut self, pool: PoolSettings) -> Self {
                self.pool = pool;
                self
            }

            /// Sets which of the server's tools are used.
            #[must_use]
            pub fn tools(mut self, tools: ToolFilter) -> Self {
                self.tools = tools;
                self
            }

            /// Sets how a session pool keeps the catalog of the server's tools.
            #[must_use]
            pub fn catalog(mut self, catalog: CatalogSettings) -> Self {
                self.catalog = catalog;
                self
            }

            /// Trusts the CA certificates in this PEM file for `https`, on top of the system's.
            #[must_use]
            pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
                self.ca_file = Some(path.into());
                self
            }

            /// Sets how the server is authorized (see [`AuthConfig`]).
            ///
            /// ```
            /// use mcp_config::{AuthConfig, OAuthConfig, SseConfig, StreamableHttpConfig};
            ///
            /// let docs = StreamableHttpConfig::new("docs", "https://docs.example.com/mcp")?
            ///     .auth(AuthConfig::bearer("DOCS_TOKEN"));
            /// assert_eq!(docs.auth.token_env(), Some("DOCS_TOKEN"));
            /// let wiki = SseConfig::new("wiki", "https://wiki.example.com/sse")?
            ///     .auth(AuthConfig::oauth(OAuthConfig::default().scopes(["read"])));
            /// assert_eq!(wiki.auth.kind(), "oauth");
            /// # Ok::<(), mcp_config::ConfigError>(())
            /// ```
            #[must_use]
            pub fn auth(mut self, auth: AuthConfig) -> Self {
                self.auth = auth;
                self
            }
        }
    };
}

/// A server reached over the legacy HTTP+SSE transport (protocol 2024-11-05): the client opens
/// `GET <url>`, receives an `endpoint` event, then `POST`s its messages to that endpoint.
///
/// ```
/// use std::time::Duration;
/// use mcp_config::SseConfig;
///
/// let wikipedia = SseConfig::new("WikipediaServer", "http://127.0.0.1:8000/sse")?
///     .timeout(Duration::from_secs(10))
///     .sse_read_timeout(Duration::from_secs(60));
/// assert_eq!(wikipedia.url.path(), "/sse");
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
#[schemars(
    description = "A server reached over the legacy HTTP+SSE transport (protocol 2024-11-05)."
)]
pub struct SseConfig {
    /// The name this server is looked up by: unique within its configuration.
    #[serde(alias = "name")]
    pub server_name: String,
    /// The SSE endpoint, such as `http://127.0.0.1:8000/sse`.
    #[serde(deserialize_with = "deserialize_http_url")]
    #[schemars(with = "String", url)]
    pub url: Url,
    /// Extra HTTP headers sent with every request (for example `Authorization`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Bound on each HTTP operation: connecting, and each `POST`. Default 5 s.
    #[serde(default = "default_sse_timeout", with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub timeout: Duration,
    /// Longest silence tolerated on the event stream before the session is considered dead.
    /// Default 300 s.
    #[serde(default = "default_sse_read_timeout", with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub sse_read_timeout: Duration,
    /// A PEM file of extra CA certificates to trust for `https` URLs (on top of the system's),
    /// for servers with a private or self-signed CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// How the server is authorized: none (the default), a bearer token read from an
    /// environment variable when a session opens, or OAuth 2.1.
    #[serde(default, skip_serializing_if = "AuthConfig::is_none")]
    pub auth: AuthConfig,
    /// Startup, request and close timeouts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: Timeouts,
    /// How a session pool treats this server: calls in flight and queued, idle sessions,
    /// restarts and health checks. Sessions opened on their own ignore it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub pool: PoolSettings,
    /// Which of the server's tools are used, by glob on their names. Default: every tool.
    #[serde(default, skip_serializing_if = "ToolFilter::is_empty")]
    pub tools: ToolFilter,
    /// How a session pool keeps the catalog of the server's tools: freshness and size limits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub catalog: CatalogSettings,
}

impl SseConfig {
    /// The default [`timeout`](Self::timeout): 5 s, as in the seed's library.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`sse_read_timeout`](Self::sse_read_timeout): 300 s, as in the seed's library.
    pub const DEFAULT_SSE_READ_TIMEOUT: Duration = Duration::from_secs(300);

    /// A server named `server_name` whose SSE endpoint is `url`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `url` does not parse or is not `http`/`https`.
    pub fn new(server_name: impl Into<String>, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        Ok(SseConfig {
            server_name: server_name.into(),
            url: parse_http_url(url.as_ref())?,
            headers: BTreeMap::new(),
            timeout: Self::DEFAULT_TIMEOUT,
            sse_read_timeout: Self::DEFAULT_SSE_READ_TIMEOUT,
            ca_file: None,
            auth: AuthConfig::None,
            timeouts: Timeouts::default(),
            pool: PoolSettings::default(),
            tools: ToolFilter::default(),
            catalog: CatalogSettings::default(),
        })
    }
}

http_builders!(SseConfig);

impl fmt::Debug for SseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseConfig")
            .field("server_name", &self.server_name)
            .field("url", &RedactedUrl(&self.url))
            .field("headers", &RedactedMap(&self.headers))
            .field("timeout", &self.timeout)
            .field("sse_read_timeout", &self.sse_read_timeout)
            .field("ca_file", &self.ca_file)
            .field("auth", &self.auth)
            .field("timeouts", &self.timeouts)
            .field("pool", &self.pool)
            .field("tools", &self.tools)
            .field("catalog", &self.catalog)
            .finish()
    }
}

/// A server reached over MCP's streamable HTTP transport (one endpoint, such as
/// `https://example.com/mcp`, taking `POST`s that answer with JSON or an event stream).
///
/// ```
/// use mcp_config::StreamableHttpConfig;
///
/// let remote = StreamableHttpConfig::new("Docs", "https://example.com/mcp")?
///     .header("Authorization", "Bearer hunter2")
///     .sse_fallback(true);
/// assert!(remote.sse_fallback);
/// assert!(!format!("{remote:?}").contains("hunter2"));
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
#[schemars(description = "A server reached over MCP's streamable HTTP transport.")]
pub struct StreamableHttpConfig {
    /// The name this server is looked up by: unique within its configuration.
    #[serde(alias = "name")]
    pub server_name: String,
    /// The MCP endpoint, such as `http://127.0.0.1:8000/mcp`.
    #[serde(deserialize_with = "deserialize_http_url")]
    #[schemars(with = "String", url)]
    pub url: Url,
    /// Extra HTTP headers sent with every request (for example `Authorization`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Bound on connecting and on each HTTP exchange that is not a long-lived stream. Default 30 s.
    #[serde(default = "default_http_timeout", with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub timeout: Duration,
    /// Longest silence tolerated on an event stream. Default 300 s.
    #[serde(default = "default_sse_read_timeout", with = "duration")]
    #[schemars(with = "DurationSchema")]
    pub sse_read_timeout: Duration,
    /// A PEM file of extra CA certificates to trust for `https` URLs (on top of the system's),
    /// for servers with a private or self-signed CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// How the server is authorized: none (the default), a bearer token read from an
    /// environment variable when a session opens, or OAuth 2.1.
    #[serde(default, skip_serializing_if = "AuthConfig::is_none")]
    pub auth: AuthConfig,
    /// Startup, request and close timeouts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: Timeouts,
    /// How a session pool treats this server: calls in flight and queued, idle sessions,
    /// restarts and health checks. Sessions opened on their own ignore it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub pool: PoolSettings,
    /// Which of the server's tools are used, by glob on their names. Default: every tool.
    #[serde(default, skip_serializing_if = "ToolFilter::is_empty")]
    pub tools: ToolFilter,
    /// How a session pool keeps the catalog of the server's tools: freshness and size limits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub catalog: CatalogSettings,
    /// When the server rejects the streamable HTTP `initialize` with 400, 404 or 405, try the
    /// legacy HTTP+SSE transport at the same URL (the MCP spec's backwards-compatibility rule).
    /// Set for URLs of unknown kind, such as a bare `url` in a Claude Desktop file.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sse_fallback: bool,
    /// Which handshake starts the session. Default `initialize`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub protocol: Protocol,
}

impl StreamableHttpConfig {
    /// The default [`timeout`](Self::timeout): 30 s, as in the Python `mcp` client.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default [`sse_read_timeout`](Self::sse_read_timeout): 300 s.
    pub const DEFAULT_SSE_READ_TIMEOUT: Duration = Duration::from_secs(300);

    /// A server named `server_name` whose MCP endpoint is `url`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] when `url` does not parse or is not `http`/`https`.
    pub fn new(server_name: impl Into<String>, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        Ok(StreamableHttpConfig {
            server_name: server_name.into(),
            url: parse_http_url(url.as_ref())?,
            headers: BTreeMap::new(),
            timeout: Self::DEFAULT_TIMEOUT,
            sse_read_timeout: Self::DEFAULT_SSE_READ_TIMEOUT,
            ca_file: None,
            auth: AuthConfig::None,
            timeouts: Timeouts::default(),
            pool: PoolSettings::default(),
            tools: ToolFilter::default(),
            catalog: CatalogSettings::default(),
            sse_fallback: false,
            protocol: Protocol::Initialize,
        })
    }

    /// Whether to fall back to legacy HTTP+SSE when the server rejects streamable HTTP.
    #[must_use]
    pub fn sse_fallback(mut self, sse_fallback: bool) -> Self {
        self.sse_fallback = sse_fallback;
        self
    }

    /// Sets the handshake that starts the session.
    #[must_use]
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }
}

http_builders!(StreamableHttpConfig);

impl fmt::Debug for StreamableHttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamableHttpConfig")
            .field("server_name", &self.server_name)
            .field("url", &RedactedUrl(&self.url))
            .field("headers", &RedactedMap(&self.headers))
            .field("timeout", &self.timeout)
            .field("sse_read_timeout", &self.sse_read_timeout)
            .field("ca_file", &self.ca_file)
            .field("auth", &self.auth)
            .field("timeouts", &self.timeouts)
            .field("pool", &self.pool)
            .field("tools", &self.tools)
            .field("catalog", &self.catalog)
            .field("sse_fallback", &self.sse_fallback)
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// Which transport a server speaks.
///
/// ```
/// use mcp_config::{ServerConfig, SseConfig, TransportKind};
///
/// let server = ServerConfig::from(SseConfig::new("wiki", "http://127.0.0.1:8000/sse")?);
/// assert_eq!(server.transport(), TransportKind::Sse);
/// assert_eq!(server.transport().to_string(), "sse");
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// A child process over stdin/stdout.
    Stdio,
    /// Legacy HTTP+SSE (2024-11-05).
    Sse,
    /// Streamable HTTP.
    StreamableHttp,
}

impl TransportKind {
    /// The name used in config files: `stdio`, `sse` or `streamable_http`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::Sse => "sse",
            TransportKind::StreamableHttp => "streamable_http",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any one server's configuration. In files it is tagged by `transport`.
///
/// ```
/// use mcp_config::{ServerConfig, StdioConfig, TransportKind};
///
/// let server = ServerConfig::from(StdioConfig::new("ArxivServer", "python3").arg("arxiv.py"));
/// assert_eq!(server.server_name(), "ArxivServer");
/// assert_eq!(server.transport(), TransportKind::Stdio);
/// assert_eq!(server.to_string(), "ArxivServer (stdio: python3 arxiv.py)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "transport", rename_all = "snake_case")]
#[non_exhaustive]
#[schemars(
    description = "One MCP server, tagged by `transport`: `stdio`, `sse` or `streamable_http` (also written `http`)."
)]
pub enum ServerConfig {
    /// A child process over stdin/stdout.
    Stdio(StdioConfig),
    /// Legacy HTTP+SSE.
    Sse(SseConfig),
    /// Streamable HTTP.
    #[serde(alias = "http", alias = "streamable-http", alias = "streamableHttp")]
    StreamableHttp(StreamableHttpConfig),
}

/// A getter of a field that every kind of server config has, with its docs.
macro_rules! common_field {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(&self) -> &$ty {
            match self {
                ServerConfig::Stdio(c) => &c.$name,
                ServerConfig::Sse(c) => &c.$name,
                ServerConfig::StreamableHttp(c) => &c.$name,
            }
        }
    };
}

impl ServerConfig {
    /// The server's name.
    pub fn server_name(&self) -> &str {
        match self {
            ServerConfig::Stdio(c) => &c.server_name,
            ServerConfig::Sse(c) => &c.server_name,
            ServerConfig::StreamableHttp(c) => &c.server_name,
        }
    }

    /// The transport this server speaks.
    pub fn transport(&self) -> TransportKind {
        match self {
            ServerConfig::Stdio(_) => TransportKind::Stdio,
            ServerConfig::Sse(_) => TransportKind::Sse,
            ServerConfig::StreamableHttp(_) => TransportKind::StreamableHttp,
        }
    }

    common_field! {
        /// The server's timeouts.
        timeouts: Timeouts
    }

    common_field! {
        /// How a session pool treats the server.
        pool: PoolSettings
    }

    common_field! {
        /// Which of the server's tools are used.
        ///
        /// ```
        /// use mcp_config::{ServerConfig, SseConfig, ToolFilter};
        ///
        /// let wiki = SseConfig::new("wiki", "http://127.0.0.1:8000/sse")?
        ///     .tools(ToolFilter::default().deny(["edit_*"])?);
        /// let server = ServerConfig::from(wiki);
        /// assert!(server.tools().allows("search"));
        /// assert!(!server.tools().allows("edit_page"));
        /// # Ok::<(), mcp_config::ConfigError>(())
        /// ```
        tools: ToolFilter
    }

    common_field! {
        /// How a session pool keeps the catalog of the server's tools.
        ///
        /// ```
        /// use mcp_config::{CatalogSettings, ServerConfig, StdioConfig};
        ///
        /// let server = ServerConfig::from(StdioConfig::new("s", "server"));
        /// assert_eq!(*server.catalog(), CatalogSettings::default());
        /// ```
        catalog: CatalogSettings
    }

    /// A copy in which environment values, header values, URL passwords and a client secret
    /// written in the config read `***`.
    ///
    /// ```
    /// use mcp_config::{ServerConfig, StdioConfig};
    ///
    /// let server = ServerConfig::from(StdioConfig::new("gh", "gh-mcp").env("GITHUB_TOKEN", "ghp_x"));
    /// let ServerConfig::Stdio(shown) = server.redacted() else { unreachable!() };
    /// assert_eq!(shown.env["GITHUB_TOKEN"], "***");
    /// ```
    #[must_use]
    pub fn redacted(&self) -> ServerConfig {
        let mut copy = self.clone();
        match &mut copy {
            ServerConfig::Stdio(c) => {
                crate::redact::redact_values(&mut c.env);
                c.mask_secrets();
            }
            ServerConfig::Sse(c) => {
                crate::redact::redact_values(&mut c.headers);
                crate::redact::redact_url_in_place(&mut c.url);
                c.auth = c.auth.redacted();
            }
            ServerConfig::StreamableHttp(c) => {
                crate::redact::redact_values(&mut c.headers);
                crate::redact::redact_url_in_place(&mut c.url);
                c.auth = c.auth.redacted();
            }
        }
        copy
    }
}

impl fmt::Display for ServerConfig {
    /// `Name (transport: target)`: the command line for stdio, the URL (password hidden) for HTTP.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}: ", self.server_name(), self.transport())?;
        match self {
            ServerConfig::Stdio(c) => {
                f.write_str(&c.masked(&c.command))?;
                for arg in &c.args {
                    write!(f, " {}", c.masked(arg))?;
                }
            }
            ServerConfig::Sse(SseConfig { url, .. })
            | ServerConfig::StreamableHttp(StreamableHttpConfig { url, .. }) => {
                write!(f, "{}", RedactedUrl(url))?;
            }
        }
        f.write_str(")")
    }
}

impl From<StdioConfig> for ServerConfig {
    fn from(config: StdioConfig) -> Self {
        ServerConfig::Stdio(config)
    }
}

impl From<SseConfig> for ServerConfig {
    fn from(config: SseConfig) -> Self {
        ServerConfig::Sse(config)
    }
}

impl From<StreamableHttpConfig> for ServerConfig {
    fn from(config: StreamableHttpConfig) -> Self {
        ServerConfig::StreamableHttp(config)
    }
}

/// Parses an `http` or `https` URL.
pub(crate) fn parse_http_url(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidUrl {
        url: crate::redact::redact_url_text(text),
        reason,
    };
    let url = Url::parse(text.trim()).map_err(|err| invalid(err.to_string()))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(invalid(format!("the scheme is `{other}`, expected `http` or `https`"))),
    }
}

fn deserialize_http_url<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Url, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_http_url(&text).map_err(serde::de::Error::custom)
}

fn default_sse_timeout() -> Duration {
    SseConfig::DEFAULT_TIMEOUT
}

fn default_http_timeout() -> Duration {
    StreamableHttpConfig::DEFAULT_TIMEOUT
}

fn default_sse_read_timeout() -> Duration {
    SseConfig::DEFAULT_SSE_READ_TIMEOUT
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn is_false(value: &bool) -> bool {
    !*value
}
