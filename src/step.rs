//! One step, run inside its own child process: open as the spec says, probe each phase,
//! read as the spec says, then check the result against the generator.
//!
//! The runner passes a [`StepPlan`] as JSON on stdin; the child answers with a
//! [`StepResult`] as JSON on stdout. A step that crashes (SIGBUS, out of memory) answers
//! nothing; the runner turns its signal into the result.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::cache::CacheState;
use crate::dataset::DatasetSpec;
use crate::dataset::image::{SampleLayout, sample_values};
use crate::open::{self, Array};
use crate::probe::{Phase, Probe};
use crate::results::{BatchStats, Preview, StepResult, TracePoint};
use crate::shape::Shape;
use crate::spec::{AccessSpec, ExperimentSpec, Method, Mode, Status};
use crate::units::Bytes;

/// Number of leading elements recorded in `first_values`.
pub const FIRST_VALUES: usize = 24;
/// Samples compared with the generator, beyond the first and the last.
const CHECKED_SAMPLES: usize = 6;
/// How far into the array `original_at_element` looks.
const SHIFT_SEARCH: u64 = 64;

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
}

impl StepPlan {
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
        }
    }
}

/// What an access pattern read.
#[derive(Debug, Default)]
struct Access {
    sum: Option<f64>,
    elements: u64,
    bytes_touched: Bytes,
    batches: Option<BatchStats>,
    trace: Option<Vec<TracePoint>>,
}

/// Runs the step in this process and returns its result. Errors of the step itself
/// (a refused mapping) are part of the result; `Err` means the probe itself failed.
pub fn run(plan: &StepPlan) -> Result<StepResult> {
    let started = Instant::now();
    crate::probe::page_in_code();
    let mut result = plan.empty_result();
    // Room for every snapshot now: growing the vector between phases would be timed.
    result.snapshots.reserve(Phase::ALL.len());
    let mut probe = Probe::new()?;
    probe.restart();
    result.snapshots.push(probe.snapshot(Phase::BeforeOpen)?);

    if plan.workers.is_some() {
        return crate::sharing::coordinate(plan, probe, result, started);
    }
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
    result.object_bytes = Some(array.object_bytes());
    result.shape = Some(array.shape().clone());
    result.dtype = Some(array.dtype());
    result.first_values = array.first_values(FIRST_VALUES);
    result.original_at_element = original_at_element(&array, &plan.dataset);
    result.matches_original = Some(matches_original(&array, &plan.dataset));
    let first_state = plan.cache == CacheState::Warm || !plan.spec.cache.contains(&CacheState::Warm);
    if first_state && plan.spec.group == crate::report::view::TUTORIAL {
        result.preview = preview(&array, &plan.dataset);
    }
    result.process_ns = started.elapsed().as_nanos() as u64;
    Ok(result)
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

/// Elements per sample (the first axis), or all elements for a 1-D array.
fn sample_len(array: &Array) -> u64 {
    sample_len_of(array.shape())
}

/// Runs the access pattern; the result feeds the `after_access` snapshot.
fn read(array: &Array, access: &AccessSpec, path: &Path, probe: &mut Probe) -> Result<Access> {
    let item = array.dtype().itemsize();
    Ok(match access {
        AccessSpec::None | AccessSpec::First => Access::default(),
        AccessSpec::FullPass => Access {
            sum: Some(black_box(array.sum())),
            elements: array.len(),
            bytes_touched: array.len() * item,
            ..Access::default()
        },
        AccessSpec::TrackedPass { points } => tracked_pass(array, *points, probe)?,
        AccessSpec::ShrinkThenPass { keep_percent } => {
            shrink(path, *keep_percent)?;
            // Past the new end there is no data to map: this pass dies of SIGBUS.
            Access {
                sum: Some(black_box(array.sum())),
                elements: array.len(),
                bytes_touched: array.len() * item,
                ..Access::default()
            }
        }
        AccessSpec::FirstN { samples, .. } => {
            let per = sample_len(array);
            let count = (samples * per).min(array.len());
            let bytes = &array.bytes()[..(count * item) as usize];
            Access {
                sum: Some(black_box(crate::kernels::sum_bytes(array.dtype(), bytes))),
                elements: count,
                bytes_touched: count * item,
                ..Access::default()
            }
        }
        AccessSpec::Channel { channel } => {
            let channels = array.shape().0.last().copied().unwrap_or(1) as u64;
            let c = (*channel).min(channels.saturating_sub(1));
            let (sum, count) =
                crate::kernels::sum_strided(array.dtype(), array.bytes(), c as usize, channels as usize);
            Access {
                sum: Some(black_box(sum)),
                elements: count,
                bytes_touched: array.len() * item,
                ..Access::default()
            }
        }
        AccessSpec::RandomElements { count, seed } => {
            let indices = random_element_indices(array.len(), *count, *seed);
            let sum = array.sum_at(&indices);
            let page = crate::units::page_size();
            let pages: std::collections::HashSet<u64> = indices.iter().map(|i| i * item / page).collect();
            Access {
                sum: Some(black_box(sum)),
                elements: *count,
                bytes_touched: pages.len() as u64 * page,
                ..Access::default()
            }
        }
        AccessSpec::RandomBatches { batch_size, batches, seed } => {
            random_batches(array, *batch_size, *batches, *seed, probe)?
        }
    })
}

/// Truncates a scratch copy to `keep_percent` of its length (the spec allows this access on
/// scratch copies only).
fn shrink(path: &Path, keep_percent: u32) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("{}: cannot open the scratch copy to shrink it", path.display()))?;
    let len = file.metadata()?.len();
    file.set_len(len * u64::from(keep_percent) / 100)
        .with_context(|| format!("{}: cannot truncate the scratch copy", path.display()))
}

/// A full pass in slices, marked after each so that the runner reads its memory.
fn tracked_pass(array: &Array, points: u32, probe: &mut Probe) -> Result<Access> {
    let bytes = array.bytes();
    let item = array.dtype().itemsize() as usize;
    let slice = (bytes.len() / item).div_ceil(points.max(1) as usize).max(1) * item;
    let mut sum = 0.0;
    let mut read = 0u64;
    let mut trace = Vec::with_capacity(points as usize);
    for chunk in bytes.chunks(slice) {
        sum += crate::kernels::sum_bytes(array.dtype(), chunk);
        read += chunk.len() as u64;
        let elapsed_ns = probe.elapsed().as_nanos() as u64;
        // The runner reads the memory from outside at this mark and fills it in.
        probe.mark("trace")?;
        trace.push(TracePoint {
            bytes_read: read,
            elapsed_ns,
            rss_anon_bytes: 0,
            rss_file_bytes: 0,
            major_faults: 0,
        });
    }
    Ok(Access {
        sum: Some(black_box(sum)),
        elements: array.len(),
        bytes_touched: read,
        trace: Some(trace),
        ..Access::default()
    })
}

/// The flat element indices `random_elements` reads: `count` draws from `0..len`, the same
/// for the Rust step and its NumPy peer.
pub fn random_element_indices(len: u64, count: u64, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count).map(|_| rand::RngExt::random_range(&mut rng, 0..len.max(1))).collect()
}

/// The samples of each batch of `random_batches`: the sample indices shuffled, then taken
/// `batch_size` at a time (round again when the batches ask for more than an epoch).
pub fn batch_samples(samples: u64, batch_size: u64, batches: Option<u64>, seed: u64) -> Vec<Vec<u64>> {
    let samples = samples.max(1);
    let mut order: Vec<u64> = (0..samples).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let count = batches.unwrap_or(samples / batch_size.max(1)).max(1);
    let mut indices = order.iter().copied().cycle();
    (0..count).map(|_| indices.by_ref().take(batch_size as usize).collect()).collect()
}

/// Elements per sample (the first axis) of an array of `shape`, or all of them for 1-D.
pub fn sample_len_of(shape: &Shape) -> u64 {
    match shape.0.as_slice() {
        [] | [_] => shape.len().max(1),
        [first, ..] => shape.len() / (*first as u64).max(1),
    }
}

/// A data-loader epoch: shuffled sample indices in batches, each batch summed and timed.
fn random_batches(
    array: &Array,
    batch_size: u64,
    batches: Option<u64>,
    seed: u64,
    probe: &mut Probe,
) -> Result<Access> {
    let per = sample_len(array);
    let samples = (array.len() / per.max(1)).max(1);
    let plan = batch_samples(samples, batch_size, batches, seed);
    let count = plan.len() as u64;
    let item = array.dtype().itemsize();
    let bytes = array.bytes();
    let mut stats = BatchStats { batch_size, ..BatchStats::default() };
    let mut sum = 0.0;
    let mut elements = 0;
    // A mark before the first batch and after each: the runner reads the fault counts at
    // each from outside and fills in each batch's difference.
    probe.mark("batch")?;
    for batch in &plan {
        let begin = probe.elapsed();
        sum += crate::kernels::sum_rows(array.dtype(), bytes, per as usize, batch);
        elements += per * batch.len() as u64;
        let took = probe.elapsed().saturating_sub(begin);
        stats.batch_ns.push(took.as_nanos() as u64);
        probe.mark("batch")?;
    }
    let distinct = (count * batch_size).min(samples);
    Ok(Access {
        sum: Some(black_box(sum)),
        elements,
        bytes_touched: distinct * per * item,
        batches: Some(stats),
        trace: None,
    })
}

/// The first sample's worth of elements as a picture of the dataset's sample layout.
fn preview(array: &Array, dataset: &DatasetSpec) -> Option<Preview> {
    use base64::Engine as _;
    let layout = SampleLayout::of(&dataset.shape);
    let len = layout.sample_len() as u64;
    if array.len() < len || layout.height * layout.width < 4 {
        return None;
    }
    let integer = array.dtype().kind != crate::dtype::Kind::Float;
    let pixels: Vec<u8> = array
        .values(0, len)
        .into_iter()
        .map(|v| {
            let scaled = if integer { v } else { (v * 256.0).floor() };
            if scaled.is_nan() { 0 } else { scaled.clamp(0.0, 255.0) as u8 }
        })
        .collect();
    Some(Preview {
        height: layout.height,
        width: layout.width,
        channels: layout.channels,
        pixels_base64: base64::engine::general_purpose::STANDARD.encode(pixels),
    })
}

/// Where the original's first values start in the array, if within [`SHIFT_SEARCH`].
fn original_at_element(array: &Array, dataset: &DatasetSpec) -> Option<u64> {
    let layout = SampleLayout::of(&dataset.shape);
    let original = sample_values(dataset.seed, layout, dataset.dtype, 0);
    let n = (FIRST_VALUES as u64).min(original.len() as u64);
    let want = &original[..n as usize];
    let limit = SHIFT_SEARCH.min(array.len().saturating_sub(n));
    (0..=limit).find(|&k| array.values(k, n) == want)
}

/// Whether the array is the original: same shape and dtype, and the first, the last and
/// a few seeded samples between equal the generator's values, recomputed from the seed.
fn matches_original(array: &Array, dataset: &DatasetSpec) -> bool {
    if *array.shape() != dataset.shape || array.dtype() != dataset.dtype {
        return false;
    }
    let layout = SampleLayout::of(&dataset.shape);
    let per = layout.sample_len() as u64;
    let samples = layout.samples;
    let mut picks: Vec<u64> = vec![0, samples - 1];
    let mut rng = ChaCha8Rng::seed_from_u64(dataset.seed ^ 0xC0FFEE);
    let mut all: Vec<u64> = (0..samples).collect();
    all.shuffle(&mut rng);
    picks.extend(all.into_iter().take(CHECKED_SAMPLES));
    picks
        .into_iter()
        .all(|n| array.values(n * per, per) == sample_values(dataset.seed, layout, dataset.dtype, n))
}

#[cfg(test)]
mod tests;
