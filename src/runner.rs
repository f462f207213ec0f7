//! The runner: every step in a fresh child process (this binary, re-executed), so each
//! baseline is clean and a crash ends one step, not the run.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cache::{self, CacheState};
use crate::dataset::Dataset;
use crate::peer::PeerChoice;
use crate::results::StepResult;
use crate::spec::{ExperimentSpec, Status};
use crate::step::StepPlan;

/// A step still running after this long is killed and recorded as crashed.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);

/// The hidden subcommand a child runs.
pub const STEP_COMMAND: &str = "__step";

/// How steps are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only these cache states (default: each spec's own list).
    pub caches: Option<Vec<CacheState>>,
    /// A step still running after this long is killed and recorded as crashed.
    pub step_timeout: Duration,
    /// Whether each step's NumPy peer runs beside it, and with which Python.
    pub numpy: PeerChoice,
    /// Rounds of the headline comparison with NumPy, the step's own run included
    /// ([`crate::peer::rounds`]); 1 runs no extra round.
    pub rounds: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            caches: None,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            numpy: PeerChoice::default(),
            rounds: 1,
        }
    }
}

/// One plan per spec and cache state: warm steps first, then cold, each in spec order,
/// so that the file is read from disk once for all warm steps.
pub fn plan(specs: &[ExperimentSpec], dataset: &Dataset, options: &RunOptions) -> Vec<StepPlan> {
    let mut plans = Vec::new();
    for state in [CacheState::Warm, CacheState::Cold] {
        for spec in specs {
            let wanted = options.caches.as_ref().is_none_or(|c| c.contains(&state));
            if !(wanted && spec.cache.contains(&state)) {
                continue;
            }
            let counts: Vec<Option<u32>> = match &spec.workers {
                Some(ks) => ks.iter().map(|&k| Some(k)).collect(),
                None => vec![None],
            };
            for workers in counts {
                plans.push(StepPlan {
                    spec: spec.clone(),
                    cache: state,
                    path: dataset.dir.join(spec.file.file_name()),
                    dataset: dataset.spec(),
                    npy_header_bytes: dataset.manifest.npy_header_bytes,
                    workers,
                });
            }
        }
    }
    plans
}

/// Runs `plans` one by one, calling `report` after each. Stops early, returning
/// `complete = false`, when the run is interrupted (Ctrl-C).
pub fn run_steps(
    plans: &[StepPlan],
    options: &RunOptions,
    mut report: impl FnMut(usize, &StepResult),
) -> Result<(Vec<StepResult>, bool)> {
    let mut results = Vec::with_capacity(plans.len());
    for (i, plan) in plans.iter().enumerate() {
        if crate::interrupt::interrupted() {
            return Ok((results, false));
        }
        let result = run_one(plan, options)?;
        report(i, &result);
        results.push(result);
    }
    Ok((results, !crate::interrupt::interrupted()))
}

/// Prepares the cache for one plan, runs it in a child and returns its result, with its
/// NumPy peer's when one runs (the cache is prepared again for it).
pub fn run_one(plan: &StepPlan, options: &RunOptions) -> Result<StepResult> {
    if let (Some(piece), Some(source)) = (plan.spec.file.rewrite_piece(), plan.spec.file.source_name()) {
        crate::dataset::write_copy(&plan.path.with_file_name(source), &plan.path, piece)
            .with_context(|| format!("writing the copy {} for step {}", plan.path.display(), plan.spec.id))?;
    }
    let size = || std::fs::metadata(&plan.path).ok().map(|m| m.len());
    let before = size();
    let cache_report = cache::prepare(&plan.path, plan.cache)
        .with_context(|| format!("preparing a {} cache for step {}", plan.cache.name(), plan.spec.id))?;
    let mut result = run_child(plan, options.step_timeout)?;
    result.cache_report = Some(cache_report);
    result.file_bytes_before = before;
    result.file_bytes_after = size();
    if let PeerChoice::Use(python) = &options.numpy {
        result.peer = crate::peer::run_beside(plan, &result, python, options.step_timeout)?;
    }
    Ok(result)
}

/// What a finished child left behind.
pub(crate) struct ChildOutput {
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
pub(crate) fn spawn_and_wait(mut command: Command, input: &[u8], timeout: Duration) -> Result<ChildOutput> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A child that dies at once closes its stdin; its exit status tells why.
        let _ = stdin.write_all(input);
    }
    let mut stdout_pipe = child.stdout.take().context("child stdout missing")?;
    let mut stderr_pipe = child.stderr.take().context("child stderr missing")?;
    let (closed, stdout_closed) = std::sync::mpsc::channel::<()>();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        let _ = closed.send(());
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
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
            let _ = child.kill();
            break child.wait()?;
        }
        if crate::interrupt::interrupted() {
            // Ctrl-C reaches the whole process group from a terminal; a plain SIGINT or
            // SIGTERM to the runner alone must stop its step too.
            interrupted = true;
            let _ = child.kill();
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
    // A child that ended on its own while Ctrl-C reached the whole group (Python turns it
    // into KeyboardInterrupt and exit status 1) was interrupted too.
    let interrupted = interrupted || (!status.success() && crate::interrupt::interrupted());
    Ok(ChildOutput { status, stdout, stderr, timed_out, interrupted, wall: started.elapsed() })
}

/// Why a child gave no usable answer: crashed (with its signal) or failed (with the last
/// lines it wrote on stderr).
pub(crate) struct Failure {
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
    pub(crate) fn failure(&self, what: &str, timeout: Duration) -> Failure {
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

/// Runs `plan` in a child process; a crash or a broken answer becomes a result, not an error.
pub fn run_child(plan: &StepPlan, timeout: Duration) -> Result<StepResult> {
    let exe = std::env::current_exe().context("cannot find mmap-lab's own executable to start a step")?;
    let mut command = Command::new(exe);
    command.arg(STEP_COMMAND);
    let out = spawn_and_wait(command, &serde_json::to_vec(plan)?, timeout)?;
    if out.status.success() {
        if let Ok(mut result) = serde_json::from_slice::<StepResult>(&out.stdout) {
            if result.process_ns == 0 {
                result.process_ns = out.wall.as_nanos() as u64;
            }
            return Ok(result);
        }
    }
    let mut result = plan.empty_result();
    result.process_ns = out.wall.as_nanos() as u64;
    let failure = out.failure("the step process", timeout);
    result.status = failure.status;
    result.signal = failure.signal;
    result.error = Some(failure.error);
    Ok(result)
}

/// What a signal means for a step, in words.
pub fn describe_signal(signal: i32, timed_out: bool, timeout: Duration) -> String {
    match signal {
        _ if timed_out => format!("killed after the step timeout of {} s", timeout.as_secs()),
        libc::SIGBUS => "killed by SIGBUS (signal 7): the file changed under the mapping; it was truncated while mapped, and a page past its new end has no data to give".to_owned(),
        libc::SIGKILL => "killed by SIGKILL (signal 9): most likely the out-of-memory killer; the step needed more memory than the machine had".to_owned(),
        libc::SIGSEGV => "killed by SIGSEGV (signal 11): an invalid memory access".to_owned(),
        libc::SIGINT | libc::SIGTERM => format!("interrupted (signal {signal}) before it finished"),
        libc::SIGABRT => "killed by SIGABRT (signal 6): it aborted".to_owned(),
        other => format!("killed by signal {other}"),
    }
}
