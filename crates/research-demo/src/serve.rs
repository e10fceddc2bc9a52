//! `research-demo serve arxiv` and `serve wikipedia`, and the in-process Wikipedia server that
//! `ask` starts for the seed's two servers.

use std::net::SocketAddr;
use std::time::Duration;

use research_demo::arxiv::api::ArxivApi;
use research_demo::arxiv::server::ArxivServer;
use research_demo::fixtures::FixtureServer;
use research_demo::wikipedia::api::WikipediaApi;
use research_demo::wikipedia::server::{Listening, WikipediaServer};
use rmcp::ServiceExt;
use url::Url;

use crate::cli::{ArxivArgs, WikipediaArgs};
use crate::error::Error;
use crate::output::eprint_line;
use crate::signal::Signals;

/// The least time between two requests to the real arXiv, which asks for 3 s.
const ARXIV_LIVE_INTERVAL: Duration = Duration::from_secs(3);

/// The least time between two requests to the real Wikipedia.
const WIKIPEDIA_LIVE_INTERVAL: Duration = Duration::from_secs(1);

/// Where a server's data comes from.
#[derive(Debug)]
enum Upstream {
    /// The real API.
    Live,
    /// Another base URL (`--api-base`).
    Custom(Url),
    /// The recorded fixtures, served on loopback for as long as the server lives.
    Fixtures(FixtureServer),
}

impl Upstream {
    /// `--live`, else `--api-base`, else the recorded fixtures (started here).
    async fn choose(live: bool, api_base: Option<Url>) -> Result<Self, Error> {
        match (live, api_base) {
            (true, _) => Ok(Upstream::Live),
            (false, Some(base)) => Ok(Upstream::Custom(base)),
            (false, None) => FixtureServer::start()
                .await
                .map(Upstream::Fixtures)
                .map_err(|reason| Error::Fixtures { reason }),
        }
    }

    /// The base URL to ask, `None` for the real API.
    fn base(&self) -> Option<Url> {
        match self {
            Upstream::Live => None,
            Upstream::Custom(base) => Some(base.clone()),
            Upstream::Fixtures(fixtures) => Some(fixtures.url()),
        }
    }

    /// What it is, for people.
    fn describe(&self) -> &'static str {
        match self {
            Upstream::Live => "live",
            Upstream::Custom(_) => "custom API base",
            Upstream::Fixtures(_) => "recorded fixtures",
        }
    }
}

/// The Wikipedia server, listening, with its upstream.
#[derive(Debug)]
pub(crate) struct Wikipedia {
    pub(crate) server: Listening,
    upstream: Upstream,
}

impl Wikipedia {
    /// Stops serving (see [`Listening::stop`]), then the fixture server behind it.
    pub(crate) async fn stop(self) {
        self.server.stop().await;
        drop(self.upstream);
    }

    /// Serves Wikipedia in `language` on `address`, asking `--live`, `--api-base` or the
    /// fixtures.
    pub(crate) async fn start(
        address: SocketAddr,
        live: bool,
        api_base: Option<Url>,
        language: &str,
    ) -> Result<Self, Error> {
        let upstream = Upstream::choose(live, api_base).await?;
        let rate_limit = if live { WIKIPEDIA_LIVE_INTERVAL } else { Duration::ZERO };
        let api = match upstream.base() {
            Some(base) => WikipediaApi::at(base, rate_limit),
            None => WikipediaApi::live(language, rate_limit),
        }
        .map_err(Error::WikipediaApi)?;
        let server = Listening::bind(WikipediaServer::new(api), address)
            .await
            .map_err(|reason| Error::Listen { address, reason })?;
        Ok(Wikipedia { server, upstream })
    }
}

/// `serve wikipedia`: serves until SIGINT or SIGTERM ([`Error::Interrupted`], once it stopped
/// serving) or the server stops (an error).
pub(crate) async fn wikipedia(args: WikipediaArgs, signals: Signals) -> Result<(), Error> {
    let address = SocketAddr::new(args.host, args.port);
    let mut wikipedia = Wikipedia::start(address, args.live, args.api_base, &args.language).await?;
    eprint_line(&format!(
        "research-demo: serving Wikipedia MCP ({}) over legacy SSE at {} and streamable HTTP at {}",
        wikipedia.upstream.describe(),
        wikipedia.server.sse_url(),
        wikipedia.server.mcp_url()
    ));
    let address = wikipedia.server.local_addr();
    tokio::select! {
        () = wikipedia.server.wait() => Err(Error::ServerStopped { address }),
        signal = signals.first() => {
            wikipedia.stop().await;
            Err(Error::Interrupted { signal })
        }
    }
}

/// `serve arxiv`: serves one MCP session on stdin/stdout, until the client closes it (stdin's
/// end), or SIGINT or SIGTERM ([`Error::Interrupted`], once the session is cancelled).
pub(crate) async fn arxiv(args: ArxivArgs, signals: Signals) -> Result<(), Error> {
    let default_interval = if args.live { ARXIV_LIVE_INTERVAL } else { Duration::ZERO };
    let rate_limit = args.rate_limit_ms.map_or(default_interval, Duration::from_millis);
    let upstream = Upstream::choose(args.live, args.api_base).await?;
    let api = match upstream.base() {
        Some(base) => ArxivApi::at(base, rate_limit),
        None => ArxivApi::live(rate_limit),
    }
    .map_err(Error::ArxivApi)?;
    let storage =
        args.storage_path.unwrap_or_else(|| std::env::temp_dir().join("research-demo-arxiv"));
    eprint_line(&format!(
        "research-demo: serving arXiv MCP on stdio ({}), papers stored under {}",
        upstream.describe(),
        storage.display()
    ));
    let mut interrupted = std::pin::pin!(signals.first());
    let service = tokio::select! {
        service = ArxivServer::new(api, storage).serve(rmcp::transport::stdio()) => {
            service.map_err(|err| Error::McpInitialize { reason: err.to_string() })?
        }
        signal = &mut interrupted => return Err(Error::Interrupted { signal }),
    };
    let cancel = service.cancellation_token();
    let mut waiting = std::pin::pin!(service.waiting());
    let outcome = tokio::select! {
        served = &mut waiting => {
            served.map(drop).map_err(|err| Error::McpSession { reason: err.to_string() })
        }
        signal = &mut interrupted => {
            cancel.cancel();
            // The service ends at once when cancelled; the calls it was running end with the
            // runtime.
            let _ = tokio::time::timeout(Duration::from_secs(1), waiting).await;
            Err(Error::Interrupted { signal })
        }
    };
    drop(upstream);
    outcome
}
