//! The feedback a student reads: one block per question, then the score.

use super::{LabGrade, Verdict};
use crate::lab::text::wrap;

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
