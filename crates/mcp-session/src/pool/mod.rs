//! [`SessionPool`]: sessions kept open, shared, limited, supervised and checked, for agents that
//! run for hours across many servers.

mod catalog;
mod health;
mod slot;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use mcp_config::{MCPConfig, Protocol, ServerConfig};
use rmcp::model::{
    CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplate, Tool,
};
use tokio::time::Instant;

pub use self::catalog::ToolsByServer;
pub use self::health::Health;
use self::slot::{Seat, Seats, Slot, close_in_background, transient};
use crate::error::SessionError;
use crate::manager::MCPClientSessionManager;
use crate::session::{CallOptions, Session};

/// How many times one call may be sent again on a new session after its connection was lost.
const MAX_CALL_RETRIES: u32 = 2;

/// Sessions to many servers, opened on first use and kept: shared by every caller, limited per
/// server, closed when idle, reopened when their connection dies, and checked on demand.
///
/// Built over an [`MCPConfig`] (and a [`MCPClientSessionManager`], for its handler and client
/// info); each server's [`PoolSettings`](mcp_config::PoolSettings) (`pool` in its config) say
/// how many calls it takes at once, how long an idle session stays open, and how restarts back
/// off. Cheap to clone: clones share the sessions.
///
/// ```no_run
/// use mcp_session::SessionPool;
/// use mcp_session::mcp_config::MCPConfig;
/// use serde_json::json;
///
/// # #[allow(dead_code)]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config = MCPConfig::load("mcp.json")?.config;
/// let pool = SessionPool::new(config);
/// // Opens ArxivServer's session on first use, and keeps it for the next call.
/// let result = pool.call_tool("ArxivServer", "search_papers", json!({"query": "llm"})).await?;
/// # let _ = result;
/// for (server, health) in pool.health_all().await {
///     println!("{server}: {health}");
/// }
/// pool.close_all().await;
/// # Ok(())
/// # }
/// ```
///
/// **Supervision.** A session whose connection dies (a stdio server that exited, a closed event
/// stream, an HTTP server that forgot the session) is reopened on next use. Restarts in a row
/// back off (`pool.backoff`, doubling up to `pool.max_backoff`, with jitter); after
/// `pool.max_restarts` of them the server is *failed* and its calls fail at once with
/// [`SessionError::ServerFailed`] until `pool.healthy_after` has passed, or until
/// [`reset`](Self::reset). The budget refills once a session has stayed up for
/// `pool.healthy_after`.
///
/// **Calls are never run twice** unless that is safe: a call is sent again on a new session
/// only when it provably never reached the server ([`SessionError::never_reached_server`]), or
/// when the caller opted in with [`CallOptions::retry_idempotent`] and the server annotates the
/// tool `idempotentHint` or `readOnlyHint`. Listings, reads and pings are retried after a lost
/// connection.
#[derive(Clone)]
pub struct SessionPool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("servers", &self.shared.slots.len())
            .field("open", &self.shared.seats.open())
            .field("max_sessions", &self.shared.seats.max)
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// Builds a [`SessionPool`] with settings beyond the defaults.
///
/// ```
/// use std::time::Duration;
/// use mcp_session::SessionPool;
/// use mcp_session::mcp_config::{MCPConfig, StdioConfig};
///
/// let config = MCPConfig::new([StdioConfig::new("fs", "mcp-server-filesystem").into()]).unwrap();
/// let pool = SessionPool::builder(config)
///     .max_sessions(100)
///     .ping_every(Duration::from_secs(30), 3)
///     .build();
/// # let _ = pool;
/// ```
#[must_use]
pub struct PoolBuilder {
    config: MCPConfig,
    manager: Option<MCPClientSessionManager>,
    max_sessions: Option<usize>,
    ping: Option<(Duration, u32)>,
    validate: bool,
}

impl std::fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("servers", &self.config.len())
            .field("max_sessions", &self.max_sessions)
            .field("ping", &self.ping)
            .finish_non_exhaustive()
    }
}

impl PoolBuilder {
    /// Opens sessions through `manager` (its handler, client info and registry: its
    /// [`shutdown`](MCPClientSessionManager::shutdown) closes the pool's sessions too). By
    /// default the pool has a manager of its own.
    pub fn manager(mut self, manager: MCPClientSessionManager) -> Self {
        self.manager = Some(manager);
        self
    }

    /// The most sessions open at once across every server (default: no cap). Opening one more
    /// closes the least recently used idle session; when none is idle, the open waits for one
    /// (within the server's startup timeout), then fails with [`SessionError::PoolFull`].
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = Some(max.max(1));
        self
    }

    /// Pings every open session each `interval` in the background (each within its server's
    /// `pool.ping_timeout`), and reopens a session on next use after `misses` pings in a row
    /// went unanswered. Off by default.
    pub fn ping_every(mut self, interval: Duration, misses: u32) -> Self {
        self.ping = Some((interval.max(Duration::from_millis(1)), misses.max(1)));
        self
    }

    /// Whether tool calls are checked against the tools' schemas (default: yes): arguments
    /// against the tool's `inputSchema` before the call is sent, and `structuredContent`
    /// against its `outputSchema` after. A mismatch is [`SessionError::SchemaMismatch`], whose
    /// text tells a model what to fix. Checking needs the server's tool list, which the pool's
    /// catalog keeps.
    pub fn validate_schemas(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }

    /// The pool.
    pub fn build(self) -> SessionPool {
        let epoch = Instant::now();
        let slots: Vec<Arc<Slot>> = self
            .config
            .iter()
            .enumerate()
            .map(|(index, server)| Arc::new(Slot::new(index, server, epoch)))
            .collect();
        let index = slots.iter().map(|slot| (slot.name.clone(), slot.index)).collect();
        SessionPool {
            shared: Arc::new(Shared {
                manager: self.manager.unwrap_or_default(),
                config: self.config,
                slots,
                index,
                closed: AtomicBool::new(false),
                seats: Seats::new(self.max_sessions),
                ping: self.ping,
                validate: self.validate,
                tasks: OnceLock::new(),
            }),
        }
    }
}

/// What one server of a pool is doing, from [`SessionPool::stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Calls running now.
    pub in_flight: u32,
    /// Calls waiting for a place.
    pub queued: u32,
    /// Whether a session is open.
    pub open: bool,
    /// Whether a lease or a call holds the server (its session is then never closed for
    /// idleness or evicted).
    pub held: bool,
    /// Restarts since the budget last refilled.
    pub restarts: u32,
    /// Whether the server is failed (its calls fail at once).
    pub failed: bool,
    /// Catalog lookups (tools, resources, templates, prompts) answered from the kept lists.
    pub catalog_hits: u64,
    /// Catalog lookups that listed from the server.
    pub catalog_misses: u64,
}

/// What every clone of a pool, and every lease, shares.
struct Shared {
    manager: MCPClientSessionManager,
    config: MCPConfig,
    slots: Vec<Arc<Slot>>,
    index: HashMap<String, usize>,
    closed: AtomicBool,
    seats: Arc<Seats>,
    ping: Option<(Duration, u32)>,
    /// Whether tool calls are checked against the tools' schemas.
    validate: bool,
    /// The background tasks (idle close, pings), started with the first session.
    tasks: OnceLock<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Every session's own drop ends its server (a stdio group gets SIGTERM at once).
        for slot in &self.slots {
            slot.close_queue();
        }
    }
}

/// A hold on one server of a pool: while any lease (or call) holds it, its session is neither
/// closed for idleness nor evicted for another server's. Cheap to clone; each clone holds too.
///
/// Requests through a lease go through the pool: they take a place among the server's calls in
/// flight, and reopen the session if its connection died. Get one with [`SessionPool::get`].
pub struct Lease {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("server", &self.slot.name).finish()
    }
}

impl Clone for Lease {
    fn clone(&self) -> Self {
        self.slot.hold();
        Lease { shared: Arc::clone(&self.shared), slot: Arc::clone(&self.slot) }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.slot.release(&self.shared.seats);
    }
}

/// A call's hold on its server, for as long as it runs.
struct Hold<'a> {
    slot: &'a Slot,
    seats: &'a Seats,
}

impl<'a> Hold<'a> {
    fn new(slot: &'a Slot, seats: &'a Seats) -> Self {
        slot.hold();
        Hold { slot, seats }
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.slot.release(self.seats);
    }
}

/// What a request through the pool is, for its retry rule and its errors.
#[derive(Clone, Copy)]
enum Op<'a> {
    /// `tools/call`: retried after a lost connection only when provably unsent, or when the
    /// caller opted in and the tool is annotated idempotent or read-only.
    Tool(&'a str),
    /// A listing, a read, a prompt, a ping: no effects, so retried after a lost connection.
    Read(&'static str),
}

impl Op<'_> {
    fn operation(self) -> String {
        match self {
            Op::Tool(tool) => format!("tools/call {tool}"),
            Op::Read(method) => method.to_owned(),
        }
    }
}

impl SessionPool {
    /// A pool over `config`'s servers, with its own manager and default settings. Nothing is
    /// opened until first use.
    pub fn new(config: MCPConfig) -> SessionPool {
        SessionPool::builder(config).build()
    }

    /// A pool with settings beyond the defaults.
    pub fn builder(config: MCPConfig) -> PoolBuilder {
        PoolBuilder { config, manager: None, max_sessions: None, ping: None, validate: true }
    }

    /// The servers' configuration.
    pub fn config(&self) -> &MCPConfig {
        &self.shared.config
    }

    /// The manager the pool opens sessions through.
    pub fn manager(&self) -> &MCPClientSessionManager {
        &self.shared.manager
    }

    /// How many sessions are open now, across every server.
    pub fn open_sessions(&self) -> usize {
        self.shared.seats.open()
    }

    /// A lease on server `name`, with its session open (opened now if it was not, within its
    /// startup timeout; concurrent first uses open it once).
    ///
    /// # Errors
    /// An unknown server ([`SessionError::Config`], naming the known ones), a closed pool, a
    /// failed server, or why the session could not be opened.
    pub async fn get(&self, name: &str) -> Result<Lease, SessionError> {
        let lease = self.lease(name)?;
        self.shared.session(&lease.slot).await?;
        Ok(lease)
    }

    /// A lease on `name` without opening anything yet.
    fn lease(&self, name: &str) -> Result<Lease, SessionError> {
        let slot = self.shared.slot(name)?;
        if self.shared.is_closed() {
            return Err(slot.pool_closed());
        }
        slot.hold();
        Ok(Lease { shared: Arc::clone(&self.shared), slot })
    }

    /// Calls `tool` of server `name` with `arguments` (a JSON object, or `null`).
    ///
    /// # Errors
    /// As [`Lease::call_tool`], and an unknown server.
    pub async fn call_tool(
        &self,
        name: &str,
        tool: &str,
        arguments: serde_json::Value,
    ) -> Result<CallToolResult, SessionError> {
        self.call_tool_with(name, tool, arguments, CallOptions::default()).await
    }

    /// [`call_tool`](Self::call_tool) with options: a timeout (which covers the time queued),
    /// a `traceparent`, [`retry_idempotent`](CallOptions::retry_idempotent).
    ///
    /// # Errors
    /// As [`Lease::call_tool`], and an unknown server.
    pub async fn call_tool_with(
        &self,
        name: &str,
        tool: &str,
        arguments: serde_json::Value,
        options: CallOptions,
    ) -> Result<CallToolResult, SessionError> {
        self.lease(name)?.call_tool_with(tool, arguments, options).await
    }

    /// Every tool of server `name` that its `tools` filter lets through, from the catalog.
    ///
    /// # Errors
    /// As [`Lease::list_tools`], and an unknown server.
    pub async fn list_tools(&self, name: &str) -> Result<Arc<[Tool]>, SessionError> {
        self.lease(name)?.list_tools().await
    }

    /// Every resource of server `name`, from the catalog.
    ///
    /// # Errors
    /// As [`Lease::list_resources`], and an unknown server.
    pub async fn list_resources(&self, name: &str) -> Result<Arc<[Resource]>, SessionError> {
        self.lease(name)?.list_resources().await
    }

    /// Every resource template of server `name`, from the catalog.
    ///
    /// # Errors
    /// As [`Lease::list_resource_templates`], and an unknown server.
    pub async fn list_resource_templates(
        &self,
        name: &str,
    ) -> Result<Arc<[ResourceTemplate]>, SessionError> {
        self.lease(name)?.list_resource_templates().await
    }

    /// Every prompt of server `name`, from the catalog.
    ///
    /// # Errors
    /// As [`Lease::list_prompts`], and an unknown server.
    pub async fn list_prompts(&self, name: &str) -> Result<Arc<[Prompt]>, SessionError> {
        self.lease(name)?.list_prompts().await
    }

    /// Reads resource `uri` of server `name`.
    ///
    /// # Errors
    /// As [`Lease::read_resource`], and an unknown server.
    pub async fn read_resource(
        &self,
        name: &str,
        uri: &str,
    ) -> Result<ReadResourceResult, SessionError> {
        self.lease(name)?.read_resource(uri).await
    }

    /// Gets prompt `prompt` of server `name`.
    ///
    /// # Errors
    /// As [`Lease::get_prompt`], and an unknown server.
    pub async fn get_prompt(
        &self,
        name: &str,
        prompt: &str,
        arguments: serde_json::Value,
    ) -> Result<GetPromptResult, SessionError> {
        self.lease(name)?.get_prompt(prompt, arguments).await
    }

    /// What server `name` is doing now: calls in flight and queued, whether a session is open,
    /// restarts since its budget last refilled.
    ///
    /// # Errors
    /// An unknown server.
    pub fn stats(&self, name: &str) -> Result<ServerStats, SessionError> {
        let slot = self.shared.slot(name)?;
        let state = slot.state();
        Ok(ServerStats {
            in_flight: slot.in_flight(),
            queued: slot.queued(),
            open: state.live.is_some(),
            held: slot.is_held(),
            restarts: state.restarts,
            failed: state.failed_until.is_some_and(|until| until > Instant::now()),
            catalog_hits: slot.catalog_hits.load(Ordering::Relaxed),
            catalog_misses: slot.catalog_misses.load(Ordering::Relaxed),
        })
    }

    /// Clears server `name`'s failed state and restart budget: its next use starts it again.
    ///
    /// # Errors
    /// An unknown server.
    pub fn reset(&self, name: &str) -> Result<(), SessionError> {
        self.shared.slot(name)?.reset();
        Ok(())
    }

    /// Closes the pool: new calls fail at once with [`SessionError::PoolClosed`], queued ones
    /// too; calls in flight get each server's `timeouts.close_grace` to finish, then are
    /// cancelled (their servers are sent `notifications/cancelled`); then every session closes,
    /// concurrently. Dropping the last clone of a pool (and its last lease) ends every server
    /// too, at once, without the grace period.
    pub async fn close_all(&self) {
        self.shared.closed.store(true, Ordering::Release);
        let mut open = Vec::new();
        for slot in &self.shared.slots {
            slot.close_queue();
            if let Some(live) = slot.state().live.take() {
                open.push(live.session);
            }
        }
        tracing::debug!(sessions = open.len(), "closing the session pool");
        futures::future::join_all(open.into_iter().map(Session::close)).await;
    }

    /// Whether [`close_all`](Self::close_all) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

impl Lease {
    /// The server's name.
    pub fn server_name(&self) -> &str {
        &self.slot.name
    }

    /// The server's session, if one is open now. Requests made on it directly bypass the
    /// pool's limits and reopening; prefer the lease's own methods.
    pub fn session(&self) -> Option<Session> {
        self.slot.state().live.as_ref().map(|live| live.session.clone())
    }

    /// The negotiated protocol version of the open session.
    pub fn protocol_version(&self) -> Option<String> {
        self.session()?.protocol_version()
    }

    /// Calls `tool` with `arguments` (a JSON object, or `null`).
    ///
    /// # Errors
    /// As [`Session::call_tool`]; and [`SessionError::Busy`] when the server's queue is full,
    /// [`SessionError::ServerFailed`], [`SessionError::PoolClosed`].
    pub async fn call_tool(
        &self,
        tool: &str,
        arguments: serde_json::Value,
    ) -> Result<CallToolResult, SessionError> {
        self.call_tool_with(tool, arguments, CallOptions::default()).await
    }

    /// [`call_tool`](Self::call_tool) with options.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_with(
        &self,
        tool: &str,
        arguments: serde_json::Value,
        options: CallOptions,
    ) -> Result<CallToolResult, SessionError> {
        if !self.shared.server_config(&self.slot).tools().allows(tool) {
            return Err(SessionError::ToolFiltered {
                server: self.slot.name.clone(),
                tool: tool.to_owned(),
            });
        }
        let validator = self.shared.validator(&self.slot, tool).await?;
        let mismatch = |violation| SessionError::SchemaMismatch {
            server: self.slot.name.clone(),
            violation: Box::new(violation),
        };
        if let Some(validator) = &validator {
            validator.check_arguments(&arguments).map_err(mismatch)?;
        }
        let arguments = &arguments;
        let result = self
            .shared
            .run(&self.slot, Op::Tool(tool), &options, |session, left| {
                let options = options.clone().timeout(left);
                let arguments = arguments.clone();
                async move { session.call_tool_with(tool, arguments, options).await }
            })
            .await?;
        if let Some(validator) = &validator {
            validator.check_structured_content(&result).map_err(mismatch)?;
        }
        Ok(result)
    }

    /// Every tool of the server that its `tools` filter lets through, from the pool's catalog
    /// (listed across all pages when first needed, then kept until the server says it changed,
    /// its time to live passes, or the server restarts).
    ///
    /// # Errors
    /// As [`Session::list_tools`], and the pool's errors.
    pub async fn list_tools(&self) -> Result<Arc<[Tool]>, SessionError> {
        self.shared.listed::<Tool>(&self.slot).await
    }

    /// Every resource of the server, from the pool's catalog (as
    /// [`list_tools`](Self::list_tools)).
    ///
    /// # Errors
    /// As [`Session::list_resources`], and the pool's errors.
    pub async fn list_resources(&self) -> Result<Arc<[Resource]>, SessionError> {
        self.shared.listed::<Resource>(&self.slot).await
    }

    /// Every resource template of the server, from the pool's catalog (as
    /// [`list_tools`](Self::list_tools)).
    ///
    /// # Errors
    /// As [`Session::list_resource_templates`], and the pool's errors.
    pub async fn list_resource_templates(&self) -> Result<Arc<[ResourceTemplate]>, SessionError> {
        self.shared.listed::<ResourceTemplate>(&self.slot).await
    }

    /// Every prompt of the server, from the pool's catalog (as
    /// [`list_tools`](Self::list_tools)).
    ///
    /// # Errors
    /// As [`Session::list_prompts`], and the pool's errors.
    pub async fn list_prompts(&self) -> Result<Arc<[Prompt]>, SessionError> {
        self.shared.listed::<Prompt>(&self.slot).await
    }

    /// Reads the resource at `uri`.
    ///
    /// # Errors
    /// As [`Session::read_resource`], and the pool's errors.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, SessionError> {
        self.read(
            Op::Read("resources/read"),
            |session| async move { session.read_resource(uri).await },
        )
        .await
    }

    /// Gets prompt `name` filled with `arguments`.
    ///
    /// # Errors
    /// As [`Session::get_prompt`], and the pool's errors.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<GetPromptResult, SessionError> {
        let arguments = &arguments;
        self.read(Op::Read("prompts/get"), |session| {
            let arguments = arguments.clone();
            async move { session.get_prompt(name, arguments).await }
        })
        .await
    }

    /// Checks that the server answers (opening its session if needed).
    ///
    /// # Errors
    /// As [`Session::ping`], and the pool's errors.
    pub async fn ping(&self) -> Result<(), SessionError> {
        self.read(Op::Read("ping"), |session| async move { session.ping().await }).await
    }

    /// A request without effects, through the pool.
    async fn read<T, F>(
        &self,
        op: Op<'_>,
        request: impl Fn(Session) -> F,
    ) -> Result<T, SessionError>
    where
        F: Future<Output = Result<T, SessionError>>,
    {
        self.shared.read(&self.slot, op, request).await
    }
}

impl Shared {
    /// A request without effects, bounded by what is left of its timeout after the queue.
    async fn read<T, F>(
        self: &Arc<Self>,
        slot: &Slot,
        op: Op<'_>,
        request: impl Fn(Session) -> F,
    ) -> Result<T, SessionError>
    where
        F: Future<Output = Result<T, SessionError>>,
    {
        let options = CallOptions::default();
        self.run(slot, op, &options, |session, left| {
            let server = session.server_name().to_owned();
            let request = request(session);
            async move {
                tokio::time::timeout(left, request).await.unwrap_or_else(|_| {
                    Err(SessionError::Timeout { server, operation: op.operation(), after: left })
                })
            }
        })
        .await
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn slot(&self, name: &str) -> Result<Arc<Slot>, SessionError> {
        match self.index.get(name) {
            Some(&index) => Ok(Arc::clone(&self.slots[index])),
            None => Err(self.config.get(name).err().map_or_else(
                || SessionError::Closed { server: name.to_owned() },
                SessionError::Config,
            )),
        }
    }

    fn server_config(&self, slot: &Slot) -> &ServerConfig {
        &self.config.servers()[slot.index]
    }

    /// Runs `request` on the server's session within a place among its calls in flight, under
    /// one deadline (the call's timeout, counting the time queued), reopening the session and
    /// sending again when its connection was lost and that is safe (see [`Op`]).
    async fn run<T, F>(
        self: &Arc<Self>,
        slot: &Slot,
        op: Op<'_>,
        options: &CallOptions,
        request: impl Fn(Session, Duration) -> F,
    ) -> Result<T, SessionError>
    where
        F: Future<Output = Result<T, SessionError>>,
    {
        if self.is_closed() {
            return Err(slot.pool_closed());
        }
        let _hold = Hold::new(slot, &self.seats);
        let timeout = options.timeout.unwrap_or(self.server_config(slot).timeouts().request);
        let deadline = Instant::now() + timeout;
        let _permit = slot.permit(deadline, timeout, || op.operation()).await?;
        let mut retries = 0;
        loop {
            let session = self.session(slot).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            let err = match request(session.clone(), left).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.is_connection_lost() && session.is_alive() {
                return Err(err);
            }
            slot.lost(&session, &err);
            if self.is_closed() || retries >= MAX_CALL_RETRIES || Instant::now() >= deadline {
                return Err(err);
            }
            let again = match op {
                _ if err.never_reached_server() => true,
                Op::Read(_) => true,
                Op::Tool(tool) => {
                    options.retry_idempotent && self.repeatable(slot, tool).await.unwrap_or(false)
                }
            };
            if !again {
                return Err(err);
            }
            retries += 1;
            tracing::debug!(server = %slot.name, operation = %op.operation(), error = %err, "connection lost; sending again on a new session");
        }
    }

    /// Whether `tool` is annotated idempotent or read-only, from the catalog.
    async fn repeatable(self: &Arc<Self>, slot: &Slot, tool: &str) -> Result<bool, SessionError> {
        let tools = self.listed_now::<Tool>(slot).await?;
        Ok(tools.iter().find(|t| t.name == tool).and_then(|t| t.annotations.as_ref()).is_some_and(
            |hints| hints.idempotent_hint == Some(true) || hints.read_only_hint == Some(true),
        ))
    }

    /// The server's open session, opened (or reopened) now if there is none.
    async fn session(self: &Arc<Self>, slot: &Slot) -> Result<Session, SessionError> {
        if let Some(session) = slot.current()? {
            return Ok(session);
        }
        let _opening = slot.opening.lock().await;
        if let Some(session) = slot.current()? {
            return Ok(session);
        }
        self.open(slot).await
    }

    /// Opens the server's session, trying again with backoff while starts fail in ways that may
    /// pass, within its startup timeout and restart budget. The caller holds `slot.opening`.
    async fn open(self: &Arc<Self>, slot: &Slot) -> Result<Session, SessionError> {
        let configured = self.server_config(slot);
        let startup = configured.timeouts().startup;
        let started = Instant::now();
        let deadline = started + startup;
        // The first failure of this open, if any: when the startup timeout then cuts a retry
        // short, it says more than the timeout does (a server that exits after 30 s is retried,
        // and the retry outlives a 60 s timeout: the user needs to hear that it exited).
        let mut first_failure: Option<SessionError> = None;
        loop {
            if self.is_closed() {
                return Err(slot.pool_closed());
            }
            let wait = slot.begin_attempt()?;
            if !wait.is_zero() {
                if Instant::now() + wait >= deadline {
                    let last = slot.state().last_error.clone();
                    return Err(last.unwrap_or(SessionError::Timeout {
                        server: slot.name.clone(),
                        operation: "initialize".to_owned(),
                        after: startup,
                    }));
                }
                tracing::debug!(server = %slot.name, wait = ?wait, "restarting after a back-off");
                tokio::time::sleep(wait).await;
            }
            let seat = self.seat(slot, deadline, startup).await?;
            let config = slot.config_to_open(configured);
            // The manager counts the startup timeout from `started` too: the time waited for a
            // seat or a back-off is part of it, and the manager's explanation of a timeout (a
            // server that wrote only garbage to stdout) comes when the pool's time is up.
            let opened = self.manager.open_session_from(&config, started).await;
            match opened {
                Ok(session) => {
                    if self.is_closed() {
                        close_in_background(session);
                        return Err(slot.pool_closed());
                    }
                    slot.opened(session.clone(), seat, learned_era(&config, &session));
                    self.start_tasks();
                    return Ok(session);
                }
                Err(err) => {
                    drop(seat);
                    tracing::debug!(server = %slot.name, error = %err, "start failed");
                    slot.start_failed(&err);
                    if !transient(&err) || Instant::now() >= deadline {
                        return Err(match (err, first_failure) {
                            (SessionError::Timeout { .. }, Some(first)) => first,
                            (err, _) => err,
                        });
                    }
                    first_failure.get_or_insert(err);
                }
            }
        }
    }

    /// A place for one more open session under the cap: at once when there is room, else by
    /// closing the least recently used idle session, else by waiting for one to become idle.
    async fn seat(
        self: &Arc<Self>,
        slot: &Slot,
        deadline: Instant,
        waited: Duration,
    ) -> Result<Seat, SessionError> {
        loop {
            let changed = self.seats.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(seat) = self.seats.try_take() {
                return Ok(seat);
            }
            if let Some(evicted) = self.evict_idle() {
                tracing::debug!(server = %evicted.server_name(), for_server = %slot.name, "closing the least recently used idle session to make room");
                // Its seat is freed when the slot lets go of it, before the close finishes.
                close_in_background(evicted);
                continue;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(SessionError::PoolFull {
                    server: slot.name.clone(),
                    max_sessions: self.seats.max.unwrap_or(usize::MAX),
                    waited,
                });
            }
        }
    }

    /// Takes out the least recently used session that nothing holds.
    fn evict_idle(&self) -> Option<Session> {
        let mut candidates: Vec<(Instant, &Arc<Slot>)> = self
            .slots
            .iter()
            .filter(|slot| !slot.is_held() && slot.state().live.is_some())
            .map(|slot| (slot.last_used(), slot))
            .collect();
        candidates.sort_by_key(|(used, _)| *used);
        candidates.into_iter().find_map(|(_, slot)| slot.take_if_idle())
    }

    /// Starts the background tasks (idle close; pings when asked for) with the first session.
    /// They hold the pool weakly, and end with it.
    fn start_tasks(self: &Arc<Self>) {
        self.tasks.get_or_init(|| {
            tokio::spawn(reap_idle(Arc::downgrade(self)));
            if let Some((every, misses)) = self.ping {
                tokio::spawn(health::ping_open(Arc::downgrade(self), every, misses));
            }
        });
    }
}

/// Closes sessions that nothing has held for their server's `pool.idle_timeout`. Wakes at a
/// tenth of the shortest idle timeout (between 10 ms and 5 s), so a session closes within
/// that much after its time.
async fn reap_idle(pool: Weak<Shared>) {
    let tick = {
        let Some(shared) = pool.upgrade() else { return };
        let shortest = shared.slots.iter().map(|slot| slot.settings.idle_timeout).min();
        (shortest.unwrap_or(Duration::from_secs(50)) / 10)
            .clamp(Duration::from_millis(10), Duration::from_secs(5))
    };
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(shared) = pool.upgrade() else { return };
        if shared.is_closed() {
            return;
        }
        for slot in &shared.slots {
            let idle_for = slot.last_used().elapsed();
            if slot.is_held() || idle_for < slot.settings.idle_timeout {
                continue;
            }
            if let Some(session) = slot.take_if_idle() {
                tracing::debug!(server = %slot.name, idle = ?idle_for, "closing an idle session");
                close_in_background(session);
            }
        }
    }
}

/// The era a `protocol = "auto"` server turned out to speak, to open it straight that way
/// next time: the discovery wait is paid once per server per pool.
fn learned_era(config: &ServerConfig, session: &Session) -> Option<Protocol> {
    let auto = match config {
        ServerConfig::Stdio(stdio) => stdio.protocol == Protocol::Auto,
        ServerConfig::StreamableHttp(http) => http.protocol == Protocol::Auto,
        _ => false,
    };
    if !auto {
        return None;
    }
    // Versions are dates: 2026-07-28 and later speak `server/discover`.
    let version = session.protocol_version()?;
    Some(if version.as_str() >= DISCOVERY_ERA { Protocol::Discover } else { Protocol::Initialize })
}

/// The first protocol version of the discovery era.
const DISCOVERY_ERA: &str = "2026-07-28";
