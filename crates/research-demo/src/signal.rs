//! SIGINT and SIGTERM: every command stops on the first one, closes what it opened, and exits
//! 130 or 143 ([`Interrupt::exit_code`]); a second one ends the process at once.

use std::fmt;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::Error;
use crate::output::eprint_line;

/// The signal that stopped a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// SIGINT (Ctrl-C).
    Sigint,
    /// SIGTERM.
    Sigterm,
}

impl Interrupt {
    /// 128 + the signal's number, as shells report a process a signal ended: 130 or 143.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Interrupt::Sigint => 130,
            Interrupt::Sigterm => 143,
        }
    }
}

impl fmt::Display for Interrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Interrupt::Sigint => "SIGINT",
            Interrupt::Sigterm => "SIGTERM",
        })
    }
}

/// SIGINT and SIGTERM, handled by this process from [`install`](Self::install) on (they no
/// longer end it by themselves).
#[derive(Debug)]
pub(crate) struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Handles SIGINT and SIGTERM from now on; a signal that comes before [`first`](Self::first)
    /// is awaited is kept for it. Needs a Tokio runtime.
    pub(crate) fn install() -> Result<Self, Error> {
        let interrupt = signal(SignalKind::interrupt()).map_err(Error::Runtime)?;
        let terminate = signal(SignalKind::terminate()).map_err(Error::Runtime)?;
        Ok(Signals { interrupt, terminate })
    }

    /// Waits for the first SIGINT or SIGTERM and says on stderr that the command is stopping.
    /// From then on, another one ends the process at once with its own exit status, cutting
    /// short whatever cleanup runs.
    ///
    /// Cancel safe: dropped before a signal comes, it loses none.
    pub(crate) async fn first(mut self) -> Interrupt {
        let first = self.next().await;
        eprint_line(&format!(
            "research-demo: {first}: stopping, closing every session and server (again to exit at once)"
        ));
        tokio::spawn(async move {
            let second = self.next().await;
            std::process::exit(i32::from(second.exit_code()));
        });
        first
    }

    /// The next SIGINT or SIGTERM. (A stream that ended, which Tokio never does, counts as its
    /// signal.)
    async fn next(&mut self) -> Interrupt {
        tokio::select! {
            _ = self.interrupt.recv() => Interrupt::Sigint,
            _ = self.terminate.recv() => Interrupt::Sigterm,
        }
    }
}
