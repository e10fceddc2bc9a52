//! [`WikipediaServer`]: an MCP server for Wikipedia, the Rust counterpart of the seed's Wikipedia
//! server, served over legacy SSE and streamable HTTP by `research-demo serve wikipedia`.
//!
//! Tools: `search_wikipedia`, `get_summary`, `get_article` and `get_featured` (a day's featured
//! article, in-the-news stories and on-this-day events: what "the latest news" asks for).
//! Failures come back as `is_error` results whose text says what to do.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::api::{WikipediaApi, WikipediaError};

/// The Wikipedia MCP server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WikipediaServer {
    api: WikipediaApi,
    tool_router: ToolRouter<WikipediaServer>,
}

/// Arguments of `search_wikipedia`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// What to search for, in words.
    pub query: String,
    /// How many articles to return (1 to 50).
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    10
}

/// Arguments of the tools that take one article.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TitleArgs {
    /// The article's exact title, such as `Large language model`.
    pub title: String,
}

/// Arguments of `get_article`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ArticleArgs {
    /// The article's exact title, such as `Large language model`.
    pub title: String,
    /// The most characters of text to return.
    #[serde(default = "default_max_chars")]
    pub max_chars: usize,
}

fn default_max_chars() -> usize {
    20_000
}

/// Arguments of `get_featured`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct FeaturedArgs {
    /// The day, as `YYYY-MM-DD` (default: today, UTC).
    #[serde(default)]
    pub date: Option<String>,
}

#[tool_router]
impl WikipediaServer {
    /// A server asking `api`.
    pub fn new(api: WikipediaApi) -> Self {
        WikipediaServer { api, tool_router: Self::tool_router() }
    }

    #[tool(
        description = "Search Wikipedia for articles. Returns each article's title and a snippet."
    )]
    async fn search_wikipedia(&self, Parameters(args): Parameters<SearchArgs>) -> CallToolResult {
        match self.api.search(&args.query, args.limit).await {
            Ok(hits) => json_result(&serde_json::json!({ "query": args.query, "results": hits })),
            Err(err) => wikipedia_error(&err),
        }
    }

    #[tool(
        description = "The summary of a Wikipedia article: its description and first paragraph."
    )]
    async fn get_summary(&self, Parameters(args): Parameters<TitleArgs>) -> CallToolResult {
        match self.api.summary(&args.title).await {
            Ok(summary) => json_result(&serde_json::json!(summary)),
            Err(err) => wikipedia_error(&err),
        }
    }

    #[tool(description = "The full plain text of a Wikipedia article.")]
    async fn get_article(&self, Parameters(args): Parameters<ArticleArgs>) -> CallToolResult {
        match self.api.article(&args.title).await {
            Ok((title, text)) => {
                let truncated = text.chars().count() > args.max_chars;
                let text: String = text.chars().take(args.max_chars).collect();
                json_result(
                    &serde_json::json!({ "title": title, "text": text, "truncated": truncated }),
                )
            }
            Err(err) => wikipedia_error(&err),
        }
    }

    #[tool(
        description = "The latest news on Wikipedia for a day: the featured article, the stories in the news, and what happened on this day."
    )]
    async fn get_featured(&self, Parameters(args): Parameters<FeaturedArgs>) -> CallToolResult {
        let (year, month, day) = match args.date.as_deref().map(parse_date) {
            None => today_utc(),
            Some(Some(date)) => date,
            Some(None) => {
                return CallToolResult::error(vec![ContentBlock::text(
                    "the date must be YYYY-MM-DD, such as 2026-11-26",
                )]);
            }
        };
        match self.api.featured(year, month, day).await {
            Ok(featured) => json_result(&serde_json::json!({
                "date": format!("{year:04}-{month:02}-{day:02}"),
                "featured_article": featured.featured_article,
                "in_the_news": featured.in_the_news,
                "on_this_day": featured.on_this_day,
            })),
            Err(err) => wikipedia_error(&err),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for WikipediaServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("wikipedia-mcp-server", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Search Wikipedia with search_wikipedia; read articles with get_summary or get_article; \
             get_featured gives the latest news."
                .to_owned(),
        );
        info
    }
}

/// The HTTP face of a server: legacy SSE at `/sse` and `/message` (through mcp-sse), streamable
/// HTTP at `/mcp`. Both refuse a foreign `Origin` and a non-loopback `Host` (DNS rebinding).
pub fn router(server: WikipediaServer) -> axum::Router {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let for_sse = server.clone();
    let sse = mcp_sse::server::router(
        move || for_sse.clone(),
        mcp_sse::server::SseServerConfig::default(),
    );
    let config = StreamableHttpServerConfig::default().with_allowed_origins([
        "http://localhost:*",
        "http://127.0.0.1:*",
        "http://[::1]:*",
    ]);
    let http = StreamableHttpService::new(
        move || Ok(server.clone()),
        std::sync::Arc::new(LocalSessionManager::default()),
        config,
    );
    sse.nest_service("/mcp", http)
}

/// A [`router`] listening on a socket, until dropped.
#[derive(Debug)]
pub struct Listening {
    address: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
    /// Whether `task` has been awaited to its end (a finished handle must not be polled again).
    ended: bool,
}

impl Listening {
    /// Serves `server` on `address` (port 0: any free port).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(
        server: WikipediaServer,
        address: std::net::SocketAddr,
    ) -> std::io::Result<Self> {
        use axum::serve::ListenerExt as _;
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let app = router(server);
        let task = tokio::spawn(async move {
            // No Nagle: event streams are written in small pieces.
            let listener = listener.tap_io(|tcp| drop(tcp.set_nodelay(true)));
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!("the Wikipedia server stopped: {err}");
            }
        });
        Ok(Listening { address, task, ended: false })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.address
    }

    /// The legacy SSE endpoint, such as `http://127.0.0.1:8000/sse`.
    pub fn sse_url(&self) -> String {
        format!("http://{}/sse", self.address)
    }

    /// The streamable HTTP endpoint, such as `http://127.0.0.1:8000/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.address)
    }

    /// Serves until the task ends (it does not, unless the socket fails, or after
    /// [`stop`](Self::stop)). Cancel safe.
    pub async fn wait(&mut self) {
        if !self.ended {
            let _ = (&mut self.task).await;
            self.ended = true;
        }
    }

    /// Stops serving: returns once the listening socket is closed. Connections already
    /// accepted run on their own tasks, and end with the runtime (close the sessions on them
    /// first).
    pub async fn stop(mut self) {
        self.task.abort();
        self.wait().await;
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `YYYY-MM-DD`.
fn parse_date(date: &str) -> Option<(u16, u8, u8)> {
    let mut parts = date.trim().splitn(3, '-');
    let year: u16 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day) && year >= 2000)
        .then_some((year, month, day))
}

/// Today's date in UTC.
fn today_utc() -> (u16, u8, u8) {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    date_of(seconds)
}

/// The UTC date `seconds` after the Unix epoch (days to a civil date, after Howard Hinnant).
fn date_of(seconds: u64) -> (u16, u8, u8) {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        u16::try_from(year).unwrap_or(u16::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

fn json_result(value: &serde_json::Value) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(value.to_string())])
}

fn wikipedia_error(err: &WikipediaError) -> CallToolResult {
    tracing::warn!("Wikipedia tool failed: {err}");
    CallToolResult::error(vec![ContentBlock::text(err.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-11-26"), Some((2026, 11, 26)));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn days_since_the_epoch_become_dates() {
        // Fixed instants, so the test does not depend on the machine's clock.
        const DAY: u64 = 86_400;
        assert_eq!(date_of(0), (1970, 1, 1));
        assert_eq!(date_of(DAY - 1), (1970, 1, 1));
        assert_eq!(date_of(11_016 * DAY), (2000, 2, 29));
        assert_eq!(date_of(20_088 * DAY + 12 * 3600), (2024, 12, 31));
        assert_eq!(date_of(20_783 * DAY), (2026, 11, 26));
        assert_eq!(date_of(47_541 * DAY), (2100, 3, 1));
        // Whatever the clock says, today is a date `parse_date` accepts back (years from 2000).
        let (year, month, day) = today_utc();
        let text = format!("{year:04}-{month:02}-{day:02}");
        assert!(year < 2000 || parse_date(&text) == Some((year, month, day)), "{text}");
    }
}
