//! One step, run inside its own child process: open as the spec says, probe each phase,
//! read as the spec says, then check the result against the generator.
//!
//! The runner passes a [`StepPlan`] as JSON on stdin; the child answers with a
//! [`StepResult`] as JSON on stdout. A step that crashes (SIGBUS, out of memory) answers
//! nothing; the runner turns its signal into the result.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cache::CacheState;
use crate::dataset::DatasetSpec;
use crate::open::{self, Array};
use crate::probe::{Phase, Probe};
use crate::results::{MemoryPasses, StepResult};
use crate::spec::{AccessSpec, ExperimentSpec, Method, Mode, Status};
use crate::units::Bytes;

mod access;
mod compare;
pub mod sharing;

use self::access::read;
pub use self::access::{batch_samples, random_element_indices, sample_len_of};
use self::compare::{matches_original, original_at_element, preview};

/// Number of leading elements recorded in `first_values`.
pub const FIRST_VALUES: usize = 24;

/// Everything a child needs to run one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepPlan {
    /// The experiment.
    pub spec: ExperimentSpec,
    /// The cache state prepared for it.
    pub cache: CacheState,
    /// The file it opens.
    pub path: PathBuf,
    /// The dataset the file holds (for correctness checks).
    pub dataset: DatasetSpec,
    /// Length of the dataset's .npy header.
    pub npy_header_bytes: Bytes,
    /// For a sharing step: how many worker processes read the array at once.
    #[serde(default)]
    pub workers: Option<u32>,
    /// For the in-memory reference step: the spans (bytes from the start) to time passes
    /// over after its own, one for each size of warm pass in the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_spans: Vec<Bytes>,
    /// Data files the runner drops from the page cache just before this step: no later step
    /// reads them, and the step needs fresh memory ([`crate::runner::memory`]). The runner's
    /// business only: never sent to the step's process.
    #[serde(skip)]
    pub release_before: Vec<PathBuf>,
}

impl StepPlan {
    /// Which kind of step this plan runs: sharing when it names a worker count.
    pub fn kind(&self) -> StepKind {
        match self.workers {
            Some(workers) => StepKind::Sharing { workers },
            None => StepKind::Single,
        }
    }

    /// How the step opens its file, in words: `memmap(dtype=float64, offset=0, shape=None)`.
    pub fn open_description(&self) -> String {
        let policy = self.spec.policy();
        let mut extra = String::new();
        if policy.populate {
            extra.push_str(", populate");
        }
        if let Some(advice) = policy.advice {
            extra.push_str(&format!(", advice={advice:?}"));
        }
        match self.spec.open.method {
            Method::Load => "load".to_owned(),
            Method::LoadMmap => format!(
                "load_mmap{}",
                if extra.is_empty() { String::new() } else { format!("({})", &extra[2..]) }
            ),
            Method::Library => {
                self.spec.file.format().map_or("library".to_owned(), |f| f.rust_call().to_owned())
            }
            Method::Memmap => {
                let o = self.spec.memmap_options(&self.dataset, self.npy_header_bytes);
                let shape = o.shape.map_or("None".to_owned(), |s| s.python());
                format!("memmap(dtype={}, offset={}, shape={shape}{extra})", o.dtype, o.offset)
            }
        }
    }

    /// The id in results: the spec's, with `_k{workers}` for a sharing step.
    pub fn result_id(&self) -> String {
        match self.workers {
            Some(k) => format!("{}_k{k}", self.spec.id),
            None => self.spec.id.clone(),
        }
    }

    /// A result with the plan's identity and nothing measured yet.
    pub fn empty_result(&self) -> StepResult {
        StepResult {
            id: self.result_id(),
            title: self.spec.title.clone(),
            group: self.spec.group.clone(),
            numpy_call: self.spec.numpy_call.clone(),
            file: self.spec.file,
            open: self.open_description(),
            access: self.spec.access.name().to_owned(),
            cache: self.cache,
            cache_report: None,
            status: Status::Ok,
            expected_status: self.spec.expect,
            error: None,
            signal: None,
            shape: None,
            dtype: None,
            first_values: Vec::new(),
            matches_original: None,
            original_at_element: None,
            object_bytes: None,
            sum: None,
            elements_read: None,
            bytes_touched: None,
            snapshots: Vec::new(),
            batches: None,
            preview: None,
            trace: None,
            workers: None,
            file_bytes_before: None,
            file_bytes_after: None,
            process_ns: 0,
            peer: None,
            rounds: Vec::new(),
            timing: None,
            memory_passes: Vec::new(),
        }
    }
}

/// What every kind of step starts with, in its own process: its code paged in, the clock,
/// an empty result and the `before_open` baseline.
struct Begun {
    started: Instant,
    probe: Probe,
    result: StepResult,
}

fn begin(plan: &StepPlan) -> Result<Begun> {
    let started = Instant::now();
    crate::probe::page_in_code();
    let mut result = plan.empty_result();
    // Room for every snapshot now: growing the vector between phases would be timed.
    result.snapshots.reserve(Phase::ALL.len());
    let mut probe = Probe::new()?;
    probe.restart();
    result.snapshots.push(probe.snapshot(Phase::BeforeOpen)?);
    Ok(Begun { started, probe, result })
}

/// The kinds of step, each run by a child command of its own, which the runner chooses
/// ([`StepPlan::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// One process opens the array and reads it ([`run`], `mmap-lab __step`).
    Single,
    /// A process starts K workers that each open and read it, measured together while
    /// all are alive ([`run_sharing`], `mmap-lab __sharing`).
    Sharing {
        /// How many workers.
        workers: u32,
    },
}

impl StepKind {
    /// The hidden subcommand that runs a step of this kind.
    pub fn command(self) -> &'static str {
        match self {
            StepKind::Single => "__step",
            StepKind::Sharing { .. } => "__sharing",
        }
    }
}

/// Runs a sharing step in this process, its workers in theirs ([`sharing`]).
pub fn run_sharing(plan: &StepPlan) -> Result<StepResult> {
    let Begun { started, probe, result } = begin(plan)?;
    sharing::coordinate(plan, probe, result, started)
}

/// Runs the step in this process and returns its result. Errors of the step itself
/// (a refused mapping) are part of the result; `Err` means the probe itself failed.
pub fn run(plan: &StepPlan) -> Result<StepResult> {
    let Begun { started, mut probe, mut result } = begin(plan)?;
    let array = match open_array(plan) {
        Ok(array) => array,
        Err(e) => {
            result.status = Status::Error;
            result.error = Some(e.to_string());
            result.process_ns = started.elapsed().as_nanos() as u64;
            return Ok(result);
        }
    };
    result.snapshots.push(probe.snapshot(Phase::AfterOpen)?);

    if plan.spec.access != AccessSpec::None && !array.is_empty() {
        black_box(array.get(0));
        result.snapshots.push(probe.snapshot(Phase::AfterFirst)?);
    }
    if !matches!(plan.spec.access, AccessSpec::None | AccessSpec::First) {
        let access = read(&array, &plan.spec.access, &plan.path, &mut probe)?;
        result.snapshots.push(probe.snapshot(Phase::AfterAccess)?);
        result.sum = access.sum;
        result.elements_read = Some(access.elements);
        result.bytes_touched = Some(access.bytes_touched);
        result.batches = access.batches;
        result.trace = access.trace;
    }

    // Checks come after the last snapshot: what they read is not measured.
    if is_memory_reference(plan) && result.sum.is_some() {
        result.memory_passes = memory_passes(&array, &plan.memory_spans);
    }
    result.object_bytes = Some(array.object_bytes());
    result.shape = Some(array.shape().clone());
    result.dtype = Some(array.dtype());
    result.first_values = array.first_values(FIRST_VALUES);
    result.original_at_element = original_at_element(&array, &plan.dataset);
    result.matches_original = Some(matches_original(&array, &plan.dataset));
    let first_state = plan.cache == CacheState::Warm || !plan.spec.cache.contains(&CacheState::Warm);
    if first_state && plan.spec.group == crate::spec::TUTORIAL {
        result.preview = preview(&array, &plan.dataset);
    }
    result.process_ns = started.elapsed().as_nanos() as u64;
    Ok(result)
}

/// Passes over the loaded array timed after the step's own, for the limit of warm passes.
pub const MEMORY_PASSES: usize = 5;

/// Whether `plan` loads the whole array into memory and sums it, warm: the step whose array
/// the run's in-memory reference passes read ([`crate::report::limits`]).
pub fn is_memory_reference(plan: &StepPlan) -> bool {
    plan.spec.open.method == Method::Load
        && plan.spec.access == AccessSpec::FullPass
        && plan.cache == CacheState::Warm
        && plan.workers.is_none()
}

/// [`MEMORY_PASSES`] more passes over the first bytes of an array in the process's own
/// memory, for each span (the whole array when none is given), each timed: the same loop
/// as every step's, over memory no page fault stands in front of.
fn memory_passes(array: &Array, spans: &[Bytes]) -> Vec<MemoryPasses> {
    let bytes = array.bytes();
    let whole = [bytes.len() as Bytes];
    let spans = if spans.is_empty() { &whole[..] } else { spans };
    spans
        .iter()
        .map(|&span| {
            let part = &bytes[..(span as usize).min(bytes.len())];
            let passes_ns = (0..MEMORY_PASSES)
                .map(|_| {
                    let t = Instant::now();
                    black_box(crate::kernels::sum_bytes(array.dtype(), black_box(part)));
                    t.elapsed().as_nanos() as crate::units::Nanos
                })
                .collect();
            MemoryPasses { bytes: part.len() as Bytes, passes_ns }
        })
        .collect()
}

/// Opens the plan's file the way its spec says (`load`, `load_mmap` or `memmap`, with the
/// spec's mapping policy): the call every step starts with, and what `check` times.
pub fn open_array(plan: &StepPlan) -> Result<Array, open::OpenError> {
    match plan.spec.open.method {
        Method::Load => open::load(&plan.path),
        Method::LoadMmap => open::load_mmap_with(&plan.path, plan.spec.policy()),
        Method::Library => match plan.spec.file.format() {
            Some(format) => crate::formats::open(&plan.path, format),
            None => open::load(&plan.path),
        },
        Method::Memmap => {
            let options = plan.spec.memmap_options(&plan.dataset, plan.npy_header_bytes);
            match plan.spec.open.mode {
                Mode::R => open::memmap_with(&plan.path, &options, plan.spec.policy()),
                Mode::RPlus => open::memmap_rplus(&plan.path, &options),
            }
        }
    }
}

#[cfg(test)]
mod tests;
