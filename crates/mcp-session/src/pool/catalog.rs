//! The pool's catalog: each server's tools, resources, resource templates and prompts, listed
//! across all pages when first needed and kept with the server's session.
//!
//! A kept list is used until one of these says it is stale:
//! - the server sent `notifications/tools/list_changed` (or the resources or prompts one; a
//!   resources change covers the templates too) since it was listed;
//! - the time the list's pages gave as `ttlMs` (protocol 2026-07-28; the smallest of them) has
//!   passed, or, when they gave none, the server's `catalog.ttl`;
//! - the session it was listed on ended: a restarted server is listed again.
//!
//! Concurrent uses of a stale list list it once. Tools that the server's `tools` filter leaves
//! out are dropped when listed, so no caller ever sees them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use mcp_config::ServerConfig;
use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};
use tokio::time::Instant;

use super::slot::{Live, Slot};
use super::{SessionPool, Shared};
use crate::error::SessionError;
use crate::handler::ListKind;
use crate::session::{Listable, Session};
use crate::validate::ToolValidator;

/// What [`SessionPool::list_tools_of_all`] found: the servers whose tools were listed, and those
/// that could not be, each in the order asked for.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ToolsByServer {
    /// Each server that was listed, with its tools (those its `tools` filter lets through).
    pub listed: Vec<(String, Arc<[Tool]>)>,
    /// Each server that could not be listed, and why (it would not start, hung past its
    /// startup timeout, failed the listing, or is not in the pool's config).
    pub failed: Vec<(String, SessionError)>,
}

impl SessionPool {
    /// Lists the tools of many servers at once, from the catalog (so each server's `tools`
    /// filter applies): every server of the config (`servers: None`, in config order) or the
    /// ones named (in the order given). Servers that have no open session are started, all
    /// concurrently, each within its startup timeout; a server that hangs costs that timeout,
    /// not one per server. The listings are kept, as by [`list_tools`](Self::list_tools).
    ///
    /// A server that cannot be listed does not stop the others: it is in
    /// [`failed`](ToolsByServer::failed), with why; so is a name the config does not have (a
    /// [`SessionError::Config`] that lists the known names).
    ///
    /// ```
    /// use mcp_session::SessionPool;
    /// use mcp_session::mcp_config::{MCPConfig, StdioConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gone = StdioConfig::new("gone", "/nonexistent/mcp-server");
    /// let pool = SessionPool::new(MCPConfig::new([gone.into()])?);
    /// let tools = pool.list_tools_of_all(None).await;
    /// for (server, tools) in &tools.listed {
    ///     println!("{server}: {} tools", tools.len());
    /// }
    /// assert!(tools.listed.is_empty());
    /// let (server, error) = &tools.failed[0];
    /// assert_eq!(server, "gone");
    /// assert!(error.to_string().starts_with("gone: cannot start `/nonexistent/mcp-server`"));
    /// let unknown = pool.list_tools_of_all(Some(&["other"])).await;
    /// assert!(unknown.failed[0].1.to_string().ends_with("Known servers: gone"));
    /// pool.close_all().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_tools_of_all(&self, servers: Option<&[&str]>) -> ToolsByServer {
        let names: Vec<&str> = match servers {
            Some(names) => names.to_vec(),
            None => self.config().names().collect(),
        };
        let listed = futures::future::join_all(names.iter().map(|name| self.list_tools(name)));
        let mut found = ToolsByServer::default();
        for (name, listing) in names.into_iter().zip(listed.await) {
            match listing {
                Ok(tools) => found.listed.push((name.to_owned(), tools)),
                Err(err) => {
                    tracing::debug!(server = %name, error = %err, "its tools could not be listed");
                    found.failed.push((name.to_owned(), err));
                }
            }
        }
        found
    }
}

/// A server's kept lists, for one session.
#[derive(Default)]
pub(crate) struct Lists {
    tools: Option<Kept<Tool>>,
    resources: Option<Kept<Resource>>,
    templates: Option<Kept<ResourceTemplate>>,
    prompts: Option<Kept<Prompt>>,
}

/// One kept list.
pub(crate) struct Kept<T> {
    items: Arc<[T]>,
    /// The server's `list_changed` count for the list when it was listed.
    changes: u64,
    /// When it goes stale by age; `None`: only a change notice ends it.
    fresh_until: Option<Instant>,
}

impl<T> Kept<T> {
    fn fresh(&self, session: &Session, kind: ListKind, now: Instant) -> bool {
        self.changes == session.list_changes(kind) && self.fresh_until.is_none_or(|t| now < t)
    }
}

/// A list the catalog keeps.
pub(crate) trait Catalogued: Listable + Clone + Send + Sync + 'static {
    /// The `list_changed` notification that makes it stale.
    const KIND: ListKind;

    /// Where a session's [`Lists`] keep it.
    fn kept(lists: &mut Lists) -> &mut Option<Kept<Self>>;

    /// Whether the server's config lets callers see `item`.
    fn allowed(config: &ServerConfig, item: &Self) -> bool {
        let _ = (config, item);
        true
    }
}

impl Catalogued for Tool {
    const KIND: ListKind = ListKind::Tools;

    fn kept(lists: &mut Lists) -> &mut Option<Kept<Self>> {
        &mut lists.tools
    }

    fn allowed(config: &ServerConfig, tool: &Tool) -> bool {
        config.tools().allows(&tool.name)
    }
}

impl Catalogued for Resource {
    const KIND: ListKind = ListKind::Resources;

    fn kept(lists: &mut Lists) -> &mut Option<Kept<Self>> {
        &mut lists.resources
    }
}

impl Catalogued for ResourceTemplate {
    const KIND: ListKind = ListKind::Resources;

    fn kept(lists: &mut Lists) -> &mut Option<Kept<Self>> {
        &mut lists.templates
    }
}

impl Catalogued for Prompt {
    const KIND: ListKind = ListKind::Prompts;

    fn kept(lists: &mut Lists) -> &mut Option<Kept<Self>> {
        &mut lists.prompts
    }
}

impl Shared {
    /// List `T` of the server, from the catalog when it is fresh there, else listed now (with
    /// a place among the server's calls, like any request).
    pub(crate) async fn listed<T: Catalogued>(
        self: &Arc<Self>,
        slot: &Slot,
    ) -> Result<Arc<[T]>, SessionError> {
        if let Some(items) = self.kept::<T>(slot, None) {
            return Ok(items);
        }
        self.read(slot, super::Op::Read(T::METHOD), |session| {
            let shared = Arc::clone(self);
            async move { shared.listed_on::<T>(slot, &session).await }
        })
        .await
    }

    /// List `T` of the server's open session (opened now if there is none), without a place
    /// among its calls: for a request that already holds one.
    pub(crate) async fn listed_now<T: Catalogued>(
        self: &Arc<Self>,
        slot: &Slot,
    ) -> Result<Arc<[T]>, SessionError> {
        if let Some(items) = self.kept::<T>(slot, None) {
            return Ok(items);
        }
        let session = self.session(slot).await?;
        self.listed_on::<T>(slot, &session).await
    }

    /// List `T` of `session`: kept, or listed on it now and kept (once, however many ask).
    async fn listed_on<T: Catalogued>(
        &self,
        slot: &Slot,
        session: &Session,
    ) -> Result<Arc<[T]>, SessionError> {
        let _listing = slot.listing.lock().await;
        if let Some(items) = self.kept::<T>(slot, Some(session)) {
            return Ok(items);
        }
        slot.catalog_misses.fetch_add(1, Ordering::Relaxed);
        let changes = session.list_changes(T::KIND);
        let config = self.server_config(slot);
        let (items, ttl) = if session.offers::<T>() {
            let listing = session.list::<T>().await?;
            let items: Arc<[T]> =
                listing.items.into_iter().filter(|item| T::allowed(config, item)).collect();
            (items, Some(listing.ttl.unwrap_or(config.catalog().ttl)))
        } else {
            // Not announced: nothing to list for as long as the session lasts.
            (Arc::from([]), None)
        };
        let fresh_until = ttl.map(|ttl| Instant::now() + ttl);
        let kept = Kept { items: Arc::clone(&items), changes, fresh_until };
        slot.with_live(session, |live: &mut Live| {
            if T::METHOD == Tool::METHOD {
                // Compiled from the tools listed before.
                live.validators.clear();
            }
            *T::kept(&mut live.lists) = Some(kept);
        });
        Ok(items)
    }

    /// The schema checks of `tool`, compiled once per listing of the server's tools; `None`
    /// when the pool does not check schemas, the tool is not in the list, or the server could
    /// not list its tools (it answered `tools/list` with an error, a broken page or broken
    /// JSON: the call then goes out unchecked).
    ///
    /// # Errors
    /// Whatever kept the list from being asked at all, which the call would meet too: the
    /// session could not be opened (a server that hangs would otherwise cost the call its
    /// startup timeout twice), the pool is closed or busy, the server died or timed out.
    pub(crate) async fn validator(
        self: &Arc<Self>,
        slot: &Slot,
        tool: &str,
    ) -> Result<Option<Arc<ToolValidator>>, SessionError> {
        if !self.validate {
            return Ok(None);
        }
        let tools = match self.listed::<Tool>(slot).await {
            Ok(tools) => tools,
            Err(
                err @ (SessionError::Rpc { .. }
                | SessionError::Paging { .. }
                | SessionError::Protocol { .. }),
            ) => {
                tracing::debug!(server = %slot.name, %tool, error = %err, "no tool list: the call goes out unchecked");
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        Ok(self.compiled(slot, tool, &tools))
    }

    /// The schema checks of `tool` from `tools`, the session's current list: kept ones, or
    /// compiled now and kept.
    fn compiled(&self, slot: &Slot, tool: &str, tools: &Arc<[Tool]>) -> Option<Arc<ToolValidator>> {
        // Validators belong to the list they were compiled from.
        let current = |live: &Live| {
            live.lists.tools.as_ref().is_some_and(|kept| Arc::ptr_eq(&kept.items, tools))
        };
        {
            let mut state = slot.state();
            let live = state.live.as_mut()?;
            if current(live)
                && let Some(validator) = live.validators.get(tool)
            {
                return Some(Arc::clone(validator));
            }
        }
        let found = tools.iter().find(|t| t.name == tool)?;
        let validator = Arc::new(ToolValidator::new(found));
        let mut state = slot.state();
        if let Some(live) = state.live.as_mut().filter(|live| current(live)) {
            live.validators.insert(tool.to_owned(), Arc::clone(&validator));
        }
        Some(validator)
    }

    /// List `T` if the catalog holds it fresh for the open session (or `session`), and that
    /// session is alive, counted as a hit.
    fn kept<T: Catalogued>(&self, slot: &Slot, session: Option<&Session>) -> Option<Arc<[T]>> {
        let now = Instant::now();
        let mut state = slot.state();
        let live =
            state.live.as_mut().filter(|live| session.is_none_or(|s| live.session.same_as(s)))?;
        let kept = T::kept(&mut live.lists).as_ref()?;
        if !kept.fresh(&live.session, T::KIND, now) || !live.session.is_alive() {
            return None;
        }
        slot.catalog_hits.fetch_add(1, Ordering::Relaxed);
        Some(Arc::clone(&kept.items))
    }
}
