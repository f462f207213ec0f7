//! A lab's spec: `experiments/labs/NN_<name>.toml`, beside its handout `NN_<name>.md`.
//!
//! ```toml
//! id = "npy_header"
//! title = "The .npy header and the wrong-dtype trap"
//! handout = "01_npy_header.md"
//! experiments = ["npy_memmap_default", "npy_memmap_float64"]   # by id
//! cache = ["warm"]                    # optional: only these cache states
//!
//! [[question]]
//! id = "header_bytes"
//! text = "How many bytes does the .npy header take?"
//! quantity = "dataset.npy_header_bytes"
//! unit = "bytes"
//! tolerance = { absolute = 0 }        # or relative = 0.1 (10 %); the looser one applies
//! explain = "The header is padded so that the data starts at a multiple of 64 bytes."
//!
//! [[question]]
//! id = "dtype"
//! text = "np.memmap('X_train.npy', mode='r'): what dtype does the array get?"
//! quantity = "step.npy_memmap_default.warm.dtype"
//! choices = ["float64", "uint8", "int64"]     # the right one equals the measured value
//! explain = "np.memmap's default dtype is uint8."
//!
//! [[question]]
//! id = "shrunk"
//! text = "The file is truncated under its mapping, then read: what happens?"
//! quantity = "step.lab_shrink_under_mapping.warm.status"
//! choices = [                                 # a sentence standing for a measured word
//!   { text = "an exception Python can catch", value = "error" },
//!   { text = "the process dies of a signal", value = "crashed" },
//! ]
//! explain = "SIGBUS is a signal, not an exception."
//!
//! [[question]]
//! id = "cold_faults"
//! text = "How many major faults per page did the cold pass take?"
//! quantity = "ratio(step.npy_load_mmap.cold.major_faults_total, step.npy_load_mmap.cold.pages_touched)"
//! choices = [                                 # for a number: the right one holds it
//!   { text = "almost none", max = 0.001 },
//!   { text = "about one per page", min = 0.5 },
//! ]
//! explain = "Read-ahead brings the pages in before the pass touches them."
//! ```
//!
//! Everything is checked when the lab is loaded, before anything is measured: the handout
//! exists, every experiment id resolves, and every quantity names a step the lab runs,
//! under a cache state it runs, with the field its question needs.

mod choices;
mod explains;
mod plan;
mod question;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

pub use self::choices::{Choice, MAX_CHOICES, Range};
pub use self::explains::Explains;
use self::question::QuestionFile;
pub use self::question::{Question, QuestionKind, Tolerance};
use super::program::{ProgramFile, ProgramSpec};
use super::quantity::PlannedStep;
pub use super::text::reflow;
use crate::cache::CacheState;
use crate::error::input;
use crate::shape::Shape;
use crate::spec::LoadedSpec;

/// The TOML as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabFile {
    id: String,
    title: String,
    handout: PathBuf,
    experiments: Vec<String>,
    #[serde(default)]
    cache: Option<Vec<CacheState>>,
    #[serde(default)]
    shapes: Option<Vec<String>>,
    #[serde(default)]
    repeats: Option<u32>,
    #[serde(default)]
    program: Option<ProgramFile>,
    #[serde(default, rename = "question")]
    questions: Vec<QuestionFile>,
}

/// One checked lab.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// Its number, from the file name (`01_...` is lab 1).
    pub number: u32,
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The spec file.
    pub path: PathBuf,
    /// The handout.
    pub handout: PathBuf,
    /// The experiments it runs, in the order given.
    pub experiments: Vec<LoadedSpec>,
    /// Only these cache states, if given.
    pub cache: Option<Vec<CacheState>>,
    /// The shapes it supports, smallest first: every question's right answer must hold
    /// from the first to the last (`lab check` runs both).
    pub shapes: Vec<Shape>,
    /// How many times the steps a timed question reads are measured (median and spread).
    pub repeats: u32,
    /// The program the student reads and predicts, run under `mmap-lab measure`, if any.
    pub program: Option<ProgramSpec>,
    /// The questions, in order.
    pub questions: Vec<Question>,
}

/// The shape labs run at by default: about a minute per lab on a small machine.
pub const DEFAULT_SHAPE: &str = "400x120x120x3";

/// How many runs a timed question's steps get unless the lab says otherwise.
pub const DEFAULT_REPEATS: u32 = 5;

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The number in a lab file's name: `01_npy_header.toml` -> 1.
pub fn number_from_name(path: &Path) -> Option<u32> {
    let name = path.file_stem()?.to_str()?;
    let (digits, rest) = name.split_once('_')?;
    (!digits.is_empty() && !rest.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

impl LabSpec {
    /// Parses and checks the lab in `path`; `available` are the experiments it may name.
    pub fn load(path: &Path, available: &[LoadedSpec]) -> Result<LabSpec> {
        let text = crate::assets::read_input_text(path, "the lab", "check the path")?;
        LabSpec::parse(&text, path, available)
    }

    /// Parses and checks a lab's text; every error names `path`, and the question if any.
    pub fn parse(text: &str, path: &Path, available: &[LoadedSpec]) -> Result<LabSpec> {
        let at = |why: String| input(format!("{}: {why}", path.display()));
        let number = number_from_name(path).ok_or_else(|| {
            at("a lab file is named NN_<name>.toml, its number first (01_npy_header.toml is lab 1)"
                .to_owned())
        })?;
        let file: LabFile = toml::from_str(text).map_err(|e| at(e.to_string().trim_end().to_owned()))?;
        if !valid_id(&file.id) {
            return Err(at(format!("lab id '{}' must be letters, digits, '_' or '-'", file.id)));
        }
        if file.title.trim().is_empty() {
            return Err(at("title is empty: give the lab a one-line title".to_owned()));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let handout = dir.join(&file.handout);
        if !crate::assets::is_file(&handout) {
            return Err(at(format!(
                "handout {} does not exist: write it beside the lab's spec, or fix `handout`",
                handout.display()
            )));
        }
        if file.cache.as_ref().is_some_and(Vec::is_empty) {
            return Err(at(
                "cache lists no state: give [\"warm\"], [\"cold\"] or both, or leave it out".to_owned()
            ));
        }
        let experiments = plan::resolve_experiments(&file.experiments, available).map_err(at)?;
        let planned = plan::plan(&experiments, file.cache.as_deref());
        if planned.is_empty() {
            return Err(at(
                "the lab runs no step: its experiments have none of the cache states in `cache`".to_owned()
            ));
        }
        if file.questions.is_empty() {
            return Err(at("the lab asks nothing: add [[question]] entries".to_owned()));
        }
        let shapes = plan::supported_shapes(file.shapes.as_deref()).map_err(at)?;
        let repeats = file.repeats.unwrap_or(DEFAULT_REPEATS);
        if !(1..=50).contains(&repeats) {
            return Err(at(format!("repeats = {repeats}: give 1 to 50 runs (5 is usual)")));
        }
        let program = file.program.map(|p| ProgramSpec::check(p, dir)).transpose().map_err(at)?;
        let phases = program.as_ref().map(|p| p.phases.as_slice());
        let mut seen = HashSet::new();
        let mut questions = Vec::with_capacity(file.questions.len());
        for q in file.questions {
            let qid = q.id.clone();
            if !seen.insert(qid.clone()) {
                return Err(at(format!("question '{qid}' appears twice: give each question its own id")));
            }
            let question = question::check_question(q, &planned, phases)
                .map_err(|why| at(format!("question '{qid}': {why}")))?;
            questions.push(question);
        }
        Ok(LabSpec {
            number,
            id: file.id,
            title: file.title.trim().to_owned(),
            path: path.to_owned(),
            handout,
            experiments,
            cache: file.cache,
            shapes,
            repeats,
            program,
            questions,
        })
    }

    /// The steps it runs, as results will name them.
    pub fn planned_steps(&self) -> Vec<PlannedStep<'_>> {
        plan::plan(&self.experiments, self.cache.as_deref())
    }

    /// `lab01`: the stem of file names made for this lab.
    pub fn stem(&self) -> String {
        format!("lab{:02}", self.number)
    }
}

#[cfg(test)]
mod tests;
