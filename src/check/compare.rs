//! Comparing a measurement with its baseline, metric by metric.

use std::path::Path;

use serde::Serialize;

use super::baseline::{Baseline, MeasuredDataset, Measurement, Tolerances};
use super::metric::{Metric, MetricKind, MetricName, Rule, Value};
use crate::error::input;
use crate::units::{Bytes, Nanos};

/// What a comparison found for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within its tolerance.
    Ok,
    /// Worse than the baseline allows: the check fails.
    Regression,
    /// In the baseline but not measured now (a step that failed or is gone): the check
    /// fails, since nothing vouches for it.
    Missing,
    /// Measured now but not in the baseline: shown, not compared; save a new baseline to
    /// cover it.
    New,
    /// Shown for context, never compared (the in-memory reference).
    Info,
    /// Not comparable in this run (said why in the notes).
    Skipped,
}

impl Verdict {
    /// As the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Regression => "REGRESSION",
            Verdict::Missing => "MISSING",
            Verdict::New => "new",
            Verdict::Info => "info",
            Verdict::Skipped => "skipped",
        }
    }

    /// Whether it fails the check.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Regression | Verdict::Missing)
    }
}

/// The most a metric may be now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Allowed {
    /// Exactly the baseline.
    Equal(Value),
    /// At most this many bytes.
    MaxBytes(Bytes),
    /// At most this long.
    MaxNs(Nanos),
    /// Not compared.
    Nothing,
}

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The metric.
    pub metric: MetricName,
    /// Its baseline value, if the baseline has it.
    pub baseline: Option<Value>,
    /// Its value now, if measured.
    pub now: Option<Value>,
    /// What it may be now.
    pub allowed: Allowed,
    /// The verdict.
    pub verdict: Verdict,
}

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// One row per metric: the baseline's in its order, then new ones.
    pub rows: Vec<Row>,
    /// What a reader should know about how the two were compared.
    pub notes: Vec<String>,
}

impl Comparison {
    /// The rows that fail the check.
    pub fn failures(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict.fails())
    }

    /// Whether every metric holds.
    pub fn holds(&self) -> bool {
        self.failures().next().is_none()
    }
}

/// Refuses a baseline made for another shape or dtype: its byte metrics would not mean
/// the same thing. An input error (exit 2) naming both and the fix.
pub fn check_dataset(
    baseline: &Baseline,
    path: &Path,
    now: &MeasuredDataset,
    source: &str,
) -> anyhow::Result<()> {
    let then = &baseline.measurement.dataset;
    if then.shape != now.shape || then.dtype != now.dtype {
        return Err(input(format!(
            "{}: this baseline was made for shape {} of {}, but {source} {} of {}; a baseline only holds for its own shape and dtype: check with --shape {} --dtype {}, or save a baseline for this one with `mmap-lab check --save-baseline FILE --shape {} --dtype {}`",
            path.display(),
            then.shape.python(),
            then.dtype,
            now.shape.python(),
            now.dtype,
            then.shape,
            then.dtype.descr().trim_start_matches(['<', '>', '|', '=']),
            now.shape,
            now.dtype.descr().trim_start_matches(['<', '>', '|', '=']),
        )));
    }
    Ok(())
}

/// Compares `now` with `baseline` under `tolerances`.
pub fn compare(baseline: &Baseline, now: &Measurement, tolerances: &Tolerances) -> Comparison {
    let then = &baseline.measurement;
    let mut notes = Vec::new();
    let has_reference = find(now, &MetricName::run(MetricKind::InMemoryPass)).is_some();
    let same_way = then.how.timing == now.how.timing;
    if !same_way {
        notes.push(format!(
            "times are not compared: the baseline's were taken {:?}, these {:?}; save the baseline the same way you check",
            then.how.timing, now.how.timing
        ));
    } else if !has_reference {
        notes.push("times are not compared: this measurement has no in-memory reference pass".to_owned());
    }
    let times_comparable = same_way && has_reference;
    if then.machine.cpu != now.machine.cpu || then.machine.cores != now.machine.cores {
        notes.push(format!(
            "the baseline comes from another machine ({}); bytes are compared as they are, times relative to each run's own in-memory pass",
            then.machine.summary()
        ));
    }
    if then.dataset.seed != now.dataset.seed {
        notes.push(format!(
            "the baseline's data has seed {}, this data seed {}: sizes do not depend on it",
            then.dataset.seed, now.dataset.seed
        ));
    }

    let mut rows: Vec<Row> = then
        .metrics
        .iter()
        .map(|b| {
            let now_value = find(now, &b.metric).cloned();
            let (allowed, verdict) = judge(b, now_value.as_ref(), times_comparable, tolerances);
            Row {
                metric: b.metric.clone(),
                baseline: Some(b.value.clone()),
                now: now_value,
                allowed,
                verdict,
            }
        })
        .collect();
    for m in now.metrics.iter().filter(|m| find(then, &m.metric).is_none()) {
        let verdict = if m.metric.kind.rule() == Rule::Info { Verdict::Info } else { Verdict::New };
        rows.push(Row {
            metric: m.metric.clone(),
            baseline: None,
            now: Some(m.value.clone()),
            allowed: Allowed::Nothing,
            verdict,
        });
    }
    Comparison { rows, notes }
}

fn find<'a>(measurement: &'a Measurement, name: &MetricName) -> Option<&'a Value> {
    measurement.metrics.iter().find(|m| &m.metric == name).map(|m| &m.value)
}

/// The allowance for one metric and whether `now` is within it.
fn judge(
    baseline: &Metric,
    now: Option<&Value>,
    times_comparable: bool,
    tolerances: &Tolerances,
) -> (Allowed, Verdict) {
    let kind = baseline.metric.kind;
    let allowed = match kind.rule() {
        Rule::Info => return (Allowed::Nothing, Verdict::Info),
        // Not comparable in this run: the notes say why.
        Rule::Time if !times_comparable => return (Allowed::Nothing, Verdict::Skipped),
        Rule::Time => return judge_time(baseline, now, tolerances),
        Rule::Equal => Allowed::Equal(baseline.value.clone()),
        Rule::AtMostBytes => {
            let slack = match kind {
                MetricKind::ObjectBytes => tolerances.object_bytes,
                MetricKind::RssAfterOpen => tolerances.rss_after_open_bytes,
                _ => tolerances.after_first_bytes,
            };
            Allowed::MaxBytes(baseline.value.bytes().unwrap_or(0).saturating_add(slack))
        }
    };
    let Some(now) = now else { return (allowed, Verdict::Missing) };
    let holds = match &allowed {
        Allowed::Equal(value) => value == now,
        Allowed::MaxBytes(max) => now.bytes().is_some_and(|b| b <= *max),
        _ => true,
    };
    (allowed, if holds { Verdict::Ok } else { Verdict::Regression })
}

/// A time: the baseline's ratio to its reference, applied to this run's reference,
/// gives the expected time; it may be `time_factor` times that, or the floor above it,
/// whichever is more. Compared as ratios, so that the reference's noise does not count
/// twice; shown in this run's nanoseconds.
fn judge_time(baseline: &Metric, now: Option<&Value>, tolerances: &Tolerances) -> (Allowed, Verdict) {
    let Some((_, base_ratio, _)) = baseline.value.time() else { return (Allowed::Nothing, Verdict::Skipped) };
    let Some((_, ratio, reference)) = now.and_then(Value::time) else {
        return (Allowed::Nothing, Verdict::Missing);
    };
    if reference == 0 {
        return (Allowed::Nothing, Verdict::Skipped);
    }
    let floor = tolerances.time_floor_ns as f64 / reference as f64;
    let allowed_ratio = (base_ratio * tolerances.time_factor).max(base_ratio + floor);
    let allowed = Allowed::MaxNs((allowed_ratio * reference as f64).round() as Nanos);
    (allowed, if ratio <= allowed_ratio { Verdict::Ok } else { Verdict::Regression })
}
