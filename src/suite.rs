//! `run-all` and `run`: specs -> dataset -> runner -> results -> report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::cache::CacheState;
use crate::dataset::{self, DatasetSpec, Provenance};
use crate::machine::Machine;
use crate::peer::PeerChoice;
use crate::results::{DatasetInfo, Results, RunInfo, SCHEMA_VERSION, StageTime, StepResult};
use crate::runner::{self, RunOptions};
use crate::spec::{ExperimentSpec, LoadedSpec};
use crate::units::human_nanos;

/// Everything a run needs, checked before anything is measured.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The dataset to measure.
    pub dataset: DatasetSpec,
    /// Where its files live.
    pub data_dir: PathBuf,
    /// Where the report goes.
    pub out: PathBuf,
    /// The experiments to run.
    pub specs: Vec<LoadedSpec>,
    /// Regenerate even if valid data exists.
    pub regenerate: bool,
    /// Which files the experiments need.
    pub files: dataset::Files,
    /// How steps run.
    pub run: RunOptions,
    /// The command line, for the report.
    pub command: String,
}

/// The outcome of a suite run.
#[derive(Debug)]
pub struct SuiteOutcome {
    /// What was measured.
    pub results: Results,
    /// Files of the report.
    pub written: Vec<PathBuf>,
}

/// Checks paths before any work: the data folder and the report folder must be usable.
pub fn check_paths(data_dir: &Path, out: &Path) -> Result<()> {
    crate::error::writable_dir(data_dir, "--data-dir")?;
    crate::report::check_replaceable(out)?;
    Ok(())
}

/// Runs the suite: dataset, steps, results, report.
pub fn run(options: &SuiteOptions) -> Result<SuiteOutcome> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    if options.specs.is_empty() {
        return Err(crate::error::input(
            "no experiment to run (no spec given, or none with run_all = true in --experiments); nothing was measured and the old report is kept",
        ));
    }
    crate::spec::check_against(&options.specs, &options.dataset)?;
    check_paths(&options.data_dir, &options.out)?;
    crate::interrupt::install();
    for line in crate::console::announce(&options.specs, &options.data_dir, &options.out, &options.run.numpy)
    {
        crate::errln!("{line}");
    }

    let _data_lock = dataset::lock(&options.data_dir)?;
    let dataset_began = Instant::now();
    let _out_lock = crate::fsio::FolderLock::acquire(&options.out, "--out")?;
    let (data, provenance) = if options.regenerate {
        let t = Instant::now();
        let d = dataset::regenerate_held(&options.dataset, &options.data_dir, options.files, &_data_lock)?;
        (d, Provenance::Generated { reason: "--regenerate".to_owned(), elapsed: t.elapsed() })
    } else {
        dataset::ensure_held(&options.dataset, &options.data_dir, options.files, &_data_lock)?
    };
    match &provenance {
        Provenance::Reused => {
            crate::errln!("dataset: reusing {} (its manifest vouches for it)", options.data_dir.display())
        }
        Provenance::Generated { reason, elapsed } => {
            crate::errln!("dataset: generated in {} ({reason})", human_nanos(elapsed.as_nanos() as u64))
        }
    }

    let specs: Vec<ExperimentSpec> = options.specs.iter().map(|s| s.spec.clone()).collect();
    let mut stages = vec![StageTime { stage: "dataset".to_owned(), ns: nanos(dataset_began) }];
    let formats_began = Instant::now();
    let formats = crate::child::formats::ensure_in_child(&data, &crate::spec::formats_of(&specs))?;
    stages.push(StageTime { stage: "formats".to_owned(), ns: nanos(formats_began) });
    let plans = runner::plan(&specs, &data, &options.run);
    if plans.is_empty() {
        return Err(crate::error::input(format!(
            "the {} experiment(s) asked for have no step under the chosen --cache; nothing was measured and the old report is kept",
            specs.len()
        )));
    }
    let id_width = plans.iter().map(|p| p.result_id().len()).max().unwrap_or(0);
    let bar = crate::progress::items_bar(plans.len() as u64, "steps");
    let under_way = |p: &crate::step::StepPlan| format!("{} {}", p.result_id(), p.cache.name());
    if let Some(first) = plans.first() {
        bar.set_message(under_way(first));
    }
    let mut report = |i: usize, step: &StepResult| {
        let line = crate::console::step_line(i, plans.len(), id_width, step);
        if bar.is_hidden() {
            crate::errln!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        if let Some(next) = plans.get(i + 1) {
            bar.set_message(under_way(next));
        }
    };
    // Warm steps first, then the cold ones; between them the file is evicted anyway, and a
    // plain sequential read of it gives the cold passes their limit.
    let split = plans.iter().position(|p| p.cache == CacheState::Cold).unwrap_or(plans.len());
    let t = Instant::now();
    let (mut steps, mut complete) = runner::run_steps(&plans[..split], &options.run, &mut report)?;
    stages.push(StageTime { stage: "warm_steps".to_owned(), ns: nanos(t) });
    let mut cold_reads = Vec::new();
    let file = data.dir.join(crate::spec::FileKind::Npy.file_name());
    if complete && split < plans.len() {
        // Timed before and after the cold steps: the disk's speed drifts, and the limit is
        // the faster of the two.
        let t = Instant::now();
        cold_reads.push(crate::cache::sequential_read(&file)?);
        let mut reading = nanos(t);
        let t = Instant::now();
        let (cold, done) = runner::run_steps(&plans[split..], &options.run, |i, s| report(split + i, s))?;
        stages.push(StageTime { stage: "cold_steps".to_owned(), ns: nanos(t) });
        if done {
            let t = Instant::now();
            cold_reads.push(crate::cache::sequential_read(&file)?);
            reading += nanos(t);
        }
        stages.push(StageTime { stage: "cold_read_limit".to_owned(), ns: reading });
        steps.extend(cold);
        complete = done;
    }
    bar.finish_and_clear();

    let with_numpy = matches!(options.run.numpy, PeerChoice::Use(_));
    let side_by_side =
        if complete && with_numpy { crate::runner::rounds::side_by_side(&plans, &steps) } else { None };
    for line in side_by_side.iter().flat_map(crate::console::headline) {
        crate::errln!("{line}");
    }
    let limits = crate::report::limits::measure(&steps, Some(&file), &cold_reads);

    let mut notes = Vec::new();
    if !complete {
        notes.push(format!(
            "The run was interrupted after {} of {} steps: the results are incomplete.",
            steps.len(),
            plans.len()
        ));
    } else if crate::interrupt::interrupted() {
        notes.push(
            "The run was interrupted during the rounds of the headline comparison: the results are incomplete."
                .to_owned(),
        );
    }
    let complete = complete && !crate::interrupt::interrupted();
    for s in steps.iter().filter(|s| s.cache_report.is_some_and(|c| !c.verified)) {
        if let Some(c) = s.cache_report {
            notes.push(format!(
                "{}: the {} cache could not be fully established ({} of {} bytes resident when the step started).",
                s.key(),
                s.cache.name(),
                c.resident_bytes,
                c.file_bytes
            ));
        }
    }
    notes.extend(crate::peer::notes(&options.run.numpy, &plans, &steps));
    let results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            mmap_lab_version: env!("CARGO_PKG_VERSION").to_owned(),
            command: options.command.clone(),
            started_at,
            wall_ns: started.elapsed().as_nanos() as u64,
            complete,
            parent_peak_rss_bytes: crate::probe::peak_rss(),
            stages,
            unexpected_outcomes: steps.iter().filter(|s| !as_expected(s)).count(),
            notes,
        },
        machine: Machine::detect(&options.data_dir),
        dataset: DatasetInfo { formats, ..dataset_info(&data, &provenance) },
        steps,
        side_by_side,
        limits,
    };
    let out = if complete { options.out.clone() } else { incomplete_dir(&options.out) };
    let written = crate::report::write_keeping(
        std::slice::from_ref(&results),
        &out,
        Some(&incomplete_dir(&options.out)),
    )?;
    Ok(SuiteOutcome { results, written })
}

fn nanos(since: Instant) -> u64 {
    since.elapsed().as_nanos() as u64
}

/// Where an interrupted run keeps what it measured: beside the report, never in it.
pub fn incomplete_dir(out: &Path) -> PathBuf {
    let name = out.file_name().map_or("reports".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!("{name}.incomplete"))
}

fn dataset_info(data: &dataset::Dataset, provenance: &Provenance) -> DatasetInfo {
    let m = &data.manifest;
    DatasetInfo {
        shape: m.shape.clone(),
        dtype: m.dtype,
        seed: m.seed,
        npy_bytes: m.npy.bytes,
        raw_bytes: m.raw.as_ref().map_or(0, |r| r.bytes),
        npy_header_bytes: m.npy_header_bytes,
        data_dir: crate::paths::portable(&data.dir).into(),
        provenance: match provenance {
            Provenance::Reused => "reused".to_owned(),
            Provenance::Generated { .. } => "generated".to_owned(),
        },
        generate_ns: match provenance {
            Provenance::Reused => None,
            Provenance::Generated { elapsed, .. } => Some(elapsed.as_nanos() as u64),
        },
        checksum: m.checksum.clone(),
        formats: Vec::new(),
    }
}

/// Whether a step ended as its spec expects and, if NumPy ran it too, NumPy agrees (a
/// step or peer stopped by an interruption is not a surprise: the run is marked incomplete).
pub fn as_expected(step: &StepResult) -> bool {
    let interrupted = step.error.as_deref() == Some(runner::INTERRUPTED);
    interrupted
        || (step.status == step.expected_status
            && step.peer.as_ref().is_none_or(|p| p.agrees || p.interrupted))
}
