//! [`Health`]: what a check of a pooled server found, and the background pings.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::slot::Slot;
use super::{Hold, SessionPool, Shared};
use crate::error::{SessionError, humanize};

/// The state of one server of a [`SessionPool`], as [`SessionPool::health`] found it.
///
/// ```
/// use std::time::Duration;
/// use mcp_session::Health;
///
/// let health = Health::Healthy {
///     latency: Duration::from_millis(3),
///     protocol_version: "2025-11-25".into(),
///     tool_count: 8,
/// };
/// assert!(health.is_healthy());
/// assert_eq!(health.to_string(), "healthy: answered in 3ms, protocol 2025-11-25, 8 tools");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Health {
    /// The session answered its ping in time.
    Healthy {
        /// How long the ping took.
        latency: Duration,
        /// The session's protocol version.
        protocol_version: String,
        /// How many tools the server offers.
        tool_count: usize,
    },
    /// The session answered, but slower than `pool.degraded_after`, or the server restarted
    /// within `pool.healthy_after`, or it could not list its tools.
    Degraded {
        /// What is wrong.
        reason: String,
    },
    /// The session (or its start, when the check was asked to start it) failed.
    Unreachable {
        /// Why.
        error: SessionError,
    },
    /// No session is open, and the check was not asked to start one.
    NotStarted,
    /// The server spent its restart budget: calls fail at once until it refills, or until
    /// [`SessionPool::reset`].
    Failed {
        /// Restarts tried since the budget last refilled.
        restarts: u32,
        /// Why the last session or start failed.
        last_error: SessionError,
    },
}

impl Health {
    /// Whether the server is [`Healthy`](Health::Healthy).
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy { .. })
    }

    /// One word for the state: `healthy`, `degraded`, `unreachable`, `not started`, `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Health::Healthy { .. } => "healthy",
            Health::Degraded { .. } => "degraded",
            Health::Unreachable { .. } => "unreachable",
            Health::NotStarted => "not started",
            Health::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Healthy { latency, protocol_version, tool_count } => write!(
                f,
                "healthy: answered in {}, protocol {protocol_version}, {tool_count} tools",
                humanize_latency(*latency)
            ),
            Health::Degraded { reason } => write!(f, "degraded: {reason}"),
            Health::Unreachable { error } => write!(f, "unreachable: {error}"),
            Health::NotStarted => f.write_str("not started"),
            Health::Failed { restarts, last_error } => {
                write!(f, "failed after {restarts} restarts: {last_error}")
            }
        }
    }
}

/// Milliseconds with a fraction below 10 ms, whole ones above.
fn humanize_latency(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms < 10.0 && ms.fract() != 0.0 { format!("{ms:.1}ms") } else { format!("{ms:.0}ms") }
}

impl SessionPool {
    /// Checks server `name`: pings its open session within `pool.ping_timeout`. A server with
    /// no open session is [`Health::NotStarted`]; this does not start it (see
    /// [`health_started`](Self::health_started)).
    ///
    /// # Errors
    /// An unknown server.
    pub async fn health(&self, name: &str) -> Result<Health, SessionError> {
        let slot = self.shared.slot(name)?;
        Ok(check(&self.shared, &slot, false).await)
    }

    /// [`health`](Self::health), starting the server first if it has no open session (which
    /// costs up to its startup timeout when it hangs).
    ///
    /// # Errors
    /// An unknown server.
    pub async fn health_started(&self, name: &str) -> Result<Health, SessionError> {
        let slot = self.shared.slot(name)?;
        Ok(check(&self.shared, &slot, true).await)
    }

    /// Checks every server at once, in config order: 100 open servers with 5 that hang take one
    /// ping timeout. Servers without an open session are [`Health::NotStarted`].
    pub async fn health_all(&self) -> Vec<(String, Health)> {
        self.check_all(false).await
    }

    /// [`health_all`](Self::health_all), starting every server that has no open session (each
    /// within its startup timeout, all at once).
    pub async fn health_all_started(&self) -> Vec<(String, Health)> {
        self.check_all(true).await
    }

    async fn check_all(&self, start: bool) -> Vec<(String, Health)> {
        let checks =
            self.shared.slots.iter().map(|slot| async move {
                (slot.name.clone(), check(&self.shared, slot, start).await)
            });
        futures::future::join_all(checks).await
    }
}

/// One server's check.
async fn check(shared: &Arc<Shared>, slot: &Slot, start: bool) -> Health {
    let current = match slot.current() {
        Ok(current) => current,
        Err(err) => return failed(err),
    };
    let session = match current {
        Some(session) => session,
        None if !start => return Health::NotStarted,
        None if shared.is_closed() => return Health::Unreachable { error: slot.pool_closed() },
        None => {
            let _hold = Hold::new(slot, &shared.seats);
            match shared.session(slot).await {
                Ok(session) => session,
                Err(err) => return failed(err),
            }
        }
    };
    let timeout = slot.settings.ping_timeout;
    let started = Instant::now();
    let ping = async {
        let result = session.ping_within(timeout).await;
        (result, started.elapsed())
    };
    let tools = tokio::time::timeout(timeout, shared.listed_now::<rmcp::model::Tool>(slot));
    let ((pinged, latency), tools) = tokio::join!(ping, tools);
    if let Err(error) = pinged {
        if error.is_connection_lost() {
            slot.lost(&session, &error);
        }
        return Health::Unreachable { error };
    }
    let tool_count = match tools {
        Ok(Ok(tools)) => tools.len(),
        Ok(Err(err)) => {
            return Health::Degraded {
                reason: format!("it answers pings, but listing its tools failed: {err}"),
            };
        }
        Err(_) => {
            return Health::Degraded {
                reason: format!(
                    "it answers pings, but did not list its tools within {}",
                    humanize(timeout)
                ),
            };
        }
    };
    let degraded_after = slot.settings.degraded_after;
    if latency > degraded_after {
        return Health::Degraded {
            reason: format!(
                "its ping took {}, over `pool.degraded_after` ({})",
                humanize_latency(latency),
                humanize(degraded_after)
            ),
        };
    }
    let healthy_after = slot.settings.healthy_after;
    let (restarts, last_restart) = {
        let state = slot.state();
        (state.restarts, state.last_restart)
    };
    if restarts > 0 && last_restart.is_some_and(|at| at.elapsed() < healthy_after) {
        return Health::Degraded {
            reason: format!(
                "it restarted {restarts} time{} within `pool.healthy_after` ({})",
                if restarts == 1 { "" } else { "s" },
                humanize(healthy_after)
            ),
        };
    }
    Health::Healthy {
        latency,
        protocol_version: session.protocol_version().unwrap_or_default(),
        tool_count,
    }
}

/// The state for a server whose session could not be had.
fn failed(err: SessionError) -> Health {
    match err {
        SessionError::ServerFailed { restarts, last_error, .. } => {
            Health::Failed { restarts, last_error: *last_error }
        }
        error => Health::Unreachable { error },
    }
}

/// Pings every open session each `every`; after `misses` unanswered in a row, the session is
/// taken out (and closed), to be reopened on next use. Pings do not count as use: an idle
/// session still closes on time.
pub(super) async fn ping_open(pool: Weak<Shared>, every: Duration, misses: u32) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(shared) = pool.upgrade() else { return };
        if shared.is_closed() {
            return;
        }
        let pings = shared.slots.iter().filter_map(|slot| {
            let session = slot.state().live.as_ref()?.session.clone();
            Some(async move {
                let result = session.ping_within(slot.settings.ping_timeout).await;
                let mut state = slot.state();
                let Some(live) = state.live.as_mut().filter(|live| live.session.same_as(&session))
                else {
                    return;
                };
                match result {
                    Ok(()) => live.missed_pings = 0,
                    Err(error) => {
                        live.missed_pings += 1;
                        let missed = live.missed_pings;
                        tracing::debug!(server = %slot.name, missed, %error, "background ping missed");
                        if missed >= misses || error.is_connection_lost() {
                            drop(state);
                            slot.lost(&session, &error);
                        }
                    }
                }
            })
        });
        futures::future::join_all(pings).await;
        drop(shared);
    }
}
