//! `research-demo servers [--json] [server flags]`: every chosen server (`sources.rs`), started
//! at once through a session pool, listed and pinged, as a table or one JSON object per
//! server; exit 1 when any is unreachable. The pool is closed before the command ends.

use std::time::Duration;

use mcp_session::{Health, SessionPool};
use serde::Serialize;

use crate::cli::ServersArgs;
use crate::error::Error;
use crate::output::{Output, eprint_line};
use crate::signal::Signals;

/// Starts every server, checks each and prints its row. Unreachable servers' rows are printed
/// too, and fail the command ([`Error::Unreachable`], which says why for each); a degraded
/// server is said on stderr and does not.
pub(crate) async fn servers(
    args: ServersArgs,
    output: &Output,
    signals: Signals,
) -> Result<(), Error> {
    let servers = crate::sources::resolve(&args.servers).await?;
    let pool =
        SessionPool::builder(servers.config.clone()).manager(crate::login::manager()).build();
    let outcome = tokio::select! {
        outcome = output.waiting("the servers", check(&pool, args.json, None, output)) => outcome,
        signal = signals.first() => Err(Error::Interrupted { signal }),
    };
    pool.close_all().await;
    servers.stop().await;
    outcome
}

/// One server, as checked.
#[derive(Debug)]
struct Row {
    server: String,
    /// The open session's transport (`sse` for a URL that fell back to legacy SSE), else the
    /// configured one.
    transport: &'static str,
    /// [`Health::label`].
    state: &'static str,
    protocol_version: Option<String>,
    tools: Option<usize>,
    latency: Option<Duration>,
    /// Why it is not healthy, starting with the server's name.
    reason: Option<String>,
    /// Whether it counts as unreachable (exit 1).
    unreachable: bool,
}

/// Lists every server's tools (which starts them, all at once), pings those that started, and
/// prints a row each, in config order: a table, or with `json` a JSON object each (whose `type`
/// is `tag`, if given: `chat --json`'s `/servers`).
pub(crate) async fn check(
    pool: &SessionPool,
    json: bool,
    tag: Option<&'static str>,
    output: &Output,
) -> Result<(), Error> {
    let found = pool.list_tools_of_all(None).await;
    let health = pool.health_all().await;
    let mut rows = Vec::with_capacity(health.len());
    for (server, health) in health {
        let listed = found.listed.iter().find(|(name, _)| *name == server).map(|(_, t)| t.len());
        let unlisted = found.failed.iter().find(|(name, _)| *name == server).map(|(_, e)| e);
        let session = match pool.stats(&server) {
            Ok(stats) if stats.open => pool.get(&server).await.ok().and_then(|l| l.session()),
            _ => None,
        };
        let transport = match (&session, pool.config().get(&server)) {
            (Some(session), _) => session.transport().as_str(),
            (None, Ok(config)) => config.transport().as_str(),
            (None, Err(_)) => "-",
        };
        let protocol_version = session.as_ref().and_then(|session| session.protocol_version());
        let mut row = Row {
            transport,
            state: health.label(),
            protocol_version,
            tools: listed,
            latency: None,
            reason: None,
            unreachable: false,
            server,
        };
        match health {
            Health::Healthy { latency, .. } => row.latency = Some(latency),
            Health::Degraded { reason } => row.reason = Some(reason),
            // The start failed: the listing says why.
            Health::NotStarted => {
                row.state = "unreachable";
                row.unreachable = true;
                row.reason = Some(unlisted.map_or_else(
                    || "its session closed before it could be checked".to_owned(),
                    ToString::to_string,
                ));
            }
            Health::Unreachable { error } => {
                row.unreachable = true;
                row.reason = Some(error.to_string());
            }
            Health::Failed { restarts, last_error } => {
                row.unreachable = true;
                let last = last_error.to_string();
                let last = last.strip_prefix(&format!("{}: ", row.server)).unwrap_or(&last);
                row.reason = Some(format!("failed after {restarts} restarts: {last}"));
            }
            other => row.reason = Some(other.to_string()),
        }
        row.reason = row.reason.map(|reason| named(&row.server, reason));
        rows.push(row);
    }
    if json {
        for row in &rows {
            output.line(&json_line(row, tag));
        }
    } else {
        for line in table(&rows) {
            output.line(&line);
        }
    }
    let mut reasons = Vec::new();
    for row in rows {
        match row.reason {
            Some(reason) if row.unreachable => reasons.push(reason),
            Some(reason) => eprint_line(&format!("research-demo: {reason}")),
            None => {}
        }
    }
    if reasons.is_empty() { Ok(()) } else { Err(Error::Unreachable { reasons }) }
}

/// `text`, starting with `server: ` (error texts of the session layer already do).
fn named(server: &str, text: String) -> String {
    if text.starts_with(&format!("{server}: ")) { text } else { format!("{server}: {text}") }
}

/// A row of `--json`, its fields in this order; unknown values are `null`.
#[derive(Debug, Serialize)]
struct JsonRow<'a> {
    /// In `chat --json` only, where every line has a `type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    tag: Option<&'static str>,
    server: &'a str,
    transport: &'a str,
    state: &'a str,
    protocol_version: Option<&'a str>,
    tools: Option<usize>,
    latency_ms: Option<f64>,
    reason: Option<&'a str>,
}

/// The row as one JSON object, whose `type` is `tag` (if given).
fn json_line(row: &Row, tag: Option<&'static str>) -> String {
    let line = JsonRow {
        tag,
        server: &row.server,
        transport: row.transport,
        state: row.state,
        protocol_version: row.protocol_version.as_deref(),
        tools: row.tools,
        latency_ms: row.latency.map(|latency| (latency.as_secs_f64() * 1e6).round() / 1e3),
        reason: row.reason.as_deref(),
    };
    serde_json::to_string(&line).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
}

/// The rows as an aligned table under a header; `-` for what is not known.
fn table(rows: &[Row]) -> Vec<String> {
    let header = ["SERVER", "TRANSPORT", "STATE", "PROTOCOL", "TOOLS", "LATENCY"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                row.server.clone(),
                row.transport.to_owned(),
                row.state.to_owned(),
                row.protocol_version.clone().unwrap_or_else(|| "-".to_owned()),
                row.tools.map_or_else(|| "-".to_owned(), |tools| tools.to_string()),
                row.latency.map_or_else(|| "-".to_owned(), latency),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let [server, transport, state, protocol, tools, latency] = cells;
        let [w0, w1, w2, w3, w4, w5] = widths;
        format!(
            "{server:<w0$}  {transport:<w1$}  {state:<w2$}  {protocol:<w3$}  {tools:>w4$}  {latency:>w5$}"
        )
        .trim_end()
        .to_owned()
    };
    std::iter::once(line(header))
        .chain(cells.iter().map(|row| line(row.each_ref().map(String::as_str))))
        .collect()
}

/// A ping's time: milliseconds with a tenth below 10 ms, whole ones above.
fn latency(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.1}ms") } else { format!("{ms:.0}ms") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(server: &str, state: &'static str) -> Row {
        Row {
            server: server.to_owned(),
            transport: "stdio",
            state,
            protocol_version: Some("2025-06-18".to_owned()),
            tools: Some(5),
            latency: Some(Duration::from_micros(1234)),
            reason: None,
            unreachable: false,
        }
    }

    #[test]
    fn the_table_is_aligned_and_says_dash_for_the_unknown() {
        let down = Row {
            protocol_version: None,
            tools: None,
            latency: None,
            unreachable: true,
            reason: Some("gone: cannot start".to_owned()),
            ..row("gone", "unreachable")
        };
        let lines = table(&[row("ArxivServer", "healthy"), down]);
        assert_eq!(
            lines,
            [
                "SERVER       TRANSPORT  STATE        PROTOCOL    TOOLS  LATENCY",
                "ArxivServer  stdio      healthy      2025-06-18      5    1.2ms",
                "gone         stdio      unreachable  -               -        -",
            ]
        );
    }

    #[test]
    fn a_json_line_has_every_field_in_order() {
        assert_eq!(
            json_line(&row("ArxivServer", "healthy"), None),
            r#"{"server":"ArxivServer","transport":"stdio","state":"healthy","protocol_version":"2025-06-18","tools":5,"latency_ms":1.234,"reason":null}"#
        );
        assert!(
            json_line(&row("ArxivServer", "healthy"), Some("server"))
                .starts_with(r#"{"type":"server","server":"ArxivServer","transport""#)
        );
    }

    #[test]
    fn reasons_name_their_server_once() {
        assert_eq!(named("gone", "gone: cannot start".to_owned()), "gone: cannot start");
        assert_eq!(named("slow", "its ping took 2s".to_owned()), "slow: its ping took 2s");
        assert_eq!(latency(Duration::from_millis(25)), "25ms");
    }
}
