//! What a lab's questions are graded against: the suite's results, and the lab's program
//! as measured at its phase marks (when the lab has one).

use super::program::record::ProgramRecord;
use crate::results::Results;

/// The measured section of a lab run, as quantities read it.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// What the suite measured (results.json).
    pub results: &'a Results,
    /// The program's run, for a lab with a `[program]`.
    pub program: Option<&'a ProgramRecord>,
}

impl<'a> Evidence<'a> {
    /// The suite's results alone (a lab without a program).
    pub fn of(results: &'a Results) -> Evidence<'a> {
        Evidence { results, program: None }
    }

    /// The results and the program's run.
    pub fn with(results: &'a Results, program: Option<&'a ProgramRecord>) -> Evidence<'a> {
        Evidence { results, program }
    }
}
