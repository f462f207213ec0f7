//! Grading: each answer against the measured value of its question's quantity, and the
//! feedback a student reads (text) or an instructor collects (JSON).

use serde::Serialize;

use super::answers::{Answer, Answers, bool_word};
use super::quantity::Value;
use super::spec::{Choice, LabSpec, Question, QuestionKind};
use crate::results::Results;

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
}

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
    /// The question's explanation (given for wrong and unanswered questions).
    pub explain: Option<String>,
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
}

/// Grades `answers` against `results`.
pub fn grade(lab: &LabSpec, results: &Results, answers: &Answers) -> LabGrade {
    let questions: Vec<Graded> =
        lab.questions.iter().map(|q| grade_one(q, results, answers.0.get(&q.id).copied())).collect();
    let mut score = Score { total: questions.len(), ..Score::default() };
    for g in &questions {
        match g.verdict {
            Verdict::Right => score.right += 1,
            Verdict::Wrong => score.wrong += 1,
            Verdict::Unanswered => score.unanswered += 1,
            Verdict::Unchecked => score.unchecked += 1,
        }
    }
    LabGrade {
        lab: lab.number,
        id: lab.id.clone(),
        title: lab.title.clone(),
        dataset: format!("{} {}", results.dataset.shape.python(), results.dataset.dtype),
        questions,
        score,
    }
}

fn choice_text(c: &Choice) -> String {
    format!("{}) {}", c.letter, c.text)
}

/// The choice the measurement picks, if any.
fn right_choice<'a>(choices: &'a [Choice], value: &Value, q: &Question) -> Option<&'a Choice> {
    choices.iter().find(|c| match (value, c.range) {
        (Value::Number(n), Some(range)) => range.contains(q.unit.from_base(*n)),
        (Value::Text(t), None) => c.matches().eq_ignore_ascii_case(t.trim()),
        (Value::Bool(b), None) => bool_word(c.matches()) == Some(*b),
        _ => false,
    })
}

fn grade_one(q: &Question, results: &Results, answer: Option<Answer>) -> Graded {
    let mut g = Graded {
        id: q.id.clone(),
        text: q.text.clone(),
        quantity: q.quantity.to_string(),
        measured: None,
        measured_text: None,
        unit: q.unit.label.clone(),
        answer: None,
        right_answer: None,
        verdict: Verdict::Unchecked,
        problem: None,
        explain: None,
    };
    let value = match q.quantity.resolve(results) {
        Ok(v) => v,
        Err(why) => {
            g.problem = Some(format!("not measured: {why}"));
            return g;
        }
    };
    let (measured, measured_text) = match &value {
        Value::Number(n) => {
            let shown = q.unit.from_base(*n);
            (serde_json::json!(shown), q.unit.show(shown))
        }
        Value::Text(t) => (serde_json::json!(t), t.clone()),
        Value::Bool(b) => (serde_json::json!(b), value.to_string()),
    };
    g.measured = Some(measured);
    g.measured_text = Some(measured_text.clone());
    let right = match &q.kind {
        QuestionKind::Number { tolerance } => {
            let Value::Number(n) = value else {
                g.problem = Some(format!("{} measured '{value}', not a number", q.quantity));
                return g;
            };
            let m = q.unit.from_base(n);
            let allowed = tolerance.allowed(m);
            g.right_answer = Some(if allowed == 0.0 {
                format!("{measured_text}, exactly")
            } else {
                format!("{measured_text}, within ±{}", q.unit.show(allowed))
            });
            answer.map(|a| match a {
                Answer::Number(x) => {
                    g.answer = Some(q.unit.show(x));
                    // A little slack for numbers printed rounded: 1e-9 of the value.
                    (x - m).abs() <= allowed + 1e-9 * m.abs().max(1.0)
                }
                Answer::Choice(_) => false,
            })
        }
        QuestionKind::Choice { choices } => {
            let Some(correct) = right_choice(choices, &value, q) else {
                g.problem = Some(format!(
                    "the measured value {measured_text} fits none of the choices; the lab's spec ({}) needs a choice for it",
                    q.quantity
                ));
                return g;
            };
            g.right_answer = Some(choice_text(correct));
            answer.map(|a| match a {
                Answer::Choice(i) => {
                    g.answer = choices.get(i).map(choice_text);
                    choices.get(i).is_some_and(|c| c.letter == correct.letter)
                }
                Answer::Number(_) => false,
            })
        }
    };
    g.verdict = match right {
        Some(true) => Verdict::Right,
        Some(false) => Verdict::Wrong,
        None => Verdict::Unanswered,
    };
    if g.verdict != Verdict::Right {
        g.explain = Some(q.explain.clone());
    }
    g
}

/// Wraps `text` at `width` columns: the first line after `first`, the others after `rest`;
/// blank lines keep paragraphs apart.
pub fn wrap(text: &str, first: &str, rest: &str, width: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let prefix = if out.is_empty() { first } else { rest };
            let len = prefix.chars().count() + line.chars().count() + 1 + word.chars().count();
            if !line.is_empty() && len > width {
                out.push(format!("{prefix}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            let prefix = if out.is_empty() { first } else { rest };
            out.push(format!("{prefix}{line}"));
        }
        out.push(String::new());
    }
    out.pop();
    out.join("\n")
}

const WIDTH: usize = 92;

impl LabGrade {
    /// The feedback a student reads: one block per question, then the score.
    pub fn render_text(&self) -> String {
        let mut out =
            format!("Lab {}: {}\nMeasured on an array of {}.\n", self.lab, self.title, self.dataset);
        for (i, g) in self.questions.iter().enumerate() {
            let measured = g.measured_text.as_deref().unwrap_or("?");
            let right = g.right_answer.as_deref().unwrap_or("?");
            let answer = g.answer.as_deref().unwrap_or("?");
            let (verdict, body) = match g.verdict {
                Verdict::Right => ("right", format!("You answered {answer}; measured {measured}.")),
                Verdict::Wrong => (
                    "WRONG",
                    format!("You answered {answer}; measured {measured}, so the right answer is {right}."),
                ),
                Verdict::Unanswered => {
                    ("not answered", format!("Measured {measured}, so the right answer is {right}."))
                }
                Verdict::Unchecked => ("NOT CHECKED", g.problem.clone().unwrap_or_default()),
            };
            out.push_str(&format!("\n{:>2}. {}: {verdict}\n", i + 1, g.id));
            out.push_str(&wrap(&body, "    ", "    ", WIDTH));
            out.push('\n');
            if g.verdict != Verdict::Right && g.verdict != Verdict::Unchecked {
                out.push_str(&wrap(&format!("(from {})", g.quantity), "    ", "      ", WIDTH));
                out.push('\n');
            }
            if let Some(explain) = &g.explain {
                out.push_str(&wrap(&format!("Why: {explain}"), "    ", "    ", WIDTH));
                out.push('\n');
            }
        }
        let s = &self.score;
        out.push_str(&format!("\nScore: {} of {} right", s.right, s.total));
        for (n, what) in [(s.wrong, "wrong"), (s.unanswered, "not answered"), (s.unchecked, "not checked")] {
            if n > 0 {
                out.push_str(&format!(", {n} {what}"));
            }
        }
        out.push_str(".\n");
        out
    }
}
