//! Child processes: start one, feed it its plan, serve its phase marks, wait for it with a
//! timeout (and for Ctrl-C), and say in words why it gave no answer. The runner and the
//! NumPy peer both start their children here.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::spec::Status;

pub mod formats;
pub mod outside;

/// A step still running after this long is killed and recorded as crashed.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);

/// Serves the phase marks of one child: called with the mark's name and the child's PID
/// while the child waits, before it is answered.
pub type MarkObserver<T> = Box<dyn FnMut(&str, i32) -> T + Send>;

/// What a finished child left behind.
pub struct ChildOutput {
    /// How it ended.
    pub status: ExitStatus,
    /// Its answer.
    pub stdout: Vec<u8>,
    /// Its messages.
    pub stderr: Vec<u8>,
    /// Whether it was killed for running past the timeout.
    pub timed_out: bool,
    /// Whether it was stopped because mmap-lab itself was interrupted (SIGINT, SIGTERM).
    pub interrupted: bool,
    /// Spawn to exit.
    pub wall: Duration,
}

/// Starts `command`, writes `input` to its stdin, and waits for it at most `timeout`.
pub(crate) fn spawn_and_wait(command: Command, input: &[u8], timeout: Duration) -> Result<ChildOutput> {
    Ok(spawn_marked::<()>(command, input, timeout, None)?.0)
}

/// Like [`spawn_and_wait`], and serves the child's phase marks with `observer`: the child
/// gets the descriptor named by [`crate::measure::MARK_ENV`]; each line it writes there
/// is passed to `observer` while it waits, then answered. Returns what `observer` returned,
/// mark by mark, in order.
pub(crate) fn spawn_marked<T: Send + 'static>(
    mut command: Command,
    input: &[u8],
    timeout: Duration,
    observer: Option<MarkObserver<T>>,
) -> Result<(ChildOutput, Vec<T>)> {
    let channel = match observer {
        Some(observer) => {
            let (ours, theirs) =
                std::os::unix::net::UnixStream::pair().context("cannot create the phase-mark socket pair")?;
            crate::marks::inherit(&mut command, std::os::fd::AsRawFd::as_raw_fd(&theirs));
            Some((ours, theirs, observer))
        }
        None => None,
    };
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let pipes = Pipes {
        stdin: child.stdin.take().map(|p| std::fs::File::from(std::os::fd::OwnedFd::from(p))),
        stdout: std::fs::File::from(std::os::fd::OwnedFd::from(
            child.stdout.take().context("child stdout missing")?,
        )),
        stderr: std::fs::File::from(std::os::fd::OwnedFd::from(
            child.stderr.take().context("child stderr missing")?,
        )),
    };
    // The child's copy of the mark socket is its own now: end of file once it and its own
    // children exit.
    let marks = channel.map(|(ours, theirs, observer)| {
        drop(theirs);
        (ours, observer)
    });
    supervise(child, pipes, marks, input, timeout, started)
}

/// A child that was started: a process this one spawned, or one the NumPy peer's fork
/// server forked ([`crate::peer::server`]), which this process cannot wait for itself.
pub(crate) trait Started {
    /// Its process ID.
    fn pid(&self) -> i32;
    /// Its exit status, if it has ended.
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>>;
    /// Kills it (`SIGKILL`); a child that has ended already is left as it is.
    fn kill(&mut self);
    /// Waits for it to end.
    fn wait(&mut self) -> std::io::Result<ExitStatus>;
}

impl Started for std::process::Child {
    fn pid(&self) -> i32 {
        self.id() as i32
    }
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        std::process::Child::try_wait(self)
    }
    fn kill(&mut self) {
        let _ = std::process::Child::kill(self);
    }
    fn wait(&mut self) -> std::io::Result<ExitStatus> {
        std::process::Child::wait(self)
    }
}

/// This process's ends of a started child's standard streams.
pub(crate) struct Pipes {
    /// Its stdin (written, then closed), if it has one.
    pub stdin: Option<std::fs::File>,
    /// Its stdout.
    pub stdout: std::fs::File,
    /// Its stderr.
    pub stderr: std::fs::File,
}

/// Feeds a started child `input`, serves its marks (`marks`: this process's end of the
/// mark socket, the child holding the other), reads what it writes, and waits for it at
/// most `timeout` from `started` (and for Ctrl-C), killing it past either.
pub(crate) fn supervise<T: Send + 'static>(
    mut child: impl Started,
    pipes: Pipes,
    marks: Option<(std::os::unix::net::UnixStream, MarkObserver<T>)>,
    input: &[u8],
    timeout: Duration,
    started: Instant,
) -> Result<(ChildOutput, Vec<T>)> {
    let pid = child.pid();
    let server = marks.map(|(ours, observer)| std::thread::spawn(move || serve(ours, pid, observer)));
    if let Some(mut stdin) = pipes.stdin {
        // A child that dies at once closes its stdin; its exit status tells why.
        let _ = stdin.write_all(input);
    }
    let Pipes { mut stdout, mut stderr, .. } = pipes;
    let (closed, stdout_closed) = std::sync::mpsc::channel::<()>();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        let _ = closed.send(());
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut timed_out = false;
    let mut interrupted = false;
    let mut exiting = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            child.kill();
            break child.wait()?;
        }
        if crate::interrupt::interrupted() {
            // Ctrl-C reaches the whole process group from a terminal; a plain SIGINT or
            // SIGTERM to the runner alone must stop its step too.
            interrupted = true;
            child.kill();
            break child.wait()?;
        }
        if exiting {
            std::thread::sleep(Duration::from_millis(5));
        } else {
            // Sleep until the child's stdout closes, which it does as it exits, rather than
            // waking every few milliseconds to ask: a runner polling on the other core made
            // the step's microsecond timings slower and noisier (open + first element,
            // medians of 7 rounds: 28-29 µs with this wait, 30-42 µs with a 5 ms poll).
            // Wake now and then for the timeout and for Ctrl-C.
            let slice = timeout.saturating_sub(started.elapsed()).min(Duration::from_millis(200));
            match stdout_closed.recv_timeout(slice) {
                Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => exiting = true,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let marks = server.map(|s| s.join().unwrap_or_default()).unwrap_or_default();
    // A child that ended on its own while Ctrl-C reached the whole group (Python turns it
    // into KeyboardInterrupt and exit status 1) was interrupted too.
    let interrupted = interrupted || (!status.success() && crate::interrupt::interrupted());
    Ok((ChildOutput { status, stdout, stderr, timed_out, interrupted, wall: started.elapsed() }, marks))
}

/// Reads marks until every holder of the child's end has closed it; observes and answers each.
fn serve<T>(stream: std::os::unix::net::UnixStream, pid: i32, mut observer: MarkObserver<T>) -> Vec<T> {
    let mut answers = Vec::new();
    let Ok(mut reply) = stream.try_clone() else { return answers };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        answers.push(observer(line.trim(), pid));
        if reply.write_all(b"\n").is_err() {
            break;
        }
    }
    answers
}

/// Why a child gave no usable answer: crashed (with its signal) or failed (with the last
/// lines it wrote on stderr).
pub struct Failure {
    /// `Crashed` for a signal, `Error` otherwise.
    pub status: Status,
    /// The signal, if one ended it.
    pub signal: Option<i32>,
    /// What happened, in words.
    pub error: String,
    /// Whether it was stopped by an interruption of mmap-lab, not by a fault of its own.
    pub interrupted: bool,
}

/// How a step or peer stopped by Ctrl-C (or SIGTERM to mmap-lab) is described.
pub const INTERRUPTED: &str = "interrupted: mmap-lab was stopped (SIGINT or SIGTERM) while this ran, so it did not finish; this is not a crash";

impl ChildOutput {
    /// The failure this output shows (call it when the answer could not be used).
    pub fn failure(&self, what: &str, timeout: Duration) -> Failure {
        use std::os::unix::process::ExitStatusExt;
        let stderr = String::from_utf8_lossy(&self.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
        let said = if tail.is_empty() { String::new() } else { format!("; it said: {}", tail.join(" / ")) };
        if self.interrupted && !self.timed_out {
            return Failure {
                status: Status::Crashed,
                signal: self.status.signal(),
                error: INTERRUPTED.to_owned(),
                interrupted: true,
            };
        }
        match self.status.signal() {
            Some(signal) => Failure {
                status: Status::Crashed,
                signal: Some(signal),
                error: format!("{}{said}", describe_signal(signal, self.timed_out, timeout)),
                interrupted: matches!(signal, libc::SIGINT | libc::SIGTERM) && !self.timed_out,
            },
            None => Failure {
                status: Status::Error,
                signal: None,
                interrupted: false,
                error: format!(
                    "{what} exited with {} without a result: {}",
                    self.status,
                    if tail.is_empty() { "no message".to_owned() } else { tail.join(" / ") }
                ),
            },
        }
    }
}

/// What a signal means for a step, in words.
pub fn describe_signal(signal: i32, timed_out: bool, timeout: Duration) -> String {
    match signal {
        _ if timed_out => format!("killed after the step timeout of {} s", timeout.as_secs()),
        libc::SIGINT | libc::SIGTERM => format!("interrupted (signal {signal}) before it finished"),
        _ => {
            let why = match signal {
                libc::SIGBUS => {
                    ": the file changed under the mapping; it was truncated while mapped, and a page past its new end has no data to give"
                }
                libc::SIGKILL => {
                    ": most likely the out-of-memory killer; the step needed more memory than the machine had"
                }
                libc::SIGSEGV => ": an invalid memory access",
                libc::SIGABRT => ": it aborted",
                _ => "",
            };
            match signal_name(signal) {
                name if name.starts_with("SIG") => format!("killed by {name} (signal {signal}){why}"),
                _ => format!("killed by signal {signal}{why}"),
            }
        }
    }
}

/// A signal's name: `SIGKILL`, or `signal 42` for one without a common name (the one
/// spelling for steps, `measure` and the labs).
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}
