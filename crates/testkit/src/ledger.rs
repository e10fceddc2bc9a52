//! The ledger: a file that `testkit-mcp` processes append their events to, one line an event,
//! so that a test can count what its servers did, those it killed and restarted included.
//!
//! A [`TestServer`](crate::mcp_server::TestServer) whose environment sets [`ENV`]
//! (`TESTKIT_LEDGER`) to a path appends these lines to that file (`PID` is its process id):
//! - `initialize PID` when it answers an `initialize` request (with a result or an error);
//! - `discover PID` when it answers `server/discover` (a `--legacy` server too, which answers
//!   "method not found");
//! - `call increment PID`, `call lookup PID` when a call of that tool starts executing: after
//!   its `ms` wait, before its `crash`.
//!
//! Each line is written with one write(2) on a file opened with `O_APPEND`, so several
//! processes can share one file without interleaving their lines. [`read`] and [`count`] read
//! it back:
//!
//! ```
//! let path = std::env::temp_dir().join(format!("ledger-doc-{}", std::process::id()));
//! testkit::ledger::record(&path, "initialize").unwrap();
//! testkit::ledger::record(&path, "call increment").unwrap();
//! assert_eq!(testkit::ledger::count(&path, "initialize"), 1);
//! assert_eq!(testkit::ledger::count(&path, "call"), 1);
//! let pid = std::process::id();
//! assert_eq!(
//!     testkit::ledger::read(&path)[1],
//!     ("call".to_owned(), "increment".to_owned(), pid)
//! );
//! std::fs::remove_file(&path).unwrap();
//! ```

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The environment variable that names the ledger file of a `testkit-mcp` process.
pub const ENV: &str = "TESTKIT_LEDGER";

/// One line of the ledger: its event (`initialize`, `discover`, `call`), the event's argument
/// (the tool of a `call`; empty when the event has none) and the process id that wrote it.
pub type Entry = (String, String, u32);

/// The ledger file this process's environment names ([`ENV`]), if any.
pub fn from_env() -> Option<PathBuf> {
    std::env::var_os(ENV).filter(|path| !path.is_empty()).map(PathBuf::from)
}

/// Appends `event` and this process's id (`EVENT PID`) as one line to the ledger at `path`,
/// creating the file if need be.
///
/// # Errors
/// When the file cannot be opened or written.
pub fn record(path: &Path, event: &str) -> io::Result<()> {
    append(path, &format!("{event} {}", std::process::id()))
}

/// Appends `line` and a newline to the file at `path` with one write(2) on a file opened with
/// `O_APPEND` (created if need be), so lines that processes append at once never interleave.
///
/// # Errors
/// When the file cannot be opened or written, or takes only part of the line.
pub fn append(path: &Path, line: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().append(true).create(true).open(path)?;
    let record = format!("{line}\n");
    // One write, not `write_all`: a retry after a short write could interleave with another
    // process's line. A regular file takes a short line whole.
    let written = file.write(record.as_bytes())?;
    if written == record.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("the ledger took {written} of {} bytes", record.len()),
        ))
    }
}

/// Every entry of the ledger at `path`, oldest first; none when there is no such file.
///
/// A last line without its newline (one being written) is left out.
///
/// # Panics
/// When the file cannot be read, or holds a line that is not `EVENT [ARG] PID`.
pub fn read(path: impl AsRef<Path>) -> Vec<Entry> {
    let path = path.as_ref();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => panic!("cannot read the ledger {}: {err}", path.display()),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|line| {
            parse(line).unwrap_or_else(|| {
                panic!("the ledger {} holds a malformed line: {line:?}", path.display())
            })
        })
        .collect()
}

/// How many entries of the ledger at `path` begin with the words of `what`: `"initialize"`,
/// `"discover"`, `"call"` (every call) or `"call increment"` (calls of `increment`).
///
/// # Panics
/// As [`read`] does.
pub fn count(path: impl AsRef<Path>, what: &str) -> usize {
    let wanted: Vec<&str> = what.split_whitespace().collect();
    read(path)
        .iter()
        .filter(|(event, arg, _)| {
            let words: Vec<&str> =
                std::iter::once(event.as_str()).chain(arg.split_whitespace()).collect();
            words.starts_with(&wanted)
        })
        .count()
}

/// `EVENT [ARG…] PID` as an entry.
fn parse(line: &str) -> Option<Entry> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let pid = words.pop()?.parse().ok()?;
    let event = (*words.first()?).to_owned();
    Some((event, words[1..].join(" "), pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path in the temporary directory no other test uses.
    fn scratch(name: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("testkit-ledger-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn a_missing_ledger_is_empty() {
        let path = scratch("missing");
        assert!(read(&path).is_empty());
        assert_eq!(count(&path, "initialize"), 0);
    }

    #[test]
    fn reads_back_what_was_recorded() {
        let path = scratch("roundtrip");
        let pid = std::process::id();
        record(&path, "initialize").unwrap();
        record(&path, "discover").unwrap();
        record(&path, "call increment").unwrap();
        record(&path, "call lookup").unwrap();
        record(&path, "call increment").unwrap();
        assert_eq!(
            read(&path),
            vec![
                ("initialize".to_owned(), String::new(), pid),
                ("discover".to_owned(), String::new(), pid),
                ("call".to_owned(), "increment".to_owned(), pid),
                ("call".to_owned(), "lookup".to_owned(), pid),
                ("call".to_owned(), "increment".to_owned(), pid),
            ]
        );
        assert_eq!(count(&path, "initialize"), 1);
        assert_eq!(count(&path, "call"), 3);
        assert_eq!(count(&path, "call increment"), 2);
        assert_eq!(count(&path, "call lookup"), 1);
        assert_eq!(count(&path, "call inc"), 0, "whole words only");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn leaves_out_a_line_being_written() {
        let path = scratch("partial");
        std::fs::write(&path, "initialize 12\ncall incr").unwrap();
        assert_eq!(read(&path), vec![("initialize".to_owned(), String::new(), 12)]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn lines_of_concurrent_writers_do_not_interleave() {
        let path = scratch("concurrent");
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        record(&path, "call increment").unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(count(&path, "call increment"), 1600);
        std::fs::remove_file(&path).unwrap();
    }
}
