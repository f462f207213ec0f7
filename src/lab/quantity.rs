//! Quantities: named paths into a run's results, the measured values a lab's questions are
//! checked against.
//!
//! | form | example |
//! |---|---|
//! | `dataset.<field>` | `dataset.npy_header_bytes` |
//! | `machine.<field>` | `machine.page_size` |
//! | `step.<id>.<cache>.<field>` | `step.npy_memmap_default.warm.dtype` |
//! | `program.<phase>.<field>` | `program.read.file_rss_bytes` (a lab with a `[program]`) |
//! | `ratio(<a>, <b>)` | `ratio(step.npy_load_mmap.cold.time_access_ns, step.npy_load_mmap.warm.time_access_ns)` |
//! | `difference(<a>, <b>)` | `difference(dataset.npy_bytes, dataset.raw_bytes)` |
//!
//! Every field is listed once, in the registry of [`super::fields`], with its dimension, what
//! it needs of a step and how it is read from `results.json`; `mmap-lab lab quantities`
//! prints the list. A quantity is checked twice: against the
//! lab's experiments before anything runs ([`Quantity::check`]: the step exists, runs under
//! that cache state, and has the access pattern the field needs; a program's phase is one it
//! marks), and against the measurement ([`Quantity::resolve_in`]: a crashed step has no
//! `after_access` snapshot, and says so).

use std::fmt;

use super::evidence::Evidence;
use super::fields::{
    DATASET_FIELDS, MACHINE_FIELDS, Missing, PROGRAM_FIELDS, ProgramField, RunField, StepField, step_fields,
};
pub use super::value::{Dimension, Value};
use crate::cache::CacheState;
use crate::results::Results;
use crate::spec::ExperimentSpec;

/// A step as a lab plans to run it: the id it has in results (with `_k{K}` for a sharing
/// step), its cache state and its experiment.
#[derive(Debug, Clone)]
pub struct PlannedStep<'a> {
    /// Its id in results.
    pub result_id: String,
    /// Its cache state.
    pub cache: CacheState,
    /// The experiment it runs.
    pub spec: &'a ExperimentSpec,
}

/// A parsed quantity.
#[derive(Clone)]
pub enum Quantity {
    /// `dataset.<field>`.
    Dataset(&'static RunField),
    /// `machine.<field>`.
    Machine(&'static RunField),
    /// `step.<id>.<cache>.<field>`.
    Step {
        /// The step's id in results.
        id: String,
        /// Its cache state.
        cache: CacheState,
        /// The field.
        field: &'static StepField,
    },
    /// `program.<phase>.<field>`: the lab's program at a phase it marked.
    Program {
        /// The phase.
        phase: String,
        /// The field.
        field: &'static ProgramField,
    },
    /// `ratio(a, b)`: a / b.
    Ratio(Box<Quantity>, Box<Quantity>),
    /// `difference(a, b)`: a - b.
    Difference(Box<Quantity>, Box<Quantity>),
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({self})")
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Dataset(field) => write!(f, "dataset.{}", field.name),
            Quantity::Machine(field) => write!(f, "machine.{}", field.name),
            Quantity::Step { id, cache, field } => write!(f, "step.{id}.{}.{}", cache.name(), field.name),
            Quantity::Program { phase, field } => write!(f, "program.{phase}.{}", field.name),
            Quantity::Ratio(a, b) => write!(f, "ratio({a}, {b})"),
            Quantity::Difference(a, b) => write!(f, "difference({a}, {b})"),
        }
    }
}

const HINT: &str = "`mmap-lab lab quantities` lists every quantity";

fn find_run_field(
    fields: &'static [RunField],
    name: &str,
    prefix: &str,
) -> Result<&'static RunField, String> {
    fields.iter().find(|f| f.name == name).ok_or_else(|| {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        let hint =
            super::text::closest(name, &names).map(|c| format!(" (did you mean '{c}'?)")).unwrap_or_default();
        format!("{prefix}.{name} does not exist{hint}: {prefix} has {}", names.join(", "))
    })
}

impl Quantity {
    /// Parses `dataset.npy_bytes`, `step.<id>.<cache>.<field>`, `ratio(a, b)` or
    /// `difference(a, b)`; the error says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let t = text.trim();
        for (name, make) in [
            ("ratio", Quantity::Ratio as fn(Box<Quantity>, Box<Quantity>) -> Quantity),
            ("difference", Quantity::Difference),
        ] {
            if let Some(rest) = t.strip_prefix(name).map(str::trim_start).and_then(|r| r.strip_prefix('(')) {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| format!("'{t}': {name}(...) is missing its closing parenthesis"))?;
                let (a, b) = split_arguments(inner).ok_or_else(|| {
                    format!("'{t}': {name} takes two quantities separated by a comma: {name}(a, b)")
                })?;
                let q = make(Box::new(Quantity::parse(a)?), Box::new(Quantity::parse(b)?));
                q.dimension()?;
                return Ok(q);
            }
        }
        let parts: Vec<&str> = t.split('.').collect();
        match parts.as_slice() {
            ["dataset", field] => Ok(Quantity::Dataset(find_run_field(DATASET_FIELDS, field, "dataset")?)),
            ["machine", field] => Ok(Quantity::Machine(find_run_field(MACHINE_FIELDS, field, "machine")?)),
            ["step", id, cache, field] => {
                let cache = match *cache {
                    "warm" => CacheState::Warm,
                    "cold" => CacheState::Cold,
                    other => return Err(format!("'{t}': the cache state is '{other}'; use warm or cold")),
                };
                let field = step_fields().find(|f| f.name == *field).ok_or_else(|| {
                    let names: Vec<&str> = step_fields().map(|f| f.name).collect();
                    let hint = super::text::closest(field, &names)
                        .map(|c| format!(" (did you mean '{c}'?)"))
                        .unwrap_or_default();
                    format!("'{t}': a step has no field '{field}'{hint}; {HINT}")
                })?;
                if id.is_empty() {
                    return Err(format!("'{t}': the step id is empty"));
                }
                Ok(Quantity::Step { id: (*id).to_owned(), cache, field })
            }
            ["step", ..] => Err(format!("'{t}': a step quantity reads step.<id>.<warm|cold>.<field>")),
            ["program", phase, field] => {
                let field = PROGRAM_FIELDS.iter().find(|f| f.name == *field).ok_or_else(|| {
                    let names: Vec<&str> = PROGRAM_FIELDS.iter().map(|f| f.name).collect();
                    let hint = super::text::closest(field, &names)
                        .map(|c| format!(" (did you mean '{c}'?)"))
                        .unwrap_or_default();
                    format!("'{t}': a program's phase has no field '{field}'{hint}; {HINT}")
                })?;
                Ok(Quantity::Program { phase: (*phase).to_owned(), field })
            }
            ["program", ..] => Err(format!("'{t}': a program quantity reads program.<phase>.<field>")),
            _ => Err(format!(
                "'{t}' is not a quantity: use dataset.<field>, machine.<field>, step.<id>.<warm|cold>.<field>, program.<phase>.<field>, ratio(a, b) or difference(a, b); {HINT}"
            )),
        }
    }

    /// The dimension of its values, or why the combination makes no sense.
    pub fn dimension(&self) -> Result<Dimension, String> {
        match self {
            Quantity::Dataset(f) | Quantity::Machine(f) => Ok(f.dimension),
            Quantity::Step { field, .. } => Ok(field.dimension),
            Quantity::Program { field, .. } => Ok(field.dimension),
            Quantity::Ratio(a, b) => {
                let (da, db) = (a.dimension()?, b.dimension()?);
                if da.is_numeric() && db.is_numeric() {
                    Ok(Dimension::Ratio)
                } else {
                    Err(format!(
                        "ratio({a}, {b}) needs two numbers, but one is {}",
                        if da.is_numeric() { db.name() } else { da.name() }
                    ))
                }
            }
            Quantity::Difference(a, b) => {
                let (da, db) = (a.dimension()?, b.dimension()?);
                if da == db && da.is_numeric() {
                    Ok(da)
                } else {
                    Err(format!(
                        "difference({a}, {b}) needs two numbers of the same kind, not {} and {}",
                        da.name(),
                        db.name()
                    ))
                }
            }
        }
    }

    /// Whether any field it reads is a time (measured over repeated runs).
    pub fn reads_time(&self) -> bool {
        match self {
            Quantity::Dataset(f) | Quantity::Machine(f) => f.dimension == Dimension::Nanos,
            Quantity::Step { field, .. } => field.dimension == Dimension::Nanos,
            Quantity::Program { field, .. } => field.dimension == Dimension::Nanos,
            Quantity::Ratio(a, b) | Quantity::Difference(a, b) => a.reads_time() || b.reads_time(),
        }
    }

    /// Whether any field it reads is the lab's program's.
    pub fn reads_program(&self) -> bool {
        match self {
            Quantity::Program { .. } => true,
            Quantity::Ratio(a, b) | Quantity::Difference(a, b) => a.reads_program() || b.reads_program(),
            _ => false,
        }
    }

    /// Every step the quantity reads, as (id, cache).
    pub fn steps(&self) -> Vec<(&str, CacheState)> {
        match self {
            Quantity::Dataset(_) | Quantity::Machine(_) | Quantity::Program { .. } => Vec::new(),
            Quantity::Step { id, cache, .. } => vec![(id.as_str(), *cache)],
            Quantity::Ratio(a, b) | Quantity::Difference(a, b) => {
                let mut all = a.steps();
                all.extend(b.steps());
                all
            }
        }
    }

    /// Checks, before anything runs, that every step the quantity reads is among `steps`
    /// under that cache state and has what its field needs, and that every program phase it
    /// reads is one of `phases` (none: the lab runs no program).
    pub fn check(&self, steps: &[PlannedStep<'_>], phases: Option<&[String]>) -> Result<(), String> {
        match self {
            Quantity::Dataset(_) | Quantity::Machine(_) => Ok(()),
            Quantity::Ratio(a, b) | Quantity::Difference(a, b) => {
                a.check(steps, phases)?;
                b.check(steps, phases)
            }
            Quantity::Program { phase, .. } => {
                let Some(phases) = phases else {
                    return Err(format!(
                        "'{self}' reads a program, but this lab runs none: add a [program] table"
                    ));
                };
                if phases.contains(phase) {
                    return Ok(());
                }
                let names: Vec<&str> = phases.iter().map(String::as_str).collect();
                let hint = super::text::closest(phase, &names)
                    .map(|c| format!(" (did you mean '{c}'?)"))
                    .unwrap_or_default();
                Err(format!(
                    "'{self}': the program marks no phase '{phase}'{hint}; its phases are {}",
                    names.join(", ")
                ))
            }
            Quantity::Step { id, cache, field } => {
                let same_id: Vec<&PlannedStep<'_>> = steps.iter().filter(|s| s.result_id == *id).collect();
                if same_id.is_empty() {
                    let mut ids: Vec<&str> = steps.iter().map(|s| s.result_id.as_str()).collect();
                    ids.dedup();
                    return Err(format!(
                        "'{self}' names step '{id}', which this lab does not run; its steps are {}",
                        ids.join(", ")
                    ));
                }
                let Some(step) = same_id.iter().find(|s| s.cache == *cache) else {
                    return Err(format!(
                        "'{self}': this lab runs step '{id}' only {}, not {}",
                        same_id.iter().map(|s| s.cache.name()).collect::<Vec<_>>().join(" and "),
                        cache.name()
                    ));
                };
                field.needs.check(step.spec).map_err(|why| {
                    format!(
                        "'{self}': field '{}' needs {}, but step '{id}' has none: {why}",
                        field.name,
                        field.needs.describe()
                    )
                })
            }
        }
    }

    /// The measured value in `results` (a quantity that reads no program), or why it is
    /// missing.
    pub fn resolve(&self, results: &Results) -> Result<Value, Missing> {
        self.resolve_in(&Evidence::of(results))
    }

    /// The measured value in `evidence`, or why it is missing.
    pub fn resolve_in(&self, evidence: &Evidence<'_>) -> Result<Value, Missing> {
        let results = evidence.results;
        match self {
            Quantity::Dataset(f) | Quantity::Machine(f) => (f.get)(results),
            Quantity::Program { phase, field } => {
                let program = evidence.program.ok_or_else(|| {
                    "this measurement has no run of the lab's program; measure the lab again (without --results)"
                        .to_owned()
                })?;
                program.phase(phase).map(|p| Value::Number((field.get)(p) as f64))
            }
            Quantity::Step { id, cache, field } => {
                let step = results.step(id, *cache).ok_or_else(|| {
                    format!(
                        "the results have no step {id}/{}; measure this lab again (without --results)",
                        cache.name()
                    )
                })?;
                (field.get)(step, results)
            }
            Quantity::Ratio(a, b) => {
                let (x, y) = (number(a, evidence)?, number(b, evidence)?);
                if y == 0.0 {
                    return Err(format!("ratio({a}, {b}) divides by zero: {b} is 0"));
                }
                Ok(Value::Number(x / y))
            }
            Quantity::Difference(a, b) => Ok(Value::Number(number(a, evidence)? - number(b, evidence)?)),
        }
    }
}

fn number(q: &Quantity, evidence: &Evidence<'_>) -> Result<f64, Missing> {
    match q.resolve_in(evidence)? {
        Value::Number(n) => Ok(n),
        other => Err(format!("{q} is '{other}', not a number")),
    }
}

/// Splits `a, b` at the comma that is not inside parentheses.
fn split_arguments(inner: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                let (a, b) = (inner[..i].trim(), inner[i + 1..].trim());
                return (!a.is_empty() && !b.is_empty()).then_some((a, b));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
