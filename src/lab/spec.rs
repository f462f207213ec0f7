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

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use super::needs::Need;
use super::quantity::{PlannedStep, Quantity};
pub use super::text::reflow;
use super::unit::Unit;
use super::value::Dimension;
use crate::cache::CacheState;
use crate::error::input;
use crate::shape::Shape;
use crate::spec::LoadedSpec;

/// Most choices a question may offer (one letter each).
pub const MAX_CHOICES: usize = 26;

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
    #[serde(default, rename = "question")]
    questions: Vec<QuestionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    id: String,
    text: String,
    quantity: String,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    tolerance: Option<ToleranceFile>,
    #[serde(default)]
    choices: Option<Vec<toml::Value>>,
    #[serde(default)]
    needs: Vec<String>,
    explain: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToleranceFile {
    #[serde(default)]
    absolute: Option<f64>,
    #[serde(default)]
    relative: Option<f64>,
}

/// How far a numeric answer may be from the measured value: the looser of the two bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// In the question's unit.
    pub absolute: f64,
    /// As a fraction of the measured value (0.1 is 10 %).
    pub relative: f64,
}

impl Tolerance {
    /// The accepted distance from `measured`, both in the question's unit.
    pub fn allowed(&self, measured: f64) -> f64 {
        self.absolute.max(self.relative * measured.abs())
    }
}

/// A half-open range `[min, max)` of a numeric quantity, in the question's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound (included); none means no lower bound.
    pub min: Option<f64>,
    /// Upper bound (excluded); none means no upper bound.
    pub max: Option<f64>,
}

impl Range {
    /// Whether `value` lies in the range.
    pub fn contains(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value < m)
    }

    fn overlaps(&self, other: &Range) -> bool {
        let lo = |r: &Range| r.min.unwrap_or(f64::NEG_INFINITY);
        let hi = |r: &Range| r.max.unwrap_or(f64::INFINITY);
        lo(self) < hi(other) && lo(other) < hi(self)
    }
}

/// One choice of a multiple-choice question.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// `a`, `b`, ...
    pub letter: char,
    /// What the student reads (and may answer with).
    pub text: String,
    /// For a numeric quantity: the values that make this choice right.
    pub range: Option<Range>,
    /// For a word or yes/no quantity: the value that makes this choice right, when it is
    /// not the text itself (`{ text = "the process dies of a signal", value = "crashed" }`).
    pub value: Option<String>,
    /// Feedback for a student who picked this choice, with `{measured}` and
    /// `{machine.<field>}` / `{dataset.<field>}` filled in from the measurement.
    pub explain: Option<String>,
}

impl Choice {
    /// The value of a word or yes/no quantity that makes this choice right.
    pub fn matches(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.text)
    }
}

/// What kind of answer a question takes.
#[derive(Debug, Clone, PartialEq)]
pub enum QuestionKind {
    /// A number, right within the tolerance.
    Number {
        /// How close is right.
        tolerance: Tolerance,
    },
    /// One of the choices, right when it is the one the measurement picks.
    Choice {
        /// The choices, in order.
        choices: Vec<Choice>,
    },
}

/// One checked question.
#[derive(Debug, Clone)]
pub struct Question {
    /// Unique within the lab; the key in an answers file.
    pub id: String,
    /// The question.
    pub text: String,
    /// The measured value it is checked against.
    pub quantity: Quantity,
    /// The unit answers are given in.
    pub unit: Unit,
    /// Number or choice.
    pub kind: QuestionKind,
    /// Shown with every graded answer, right or wrong.
    pub explain: String,
    /// What the lesson needs of the machine; unmet, the question is not gradable here.
    pub needs: Vec<Need>,
    /// Whether the quantity reads a time: measured over the lab's repeated runs.
    pub timed: bool,
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
        let experiments = resolve_experiments(&file.experiments, available).map_err(at)?;
        let planned = plan(&experiments, file.cache.as_deref());
        if planned.is_empty() {
            return Err(at(
                "the lab runs no step: its experiments have none of the cache states in `cache`".to_owned()
            ));
        }
        if file.questions.is_empty() {
            return Err(at("the lab asks nothing: add [[question]] entries".to_owned()));
        }
        let shapes = supported_shapes(file.shapes.as_deref()).map_err(at)?;
        let repeats = file.repeats.unwrap_or(DEFAULT_REPEATS);
        if !(1..=50).contains(&repeats) {
            return Err(at(format!("repeats = {repeats}: give 1 to 50 runs (5 is usual)")));
        }
        let mut seen = HashSet::new();
        let mut questions = Vec::with_capacity(file.questions.len());
        for q in file.questions {
            let qid = q.id.clone();
            if !seen.insert(qid.clone()) {
                return Err(at(format!("question '{qid}' appears twice: give each question its own id")));
            }
            let question =
                check_question(q, &planned).map_err(|why| at(format!("question '{qid}': {why}")))?;
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
            questions,
        })
    }

    /// The steps it runs, as results will name them.
    pub fn planned_steps(&self) -> Vec<PlannedStep<'_>> {
        plan(&self.experiments, self.cache.as_deref())
    }

    /// `lab01`: the stem of file names made for this lab.
    pub fn stem(&self) -> String {
        format!("lab{:02}", self.number)
    }
}

fn resolve_experiments(ids: &[String], available: &[LoadedSpec]) -> Result<Vec<LoadedSpec>, String> {
    if ids.is_empty() {
        return Err("experiments is empty: name the experiments the lab runs, by id".to_owned());
    }
    let mut out: Vec<LoadedSpec> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.iter().any(|s| s.spec.id == *id) {
            return Err(format!("experiment '{id}' is named twice"));
        }
        let found = available.iter().find(|s| s.spec.id == *id).ok_or_else(|| {
            format!(
                "experiment '{id}' does not exist: give the id of a spec in experiments/ or experiments/labs/specs/ (`id = ...` inside it)"
            )
        })?;
        out.push(found.clone());
    }
    Ok(out)
}

/// Mirrors the runner's plan: each spec under each of its cache states (filtered by the
/// lab's), and a step per worker count for a sharing spec.
fn plan<'a>(experiments: &'a [LoadedSpec], cache: Option<&[CacheState]>) -> Vec<PlannedStep<'a>> {
    let mut steps = Vec::new();
    for state in [CacheState::Warm, CacheState::Cold] {
        for loaded in experiments {
            let spec = &loaded.spec;
            if !spec.cache.contains(&state) || cache.is_some_and(|c| !c.contains(&state)) {
                continue;
            }
            match &spec.workers {
                Some(counts) => steps.extend(counts.iter().map(|k| PlannedStep {
                    result_id: format!("{}_k{k}", spec.id),
                    cache: state,
                    spec,
                })),
                None => steps.push(PlannedStep { result_id: spec.id.clone(), cache: state, spec }),
            }
        }
    }
    steps
}

fn check_question(q: QuestionFile, planned: &[PlannedStep<'_>]) -> Result<Question, String> {
    if !valid_id(&q.id) {
        return Err("the id must be letters, digits, '_' or '-' (it is a key in answers files)".to_owned());
    }
    if q.text.trim().is_empty() {
        return Err("text is empty: write the question".to_owned());
    }
    if q.explain.trim().is_empty() {
        return Err("explain is empty: say what a wrong answer missed".to_owned());
    }
    let quantity = Quantity::parse(&q.quantity)?;
    let dimension = quantity.dimension()?;
    quantity.check(planned)?;
    let unit = Unit::for_dimension(dimension, q.unit.as_deref())?;
    let kind = match (q.tolerance, q.choices) {
        (Some(_), Some(_)) => {
            return Err("give a tolerance (a number is the answer) or choices, not both".to_owned());
        }
        (Some(t), None) => {
            if !dimension.is_numeric() {
                return Err(format!(
                    "the quantity {quantity} is {}: a tolerance needs a number; give choices instead",
                    dimension.name()
                ));
            }
            QuestionKind::Number { tolerance: tolerance(t)? }
        }
        (None, Some(raw)) => QuestionKind::Choice { choices: choices(&raw, dimension)? },
        (None, None) => {
            return Err(if dimension.is_numeric() {
                "give a tolerance, e.g. tolerance = { absolute = 0 } or { relative = 0.1 }, or choices with ranges".to_owned()
            } else {
                format!(
                    "the quantity is {}: give choices, e.g. choices = [\"uint8\", \"float64\"]",
                    dimension.name()
                )
            });
        }
    };
    let needs = q.needs.iter().map(|n| Need::parse(n)).collect::<Result<Vec<_>, _>>()?;
    let timed = quantity.reads_time();
    Ok(Question {
        id: q.id,
        text: reflow(&q.text),
        quantity,
        unit,
        kind,
        explain: reflow(&q.explain),
        needs,
        timed,
    })
}

fn tolerance(t: ToleranceFile) -> Result<Tolerance, String> {
    if t.absolute.is_none() && t.relative.is_none() {
        return Err("tolerance is empty: give absolute = ... (in the question's unit), relative = ... (0.1 is 10 %), or both".to_owned());
    }
    let absolute = t.absolute.unwrap_or(0.0);
    let relative = t.relative.unwrap_or(0.0);
    if !(absolute.is_finite() && absolute >= 0.0 && relative.is_finite() && relative >= 0.0) {
        return Err("tolerance values must be finite and not negative".to_owned());
    }
    if relative > 1.0 {
        return Err(format!(
            "tolerance relative = {relative} accepts answers {}% off: relative is a fraction (0.1 is 10 %); give at most 1",
            relative * 100.0
        ));
    }
    Ok(Tolerance { absolute, relative })
}

fn choices(raw: &[toml::Value], dimension: Dimension) -> Result<Vec<Choice>, String> {
    if raw.len() < 2 || raw.len() > MAX_CHOICES {
        return Err(format!("give between 2 and {MAX_CHOICES} choices, not {}", raw.len()));
    }
    let mut out: Vec<Choice> = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let letter = char::from(b'a' + i as u8);
        let choice = if dimension.is_numeric() {
            range_choice(value, letter)?
        } else {
            word_choice(value, letter, dimension)?
        };
        if choice.text.is_empty() {
            return Err(format!("choice {letter} has no text"));
        }
        if out.iter().any(|c| c.text.eq_ignore_ascii_case(&choice.text)) {
            return Err(format!("choice {letter} '{}' is offered twice", choice.text));
        }
        if choice.range.is_none() {
            if let Some(other) = out.iter().find(|c| c.matches().eq_ignore_ascii_case(choice.matches())) {
                return Err(format!(
                    "choices {} and {letter} both stand for '{}': only one choice may be right",
                    other.letter,
                    choice.matches()
                ));
            }
        }
        if let Some(range) = choice.range {
            if let Some(other) = out.iter().find(|c| c.range.is_some_and(|r| r.overlaps(&range))) {
                return Err(format!(
                    "choices {} and {letter} overlap: ranges are [min, max), and only one choice may hold a value",
                    other.letter
                ));
            }
        }
        out.push(choice);
    }
    check_gaps(&out)?;
    Ok(out)
}

/// Ranges must meet: a value between two choices would be graded by no choice.
fn check_gaps(choices: &[Choice]) -> Result<(), String> {
    let mut ranged: Vec<(&Choice, Range)> = choices.iter().filter_map(|c| c.range.map(|r| (c, r))).collect();
    ranged.sort_by(|a, b| {
        a.1.min.unwrap_or(f64::NEG_INFINITY).total_cmp(&b.1.min.unwrap_or(f64::NEG_INFINITY))
    });
    for pair in ranged.windows(2) {
        let ((a, ra), (b, rb)) = (pair[0], pair[1]);
        if let (Some(hi), Some(lo)) = (ra.max, rb.min) {
            if hi < lo {
                return Err(format!(
                    "choices {} and {} leave a gap: nothing answers a value from {hi} up to {lo}; let one range end where the next begins",
                    a.letter, b.letter
                ));
            }
        }
    }
    Ok(())
}

/// The shapes a lab supports, smallest first; by default the lab's default shape alone.
fn supported_shapes(raw: Option<&[String]>) -> Result<Vec<Shape>, String> {
    let Some(raw) = raw else {
        return Ok(vec![Shape::parse(DEFAULT_SHAPE).map_err(|e| e.to_string())?]);
    };
    if raw.is_empty() {
        return Err("shapes lists none: give the smallest and largest shape the lab supports, e.g. shapes = [\"40x120x120x3\", \"400x120x120x3\"]".to_owned());
    }
    let mut shapes = Vec::with_capacity(raw.len());
    for s in raw {
        shapes.push(Shape::parse(s).map_err(|e| format!("shapes: '{s}': {e}"))?);
    }
    shapes.sort_by_key(Shape::len);
    Ok(shapes)
}

fn word_choice(value: &toml::Value, letter: char, dimension: Dimension) -> Result<Choice, String> {
    let mut explain = None;
    let (text, matches) = match value {
        toml::Value::String(text) => (text.trim().to_owned(), None),
        toml::Value::Table(table) => {
            for key in table.keys() {
                if !["text", "value", "explain"].contains(&key.as_str()) {
                    return Err(format!(
                        "choice {letter}: unknown key '{key}'; a choice here has text, value and explain"
                    ));
                }
            }
            explain = table.get("explain").and_then(toml::Value::as_str).map(reflow);
            let text = table.get("text").and_then(toml::Value::as_str);
            let matches = table.get("value").and_then(toml::Value::as_str);
            match (text, matches) {
                (Some(t), Some(v)) => (t.trim().to_owned(), Some(v.trim().to_owned())),
                (Some(t), None) if explain.is_some() => (t.trim().to_owned(), None),
                _ => {
                    return Err(format!(
                        "choice {letter} must be a string, or a table {{ text = \"...\", value = \"...\" }} whose value is what the quantity measures"
                    ));
                }
            }
        }
        _ => {
            return Err(format!(
                "choice {letter} must be a string or {{ text = ..., value = ... }}: the quantity is {}",
                dimension.name()
            ));
        }
    };
    let choice = Choice { letter, text, range: None, value: matches, explain };
    if dimension == Dimension::Bool && super::text::bool_word(choice.matches()).is_none() {
        return Err(format!(
            "choice {letter} '{}': the quantity is yes or no; its value must be \"yes\" or \"no\"",
            choice.matches()
        ));
    }
    Ok(choice)
}

fn range_choice(value: &toml::Value, letter: char) -> Result<Choice, String> {
    let bad = || {
        format!(
            "choice {letter} must be a table {{ text = \"...\", min = ..., max = ... }}: the quantity is a number, and each choice holds a range of it"
        )
    };
    let table = value.as_table().ok_or_else(bad)?;
    for key in table.keys() {
        if !["text", "min", "max", "explain"].contains(&key.as_str()) {
            return Err(format!(
                "choice {letter}: unknown key '{key}'; a choice has text, min, max and explain"
            ));
        }
    }
    let text = table.get("text").and_then(toml::Value::as_str).ok_or_else(bad)?;
    let bound = |key: &str| -> Result<Option<f64>, String> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(_) => Err(format!("choice {letter}: {key} must be a finite number")),
        }
    };
    let range = Range { min: bound("min")?, max: bound("max")? };
    if range.min.is_none() && range.max.is_none() {
        return Err(format!("choice {letter} has neither min nor max: give its range"));
    }
    if let (Some(lo), Some(hi)) = (range.min, range.max) {
        if lo >= hi {
            return Err(format!("choice {letter}: min {lo} is not below max {hi}"));
        }
    }
    let explain = table.get("explain").and_then(toml::Value::as_str).map(reflow);
    Ok(Choice { letter, text: text.trim().to_owned(), range: Some(range), value: None, explain })
}

#[cfg(test)]
mod tests;
