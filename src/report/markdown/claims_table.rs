//! The claims table: what the tutorial says, what this run measured, the verdict.

use std::fmt::Write as _;

use crate::report::claims::{self, Verdict};
use crate::results::Results;

/// Writes the claims section of `run` under a heading of level `h`.
pub fn section(md: &mut String, run: &Results, h: &str) {
    let _ = writeln!(md, "{h} The tutorial's claims, checked\n");
    md.push_str(
        "Each verdict is computed from this run's numbers: *holds* when they agree with the claim, \
         *does not hold* when they contradict it, *misleading* when the claim is true as far as it goes but \
         leads to a wrong conclusion, *not measured* when the steps it needs did not run.\n\n",
    );
    md.push_str("| the tutorial says | measured here | verdict | why |\n|---|---|---|---|\n");
    for c in claims::check(run) {
        let verdict = match c.verdict {
            Verdict::NotMeasured => c.verdict.name().to_owned(),
            v => format!("**{}**", v.name()),
        };
        let _ = writeln!(md, "| {} | {} | {verdict} | {} |", c.claim, c.measured, c.explanation);
    }
    md.push('\n');
}
