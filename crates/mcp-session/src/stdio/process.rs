//! A stdio server's processes, from start to end.
//!
//! - **Start**: the server becomes the leader of a new process group (process-wrap), with
//!   [`MARKER_VAR`] set to a marker of its own in its environment, which every process it starts
//!   inherits. On Linux it is forked from one thread that lives as long as the process, and gets a
//!   parent-death signal (SIGTERM): if the client dies, even by SIGKILL, the server is told.
//! - **End** ([`ChildGuard::shutdown`], or drop): the whole group is signalled, SIGTERM then
//!   SIGKILL, even when the leader has exited; then every running process that carries the
//!   session's marker and started after the server (a grandchild that called `setsid()`, a
//!   double-forked daemon) is ended the same way.
//!
//! Why a marker and not a cgroup or a subreaper: a marker needs no privilege and no writable
//! cgroup, works the same for root and for an ordinary user, and changes nothing for the rest of
//! the process (a child subreaper would adopt every orphan of the whole program). Its limit: a
//! descendant that clears its environment, or runs as another user, cannot be found.

use std::io;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use mcp_config::StdioConfig;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use process_wrap::tokio::{ChildWrapper, CommandWrap, ProcessGroup};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

/// The environment variable that marks every process a session's server starts.
pub(crate) const MARKER_VAR: &str = "MCP_SESSION_MARKER";
/// How often a closing group, or a closing set of marked processes, is checked for survivors.
const POLL: Duration = Duration::from_millis(5);
/// The parent-death signal: what a server gets when the client process dies.
const PARENT_DEATH_SIGNAL: Signal = Signal::SIGTERM;

/// A started server: the guard of its processes and its pipes.
pub(super) struct Spawned {
    pub(super) guard: ChildGuard,
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
    pub(super) stderr: Option<ChildStderr>,
}

/// Starts the server of `config` as the leader of a new process group, marked, with its
/// parent-death signal armed (Linux).
pub(super) fn spawn(config: &StdioConfig) -> io::Result<Spawned> {
    let marker = new_marker();
    let mut command = tokio::process::Command::new(&config.command);
    command
        .args(&config.args)
        .envs(&config.env)
        .env(MARKER_VAR, &marker)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &config.working_dir {
        command.current_dir(dir);
    }
    let server = config.server_name.clone();
    let mut child = on_spawner_thread(move |long_lived| {
        if long_lived {
            arm_parent_death_signal(&mut command);
        }
        let mut wrapped = CommandWrap::from(command);
        wrapped.wrap(ProcessGroup::leader());
        wrapped.spawn()
    })?;
    let pid = child.id().ok_or_else(|| io::Error::other("the process has no id"))?;
    let pgid = Pid::from_raw(i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?);
    let stdin = child.stdin().take();
    let stdout = child.stdout().take();
    let stderr = child.stderr().take();
    let marked = Marked {
        needle: format!("{MARKER_VAR}={marker}").into_bytes(),
        leader: pid,
        since: start_time(pid),
    };
    let guard = ChildGuard { child: Some(child), pgid, marked: Some(marked), server };
    let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
        return Err(io::Error::other("the child's stdin or stdout is missing"));
    };
    Ok(Spawned { guard, stdin, stdout, stderr })
}

/// A marker no other session of any process has: this process's id, a counter, and the time.
fn new_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{}-{}-{nanos:x}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Sets the parent-death signal in the child, between fork and exec (Linux only).
///
/// The signal follows the *thread* that forked: [`on_spawner_thread`] forks from a thread that
/// never ends, so it fires only when the process dies. If the client died between fork and
/// `prctl`, the signal would never come: the child then checks that its parent is still the
/// client, and fails the exec if not.
#[cfg(target_os = "linux")]
fn arm_parent_death_signal(command: &mut tokio::process::Command) {
    let client = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: `prctl` and `getppid` are plain system calls, and it
    // allocates nothing on the success path.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(PARENT_DEATH_SIGNAL).map_err(io::Error::from)?;
            if nix::unistd::getppid() != client {
                return Err(io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn arm_parent_death_signal(_command: &mut tokio::process::Command) {}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `spawn` on the spawner thread, a thread that lives as long as the process (so that a
/// parent-death signal armed there fires only when the process dies), within the caller's Tokio
/// runtime. `spawn` learns whether it runs there (`true`), or, if that thread cannot be had, on
/// the caller's thread (`false`: no parent-death signal then, since the caller's thread may end
/// any time).
fn on_spawner_thread<T: Send + 'static>(
    spawn: impl FnOnce(bool) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    static SPAWNER: OnceLock<Option<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mcp-session-spawner".into())
            .spawn(move || {
                for job in queue {
                    job();
                }
            })
            .ok()
            .map(|_| Mutex::new(jobs))
    });
    let runtime = tokio::runtime::Handle::try_current().ok();
    let (answer, result) = mpsc::sync_channel::<io::Result<T>>(1);
    let job = Box::new(move || {
        let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| spawn(true)))
            .unwrap_or_else(|_| Err(io::Error::other("spawning the server panicked")));
        let _ = answer.send(outcome);
    });
    let queued = spawner
        .as_ref()
        .and_then(|jobs| jobs.lock().ok())
        .is_some_and(|jobs| jobs.send(job).is_ok());
    if !queued {
        return Err(io::Error::other("the thread that starts stdio servers is gone"));
    }
    result.recv().unwrap_or_else(|_| Err(io::Error::other("the server was not started")))
}

/// The start time of process `pid`, in clock ticks since boot (0 when unknown).
fn start_time(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| StatLine::parse(&stat))
        .map_or(0, |line| line.start_time)
}

/// The fields of a `/proc/PID/stat` line that cleanup needs.
struct StatLine {
    state: char,
    group: i32,
    start_time: u64,
}

impl StatLine {
    /// `pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    /// utime stime cutime cstime priority nice num_threads itrealvalue starttime …`; `comm` may
    /// hold spaces and parentheses, so fields are counted from its last `)`.
    fn parse(stat: &str) -> Option<StatLine> {
        let after_comm = &stat[stat.rfind(')')? + 1..];
        let mut fields = after_comm.split_whitespace();
        let state = fields.next()?.chars().next()?;
        let group = fields.nth(1)?.parse().ok()?;
        let start_time = fields.nth(16)?.parse().ok()?;
        Some(StatLine { state, group, start_time })
    }

    fn running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }
}

/// The processes of one session that may have left its group: those carrying its marker.
struct Marked {
    /// `MCP_SESSION_MARKER=…`, as it appears in `/proc/PID/environ`.
    needle: Vec<u8>,
    /// The server's process id: pids are handed out in increasing order (until they wrap), so
    /// its descendants have greater ones, and only those need a look.
    leader: u32,
    /// The server's start time: processes started before it are not its descendants.
    since: u64,
}

impl Marked {
    /// Running processes that carry the marker.
    ///
    /// Cheap in the common case: listing `/proc` costs little, and only processes with a pid
    /// above the server's (started after it, unless pids wrapped since) are read.
    fn find(&self) -> Vec<Pid> {
        let own = std::process::id();
        let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
        // The last pid handed out: below the server's, the pids have wrapped, and any pid may
        // be newer than the server.
        let wrapped = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()
            .and_then(|last| last.trim().parse::<u32>().ok())
            .is_none_or(|last| last < self.leader);
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if pid == own || (pid <= self.leader && !wrapped) {
                continue;
            }
            let path = entry.path();
            let Some(stat) =
                std::fs::read_to_string(path.join("stat")).ok().and_then(|s| StatLine::parse(&s))
            else {
                continue;
            };
            if !stat.running() || stat.start_time < self.since {
                continue;
            }
            // Unreadable (another user's process): not ours to end.
            let Ok(environ) = std::fs::read(path.join("environ")) else { continue };
            if environ.split(|&b| b == 0).any(|var| var == self.needle.as_slice()) {
                found.push(Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX)));
            }
        }
        found
    }

    /// Ends every marked process (see [`end`]). Blocking.
    fn end(&self, grace: Duration) {
        end("processes that left the server's group", grace, || self.find(), signal);
    }
}

/// Ends the process group `pgid` (see [`end`]), whether or not its leader has exited: its
/// children may live on. Blocking.
fn end_group(pgid: Pid, grace: Duration) {
    let find = || if group_alive(pgid) { vec![pgid] } else { Vec::new() };
    end("the server's process group", grace, find, signal_group);
}

/// Ends what `find` finds (`what`, for the log), each with `send`: SIGTERM, up to `grace` for
/// all of it to go, then SIGKILL to what is left. Returns at once when `find` finds nothing,
/// the common case. Blocking: it sleeps between checks.
fn end(what: &str, grace: Duration, find: impl Fn() -> Vec<Pid>, send: impl Fn(Pid, Signal)) {
    let mut alive = find();
    if !alive.is_empty() {
        tracing::debug!(count = alive.len(), "ending {what}");
    }
    for &pid in &alive {
        send(pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while !alive.is_empty() && Instant::now() < deadline {
        std::thread::sleep(POLL);
        alive = find();
    }
    for pid in alive {
        send(pid, Signal::SIGKILL);
    }
}

/// Owns a server's processes; on [`ChildGuard::shutdown`] or drop, none of them survives.
pub(super) struct ChildGuard {
    child: Option<Box<dyn ChildWrapper>>,
    pgid: Pid,
    /// Taken when the server is ended.
    marked: Option<Marked>,
    server: String,
}

impl ChildGuard {
    /// The leader's process id (also the group id).
    pub(super) fn pid(&self) -> u32 {
        self.pgid.as_raw().unsigned_abs()
    }

    /// The leader's exit status, if it has exited.
    pub(super) fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits up to `limit` for the leader to exit.
    pub(super) async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        tokio::time::timeout(limit, child.wait()).await.ok()?.ok()
    }

    /// Ends every process of the server: waits `grace` for the leader to exit on its own (its
    /// stdin is closed by now), then signals the whole group SIGTERM, waits `grace` again, then
    /// SIGKILL. The group is signalled even when the leader has exited, since its children may
    /// live on. Then the marked processes that left the group get the same.
    pub(super) async fn shutdown(&mut self, grace: Duration) {
        if self.child.is_none() {
            return;
        }
        let started = Instant::now();
        let status = self.wait_exit(grace).await;
        // Ending them waits and reads /proc: off the runtime's threads. In the common case (an
        // empty group, nothing marked) it returns at once.
        let (pgid, marked) = (self.pgid, self.marked.take());
        let ended = tokio::task::spawn_blocking(move || {
            end_group(pgid, grace);
            if let Some(marked) = marked {
                marked.end(grace);
            }
        });
        let _ = ended.await;
        if status.is_none() {
            // Reap the leader (SIGKILL cannot be ignored, so this ends).
            self.wait_exit(grace.max(Duration::from_secs(1))).await;
        }
        self.child = None;
        tracing::debug!(server = %self.server, elapsed = ?started.elapsed(), "stdio server closed");
    }
}

impl std::fmt::Debug for ChildGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildGuard").field("pid", &self.pgid.as_raw()).finish_non_exhaustive()
    }
}

impl Drop for ChildGuard {
    /// The safety net for a session dropped without `close()`: SIGTERM to the group at once,
    /// then SIGKILL, reaping and the marked processes from a blocking task, or from a thread
    /// when no runtime is running.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let (pgid, marked) = (self.pgid, self.marked.take());
        signal_group(pgid, Signal::SIGTERM);
        let finish = move || {
            let grace = Duration::from_secs(2);
            end_group(pgid, grace);
            let deadline = Instant::now() + grace;
            while !matches!(child.try_wait(), Ok(Some(_)) | Err(_)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            if let Some(marked) = marked {
                marked.end(grace);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(finish);
            }
            Err(_) => {
                let _detached =
                    std::thread::Builder::new().name("mcp-session-reaper".into()).spawn(finish);
            }
        }
    }
}

fn signal(pid: Pid, signal: Signal) {
    match kill(pid, signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(err) => tracing::warn!(pid = pid.as_raw(), "cannot send {signal}: {err}"),
    }
}

fn signal_group(pgid: Pid, signal: Signal) {
    match killpg(pgid, signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(err) => tracing::warn!(
            pgid = pgid.as_raw(),
            "cannot send {signal} to the server's process group: {err}"
        ),
    }
}

/// Whether any process of group `pgid` is still running (zombies do not count: an init that
/// does not reap would otherwise keep them "alive").
///
/// A signal-0 probe answers at once when the group is empty, the common case at close (the
/// leader has exited and been reaped); only when some member exists is `/proc` scanned, to
/// tell running members from zombies.
fn group_alive(pgid: Pid) -> bool {
    if killpg(pgid, None) == Err(nix::errno::Errno::ESRCH) {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        if let Some(alive) = group_alive_procfs(pgid.as_raw()) {
            return alive;
        }
    }
    killpg(pgid, None).is_ok()
}

#[cfg(target_os = "linux")]
fn group_alive_procfs(pgid: i32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        if StatLine::parse(&stat).is_some_and(|line| line.group == pgid && line.running()) {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::StatLine;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 1 0 \
                    123456 2445312 200 18446744073709551615";
        let line = StatLine::parse(stat).unwrap();
        assert_eq!((line.state, line.group, line.start_time), ('S', 4242, 123456));
        assert!(line.running());
        assert!(StatLine::parse("garbage").is_none());
    }
}
