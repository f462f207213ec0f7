//! The runner: every step in a fresh child process (this binary, re-executed), so each
//! baseline is clean and a crash ends one step, not the run.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cache::{self, CacheReport, CacheState};
use crate::child::spawn_marked;
pub use crate::child::{INTERRUPTED, describe_signal};
use crate::dataset::Dataset;
use crate::peer::PeerChoice;
use crate::results::{PairedRound, StepResult, StepTiming};
use crate::spec::{AccessSpec, ExperimentSpec, Method};
use crate::step::StepPlan;
use crate::units::{Bytes, Nanos};

pub use crate::child::DEFAULT_STEP_TIMEOUT;

pub mod memory;
pub mod rounds;

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
    /// ([`crate::runner::rounds`]), and the most any other step with a NumPy peer runs
    /// ([`rounds_for`]); 1 runs no extra round.
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

/// One plan per spec and cache state, in the order they run ([`Stage`]): the warm
/// single-process steps, then the cold steps, each in spec order, so that the file is read
/// from disk once for all warm steps; then the warm steps with workers. A formats step's
/// array, and a fault step's copy, is the one its file holds: the dataset's first samples
/// ([`crate::formats::subset`]). [`report_order`] puts them back in spec order.
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
                    dataset: if spec.file.format().is_some() || spec.file.is_fault_copy() {
                        // The format files and the fault steps' copies hold the dataset's
                        // first samples only.
                        crate::formats::subset(&dataset.spec())
                    } else {
                        dataset.spec()
                    },
                    npy_header_bytes: dataset.manifest.npy_header_bytes,
                    workers,
                    memory_spans: Vec::new(),
                    release_before: Vec::new(),
                });
            }
        }
    }
    // Stable: within a stage, spec order; cold steps that read their whole file first.
    plans.sort_by_key(|p| (Stage::of(p), Stage::of(p) == Stage::Cold && !reads_whole_file(p)));
    let spans = warm_spans(&plans);
    for plan in plans.iter_mut().filter(|p| crate::step::is_memory_reference(p)) {
        plan.memory_spans.clone_from(&spans);
    }
    let releases = memory::releases(&plans);
    for (plan, files) in plans.iter_mut().zip(releases) {
        plan.release_before = files;
    }
    plans
}

/// Whether `plan`'s side reads every page of its file: a full or strided pass, a load, a
/// mapping populated at open, a format's library.
///
/// The cold steps that do run first, the ones that read part of the file after them. A cold
/// side evicts its file, then reads it back into the memory the eviction freed, memory the
/// guest still has from its host. After a step that left only part of the file cached (the
/// first 1,000 samples), a whole read needs memory beyond what its eviction freed, which the
/// host has to back again: in spec order, the first side of `access_channel` cold (Rust's,
/// as in every step's first round) took 1.19-1.63 s where the sides after it took 0.78-0.89 s,
/// in three full-size runs out of three, with no free page reporting pass during it.
pub fn reads_whole_file(plan: &StepPlan) -> bool {
    plan.spec.open.populate
        || matches!(plan.spec.open.method, Method::Load | Method::Library)
        || matches!(
            plan.spec.access,
            AccessSpec::FullPass | AccessSpec::Channel { .. } | AccessSpec::TrackedPass { .. }
        )
}

/// The stages steps run in, in this order.
///
/// The steps whose workers each load the array need the most fresh memory of all (two arrays at
/// K = 2): run after the warm steps, they find the page cache of every file no warm step reads
/// again (the raw file, the formats files, the fault copies) to drop for it; a file only cold
/// steps read again is dropped too, since each cold side evicts it anyway. (When they first ran
/// before the cold steps, dropping only files no later step read at all, they found only the
/// raw file's and the copies', and touched 1.3 GB of memory the VM had handed back to its host:
/// 22.8 s of cache preparation in the one full-size run measured that way; run last instead,
/// 7.6-12.8 s, then 3.6-5.7 s with the reserve growing in one process per core.) They run
/// before the cold steps: after them, the .npy the last cold step read back had never been
/// touched by a CPU when that step mapped it with `MAP_POPULATE`, and the mapping workers' warm
/// preparation paid the hypervisor for every page of it, 1.0-1.4 s a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Warm, one process per side.
    Warm,
    /// Warm, K worker processes per side (the sharing steps).
    Workers,
    /// Cold: the file evicted before each side.
    Cold,
}

impl Stage {
    /// The stage `plan` runs in.
    pub fn of(plan: &StepPlan) -> Stage {
        match (plan.cache, plan.workers) {
            (CacheState::Cold, _) => Stage::Cold,
            (CacheState::Warm, None) => Stage::Warm,
            (CacheState::Warm, Some(_)) => Stage::Workers,
        }
    }

    /// Its name in results.json's stage times (`warm_steps`, `worker_steps`, `cold_steps`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Warm => "warm_steps",
            Stage::Cold => "cold_steps",
            Stage::Workers => "worker_steps",
        }
    }
}

/// The positions of `plans` (as [`plan`] ordered them to run) in the report's order: warm
/// steps, then cold, each in the order of `specs`, a spec's worker counts as listed.
pub fn report_order(plans: &[StepPlan], specs: &[ExperimentSpec]) -> Vec<usize> {
    let at = |id: &str| specs.iter().position(|s| s.id == id).unwrap_or(usize::MAX);
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_by_key(|&i| (plans[i].cache == CacheState::Cold, at(&plans[i].spec.id)));
    order
}

/// The bytes each warm pass among `plans` reads from the start of its array, each once:
/// the spans the in-memory reference times passes over, so that every pass is judged
/// against memory read over as many bytes.
fn warm_spans(plans: &[StepPlan]) -> Vec<crate::units::Bytes> {
    let mut spans: Vec<crate::units::Bytes> = plans
        .iter()
        .filter(|p| p.cache == CacheState::Warm && p.workers.is_none())
        .filter_map(|p| {
            let d = &p.dataset;
            let all = d.shape.nbytes(d.dtype);
            match p.spec.access {
                AccessSpec::FullPass | AccessSpec::Channel { .. } | AccessSpec::TrackedPass { .. } => {
                    Some(all)
                }
                AccessSpec::FirstN { samples, .. } => {
                    let per = crate::step::sample_len_of(&d.shape);
                    Some((samples.saturating_mul(per).min(d.shape.len())) * d.dtype.itemsize())
                }
                _ => None,
            }
        })
        .collect();
    spans.sort_unstable();
    spans.dedup();
    spans
}

/// Runs `plans` one by one, calling `report` after each, with `reserve` holding backed
/// memory between the steps that need fresh memory ([`run_one`]). Stops early, returning
/// `complete = false`, when the run is interrupted (Ctrl-C).
pub fn run_steps(
    plans: &[StepPlan],
    options: &RunOptions,
    reserve: &mut cache::MemoryReserve,
    mut report: impl FnMut(usize, &StepResult),
) -> Result<(Vec<StepResult>, bool)> {
    let mut results = Vec::with_capacity(plans.len());
    for (i, plan) in plans.iter().enumerate() {
        if crate::interrupt::interrupted() {
            return Ok((results, false));
        }
        let result = run_one(plan, options, reserve)?;
        report(i, &result);
        results.push(result);
    }
    Ok((results, !crate::interrupt::interrupted()))
}

/// Prepares the cache for one plan, runs it in a child and returns its result, with its
/// NumPy peer's when one runs (the cache is prepared again for it). A step NumPy agrees
/// with runs [`rounds_for`] rounds in all, Rust and NumPy taking turns at going first; the
/// result is the first round's, with every round's times in `rounds`.
///
/// A step that needs fresh memory ([`memory::fresh_bytes`]) is lent it by `reserve` just
/// before its first side: page cache no later step reads is dropped, the step's own warm
/// cache is filled, the reserve grows by what that and what it held do not cover, then
/// gives the step's share back to the kernel. The sides after the first start right after
/// a process freed as much, and the reserve takes its share back after the last.
pub fn run_one(
    plan: &StepPlan,
    options: &RunOptions,
    reserve: &mut cache::MemoryReserve,
) -> Result<StepResult> {
    let began = Instant::now();
    let released_bytes = memory::release(&plan.release_before);
    let mut timing = StepTiming { released_bytes, ..StepTiming::default() };
    // A read-only copy this run wrote for an earlier step and still holds whole in the page
    // cache is that step's copy as written (faults_no_huge_pages reads the large-piece copy
    // faults_large_writes wrote): writing it again would change nothing.
    let writes_copy = plan.spec.file.rewrite_piece().is_some()
        && (plan.spec.file.is_scratch() || !cache::still_as_written(&plan.path));
    if plan.cache == CacheState::Cold && !writes_copy && cache::first_cold_read(&plan.path) {
        // The first cold step on a file reads it once from the disk before its first side, so
        // that every side, Rust's first among them, finds the disk as the sides after it do
        // (`cache::first_cold_read`); the .npy was read so for the cold read limit. Read
        // first, the Arrow IPC step's first pass took 84-89 ms in two runs, as its other sides
        // did (74-97 ms), against 220-243 ms in 14 runs without. Only a help: a failure is the
        // first side's preparation's to report.
        let _ = cache::sequential_read(&plan.path);
    }
    let lent = memory::fresh_bytes_writing(plan, writes_copy);
    if lent.is_some() && plan.cache == CacheState::Warm && !writes_copy {
        // The warm cache is filled before the memory is lent, not by the first side's own
        // preparation after it: a formats file read again there took the memory lent for the
        // side's copy, and the first side copied into memory the host had to back again
        // (Rust's first stored .npz open took 161-811 ms in 13 of 18 full-size runs and
        // 37-94 ms in the other five; filled first, 25-32 ms in four runs out of four, and
        // the LZ4 Arrow file's 23-25 ms against 24-198 ms). Its error, if any, is the first
        // side's preparation's to report.
        let _ = cache::prepare(&plan.path, CacheState::Warm);
    }
    let kept = reserve.held().max(lent.unwrap_or(0));
    if let Some(lent) = lent {
        // The reserve is only a help: a reserve that failed (its process killed for memory)
        // leaves the step to find memory as it would without one.
        if let Ok(grown) = reserve.hold(kept) {
            timing.backed_bytes = grown.bytes;
        }
        let _ = reserve.hold(kept.saturating_sub(lent));
    }
    timing.prepare_ns = nanos(began);
    if let (Some(piece), Some(source)) = (plan.spec.file.rewrite_piece(), plan.spec.file.source_name()) {
        if writes_copy {
            let t = Instant::now();
            // A copy of the array's bytes taken from the .npy skips its header: the raw file
            // is then read by the tutorial's raw steps only, and its page cache can go early.
            let skip = if plan.spec.file.source_has_header() && !plan.spec.file.has_header() {
                plan.npy_header_bytes
            } else {
                0
            };
            let len = plan.spec.file.is_fault_copy().then(|| plan.dataset.shape.nbytes(plan.dataset.dtype));
            crate::dataset::write_copy(&plan.path.with_file_name(source), &plan.path, piece, skip, len)
                .with_context(|| {
                    format!("writing the copy {} for step {}", plan.path.display(), plan.spec.id)
                })?;
            timing.copy_ns = nanos(t);
        }
    }
    let size = || std::fs::metadata(&plan.path).ok().map(|m| m.len());
    let before = size();
    let (mut result, cache_report, rust_reported) = rust_side(plan, options, &mut timing)?;
    // Preparing the first round (reading the file, backing memory) is not the step's own
    // length: it does not count against repeating it.
    let first_prepare = timing.prepare_ns;
    result.cache_report = Some(cache_report);
    result.file_bytes_before = before;
    result.file_bytes_after = size();
    if let PeerChoice::Use(python) = &options.numpy {
        if let Ok(peer_plan) = crate::peer::PeerPlan::for_step(plan) {
            let peer_plan = match &result.shape {
                Some(shape) => peer_plan.with_pattern(&plan.spec.access, shape),
                None => peer_plan,
            };
            let (mut numpy, numpy_reported) = numpy_side(plan, &peer_plan, python, options, &mut timing)?;
            crate::peer::agree::check(&result, &mut numpy);
            result
                .rounds
                .push(PairedRound::of(true, &result, &numpy).with_reported(rust_reported, numpy_reported));
            let agreed = numpy.agrees;
            result.peer = Some(numpy);
            if agreed {
                let wanted = rounds_for(plan, options, nanos(began).saturating_sub(first_prepare));
                for round in 2..=wanted {
                    if crate::interrupt::interrupted() {
                        break;
                    }
                    let rust_first = round % 2 == 1;
                    let (paired, passes) =
                        another_round(plan, &peer_plan, python, options, rust_first, &mut timing)?;
                    result.rounds.push(paired);
                    merge_memory_passes(&mut result.memory_passes, passes);
                }
            }
        }
    }
    if lent.is_some() && !crate::interrupt::interrupted() {
        let t = Instant::now();
        let _ = reserve.hold(kept);
        timing.prepare_ns += nanos(t);
    }
    if plan.cache == CacheState::Cold && plan.spec.open.populate {
        // MAP_POPULATE read the file into the page cache without a CPU touching it, and on a
        // VM the first CPU access to such a page costs the hypervisor a fault of its own. The
        // next step's first side (Rust's) evicted those pages and read its part of the file
        // back into them, and paid for it: access_first_n cold, 659-671 ms against 205-216
        // ms for every other side, and after a mapped pass 208-211 ms. Touched here, in this
        // step's preparation, every next side starts alike.
        let t = Instant::now();
        let _ = cache::warm(&plan.path);
        timing.prepare_ns += nanos(t);
    }
    timing.rounds = result.rounds.len().max(1) as u32;
    timing.wall_ns = nanos(began);
    result.timing = Some(timing);
    Ok(result)
}

/// The bytes of fresh memory a single-process step copies the array into: `load`, and the
/// formats whose opener copies on either side (the `.npz` files and LZ4 in Rust and NumPy,
/// safetensors in NumPy's library). `None` for a mapping, and for sharing steps (their
/// workers' copies are counted per worker, [`memory::fresh_bytes`]).
fn copied_bytes(plan: &StepPlan) -> Option<crate::units::Bytes> {
    use crate::formats::Format;
    use crate::spec::Method;
    let copies = match plan.spec.open.method {
        Method::Load => true,
        Method::Library => plan.spec.file.format().is_some_and(|f| f != Format::ArrowIpc),
        Method::LoadMmap | Method::Memmap => false,
    };
    (copies && plan.workers.is_none()).then(|| plan.dataset.shape.nbytes(plan.dataset.dtype))
}

/// Rounds of every step with an agreeing NumPy peer, when `--rounds` allows as many: one
/// with Rust first and one with NumPy first, what pairing needs and the time budget allows
/// (a third round of every step cost about a fifth of run-all's wall).
pub const STEP_ROUNDS: u32 = 2;

/// A step whose first round took longer than this runs once: repeating it would cost more
/// than the whole run's budget allows (the report says so beside it).
pub const VERY_LONG_ROUND: Duration = Duration::from_secs(6);

/// How many rounds `plan` runs in all: `--rounds` for the headline step, at most
/// [`STEP_ROUNDS`] for any other; one when `--rounds 1`, for a sharing step (compared on
/// memory, not time) and when its first round took `first_ns` beyond [`VERY_LONG_ROUND`].
pub fn rounds_for(plan: &StepPlan, options: &RunOptions, first_ns: Nanos) -> u32 {
    if crate::runner::rounds::is_headline(plan) {
        return options.rounds;
    }
    if plan.workers.is_some() || first_ns > VERY_LONG_ROUND.as_nanos() as Nanos {
        return 1;
    }
    options.rounds.min(STEP_ROUNDS)
}

/// Memory reported to the host since the counter read `before`.
fn reported_since(before: Option<Bytes>) -> Option<Bytes> {
    Some(cache::reporting::reported_bytes()?.saturating_sub(before?))
}

/// The Rust side of a round: the cache prepared, the step run in a child.
fn rust_side(
    plan: &StepPlan,
    options: &RunOptions,
    timing: &mut StepTiming,
) -> Result<(StepResult, CacheReport, Option<Bytes>)> {
    let reported = cache::reporting::reported_bytes();
    let t = Instant::now();
    let cache_report = cache::prepare(&plan.path, plan.cache)
        .with_context(|| format!("preparing a {} cache for step {}", plan.cache.name(), plan.spec.id))?;
    timing.prepare_ns += nanos(t);
    let t = Instant::now();
    let result = run_child(plan, options.step_timeout)?;
    timing.rust_ns += nanos(t);
    Ok((result, cache_report, reported_since(reported)))
}

/// NumPy's side of a round: the cache prepared again, the peer run, not yet checked.
fn numpy_side(
    plan: &StepPlan,
    peer_plan: &crate::peer::PeerPlan,
    python: &crate::peer::Python,
    options: &RunOptions,
    timing: &mut StepTiming,
) -> Result<(crate::results::PeerResult, Option<Bytes>)> {
    let reported = cache::reporting::reported_bytes();
    let t = Instant::now();
    let numpy = crate::peer::prepare_and_run(plan, peer_plan, python, options.step_timeout)?;
    let all = nanos(t);
    timing.numpy_ns += numpy.process_ns;
    timing.prepare_ns += all.saturating_sub(numpy.process_ns);
    Ok((numpy, reported_since(reported)))
}

/// One more round of a step beside its NumPy peer, in the order asked for.
fn another_round(
    plan: &StepPlan,
    peer_plan: &crate::peer::PeerPlan,
    python: &crate::peer::Python,
    options: &RunOptions,
    rust_first: bool,
    timing: &mut StepTiming,
) -> Result<(PairedRound, Vec<crate::results::MemoryPasses>)> {
    let ((rust, _, rust_reported), (mut numpy, numpy_reported)) = if rust_first {
        let rust = rust_side(plan, options, timing)?;
        (rust, numpy_side(plan, peer_plan, python, options, timing)?)
    } else {
        let numpy = numpy_side(plan, peer_plan, python, options, timing)?;
        (rust_side(plan, options, timing)?, numpy)
    };
    crate::peer::agree::check(&rust, &mut numpy);
    let round = PairedRound::of(rust_first, &rust, &numpy).with_reported(rust_reported, numpy_reported);
    Ok((round, rust.memory_passes))
}

/// Adds a later round's in-memory passes (the reference step's) to the first round's, span
/// by span: the limit is then the median of passes timed at each round's moment of the run,
/// not at one, since the memory's own speed moves while a run goes on (a run's in-memory
/// passes over the full-size array ranged 45.7-49.8 ms while its mapped passes took
/// 51.1-69.6 ms).
pub fn merge_memory_passes(
    into: &mut [crate::results::MemoryPasses],
    from: Vec<crate::results::MemoryPasses>,
) {
    for later in from {
        if let Some(span) = into.iter_mut().find(|m| m.bytes == later.bytes) {
            span.passes_ns.extend(later.passes_ns);
        }
    }
}

fn nanos(since: Instant) -> Nanos {
    since.elapsed().as_nanos() as Nanos
}

/// Runs `plan` in a child process, reading it from outside at each phase it marks
/// ([`crate::child::outside`]); a crash or a broken answer becomes a result, not an error.
pub fn run_child(plan: &StepPlan, timeout: Duration) -> Result<StepResult> {
    let exe = crate::paths::own_exe().context("cannot find mmap-lab's own executable to start a step")?;
    let mut command = Command::new(exe);
    // The runner chooses the kind of step: one process, or a coordinator with its workers.
    command.arg(plan.kind().command());
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

#[cfg(test)]
mod tests;
