//! `mmap-lab lab ...`: list, show, init, run and check labs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::fields::{DATASET_FIELDS, MACHINE_FIELDS, STEP_FIELDS};
use super::grade::{self, LabGrade};
use super::spec::{LabSpec, QuestionKind};
use super::{LabEntry, answers};
use crate::dataset::{self, DatasetSpec};
use crate::dtype::Dtype;
use crate::error::input;
use crate::results::Results;
use crate::runner::RunOptions;
use crate::shape::Shape;
use crate::suite::{self, SuiteOptions};

/// The shape labs run at by default: about a minute per lab on a small machine.
pub const DEFAULT_SHAPE: &str = "400x120x120x3";

/// The shape `lab check` runs labs at: tiny, to show that every quantity resolves.
pub const CHECK_SHAPE: &str = "16x24x20x3";

/// Options of `lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// What to do with the labs.
    #[command(subcommand)]
    pub command: LabCommand,
    /// Folder of the labs (`NN_<name>.toml` and `.md`, lab-only experiments in specs/).
    #[arg(long, global = true, default_value_os_t = crate::assets::labs_dir())]
    pub labs: PathBuf,
    /// Folder of the experiment specs labs may name besides their own.
    #[arg(long, global = true, default_value_os_t = crate::assets::experiments_dir())]
    pub experiments: PathBuf,
}

/// The lab subcommands.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// List the labs: number, id and title.
    #[command(after_help = crate::cli::examples::LAB_LIST)]
    List,
    /// Print a lab's handout, then its questions.
    #[command(after_help = crate::cli::examples::LAB_SHOW)]
    Show {
        /// The lab, by number (1) or id (npy_header).
        lab: String,
    },
    /// Write an answers template for a lab (labNN-answers.toml); never replaces a file.
    #[command(after_help = crate::cli::examples::LAB_INIT)]
    Init {
        /// The lab, by number or id.
        lab: String,
        /// Folder to write it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Measure a lab's experiments, then grade the answers against the measurement.
    ///
    /// Answers come from --answers FILE (see `lab init`), or, at a terminal, are asked one by
    /// one before anything is measured: predict first, then measure.
    #[command(after_help = crate::cli::examples::LAB_RUN)]
    Run(RunLabArgs),
    /// For instructors: run labs at a tiny shape and show that every question resolves.
    ///
    /// Checks every lab's files, runs each lab (or those named) in a temporary folder, and
    /// reports each question's measured value; exit 1 if a quantity has no value or fits
    /// none of its choices, 2 if a lab's files are wrong.
    #[command(after_help = crate::cli::examples::LAB_CHECK)]
    Check(CheckArgs),
    /// List the quantities questions may be checked against.
    #[command(after_help = crate::cli::examples::LAB_QUANTITIES)]
    Quantities,
}

/// Options of `lab run`.
#[derive(Debug, Args)]
pub struct RunLabArgs {
    /// The lab, by number (1) or id (npy_header).
    pub lab: String,
    /// The answers file (`mmap-lab lab init N` writes a template).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Grade against an earlier run's results.json instead of measuring again.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["full", "shape", "data_dir", "out"])]
    pub results: Option<PathBuf>,
    /// Run at the tutorial's full size, 4002x120x120x3 (1.38 GB per file), with the data in
    /// data/ that run-all uses.
    #[arg(long, conflicts_with = "shape")]
    pub full: bool,
    /// Shape of the array (default 400x120x120x3: well under a minute per lab).
    #[arg(long, value_parser = Shape::parse)]
    pub shape: Option<Shape>,
    /// Folder for the data (default data/labs, or data/ with --full).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Folder for the lab's report (default labNN-report in the data folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the grades as JSON, for instructors collecting them.
    #[arg(long)]
    pub json: bool,
}

/// Options of `lab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Labs to run, by number or id (default: all).
    #[arg(value_name = "LAB")]
    pub which: Vec<String>,
    /// Shape to run them at.
    #[arg(long, default_value = CHECK_SHAPE, value_parser = Shape::parse)]
    pub shape: Shape,
    /// Folder for the data and reports (default: a temporary folder, removed afterwards).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Runs a `lab` subcommand; returns the exit code.
pub fn run(args: LabArgs) -> Result<u8> {
    let (labs_dir, experiments_dir) = (args.labs.as_path(), args.experiments.as_path());
    match args.command {
        LabCommand::List => list(labs_dir, experiments_dir),
        LabCommand::Show { lab } => {
            let lab = load_one(labs_dir, experiments_dir, &lab)?;
            crate::out!("{}", show(&lab)?);
            Ok(0)
        }
        LabCommand::Init { lab, dir } => {
            let lab = load_one(labs_dir, experiments_dir, &lab)?;
            let path = answers::write_template(&lab, &dir)?;
            crate::outln!("{}", path.display());
            crate::errln!(
                "Fill in your predictions, then: mmap-lab lab run {} --answers {}",
                lab.number,
                path.display()
            );
            Ok(0)
        }
        LabCommand::Run(run_args) => run_lab(labs_dir, experiments_dir, &run_args),
        LabCommand::Check(check_args) => check(labs_dir, experiments_dir, &check_args),
        LabCommand::Quantities => {
            crate::out!("{}", quantities());
            Ok(0)
        }
    }
}

fn load_one(labs_dir: &Path, experiments_dir: &Path, key: &str) -> Result<LabSpec> {
    super::find(super::load_all(labs_dir, experiments_dir)?, key)
}

fn list(labs_dir: &Path, experiments_dir: &Path) -> Result<u8> {
    let entries = super::load_all(labs_dir, experiments_dir)?;
    let mut broken = Vec::new();
    for entry in entries {
        match entry.lab {
            Ok(lab) => crate::outln!("{:>2}  {:<22} {}", lab.number, lab.id, lab.title),
            Err(e) => broken.push(format!("{e:#}")),
        }
    }
    if broken.is_empty() {
        Ok(0)
    } else {
        Err(input(format!("some labs are refused:\n  {}", broken.join("\n  "))))
    }
}

/// The handout, then the questions as the spec asks them, then how to run the lab.
pub fn show(lab: &LabSpec) -> Result<String> {
    let handout = crate::assets::read_input_text(&lab.handout, "the handout", "check the lab's files")?;
    let mut out = handout.trim_end().to_owned();
    out.push_str(&format!("\n\n## The questions of lab {}\n", lab.number));
    for (i, q) in lab.questions.iter().enumerate() {
        out.push('\n');
        out.push_str(&grade::wrap(&q.text, &format!("{}. **{}** ", i + 1, q.id), "   ", 92));
        out.push('\n');
        match &q.kind {
            QuestionKind::Number { .. } => {
                out.push_str(&format!("   Answer with {}.\n", answers::expects(q)))
            }
            QuestionKind::Choice { choices } => {
                for c in choices {
                    out.push_str(&format!("   {}) {}\n", c.letter, c.text));
                }
            }
        }
    }
    out.push_str(&format!(
        "\nPredict first: `mmap-lab lab init {n}` writes {file} to fill in, then\n\
         `mmap-lab lab run {n} --answers {file}` measures and grades (or `mmap-lab lab run {n}` at a\n\
         terminal asks each question before measuring).\n",
        n = lab.number,
        file = answers::template_name(lab)
    ));
    Ok(out)
}

/// The answers: from the file, or asked at a terminal; refused without either.
fn gather_answers(lab: &LabSpec, path: Option<&Path>) -> Result<answers::Answers> {
    if let Some(path) = path {
        return answers::read(path, lab);
    }
    if !std::io::stdin().is_terminal() {
        return Err(input(format!(
            "no answers: there is no terminal to ask the questions on. Write them in a file first: \
             `mmap-lab lab init {n}` makes {file}; then `mmap-lab lab run {n} --answers {file}`",
            n = lab.number,
            file = answers::template_name(lab)
        )));
    }
    let stdin = std::io::stdin();
    answers::ask(lab, &mut stdin.lock(), &mut std::io::stderr())
}

/// Where a lab measures, and at what size.
struct Placement {
    shape: Shape,
    data_dir: PathBuf,
    out: PathBuf,
}

fn placement(lab: &LabSpec, args: &RunLabArgs) -> Result<Placement> {
    let root = Path::new(".");
    let shape = match (&args.shape, args.full) {
        (Some(shape), _) => shape.clone(),
        (None, true) => Shape::tutorial(),
        (None, false) => Shape::parse(DEFAULT_SHAPE).map_err(|e| input(e.to_string()))?,
    };
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| if args.full { root.join("data") } else { root.join("data").join("labs") });
    let out = args.out.clone().unwrap_or_else(|| data_dir.join(format!("{}-report", lab.stem())));
    Ok(Placement { shape, data_dir, out })
}

/// Runs `lab`'s experiments through the suite at `place`.
fn measure(lab: &LabSpec, place: &Placement, command: String) -> Result<suite::SuiteOutcome> {
    let options = SuiteOptions {
        dataset: DatasetSpec { shape: place.shape.clone(), dtype: Dtype::F8, seed: 0 },
        data_dir: place.data_dir.clone(),
        out: place.out.clone(),
        specs: lab.experiments.clone(),
        regenerate: false,
        files: dataset::Files::Both,
        run: RunOptions {
            caches: lab.cache.clone(),
            step_timeout: crate::runner::DEFAULT_STEP_TIMEOUT,
            numpy: crate::peer::PeerChoice::Without("a lab measures with mmap-lab alone".to_owned()),
            rounds: 1,
        },
        command,
    };
    crate::errln!(
        "lab {}: measuring {} step(s) on an array of {} float64 in {}",
        lab.number,
        lab.planned_steps().len(),
        place.shape.python(),
        place.data_dir.display()
    );
    suite::run(&options)
}

fn command_line() -> String {
    std::env::args()
        .map(|a| if a.contains(char::is_whitespace) { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The JSON `lab run --json` prints.
#[derive(Serialize)]
struct GradeJson<'a> {
    #[serde(flatten)]
    grade: &'a LabGrade,
    answers: Option<PathBuf>,
    results: PathBuf,
    unexpected_outcomes: usize,
    notes: Vec<String>,
}

fn run_lab(labs_dir: &Path, experiments_dir: &Path, args: &RunLabArgs) -> Result<u8> {
    let lab = load_one(labs_dir, experiments_dir, &args.lab)?;
    // Everything is checked before measuring: the answers file first.
    let answers = gather_answers(&lab, args.answers.as_deref())?;
    let (results, results_path) = match &args.results {
        Some(path) => (Results::read(path)?, path.clone()),
        None => {
            let place = placement(&lab, args)?;
            crate::suite::check_paths(&place.data_dir, &place.out)?;
            let outcome = measure(&lab, &place, command_line())?;
            if !outcome.results.run.complete {
                crate::errln!(
                    "interrupted: nothing graded; what was measured is in {}",
                    suite::incomplete_dir(&place.out).display()
                );
                return Ok(130);
            }
            (outcome.results, place.out.join("results.json"))
        }
    };
    let graded = grade::grade(&lab, &results, &answers);
    let unexpected = unexpected_steps(&lab, &results);
    // What the run itself says about its measurements (a cold cache it could not establish,
    // a step that ended otherwise than expected) matters to how the numbers are read.
    let notes: Vec<String> = results.run.notes.iter().cloned().chain(unexpected.iter().cloned()).collect();
    if args.json {
        let json = GradeJson {
            grade: &graded,
            answers: args.answers.clone(),
            results: results_path,
            unexpected_outcomes: unexpected.len(),
            notes,
        };
        crate::outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        crate::out!("{}", graded.render_text());
        for line in &notes {
            crate::outln!("note: {line}");
        }
        crate::outln!("Measured results: {}", results_path.display());
    }
    Ok(if graded.score.unchecked > 0 { 1 } else { 0 })
}

/// Steps of the lab that ended otherwise than their spec expects, in words.
fn unexpected_steps(lab: &LabSpec, results: &Results) -> Vec<String> {
    lab.planned_steps()
        .iter()
        .filter_map(|p| results.step(&p.result_id, p.cache))
        .filter(|s| s.status != s.expected_status)
        .map(|s| {
            format!(
                "step {} ended {} where its spec expects {}{}",
                s.key(),
                s.status.name(),
                s.expected_status.name(),
                s.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            )
        })
        .collect()
}

fn check(labs_dir: &Path, experiments_dir: &Path, args: &CheckArgs) -> Result<u8> {
    let entries = super::load_all(labs_dir, experiments_dir)?;
    let mut broken = Vec::new();
    let mut labs = Vec::new();
    for entry in entries {
        let LabEntry { number, lab, .. } = entry;
        let wanted = args.which.is_empty()
            || args.which.iter().any(|k| k.parse() == Ok(number) || lab.as_ref().is_ok_and(|l| l.id == *k));
        match lab {
            Err(e) if wanted => broken.push(format!("{e:#}")),
            Ok(lab) if wanted => labs.push(lab),
            _ => {}
        }
    }
    // Every lab's files are checked before anything is measured.
    if !broken.is_empty() {
        return Err(input(format!("some labs are refused:\n  {}", broken.join("\n  "))));
    }
    let scratch = tempfile::Builder::new().prefix("mmap-lab-check-").tempdir()?;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| scratch.path().to_owned());
    let mut problems = 0;
    for lab in &labs {
        let place = Placement {
            shape: args.shape.clone(),
            data_dir: data_dir.clone(),
            out: data_dir.join(format!("{}-report", lab.stem())),
        };
        let outcome = measure(lab, &place, command_line())?;
        let lines = check_lab(lab, &outcome.results);
        problems += lines.iter().filter(|(ok, _)| !ok).count();
        crate::outln!("lab {} ({}): {}", lab.number, lab.id, lab.title);
        for (ok, line) in lines {
            crate::outln!("  {} {line}", if ok { "ok     " } else { "PROBLEM" });
        }
    }
    crate::outln!(
        "{} lab(s) checked at shape {}: {}",
        labs.len(),
        args.shape.python(),
        if problems == 0 { "every question resolves".to_owned() } else { format!("{problems} problem(s)") }
    );
    Ok(if problems == 0 { 0 } else { 1 })
}

/// One line per question (and per unexpected step): whether it resolves, and to what.
fn check_lab(lab: &LabSpec, results: &Results) -> Vec<(bool, String)> {
    let graded = grade::grade(lab, results, &answers::Answers::default());
    let mut lines: Vec<(bool, String)> =
        unexpected_steps(lab, results).into_iter().map(|l| (false, l)).collect();
    for g in graded.questions {
        let ok = g.verdict != grade::Verdict::Unchecked;
        let detail = match (ok, &g.right_answer, &g.problem) {
            (true, Some(right), _) => {
                format!("{} = {} -> {right}", g.quantity, g.measured_text.unwrap_or_default())
            }
            (_, _, Some(problem)) => problem.clone(),
            _ => String::new(),
        };
        lines.push((ok, format!("{}: {detail}", g.id)));
    }
    lines
}

/// The quantity reference, for `lab quantities`.
pub fn quantities() -> String {
    let mut out = String::from(
        "Quantities a lab's questions can be checked against:\n\
         \n  dataset.<field>, machine.<field>, step.<id>.<warm|cold>.<field>,\n  \
         ratio(a, b) = a / b, difference(a, b) = a - b\n\
         \n<id> is an experiment's id (with _k<K> for each worker count of a sharing experiment).\n",
    );
    let kind = |d: super::quantity::Dimension| d.name();
    out.push_str("\ndataset.<field>\n");
    for f in DATASET_FIELDS {
        out.push_str(&format!("  {:<22} {:<10} {}\n", f.name, kind(f.dimension), f.doc));
    }
    out.push_str("\nmachine.<field>\n");
    for f in MACHINE_FIELDS {
        out.push_str(&format!("  {:<22} {:<10} {}\n", f.name, kind(f.dimension), f.doc));
    }
    out.push_str("\nstep.<id>.<cache>.<field>   (needs: what the experiment must do to have the field)\n");
    for f in STEP_FIELDS {
        out.push_str(&format!(
            "  {:<22} {:<10} {:<19} {}\n",
            f.name,
            kind(f.dimension),
            f.needs.describe(),
            f.doc
        ));
    }
    out
}
