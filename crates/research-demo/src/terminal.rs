//! The terminal's settings, for `ask` and `chat` when stdin is a terminal and this process is
//! in its foreground: [`take_over`] keeps them and stops the terminal from echoing `^C` (which
//! would break the progress line drawn on stderr, and is noise in a conversation); [`restore`]
//! puts them back on the way out, every way out included: the chat's line editor may be waiting
//! for a line in raw mode when a signal ends the command.

use std::io::IsTerminal as _;
use std::sync::Mutex;

use nix::sys::termios::{LocalFlags, SetArg, Termios, tcgetattr, tcsetattr};

/// The settings before [`take_over`], if it changed them.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Whether stdin is a terminal whose foreground process group is this process's: only then may
/// its settings change (from the background, that would stop the process with SIGTTOU).
fn in_foreground() -> bool {
    let stdin = std::io::stdin();
    stdin.is_terminal()
        && nix::unistd::tcgetpgrp(&stdin).is_ok_and(|group| group == nix::unistd::getpgrp())
}

/// Keeps the terminal's settings, and turns off its echo of control characters (`^C`).
pub(crate) fn take_over() {
    if !in_foreground() {
        return;
    }
    let Ok(settings) = tcgetattr(std::io::stdin()) else { return };
    let mut quiet = settings.clone();
    quiet.local_flags.remove(LocalFlags::ECHOCTL);
    if let Ok(mut saved) = SAVED.lock()
        && tcsetattr(std::io::stdin(), SetArg::TCSANOW, &quiet).is_ok()
    {
        *saved = Some(settings);
    }
}

/// Puts back the settings [`take_over`] kept, if it changed them (and this process is still in
/// the terminal's foreground).
pub(crate) fn restore() {
    let saved = SAVED.lock().ok().and_then(|mut saved| saved.take());
    if let Some(settings) = saved
        && in_foreground()
    {
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &settings);
    }
}
