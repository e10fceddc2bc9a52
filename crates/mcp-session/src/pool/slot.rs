//! One server's place in a pool: its session, its calls in flight and its queue, its restart
//! budget; and the pool-wide count of open sessions ([`Seats`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mcp_config::{PoolSettings, Protocol, ServerConfig};
use tokio::sync::{Notify, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::catalog::Lists;
use crate::error::SessionError;
use crate::session::Session;
use crate::validate::ToolValidator;

/// The pool-wide count of open sessions, and the cap on it.
pub(crate) struct Seats {
    pub(crate) max: Option<usize>,
    open: Mutex<usize>,
    /// Signalled when a seat is freed or a session stops being used: an open waiting for a
    /// seat looks again.
    pub(crate) changed: Notify,
}

impl Seats {
    pub(crate) fn new(max: Option<usize>) -> Arc<Seats> {
        Arc::new(Seats { max, open: Mutex::new(0), changed: Notify::new() })
    }

    /// A seat, if the cap allows one more open session.
    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Seat> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if self.max.is_some_and(|max| *open >= max) {
            return None;
        }
        *open += 1;
        Some(Seat(Arc::clone(self)))
    }

    /// How many sessions are open (or opening) now.
    pub(crate) fn open(&self) -> usize {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open (or opening) session's place under the cap; freed on drop.
pub(crate) struct Seat(Arc<Seats>);

impl Drop for Seat {
    fn drop(&mut self) {
        *self.0.open.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.0.changed.notify_waiters();
    }
}

/// An open session and what the pool knows of it.
pub(crate) struct Live {
    pub(crate) session: Session,
    pub(crate) opened_at: Instant,
    /// Background pings missed in a row.
    pub(crate) missed_pings: u32,
    /// Its catalog: the lists it gave, while fresh.
    pub(crate) lists: Lists,
    /// The schema checks of its tools, by name, compiled from `lists`' tools when first
    /// needed.
    pub(crate) validators: HashMap<String, Arc<ToolValidator>>,
    _seat: Seat,
}

/// A server's state, behind the slot's lock (never held across an await).
pub(crate) struct State {
    pub(crate) live: Option<Live>,
    /// Restarts (and failed starts) since the budget last refilled.
    pub(crate) restarts: u32,
    /// When the last restart began.
    pub(crate) last_restart: Option<Instant>,
    /// Why the last session died or the last start failed.
    pub(crate) last_error: Option<SessionError>,
    /// Set when the budget ran out: calls fail at once until then.
    pub(crate) failed_until: Option<Instant>,
    /// Whether a start was ever tried: the next one is a restart.
    pub(crate) started: bool,
    /// For `protocol = "auto"`: the handshake the server turned out to speak.
    pub(crate) era: Option<Protocol>,
}

/// One configured server in the pool.
pub(crate) struct Slot {
    pub(crate) name: String,
    /// Its position in the pool's config.
    pub(crate) index: usize,
    pub(crate) settings: PoolSettings,
    /// Places for calls in flight (`max_in_flight`).
    calls: Semaphore,
    /// Calls waiting for a place.
    queued: AtomicU32,
    /// Leases and calls holding the server: while any does, its session is neither idle-closed
    /// nor evicted.
    holders: AtomicUsize,
    /// When the last lease or call let go, in microseconds since `epoch`.
    last_used: AtomicU64,
    epoch: Instant,
    pub(crate) state: Mutex<State>,
    /// Held while a session is being opened: concurrent first uses open it once.
    pub(crate) opening: tokio::sync::Mutex<()>,
    /// Held while a list is being listed for the catalog: concurrent uses list it once.
    pub(crate) listing: tokio::sync::Mutex<()>,
    /// Catalog lookups answered from what was kept.
    pub(crate) catalog_hits: AtomicU64,
    /// Catalog lookups that had to list.
    pub(crate) catalog_misses: AtomicU64,
}

impl Slot {
    pub(crate) fn new(index: usize, config: &ServerConfig, epoch: Instant) -> Slot {
        let mut settings = *config.pool();
        // The loader refuses 0; a config built in code may still hold it.
        settings.max_in_flight = settings.max_in_flight.max(1);
        Slot {
            name: config.server_name().to_owned(),
            index,
            settings,
            calls: Semaphore::new(settings.max_in_flight as usize),
            queued: AtomicU32::new(0),
            holders: AtomicUsize::new(0),
            last_used: AtomicU64::new(0),
            epoch,
            state: Mutex::new(State {
                live: None,
                restarts: 0,
                last_restart: None,
                last_error: None,
                failed_until: None,
                started: false,
                era: None,
            }),
            opening: tokio::sync::Mutex::new(()),
            listing: tokio::sync::Mutex::new(()),
            catalog_hits: AtomicU64::new(0),
            catalog_misses: AtomicU64::new(0),
        }
    }

    /// Runs `change` on the open session's state if `session` is still the open one.
    pub(crate) fn with_live(&self, session: &Session, change: impl FnOnce(&mut Live)) {
        if let Some(live) = self.state().live.as_mut().filter(|live| live.session.same_as(session))
        {
            change(live);
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a lease or call holding the server.
    pub(crate) fn hold(&self) {
        self.holders.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends a hold; the last one makes the session idle.
    pub(crate) fn release(&self, seats: &Seats) {
        let micros = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_used.store(micros, Ordering::Release);
        if self.holders.fetch_sub(1, Ordering::AcqRel) == 1 {
            seats.changed.notify_waiters();
        }
    }

    pub(crate) fn is_held(&self) -> bool {
        self.holders.load(Ordering::Acquire) > 0
    }

    /// When the server was last let go of.
    pub(crate) fn last_used(&self) -> Instant {
        self.epoch + Duration::from_micros(self.last_used.load(Ordering::Acquire))
    }

    /// A place for one call in flight, waiting in the queue until `deadline` when all are
    /// taken.
    pub(crate) async fn permit(
        &self,
        deadline: Instant,
        timeout: Duration,
        operation: impl FnOnce() -> String,
    ) -> Result<SemaphorePermit<'_>, SessionError> {
        match self.calls.try_acquire() {
            Ok(permit) => return Ok(permit),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(self.pool_closed()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        let max_queued = self.settings.max_queued;
        let joined = self.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
            (queued < max_queued).then_some(queued + 1)
        });
        if joined.is_err() {
            return Err(SessionError::Busy {
                server: self.name.clone(),
                in_flight: self.settings.max_in_flight,
                queued: max_queued,
            });
        }
        let waited = tokio::time::timeout_at(deadline, self.calls.acquire()).await;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(self.pool_closed()),
            Err(_elapsed) => Err(SessionError::Timeout {
                server: self.name.clone(),
                operation: format!("{} (waiting in the queue)", operation()),
                after: timeout,
            }),
        }
    }

    /// Calls in flight now.
    pub(crate) fn in_flight(&self) -> u32 {
        let free = u32::try_from(self.calls.available_permits()).unwrap_or(u32::MAX);
        self.settings.max_in_flight.saturating_sub(free)
    }

    /// Calls waiting in the queue now.
    pub(crate) fn queued(&self) -> u32 {
        self.queued.load(Ordering::Acquire)
    }

    /// Refuses calls from now on, and wakes the queued ones with [`SessionError::PoolClosed`].
    pub(crate) fn close_queue(&self) {
        self.calls.close();
    }

    pub(crate) fn pool_closed(&self) -> SessionError {
        SessionError::PoolClosed { server: self.name.clone() }
    }

    /// The open session, if it is alive. A session found dead is taken out (and closed by the
    /// caller); a failed server fails at once until its budget refills.
    pub(crate) fn current(&self) -> Result<Option<Session>, SessionError> {
        let mut state = self.state();
        if let Some(until) = state.failed_until {
            let now = Instant::now();
            if now < until {
                return Err(self.failed(&state, until - now));
            }
            state.failed_until = None;
            state.restarts = 0;
        }
        match &state.live {
            Some(live) if live.session.is_alive() => Ok(Some(live.session.clone())),
            Some(_) => {
                let dead = state.live.take().map(|live| self.refill_if_healthy(&mut state, live));
                if let Some(dead) = dead {
                    tracing::debug!(server = %self.name, "the session's connection ended; reopening on this use");
                    state.last_error = Some(dead_error(&dead));
                    drop(state);
                    close_in_background(dead);
                }
                Ok(None)
            }
            None => Ok(None),
        }
    }

    pub(crate) fn failed(&self, state: &State, retry_in: Duration) -> SessionError {
        SessionError::ServerFailed {
            server: self.name.clone(),
            restarts: state.restarts,
            last_error: Box::new(
                state
                    .last_error
                    .clone()
                    .unwrap_or_else(|| SessionError::Closed { server: self.name.clone() }),
            ),
            retry_in,
        }
    }

    /// Notes that `session` lost its connection with `error`: if it is still the open one,
    /// takes it out and closes it (without waiting), and refills the restart budget if it had
    /// been up for the healthy period.
    pub(crate) fn lost(&self, session: &Session, error: &SessionError) {
        let mut state = self.state();
        let taken = match &state.live {
            Some(live) if live.session.same_as(session) => state.live.take(),
            _ => None,
        };
        state.last_error = Some(error.clone());
        let dead = taken.map(|live| self.refill_if_healthy(&mut state, live));
        drop(state);
        if let Some(dead) = dead {
            close_in_background(dead);
        }
    }

    /// Notes why a start failed.
    pub(crate) fn start_failed(&self, error: &SessionError) {
        self.state().last_error = Some(error.clone());
    }

    /// A session taken out because it died: when it had stayed up for the healthy period, the
    /// restart budget refills.
    fn refill_if_healthy(&self, state: &mut State, live: Live) -> Session {
        if live.opened_at.elapsed() >= self.settings.healthy_after {
            state.restarts = 0;
        }
        live.session
    }

    /// Before a start: the wait its backoff asks for, or [`SessionError::ServerFailed`] when
    /// the budget is spent (which marks the server failed for `healthy_after`).
    pub(crate) fn begin_attempt(&self) -> Result<Duration, SessionError> {
        let mut state = self.state();
        if !state.started {
            state.started = true;
            return Ok(Duration::ZERO);
        }
        if state.restarts >= self.settings.max_restarts {
            let until = Instant::now() + self.settings.healthy_after;
            state.failed_until = Some(until);
            tracing::warn!(server = %self.name, restarts = state.restarts, "restart budget spent; failing calls for {:?}", self.settings.healthy_after);
            return Err(self.failed(&state, self.settings.healthy_after));
        }
        let wait = backoff(&self.settings, state.restarts);
        state.restarts += 1;
        state.last_restart = Some(Instant::now());
        Ok(wait)
    }

    /// Stores a session just opened.
    pub(crate) fn opened(&self, session: Session, seat: Seat, learned: Option<Protocol>) {
        let mut state = self.state();
        if learned.is_some() {
            state.era = learned;
        }
        state.live = Some(Live {
            session,
            opened_at: Instant::now(),
            missed_pings: 0,
            lists: Lists::default(),
            validators: HashMap::new(),
            _seat: seat,
        });
    }

    /// The session, taken out when it is open and nothing holds it (for idle close and
    /// eviction).
    pub(crate) fn take_if_idle(&self) -> Option<Session> {
        let mut state = self.state();
        if self.is_held() {
            return None;
        }
        state.live.take().map(|live| live.session)
    }

    /// The config to open the server with: for `protocol = "auto"`, the handshake it was
    /// found to speak.
    pub(crate) fn config_to_open(&self, config: &ServerConfig) -> ServerConfig {
        let era = self.state().era;
        let mut config = config.clone();
        if let Some(era) = era {
            match &mut config {
                ServerConfig::Stdio(stdio) => stdio.protocol = era,
                ServerConfig::StreamableHttp(http) => http.protocol = era,
                _ => {}
            }
        }
        config
    }

    /// Clears a failed state and the restart budget.
    pub(crate) fn reset(&self) {
        let mut state = self.state();
        state.failed_until = None;
        state.restarts = 0;
    }
}

/// The error a session found dead before use carries.
fn dead_error(session: &Session) -> SessionError {
    SessionError::ConnectionClosed {
        server: session.server_name().to_owned(),
        operation: "the session".to_owned(),
        reason: Some("found closed before use".to_owned()),
    }
}

/// The wait before restart number `restarts + 1` in a row: none for the first, then
/// `backoff · 2ⁿ⁻¹` capped at `max_backoff`, with up to ±25 % jitter so that many clients of one
/// server do not come back in step.
pub(crate) fn backoff(settings: &PoolSettings, restarts: u32) -> Duration {
    if restarts == 0 {
        return Duration::ZERO;
    }
    let doubled = settings.backoff.saturating_mul(1 << (restarts - 1).min(20));
    let base = doubled.min(settings.max_backoff);
    base.mul_f64(0.75 + 0.5 * jitter())
}

/// A number in [0, 1) that differs between calls and processes (no `rand` for one number).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::try_from(Instant::now().elapsed().as_nanos()).unwrap_or_default());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether a failed start is worth another try: a server that is down or slow may come up; a
/// program that does not exist, a refused credential or a wrong URL will not.
pub(crate) fn transient(error: &SessionError) -> bool {
    match error {
        SessionError::Spawn { source, .. } => !matches!(
            source.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
        ),
        SessionError::Http { status, .. } => *status >= 500 || *status == 429,
        SessionError::Unauthorized { .. }
        | SessionError::TokenUnavailable { .. }
        | SessionError::UnsupportedAuth { .. }
        | SessionError::Authorization { .. }
        | SessionError::LoginRequired { .. }
        | SessionError::NotStreamableHttp { .. }
        | SessionError::InvalidHeader { .. }
        | SessionError::UnsupportedTransport { .. }
        | SessionError::HttpClient { .. }
        | SessionError::Config(_)
        | SessionError::PoolClosed { .. }
        | SessionError::ServerFailed { .. }
        | SessionError::PoolFull { .. } => false,
        _ => true,
    }
}

/// Closes a session the pool let go of, without making anyone wait.
pub(crate) fn close_in_background(session: Session) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                let _ = session.close().await;
            });
        }
        // No runtime: dropping the last handle ends the server.
        Err(_) => drop(session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        let settings = PoolSettings::default()
            .backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(1000));
        assert_eq!(backoff(&settings, 0), Duration::ZERO);
        for (restarts, base) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (30, 1000)] {
            let wait = backoff(&settings, restarts).as_secs_f64() * 1000.0;
            let base = f64::from(base);
            assert!(wait >= base * 0.75 - 1e-6 && wait <= base * 1.25 + 1e-6, "{restarts}: {wait}");
        }
    }

    #[test]
    fn authorization_failures_are_final() {
        let server = "docs".to_owned();
        let step = mcp_auth::Step::Discovery;
        let reason = "no metadata".to_owned();
        assert!(!transient(&SessionError::Authorization {
            server: server.clone(),
            step,
            reason: reason.clone()
        }));
        assert!(!transient(&SessionError::LoginRequired { server, reason }));
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
