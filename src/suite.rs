//! `run-all` and `run`: specs -> dataset -> runner -> results -> report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::dataset::{self, DatasetSpec, Provenance};
use crate::machine::Machine;
use crate::peer::PeerChoice;
use crate::results::{DatasetInfo, Results, RunInfo, SCHEMA_VERSION, StepResult};
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
    let formats = crate::child::formats::ensure_in_child(&data, &crate::spec::formats_of(&specs))?;
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
    let (steps, complete) = runner::run_steps(&plans, &options.run, |i, step| {
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
    })?;
    bar.finish_and_clear();

    let with_numpy = matches!(options.run.numpy, PeerChoice::Use(_));
    let side_by_side = if complete && with_numpy && options.run.rounds > 1 {
        let bar = crate::progress::items_bar(u64::from(options.run.rounds), "rounds");
        bar.set_message("the headline step again, Rust and NumPy in turn");
        bar.inc(1);
        let side = crate::runner::rounds::run(&plans, &steps, &options.run, |_| bar.inc(1))?;
        bar.finish_and_clear();
        for line in side.iter().flat_map(crate::console::headline) {
            crate::errln!("{line}");
        }
        side
    } else {
        None
    };

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
            unexpected_outcomes: steps.iter().filter(|s| !as_expected(s)).count(),
            notes,
        },
        machine: Machine::detect(&options.data_dir),
        dataset: DatasetInfo { formats, ..dataset_info(&data, &provenance) },
        steps,
        side_by_side,
    };
    let out = if complete { options.out.clone() } else { incomplete_dir(&options.out) };
    let written = crate::report::write_keeping(
        std::slice::from_ref(&results),
        &out,
        Some(&incomplete_dir(&options.out)),
    )?;
    Ok(SuiteOutcome { results, written })
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
