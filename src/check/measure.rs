//! Taking a [`Measurement`]: live (memory in child processes, times in this process), or
//! from a results.json that `run` or `run-all` wrote.
//!
//! Memory metrics come from the runner, one fresh child process per step and repetition,
//! exactly as `run-all` measures them, so that each baseline is clean. Times come from
//! this process, each beside an in-memory reference timed in the same repetition (see
//! [`super::timing`]); each is kept as its median and its ratio to the median reference, so
//! that a slower or busier machine does not read as a regression.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::baseline::{MeasuredDataset, MeasuredHow, Measurement, TimingSource};
use super::metric::{Metric, MetricKind, MetricName, median};
use super::timing;
use crate::cache::{self, CacheState};
use crate::dataset::{self, Dataset, DatasetSpec, Provenance};
use crate::error::input;
use crate::machine::Machine;
use crate::probe::{Phase, Snapshot};
use crate::results::{Results, StepResult};
use crate::runner::{self, RunOptions};
use crate::spec::{AccessSpec, ExperimentSpec, Status};
use crate::step::StepPlan;
use crate::units::{Bytes, human_nanos};

/// What a live measurement measures.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The dataset (generated in `data_dir`, or reused when valid).
    pub dataset: DatasetSpec,
    /// Where its files live.
    pub data_dir: PathBuf,
    /// The steps to measure.
    pub specs: Vec<ExperimentSpec>,
    /// Child processes per step, and timed repetitions per step.
    pub repeats: u32,
    /// A step still running after this long is killed.
    pub step_timeout: Duration,
}

/// Measures the steps now, on this machine.
pub fn live(options: &LiveOptions) -> Result<Measurement> {
    let held = dataset::lock(&options.data_dir)?;
    let (data, provenance) = dataset::ensure_held(
        &options.dataset,
        &options.data_dir,
        dataset::Files::Both,
        &held,
        &crate::progress::BytesProgress::default(),
    )?;
    if let Provenance::Generated { elapsed, .. } = &provenance {
        crate::errln!(
            "check: generated {} of {} in {} ({})",
            options.dataset.shape.python(),
            options.dataset.dtype,
            options.data_dir.display(),
            human_nanos(elapsed.as_nanos() as u64)
        );
    }
    let mut notes = settle_page_cache(&data);
    let plans: Vec<StepPlan> = options.specs.iter().map(|spec| warm_plan(spec, &data)).collect();
    let repeats = options.repeats.max(1);
    crate::errln!(
        "check: {} steps of {} {}: memory in {} child processes, times in this process (median of {repeats})",
        plans.len(),
        options.dataset.shape.python(),
        options.dataset.dtype,
        plans.len() * repeats as usize,
    );

    let children = memory_runs(&plans, repeats, options.step_timeout, &mut notes)?;

    let times = timing::time_steps(&plans, data.manifest.data_bytes, repeats);
    let mut metrics =
        vec![Metric::bytes(MetricName::run(MetricKind::NpyHeaderBytes), data.manifest.npy_header_bytes)];
    metrics.extend(Metric::time(MetricName::run(MetricKind::InMemoryPass), &times.reference));
    for ((plan, runs), step_times) in plans.iter().zip(&children).zip(&times.steps) {
        let runs: Vec<&StepResult> = runs.iter().collect();
        metrics.extend(memory_metrics(&plan.spec.id, &runs));
        for (kind, samples) in [
            (MetricKind::OpenTime, &step_times.open),
            (MetricKind::FirstTime, &step_times.first),
            (MetricKind::PassTime, &step_times.pass),
        ] {
            metrics.extend(Metric::time(MetricName::step(&plan.spec.id, kind), samples));
        }
    }
    Ok(Measurement {
        dataset: measured(&data.spec()),
        how: MeasuredHow {
            cache: CacheState::Warm.name().to_owned(),
            memory_runs: repeats,
            timing: TimingSource::InProcess,
            timing_repeats: repeats,
        },
        machine: Machine::detect(&options.data_dir),
        metrics,
        notes,
        unexpected: unexpected(children.iter().flatten()),
    })
}

/// Runs every plan `repeats` times, each in a fresh child process, warm cache.
fn memory_runs(
    plans: &[StepPlan],
    repeats: u32,
    step_timeout: Duration,
    notes: &mut Vec<String>,
) -> Result<Vec<Vec<StepResult>>> {
    let run = RunOptions {
        caches: Some(vec![CacheState::Warm]),
        step_timeout,
        numpy: crate::peer::PeerChoice::Without("the check measures mmap-lab alone".to_owned()),
        rounds: 1,
    };
    let mut children = Vec::with_capacity(plans.len());
    let mut reserve = crate::cache::MemoryReserve::new();
    for plan in plans {
        let runs =
            (0..repeats).map(|_| runner::run_one(plan, &run, &mut reserve)).collect::<Result<Vec<_>>>()?;
        if let Some(c) = runs.iter().filter_map(|r| r.cache_report).find(|c| !c.verified) {
            notes.push(format!(
                "{}: the warm cache was not fully established ({} of {} bytes resident)",
                plan.spec.id, c.resident_bytes, c.file_bytes
            ));
        }
        children.push(runs);
    }
    Ok(children)
}

/// `id: error (expected ok)` for every step that did not end as its spec expects.
fn unexpected<'a>(steps: impl IntoIterator<Item = &'a StepResult>) -> Vec<String> {
    let mut found: Vec<String> = steps
        .into_iter()
        .filter(|s| s.status != s.expected_status)
        .map(|s| format!("{}: {} (its spec expects {})", s.id, outcome(s), s.expected_status.name()))
        .collect();
    found.dedup();
    found
}

/// The metrics of a results.json: its warm mapping steps, one run each; times relative
/// to the `npy_load` step's pass over the memory it read the array into.
pub fn from_results(results: &Results, path: &std::path::Path) -> Result<Measurement> {
    let warm: Vec<&StepResult> = results
        .steps
        .iter()
        .filter(|s| s.cache == CacheState::Warm && s.group == crate::spec::TUTORIAL)
        .collect();
    if warm.is_empty() {
        return Err(input(format!(
            "{}: the results hold no warm steps; check compares warm-cache steps, so run with --cache warm or both",
            path.display()
        )));
    }
    let mut notes = Vec::new();
    if !results.run.complete {
        notes.push(format!("{}: the run was interrupted; its results are incomplete", path.display()));
    }
    let reference = warm
        .iter()
        .find(|s| s.id == "npy_load" && s.status == Status::Ok)
        .and_then(|s| s.phase_ns(Phase::AfterFirst, Phase::AfterAccess));
    if reference.is_none() {
        notes
            .push("no warm npy_load step with a full pass in the results: times are not compared".to_owned());
    }
    let d = &results.dataset;
    let mut metrics = vec![Metric::bytes(
        MetricName::run(MetricKind::NpyHeaderBytes),
        d.npy_bytes.saturating_sub(d.raw_bytes),
    )];
    if let Some(r) = reference {
        metrics.extend(Metric::time(MetricName::run(MetricKind::InMemoryPass), &[(r, r)]));
    }
    for s in warm.iter().filter(|s| s.open.starts_with("load_mmap") || s.open.starts_with("memmap")) {
        metrics.extend(memory_metrics(&s.id, &[s]));
        let Some(reference) = reference else { continue };
        let phases = [
            (MetricKind::OpenTime, Phase::BeforeOpen, Phase::AfterOpen),
            (MetricKind::FirstTime, Phase::AfterOpen, Phase::AfterFirst),
            (MetricKind::PassTime, Phase::AfterFirst, Phase::AfterAccess),
        ];
        for (kind, from, to) in phases {
            if kind == MetricKind::PassTime && s.access != AccessSpec::FullPass.name() {
                continue;
            }
            if let Some(ns) = s.phase_ns(from, to) {
                metrics.extend(Metric::time(MetricName::step(&s.id, kind), &[(ns, reference)]));
            }
        }
    }
    Ok(Measurement {
        dataset: MeasuredDataset { shape: d.shape.clone(), dtype: d.dtype, seed: d.seed },
        how: MeasuredHow {
            cache: CacheState::Warm.name().to_owned(),
            memory_runs: 1,
            timing: TimingSource::ResultsFile,
            timing_repeats: 1,
        },
        machine: results.machine.clone(),
        metrics,
        notes,
        unexpected: unexpected(warm.iter().copied()),
    })
}

/// Shape, dtype and seed, as a measurement records them.
pub fn measured(spec: &DatasetSpec) -> MeasuredDataset {
    MeasuredDataset { shape: spec.shape.clone(), dtype: spec.dtype, seed: spec.seed }
}

/// A warm-cache plan for `spec`, whatever cache states the spec lists.
fn warm_plan(spec: &ExperimentSpec, data: &Dataset) -> StepPlan {
    StepPlan {
        spec: spec.clone(),
        cache: CacheState::Warm,
        path: data.dir.join(spec.file.file_name()),
        dataset: data.spec(),
        npy_header_bytes: data.manifest.npy_header_bytes,
        workers: None,
        memory_spans: Vec::new(),
        release_before: Vec::new(),
    }
}

/// Evicts both data files and reads them through once, so that the page cache holds
/// them in folios built the same way on every run and machine (by read-ahead), not in
/// whatever pieces generation or an earlier run left. Returns notes on what failed.
fn settle_page_cache(data: &Dataset) -> Vec<String> {
    let mut notes = Vec::new();
    for path in [data.npy_path(), data.raw_path()] {
        if let Err(e) = cache::evict(&path) {
            notes.push(format!("{}: could not evict before reading it through: {e:#}", path.display()));
        }
        if let Err(e) = cache::warm(&path) {
            notes.push(format!("{}: could not read it through: {e:#}", path.display()));
        }
    }
    notes
}

/// `outcome`, `object_bytes`, RSS growth and resident growth of one step: medians over
/// its runs (the outcome must be the same in every run, or it reads "varies").
pub fn memory_metrics(id: &str, runs: &[&StepResult]) -> Vec<Metric> {
    let mut outcomes: Vec<String> = runs.iter().map(|r| outcome(r)).collect();
    outcomes.sort();
    outcomes.dedup();
    let text =
        if outcomes.len() == 1 { outcomes.remove(0) } else { format!("varies: {}", outcomes.join(" / ")) };
    let mut metrics = vec![Metric::text(MetricName::step(id, MetricKind::Outcome), text)];
    let growth = |to: Phase, field: fn(&Snapshot) -> Bytes| -> Option<Bytes> {
        let deltas: Vec<Bytes> = runs
            .iter()
            .filter_map(|r| r.delta(Phase::BeforeOpen, to, field))
            .map(|d| d.max(0) as Bytes)
            .collect();
        if deltas.len() == runs.len() { median(&deltas) } else { None }
    };
    let objects: Vec<Bytes> = runs.iter().filter_map(|r| r.object_bytes).collect();
    let bytes = [
        (MetricKind::ObjectBytes, if objects.len() == runs.len() { median(&objects) } else { None }),
        (MetricKind::RssAfterOpen, growth(Phase::AfterOpen, |s| s.rss_bytes)),
        (MetricKind::RssAfterFirst, growth(Phase::AfterFirst, |s| s.rss_bytes)),
        (MetricKind::ResidentAfterFirst, growth(Phase::AfterFirst, |s| s.rss_file_bytes)),
    ];
    for (kind, value) in bytes {
        if let Some(b) = value {
            metrics.push(Metric::bytes(MetricName::step(id, kind), b));
        }
    }
    metrics
}

/// How a step ended and what it opened, in one line that must not change:
/// `ok float64 (64, 120, 120, 3) original`.
pub fn outcome(step: &StepResult) -> String {
    if step.status != Status::Ok {
        return match step.signal {
            Some(signal) => format!("{} (signal {signal})", step.status.name()),
            None => step.status.name().to_owned(),
        };
    }
    let dtype = step.dtype.map_or("?".to_owned(), |d| d.to_string());
    let shape = step.shape.as_ref().map_or("?".to_owned(), |s| s.python());
    let what = match (step.matches_original, step.original_at_element) {
        (Some(true), _) => "original".to_owned(),
        (_, Some(k)) if k > 0 => format!("original shifted by {k} elements"),
        _ => "not the original".to_owned(),
    };
    format!("ok {dtype} {shape} {what}")
}
