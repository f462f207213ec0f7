//! Fields of a step: how it ended, the array it opened and its first element. The helpers
//! here read a step's snapshots; a field of one phase is the difference of two of them
//! (fault and byte counts are absolute in the snapshots).

use super::{Missing, Needs, StepField, num, u};
use crate::lab::value::{Dimension as D, Value};
use crate::probe::Phase::{self, AfterFirst, AfterOpen, BeforeOpen};
use crate::probe::Snapshot;
use crate::results::StepResult;
use crate::spec::Status;

/// Why a snapshot is missing: the step ended before it, or never has that phase.
pub(super) fn missing_phase(s: &StepResult, phase: Phase) -> Missing {
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

pub(super) fn snap(s: &StepResult, phase: Phase) -> Result<&Snapshot, Missing> {
    s.snapshot(phase).ok_or_else(|| missing_phase(s, phase))
}

/// `field` at `to` minus `field` at `from`, signed.
pub(super) fn delta(
    s: &StepResult,
    from: Phase,
    to: Phase,
    field: fn(&Snapshot) -> u64,
) -> Result<Value, Missing> {
    let (a, b) = (snap(s, from)?, snap(s, to)?);
    num(field(b) as f64 - field(a) as f64)
}

pub(super) fn at(s: &StepResult, phase: Phase, field: fn(&Snapshot) -> u64) -> Result<Value, Missing> {
    u(field(snap(s, phase)?))
}

pub(super) fn opened<T>(s: &StepResult, value: Option<T>, what: &str) -> Result<T, Missing> {
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

pub(super) fn sharing(s: &StepResult) -> Result<&crate::results::SharingStats, Missing> {
    s.workers.as_ref().ok_or_else(|| format!("step {} recorded no workers", s.key()))
}

pub(super) fn batches(s: &StepResult) -> Result<&crate::results::BatchStats, Missing> {
    s.batches.as_ref().ok_or_else(|| format!("step {} recorded no batches", s.key()))
}

pub(super) fn median(values: &[u64]) -> Result<Value, Missing> {
    let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    crate::lab::stats::median(&as_f64).map(Value::Number).ok_or_else(|| "no batches were recorded".to_owned())
}

pub(super) fn mean(values: impl Iterator<Item = u64>) -> Result<Value, Missing> {
    let all: Vec<u64> = values.collect();
    if all.is_empty() {
        return Err("no workers were recorded".to_owned());
    }
    num(all.iter().map(|&v| v as f64).sum::<f64>() / all.len() as f64)
}

/// What the step ended as.
pub static OUTCOME: &[StepField] = &[
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
        get: |s, _| Ok(Value::Text(s.signal.map_or_else(|| "none".to_owned(), crate::child::signal_name))),
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
];

/// The opened array.
pub static OPENED: &[StepField] = &[
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
];

/// The first element.
pub static FIRST: &[StepField] = &[
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
];
