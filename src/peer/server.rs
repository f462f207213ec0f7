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

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

use super::Python;
use crate::child::{ChildOutput, MarkObserver, Pipes, Started, supervise};
use crate::units::Nanos;

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
    let hello = receive(server.control.as_raw_fd(), HELLO_TIMEOUT)?
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
    let control = server.control.as_raw_fd();
    let own = owned_ranges(server.process.id() as i32).unwrap_or_default();
    let (stdin_theirs, stdin_ours) = pipe()?;
    let (stdout_ours, stdout_theirs) = pipe()?;
    let (stderr_ours, stderr_theirs) = pipe()?;
    let (marks_ours, marks_theirs) =
        std::os::unix::net::UnixStream::pair().context("cannot create the phase-mark socket pair")?;
    let request = request_of(own);
    let fds = [
        stdin_theirs.as_raw_fd(),
        stdout_theirs.as_raw_fd(),
        stderr_theirs.as_raw_fd(),
        marks_theirs.as_raw_fd(),
    ];
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

/// A peer the server forked: this process can signal it (through a pidfd, which cannot
/// name another process once it has ended) but only the server can wait for it.
struct Forked {
    pid: i32,
    pidfd: Option<OwnedFd>,
    control: RawFd,
    status: Option<ExitStatus>,
    killed: bool,
    /// Why the server was lost, if it was while this peer ran.
    lost: std::sync::Arc<Mutex<Option<String>>>,
}

impl Forked {
    fn new(pid: i32, control: RawFd) -> Forked {
        // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        // SAFETY: a descriptor pidfd_open just returned, owned by nothing else.
        let pidfd = (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        Forked { pid, pidfd, control, status: None, killed: false, lost: Default::default() }
    }

    /// Reads the server's answer within `wait`: the peer's status, once it has ended.
    fn answer(&mut self, wait: Duration) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        match receive(self.control, wait) {
            Ok(Some(bytes)) => {
                let answer: Answer = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
                if answer.pid == self.pid {
                    self.status = answer.status.map(ExitStatus::from_raw);
                }
                Ok(self.status)
            }
            Ok(None) => Ok(None),
            Err(e) => self.server_lost(format!("{e:#}")),
        }
    }

    /// The server is gone: a peer this process killed ended by its `SIGKILL`; any other is
    /// killed now and run again elsewhere.
    fn server_lost(&mut self, why: String) -> std::io::Result<Option<ExitStatus>> {
        if !self.killed {
            self.kill();
            *self.lost.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why.clone());
            return Err(std::io::Error::other(why));
        }
        self.wait_gone(Duration::from_secs(5));
        self.status = Some(ExitStatus::from_raw(libc::SIGKILL));
        Ok(self.status)
    }

    /// Waits at most `limit` for the process to end (its pidfd turns readable).
    fn wait_gone(&self, limit: Duration) {
        if let Some(fd) = &self.pidfd {
            let mut poll = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&raw mut poll, 1, limit.as_millis() as i32) };
        }
    }
}

impl Started for Forked {
    fn pid(&self) -> i32 {
        self.pid
    }
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.answer(Duration::ZERO)
    }
    fn kill(&mut self) {
        self.killed = true;
        match &self.pidfd {
            // SAFETY: a pidfd this value owns, a signal number, no info, no flags.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<()>(),
                    0,
                );
            },
            // SAFETY: kill takes a PID and a signal.
            None => unsafe {
                libc::kill(self.pid, libc::SIGKILL);
            },
        }
    }
    fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let began = Instant::now();
        loop {
            if let Some(status) = self.answer(Duration::from_millis(200))? {
                return Ok(status);
            }
            if began.elapsed() > ANSWER_TIMEOUT {
                return self
                    .server_lost(format!("no end reported within {} s", ANSWER_TIMEOUT.as_secs()))?
                    .ok_or_else(|| std::io::Error::other("no status"));
            }
        }
    }
}

/// The server's present pages, as (start, length, private and writable) ranges: the pages a
/// child of it must make its own before its baseline. Read from `/proc/PID/maps` and
/// `/proc/PID/pagemap` (bit 63: present).
fn owned_ranges(pid: i32) -> Result<Vec<(u64, u64, bool)>> {
    use std::os::unix::fs::FileExt;
    let page = crate::units::page_size();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap"))?;
    let mut ranges = Vec::new();
    let mut entries = vec![0u8; 8 << 13];
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(span), Some(perms)) = (parts.next(), parts.next()) else { continue };
        let name = parts.nth(3).unwrap_or("");
        if !perms.starts_with('r') || matches!(name, "[vvar]" | "[vvar_vclock]" | "[vdso]" | "[vsyscall]") {
            continue;
        }
        let Some((start, end)) = span.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else {
            continue;
        };
        let write = perms.as_bytes().get(1) == Some(&b'w') && perms.as_bytes().get(3) == Some(&b'p');
        let mut run: Option<u64> = None;
        let mut at = start;
        while at < end {
            let pages = ((end - at) / page).min(entries.len() as u64 / 8) as usize;
            let chunk = &mut entries[..pages * 8];
            pagemap.read_exact_at(chunk, at / page * 8)?;
            for (i, entry) in chunk.chunks_exact(8).enumerate() {
                let present = u64::from_le_bytes(entry.try_into().unwrap_or_default()) >> 63 == 1;
                let addr = at + i as u64 * page;
                match (present, run) {
                    (true, None) => run = Some(addr),
                    (false, Some(from)) => {
                        ranges.push((from, addr - from, write));
                        run = None;
                    }
                    _ => {}
                }
            }
            at += pages as u64 * page;
        }
        if let Some(from) = run {
            ranges.push((from, end - from, write));
        }
    }
    Ok(ranges)
}

/// The largest request the server reads (`REQUEST_BYTES` in `tutorial.py`).
const REQUEST_BYTES: usize = 1 << 16;

/// The request for one peer: the ranges its child makes its own, the largest first when they
/// do not all fit (the server's few hundred ranges take about 10 KiB).
fn request_of(mut own: Vec<(u64, u64, bool)>) -> Vec<u8> {
    let encode = |own: &[(u64, u64, bool)]| {
        let own: Vec<(u64, u64, u8)> = own.iter().map(|&(a, n, w)| (a, n, u8::from(w))).collect();
        serde_json::to_vec(&serde_json::json!({ "own": own })).unwrap_or_default()
    };
    let mut request = encode(&own);
    if request.len() > REQUEST_BYTES {
        own.sort_by_key(|&(_, n, _)| std::cmp::Reverse(n));
        while request.len() > REQUEST_BYTES && !own.is_empty() {
            own.truncate(own.len() * 9 / 10);
            request = encode(&own);
        }
    }
    request
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create a pipe for a NumPy peer");
    }
    // SAFETY: two new descriptors, owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A close-on-exec `SOCK_SEQPACKET` socket pair: messages keep their boundaries.
fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two descriptors into the array it is given.
    let rc = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create the fork server's socket pair");
    }
    // SAFETY: two new descriptors, owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// One message from `fd` within `wait`: `None` when none came; an error when the other end
/// closed or the socket failed.
fn receive(fd: RawFd, wait: Duration) -> Result<Option<Vec<u8>>> {
    let mut poll = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&raw mut poll, 1, ms) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted { Ok(None) } else { Err(e.into()) };
    }
    if rc == 0 {
        return Ok(None);
    }
    let mut buf = vec![0u8; 1 << 16];
    // SAFETY: reads at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    match n {
        0 => anyhow::bail!("the server closed its socket (it ended)"),
        n if n < 0 => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(e.into())
            }
        }
        n => {
            buf.truncate(n as usize);
            Ok(Some(buf))
        }
    }
}

/// Sends `bytes` as one message with copies of `fds` (`SCM_RIGHTS`).
fn send_with_fds(socket: RawFd, bytes: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let payload = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec { iov_base: bytes.as_ptr().cast_mut().cast(), iov_len: bytes.len() };
    // SAFETY: an all-zero msghdr is a valid empty one; its pointers are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` points at `control`, large enough for one header and `fds` (CMSG_SPACE);
    // CMSG_FIRSTHDR and CMSG_DATA stay within it, and the copy writes exactly `payload` bytes.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&raw const msg);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(payload) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(header), payload as usize);
    }
    // SAFETY: `msg` and everything it points at live across the call; MSG_NOSIGNAL turns a
    // closed peer into EPIPE rather than a signal.
    let n = unsafe { libc::sendmsg(socket, &raw const msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
