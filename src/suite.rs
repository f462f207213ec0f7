//! `run-all` and `run`, as the stages of the diagram: check -> dataset -> plan -> steps
//! (each with its NumPy peer and rounds) -> headline rounds -> results -> report. Each stage
//! is one function below, in that order; none prints: they tell a [`RunObserver`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::dataset::{self, DatasetSpec, Provenance};
use crate::machine::Machine;
use crate::observe::RunObserver;
use crate::peer::PeerChoice;
use crate::results::{DatasetInfo, Results, RunInfo, SCHEMA_VERSION, SideBySide, StageTime, StepResult};
use crate::runner::{self, RunOptions};
use crate::spec::{ExperimentSpec, LoadedSpec};
use crate::step::StepPlan;

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

/// Runs the suite as its stages: check, dataset, plan, steps (with their NumPy peers),
/// headline rounds, results, report. The stages print nothing: they tell `observer`.
pub fn run(options: &SuiteOptions, observer: &mut dyn RunObserver) -> Result<SuiteOutcome> {
    let clock = Clock::start();
    check(options)?;
    crate::interrupt::install();
    observer.starting(&options.specs, &options.data_dir, &options.out, &options.run.numpy);
    let data_lock = dataset::lock(&options.data_dir)?;
    let _out_lock = crate::fsio::FolderLock::acquire(&options.out, "--out")?;
    let mut stages = Vec::new();
    let t = Instant::now();
    let (data, provenance) = prepare_dataset(options, &data_lock, observer)?;
    stages.push(StageTime::since("dataset", t));
    let specs: Vec<ExperimentSpec> = options.specs.iter().map(|s| s.spec.clone()).collect();
    let t = Instant::now();
    let formats = crate::child::formats::ensure_in_child(&data, &crate::spec::formats_of(&specs), |f| {
        observer.writing_formats(f)
    })?;
    stages.push(StageTime::since("formats", t));
    let mut plans = plan(&specs, &data, options)?;
    observer.steps_planned(&plans);
    let ran = run_steps(&mut plans, &data, options, observer, &mut stages)?;
    let side_by_side = headline_rounds(&plans, &ran, options, observer);
    let results = assemble(
        options,
        &clock,
        Assembly { plans: &plans, data, provenance, formats, stages, ran, side_by_side },
    );
    let written = write_report(&results, options)?;
    Ok(SuiteOutcome { results, written })
}

/// When the run began, by the clock and the calendar.
struct Clock {
    started: Instant,
    started_at: String,
}

impl Clock {
    fn start() -> Clock {
        let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        Clock { started: Instant::now(), started_at }
    }
}

/// Stage 0: everything that can refuse, before anything is written or measured.
fn check(options: &SuiteOptions) -> Result<()> {
    if options.specs.is_empty() {
        return Err(crate::error::input(
            "no experiment to run (no spec given, or none with run_all = true in --experiments); nothing was measured and the old report is kept",
        ));
    }
    crate::spec::check_against(&options.specs, &options.dataset)?;
    check_paths(&options.data_dir, &options.out)
}

/// Stage 1: the dataset, reused when its manifest vouches for it, generated otherwise.
fn prepare_dataset(
    options: &SuiteOptions,
    held: &crate::fsio::FolderLock,
    observer: &mut dyn RunObserver,
) -> Result<(dataset::Dataset, Provenance)> {
    let (spec, dir, files) = (&options.dataset, &options.data_dir, options.files);
    let (data, provenance) = if options.regenerate {
        let t = Instant::now();
        let data = dataset::regenerate_held(spec, dir, files, held, observer.progress())?;
        (data, Provenance::Generated { reason: "--regenerate".to_owned(), elapsed: t.elapsed() })
    } else {
        dataset::ensure_held(spec, dir, files, held, observer.progress())?
    };
    observer.dataset_ready(dir, &provenance);
    Ok((data, provenance))
}

/// Stage 2: one plan per step, warm steps first.
fn plan(specs: &[ExperimentSpec], data: &dataset::Dataset, options: &SuiteOptions) -> Result<Vec<StepPlan>> {
    let plans = runner::plan(specs, data, &options.run);
    if plans.is_empty() {
        return Err(crate::error::input(format!(
            "the {} experiment(s) asked for have no step under the chosen --cache; nothing was measured and the old report is kept",
            specs.len()
        )));
    }
    Ok(plans)
}

/// What the steps stage ran.
struct Ran {
    /// One result per plan run, in the plans' order.
    steps: Vec<StepResult>,
    /// Every plan ran (no Ctrl-C before the last).
    all_ran: bool,
    /// The file the cold passes are judged against.
    file: PathBuf,
    /// Its plain sequential read, just before the cold steps.
    cold_reads: Vec<crate::cache::SequentialRead>,
    /// The idle-page reclaimer, in words, for which the files dropped for the memory reserve
    /// were not read back at the end.
    restore_skipped: Option<String>,
}

/// Stage 3: every step in a child process, with its NumPy peer and rounds, in the runner's
/// stages ([`runner::Stage`]): warm steps, the steps with workers, then cold steps. Before
/// the cold steps the file is evicted anyway, and one plain sequential read of it gives the
/// cold passes their limit. (A second read after the cold steps, for the disk's drift, cost
/// 2.7 s of a full-size run and moved the limit by a few percent: the steps' own rounds
/// alternate, the limit is read once.) One memory reserve serves all the stages; when it
/// ends, the dataset files dropped for it are read back ([`runner::memory::restore`]). The
/// results come back in the report's order ([`runner::report_order`]).
fn run_steps(
    plans: &mut Vec<StepPlan>,
    data: &dataset::Dataset,
    options: &SuiteOptions,
    observer: &mut dyn RunObserver,
    stages: &mut Vec<StageTime>,
) -> Result<Ran> {
    let file = data.dir.join(crate::spec::FileKind::Npy.file_name());
    let mut cold_reads = Vec::new();
    let mut reserve = crate::cache::MemoryReserve::new();
    let mut steps: Vec<StepResult> = Vec::with_capacity(plans.len());
    let mut complete = true;
    let mut at = 0;
    while complete && at < plans.len() {
        let stage = runner::Stage::of(&plans[at]);
        let end =
            plans[at..].iter().position(|p| runner::Stage::of(p) != stage).map_or(plans.len(), |n| at + n);
        if stage == runner::Stage::Cold {
            let t = Instant::now();
            cold_reads.push(crate::cache::sequential_read(&file)?);
            stages.push(StageTime::since("cold_read_limit", t));
        }
        let t = Instant::now();
        let (ran, done) = runner::run_steps(&plans[at..end], &options.run, &mut reserve, |i, s| {
            observer.step_finished(at + i, s)
        })?;
        stages.push(StageTime::since(stage.name(), t));
        steps.extend(ran);
        complete = done;
        at = end;
    }
    // The reserve's memory, freed just now, takes the dataset files dropped for it back into
    // the page cache: the next run finds them as this one did. Not on a machine that pages
    // out idle page cache: within seconds it takes a few MB of a file read back whole (the
    // raw file lost 4 MB in 5 s on the project's VM), and the next run's dataset check reads
    // a file with holes again from the disk anyway (`cache::refill`): the read back cost a
    // full-size run 1.0-1.2 s for nothing.
    drop(reserve);
    let mut restore_skipped = None;
    if complete {
        let dropped = plans[..steps.len()].iter().any(|p| !p.release_before.is_empty());
        match crate::machine::idle_page_reclaimer() {
            Some(reclaimer) => restore_skipped = dropped.then_some(reclaimer),
            None => {
                let t = Instant::now();
                runner::memory::restore(&plans[..steps.len()]);
                stages.push(StageTime::since("restore_cache", t));
            }
        }
    }
    observer.steps_done();
    // Back in the report's order, plans and results alike (an interrupted run's steps that
    // ran among themselves, the plans that did not run after them).
    let specs: Vec<ExperimentSpec> = options.specs.iter().map(|s| s.spec.clone()).collect();
    let ran = steps.len();
    let order = runner::report_order(&plans[..ran], &specs);
    let mut taken: Vec<Option<(StepPlan, StepResult)>> = plans.drain(..ran).zip(steps).map(Some).collect();
    let mut steps = Vec::with_capacity(ran);
    let mut ordered = Vec::with_capacity(plans.len() + ran);
    for i in order {
        let (plan, result) = taken[i].take().expect("each position once");
        ordered.push(plan);
        steps.push(result);
    }
    ordered.append(plans);
    *plans = ordered;
    Ok(Ran { steps, all_ran: complete, file, cold_reads, restore_skipped })
}

/// Stage 4: the headline comparison, from the rounds its step ran with NumPy.
fn headline_rounds(
    plans: &[StepPlan],
    ran: &Ran,
    options: &SuiteOptions,
    observer: &mut dyn RunObserver,
) -> Option<SideBySide> {
    let with_numpy = matches!(options.run.numpy, PeerChoice::Use(_));
    let side = (ran.all_ran && with_numpy).then(|| runner::rounds::side_by_side(plans, &ran.steps)).flatten();
    if let Some(side) = &side {
        observer.headline(side);
    }
    side
}

/// What the stages produced, for [`assemble`].
struct Assembly<'a> {
    plans: &'a [StepPlan],
    data: dataset::Dataset,
    provenance: Provenance,
    formats: Vec<crate::formats::FormatFile>,
    stages: Vec<StageTime>,
    ran: Ran,
    side_by_side: Option<SideBySide>,
}

/// Stage 5: the record of the run, `results.json`'s content.
fn assemble(options: &SuiteOptions, clock: &Clock, a: Assembly) -> Results {
    let Ran { steps, all_ran, file, cold_reads, restore_skipped } = a.ran;
    let limits = crate::report::limits::measure(&steps, Some(&file), &cold_reads);
    let mut notes = notes(options, a.plans, all_ran, &steps);
    if let Some(reclaimer) = restore_skipped {
        notes.push(restore_skipped_note(&reclaimer));
    }
    let complete = all_ran && !crate::interrupt::interrupted();
    Results {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            mmap_lab_version: env!("CARGO_PKG_VERSION").to_owned(),
            command: options.command.clone(),
            started_at: clock.started_at.clone(),
            wall_ns: nanos(clock.started),
            complete,
            parent_peak_rss_bytes: crate::probe::peak_rss(),
            stages: a.stages,
            unexpected_outcomes: steps.iter().filter(|s| !as_expected(s)).count(),
            notes,
        },
        machine: Machine::detect(&options.data_dir),
        dataset: DatasetInfo { formats: a.formats, ..dataset_info(&a.data, &a.provenance) },
        steps,
        side_by_side: a.side_by_side,
        limits,
    }
}

/// The note of a run that did not read back the files dropped for its memory reserve, on a
/// machine running `reclaimer`.
fn restore_skipped_note(reclaimer: &str) -> String {
    format!(
        "The dataset files dropped for the memory reserve were not read back into the page cache at the end: \
         this machine pages out idle page cache ({reclaimer}), so they would not stay whole until the next \
         run, whose dataset check reads them again from the disk anyway."
    )
}

/// The run's notes: an interruption, caches that could not be established, the NumPy
/// column's own.
fn notes(options: &SuiteOptions, plans: &[StepPlan], all_ran: bool, steps: &[StepResult]) -> Vec<String> {
    let mut notes = Vec::new();
    if !all_ran {
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
    for s in steps {
        if let Some(c) = s.cache_report.filter(|c| !c.verified) {
            notes.push(format!(
                "{}: the {} cache could not be fully established ({} of {} bytes resident when the step started).",
                s.key(),
                s.cache.name(),
                c.resident_bytes,
                c.file_bytes
            ));
        }
    }
    notes.extend(crate::peer::notes(&options.run.numpy, plans, steps));
    notes
}

/// Stage 6: the report, written whole or not at all; an incomplete run's beside it.
fn write_report(results: &Results, options: &SuiteOptions) -> Result<Vec<PathBuf>> {
    let keep = incomplete_dir(&options.out);
    let out = if results.run.complete { options.out.clone() } else { keep.clone() };
    crate::report::write_keeping(std::slice::from_ref(results), &out, Some(&keep))
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
