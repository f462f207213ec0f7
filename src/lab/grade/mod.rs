//! Grading: each answer against the measured value of its question's quantity, and the
//! feedback a student reads (text) or an instructor collects (JSON).
//!
//! [`one`] grades a question against its measured value; `render` writes the feedback.

pub mod one;
mod render;

use std::collections::BTreeMap;

use serde::Serialize;

use super::answers::Answers;
use super::evidence::Evidence;
use super::spec::LabSpec;
use super::stats::Repeated;
pub use one::fill;
use one::grade_one;

/// The outcome of one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The answer agrees with the measurement.
    Right,
    /// It does not.
    Wrong,
    /// No answer was given.
    Unanswered,
    /// The measurement has no value for the question (a step failed), or the value fits
    /// none of the choices: the lab's spec or the run needs attention, not the student.
    Unchecked,
    /// The measurement lies within its noise of a choice's boundary (or of the tolerance):
    /// neither right nor wrong, the measurement is shown.
    TooClose,
    /// The machine cannot give what the question's lesson needs (a cold cache on tmpfs).
    NotGradable,
}

impl Verdict {
    /// As written in CSV and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Right => "right",
            Verdict::Wrong => "wrong",
            Verdict::Unanswered => "unanswered",
            Verdict::Unchecked => "unchecked",
            Verdict::TooClose => "too_close",
            Verdict::NotGradable => "not_gradable",
        }
    }
}

/// How far around the runs' spread a boundary still counts as within the noise: this
/// fraction of the median on either side.
pub const NOISE_MARGIN: f64 = 0.1;

/// One graded question.
#[derive(Debug, Clone, Serialize)]
pub struct Graded {
    /// The question's id.
    pub id: String,
    /// The question.
    pub text: String,
    /// The quantity it is checked against.
    pub quantity: String,
    /// The measured value in the question's unit (numbers), or its text.
    pub measured: Option<serde_json::Value>,
    /// The measured value as a student reads it: `128 bytes`, `uint8`.
    pub measured_text: Option<String>,
    /// The unit of numbers, if any.
    pub unit: String,
    /// The answer as given: `130 bytes`, `a) float64`.
    pub answer: Option<String>,
    /// What was right: `b) uint8`, `128 bytes, within ±0 bytes`.
    pub right_answer: Option<String>,
    /// The outcome.
    pub verdict: Verdict,
    /// Why the question could not be checked, for `unchecked`.
    pub problem: Option<String>,
    /// The explanation: the chosen choice's own feedback first, then the question's
    /// (given for every answered question once the whole file is answered).
    pub explain: Option<String>,
    /// A timed quantity's runs, median and spread, in the question's unit.
    pub runs: Option<Repeated>,
    /// The letter of the choice picked, for a class summary.
    pub choice: Option<char>,
    /// The letter of the choice the measurement picks (never printed: `lab check` compares
    /// it with what the explanation argues for).
    #[serde(skip)]
    pub right_letter: Option<char>,
}

/// Counts of each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Right answers.
    pub right: usize,
    /// Wrong answers.
    pub wrong: usize,
    /// Questions not answered.
    pub unanswered: usize,
    /// Questions that could not be checked.
    pub unchecked: usize,
    /// Questions too close to call.
    pub too_close: usize,
    /// Questions not gradable on this machine.
    pub not_gradable: usize,
    /// All questions.
    pub total: usize,
}

/// A graded lab.
#[derive(Debug, Clone, Serialize)]
pub struct LabGrade {
    /// The lab's number.
    pub lab: u32,
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Shape and dtype measured: `(400, 120, 120, 3) float64`.
    pub dataset: String,
    /// Every question, in order.
    pub questions: Vec<Graded>,
    /// The counts.
    pub score: Score,
    /// Whether right answers and explanations are shown: only once every question is
    /// answered (predict first).
    pub revealed: bool,
}

/// Grades `answers` against `evidence` (the results, and the program's run if any);
/// `repeats` are the timed questions' runs (by question id, in base units). Right answers and explanations are shown only when every
/// question is answered, or when `reveal` (an instructor's key) asks for them.
pub fn grade(
    lab: &LabSpec,
    evidence: &Evidence<'_>,
    repeats: &BTreeMap<String, Repeated>,
    answers: &Answers,
    reveal: bool,
) -> LabGrade {
    let results = evidence.results;
    let revealed = reveal || lab.questions.iter().all(|q| answers.0.contains_key(&q.id));
    let questions: Vec<Graded> = lab
        .questions
        .iter()
        .map(|q| {
            let mut g = grade_one(q, evidence, repeats.get(&q.id), answers.0.get(&q.id).copied());
            if !revealed {
                g.right_answer = None;
                g.explain = None;
            }
            g
        })
        .collect();
    let mut score = Score { total: questions.len(), ..Score::default() };
    for g in &questions {
        match g.verdict {
            Verdict::Right => score.right += 1,
            Verdict::Wrong => score.wrong += 1,
            Verdict::Unanswered => score.unanswered += 1,
            Verdict::Unchecked => score.unchecked += 1,
            Verdict::TooClose => score.too_close += 1,
            Verdict::NotGradable => score.not_gradable += 1,
        }
    }
    LabGrade {
        lab: lab.number,
        id: lab.id.clone(),
        title: lab.title.clone(),
        dataset: format!("{} {}", results.dataset.shape.python(), results.dataset.dtype),
        questions,
        score,
        revealed,
    }
}
