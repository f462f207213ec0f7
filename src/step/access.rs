//! The access patterns a step reads after its first element: a full pass, the first N
//! samples, one channel, random values or mini-batches (each timed), a tracked pass, a
//! shrink under the mapping; and the seeded draws the NumPy peer reads too.

use std::hint::black_box;
use std::path::Path;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::open::Array;
use crate::probe::Probe;
use crate::results::{BatchStats, TracePoint};
use crate::shape::Shape;
use crate::spec::AccessSpec;
use crate::units::Bytes;

/// What an access pattern read.
#[derive(Debug, Default)]
pub(super) struct Access {
    pub(super) sum: Option<f64>,
    pub(super) elements: u64,
    pub(super) bytes_touched: Bytes,
    pub(super) batches: Option<BatchStats>,
    pub(super) trace: Option<Vec<TracePoint>>,
}

/// Elements per sample (the first axis), or all elements for a 1-D array.
fn sample_len(array: &Array) -> u64 {
    sample_len_of(array.shape())
}

/// Runs the access pattern; the result feeds the `after_access` snapshot.
pub(super) fn read(array: &Array, access: &AccessSpec, path: &Path, probe: &mut Probe) -> Result<Access> {
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
    shape.sample_len()
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
