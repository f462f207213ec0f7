//! The command line: parsed by clap into typed options, checked, then handed to the
//! library. Nothing here measures.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::dataset::DatasetSpec;
use crate::dtype::Dtype;
use crate::shape::Shape;

mod commands;

/// The help texts' examples, a leaf of their own ([`crate::examples`]) that `lab` can use too.
pub use crate::examples;

pub use self::commands::run;

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
    /// The main job: at the tutorial's full size it writes 3.3 GB in the data folder: the
    /// array as .npy and raw (1.38 GB each), and its first 400 samples in two copies for the
    /// faults steps and in five format files (reused on later runs while their manifests
    /// vouch for them; the copies are written again each run).
    #[command(name = "run-all", after_help = examples::RUN_ALL)]
    RunAll(RunAllArgs),
    /// Run chosen experiment specs (yours too) the way run-all does.
    #[command(after_help = examples::RUN)]
    Run(RunArgs),
    /// Generate X_train.npy and X_train_raw.rbf (reused when already valid).
    #[command(after_help = examples::GENERATE)]
    Generate(GenerateArgs),
    /// Map an array larger than this machine's memory: RSS levels off, a full load fails.
    ///
    /// Not part of run-all: it writes one .npy of 1.25 x the machine's memory (about 30 GB
    /// on a 24 GiB machine), refusing clearly when the disk cannot hold it.
    #[command(name = "larger-than-memory", after_help = examples::LARGER)]
    LargerThanMemory(LargerArgs),
    /// Rebuild a report (markdown, plots, CSV) from results files alone, without measuring.
    ///
    /// Given one results.json it redraws that run's report; given several (the runs of a
    /// course's students, or of a CI matrix across kernels and file systems) it draws them
    /// side by side, in every plot and in tables with a column per run.
    #[command(after_help = examples::REPORT)]
    Report(ReportArgs),
    /// Show what a .npy file holds, byte by byte, and the exact call that maps it.
    ///
    /// For a .npy file: magic, version, header length, the header dict, dtype, shape,
    /// order, where the data starts, its expected and actual size, and the np.memmap and
    /// mmap-lab calls that map it correctly. With --dtype (and --shape, --offset) FILE is
    /// read as raw bytes, like X.tofile writes them, and its size is checked against them.
    /// A corrupt or truncated file is refused with the reason (exit code 2).
    #[command(after_help = examples::INSPECT)]
    Inspect(InspectArgs),
    /// Coursework labs: predict, measure, explain (list, show, init, run, check).
    ///
    /// Each lab asks questions about what the experiments will measure; `lab run` measures
    /// and grades the answers, explaining the ones that missed.
    #[command(after_help = examples::LAB)]
    Lab(crate::lab::command::LabArgs),
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
    #[command(after_help = examples::CHECK)]
    Check(CheckArgs),
    /// Measure any program's memory from outside: its whole process tree, per mapped file,
    /// over time and at the phases it marks, explained in words.
    ///
    /// Runs CMD (or attaches to --pid) and samples every process of its tree: RSS and PSS
    /// split into anonymous, file and shared memory, private dirty and shared clean pages,
    /// page tables, faults, bytes read, and for every mapped file each process's RSS and
    /// PSS of it and its page-cache residency. Writes measure.json as it goes and a report
    /// with --out; checks --max-own and --max-pss at every sample.
    Measure(crate::measure::args::MeasureArgs),
    /// Run one step in this process (used by the runner; reads a plan on stdin).
    #[command(name = "__step", hide = true)]
    Step,
    /// Run one sharing step in this process, its workers in theirs (used by the runner).
    #[command(name = "__sharing", hide = true)]
    Sharing,
    /// Be one worker of a sharing step (used by the runner; reads a plan on stdin).
    #[command(name = "__worker", hide = true)]
    Worker,
    /// Write and check the files of other formats (used by the runner; reads a plan on stdin).
    #[command(name = "__formats", hide = true)]
    Formats,
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
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: u64,
    /// Folder for the data files (created if missing; kept out of git).
    #[arg(long, default_value = "data")]
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
    /// Regenerate even when valid files exist (`--force` is the old name, still accepted).
    #[arg(long, alias = "force")]
    regenerate: bool,
}

/// Which cache states to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheChoice {
    /// Each spec's own list (warm and cold for the tutorial's steps).
    Both,
    /// Warm only: every page of the file in the page cache (read through if need be).
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
    #[arg(long, default_value_t = crate::runner::DEFAULT_STEP_TIMEOUT.as_secs(), value_name = "SECONDS")]
    step_timeout: u64,
    /// Python for the NumPy column: every step is run a second time by NumPy itself
    /// (experiments/tutorial.py) and must agree with the Rust step. Without this flag,
    /// mmap-lab tries .venv/bin/python in the current folder, then the .venv of the
    /// project folder it was built in (if it still exists), then python3 on the PATH, and
    /// uses the first that can import numpy; the start of the run names it.
    #[arg(long, value_name = "PATH", conflicts_with = "no_python")]
    python: Option<PathBuf>,
    /// Run without the NumPy column, even when a Python with NumPy is at hand.
    #[arg(long)]
    no_python: bool,
    /// Rounds of the headline comparison with NumPy: the tutorial's first step (warm) is
    /// run this many times in all, Rust and NumPy taking turns at going first, each in a
    /// fresh process, and the report gives medians and ranges. Every other step with a
    /// NumPy peer runs at most this many and at most 2 (1 when a round takes over 6 s, and
    /// for the sharing steps). 1 runs every step once.
    #[arg(long, default_value_t = crate::runner::rounds::DEFAULT_ROUNDS, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
}

/// Options of `run-all`.
#[derive(Debug, Args)]
pub struct RunAllArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    steps: StepArgs,
    /// Folder of experiment specs (*.toml); run-all runs those with run_all = true.
    #[arg(long, default_value_os_t = crate::assets::experiments_dir())]
    experiments: PathBuf,
    /// Report folder, replaced as a whole when the run completes.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
}

/// Options of `larger-than-memory`.
#[derive(Debug, Args)]
pub struct LargerArgs {
    /// Size of the array as a multiple of the machine's total memory.
    #[arg(long, default_value_t = 1.25)]
    factor: f64,
    /// Shape instead of one computed from --factor (samples of 120x120x3 float64).
    #[arg(long, value_parser = Shape::parse)]
    shape: Option<Shape>,
    /// Seed of the pictures.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse_seed)]
    seed: u64,
    /// Folder for the large .npy (kept apart from run-all's data).
    #[arg(long, default_value = "data/larger-than-memory")]
    data_dir: PathBuf,
    /// Folder of the experiment specs for this run.
    #[arg(long, default_value_os_t = crate::assets::larger_than_memory_dir())]
    experiments: PathBuf,
    /// Report folder.
    #[arg(long, default_value = "data/larger-than-memory-report")]
    out: PathBuf,
    #[command(flatten)]
    steps: StepArgs,
}

/// Options of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The file: a .npy, or raw bytes when --dtype is given.
    file: PathBuf,
    /// Read FILE as raw bytes of this element type (f8, float32, <i2, >f8, u1, ...).
    #[arg(long, value_parser = parse_dtype)]
    dtype: Option<Dtype>,
    /// Raw bytes: the array's shape, e.g. 4002x120x120x3 (default: 1-D over all bytes after the offset).
    #[arg(long, requires = "dtype", value_parser = Shape::parse)]
    shape: Option<Shape>,
    /// Raw bytes: where the data starts in the file, in bytes.
    #[arg(long, requires = "dtype", default_value_t = 0)]
    offset: u64,
    /// Print the findings as JSON (for scripts) instead of text.
    #[arg(long)]
    json: bool,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment spec files to run, or ids of the experiments in --experiments.
    #[arg(required = true, value_name = "SPEC")]
    specs: Vec<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    steps: StepArgs,
    /// Folder where experiment ids are looked up.
    #[arg(long, default_value_os_t = crate::assets::experiments_dir())]
    experiments: PathBuf,
    /// Report folder for this run.
    #[arg(long, default_value = "mmap-lab-run")]
    out: PathBuf,
}

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// results.json files written by run-all or run; two or more are drawn side by side.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    results: Vec<PathBuf>,
    /// Report folder: created, or replaced as a whole if it holds an earlier report.
    #[arg(long, value_name = "DIR")]
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
    /// Folder of specs; check measures the tutorial group's specs with run_all = true that
    /// map the file (method load_mmap or memmap), under a warm cache.
    #[arg(long, value_name = "DIR", default_value_os_t = crate::assets::experiments_dir(), conflicts_with = "specs")]
    experiments: PathBuf,
    /// Shape of the dataset measured; must be the baseline's.
    #[arg(long, default_value = "64x120x120x3", value_parser = Shape::parse)]
    shape: Shape,
    /// Element type of the dataset: f8, f4 or u1; must be the baseline's.
    #[arg(long, default_value = "f8", value_parser = parse_generated_dtype)]
    dtype: Dtype,
    /// Folder for the check's dataset (generated if missing or stale, then reused).
    #[arg(long, value_name = "DIR", default_value = "data/check")]
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

fn parse_seed(text: &str) -> std::result::Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!("seed '{text}' is not a whole number from 0 to {}; give e.g. --seed 0", u64::MAX)
    })
}

fn parse_generated_dtype(text: &str) -> std::result::Result<Dtype, String> {
    let dtype = Dtype::parse(text).map_err(|e| e.to_string())?;
    if DatasetSpec::DTYPES.contains(&dtype) {
        Ok(dtype)
    } else {
        Err(format!("mmap-lab generates f8 (float64), f4 (float32) or u1 (uint8), not {dtype}"))
    }
}

fn parse_dtype(text: &str) -> std::result::Result<Dtype, String> {
    Dtype::parse(text).map_err(|e| e.to_string())
}
