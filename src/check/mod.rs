//! `mmap-lab check`: a regression check on what mapping costs, for CI.
//!
//! A check measures the mapping steps on a small dataset (or reads a results.json), then
//! compares each metric with a baseline file made earlier with `--save-baseline`:
//!
//! | metric | compared |
//! |---|---|
//! | `npy_header_bytes`, `<step>.outcome` (status, dtype, shape, original or not) | equal |
//! | `<step>.object_bytes` | at most the baseline plus [`Tolerances::object_bytes`] |
//! | `<step>.rss_after_open` | at most the baseline plus [`Tolerances::rss_after_open_bytes`] |
//! | `<step>.rss_after_first`, `<step>.resident_after_first` | at most the baseline plus [`Tolerances::after_first_bytes`] |
//! | `<step>.open_time`, `first_time`, `pass_time` | as ratios to in-memory passes timed beside them, within a factor and a floor |
//!
//! The process exits 0 when every metric holds, 1 on a regression (or a metric the
//! baseline has and the run lacks), 2 on a usage or input error: a missing, corrupt or
//! mismatched baseline, a bad flag.

mod baseline;
mod compare;
mod measure;
mod metric;
mod metric_de;
mod render;
mod timing;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

pub use self::baseline::{
    BASELINE_VERSION, Baseline, MeasuredDataset, MeasuredHow, Measurement, TimingSource, Tolerances,
};
pub use self::compare::{Allowed, Comparison, Row, Verdict, check_dataset, compare};
pub use self::measure::{LiveOptions, from_results, live, memory_metrics, outcome};
pub use self::metric::{Metric, MetricKind, MetricName, Rule, Value, median};
pub use self::render::{json, summary, table, tolerance_line, value_text};
use crate::error::input;
use crate::results::Results;

/// Where the measurement comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Measure now.
    Live(LiveOptions),
    /// Read a results.json written by `run` or `run-all`.
    Results(PathBuf),
}

/// Everything a check needs, checked before anything is measured.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The baseline to compare with.
    pub baseline: Option<PathBuf>,
    /// Where to save this measurement as a baseline.
    pub save_baseline: Option<PathBuf>,
    /// What to measure.
    pub source: Source,
    /// Overrides the baseline's time factor.
    pub time_factor: Option<f64>,
    /// Overrides the baseline's time floor.
    pub time_floor: Option<Duration>,
    /// Print JSON instead of the table.
    pub json: bool,
    /// The command line, recorded in a saved baseline.
    pub command: String,
}

/// Runs a check; returns the exit code (0 all hold, 1 regression). Input errors are
/// returned as errors that exit with 2.
pub fn run(options: &CheckOptions) -> Result<u8> {
    let baseline = prepare(options)?;
    let tolerances = tolerances(options, baseline.as_ref())?;
    let measurement = match &options.source {
        Source::Live(live) => {
            if let Some((b, path)) = &baseline {
                check_dataset(b, path, &measure::measured(&live.dataset), "this check measures")?;
            }
            measure::live(live)?
        }
        Source::Results(path) => {
            let results = Results::read(path)?;
            let measurement = from_results(&results, path)?;
            if let Some((b, baseline_path)) = &baseline {
                check_dataset(b, baseline_path, &measurement.dataset, &format!("{} holds", path.display()))?;
            }
            measurement
        }
    };

    let mut code = 0;
    if let Some((b, path)) = &baseline {
        let comparison = compare(b, &measurement, &tolerances);
        let shown = path.display().to_string();
        let text = if options.json {
            json(&comparison, b, &shown, &measurement, tolerances)?
        } else {
            table(&comparison, b, &shown, &measurement, &tolerances)
        };
        crate::out!("{text}");
        code = if comparison.holds() { 0 } else { 1 };
    } else if options.json {
        crate::outln!("{}", serde_json::to_string_pretty(&measurement)?);
    } else {
        crate::out!("{}", render::listing(&measurement));
    }

    if let Some(path) = &options.save_baseline {
        if !measurement.unexpected.is_empty() {
            anyhow::bail!(
                "not saving a baseline: steps did not end as their specs expect ({}); fix them, or leave their specs out, first",
                measurement.unexpected.join("; ")
            );
        }
        let count = measurement.metrics.len();
        if count == 0 {
            anyhow::bail!("not saving a baseline: nothing was measured, so it would check nothing");
        }
        Baseline::new(measurement, tolerances, options.command.clone()).write(path)?;
        crate::errln!("check: baseline of {count} metrics written to {}", path.display());
    }
    Ok(code)
}

/// Checks the paths and reads the baseline before anything is measured.
fn prepare(options: &CheckOptions) -> Result<Option<(Baseline, PathBuf)>> {
    if options.baseline.is_none() && options.save_baseline.is_none() {
        return Err(input(
            "check needs --baseline FILE to compare with, or --save-baseline FILE to make one (or both)",
        ));
    }
    if let (Some(b), Some(s)) = (&options.baseline, &options.save_baseline) {
        if same_file(b, s) {
            return Err(input(format!(
                "--baseline and --save-baseline both name {}: a check never replaces the baseline it reads; to renew it, run `mmap-lab check --save-baseline {}` alone",
                b.display(),
                s.display()
            )));
        }
    }
    if let Some(path) = &options.save_baseline {
        baseline::check_writable(path)?;
    }
    options.baseline.as_ref().map(|path| Baseline::read(path).map(|b| (b, path.clone()))).transpose()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The baseline's tolerances (the defaults for a new one), with the flags' overrides.
fn tolerances(options: &CheckOptions, baseline: Option<&(Baseline, PathBuf)>) -> Result<Tolerances> {
    let mut t = baseline.map_or_else(Tolerances::default, |(b, _)| b.tolerances);
    if let Some(factor) = options.time_factor {
        t.time_factor = factor;
    }
    if let Some(floor) = options.time_floor {
        t.time_floor_ns = floor.as_nanos() as u64;
    }
    t.validate().map_err(|e| input(format!("--time-factor: {e}")))?;
    Ok(t)
}

#[cfg(test)]
mod tests;
