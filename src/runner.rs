//! The runner: every step in a fresh child process (this binary, re-executed), so each
//! baseline is clean and a crash ends one step, not the run.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cache::{self, CacheState};
use crate::dataset::Dataset;
use crate::results::StepResult;
use crate::spec::{ExperimentSpec, Status};
use crate::step::StepPlan;

/// The hidden subcommand a child runs.
pub const STEP_COMMAND: &str = "__step";

/// How steps are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only these cache states (default: each spec's own list).
    pub caches: Option<Vec<CacheState>>,
    /// A step still running after this long is killed and recorded as crashed.
    pub step_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { caches: None, step_timeout: Duration::from_secs(600) }
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

/// Prepares the cache for one plan, runs it in a child and returns its result.
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
    Ok(result)
}

/// What a finished child left behind.
struct ChildOutput {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
    wall: Duration,
}

fn spawn_and_wait(plan: &StepPlan, timeout: Duration) -> Result<ChildOutput> {
    let exe = std::env::current_exe().context("cannot find mmap-lab's own executable to start a step")?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg(STEP_COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start a step process")?;
    let input = serde_json::to_vec(plan)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A child that dies at once closes its stdin; its exit status tells why.
        let _ = stdin.write_all(&input);
    }
    let mut stdout_pipe = child.stdout.take().context("step stdout missing")?;
    let mut stderr_pipe = child.stderr.take().context("step stderr missing")?;
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let mut timed_out = false;
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
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(ChildOutput { status, stdout, stderr, timed_out, wall: started.elapsed() })
}

/// Runs `plan` in a child process; a crash or a broken answer becomes a result, not an error.
pub fn run_child(plan: &StepPlan, timeout: Duration) -> Result<StepResult> {
    use std::os::unix::process::ExitStatusExt;
    let out = spawn_and_wait(plan, timeout)?;
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
    if let Some(signal) = out.status.signal() {
        result.status = Status::Crashed;
        result.signal = Some(signal);
        result.error = Some(describe_signal(signal, out.timed_out, timeout));
    } else {
        result.status = Status::Error;
        result.error = Some(format!(
            "the step process exited with {} without a result: {}",
            out.status,
            if tail.is_empty() { "no message".to_owned() } else { tail.join(" / ") }
        ));
    }
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
        other => format!("killed by signal {other}"),
    }
}
