//! The options `lab grade`, `lab check` and the measuring subcommands share: a leaf under
//! the command, the check and the class grading.

use std::path::PathBuf;

use clap::Args;

use crate::shape::Shape;

/// Where to measure: shared by `lab run` and `lab grade`.
#[derive(Debug, Args, Clone)]
pub struct WhereArgs {
    /// Grade against an earlier lab run's results.json (its lab-record.json beside it vouches
    /// that it is as measured) instead of measuring again.
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
    /// The Python (with NumPy) that runs a lab's program (default: .venv/bin/python here,
    /// the .venv of the project mmap-lab was built in, then python3).
    #[arg(long, value_name = "PATH", conflicts_with = "no_python")]
    pub python: Option<PathBuf>,
    /// Run no program: its questions are not gradable here.
    #[arg(long)]
    pub no_python: bool,
}

/// Options of `lab grade`.
#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The lab, by number or id.
    pub lab: String,
    /// Answers files, or folders of them (every *.toml inside).
    #[arg(long, value_name = "DIR-or-FILE", num_args = 1.., required = true)]
    pub answers: Vec<PathBuf>,
    /// Where and how large to measure.
    #[command(flatten)]
    pub place: WhereArgs,
    /// Write a row per student and question to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Print every grade and the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `lab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Labs to run, by number or id (default: all).
    #[arg(value_name = "LAB")]
    pub which: Vec<String>,
    /// Run once at this shape, only to show that every quantity resolves (default: each
    /// lab's smallest and largest supported shape, compared).
    #[arg(long, value_parser = Shape::parse)]
    pub shape: Option<Shape>,
    /// Folder for the data and reports (default: a temporary folder, removed afterwards).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print each question's right answer (an answer key: not for students' eyes).
    #[arg(long)]
    pub answers_key: bool,
}
