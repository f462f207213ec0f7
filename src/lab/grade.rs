//! Grading: each answer against the measured value of its question's quantity, and the
//! feedback a student reads (text) or an instructor collects (JSON).

use serde::Serialize;

use std::collections::BTreeMap;

use super::answers::{Answer, Answers};
use super::quantity::Quantity;
use super::spec::{Choice, LabSpec, Question, QuestionKind};
use super::stats::Repeated;
use super::text::{bool_word, wrap};
use super::value::Value;
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

/// Grades `answers` against `results`; `repeats` are the timed questions' runs (by
/// question id, in base units). Right answers and explanations are shown only when every
/// question is answered, or when `reveal` (an instructor's key) asks for them.
pub fn grade(
    lab: &LabSpec,
    results: &Results,
    repeats: &BTreeMap<String, Repeated>,
    answers: &Answers,
    reveal: bool,
) -> LabGrade {
    let revealed = reveal || lab.questions.iter().all(|q| answers.0.contains_key(&q.id));
    let questions: Vec<Graded> = lab
        .questions
        .iter()
        .map(|q| {
            let mut g = grade_one(q, results, repeats.get(&q.id), answers.0.get(&q.id).copied());
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

fn grade_one(q: &Question, results: &Results, repeated: Option<&Repeated>, answer: Option<Answer>) -> Graded {
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
        runs: None,
        choice: None,
    };
    if let Some(a) = answer {
        g.answer = Some(answer_text(q, a));
        g.choice = match (a, &q.kind) {
            (Answer::Choice(i), QuestionKind::Choice { choices }) => choices.get(i).map(|c| c.letter),
            _ => None,
        };
    }
    let steps = q.quantity.steps();
    if let Some(why) = q.needs.iter().find_map(|n| n.unmet(results, &steps)) {
        g.verdict = Verdict::NotGradable;
        g.problem = Some(format!("not gradable here: {why}"));
        return g;
    }
    let value = match (q.quantity.resolve(results), repeated) {
        (Ok(_), Some(r)) => Value::Number(r.median),
        (Ok(v), None) => v,
        (Err(why), _) => {
            g.problem = Some(format!("not measured: {why}"));
            return g;
        }
    };
    let runs = repeated
        .filter(|r| r.runs.len() > 1)
        .and_then(|r| Repeated::of(r.runs.iter().map(|v| q.unit.from_base(*v)).collect()));
    let (measured, measured_text) = match &value {
        Value::Number(n) => {
            let shown = q.unit.from_base(*n);
            let text = match &runs {
                Some(r) => format!(
                    "{} (median of {} runs, {} to {})",
                    q.unit.show(shown),
                    r.runs.len(),
                    q.unit.show(r.min),
                    q.unit.show(r.max)
                ),
                None => q.unit.show(shown),
            };
            (serde_json::json!(shown), text)
        }
        Value::Text(t) => (serde_json::json!(t), t.clone()),
        Value::Bool(b) => (serde_json::json!(b), value.to_string()),
    };
    g.measured = Some(measured);
    g.measured_text = Some(measured_text.clone());
    g.runs = runs.clone();
    let band = runs.as_ref().map(|r| r.band(NOISE_MARGIN));
    let mut picked: Option<&Choice> = None;
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
            // A little slack for numbers printed rounded: 1e-9 of the value.
            let near = |x: f64, m: f64| (x - m).abs() <= tolerance.allowed(m) + 1e-9 * m.abs().max(1.0);
            match answer {
                Some(Answer::Number(x)) => match band {
                    Some((lo, hi)) if near(x, lo) != near(x, hi) || near(x, lo) != near(x, m) => Some(None),
                    _ => Some(Some(near(x, m))),
                },
                Some(Answer::Choice(_)) => Some(Some(false)),
                None => None,
            }
        }
        QuestionKind::Choice { choices } => {
            let Some(correct) = right_choice(choices, &value, q) else {
                g.problem = Some(format!(
                    "the measured value {measured_text} fits none of the choices; the lab's spec ({}) needs a choice for it",
                    q.quantity
                ));
                return g;
            };
            if let Some((lo, hi)) = band {
                let at =
                    |x: f64| right_choice(choices, &Value::Number(x * q.unit.scale), q).map(|c| c.letter);
                if at(lo) != at(hi) {
                    g.verdict = Verdict::TooClose;
                    g.problem = Some(format!(
                        "too close to call: measured {measured_text}, within its noise of the boundary between choices {} and {}; this answer is graded neither right nor wrong",
                        at(lo).map_or('?', |c| c),
                        at(hi).map_or('?', |c| c)
                    ));
                    g.explain = Some(q.explain.clone());
                    return g;
                }
            }
            g.right_answer = Some(choice_text(correct));
            match answer {
                Some(Answer::Choice(i)) => {
                    picked = choices.get(i);
                    Some(Some(choices.get(i).is_some_and(|c| c.letter == correct.letter)))
                }
                Some(Answer::Number(_)) => Some(Some(false)),
                None => None,
            }
        }
    };
    g.verdict = match right {
        Some(Some(true)) => Verdict::Right,
        Some(Some(false)) => Verdict::Wrong,
        Some(None) => {
            g.problem = Some(format!(
                "too close to call: measured {measured_text}; your answer is within the tolerance of some runs and not of others"
            ));
            Verdict::TooClose
        }
        None => Verdict::Unanswered,
    };
    let own = picked.and_then(|c| c.explain.as_deref()).map(|e| fill(e, &measured_text, results));
    g.explain = Some(match own {
        Some(own) => format!("{own} {}", q.explain),
        None => q.explain.clone(),
    });
    g
}

fn answer_text(q: &Question, a: Answer) -> String {
    match (a, &q.kind) {
        (Answer::Number(x), _) => q.unit.show(x),
        (Answer::Choice(i), QuestionKind::Choice { choices }) => {
            choices.get(i).map(choice_text).unwrap_or_default()
        }
        (Answer::Choice(i), _) => format!("choice {i}"),
    }
}

/// A choice's feedback with `{measured}` and `{dataset.<f>}` / `{machine.<f>}` filled in.
pub fn fill(template: &str, measured: &str, results: &Results) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + len];
        let value = if name == "measured" {
            Some(measured.to_owned())
        } else {
            Quantity::parse(name).ok().and_then(|q| q.resolve(results).ok()).map(|v| v.to_string())
        };
        out.push_str(&value.unwrap_or_else(|| format!("{{{name}}}")));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
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
                Verdict::Unanswered if !self.revealed => ("not answered", format!("Measured {measured}.")),
                Verdict::Unanswered => {
                    ("not answered", format!("Measured {measured}, so the right answer is {right}."))
                }
                Verdict::Unchecked => ("NOT CHECKED", g.problem.clone().unwrap_or_default()),
                Verdict::TooClose => ("too close to call", g.problem.clone().unwrap_or_default()),
                Verdict::NotGradable => ("NOT GRADABLE HERE", g.problem.clone().unwrap_or_default()),
            };
            let body = match (g.verdict, self.revealed) {
                (Verdict::Wrong, false) => format!("You answered {answer}; measured {measured}."),
                (Verdict::Right, false) => format!("You answered {answer}; measured {measured}: right."),
                _ => body,
            };
            out.push_str(&format!("\n{:>2}. {}: {verdict}\n", i + 1, g.id));
            out.push_str(&wrap(&body, "    ", "    ", WIDTH));
            out.push('\n');
            if matches!(g.verdict, Verdict::Wrong | Verdict::Unanswered) {
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
        for (n, what) in [
            (s.wrong, "wrong"),
            (s.unanswered, "not answered"),
            (s.too_close, "too close to call"),
            (s.not_gradable, "not gradable here"),
            (s.unchecked, "not checked"),
        ] {
            if n > 0 {
                out.push_str(&format!(", {n} {what}"));
            }
        }
        out.push_str(".\n");
        if !self.revealed {
            out.push_str(&wrap(
                "Predict first: the right answers and explanations are shown once every question \
                 has an answer in your answers file (the measurement above is kept; grade it again \
                 with --results).",
                "",
                "",
                WIDTH,
            ));
            out.push('\n');
        }
        out
    }
}
