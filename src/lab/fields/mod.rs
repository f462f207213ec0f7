//! The fields a quantity can name: every value a lab's question can be checked against, with
//! its dimension, what it needs of a step, and how it is read from `results.json`.
//! `mmap-lab lab quantities` prints this registry; [`super::quantity`] parses the paths that
//! name its entries.
//!
//! Phases of a step: `before_open` (the baseline), `after_open`, `after_first` (first
//! element read), `after_access` (the access pattern done). Fault counts and byte counts are
//! absolute in the snapshots, so a field of one phase is the difference of two snapshots.
//!
//! The registry is split by what it reads: [`run`] the run's dataset and machine, [`step`]
//! a step's outcome, opened array and first element, [`access`] its access pattern, workers
//! and batches, [`program`] a lab's program measured at its phase marks.

pub mod access;
pub mod program;
pub mod run;
pub mod step;

use super::value::{Dimension, Value};
use crate::results::{Results, StepResult};
use crate::spec::{AccessSpec, ExperimentSpec};

pub use program::{PROGRAM_FIELDS, ProgramField};
pub use run::{DATASET_FIELDS, MACHINE_FIELDS};

/// What a step field needs of the experiment that produces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any step.
    Any,
    /// A step that opens one array (not a sharing step).
    Opened,
    /// An opened array whose first element is read (access is not `none`).
    First,
    /// An access pattern beyond the first element (not `none` or `first`).
    Access,
    /// A sharing step (`workers = [...]`).
    Sharing,
    /// A `random_batches` access pattern.
    Batches,
}

impl Needs {
    /// Whether `spec` produces what the field needs; otherwise why not.
    pub(super) fn check(self, spec: &ExperimentSpec) -> Result<(), String> {
        let sharing = spec.workers.is_some();
        let access = &spec.access;
        let problem = match self {
            Needs::Any => None,
            Needs::Opened | Needs::First | Needs::Access if sharing => {
                Some("it is a sharing step (workers = [...]): use the sharing fields".to_owned())
            }
            Needs::Opened => None,
            Needs::First if *access == AccessSpec::None => {
                Some("its access is \"none\": no element is read".to_owned())
            }
            Needs::First => None,
            Needs::Access if matches!(access, AccessSpec::None | AccessSpec::First) => {
                Some(format!("its access is \"{}\": there is no access phase to measure", access.name()))
            }
            Needs::Access => None,
            Needs::Sharing if !sharing => Some("it is not a sharing step (no workers = [...])".to_owned()),
            Needs::Sharing => None,
            Needs::Batches if !matches!(access, AccessSpec::RandomBatches { .. }) => {
                Some(format!("its access is \"{}\", not random_batches", access.name()))
            }
            Needs::Batches => None,
        };
        problem.map_or(Ok(()), Err)
    }

    /// In words, for `mmap-lab lab quantities`.
    pub fn describe(self) -> &'static str {
        match self {
            Needs::Any => "any step",
            Needs::Opened => "one array opened",
            Needs::First => "first element read",
            Needs::Access => "an access pattern",
            Needs::Sharing => "workers = [...]",
            Needs::Batches => "random_batches",
        }
    }
}

/// Why a value is missing from the results.
pub type Missing = String;

/// A field of `dataset` or `machine`.
pub struct RunField {
    /// Its name in a quantity path.
    pub name: &'static str,
    /// Its dimension.
    pub dimension: Dimension,
    /// What it is.
    pub doc: &'static str,
    pub(super) get: fn(&Results) -> Result<Value, Missing>,
}

/// A field of one step under one cache state.
pub struct StepField {
    /// Its name in a quantity path.
    pub name: &'static str,
    /// Its dimension.
    pub dimension: Dimension,
    /// What the step must do to have it.
    pub needs: Needs,
    /// What it is.
    pub doc: &'static str,
    pub(super) get: fn(&StepResult, &Results) -> Result<Value, Missing>,
}

pub(super) fn num(n: impl Into<f64>) -> Result<Value, Missing> {
    Ok(Value::Number(n.into()))
}

pub(super) fn u(n: u64) -> Result<Value, Missing> {
    Ok(Value::Number(n as f64))
}

/// Every field of `step.<id>.<cache>.*`, in the order `mmap-lab lab quantities` lists them:
/// `_growth` fields count from `before_open`; `_open`, `_first` and `_access` fields count
/// one phase.
pub fn step_fields() -> impl Iterator<Item = &'static StepField> {
    [step::OUTCOME, step::OPENED, step::FIRST, access::ACCESS, access::SHARING, access::BATCHES]
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_name_is_unique_and_documented() {
        let mut names: Vec<&str> = step_fields().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a step field is listed twice");
        for f in step_fields() {
            assert!(!f.doc.is_empty(), "{}", f.name);
        }
        for f in DATASET_FIELDS.iter().chain(MACHINE_FIELDS) {
            assert!(!f.doc.is_empty(), "{}", f.name);
        }
    }
}
