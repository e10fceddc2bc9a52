//! One case of the fault matrix, as `mcp-faults` prints it (a JSON line), and the Markdown
//! table `cargo xtask faults` puts in `docs/reliability.md`.

use serde::{Deserialize, Serialize};

/// What a case may end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Expect {
    /// A typed error is required: success would mean the fault went unnoticed.
    Error,
    /// Success or a typed error are both fine (a fault a client may tolerate).
    Either,
}

/// The outcome of one (fault, transport) case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseReport {
    /// The fault, such as `crash mid-call`.
    pub fault: String,
    /// `stdio`, `http` (streamable HTTP) or `sse` (legacy HTTP+SSE).
    pub transport: String,
    /// What the case may end in.
    pub expect: Expect,
    /// The error variant we expect, such as `ServerExited` (`Ok` for a success).
    pub expected: String,
    /// `Ok`, a `SessionError` variant name, or `HUNG`/`PANIC` when the case itself failed.
    pub outcome: String,
    /// The step that ended the case: `open`, `call` or `close`; or `done`.
    pub phase: String,
    /// The error's message (redacted of ports and paths), or a note.
    pub message: String,
    /// Milliseconds from the start of the case to its outcome.
    pub elapsed_ms: u64,
    /// Marked processes still running after the session was closed (their `/proc` stat lines).
    pub leftovers: Vec<String>,
    /// Whether the healthy server in the same manager answered every `echo` during and after
    /// the case.
    pub healthy: bool,
}

impl CaseReport {
    /// Why this case fails the `--assert` check, if it does: leftovers, a hung or panicking
    /// case, a success where an error is required, or a healthy server that stopped answering.
    ///
    /// ```
    /// use testkit::faults::report::{CaseReport, Expect};
    ///
    /// let mut case = CaseReport::new("crash at start", "stdio", Expect::Error, "ServerExited");
    /// case.outcome = "Ok".into();
    /// case.healthy = true;
    /// assert_eq!(case.failure().as_deref(), Some("succeeded, but an error is required"));
    /// case.outcome = "ServerExited".into();
    /// assert_eq!(case.failure(), None);
    /// ```
    pub fn failure(&self) -> Option<String> {
        let mut why = Vec::new();
        match self.outcome.as_str() {
            "HUNG" | "PANIC" => why.push(format!("the case itself failed ({})", self.outcome)),
            "Ok" if self.expect == Expect::Error => {
                why.push("succeeded, but an error is required".to_owned());
            }
            _ => {}
        }
        if !self.leftovers.is_empty() {
            why.push(format!("{} processes left running", self.leftovers.len()));
        }
        if !self.healthy {
            why.push("the healthy server stopped answering".to_owned());
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// A case not run yet: outcome empty, healthy unknown (false).
    pub fn new(fault: &str, transport: &str, expect: Expect, expected: &str) -> Self {
        CaseReport {
            fault: fault.to_owned(),
            transport: transport.to_owned(),
            expect,
            expected: expected.to_owned(),
            outcome: String::new(),
            phase: String::new(),
            message: String::new(),
            elapsed_ms: 0,
            leftovers: Vec::new(),
            healthy: false,
        }
    }
}

/// The matrix as a Markdown table, one row per case, in the order given.
///
/// ```
/// use testkit::faults::report::{CaseReport, Expect, markdown_table};
///
/// let mut case = CaseReport::new("hang mid-call", "stdio", Expect::Error, "Timeout");
/// case.outcome = "Timeout".into();
/// case.phase = "call".into();
/// case.message = "a | b\nc".into();
/// case.elapsed_ms = 2004;
/// case.healthy = true;
/// let table = markdown_table(&[case]);
/// assert_eq!(
///     table.lines().nth(2),
///     Some("| hang mid-call | stdio | error: Timeout | **Timeout** (call) | 2.00 s | none | yes | a \\| b c |")
/// );
/// ```
pub fn markdown_table(cases: &[CaseReport]) -> String {
    let mut out = String::from(
        "| fault | transport | expected | outcome (step) | time | leftovers | healthy server | message |\n\
         |---|---|---|---|---:|---|---|---|\n",
    );
    for case in cases {
        let expected = match case.expect {
            Expect::Error => format!("error: {}", case.expected),
            Expect::Either => format!("ok or error ({})", case.expected),
        };
        let outcome = if case.outcome == case.expected || case.outcome == "Ok" {
            format!("**{}** ({})", case.outcome, case.phase)
        } else {
            format!("**{}** ({}) ⚠", case.outcome, case.phase)
        };
        let leftovers = match case.leftovers.len() {
            0 => "none".to_owned(),
            n => format!("**{n} left**"),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} s | {} | {} | {} |\n",
            cell(&case.fault),
            case.transport,
            expected,
            outcome,
            case.elapsed_ms as f64 / 1000.0,
            leftovers,
            if case.healthy { "yes" } else { "**no**" },
            cell(&case.message),
        ));
    }
    out
}

/// `text` fit for a table cell: one line, pipes escaped, at most 160 characters.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(160).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
    short.replace('|', "\\|")
}
