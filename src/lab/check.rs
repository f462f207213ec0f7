//! `lab check`: every lab measured at the smallest and largest shape it supports, each
//! question shown to resolve and to have the same right answer at both.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::LabEntry;
use super::args::CheckArgs;
use super::grade::{self, Graded, Verdict};
use super::run::{Measurement, Placement, command_line, unexpected_steps};
use super::spec::{LabSpec, Question, QuestionKind};
use crate::error::input;
use crate::shape::Shape;

/// One question's outcome at one shape: a line, whether it is a problem, and the right
/// answer to compare across shapes (none when too close or not gradable).
struct Line {
    ok: bool,
    text: String,
    id: Option<String>,
    right: Option<Right>,
}

/// A right answer as compared across shapes.
#[derive(Debug, Clone)]
enum Right {
    /// A choice, by its text as shown (`b) ...`).
    Choice(String),
    /// A number (in the question's unit), with the distance its tolerance allows.
    Number(f64, f64),
}

impl Right {
    fn same(&self, other: &Right) -> bool {
        match (self, other) {
            (Right::Choice(a), Right::Choice(b)) => a == b,
            (Right::Number(a, ta), Right::Number(b, tb)) => {
                (a - b).abs() <= ta.max(*tb) + 1e-9 * a.abs().max(1.0)
            }
            _ => false,
        }
    }

    fn show(&self) -> String {
        match self {
            Right::Choice(c) => c.clone(),
            Right::Number(n, _) => super::text::format_number(*n),
        }
    }
}

/// Runs `lab check`; returns the exit code.
pub fn check(labs_dir: &Path, experiments_dir: &Path, args: &CheckArgs) -> Result<u8> {
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
    let python = if labs.iter().any(|l| l.program.is_some()) {
        super::program::choose_python(None, false)?
    } else {
        crate::peer::PeerChoice::Without("no lab runs a program".to_owned())
    };
    for lab in &labs {
        let shapes: Vec<Shape> = match &args.shape {
            Some(shape) => vec![shape.clone()],
            None => {
                let mut ends = vec![lab.shapes[0].clone()];
                if let Some(last) = lab.shapes.last().filter(|l| **l != lab.shapes[0]) {
                    ends.push(last.clone());
                }
                ends
            }
        };
        crate::outln!("lab {} ({}): {}", lab.number, lab.id, lab.title);
        let mut rights: BTreeMap<String, Vec<(String, Right)>> = BTreeMap::new();
        for shape in &shapes {
            let name = shape.python().replace(['(', ')', ' '], "").replace(',', "x");
            let dir = data_dir.join(&name);
            let place = Placement {
                shape: shape.clone(),
                data_dir: dir.clone(),
                out: dir.join(format!("{}-report", lab.stem())),
            };
            let Some(m) = super::run::measure(lab, &place, command_line(), &python)? else {
                return Ok(130);
            };
            crate::outln!("  at shape {}:", shape.python());
            // Explanations are written for the shapes the lab supports: outside them, a run
            // only shows that every quantity resolves.
            let supported =
                (lab.shapes[0].len()..=lab.shapes[lab.shapes.len() - 1].len()).contains(&shape.len());
            for line in check_lab(lab, &m, args.answers_key, supported) {
                problems += usize::from(!line.ok);
                crate::outln!("    {} {}", if line.ok { "ok     " } else { "PROBLEM" }, line.text);
                if let (Some(id), Some(right)) = (line.id, line.right) {
                    rights.entry(id).or_default().push((shape.python(), right));
                }
            }
        }
        for (id, seen) in &rights {
            if let [(sa, a), .., (sb, b)] = seen.as_slice() {
                if !a.same(b) {
                    problems += 1;
                    let shown =
                        |r: &Right| if args.answers_key { format!(" ({})", r.show()) } else { String::new() };
                    crate::outln!(
                        "  PROBLEM {id}: the right answer at shape {sa}{} is not the one at {sb}{}: the answer depends on the shape; declare the shapes it holds at (`shapes`), or ask a ratio",
                        shown(a),
                        shown(b)
                    );
                }
            }
        }
    }
    crate::outln!(
        "{} lab(s) checked: {}",
        labs.len(),
        if problems == 0 {
            "every question resolves and holds".to_owned()
        } else {
            format!("{problems} problem(s)")
        }
    );
    Ok(if problems == 0 { 0 } else { 1 })
}

/// One line per question (and per unexpected step): whether it resolves, and to what; at a
/// `supported` shape, also where the right answer contradicts the question's explanation.
fn check_lab(lab: &LabSpec, m: &Measurement, key: bool, supported: bool) -> Vec<Line> {
    let graded = grade::grade(lab, &m.evidence(), &m.repeats, &super::answers::Answers::default(), true);
    let mut lines: Vec<Line> = unexpected_steps(lab, &m.results)
        .into_iter()
        .map(|l| Line { ok: false, text: l, id: None, right: None })
        .collect();
    for g in graded.questions {
        let measured = g.measured_text.clone().unwrap_or_default();
        let (ok, text, right) = match g.verdict {
            Verdict::Unchecked => (false, g.problem.clone().unwrap_or_default(), None),
            Verdict::TooClose | Verdict::NotGradable => (true, g.problem.clone().unwrap_or_default(), None),
            _ => {
                let right = g.right_answer.clone().unwrap_or_default();
                let q = lab.questions.iter().find(|q| q.id == g.id);
                let compared =
                    match (q.map(|q| &q.kind), g.measured.as_ref().and_then(serde_json::Value::as_f64)) {
                        (Some(QuestionKind::Number { tolerance }), Some(n)) => {
                            Right::Number(n, tolerance.allowed(n))
                        }
                        _ => Right::Choice(right.clone()),
                    };
                let text = if key {
                    format!("{} = {measured} -> {right}", g.quantity)
                } else {
                    format!("{} = {measured}", g.quantity)
                };
                if let Some(why) = q.filter(|_| supported).and_then(|q| contradiction(q, &g, key)) {
                    lines.push(Line { ok: false, text: format!("{}: {why}", g.id), id: None, right: None });
                }
                (true, text, Some(compared))
            }
        };
        lines.push(Line { ok, text: format!("{}: {text}", g.id), id: Some(g.id), right });
    }
    lines
}

/// Why the measured right answer of `g` contradicts what `q`'s explanation argues for
/// (`explains`), if it does; the answers themselves only with the key.
fn contradiction(q: &Question, g: &Graded, key: bool) -> Option<String> {
    let explains = q.explains?;
    let value = g.measured.as_ref().and_then(serde_json::Value::as_f64);
    if explains.agrees(g.right_letter, value) {
        return None;
    }
    let detail = if key {
        format!(
            " (it argues for {}, the measurement picks {})",
            explains.show(),
            g.right_answer.as_deref().unwrap_or("?")
        )
    } else {
        String::new()
    };
    Some(format!(
        "the measured right answer contradicts the question's own explanation{detail}: the explanation is written for another outcome (`explains`); correct the explanation or the choices, or declare the shapes where it holds"
    ))
}
