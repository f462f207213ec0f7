//! Every access value of a spec checked against the array its step will read, before any
//! step runs: NumPy raises `IndexError` for channel 99 of a 3-channel array, and mmap-lab
//! refuses the same way instead of reading channel 2; a count that cannot be held in
//! memory is refused instead of crashing the child.

use anyhow::Result;

use super::{AccessSpec, LoadedSpec, Method, ShapeSpec};
use crate::dataset::DatasetSpec;
use crate::error::input;
use crate::shape::Shape;
use crate::units::{Bytes, human_bytes};

/// Bytes a step may spend on its own bookkeeping (index lists, batch plans): a quarter of
/// the machine's memory.
fn bookkeeping_limit() -> Bytes {
    // SAFETY: sysconf only reads system constants.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    let total = (pages.max(0) as u64).saturating_mul(page.max(0) as u64);
    if total == 0 { 1 << 30 } else { total / 4 }
}

/// The shape of the array `spec`'s step reads from `dataset`, or `None` when its open is
/// expected to be refused (the step then records NumPy's own error).
fn array_shape(spec: &super::ExperimentSpec, dataset: &DatasetSpec) -> Option<Shape> {
    if spec.open.method != Method::Memmap {
        return Some(dataset.shape.clone());
    }
    let header = dataset.npy_header().len() as Bytes;
    let file_bytes = dataset.data_bytes() + if spec.file.has_header() { header } else { 0 };
    let options = spec.memmap_options(dataset, header);
    let item = options.dtype.itemsize();
    let after = file_bytes.checked_sub(options.offset)?;
    match &spec.open.shape {
        None => (after >= item && after % item == 0).then(|| Shape(vec![(after / item) as usize])),
        Some(ShapeSpec::Dataset) => Some(dataset.shape.clone()),
        Some(ShapeSpec::Fixed(s)) => {
            let need = s.0.iter().try_fold(item, |acc, &d| acc.checked_mul(d as u64))?;
            (need <= after).then(|| s.clone())
        }
    }
}

/// Why `spec`'s access does not fit `shape`, in NumPy's terms, or `None` when it fits.
fn misfit(access: &AccessSpec, shape: &Shape) -> Option<String> {
    let dims = &shape.0;
    let samples = dims.first().copied().unwrap_or(1) as u64;
    let elements = shape.len();
    let limit = bookkeeping_limit();
    let memory = |what: &str, count: u64, per: u64| {
        let need = count.saturating_mul(per);
        (need > limit).then(|| {
            format!(
                "{what} needs {} of memory for its bookkeeping alone, more than a quarter of this machine's ({} allowed); give a smaller count",
                human_bytes(need),
                human_bytes(limit)
            )
        })
    };
    match *access {
        AccessSpec::Channel { channel } => {
            let axis = dims.len().saturating_sub(1);
            let channels = dims.last().copied().unwrap_or(1) as u64;
            (channel >= channels).then(|| {
                format!(
                    "access.channel = {channel} is out of range: the array it reads has shape {} and axis {axis} has size {channels}, so give 0 to {} (NumPy: IndexError: index {channel} is out of bounds for axis {axis} with size {channels})",
                    shape.python(),
                    channels - 1
                )
            })
        }
        // More samples than there are is refused with the numbers, unless the spec asks to
        // clip as NumPy's `X[:n]` does (`clip = true`: the step records how many it read);
        // a batch of `order[i:i + b]` clips as in NumPy.
        AccessSpec::FirstN { samples: n, clip } => {
            let countable = n.checked_mul(elements / samples.max(1)).is_some();
            (n > samples && (!clip || !countable)).then(|| {
                let hint = if countable {
                    format!(", or add `clip = true` to read at most that many, as NumPy's X[:{n}] does")
                } else {
                    String::new()
                };
                format!(
                    "access.samples = {n} is more than the {samples} samples of the array it reads (shape {}): give 1 to {samples}{hint}",
                    shape.python()
                )
            })
        }
        AccessSpec::RandomBatches { batch_size, batches, .. } => {
            let count = batches.unwrap_or(samples / batch_size.max(1)).max(1);
            memory("access.batch_size", batch_size.min(u64::MAX / 8), 8)
                .or_else(|| memory("access.batches × batch_size", count.saturating_mul(batch_size), 8))
                .or_else(|| memory("access.batches", count, 64))
        }
        AccessSpec::RandomElements { count, .. } => memory("access.count", count, 16),
        AccessSpec::TrackedPass { points } => (u64::from(points) > elements).then(|| {
            format!(
                "access.points = {points} is more than the {elements} elements of the array it reads (shape {}): give 1 to {elements}",
                shape.python()
            )
        }),
        _ => None,
    }
}

/// Refuses, before any step runs, a spec whose access values do not fit the array its
/// step will read from `dataset`; the message names the file, the key and the range.
pub fn check_against(specs: &[LoadedSpec], dataset: &DatasetSpec) -> Result<()> {
    for loaded in specs {
        let Some(shape) = array_shape(&loaded.spec, dataset) else { continue };
        if let Some(why) = misfit(&loaded.spec.access, &shape) {
            return Err(input(format!("{}: experiment '{}': {why}", loaded.path.display(), loaded.spec.id)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape(vec![40, 12, 12, 3])
    }

    #[test]
    fn channels_past_the_last_axis_are_refused_like_numpy() {
        assert!(misfit(&AccessSpec::Channel { channel: 2 }, &shape()).is_none());
        let why = misfit(&AccessSpec::Channel { channel: 3 }, &shape()).unwrap_or_default();
        assert!(why.contains("index 3 is out of bounds for axis 3 with size 3"), "{why}");
        assert!(why.contains("0 to 2"), "{why}");
    }

    #[test]
    fn more_samples_than_the_array_has_are_refused_unless_the_spec_clips() {
        let strict = misfit(&AccessSpec::FirstN { samples: 1000, clip: false }, &shape()).unwrap_or_default();
        assert!(
            strict.contains("1000 is more than the 40 samples") && strict.contains("clip = true"),
            "{strict}"
        );
        assert!(misfit(&AccessSpec::FirstN { samples: 40, clip: false }, &shape()).is_none());
        assert!(misfit(&AccessSpec::FirstN { samples: 1000, clip: true }, &shape()).is_none());
        assert!(
            misfit(&AccessSpec::FirstN { samples: u64::MAX, clip: true }, &shape())
                .is_some_and(|w| w.contains("1 to 40") && !w.contains("clip"))
        );
        let batches = AccessSpec::RandomBatches { batch_size: u64::MAX, batches: None, seed: 0 };
        assert!(misfit(&batches, &shape()).is_some_and(|w| w.contains("batch_size")));
    }

    #[test]
    fn counts_that_cannot_fit_in_memory_are_refused() {
        let huge = AccessSpec::RandomElements { count: u64::MAX / 2, seed: 0 };
        assert!(misfit(&huge, &shape()).is_some_and(|w| w.contains("memory")));
        let batches = AccessSpec::RandomBatches { batch_size: 1, batches: Some(u64::MAX), seed: 0 };
        assert!(misfit(&batches, &shape()).is_some_and(|w| w.contains("memory")));
        assert!(misfit(&AccessSpec::RandomElements { count: 1000, seed: 0 }, &shape()).is_none());
    }
}
