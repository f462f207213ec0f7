//! One question graded: its needs checked, its quantity resolved (the median of a timed
//! one's runs), the answer compared with the tolerance or the choice the value picks, and
//! the feedback filled in.

use super::{Graded, NOISE_MARGIN, Verdict};
use crate::lab::answers::Answer;
use crate::lab::evidence::Evidence;
use crate::lab::quantity::Quantity;
use crate::lab::spec::{Choice, Question, QuestionKind, Tolerance};
use crate::lab::stats::Repeated;
use crate::lab::text::bool_word;
use crate::lab::value::Value;

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

/// What comparing an answer with the measurement gave.
enum Outcome {
    /// Graded right or wrong.
    Graded(bool),
    /// Within the noise of the boundary: neither.
    TooClose,
    /// No answer.
    Unanswered,
}

/// A graded question before anything is known: unchecked, the answer as given.
fn blank(q: &Question, answer: Option<Answer>) -> Graded {
    Graded {
        id: q.id.clone(),
        text: q.text.clone(),
        quantity: q.quantity.to_string(),
        measured: None,
        measured_text: None,
        unit: q.unit.label.clone(),
        answer: answer.map(|a| answer_text(q, a)),
        right_answer: None,
        verdict: Verdict::Unchecked,
        problem: None,
        explain: None,
        runs: None,
        choice: match (answer, &q.kind) {
            (Some(Answer::Choice(i)), QuestionKind::Choice { choices }) => choices.get(i).map(|c| c.letter),
            _ => None,
        },
        right_letter: None,
    }
}

/// The measured value in the question's unit, as JSON and as a student reads it (with a
/// timed value's runs).
fn shown(q: &Question, value: &Value, runs: Option<&Repeated>) -> (serde_json::Value, String) {
    match value {
        Value::Number(n) => {
            let shown = q.unit.from_base(*n);
            let text = match runs {
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
    }
}

pub(super) fn grade_one(
    q: &Question,
    evidence: &Evidence<'_>,
    repeated: Option<&Repeated>,
    answer: Option<Answer>,
) -> Graded {
    let mut g = blank(q, answer);
    let steps = q.quantity.steps();
    if let Some(why) = q.needs.iter().find_map(|n| n.unmet(evidence, &steps)) {
        g.verdict = Verdict::NotGradable;
        g.problem = Some(format!("not gradable here: {why}"));
        return g;
    }
    let value = match (q.quantity.resolve_in(evidence), repeated) {
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
    let (measured, measured_text) = shown(q, &value, runs.as_ref());
    g.measured = Some(measured);
    g.measured_text = Some(measured_text.clone());
    g.runs = runs.clone();
    let band = runs.as_ref().map(|r| r.band(NOISE_MARGIN));
    let (outcome, picked) = match &q.kind {
        QuestionKind::Number { tolerance } => match number(q, *tolerance, &value, band, answer, &mut g) {
            Some(outcome) => (outcome, None),
            None => return g,
        },
        QuestionKind::Choice { choices } => match choice(q, choices, &value, band, answer, &mut g) {
            Some(found) => found,
            None => return g,
        },
    };
    g.verdict = match outcome {
        Outcome::Graded(true) => Verdict::Right,
        Outcome::Graded(false) => Verdict::Wrong,
        Outcome::TooClose => {
            g.problem = Some(format!(
                "too close to call: measured {measured_text}; your answer is within the tolerance of some runs and not of others"
            ));
            Verdict::TooClose
        }
        Outcome::Unanswered => Verdict::Unanswered,
    };
    let own = picked.and_then(|c| c.explain.as_deref()).map(|e| fill(e, &measured_text, evidence));
    g.explain = Some(match own {
        Some(own) => format!("{own} {}", q.explain),
        None => q.explain.clone(),
    });
    g
}

/// A number question: right within the tolerance (at every run's end of the noise band, or
/// too close); `None` when the value is not a number (the problem is set in `g`).
fn number(
    q: &Question,
    tolerance: Tolerance,
    value: &Value,
    band: Option<(f64, f64)>,
    answer: Option<Answer>,
    g: &mut Graded,
) -> Option<Outcome> {
    let Value::Number(n) = value else {
        g.problem = Some(format!("{} measured '{value}', not a number", q.quantity));
        return None;
    };
    let m = q.unit.from_base(*n);
    let allowed = tolerance.allowed(m);
    let measured_text = g.measured_text.clone().unwrap_or_default();
    g.right_answer = Some(if allowed == 0.0 {
        format!("{measured_text}, exactly")
    } else {
        format!("{measured_text}, within ±{}", q.unit.show(allowed))
    });
    // A little slack for numbers printed rounded: 1e-9 of the value.
    let near = |x: f64, m: f64| (x - m).abs() <= tolerance.allowed(m) + 1e-9 * m.abs().max(1.0);
    Some(match answer {
        Some(Answer::Number(x)) => match band {
            Some((lo, hi)) if near(x, lo) != near(x, hi) || near(x, lo) != near(x, m) => Outcome::TooClose,
            _ => Outcome::Graded(near(x, m)),
        },
        Some(Answer::Choice(_)) => Outcome::Graded(false),
        None => Outcome::Unanswered,
    })
}

/// A choice question: right when the answer is the choice the value picks; `None` when no
/// choice holds the value, or the value lies within its noise of a boundary (the verdict or
/// the problem is set in `g`). Returns the choice picked, for its own feedback.
fn choice<'a>(
    q: &Question,
    choices: &'a [Choice],
    value: &Value,
    band: Option<(f64, f64)>,
    answer: Option<Answer>,
    g: &mut Graded,
) -> Option<(Outcome, Option<&'a Choice>)> {
    let measured_text = g.measured_text.clone().unwrap_or_default();
    let Some(correct) = right_choice(choices, value, q) else {
        g.problem = Some(format!(
            "the measured value {measured_text} fits none of the choices; the lab's spec ({}) needs a choice for it",
            q.quantity
        ));
        return None;
    };
    if let Some((lo, hi)) = band {
        let at = |x: f64| right_choice(choices, &Value::Number(x * q.unit.scale), q).map(|c| c.letter);
        if at(lo) != at(hi) {
            g.verdict = Verdict::TooClose;
            g.problem = Some(format!(
                "too close to call: measured {measured_text}, within its noise of the boundary between choices {} and {}; this answer is graded neither right nor wrong",
                at(lo).map_or('?', |c| c),
                at(hi).map_or('?', |c| c)
            ));
            g.explain = Some(q.explain.clone());
            return None;
        }
    }
    g.right_answer = Some(choice_text(correct));
    g.right_letter = Some(correct.letter);
    Some(match answer {
        Some(Answer::Choice(i)) => {
            let picked = choices.get(i);
            (Outcome::Graded(picked.is_some_and(|c| c.letter == correct.letter)), picked)
        }
        Some(Answer::Number(_)) => (Outcome::Graded(false), None),
        None => (Outcome::Unanswered, None),
    })
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

/// A choice's feedback with `{measured}` and any quantity (`{dataset.<f>}`, `{machine.<f>}`,
/// ...) filled in.
pub fn fill(template: &str, measured: &str, evidence: &Evidence<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + len];
        let value = if name == "measured" {
            Some(measured.to_owned())
        } else {
            Quantity::parse(name).ok().and_then(|q| q.resolve_in(evidence).ok()).map(|v| v.to_string())
        };
        out.push_str(&value.unwrap_or_else(|| format!("{{{name}}}")));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}
