//! The command line: parsed by clap into typed options, checked, then handed to the
//! library. Nothing here measures.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cache::CacheState;
use crate::dataset::{self, DatasetSpec};
use crate::dtype::Dtype;
use crate::runner::RunOptions;
use crate::shape::Shape;
use crate::suite::{self, SuiteOptions};
use crate::units::{grouped, human_bytes, human_nanos};

/// mmap-lab: NumPy's memory-mapping tutorial, reproduced and measured.
///
/// Generates the tutorial's training array (4002 x 120 x 120 x 3 float64) as X_train.npy
/// and X_train_raw.rbf, opens it every way the tutorial does, each step in a fresh process,
/// and measures what really happens: RSS split into file-backed and anonymous memory, page
/// faults, page-cache residency, object size and time, with a warm and a cold page cache.
#[derive(Debug, Parser)]
#[command(name = "mmap-lab", version, about, long_about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the data, run every experiment in experiments/ and rebuild reports/.
    ///
    /// The main job: at the tutorial's full size it writes two files of 1.38 GB (reused
    /// on later runs while their manifest vouches for them) and takes under a minute.
    #[command(name = "run-all")]
    RunAll(RunAllArgs),
    /// Run chosen experiment specs (yours too) the way run-all does.
    Run(RunArgs),
    /// Generate X_train.npy and X_train_raw.rbf (reused when already valid).
    Generate(GenerateArgs),
    /// Check mapping costs against a baseline, for CI: exit 0 if all hold, 1 on a regression.
    ///
    /// Measures the tutorial's mapping steps on a small dataset (memory in a fresh child
    /// process per step and repetition, times in this process) and compares every metric
    /// with a baseline made earlier with --save-baseline: header bytes and each step's
    /// outcome (status, dtype, shape, original or not) must be equal; object size and RSS
    /// growth at after_open and after_first may grow only by a small slack; open, first
    /// element and full-pass times are compared as ratios to an in-memory pass measured in
    /// the same run, so a slower or busier machine does not read as a regression. Prints a
    /// table (metric, baseline, now, allowed, verdict), or JSON with --json. Exit codes: 0
    /// all hold, 1 regression, 2 usage or input error (missing, corrupt or mismatched
    /// baseline).
    Check(CheckArgs),
    /// Run one step in this process (used by the runner; reads a plan on stdin).
    #[command(name = "__step", hide = true)]
    Step,
}

/// Which data to generate.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Shape of the array: dimensions separated by x, e.g. 40x120x120x3.
    #[arg(long, default_value = "4002x120x120x3", value_parser = Shape::parse)]
    pub shape: Shape,
    /// Element type: f8 (float64), f4 (float32) or u1 (uint8 pictures, 0..255).
    #[arg(long, default_value = "f8", value_parser = parse_generated_dtype)]
    pub dtype: Dtype,
    /// Seed of the pictures: the same seed gives the same bytes on every machine.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder for the data files (created if missing; kept out of git).
    #[arg(long, default_value_os_t = default_root().join("data"))]
    pub data_dir: PathBuf,
}

impl DataArgs {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec { shape: self.shape.clone(), dtype: self.dtype, seed: self.seed }
    }
}

/// Options of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Regenerate even when valid files exist.
    #[arg(long)]
    force: bool,
}

/// Which cache states to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheChoice {
    /// Each spec's own list (warm and cold for the tutorial's steps).
    Both,
    /// Warm only: the file read through just before.
    Warm,
    /// Cold only: the file evicted from the page cache just before.
    Cold,
}

/// Options shared by `run` and `run-all`.
#[derive(Debug, Args)]
pub struct StepArgs {
    /// Cache states to run.
    #[arg(long, value_enum, default_value_t = CacheChoice::Both)]
    cache: CacheChoice,
    /// Regenerate the data even if valid files exist.
    #[arg(long)]
    regenerate: bool,
    /// Kill a step still running after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    step_timeout: u64,
}

/// Options of `run-all`.
#[derive(Debug, Args)]
pub struct RunAllArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    steps: StepArgs,
    /// Folder of experiment specs (*.toml); run-all runs those with run_all = true.
    #[arg(long, default_value_os_t = default_root().join("experiments"))]
    experiments: PathBuf,
    /// Report folder, replaced as a whole when the run completes.
    #[arg(long, default_value_os_t = default_root().join("reports"))]
    out: PathBuf,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment spec files to run.
    #[arg(required = true, value_name = "SPEC")]
    specs: Vec<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    steps: StepArgs,
    /// Report folder for this run.
    #[arg(long, default_value = "mmap-lab-run")]
    out: PathBuf,
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Baseline to compare with: a JSON file written by `check --save-baseline`.
    #[arg(long, value_name = "FILE", required_unless_present = "save_baseline")]
    baseline: Option<PathBuf>,
    /// Save this run's measurement as a baseline (written aside, then renamed into place).
    #[arg(long, value_name = "FILE")]
    save_baseline: Option<PathBuf>,
    /// Compare the warm steps of a results.json from `run` or `run-all` instead of
    /// measuring (times then need its npy_load step as the in-memory reference).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["specs", "experiments", "shape", "dtype", "data_dir", "repeats"])]
    results: Option<PathBuf>,
    /// Spec files to measure instead of the tutorial's mapping steps in --experiments.
    #[arg(value_name = "SPEC")]
    specs: Vec<PathBuf>,
    /// Folder of specs; check measures those with run_all = true that map the file
    /// (method load_mmap or memmap), under a warm cache.
    #[arg(long, value_name = "DIR", default_value_os_t = default_root().join("experiments"), conflicts_with = "specs")]
    experiments: PathBuf,
    /// Shape of the dataset measured; must be the baseline's.
    #[arg(long, default_value = "64x120x120x3", value_parser = Shape::parse)]
    shape: Shape,
    /// Element type of the dataset: f8, f4 or u1; must be the baseline's.
    #[arg(long, default_value = "f8", value_parser = parse_generated_dtype)]
    dtype: Dtype,
    /// Folder for the check's dataset (generated if missing or stale, then reused).
    #[arg(long, value_name = "DIR", default_value_os_t = default_root().join("data").join("check"))]
    data_dir: PathBuf,
    /// Child processes per step for memory, and timed repetitions per step; medians kept.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeats: u32,
    /// A time fails when above this many times its expected value [default: the
    /// baseline's, 3 for a new one].
    #[arg(long, value_name = "FACTOR")]
    time_factor: Option<f64>,
    /// A time fails only when it is also more than this above its expected value: the
    /// noise floor, e.g. 50us or 1ms [default: the baseline's, 50us for a new one].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    time_floor: Option<Duration>,
    /// Print the comparison as JSON (rows, tolerances, measurement) instead of a table.
    #[arg(long)]
    json: bool,
}

/// The project's folder when run from a checkout (experiments/ beside Cargo.toml), else
/// the current folder.
pub fn default_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if manifest.join("experiments").is_dir() { manifest } else { PathBuf::from(".") }
}

fn parse_generated_dtype(text: &str) -> std::result::Result<Dtype, String> {
    let dtype = Dtype::parse(text).map_err(|e| e.to_string())?;
    if DatasetSpec::DTYPES.contains(&dtype) {
        Ok(dtype)
    } else {
        Err(format!("mmap-lab generates f8 (float64), f4 (float32) or u1 (uint8), not {dtype}"))
    }
}

fn command_line() -> String {
    std::env::args()
        .map(|a| if a.contains(char::is_whitespace) { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run_options(args: &StepArgs) -> RunOptions {
    RunOptions {
        caches: match args.cache {
            CacheChoice::Both => None,
            CacheChoice::Warm => Some(vec![CacheState::Warm]),
            CacheChoice::Cold => Some(vec![CacheState::Cold]),
        },
        step_timeout: Duration::from_secs(args.step_timeout.max(1)),
    }
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
            let specs = args.specs.iter().map(|p| crate::spec::load_file(p)).collect::<Result<Vec<_>>>()?;
            crate::spec::check_unique(&specs)?;
            run_suite(&args.data, &args.steps, specs, args.out)
        }
        Command::Generate(args) => generate(&args),
        Command::Check(args) => check(args),
        Command::Step => step(),
    }
}

fn run_suite(
    data: &DataArgs,
    steps: &StepArgs,
    specs: Vec<crate::spec::LoadedSpec>,
    out: PathBuf,
) -> Result<u8> {
    let options = SuiteOptions {
        dataset: data.spec(),
        data_dir: data.data_dir.clone(),
        out,
        specs,
        regenerate: steps.regenerate,
        run: run_options(steps),
        command: command_line(),
    };
    let outcome = suite::run(&options)?;
    let r = &outcome.results;
    let report_dir = outcome.written.first().and_then(|p| p.parent()).unwrap_or(Path::new("."));
    println!(
        "{} steps in {} ({} unexpected); runner peak RSS {}; report in {}",
        r.steps.len(),
        human_nanos(r.run.wall_ns),
        r.run.unexpected_outcomes,
        human_bytes(r.run.parent_peak_rss_bytes),
        report_dir.display()
    );
    if !r.run.complete {
        eprintln!("interrupted: what was measured is in {}, marked incomplete", report_dir.display());
        return Ok(130);
    }
    Ok(if r.run.unexpected_outcomes > 0 { 1 } else { 0 })
}

fn generate(args: &GenerateArgs) -> Result<u8> {
    let spec = args.data.spec();
    let started = std::time::Instant::now();
    let data = if args.force {
        dataset::regenerate(&spec, &args.data.data_dir)?
    } else {
        let (data, provenance) = dataset::ensure(&spec, &args.data.data_dir)?;
        if provenance == dataset::Provenance::Reused {
            println!("valid data already in {} (use --force to regenerate)", args.data.data_dir.display());
        }
        data
    };
    let m = &data.manifest;
    println!(
        "{}: {} bytes ({}-byte header + {} bytes of {} {})",
        data.npy_path().display(),
        grouped(m.npy.bytes),
        m.npy_header_bytes,
        grouped(m.data_bytes),
        m.dtype,
        m.shape.python()
    );
    println!("{}: {} bytes", data.raw_path().display(), grouped(m.raw.bytes));
    println!("checksum xxh3-64 {}, in {}", m.checksum, human_nanos(started.elapsed().as_nanos() as u64));
    Ok(0)
}

fn check(args: CheckArgs) -> Result<u8> {
    let source = match args.results {
        Some(path) => crate::check::Source::Results(path),
        None => {
            let specs = if args.specs.is_empty() {
                crate::spec::load_dir(&args.experiments)?
                    .into_iter()
                    .filter(|s| s.spec.run_all && s.spec.open.method != crate::spec::Method::Load)
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
            crate::check::Source::Live(crate::check::LiveOptions {
                dataset: DatasetSpec { shape: args.shape, dtype: args.dtype, seed: 0 },
                data_dir: args.data_dir,
                specs: specs.into_iter().map(|s| s.spec).collect(),
                repeats: args.repeats,
                step_timeout: suite::STEP_TIMEOUT,
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
        command: command_line(),
    })
}

fn step() -> Result<u8> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).context("reading the step plan from stdin")?;
    let plan: crate::step::StepPlan =
        serde_json::from_slice(&input).context("the step plan on stdin is not valid")?;
    let result = crate::step::run(&plan)?;
    serde_json::to_writer(std::io::stdout().lock(), &result)?;
    Ok(0)
}
