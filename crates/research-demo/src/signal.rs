//! SIGINT and SIGTERM: every command stops on the first one, closes what it opened, and exits
//! 130 or 143 ([`Interrupt::exit_code`]); a second one ends the process at once. `chat` is the
//! exception: a SIGINT (Ctrl-C) during a turn cancels that turn only, and it waits for the next
//! signal with [`Signals::next`] and stops with [`Signals::stopping`].

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
        self.stopping(first)
    }

    /// The command stops for `first`, a signal [`next`](Self::next) returned: says so on stderr,
    /// and from then on another SIGINT or SIGTERM ends the process at once with its own exit
    /// status.
    pub(crate) fn stopping(self, first: Interrupt) -> Interrupt {
        eprint_line(&format!(
            "research-demo: {first}: stopping, closing every session and server (again to exit at once)"
        ));
        self.exit_on_next();
        first
    }

    /// The command stops for its own reason (the chat was left): from then on, a SIGINT or
    /// SIGTERM ends the process at once with its own exit status, cutting short the cleanup.
    pub(crate) fn exit_on_next(mut self) {
        tokio::spawn(async move {
            let second = self.next().await;
            crate::terminal::restore();
            std::process::exit(i32::from(second.exit_code()));
        });
    }

    /// The next SIGINT or SIGTERM, saying nothing (`chat` cancels a turn on SIGINT and goes
    /// on). (A stream that ended, which Tokio never does, counts as its signal.)
    ///
    /// Cancel safe: dropped before a signal comes, it loses none.
    pub(crate) async fn next(&mut self) -> Interrupt {
        tokio::select! {
            _ = self.interrupt.recv() => Interrupt::Sigint,
            _ = self.terminate.recv() => Interrupt::Sigterm,
        }
    }
}
