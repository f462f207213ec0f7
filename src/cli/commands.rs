//! What each command does once clap has parsed it: the domain rules (which specs, which
//! data, what may be overwritten) and the calls into the library.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cache::CacheState;
use crate::dataset::{self, DatasetSpec};
use crate::dtype::Dtype;
use crate::peer::PeerChoice;
use crate::runner::RunOptions;
use crate::shape::Shape;
use crate::suite::{self, SuiteOptions};
use crate::units::{grouped, human_bytes, human_nanos};

use super::{
    CacheChoice, CheckArgs, Cli, Command, DataArgs, GenerateArgs, InspectArgs, LargerArgs, ReportArgs,
    StepArgs,
};

fn run_options(args: &StepArgs) -> Result<RunOptions> {
    let numpy = if args.no_python {
        PeerChoice::Without("the NumPy column was turned off (--no-python)".to_owned())
    } else {
        crate::peer::python::find(
            args.python.as_deref(),
            &crate::peer::python::candidates(
                &std::env::current_dir().context("cannot read the current folder")?,
            ),
        )?
    };
    Ok(RunOptions {
        caches: match args.cache {
            CacheChoice::Both => None,
            CacheChoice::Warm => Some(vec![CacheState::Warm]),
            CacheChoice::Cold => Some(vec![CacheState::Cold]),
        },
        step_timeout: Duration::from_secs(args.step_timeout.max(1)),
        numpy,
        rounds: args.rounds,
    })
}

/// Runs the parsed command; returns the process's exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::RunAll(args) => {
            let specs =
                crate::spec::load_dir(&args.experiments)?.into_iter().filter(|s| s.spec.run_all).collect();
            run_suite(&args.data, &args.steps, specs, args.out)
        }
        Command::Run(args) => {
            let specs = crate::spec::resolve(&args.specs, &args.experiments)?;
            crate::spec::check_unique(&specs)?;
            run_suite(&args.data, &args.steps, specs, args.out)
        }
        Command::Generate(args) => {
            crate::interrupt::install();
            generate(&args)
        }
        Command::LargerThanMemory(args) => larger_than_memory(args),
        Command::Report(args) => report(&args),
        Command::Inspect(args) => inspect(&args),
        Command::Lab(args) => crate::lab::command::run(args),
        Command::Check(args) => check(args),
        Command::Measure(args) => crate::measure::run(&args.options()?),
        Command::Step => step(crate::step::run),
        Command::Sharing => step(crate::step::run_sharing),
        Command::Worker => crate::step::sharing::worker().map(|()| 0),
        Command::Formats => crate::child::formats::serve().map(|()| 0),
    }
}

fn run_suite(
    data: &DataArgs,
    steps: &StepArgs,
    specs: Vec<crate::spec::LoadedSpec>,
    out: PathBuf,
) -> Result<u8> {
    run_suite_files(data, steps, specs, out, dataset::Files::Both)
}

fn larger_than_memory(args: LargerArgs) -> Result<u8> {
    let shape = match args.shape {
        Some(shape) => shape,
        None => {
            if !(args.factor.is_finite() && args.factor > 0.0) {
                return Err(crate::error::input(format!(
                    "--factor {}: give a positive multiple of the machine's memory, such as 1.25",
                    args.factor
                )));
            }
            let memory = crate::machine::Machine::detect(&args.data_dir).memory_bytes;
            let sample = 120 * 120 * 3 * 8;
            let samples = ((memory as f64 * args.factor) / sample as f64).ceil() as usize;
            Shape(vec![samples.max(1), 120, 120, 3])
        }
    };
    crate::errln!(
        "larger-than-memory: shape {} of float64, {} for X_train.npy, in {}",
        shape.python(),
        human_bytes(shape.nbytes(Dtype::F8)),
        args.data_dir.display()
    );
    let data = DataArgs { shape, dtype: Dtype::F8, seed: args.seed, data_dir: args.data_dir };
    let specs = crate::spec::load_dir(&args.experiments)?;
    run_suite_files(&data, &args.steps, specs, args.out, dataset::Files::NpyOnly)
}

fn run_suite_files(
    data: &DataArgs,
    steps: &StepArgs,
    specs: Vec<crate::spec::LoadedSpec>,
    out: PathBuf,
    files: dataset::Files,
) -> Result<u8> {
    let options = SuiteOptions {
        dataset: data.spec(),
        data_dir: data.data_dir.clone(),
        out,
        specs,
        regenerate: steps.regenerate,
        files,
        run: run_options(steps)?,
        command: crate::paths::command_line(),
    };
    let outcome = suite::run(&options, &mut crate::console::Terminal::default())?;
    let r = &outcome.results;
    let report_dir = outcome.written.first().and_then(|p| p.parent()).unwrap_or(Path::new("."));
    crate::outln!(
        "{} steps in {} ({} unexpected); runner peak RSS {}; report in {}",
        r.steps.len(),
        human_nanos(r.run.wall_ns),
        r.run.unexpected_outcomes,
        human_bytes(r.run.parent_peak_rss_bytes),
        report_dir.display()
    );
    crate::outln!("findings:");
    for line in crate::console::findings(r) {
        crate::outln!("  {line}");
    }
    if !r.run.complete {
        crate::errln!("interrupted: what was measured is in {}, marked incomplete", report_dir.display());
        return Ok(130);
    }
    Ok(if r.run.unexpected_outcomes > 0 { 1 } else { 0 })
}

fn generate(args: &GenerateArgs) -> Result<u8> {
    let spec = args.data.spec();
    let started = std::time::Instant::now();
    let held = dataset::lock(&args.data.data_dir)?;
    let progress = crate::progress::BytesProgress::default();
    let files = dataset::Files::Both;
    let data = if args.regenerate {
        dataset::regenerate_held(&spec, &args.data.data_dir, files, &held, &progress)?
    } else {
        let (data, provenance) = dataset::ensure_held(&spec, &args.data.data_dir, files, &held, &progress)?;
        if provenance == dataset::Provenance::Reused {
            crate::outln!(
                "valid data already in {} (use --regenerate to write them again)",
                args.data.data_dir.display()
            );
        }
        data
    };
    let m = &data.manifest;
    crate::outln!(
        "{}: {} bytes ({}-byte header + {} bytes of {} {})",
        data.npy_path().display(),
        grouped(m.npy.bytes),
        m.npy_header_bytes,
        grouped(m.data_bytes),
        m.dtype,
        m.shape.python()
    );
    if let Some(raw) = &m.raw {
        crate::outln!("{}: {} bytes", data.raw_path().display(), grouped(raw.bytes));
    }
    crate::outln!("checksum xxh3-64 {}, in {}", m.checksum, human_nanos(started.elapsed().as_nanos() as u64));
    Ok(0)
}

fn report(args: &ReportArgs) -> Result<u8> {
    let runs = args.results.iter().map(|p| crate::results::Results::read(p)).collect::<Result<Vec<_>>>()?;
    refuse_out_holding_an_input(&args.out, &args.results)?;
    crate::report::check_replaceable(&args.out)?;
    let _lock = crate::fsio::FolderLock::acquire(&args.out, "--out")?;
    let written = crate::report::write(&runs, &args.out)?;
    crate::outln!(
        "report of {} run{} in {}: {}",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        args.out.display(),
        written
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(0)
}

/// The report replaces `out` as a whole: refuse when an input lives in it (it would be
/// moved aside and removed), before anything is written.
fn refuse_out_holding_an_input(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(out_real) = std::fs::canonicalize(out) else { return Ok(()) };
    for input in inputs {
        let real = std::fs::canonicalize(input).unwrap_or_else(|_| input.clone());
        if real.starts_with(&out_real) {
            return Err(crate::error::input(format!(
                "--out {}: this folder holds the input {}, and the report replaces its folder as a whole; give another --out, or copy the results elsewhere first",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

fn inspect(args: &InspectArgs) -> Result<u8> {
    if args.dtype.is_none() {
        if let Some(report) = crate::inspect::inspect_container(&args.file)? {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", crate::inspect::container::render(&report));
            }
            return Ok(0);
        }
    }
    let raw = args.dtype.map(|dtype| crate::inspect::RawLayout {
        dtype,
        shape: args.shape.clone(),
        offset: args.offset,
    });
    let report = crate::inspect::inspect(&args.file, raw.as_ref())?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        crate::out!("{}", crate::inspect::render_text(&report));
    }
    Ok(0)
}

fn check(args: CheckArgs) -> Result<u8> {
    let source = match args.results {
        Some(path) => crate::check::Source::Results(path),
        None => {
            let specs = if args.specs.is_empty() {
                crate::spec::load_dir(&args.experiments)?
                    .into_iter()
                    .filter(|s| {
                        s.spec.run_all
                            && s.spec.group == crate::spec::TUTORIAL
                            && s.spec.open.method != crate::spec::Method::Load
                    })
                    .collect()
            } else {
                let specs =
                    args.specs.iter().map(|p| crate::spec::load_file(p)).collect::<Result<Vec<_>>>()?;
                crate::spec::check_unique(&specs)?;
                specs
            };
            if specs.is_empty() {
                return Err(crate::error::input(format!(
                    "--experiments {}: no spec there maps the file (run_all = true, method load_mmap or memmap); give spec files or another folder",
                    args.experiments.display()
                )));
            }
            let dataset = DatasetSpec { shape: args.shape, dtype: args.dtype, seed: 0 };
            crate::spec::check_against(&specs, &dataset)?;
            crate::check::Source::Live(crate::check::LiveOptions {
                dataset,
                data_dir: args.data_dir,
                specs: specs.into_iter().map(|s| s.spec).collect(),
                repeats: args.repeats,
                step_timeout: crate::runner::DEFAULT_STEP_TIMEOUT,
            })
        }
    };
    crate::check::run(&crate::check::CheckOptions {
        baseline: args.baseline,
        save_baseline: args.save_baseline,
        source,
        time_factor: args.time_factor,
        time_floor: args.time_floor,
        json: args.json,
        command: crate::paths::command_line(),
    })
}

/// A step's child process: the plan on stdin, the step run by `run`, its result on stdout.
fn step(run: fn(&crate::step::StepPlan) -> Result<crate::results::StepResult>) -> Result<u8> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).context("reading the step plan from stdin")?;
    let plan: crate::step::StepPlan =
        serde_json::from_slice(&input).context("the step plan on stdin is not valid")?;
    let result = run(&plan)?;
    serde_json::to_writer(std::io::stdout().lock(), &result)?;
    Ok(0)
}
