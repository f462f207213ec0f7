//! A comparison as a table for people and as JSON for machines. Rendering only: no I/O.

use std::fmt::Write as _;

use serde::Serialize;

use super::baseline::{Baseline, Measurement, Tolerances};
use super::compare::{Allowed, Comparison, Row, Verdict};
use super::metric::Value;
use crate::units::{human_bytes, human_nanos};

/// A value as the table shows it: `64.00 KiB`, `12.3 µs = 0.0088 × ref`, or its text.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Bytes { bytes } => human_bytes(*bytes),
        Value::Time { ns, ratio, .. } => format!("{} = {ratio:.4} × ref", human_nanos(*ns)),
        Value::Text { text } => text.clone(),
    }
}

fn allowed_text(allowed: &Allowed) -> String {
    match allowed {
        Allowed::Equal(Value::Text { .. }) => "= baseline".to_owned(),
        Allowed::Equal(value) => format!("= {}", value_text(value)),
        Allowed::MaxBytes(max) => format!("≤ {}", human_bytes(*max)),
        Allowed::MaxNs(max) => format!("≤ {}", human_nanos(*max)),
        Allowed::Nothing => "-".to_owned(),
    }
}

fn cells(row: &Row) -> [String; 5] {
    let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "-".to_owned(), value_text);
    let same_text =
        matches!((&row.baseline, &row.now), (Some(Value::Text { .. }), Some(_))) && row.baseline == row.now;
    [
        row.metric.to_string(),
        show(&row.baseline),
        if same_text { "same".to_owned() } else { show(&row.now) },
        allowed_text(&row.allowed),
        row.verdict.label().to_owned(),
    ]
}

/// The comparison as a plain-text table, with a heading stating the `tolerances` applied,
/// the notes and a summary line.
pub fn table(
    comparison: &Comparison,
    baseline: &Baseline,
    baseline_path: &str,
    now: &Measurement,
    tolerances: &Tolerances,
) -> String {
    let mut out = String::new();
    let d = &now.dataset;
    let _ = writeln!(
        out,
        "mmap-lab check: {} of {}, {} cache, against {baseline_path} (made {} on {})",
        d.shape.python(),
        d.dtype,
        now.how.cache,
        baseline.created_at,
        baseline.measurement.machine.summary()
    );
    let _ = writeln!(out, "{}", tolerance_line(tolerances));
    let _ = writeln!(out);
    let header = ["metric", "baseline", "now", "allowed", "verdict"].map(str::to_owned);
    let rows: Vec<[String; 5]> = std::iter::once(header).chain(comparison.rows.iter().map(cells)).collect();
    let widths: Vec<usize> =
        (0..5).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            line.push_str(cell);
            if c + 1 < row.len() {
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out);
    for note in comparison.notes.iter().chain(&now.notes) {
        let _ = writeln!(out, "note: {note}");
    }
    for step in &now.unexpected {
        let _ = writeln!(out, "unexpected: {step}");
    }
    let _ = writeln!(out, "{}", summary(comparison));
    out
}

/// A measurement alone (when saving a baseline without comparing): metric and value.
pub fn listing(now: &Measurement) -> String {
    let mut out = String::new();
    let d = &now.dataset;
    let _ = writeln!(
        out,
        "mmap-lab check: {} of {}, {} cache, on {}",
        d.shape.python(),
        d.dtype,
        now.how.cache,
        now.machine.summary()
    );
    let width = now.metrics.iter().map(|m| m.metric.to_string().chars().count()).max().unwrap_or(0);
    for m in &now.metrics {
        let _ = writeln!(out, "{:<width$}  {}", m.metric.to_string(), value_text(&m.value));
    }
    for note in &now.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for step in &now.unexpected {
        let _ = writeln!(out, "unexpected: {step}");
    }
    out
}

/// One line stating the tolerances.
pub fn tolerance_line(t: &Tolerances) -> String {
    format!(
        "tolerances: outcomes and header bytes equal; object size +{}, RSS after open +{}, after the first element +{}; times ≤ max({} × expected, expected + {}), expected = baseline ratio × this run's in-memory reference",
        human_bytes(t.object_bytes),
        human_bytes(t.rss_after_open_bytes),
        human_bytes(t.after_first_bytes),
        t.time_factor,
        human_nanos(t.time_floor_ns)
    )
}

/// `47 metrics: 46 ok, 1 REGRESSION (npy_load_mmap.rss_after_open)` and the result.
pub fn summary(comparison: &Comparison) -> String {
    let count = |v: Verdict| comparison.rows.iter().filter(|r| r.verdict == v).count();
    let mut parts = Vec::new();
    for v in
        [Verdict::Ok, Verdict::Regression, Verdict::Missing, Verdict::New, Verdict::Skipped, Verdict::Info]
    {
        let n = count(v);
        if n > 0 {
            parts.push(format!("{n} {}", v.label()));
        }
    }
    let failing: Vec<String> = comparison.failures().map(|r| r.metric.to_string()).collect();
    if failing.is_empty() {
        format!("{} metrics: {}. All hold.", comparison.rows.len(), parts.join(", "))
    } else {
        format!("{} metrics: {}. Failing: {}.", comparison.rows.len(), parts.join(", "), failing.join(", "))
    }
}

/// The JSON document `--json` prints.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// `"pass"` or `"regression"`.
    pub result: &'static str,
    /// The exit code the check ends with.
    pub exit_code: u8,
    /// The baseline file.
    pub baseline_path: &'a str,
    /// When and where it was made.
    pub baseline_created_at: &'a str,
    /// The tolerances applied.
    pub tolerances: Tolerances,
    /// What was measured now (dataset, how, machine).
    pub now: &'a Measurement,
    /// Row by row.
    pub rows: &'a [Row],
    /// Notes on the comparison.
    pub notes: &'a [String],
}

/// `--json`: the comparison, the measurement and the verdict.
pub fn json(
    comparison: &Comparison,
    baseline: &Baseline,
    baseline_path: &str,
    now: &Measurement,
    tolerances: Tolerances,
) -> anyhow::Result<String> {
    let holds = comparison.holds();
    let report = JsonReport {
        result: if holds { "pass" } else { "regression" },
        exit_code: if holds { 0 } else { 1 },
        baseline_path,
        baseline_created_at: &baseline.created_at,
        tolerances,
        now,
        rows: &comparison.rows,
        notes: &comparison.notes,
    };
    Ok(serde_json::to_string_pretty(&report)? + "\n")
}
