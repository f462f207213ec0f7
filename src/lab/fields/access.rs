//! Fields of a step's work: its access pattern, its workers (a sharing step) and its
//! mini-batches.

use super::step::{at, batches, delta, mean, median, opened, sharing};
use super::{Needs, StepField, u};
use crate::lab::value::{Dimension as D, Value};
use crate::probe::Phase::{AfterAccess, AfterFirst, BeforeOpen};

/// The access pattern (after_first -> after_access).
pub static ACCESS: &[StepField] = &[
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
];

/// Sharing steps (`workers = [...]`).
pub static SHARING: &[StepField] = &[
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
];

/// Mini-batches (`random_batches`).
pub static BATCHES: &[StepField] = &[
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
