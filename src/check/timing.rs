//! The check's times: taken in its own process, in thread CPU time, each beside an
//! in-memory reference timed in the same repetition.

use std::hint::black_box;

use crate::spec::AccessSpec;
use crate::step::{self, StepPlan};
use crate::units::{Bytes, Nanos};

/// `(time, reference time)` samples of one step, one per repetition.
#[derive(Debug, Default)]
pub(super) struct StepTimes {
    /// Opens, against the in-memory pass.
    pub(super) open: Vec<(Nanos, Nanos)>,
    /// First elements of a fresh mapping, against the in-memory pass.
    pub(super) first: Vec<(Nanos, Nanos)>,
    /// Full passes through a fresh mapping, against the same kernel in memory.
    pub(super) pass: Vec<(Nanos, Nanos)>,
}

/// Timed samples of a whole check.
pub(super) struct Times {
    /// The in-memory pass, as `(time, time)`.
    pub(super) reference: Vec<(Nanos, Nanos)>,
    /// Each plan's samples, in plan order.
    pub(super) steps: Vec<StepTimes>,
}

/// Times every plan `repeats` times, after one repetition that is discarded (it faults
/// in code and warms the caches).
///
/// Each repetition starts with a pass over the in-memory reference buffer, the reference
/// of opens and first elements. These are timed right after an identical untimed open and
/// read, so that the CPU caches hold what the kernel needs for the file (after a 22 MB
/// pass an open takes about three times as long). Each full pass goes through a fresh
/// mapping, page faults included as `X.sum()` after opening pays them, right after its
/// own reference: the same kernel over as many bytes of the in-memory buffer, so that a
/// busy CPU slows both alike whether the kernel is bound by memory (float64) or by
/// arithmetic (uint8).
pub(super) fn time_steps(plans: &[StepPlan], data_bytes: Bytes, repeats: u32) -> Times {
    // The widest mapping is the whole .npy file: the data and its header.
    let buffer = reference_buffer(data_bytes + (64 << 10));
    let bytes: &[u8] = bytemuck::cast_slice(&buffer);
    let mut times =
        Times { reference: Vec::new(), steps: plans.iter().map(|_| StepTimes::default()).collect() };
    for repetition in 0..=repeats {
        let reference = timed(|| crate::kernels::sum_f64(black_box(&buffer[..(data_bytes / 8) as usize])));
        let mut samples: Vec<StepTimes> = Vec::with_capacity(plans.len());
        for plan in plans {
            let mut sample = StepTimes::default();
            black_box(open_and_first(plan));
            if let Some((open, first)) = open_and_first(plan) {
                sample.open.push((open, reference));
                sample.first.extend(first.map(|f| (f, reference)));
            }
            samples.push(sample);
        }
        for (plan, sample) in plans.iter().zip(&mut samples) {
            sample.pass.extend(pass_and_reference(plan, bytes));
        }
        if repetition > 0 {
            times.reference.push((reference, reference));
            for (sample, step) in samples.into_iter().zip(&mut times.steps) {
                step.open.extend(sample.open);
                step.first.extend(sample.first);
                step.pass.extend(sample.pass);
            }
        }
    }
    times
}

/// Runs `work` and returns the CPU time this thread spent on it, in user and kernel mode
/// (page faults included), but not time spent waiting for a CPU that other processes
/// hold: on a shared machine a pass of a millisecond or two is often preempted for a
/// whole scheduler slice, which wall-clock time would count.
fn timed<T>(work: impl FnOnce() -> T) -> Nanos {
    let started = thread_cpu_ns();
    black_box(work());
    thread_cpu_ns().saturating_sub(started)
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
fn thread_cpu_ns() -> Nanos {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant Linux knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as Nanos * 1_000_000_000 + now.tv_nsec as Nanos
}

/// Opens the step's array and reads its first element, timing each; `None` when the open
/// fails (the outcome metric reports that). The mapping is unmapped after the clock stops.
fn open_and_first(plan: &StepPlan) -> Option<(Nanos, Option<Nanos>)> {
    let started = thread_cpu_ns();
    let array = step::open_array(plan).ok()?;
    let open = thread_cpu_ns().saturating_sub(started);
    let first = (plan.spec.access != AccessSpec::None && !array.is_empty()).then(|| timed(|| array.get(0)));
    drop(array);
    Some((open, first))
}

/// For a full-pass step: the sum of every element through a fresh mapping, and the same
/// kernel over as many bytes of `memory` just before it.
fn pass_and_reference(plan: &StepPlan, memory: &[u8]) -> Option<(Nanos, Nanos)> {
    if plan.spec.access != AccessSpec::FullPass {
        return None;
    }
    let array = step::open_array(plan).ok()?;
    let len = array.bytes().len().min(memory.len());
    let reference = timed(|| crate::kernels::sum_bytes(array.dtype(), black_box(&memory[..len])));
    let pass = timed(|| array.sum());
    drop(array);
    Some((pass, reference))
}

/// A buffer of `bytes` (rounded up to whole `f64`s), written once so that every page is
/// resident before it is timed.
fn reference_buffer(bytes: Bytes) -> Vec<f64> {
    (0..bytes.div_ceil(8)).map(|i| (i % 1024) as f64 / 1024.0).collect()
}
