//! A lab's questions: each checked against the steps the lab plans to run (and the program
//! it runs), its unit, and the tolerance or choices that grade it.

use serde::Deserialize;

use super::choices::{Choice, choices};
use super::explains::{Explains, explains};
use super::valid_id;
use crate::lab::needs::Need;
use crate::lab::quantity::{PlannedStep, Quantity};
use crate::lab::text::reflow;
use crate::lab::unit::Unit;

/// A question as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QuestionFile {
    pub(super) id: String,
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
    #[serde(default)]
    explains: Option<toml::Value>,
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
    /// The answer the explanation argues for, when the author says: `lab check` fails where
    /// the measured right answer is another.
    pub explains: Option<Explains>,
    /// What the lesson needs of the machine; unmet, the question is not gradable here.
    pub needs: Vec<Need>,
    /// Whether the quantity reads a time: measured over the lab's repeated runs.
    pub timed: bool,
}

pub(super) fn check_question(
    q: QuestionFile,
    planned: &[PlannedStep<'_>],
    phases: Option<&[String]>,
) -> Result<Question, String> {
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
    quantity.check(planned, phases)?;
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
    let offered = match &kind {
        QuestionKind::Choice { choices } => Some(choices.as_slice()),
        QuestionKind::Number { .. } => None,
    };
    let explains = q.explains.as_ref().map(|raw| explains(raw, offered)).transpose()?;
    let mut needs = q.needs.iter().map(|n| Need::parse(n)).collect::<Result<Vec<_>, _>>()?;
    // A program runs only where a Python with NumPy does: implied, whether written or not.
    if quantity.reads_program() && !needs.contains(&Need::PythonNumpy) {
        needs.push(Need::PythonNumpy);
    }
    let timed = quantity.reads_time();
    Ok(Question {
        id: q.id,
        text: reflow(&q.text),
        quantity,
        unit,
        kind,
        explain: reflow(&q.explain),
        explains,
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
