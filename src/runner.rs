//! The runner: every step in a fresh child process (this binary, re-executed), so each
//! baseline is clean and a crash ends one step, not the run.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cache::{self, CacheState};
use crate::child::spawn_marked;
pub use crate::child::{INTERRUPTED, describe_signal};
use crate::dataset::Dataset;
use crate::peer::PeerChoice;
use crate::results::StepResult;
use crate::spec::ExperimentSpec;
use crate::step::StepPlan;

pub use crate::child::DEFAULT_STEP_TIMEOUT;

pub mod rounds;

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
    /// ([`crate::runner::rounds`]); 1 runs no extra round.
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

/// Runs `plan` in a child process, reading it from outside at each phase it marks
/// ([`crate::child::outside`]); a crash or a broken answer becomes a result, not an error.
pub fn run_child(plan: &StepPlan, timeout: Duration) -> Result<StepResult> {
    let exe = std::env::current_exe().context("cannot find mmap-lab's own executable to start a step")?;
    let mut command = Command::new(exe);
    command.arg(STEP_COMMAND);
    let observer = crate::child::outside::observer(&plan.path);
    let (out, samples) = spawn_marked(command, &serde_json::to_vec(plan)?, timeout, Some(observer))?;
    if out.status.success() {
        if let Ok(mut result) = serde_json::from_slice::<StepResult>(&out.stdout) {
            if result.process_ns == 0 {
                result.process_ns = out.wall.as_nanos() as u64;
            }
            crate::child::outside::fill(
                crate::child::outside::Filled {
                    snapshots: &mut result.snapshots,
                    trace: result.trace.as_mut(),
                    batches: result.batches.as_mut(),
                    workers: result.workers.as_mut(),
                },
                &samples,
            );
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
