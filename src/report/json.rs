//! `results.json`: the run itself, for anyone who wants to analyse further.

use anyhow::Result;

use super::Output;
use crate::results::Results;

/// One run's results as JSON (`results.json`, or `results-N.json` beside others).
pub struct Json {
    /// Which run.
    pub index: usize,
    /// Whether it is the only run in the report.
    pub single: bool,
}

impl Output for Json {
    fn file_name(&self) -> String {
        if self.single { "results.json".to_owned() } else { format!("results-{}.json", self.index + 1) }
    }

    fn render(&self, runs: &[Results]) -> Result<Vec<u8>> {
        runs[self.index].to_json()
    }
}
