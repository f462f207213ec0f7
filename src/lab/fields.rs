//! The fields a quantity can name: every value a lab's question can be checked against, with
//! its dimension, what it needs of a step, and how it is read from `results.json`.
//! `mmap-lab lab quantities` prints this registry; [`super::quantity`] parses the paths that
//! name its entries.
//!
//! Phases of a step: `before_open` (the baseline), `after_open`, `after_first` (first
//! element read), `after_access` (the access pattern done). Fault counts and byte counts are
//! absolute in the snapshots, so a field of one phase is the difference of two snapshots.

use super::value::{Dimension, Value};
use crate::probe::{Phase, Snapshot};
use crate::results::{Results, StepResult};
use crate::spec::{AccessSpec, ExperimentSpec, Status};

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
    let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    super::stats::median(&as_f64).map(Value::Number).ok_or_else(|| "no batches were recorded".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_name_is_unique_and_documented() {
        let mut names: Vec<&str> = STEP_FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a step field is listed twice");
        for f in STEP_FIELDS {
            assert!(!f.doc.is_empty(), "{}", f.name);
        }
        for f in DATASET_FIELDS.iter().chain(MACHINE_FIELDS) {
            assert!(!f.doc.is_empty(), "{}", f.name);
        }
    }
}
