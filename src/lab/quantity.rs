//! Quantities: named paths into a run's results, the measured values a lab's questions are
//! checked against.
//!
//! | form | example |
//! |---|---|
//! | `dataset.<field>` | `dataset.npy_header_bytes` |
//! | `machine.<field>` | `machine.page_size` |
//! | `step.<id>.<cache>.<field>` | `step.npy_memmap_default.warm.dtype` |
//! | `ratio(<a>, <b>)` | `ratio(step.npy_load_mmap.cold.time_access_ns, step.npy_load_mmap.warm.time_access_ns)` |
//! | `difference(<a>, <b>)` | `difference(dataset.npy_bytes, dataset.raw_bytes)` |
//!
//! Every field is listed once, in [`DATASET_FIELDS`], [`MACHINE_FIELDS`] and [`STEP_FIELDS`],
//! with its dimension, what it needs of a step, and how it is read from `results.json`;
//! `mmap-lab lab quantities` prints the list. A quantity is checked twice: against the
//! lab's experiments before anything runs ([`Quantity::check`]: the step exists, runs under
//! that cache state, and has the access pattern the field needs), and against the results
//! ([`Quantity::resolve`]: a crashed step has no `after_access` snapshot, and says so).

use std::fmt;

use crate::cache::CacheState;
use crate::probe::{Phase, Snapshot};
use crate::results::{Results, StepResult};
use crate::spec::{AccessSpec, ExperimentSpec, Status};

/// What kind of value a quantity is, which decides the units and questions that fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// A number of bytes (units: bytes, KiB, MiB, GiB, kB, MB, GB).
    Bytes,
    /// A duration in nanoseconds (units: ns, us, ms, s).
    Nanos,
    /// A count: faults, pages, elements.
    Count,
    /// A plain number: a value read from the array.
    Number,
    /// A ratio of two quantities (units: none, or percent).
    Ratio,
    /// A word: a dtype, a status, a signal's name.
    Text,
    /// Yes or no.
    Bool,
}

impl Dimension {
    /// Whether values are numbers (questions with a tolerance or with ranges as choices).
    pub fn is_numeric(self) -> bool {
        !matches!(self, Dimension::Text | Dimension::Bool)
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Bytes => "bytes",
            Dimension::Nanos => "a duration",
            Dimension::Count => "a count",
            Dimension::Number => "a number",
            Dimension::Ratio => "a ratio",
            Dimension::Text => "text",
            Dimension::Bool => "yes or no",
        }
    }
}

/// A measured value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number, in the quantity's base unit (bytes, nanoseconds, a count, a ratio).
    Number(f64),
    /// A word.
    Text(String),
    /// Yes or no.
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::Text(t) => f.write_str(t),
            Value::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
        }
    }
}

/// A number as a student reads it: whole numbers grouped (`1,383,091,200`), others with a
/// precision that suits their size (`131.84`, `0.0289`, `0.000029`).
pub fn format_number(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    if n.fract() == 0.0 && n.abs() < 1e18 {
        let grouped = crate::units::grouped(n.abs() as u64);
        return if n < 0.0 { format!("-{grouped}") } else { grouped };
    }
    let a = n.abs();
    if a >= 1000.0 {
        format_number(n.round())
    } else if a >= 100.0 {
        format!("{n:.1}")
    } else if a >= 1.0 {
        format!("{n:.2}")
    } else {
        // Three significant digits for small values.
        let digits = (-a.log10().floor()) as usize + 2;
        format!("{n:.digits$}")
    }
}

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
    fn check(self, spec: &ExperimentSpec) -> Result<(), String> {
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
    get: fn(&Results) -> Result<Value, Missing>,
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
    get: fn(&StepResult, &Results) -> Result<Value, Missing>,
}

fn num(n: impl Into<f64>) -> Result<Value, Missing> {
    Ok(Value::Number(n.into()))
}

fn u(n: u64) -> Result<Value, Missing> {
    Ok(Value::Number(n as f64))
}

/// Fields of `dataset.*`.
pub static DATASET_FIELDS: &[RunField] = &[
    RunField {
        name: "npy_header_bytes",
        dimension: Dimension::Bytes,
        doc: "length of the .npy header: where the data starts in X_train.npy",
        get: |r| u(r.dataset.npy_header_bytes),
    },
    RunField {
        name: "npy_bytes",
        dimension: Dimension::Bytes,
        doc: "size of X_train.npy",
        get: |r| u(r.dataset.npy_bytes),
    },
    RunField {
        name: "raw_bytes",
        dimension: Dimension::Bytes,
        doc: "size of X_train_raw.rbf: the array's data alone",
        get: |r| u(r.dataset.raw_bytes),
    },
    RunField {
        name: "elements",
        dimension: Dimension::Count,
        doc: "elements of the array (the product of its shape)",
        get: |r| u(r.dataset.shape.len()),
    },
    RunField {
        name: "samples",
        dimension: Dimension::Count,
        doc: "samples: the first dimension of the shape",
        get: |r| u(r.dataset.shape.0.first().copied().unwrap_or(0) as u64),
    },
    RunField {
        name: "ndim",
        dimension: Dimension::Count,
        doc: "dimensions of the array",
        get: |r| u(r.dataset.shape.ndim() as u64),
    },
    RunField {
        name: "itemsize",
        dimension: Dimension::Bytes,
        doc: "bytes per element",
        get: |r| u(r.dataset.dtype.itemsize()),
    },
    RunField {
        name: "dtype",
        dimension: Dimension::Text,
        doc: "element type, as NumPy names it (float64)",
        get: |r| Ok(Value::Text(r.dataset.dtype.name())),
    },
    RunField {
        name: "shape",
        dimension: Dimension::Text,
        doc: "shape in Python's notation: (400, 120, 120, 3)",
        get: |r| Ok(Value::Text(r.dataset.shape.python())),
    },
];

/// Fields of `machine.*`.
pub static MACHINE_FIELDS: &[RunField] = &[
    RunField {
        name: "page_size",
        dimension: Dimension::Bytes,
        doc: "size of a memory page: the unit of page faults and of mincore",
        get: |r| u(r.machine.page_size),
    },
    RunField {
        name: "memory_bytes",
        dimension: Dimension::Bytes,
        doc: "total memory",
        get: |r| u(r.machine.memory_bytes),
    },
    RunField {
        name: "cores",
        dimension: Dimension::Count,
        doc: "logical CPU cores",
        get: |r| u(r.machine.cores as u64),
    },
    RunField {
        name: "read_ahead_bytes",
        dimension: Dimension::Bytes,
        doc: "read-ahead of the data folder's block device",
        get: |r| {
            r.machine
                .read_ahead_kb
                .map(|kb| Value::Number((kb * 1024) as f64))
                .ok_or_else(|| "the run could not read the disk's read-ahead".to_owned())
        },
    },
    RunField {
        name: "thp_enabled",
        dimension: Dimension::Text,
        doc: "transparent huge pages mode: always, madvise or never",
        get: |r| {
            r.machine
                .thp_enabled
                .clone()
                .map(Value::Text)
                .ok_or_else(|| "the run could not read the transparent huge pages mode".to_owned())
        },
    },
];

/// Why a snapshot is missing: the step ended before it, or never has that phase.
fn missing_phase(s: &StepResult, phase: Phase) -> Missing {
    if s.status == Status::Ok {
        format!("step {} has no {} snapshot", s.key(), phase.name())
    } else {
        let why = s.error.as_deref().unwrap_or("no message");
        let short: String = why.chars().take(160).collect();
        format!(
            "step {} ended with status {} ({short}) before its {} snapshot",
            s.key(),
            s.status.name(),
            phase.name()
        )
    }
}

fn snap(s: &StepResult, phase: Phase) -> Result<&Snapshot, Missing> {
    s.snapshot(phase).ok_or_else(|| missing_phase(s, phase))
}

/// `field` at `to` minus `field` at `from`, signed.
fn delta(s: &StepResult, from: Phase, to: Phase, field: fn(&Snapshot) -> u64) -> Result<Value, Missing> {
    let (a, b) = (snap(s, from)?, snap(s, to)?);
    num(field(b) as f64 - field(a) as f64)
}

fn at(s: &StepResult, phase: Phase, field: fn(&Snapshot) -> u64) -> Result<Value, Missing> {
    u(field(snap(s, phase)?))
}

fn opened<T>(s: &StepResult, value: Option<T>, what: &str) -> Result<T, Missing> {
    value.ok_or_else(|| {
        if s.status == Status::Ok {
            format!("step {} recorded no {what}", s.key())
        } else {
            format!(
                "step {} ended with status {} and opened no array, so it has no {what}",
                s.key(),
                s.status.name()
            )
        }
    })
}

fn sharing(s: &StepResult) -> Result<&crate::results::SharingStats, Missing> {
    s.workers.as_ref().ok_or_else(|| format!("step {} recorded no workers", s.key()))
}

fn batches(s: &StepResult) -> Result<&crate::results::BatchStats, Missing> {
    s.batches.as_ref().ok_or_else(|| format!("step {} recorded no batches", s.key()))
}

fn median(values: &[u64]) -> Result<Value, Missing> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Err("no batches were recorded".to_owned()),
        n if n % 2 == 1 => u(sorted[n / 2]),
        n => num((sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0),
    }
}

fn mean(values: impl Iterator<Item = u64>) -> Result<Value, Missing> {
    let all: Vec<u64> = values.collect();
    if all.is_empty() {
        return Err("no workers were recorded".to_owned());
    }
    num(all.iter().map(|&v| v as f64).sum::<f64>() / all.len() as f64)
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGBUS => "SIGBUS".to_owned(),
        libc::SIGSEGV => "SIGSEGV".to_owned(),
        libc::SIGKILL => "SIGKILL".to_owned(),
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGTERM => "SIGTERM".to_owned(),
        libc::SIGABRT => "SIGABRT".to_owned(),
        other => format!("signal {other}"),
    }
}

use Dimension as D;
use Phase::{AfterAccess, AfterFirst, AfterOpen, BeforeOpen};

/// Fields of `step.<id>.<cache>.*`. Phases: `before_open` (the baseline), `after_open`,
/// `after_first` (first element read), `after_access` (the access pattern done). `_growth`
/// fields count from `before_open`; `_open`, `_first` and `_access` fields count one phase.
pub static STEP_FIELDS: &[StepField] = &[
    // What the step ended as.
    StepField {
        name: "status",
        dimension: D::Text,
        needs: Needs::Any,
        doc: "how the step ended: ok, error or crashed",
        get: |s, _| Ok(Value::Text(s.status.name().to_owned())),
    },
    StepField {
        name: "signal",
        dimension: D::Count,
        needs: Needs::Any,
        doc: "number of the signal that killed the step (7 is SIGBUS on Linux)",
        get: |s, _| {
            s.signal.map(|n| Value::Number(f64::from(n))).ok_or_else(|| {
                format!("step {} was not killed by a signal (status {})", s.key(), s.status.name())
            })
        },
    },
    StepField {
        name: "signal_name",
        dimension: D::Text,
        needs: Needs::Any,
        doc: "name of the signal that killed the step (SIGBUS), or none",
        get: |s, _| Ok(Value::Text(s.signal.map_or_else(|| "none".to_owned(), signal_name))),
    },
    StepField {
        name: "file_bytes_before",
        dimension: D::Bytes,
        needs: Needs::Any,
        doc: "size of the step's file just before the step",
        get: |s, _| {
            s.file_bytes_before
                .map(|b| Value::Number(b as f64))
                .ok_or_else(|| format!("step {} recorded no file size", s.key()))
        },
    },
    StepField {
        name: "file_bytes_after",
        dimension: D::Bytes,
        needs: Needs::Any,
        doc: "size of the step's file after it: larger after mode r+ grew it, smaller after a shrink",
        get: |s, _| {
            s.file_bytes_after
                .map(|b| Value::Number(b as f64))
                .ok_or_else(|| format!("step {} recorded no file size", s.key()))
        },
    },
    StepField {
        name: "file_growth",
        dimension: D::Bytes,
        needs: Needs::Any,
        doc: "file_bytes_after - file_bytes_before (negative after a shrink)",
        get: |s, _| match (s.file_bytes_before, s.file_bytes_after) {
            (Some(a), Some(b)) => num(b as f64 - a as f64),
            _ => Err(format!("step {} recorded no file size", s.key())),
        },
    },
    StepField {
        name: "time_process_ns",
        dimension: D::Nanos,
        needs: Needs::Any,
        doc: "wall time of the step's process, start to exit",
        get: |s, _| u(s.process_ns),
    },
    StepField {
        name: "resident_before",
        dimension: D::Bytes,
        needs: Needs::Any,
        doc: "bytes of the step's file in the page cache when the step started (mincore)",
        get: |s, _| at(s, BeforeOpen, |x| x.resident_bytes),
    },
    // The opened array.
    StepField {
        name: "dtype",
        dimension: D::Text,
        needs: Needs::Opened,
        doc: "dtype of the opened array, as NumPy names it (uint8, float64)",
        get: |s, _| opened(s, s.dtype, "dtype").map(|d| Value::Text(d.name())),
    },
    StepField {
        name: "shape",
        dimension: D::Text,
        needs: Needs::Opened,
        doc: "shape of the opened array in Python's notation: (138240128,)",
        get: |s, _| opened(s, s.shape.as_ref(), "shape").map(|d| Value::Text(d.python())),
    },
    StepField {
        name: "ndim",
        dimension: D::Count,
        needs: Needs::Opened,
        doc: "dimensions of the opened array",
        get: |s, _| opened(s, s.shape.as_ref(), "shape").map(|d| Value::Number(d.ndim() as f64)),
    },
    StepField {
        name: "elements",
        dimension: D::Count,
        needs: Needs::Opened,
        doc: "elements of the opened array (X.size)",
        get: |s, _| opened(s, s.shape.as_ref(), "shape").map(|d| Value::Number(d.len() as f64)),
    },
    StepField {
        name: "first_value",
        dimension: D::Number,
        needs: Needs::Opened,
        doc: "the array's first element (X.flat[0]); 147 is the first byte of the .npy magic",
        get: |s, _| {
            s.first_values
                .first()
                .map(|&v| Value::Number(v))
                .ok_or_else(|| format!("step {} recorded no values", s.key()))
        },
    },
    StepField {
        name: "original_at_element",
        dimension: D::Count,
        needs: Needs::Opened,
        doc: "element at which the original's first values start (0 when correct, 16 for float64 without the offset)",
        get: |s, _| {
            s.original_at_element.map(|n| Value::Number(n as f64)).ok_or_else(|| {
                format!("step {}: the original's first values are not within the first 64 elements", s.key())
            })
        },
    },
    StepField {
        name: "matches_original",
        dimension: D::Bool,
        needs: Needs::Opened,
        doc: "whether the array equals the original: shape, dtype and sampled values",
        get: |s, _| opened(s, s.matches_original, "comparison with the original").map(Value::Bool),
    },
    StepField {
        name: "object_bytes",
        dimension: D::Bytes,
        needs: Needs::Opened,
        doc: "object size, the analogue of sys.getsizeof: the array struct, plus its data only if it owns it",
        get: |s, _| opened(s, s.object_bytes, "object size").map(|b| Value::Number(b as f64)),
    },
    StepField {
        name: "time_open_ns",
        dimension: D::Nanos,
        needs: Needs::Opened,
        doc: "time to open the array (before_open -> after_open)",
        get: |s, _| delta(s, BeforeOpen, AfterOpen, |x| x.elapsed_ns),
    },
    StepField {
        name: "rss_growth_open",
        dimension: D::Bytes,
        needs: Needs::Opened,
        doc: "RSS growth while opening (before_open -> after_open)",
        get: |s, _| delta(s, BeforeOpen, AfterOpen, |x| x.rss_bytes),
    },
    StepField {
        name: "rss_anon_growth_open",
        dimension: D::Bytes,
        needs: Needs::Opened,
        doc: "RssAnon growth while opening: np.load's buffer shows here",
        get: |s, _| delta(s, BeforeOpen, AfterOpen, |x| x.rss_anon_bytes),
    },
    StepField {
        name: "rss_file_growth_open",
        dimension: D::Bytes,
        needs: Needs::Opened,
        doc: "RssFile growth while opening (MAP_POPULATE shows here)",
        get: |s, _| delta(s, BeforeOpen, AfterOpen, |x| x.rss_file_bytes),
    },
    StepField {
        name: "minor_faults_open",
        dimension: D::Count,
        needs: Needs::Opened,
        doc: "minor faults while opening",
        get: |s, _| delta(s, BeforeOpen, AfterOpen, |x| x.minor_faults),
    },
    StepField {
        name: "major_faults_open",
        dimension: D::Count,
        needs: Needs::Opened,
        doc: "major faults while opening",
        get: |s, _| delta(s, BeforeOpen, AfterOpen, |x| x.major_faults),
    },
    StepField {
        name: "resident_after_open",
        dimension: D::Bytes,
        needs: Needs::Opened,
        doc: "bytes of the file in the page cache after opening",
        get: |s, _| at(s, AfterOpen, |x| x.resident_bytes),
    },
    // The first element.
    StepField {
        name: "time_first_ns",
        dimension: D::Nanos,
        needs: Needs::First,
        doc: "time to read the first element (after_open -> after_first)",
        get: |s, _| delta(s, AfterOpen, AfterFirst, |x| x.elapsed_ns),
    },
    StepField {
        name: "rss_growth_first",
        dimension: D::Bytes,
        needs: Needs::First,
        doc: "RSS growth up to the first element (before_open -> after_first)",
        get: |s, _| delta(s, BeforeOpen, AfterFirst, |x| x.rss_bytes),
    },
    StepField {
        name: "minor_faults_first",
        dimension: D::Count,
        needs: Needs::First,
        doc: "minor faults of the first element read",
        get: |s, _| delta(s, AfterOpen, AfterFirst, |x| x.minor_faults),
    },
    StepField {
        name: "major_faults_first",
        dimension: D::Count,
        needs: Needs::First,
        doc: "major faults of the first element read",
        get: |s, _| delta(s, AfterOpen, AfterFirst, |x| x.major_faults),
    },
    StepField {
        name: "resident_after_first",
        dimension: D::Bytes,
        needs: Needs::First,
        doc: "bytes of the file in the page cache after the first element (read-ahead shows here)",
        get: |s, _| at(s, AfterFirst, |x| x.resident_bytes),
    },
    // The access pattern.
    StepField {
        name: "time_access_ns",
        dimension: D::Nanos,
        needs: Needs::Access,
        doc: "time of the access pattern (after_first -> after_access): a full pass, the batches",
        get: |s, _| delta(s, AfterFirst, AfterAccess, |x| x.elapsed_ns),
    },
    StepField {
        name: "minor_faults_access",
        dimension: D::Count,
        needs: Needs::Access,
        doc: "minor faults of the access pattern (after_first -> after_access)",
        get: |s, _| delta(s, AfterFirst, AfterAccess, |x| x.minor_faults),
    },
    StepField {
        name: "major_faults_access",
        dimension: D::Count,
        needs: Needs::Access,
        doc: "major faults of the access pattern (after_first -> after_access)",
        get: |s, _| delta(s, AfterFirst, AfterAccess, |x| x.major_faults),
    },
    StepField {
        name: "minor_faults_total",
        dimension: D::Count,
        needs: Needs::Access,
        doc: "minor faults of the whole step (before_open -> after_access)",
        get: |s, _| delta(s, BeforeOpen, AfterAccess, |x| x.minor_faults),
    },
    StepField {
        name: "major_faults_total",
        dimension: D::Count,
        needs: Needs::Access,
        doc: "major faults of the whole step (before_open -> after_access)",
        get: |s, _| delta(s, BeforeOpen, AfterAccess, |x| x.major_faults),
    },
    StepField {
        name: "rss_growth",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "RSS growth over the whole step (before_open -> after_access)",
        get: |s, _| delta(s, BeforeOpen, AfterAccess, |x| x.rss_bytes),
    },
    StepField {
        name: "rss_anon_growth",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "RssAnon growth over the whole step: the process's own memory",
        get: |s, _| delta(s, BeforeOpen, AfterAccess, |x| x.rss_anon_bytes),
    },
    StepField {
        name: "rss_file_growth",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "RssFile growth over the whole step: mapped file pages (reclaimable)",
        get: |s, _| delta(s, BeforeOpen, AfterAccess, |x| x.rss_file_bytes),
    },
    StepField {
        name: "rss_after",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "RSS after the access pattern",
        get: |s, _| at(s, AfterAccess, |x| x.rss_bytes),
    },
    StepField {
        name: "rss_anon_after",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "RssAnon after the access pattern",
        get: |s, _| at(s, AfterAccess, |x| x.rss_anon_bytes),
    },
    StepField {
        name: "rss_file_after",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "RssFile after the access pattern",
        get: |s, _| at(s, AfterAccess, |x| x.rss_file_bytes),
    },
    StepField {
        name: "resident_after",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "bytes of the file in the page cache after the access pattern",
        get: |s, _| at(s, AfterAccess, |x| x.resident_bytes),
    },
    StepField {
        name: "elements_read",
        dimension: D::Count,
        needs: Needs::Access,
        doc: "elements the access pattern read",
        get: |s, _| opened(s, s.elements_read, "elements read").map(|n| Value::Number(n as f64)),
    },
    StepField {
        name: "bytes_touched",
        dimension: D::Bytes,
        needs: Needs::Access,
        doc: "bytes of the file the access pattern spans (whole pages for random elements)",
        get: |s, _| opened(s, s.bytes_touched, "bytes touched").map(|n| Value::Number(n as f64)),
    },
    StepField {
        name: "pages_touched",
        dimension: D::Count,
        needs: Needs::Access,
        doc: "pages the access pattern spans: bytes_touched / machine.page_size, rounded up",
        get: |s, r| {
            let bytes = opened(s, s.bytes_touched, "bytes touched")?;
            u(bytes.div_ceil(r.machine.page_size.max(1)))
        },
    },
    StepField {
        name: "sum",
        dimension: D::Number,
        needs: Needs::Access,
        doc: "the sum the access pattern computed",
        get: |s, _| opened(s, s.sum, "sum").map(Value::Number),
    },
    // Sharing steps.
    StepField {
        name: "workers",
        dimension: D::Count,
        needs: Needs::Sharing,
        doc: "worker processes of a sharing step",
        get: |s, _| sharing(s).map(|w| Value::Number(f64::from(w.count))),
    },
    StepField {
        name: "total_rss_bytes",
        dimension: D::Bytes,
        needs: Needs::Sharing,
        doc: "the workers' RSS added up: a shared page counts once per worker",
        get: |s, _| sharing(s).map(|w| Value::Number(w.total_rss_bytes as f64)),
    },
    StepField {
        name: "total_pss_bytes",
        dimension: D::Bytes,
        needs: Needs::Sharing,
        doc: "the workers' PSS added up: a shared page counts once in all",
        get: |s, _| sharing(s).map(|w| Value::Number(w.total_pss_bytes as f64)),
    },
    StepField {
        name: "worker_rss_bytes",
        dimension: D::Bytes,
        needs: Needs::Sharing,
        doc: "mean RSS of one worker",
        get: |s, _| mean(sharing(s)?.per_worker.iter().map(|w| w.rss_bytes)),
    },
    StepField {
        name: "worker_pss_bytes",
        dimension: D::Bytes,
        needs: Needs::Sharing,
        doc: "mean PSS of one worker",
        get: |s, _| mean(sharing(s)?.per_worker.iter().map(|w| w.pss_bytes)),
    },
    StepField {
        name: "worker_pass_ns",
        dimension: D::Nanos,
        needs: Needs::Sharing,
        doc: "mean time of one worker's full pass",
        get: |s, _| mean(sharing(s)?.per_worker.iter().map(|w| w.pass_ns)),
    },
    StepField {
        name: "sums_agree",
        dimension: D::Bool,
        needs: Needs::Sharing,
        doc: "whether every worker computed the same sum",
        get: |s, _| sharing(s).map(|w| Value::Bool(w.sums_agree)),
    },
    // Mini-batches.
    StepField {
        name: "batches",
        dimension: D::Count,
        needs: Needs::Batches,
        doc: "mini-batches read",
        get: |s, _| batches(s).map(|b| Value::Number(b.batch_ns.len() as f64)),
    },
    StepField {
        name: "batch_size",
        dimension: D::Count,
        needs: Needs::Batches,
        doc: "samples per mini-batch",
        get: |s, _| batches(s).map(|b| Value::Number(b.batch_size as f64)),
    },
    StepField {
        name: "batch_median_ns",
        dimension: D::Nanos,
        needs: Needs::Batches,
        doc: "median time of one mini-batch",
        get: |s, _| median(&batches(s)?.batch_ns),
    },
    StepField {
        name: "batch_max_ns",
        dimension: D::Nanos,
        needs: Needs::Batches,
        doc: "time of the slowest mini-batch",
        get: |s, _| u(batches(s)?.batch_ns.iter().copied().max().unwrap_or(0)),
    },
    StepField {
        name: "batch_first_ns",
        dimension: D::Nanos,
        needs: Needs::Batches,
        doc: "time of the first mini-batch",
        get: |s, _| {
            batches(s)?
                .batch_ns
                .first()
                .map(|&n| Value::Number(n as f64))
                .ok_or_else(|| "no batches were recorded".to_owned())
        },
    },
    StepField {
        name: "batch_minor_faults",
        dimension: D::Count,
        needs: Needs::Batches,
        doc: "minor faults of all mini-batches together",
        get: |s, _| u(batches(s)?.batch_minor_faults.iter().sum()),
    },
    StepField {
        name: "batch_major_faults",
        dimension: D::Count,
        needs: Needs::Batches,
        doc: "major faults of all mini-batches together",
        get: |s, _| u(batches(s)?.batch_major_faults.iter().sum()),
    },
];

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
        format!("{prefix}.{name} does not exist: {prefix} has {}", names.join(", "))
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
                let field = STEP_FIELDS
                    .iter()
                    .find(|f| f.name == *field)
                    .ok_or_else(|| format!("'{t}': a step has no field '{field}'; {HINT}"))?;
                if id.is_empty() {
                    return Err(format!("'{t}': the step id is empty"));
                }
                Ok(Quantity::Step { id: (*id).to_owned(), cache, field })
            }
            ["step", ..] => Err(format!("'{t}': a step quantity reads step.<id>.<warm|cold>.<field>")),
            _ => Err(format!(
                "'{t}' is not a quantity: use dataset.<field>, machine.<field>, step.<id>.<warm|cold>.<field>, ratio(a, b) or difference(a, b); {HINT}"
            )),
        }
    }

    /// The dimension of its values, or why the combination makes no sense.
    pub fn dimension(&self) -> Result<Dimension, String> {
        match self {
            Quantity::Dataset(f) | Quantity::Machine(f) => Ok(f.dimension),
            Quantity::Step { field, .. } => Ok(field.dimension),
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

    /// Every step the quantity reads, as (id, cache).
    pub fn steps(&self) -> Vec<(&str, CacheState)> {
        match self {
            Quantity::Dataset(_) | Quantity::Machine(_) => Vec::new(),
            Quantity::Step { id, cache, .. } => vec![(id.as_str(), *cache)],
            Quantity::Ratio(a, b) | Quantity::Difference(a, b) => {
                let mut all = a.steps();
                all.extend(b.steps());
                all
            }
        }
    }

    /// Checks, before anything runs, that every step the quantity reads is among `steps`
    /// under that cache state and has what its field needs.
    pub fn check(&self, steps: &[PlannedStep<'_>]) -> Result<(), String> {
        match self {
            Quantity::Dataset(_) | Quantity::Machine(_) => Ok(()),
            Quantity::Ratio(a, b) | Quantity::Difference(a, b) => {
                a.check(steps)?;
                b.check(steps)
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

    /// The measured value in `results`, or why it is missing.
    pub fn resolve(&self, results: &Results) -> Result<Value, Missing> {
        match self {
            Quantity::Dataset(f) | Quantity::Machine(f) => (f.get)(results),
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
                let (x, y) = (number(a, results)?, number(b, results)?);
                if y == 0.0 {
                    return Err(format!("ratio({a}, {b}) divides by zero: {b} is 0"));
                }
                Ok(Value::Number(x / y))
            }
            Quantity::Difference(a, b) => Ok(Value::Number(number(a, results)? - number(b, results)?)),
        }
    }
}

fn number(q: &Quantity, results: &Results) -> Result<f64, Missing> {
    match q.resolve(results)? {
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

/// The unit a question uses for a numeric quantity: a label and the size of one unit in
/// the quantity's base unit (bytes, nanoseconds, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// As written after numbers: `bytes`, `MiB`, `ms`, `%`, `faults`, or empty.
    pub label: String,
    /// Base units per unit: 1048576 for MiB, 1e6 for ms, 0.01 for percent.
    pub scale: f64,
}

impl Unit {
    /// The unit named `name` for a quantity of `dimension`; without a name, the base unit.
    pub fn for_dimension(dimension: Dimension, name: Option<&str>) -> Result<Unit, String> {
        let unit = |label: &str, scale: f64| Ok(Unit { label: label.to_owned(), scale });
        let name = name.map(str::trim);
        match dimension {
            Dimension::Bytes => match name.unwrap_or("bytes") {
                "bytes" | "byte" | "B" => unit("bytes", 1.0),
                "KiB" => unit("KiB", 1024.0),
                "MiB" => unit("MiB", 1024.0 * 1024.0),
                "GiB" => unit("GiB", 1024.0 * 1024.0 * 1024.0),
                "kB" => unit("kB", 1e3),
                "MB" => unit("MB", 1e6),
                "GB" => unit("GB", 1e9),
                other => Err(format!(
                    "unit '{other}' does not fit a quantity in bytes: use bytes, KiB, MiB, GiB, kB, MB or GB"
                )),
            },
            Dimension::Nanos => match name.unwrap_or("ns") {
                "ns" => unit("ns", 1.0),
                "us" | "µs" => unit("µs", 1e3),
                "ms" => unit("ms", 1e6),
                "s" => unit("s", 1e9),
                other => Err(format!("unit '{other}' does not fit a duration: use ns, us, ms or s")),
            },
            Dimension::Ratio => match name.unwrap_or("") {
                "percent" | "%" => unit("%", 0.01),
                label => unit(label, 1.0),
            },
            Dimension::Count | Dimension::Number => unit(name.unwrap_or(""), 1.0),
            Dimension::Text | Dimension::Bool => match name {
                None => unit("", 1.0),
                Some(n) => {
                    Err(format!("unit '{n}' given for a quantity that is {}, not a number", dimension.name()))
                }
            },
        }
    }

    /// `value` (in base units) in this unit.
    pub fn from_base(&self, value: f64) -> f64 {
        value / self.scale
    }

    /// A number in this unit, with its label: `128 bytes`, `131.84 MiB`, `12%`.
    pub fn show(&self, value: f64) -> String {
        let n = format_number(value);
        match self.label.as_str() {
            "" => n,
            "%" => format!("{n}%"),
            label => format!("{n} {label}"),
        }
    }
}

#[cfg(test)]
mod tests;
