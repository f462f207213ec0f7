//! The NumPy peer: every step performed a second time by NumPy itself, as the tutorial
//! writes it, so that each run proves the Rust steps behave like NumPy.
//!
//! `experiments/tutorial.py` (built into mmap-lab, run with `python -c`) gets a
//! [`PeerPlan`] as JSON on stdin, performs one step in a fresh Python process and answers
//! with a [`PeerResult`]'s fields. The runner prepares the page cache again before it, the
//! same way as for the Rust step, and [`agree::check`] compares the answers.

pub mod agree;
pub mod python;
pub mod rounds;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

pub use self::python::{PeerChoice, Python};
use crate::cache;
use crate::open::Order;
use crate::results::{PeerResult, StepResult};
use crate::runner::spawn_and_wait;
use crate::spec::{AccessSpec, Method};
use crate::step::{FIRST_VALUES, StepPlan};

/// The tutorial's steps in Python: the NumPy peer's whole program.
pub const SCRIPT: &str = include_str!("../../experiments/tutorial.py");

/// One step, as the Python script reads it: the call's keywords exactly as the spec
/// gives them (`None` ones are left out of the call, so NumPy applies its own defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerPlan {
    /// `load`, `load_mmap` or `memmap`.
    pub method: Method,
    /// The file.
    pub path: PathBuf,
    /// memmap: `dtype=`, as NumPy spells it (`float64`, `>f8`).
    pub dtype: Option<String>,
    /// memmap: `offset=`.
    pub offset: Option<u64>,
    /// memmap: `shape=`.
    pub shape: Option<Vec<usize>>,
    /// memmap: `order=` (`"C"` or `"F"`).
    pub order: Option<&'static str>,
    /// `none`, `first` or `full_pass` (`X.sum()`).
    pub access: &'static str,
    /// How many leading values to report.
    pub first_values: usize,
}

impl PeerPlan {
    /// The NumPy equivalent of `plan`, or why it has none (mapping flags NumPy does not
    /// offer, access patterns beyond the tutorial's).
    pub fn for_step(plan: &StepPlan) -> std::result::Result<PeerPlan, String> {
        let spec = &plan.spec;
        if spec.group != crate::report::view::TUTORIAL {
            return Err(format!("NumPy peers run beside the tutorial's steps, not the {} group", spec.group));
        }
        if plan.workers.is_some() || spec.open.mode != crate::spec::Mode::R {
            return Err("sharing steps and mode r+ have no single np.load or np.memmap to compare".to_owned());
        }
        if spec.open.populate || spec.open.advice.is_some() {
            return Err("populate and madvise have no np.load or np.memmap keyword".to_owned());
        }
        let access = match spec.access {
            AccessSpec::None => "none",
            AccessSpec::First => "first",
            AccessSpec::FullPass => "full_pass",
            ref other => {
                return Err(format!("the tutorial's script has no '{}' access pattern", other.name()));
            }
        };
        let mut peer = PeerPlan {
            method: spec.open.method,
            path: plan.path.clone(),
            dtype: None,
            offset: None,
            shape: None,
            order: None,
            access,
            first_values: FIRST_VALUES,
        };
        if spec.open.method == Method::Memmap {
            let o = spec.memmap_options(&plan.dataset, plan.npy_header_bytes);
            peer.dtype = spec.open.dtype.as_ref().map(|_| o.dtype.to_string());
            peer.offset = spec.open.offset.map(|_| o.offset);
            peer.shape = spec.open.shape.as_ref().and(o.shape.map(|s| s.0));
            peer.order = spec.open.order.map(|order| if order == Order::F { "F" } else { "C" });
        }
        Ok(peer)
    }
}

/// Runs the NumPy peer of `plan` after the Rust step that produced `rust`: prepares the
/// cache again, runs the script, and checks its answer against `rust`. `None` when the
/// step has no NumPy equivalent ([`PeerPlan::for_step`]).
pub fn run_beside(
    plan: &StepPlan,
    rust: &StepResult,
    python: &Python,
    timeout: Duration,
) -> Result<Option<PeerResult>> {
    let Ok(peer_plan) = PeerPlan::for_step(plan) else { return Ok(None) };
    let cache_report = cache::prepare(&plan.path, plan.cache).with_context(|| {
        format!("preparing a {} cache for the NumPy peer of {}", plan.cache.name(), plan.spec.id)
    })?;
    let mut numpy = run(python, &peer_plan, timeout)?;
    numpy.cache_report = Some(cache_report);
    if numpy.call.is_empty() {
        // No answer from the script: name the call by the spec's words.
        numpy.call.clone_from(&plan.spec.numpy_call);
    }
    agree::check(rust, &mut numpy);
    Ok(Some(numpy))
}

/// Runs the script for one step; a crash or a broken answer becomes the result's error.
pub fn run(python: &Python, plan: &PeerPlan, timeout: Duration) -> Result<PeerResult> {
    let mut command = Command::new(&python.path);
    command.args(["-c", SCRIPT]);
    let out = spawn_and_wait(command, &serde_json::to_vec(plan)?, timeout)
        .with_context(|| format!("starting the NumPy peer with {}", python.path.display()))?;
    let answer = out.status.success().then(|| serde_json::from_slice::<PeerResult>(&out.stdout));
    let mut result = match answer {
        Some(Ok(result)) => result,
        Some(Err(e)) => PeerResult {
            status: crate::spec::Status::Error,
            error: Some(format!("the NumPy peer's answer is not the JSON expected: {e}")),
            ..PeerResult::default()
        },
        None => {
            let failure = out.failure("the NumPy peer (Python)", timeout);
            PeerResult {
                status: failure.status,
                signal: failure.signal,
                error: Some(failure.error),
                ..PeerResult::default()
            }
        }
    };
    if result.python_version.is_empty() {
        result.python_version.clone_from(&python.python_version);
        result.numpy_version.clone_from(&python.numpy_version);
    }
    result.process_ns = out.wall.as_nanos() as u64;
    Ok(result)
}

/// The run's notes about the NumPy column: which Python ran it (or why none did), steps
/// without a NumPy equivalent, and every disagreement.
pub fn notes(choice: &PeerChoice, plans: &[StepPlan], steps: &[StepResult]) -> Vec<String> {
    let python = match choice {
        PeerChoice::Without(why) => return vec![format!("No NumPy column: {why}.")],
        PeerChoice::Use(python) => python,
    };
    let mut notes = vec![format!(
        "NumPy column: every step of the tutorial group run again by NumPy with {}.",
        python.describe()
    )];
    for (plan, step) in plans.iter().zip(steps) {
        // The other groups never have peers (the report says so once); only a tutorial
        // step without one needs a word.
        let tutorial = plan.spec.group == crate::report::view::TUTORIAL;
        if let (true, Err(why)) = (tutorial, PeerPlan::for_step(plan)) {
            notes.push(format!("{}: no NumPy peer: {why}.", step.key()));
        }
        if let Some(numpy) = step.peer.as_ref().filter(|p| !p.agrees) {
            notes.push(format!(
                "NumPy DISAGREES with {} ({}): {}.",
                step.key(),
                numpy.call,
                numpy.disagreements.join("; ")
            ));
        }
    }
    notes
}
