//! `mmap-lab lab ...`: list, show, init, run and check labs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::answers;
pub use super::args::{CheckArgs, GradeArgs, WhereArgs};
use super::fields::{DATASET_FIELDS, MACHINE_FIELDS, PROGRAM_FIELDS, step_fields};
use super::grade::{self, LabGrade};
use super::program::record::ProgramRecord;
pub use super::run::EXIT_NOT_GRADABLE;
use super::run::{exit_code, measure_or_read, unexpected_steps};
use super::spec::{LabSpec, QuestionKind};
use super::text::wrap;
use crate::error::input;

pub use super::spec::DEFAULT_SHAPE;

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
    #[command(after_help = crate::examples::LAB_LIST)]
    List,
    /// Print a lab's handout, then its questions.
    #[command(after_help = crate::examples::LAB_SHOW)]
    Show {
        /// The lab, by number (1) or id (npy_header).
        lab: String,
    },
    /// Write an answers template for a lab (labNN-answers.toml); never replaces a file.
    #[command(after_help = crate::examples::LAB_INIT)]
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
    /// one and saved to labNN-answers.toml before anything is measured: predict first, then
    /// measure. Exit 0 when graded, 1 when a question could not be checked, 3 when a
    /// question is not gradable on this machine (said before measuring), 130 interrupted.
    #[command(after_help = crate::examples::LAB_RUN)]
    Run(RunLabArgs),
    /// For instructors: grade a class's answers files against one measurement.
    ///
    /// Every answers file is read and checked first (all problems of all files at once),
    /// then the lab is measured once and every file graded: a row per student and question
    /// (--csv), a class summary with the most common wrong choice per question. Exit codes
    /// as `lab run`.
    #[command(after_help = crate::examples::LAB_GRADE)]
    Grade(GradeArgs),
    /// For instructors: write a student edition of a lab, the handout with its questions and
    /// an answers template, without explanations or answer keys.
    #[command(after_help = crate::examples::LAB_EXPORT)]
    Export {
        /// The lab, by number or id.
        lab: String,
        /// Folder to write the edition in (created; files in it are never replaced).
        #[arg(long, value_name = "DIR")]
        student: PathBuf,
    },
    /// For instructors: run labs and show that every question resolves and holds.
    ///
    /// Checks every lab's files, runs each lab (or those named) in a temporary folder at the
    /// smallest and the largest shape it supports (`shapes` in its spec), and fails when a
    /// question's right answer differs between them, or contradicts what the question's
    /// explanation argues for (`explains`). With --shape, one run at that shape only shows
    /// that every quantity resolves (and, within the supported shapes, that no right answer
    /// contradicts its explanation). Answers are printed only with --answers-key.
    /// Exit 1 on a problem, 2 if a lab's files are wrong.
    #[command(after_help = crate::examples::LAB_CHECK)]
    Check(CheckArgs),
    /// List the quantities questions may be checked against.
    #[command(after_help = crate::examples::LAB_QUANTITIES)]
    Quantities,
}

/// Options of `lab run`.
#[derive(Debug, Args)]
pub struct RunLabArgs {
    /// The lab, by number (1) or id (npy_header).
    pub lab: String,
    /// The answers file (`mmap-lab lab init N` writes a template).
    #[arg(long, value_name = "FILE", conflicts_with = "ask")]
    pub answers: Option<PathBuf>,
    /// Ask the questions on standard input even when it is not a terminal (answers are
    /// saved to labNN-answers.toml, or a free name beside it, before measuring).
    #[arg(long)]
    pub ask: bool,
    /// Where and how large to measure.
    #[command(flatten)]
    pub place: WhereArgs,
    /// Print the grades as JSON, for instructors collecting them.
    #[arg(long)]
    pub json: bool,
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
        LabCommand::Grade(grade_args) => {
            let lab = load_one(labs_dir, experiments_dir, &grade_args.lab)?;
            super::class::grade_class(&lab, &grade_args)
        }
        LabCommand::Export { lab, student } => {
            let lab = load_one(labs_dir, experiments_dir, &lab)?;
            for path in export(&lab, &student)? {
                crate::outln!("{}", path.display());
            }
            Ok(0)
        }
        LabCommand::Check(check_args) => super::check::check(labs_dir, experiments_dir, &check_args),
        LabCommand::Quantities => {
            crate::out!("{}", quantities());
            Ok(0)
        }
    }
}

/// The lab `key` names, loaded from the folders (one broken lab does not hide it).
pub fn load_one(labs_dir: &Path, experiments_dir: &Path, key: &str) -> Result<LabSpec> {
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
        out.push_str(&wrap(&q.text, &format!("{}. **{}** ", i + 1, q.id), "   ", 92));
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

/// The answers: from the file, or asked at a terminal (or with --ask) and saved to a file
/// before anything is measured; refused without either. Returns them, the file and when
/// they were read.
fn gather_answers(lab: &LabSpec, args: &RunLabArgs) -> Result<(answers::Answers, PathBuf)> {
    if let Some(path) = &args.answers {
        return Ok((answers::read(path, lab)?, path.clone()));
    }
    if !args.ask && !std::io::stdin().is_terminal() {
        return Err(input(format!(
            "no answers: there is no terminal to ask the questions on. Write them in a file first: \
             `mmap-lab lab init {n}` makes {file}; then `mmap-lab lab run {n} --answers {file}`",
            n = lab.number,
            file = answers::template_name(lab)
        )));
    }
    let target = free_answers_path(lab);
    let stdin = std::io::stdin();
    let given = answers::ask(lab, &mut stdin.lock(), &mut std::io::stderr())?;
    super::record::write_replacing(&target, answers::to_toml(lab, &given).as_bytes())?;
    crate::errln!("Your answers are saved in {} (grade them again with --answers).", target.display());
    Ok((given, target))
}

/// labNN-answers.toml here, or labNN-answers-2.toml, ... when it is taken: typed answers
/// never replace a file.
fn free_answers_path(lab: &LabSpec) -> PathBuf {
    let first = PathBuf::from(answers::template_name(lab));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|i| PathBuf::from(format!("{}-answers-{i}.toml", lab.stem())))
        .find(|p| !p.exists())
        .unwrap_or(first)
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
    let (answers, answers_path) = gather_answers(&lab, args)?;
    let predicted_at = super::run::now();
    let Some(m) = measure_or_read(&lab, &args.place, Some(&answers), Some(predicted_at))? else {
        return Ok(130);
    };
    let graded = grade::grade(&lab, &m.evidence(), &m.repeats, &answers, false);
    let unexpected = unexpected_steps(&lab, &m.results);
    // What the run itself says about its measurements (a cold cache it could not establish,
    // a step that ended otherwise than expected) matters to how the numbers are read.
    let mut notes: Vec<String> =
        m.results.run.notes.iter().cloned().chain(unexpected.iter().cloned()).collect();
    notes.extend(program_notes(m.program.as_ref(), graded.revealed));
    if args.json {
        let json = GradeJson {
            grade: &graded,
            answers: Some(answers_path),
            results: m.results_path.clone(),
            unexpected_outcomes: unexpected.len(),
            notes,
        };
        crate::outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        crate::out!("{}", graded.render_text());
        for line in &notes {
            crate::outln!("note: {line}");
        }
        crate::outln!("Measured results: {}", m.results_path.display());
    }
    Ok(exit_code(&graded.score))
}

/// What a run says about the lab's program: how it ended, where measure's report is, and
/// (once the answers are revealed) what measure says about its memory.
fn program_notes(program: Option<&ProgramRecord>, revealed: bool) -> Vec<String> {
    let Some(p) = program else { return Vec::new() };
    let mut notes = Vec::new();
    if let Some(failed) = &p.failed {
        notes.push(format!("the lab's program did not end well: {failed}"));
    }
    if let Some(report) = &p.report {
        notes.push(format!(
            "the program was measured by `mmap-lab measure`; its report: {}",
            report.join("measure.md").display()
        ));
    }
    if revealed {
        notes.extend(p.explained.iter().map(|s| format!("measure says: {s}")));
    }
    notes
}

/// Writes the student edition of `lab` into `dir`: the handout with its questions, and the
/// answers template. Neither holds an explanation or a key; no file is replaced.
pub fn export(lab: &LabSpec, dir: &Path) -> Result<Vec<PathBuf>> {
    let handout = dir.join(format!("{}.md", lab.stem()));
    let template = dir.join(answers::template_name(lab));
    for path in [&handout, &template] {
        if path.exists() {
            return Err(input(format!(
                "{}: already exists; the student edition never replaces a file. Export into an empty folder",
                path.display()
            )));
        }
    }
    let text = show(lab)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| input(format!("{}: cannot create the folder: {e}", dir.display())))?;
    super::record::write_replacing(&handout, text.as_bytes())?;
    answers::write_template(lab, dir)?;
    Ok(vec![handout, template])
}

/// The quantity reference, for `lab quantities`.
pub fn quantities() -> String {
    let mut out = String::from(
        "Quantities a lab's questions can be checked against:\n\
         \n  dataset.<field>, machine.<field>, step.<id>.<warm|cold>.<field>, program.<phase>.<field>,\n  \
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
    for f in step_fields() {
        out.push_str(&format!(
            "  {:<22} {:<10} {:<19} {}\n",
            f.name,
            kind(f.dimension),
            f.needs.describe(),
            f.doc
        ));
    }
    out.push_str("\nprogram.<phase>.<field>   (a lab with a [program]: the phases it marks)\n");
    for f in PROGRAM_FIELDS {
        out.push_str(&format!("  {:<22} {:<10} {}\n", f.name, kind(f.dimension), f.doc));
    }
    out
}
