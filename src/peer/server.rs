//! The NumPy peers' fork server: one Python interpreter that has imported NumPy
//! (`tutorial.py --serve`) forks a process for each peer, so that no peer pays for starting
//! Python and importing NumPy (0.1-0.3 s each here, over 90 peers in a full-size run).
//!
//! Each peer is still a process of its own for everything measured: its own PID, fault
//! counters from zero, its own standard streams and phase-mark descriptor (this process's
//! pipes and socket, passed to the server with `SCM_RIGHTS`), read from outside by the same
//! probe at the same marks, killed on timeout, its exit status or signal reported as a
//! spawned process's is. Two things a fork would change are undone before its baseline:
//!
//! - Its memory is the server's, shared copy-on-write: the first write to each page would
//!   copy it, in the middle of what is measured (measured here: `np.load(mmap_mode='r')`
//!   plus the first element took 512 minor faults and 2.2-2.8 ms in a forked child, against
//!   10 faults and 0.8-1.6 ms in a fresh interpreter). Before each fork this process reads
//!   which of the server's pages are present (`/proc/PID/maps` and `pagemap`), and the child
//!   makes exactly those its own (`MADV_POPULATE_WRITE` where private and writable,
//!   `MADV_POPULATE_READ` elsewhere): then the same call took 10 faults and 0.7-1.0 ms. The
//!   script itself reads nothing of `/proc`: it is handed the ranges.
//! - Its code pages: `page_in_code` runs in the child, as in a fresh interpreter.
//!
//! A Python command that is a wrapper (a script that runs the interpreter as its child, and
//! may do anything with its output) is never used as a server: the interpreter that answers
//! must be the process started. A server that dies or stops answering is restarted (twice at
//! most, then every peer runs in a fresh interpreter, as without a server), and the peer it
//! was running is run again in a fresh interpreter after its cache is prepared again.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

use super::Python;
use crate::child::{ChildOutput, MarkObserver, Pipes, supervise};
use crate::units::Nanos;
use forked::{Forked, owned_ranges};
use wire::{pipe, receive, request_of, send_with_fds, seqpacket_pair};

/// The environment variable that names the server's control socket.
pub const SERVE_ENV: &str = "MMAP_LAB_SERVE_FD";

/// Set (to anything but empty or `0`), no fork server runs: every peer starts a fresh
/// interpreter, as before there was one (to compare the two, or to rule the server out).
pub const NO_SERVER_ENV: &str = "MMAP_LAB_NO_FORK_SERVER";

/// How long a starting server may take to import NumPy and answer (a first `import numpy`
/// on a cold disk can take seconds).
const HELLO_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may take to fork a peer and name it, or to report a peer's end after
/// it was killed.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Servers started in one run beyond the first, after one died.
const RESTARTS: u32 = 2;

/// The fork server stopped answering while it forked or watched a peer: the peer is run
/// again in a fresh interpreter (after its cache is prepared again).
#[derive(Debug, thiserror::Error)]
#[error("the NumPy fork server stopped answering: {0}")]
pub struct ServerLost(pub String);

/// A running server.
struct Server {
    /// The interpreter it runs.
    python: PathBuf,
    /// Its process.
    process: std::process::Child,
    /// This process's end of the control socket (`SOCK_SEQPACKET`: one message per send).
    control: OwnedFd,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing the control socket ends the server; reap it.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The servers of this process's run.
#[derive(Default)]
struct State {
    /// The one running, if any.
    server: Option<Server>,
    /// Servers that died or stopped answering.
    lost: u32,
    /// Why no server runs for an interpreter, when one was refused (a wrapper, a failed start).
    refused: Option<(PathBuf, String)>,
    /// `import numpy` in the server, as it measured it.
    import_ns: Option<Nanos>,
    /// Peers forked.
    forked: u64,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut guard = STATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    f(guard.get_or_insert_with(State::default))
}

/// Starts a server for `python` unless one runs or none may: call it before preparing the
/// cache for a peer, so that starting an interpreter never disturbs what was prepared.
/// Returns whether a server is ready.
pub fn start(python: &Python) -> bool {
    state(|s| {
        if let Some(srv) = s.server.as_mut() {
            if srv.python == python.path && srv.process.try_wait().is_ok_and(|ended| ended.is_none()) {
                return true;
            }
            if srv.python == python.path {
                s.lost += 1; // it ended between two peers
            }
        }
        if s.refused.as_ref().is_some_and(|(p, _)| *p == python.path) || s.lost > RESTARTS {
            return false;
        }
        s.server = None;
        if std::env::var(NO_SERVER_ENV).is_ok_and(|v| !v.is_empty() && v != "0") {
            s.refused = Some((python.path.clone(), format!("{NO_SERVER_ENV} is set")));
            return false;
        }
        match spawn(&python.path) {
            Ok((server, import_ns)) => {
                s.server = Some(server);
                s.import_ns = import_ns;
                true
            }
            Err(why) => {
                s.refused = Some((python.path.clone(), format!("{why:#}")));
                false
            }
        }
    })
}

/// Whether peers were forked in this run, in words for the run's notes; `None` when none was.
pub fn note() -> Option<String> {
    state(|s| {
        let forked = (s.forked > 0).then(|| {
            format!(
                "NumPy peers: {} processes forked from one interpreter that had imported NumPy ({}), each \
                 with its own PID, fault counters and streams, its inherited pages made its own and its code \
                 paged in before its baseline; `import numpy` is reported as that interpreter measured it once.",
                s.forked,
                s.import_ns.map_or("its time not reported".to_owned(), |ns| {
                    format!("import numpy took {}", crate::units::human_nanos(ns))
                }),
            )
        });
        let trouble = match (&s.refused, s.lost) {
            (Some((_, why)), _) => {
                Some(format!("No fork server for the NumPy peers ({why}): each ran in a fresh interpreter."))
            }
            (None, 0) => None,
            (None, n) => Some(format!(
                "The NumPy fork server stopped answering {n} time(s); the peer it was running ran again in a fresh interpreter{}.",
                if n > RESTARTS { ", and every later peer did too" } else { "" }
            )),
        };
        match (forked, trouble) {
            (Some(a), Some(b)) => Some(format!("{a} {b}")),
            (a, b) => a.or(b),
        }
    })
}

/// The server's first message.
#[derive(Deserialize)]
struct Hello {
    pid: i32,
    import_ns: Option<Nanos>,
}

/// Starts `python -c SCRIPT --serve` and waits for its hello.
fn spawn(python: &Path) -> Result<(Server, Option<Nanos>)> {
    let (ours, theirs) = seqpacket_pair()?;
    let mut command = Command::new(python);
    command.args(["-c", super::SCRIPT, "--serve"]).env_remove(crate::marks::MARK_ENV);
    crate::marks::inherit_as(&mut command, theirs.as_raw_fd(), SERVE_ENV);
    let process = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", python.display()))?;
    drop(theirs);
    let server = Server { python: python.to_owned(), process, control: ours };
    let hello = receive(&server.control, HELLO_TIMEOUT)?
        .with_context(|| format!("it did not answer within {} s", HELLO_TIMEOUT.as_secs()))?;
    let hello: Hello = serde_json::from_slice(&hello).context("its hello is not the JSON expected")?;
    if hello.pid != server.process.id() as i32 {
        anyhow::bail!(
            "{} is a wrapper: the interpreter that answered is not the process started, and a wrapper may change what its interpreter writes",
            python.display()
        );
    }
    Ok((server, hello.import_ns))
}

/// The server's answer about one peer.
#[derive(Deserialize)]
struct Answer {
    pid: i32,
    /// The wait status (`waitpid`'s), once the peer has ended.
    status: Option<i32>,
}

/// Runs one peer through the server for `python`, if one is ready: `None` when none is (the
/// caller starts a fresh interpreter). An error whose root is [`ServerLost`] means the server
/// died or stopped answering before the peer ended.
pub(crate) fn run<T: Send + 'static>(
    python: &Python,
    input: &[u8],
    timeout: Duration,
    observer: MarkObserver<T>,
) -> Option<Result<(ChildOutput, Vec<T>)>> {
    let mut guard = STATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = guard.get_or_insert_with(State::default);
    let server = s.server.as_ref().filter(|srv| srv.python == python.path)?;
    let outcome = fork_one(server, input, timeout, observer);
    if outcome.as_ref().is_err_and(|e| e.root_cause().downcast_ref::<ServerLost>().is_some()) {
        s.server = None;
        s.lost += 1;
    } else {
        s.forked += 1;
    }
    Some(outcome)
}

fn fork_one<T: Send + 'static>(
    server: &Server,
    input: &[u8],
    timeout: Duration,
    observer: MarkObserver<T>,
) -> Result<(ChildOutput, Vec<T>)> {
    let control = &server.control;
    let own = owned_ranges(server.process.id() as i32).unwrap_or_default();
    let (stdin_theirs, stdin_ours) = pipe()?;
    let (stdout_ours, stdout_theirs) = pipe()?;
    let (stderr_ours, stderr_theirs) = pipe()?;
    let (marks_ours, marks_theirs) =
        std::os::unix::net::UnixStream::pair().context("cannot create the phase-mark socket pair")?;
    let request = request_of(own);
    let fds = [stdin_theirs.as_fd(), stdout_theirs.as_fd(), stderr_theirs.as_fd(), marks_theirs.as_fd()];
    let started = Instant::now();
    send_with_fds(control, &request, &fds).map_err(|e| ServerLost(format!("cannot send it a peer: {e}")))?;
    // The child holds these now (the server closes its copies once it has forked).
    drop((stdin_theirs, stdout_theirs, stderr_theirs, marks_theirs));
    let pid = match receive(control, ANSWER_TIMEOUT) {
        Ok(Some(bytes)) => {
            serde_json::from_slice::<Answer>(&bytes)
                .map_err(|e| ServerLost(format!("its answer is not the JSON expected: {e}")))?
                .pid
        }
        Ok(None) => {
            return Err(ServerLost(format!("no peer named within {} s", ANSWER_TIMEOUT.as_secs())).into());
        }
        Err(e) => return Err(ServerLost(format!("{e:#}")).into()),
    };
    let control = control.try_clone().map_err(|e| ServerLost(format!("cannot share its socket: {e}")))?;
    let child = Forked::new(pid, control);
    let pipes = Pipes {
        stdin: Some(std::fs::File::from(stdin_ours)),
        stdout: std::fs::File::from(stdout_ours),
        stderr: std::fs::File::from(stderr_ours),
    };
    let lost = child.lost.clone();
    let outcome = supervise(child, pipes, Some((marks_ours, observer)), input, timeout, started);
    match lost.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
        Some(why) if outcome.is_err() => Err(ServerLost(why).into()),
        _ => outcome,
    }
}

mod forked;
mod wire;

#[cfg(test)]
mod tests;
