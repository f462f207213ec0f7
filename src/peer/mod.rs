//! The NumPy peer: every step performed a second time by NumPy itself, as the tutorial
//! writes it (and, beyond the tutorial, reading the very positions the Rust step reads),
//! so that each run proves the Rust steps behave like NumPy.
//!
//! `experiments/tutorial.py` (built into mmap-lab, run with `python -c`) gets a
//! [`PeerPlan`] as JSON on stdin, performs one step in a Python process of its own (forked
//! from the fork server, [`server`], or a fresh interpreter) and answers with a
//! [`PeerResult`]'s fields. The runner prepares the page cache again before it, the
//! same way as for the Rust step, and [`agree::check`] compares the answers.

pub mod agree;
pub mod python;
pub mod server;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

pub use self::python::{PeerChoice, Python};
use crate::cache;
use crate::child::spawn_marked;
use crate::open::Order;
use crate::results::{PeerResult, StepResult};
use crate::shape::Shape;
use crate::spec::{AccessSpec, Method};
use crate::step::{FIRST_VALUES, StepPlan};

/// The tutorial's steps in Python: the NumPy peer's whole program.
pub const SCRIPT: &str = include_str!("../../experiments/tutorial.py");

/// One step, as the Python script reads it: the call's keywords exactly as the spec
/// gives them (`None` ones are left out of the call, so NumPy applies its own defaults),
/// and what to read, with the very indices the Rust step reads.
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
    pub order: Option<Order>,
    /// `X._mmap.madvise(mmap.<this>)` right after opening (`MADV_RANDOM`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<&'static str>,
    /// Map with `MAP_POPULATE` (np.load's header, then `mmap.mmap(..., flags=MAP_SHARED |
    /// MAP_POPULATE)` under an ndarray: NumPy has no keyword for it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub populate: bool,
    /// What to read after opening.
    pub access: PeerAccess,
    /// How many leading values to report.
    pub first_values: usize,
    /// first_n: the samples asked for (for the call's text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// first_n: elements summed from the start, in memory order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// channel: which one, and how many there are (the stride in elements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<u64>,
    /// channel: the number of channels (the last axis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u64>,
    /// random_elements: the flat indices, as the Rust step draws them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indices: Option<Vec<u64>>,
    /// random_batches: the samples of each batch, as the Rust step draws them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<Vec<Vec<u64>>>,
    /// sharing: this many fresh Python worker processes, each opening the array and making
    /// a full pass, measured together while all are alive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
}

/// What the NumPy peer reads after opening, as `tutorial.py` names it (`"full_pass"`, ...):
/// the access patterns of [`AccessSpec`] that the script knows, their parameters in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerAccess {
    /// Nothing.
    None,
    /// The first element.
    First,
    /// `X.sum()`.
    FullPass,
    /// The first `count` elements in memory order.
    FirstN,
    /// One channel of every image.
    Channel,
    /// Values at the plan's flat `indices`.
    RandomElements,
    /// The plan's `batches` of samples.
    RandomBatches,
}

impl PeerPlan {
    /// The NumPy equivalent of `plan`, or why it has none (sharing steps, `r+` on scratch
    /// copies, passes that truncate the file or trace memory along the way).
    pub fn for_step(plan: &StepPlan) -> std::result::Result<PeerPlan, String> {
        let spec = &plan.spec;
        if plan.workers.is_some()
            && !(matches!(spec.open.method, Method::LoadMmap | Method::Load)
                && spec.access == AccessSpec::FullPass)
        {
            return Err("NumPy's sharing workers run np.load, mapped or not, and a full pass only".to_owned());
        }
        if spec.open.mode != crate::spec::Mode::R {
            return Err("mode r+ writes to a scratch copy; the NumPy column only reads".to_owned());
        }
        if spec.open.populate && spec.open.method != Method::LoadMmap {
            return Err("MAP_POPULATE is compared for np.load's mapping only".to_owned());
        }
        let access = match spec.access {
            AccessSpec::None => PeerAccess::None,
            AccessSpec::First => PeerAccess::First,
            AccessSpec::FullPass => PeerAccess::FullPass,
            AccessSpec::FirstN { .. } => PeerAccess::FirstN,
            AccessSpec::Channel { .. } => PeerAccess::Channel,
            AccessSpec::RandomElements { .. } => PeerAccess::RandomElements,
            AccessSpec::RandomBatches { .. } => PeerAccess::RandomBatches,
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
            advice: spec.open.advice.map(crate::open::Advice::python),
            populate: spec.open.populate,
            access,
            first_values: FIRST_VALUES,
            samples: None,
            count: None,
            channel: None,
            channels: None,
            indices: None,
            batches: None,
            workers: plan.workers,
        };
        if spec.open.method == Method::Memmap {
            let o = spec.memmap_options(&plan.dataset, plan.npy_header_bytes);
            peer.dtype = spec.open.dtype.as_ref().map(|_| o.dtype.to_string());
            peer.offset = spec.open.offset.map(|_| o.offset);
            peer.shape = spec.open.shape.as_ref().and(o.shape.map(|s| s.0));
            peer.order = spec.open.order;
        }
        Ok(peer)
    }

    /// Fills in what the access pattern reads, for an array of `shape` (the one the Rust
    /// step opened), exactly as the Rust step reads it.
    pub fn with_pattern(mut self, access: &AccessSpec, shape: &Shape) -> PeerPlan {
        let len = shape.len();
        let per = shape.sample_len();
        match *access {
            AccessSpec::FirstN { samples, .. } => {
                self.samples = Some(samples);
                self.count = Some(samples.saturating_mul(per).min(len));
            }
            AccessSpec::Channel { channel } => {
                let channels = shape.0.last().map_or(1, |&c| c as u64).max(1);
                self.channel = Some(channel.min(channels - 1));
                self.channels = Some(channels);
            }
            AccessSpec::RandomElements { count, seed } => {
                self.indices = Some(crate::step::random_element_indices(len, count, seed));
            }
            AccessSpec::RandomBatches { batch_size, batches, seed } => {
                let samples = len / per.max(1);
                self.batches = Some(crate::step::batch_samples(samples, batch_size, batches, seed));
            }
            _ => {}
        }
        self
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
    let Ok(mut peer_plan) = PeerPlan::for_step(plan) else { return Ok(None) };
    if let Some(shape) = &rust.shape {
        peer_plan = peer_plan.with_pattern(&plan.spec.access, shape);
    }
    let mut numpy = prepare_and_run(plan, &peer_plan, python, timeout)?;
    agree::check(rust, &mut numpy);
    Ok(Some(numpy))
}

/// Prepares the cache for `plan` and runs its NumPy peer, not yet checked against Rust. The
/// peer is forked from the fork server when one runs ([`server`]; started here, before the
/// cache is prepared, so that starting it never disturbs what was prepared); when the server
/// stops answering while it runs a peer, the cache is prepared again and the peer runs in a
/// fresh interpreter.
pub fn prepare_and_run(
    plan: &StepPlan,
    peer_plan: &PeerPlan,
    python: &Python,
    timeout: Duration,
) -> Result<PeerResult> {
    let prepare = || {
        cache::prepare(&plan.path, plan.cache).with_context(|| {
            format!("preparing a {} cache for the NumPy peer of {}", plan.cache.name(), plan.spec.id)
        })
    };
    let forked = server::start(python);
    let mut cache_report = prepare()?;
    let mut numpy = match run_as(python, peer_plan, timeout, forked) {
        Err(e)
            if e.root_cause().downcast_ref::<server::ServerLost>().is_some()
                && !crate::interrupt::interrupted() =>
        {
            cache_report = prepare()?;
            run_as(python, peer_plan, timeout, false)?
        }
        other => other?,
    };
    numpy.cache_report = Some(cache_report);
    if numpy.call.is_empty() {
        // No answer from the script: name the call by the spec's words.
        numpy.call.clone_from(&plan.spec.numpy_call);
    }
    Ok(numpy)
}

/// Runs the script for one step in a fresh interpreter; a crash or a broken answer becomes
/// the result's error.
pub fn run(python: &Python, plan: &PeerPlan, timeout: Duration) -> Result<PeerResult> {
    run_as(python, plan, timeout, false)
}

/// [`run`], in a process forked from the fork server when `forked` and one is ready (an
/// error whose root is [`server::ServerLost`] when it stopped answering).
fn run_as(python: &Python, plan: &PeerPlan, timeout: Duration, forked: bool) -> Result<PeerResult> {
    let input = serde_json::to_vec(plan)?;
    let observer = || crate::child::outside::observer(&plan.path);
    let launched = if forked { server::run(python, &input, timeout, observer()) } else { None };
    let forked = launched.is_some();
    let (out, samples) = match launched {
        Some(outcome) => outcome?,
        None => {
            let mut command = Command::new(&python.path);
            command.args(["-c", SCRIPT]);
            spawn_marked(command, &input, timeout, Some(observer()))
                .with_context(|| format!("starting the NumPy peer with {}", python.path.display()))?
        }
    };
    let answer = out.status.success().then(|| serde_json::from_slice::<PeerResult>(&out.stdout));
    let mut result = match answer {
        Some(Ok(mut result)) => {
            // The same probe as the Rust step's, from outside, at the script's marks.
            crate::child::outside::fill(
                crate::child::outside::Filled {
                    snapshots: &mut result.snapshots,
                    trace: None,
                    batches: result.batches.as_mut(),
                    workers: result.workers.as_mut(),
                },
                &samples,
            );
            result
        }
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
                interrupted: failure.interrupted,
                ..PeerResult::default()
            }
        }
    };
    if result.python_version.is_empty() {
        result.python_version.clone_from(&python.python_version);
        result.numpy_version.clone_from(&python.numpy_version);
    }
    result.process_ns = out.wall.as_nanos() as u64;
    result.forked = forked;
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
        "NumPy column: every step with a NumPy equivalent run again by NumPy with {}.",
        python::python_for_report(python)
    )];
    notes.extend(server::note());
    for (plan, step) in plans.iter().zip(steps) {
        if let Err(why) = PeerPlan::for_step(plan) {
            notes.push(format!("{}: no NumPy peer: {why}.", step.key()));
        }
        if step.peer.as_ref().is_some_and(|p| p.interrupted) {
            notes.push(format!(
                "NumPy was interrupted while it ran {}: no verdict for this step.",
                step.key()
            ));
        } else if let Some(numpy) = step.peer.as_ref().filter(|p| !p.agrees) {
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
