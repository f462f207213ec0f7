//! `steps.csv` and `snapshots.csv`: the numbers in flat tables, for a spreadsheet or pandas.
//!
//! One row per step (and cache state), one row per snapshot. Column names end in their
//! unit (`_bytes`, `_ns`); per-phase columns end in the phase: `open` (before open to after
//! open), `first` (to the first element read) and `access` (to the end of the access
//! pattern). An empty cell is a value that was not measured. With several runs, a first
//! column `run` names the run.

use anyhow::{Context, Result};

use super::Output;
use super::view::run_labels;
use crate::probe::{Phase, Snapshot};
use crate::results::{Results, StepResult};

/// The three phases a step's costs are split into: (name, from, to).
const PHASES: [(&str, Phase, Phase); 3] = [
    ("open", Phase::BeforeOpen, Phase::AfterOpen),
    ("first", Phase::AfterOpen, Phase::AfterFirst),
    ("access", Phase::AfterFirst, Phase::AfterAccess),
];

/// A count a snapshot holds.
type Field = fn(&Snapshot) -> u64;

/// Counts whose change is reported per phase: (column stem, field).
const DELTAS: [(&str, Field); 5] = [
    ("rss_delta_bytes", |s| s.rss_bytes),
    ("rss_file_delta_bytes", |s| s.rss_file_bytes),
    ("rss_anon_delta_bytes", |s| s.rss_anon_bytes),
    ("minor_faults", |s| s.minor_faults),
    ("major_faults", |s| s.major_faults),
];

/// One row per step and cache state.
pub struct StepsCsv;

/// One row per snapshot.
pub struct SnapshotsCsv;

fn cell<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

/// A table with a `run` column in front when there are several runs.
struct Table {
    writer: ::csv::Writer<Vec<u8>>,
    labels: Option<Vec<String>>,
}

impl Table {
    fn new(runs: &[Results], header: Vec<String>) -> Result<Table> {
        let labels = (runs.len() > 1).then(|| run_labels(runs));
        let mut table = Table { writer: ::csv::Writer::from_writer(Vec::new()), labels };
        let run = table.labels.is_some().then(|| "run".to_owned());
        table.writer.write_record(run.into_iter().chain(header))?;
        Ok(table)
    }

    fn row(&mut self, run: usize, cells: Vec<String>) -> Result<()> {
        let label = self.labels.as_ref().map(|l| l[run].clone());
        self.writer.write_record(label.into_iter().chain(cells))?;
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>> {
        self.writer.into_inner().context("cannot finish the CSV")
    }
}

impl StepsCsv {
    fn header() -> Vec<String> {
        let fixed = [
            "id",
            "cache",
            "status",
            "expected_status",
            "numpy_call",
            "open",
            "access",
            "shape",
            "dtype",
            "matches_original",
            "original_at_element",
            "object_bytes",
            "bytes_touched",
            "elements_read",
            "cache_resident_bytes",
            "cache_verified",
            "process_ns",
        ];
        let mut header: Vec<String> = fixed.iter().map(|s| (*s).to_owned()).collect();
        header.extend(PHASES.iter().map(|(p, ..)| format!("time_ns_{p}")));
        for (stem, _) in DELTAS {
            header.extend(PHASES.iter().map(|(p, ..)| format!("{stem}_{p}")));
        }
        header.extend(
            [
                "rss_bytes_after_access",
                "rss_file_bytes_after_access",
                "rss_anon_bytes_after_access",
                "resident_bytes_after_first",
                "resident_bytes_after_access",
                "error",
            ]
            .map(str::to_owned),
        );
        header
    }

    fn cells(s: &StepResult) -> Vec<String> {
        let mut cells = vec![
            s.id.clone(),
            s.cache.name().to_owned(),
            s.status.name().to_owned(),
            s.expected_status.name().to_owned(),
            s.numpy_call.clone(),
            s.open.clone(),
            s.access.clone(),
            cell(s.shape.as_ref().map(|x| x.python())),
            cell(s.dtype),
            cell(s.matches_original),
            cell(s.original_at_element),
            cell(s.object_bytes),
            cell(s.bytes_touched),
            cell(s.elements_read),
            cell(s.cache_report.map(|c| c.resident_bytes)),
            cell(s.cache_report.map(|c| c.verified)),
            s.process_ns.to_string(),
        ];
        cells.extend(PHASES.iter().map(|(_, from, to)| cell(s.phase_ns(*from, *to))));
        for (_, field) in DELTAS {
            cells.extend(PHASES.iter().map(|(_, from, to)| cell(s.delta(*from, *to, field))));
        }
        let after = s.snapshot(Phase::AfterAccess);
        cells.extend([
            cell(after.map(|x| x.rss_bytes)),
            cell(after.map(|x| x.rss_file_bytes)),
            cell(after.map(|x| x.rss_anon_bytes)),
            cell(s.snapshot(Phase::AfterFirst).map(|x| x.resident_bytes)),
            cell(after.map(|x| x.resident_bytes)),
            s.error.clone().unwrap_or_default(),
        ]);
        cells
    }
}

impl Output for StepsCsv {
    fn file_name(&self) -> String {
        "steps.csv".to_owned()
    }

    fn render(&self, runs: &[Results]) -> Result<Vec<u8>> {
        let mut table = Table::new(runs, Self::header())?;
        for (i, run) in runs.iter().enumerate() {
            for step in &run.steps {
                table.row(i, Self::cells(step))?;
            }
        }
        table.finish()
    }
}

impl Output for SnapshotsCsv {
    fn file_name(&self) -> String {
        "snapshots.csv".to_owned()
    }

    fn render(&self, runs: &[Results]) -> Result<Vec<u8>> {
        let header = [
            "id",
            "cache",
            "phase",
            "elapsed_ns",
            "rss_bytes",
            "rss_anon_bytes",
            "rss_file_bytes",
            "minor_faults",
            "major_faults",
            "resident_bytes",
            "probe_ns",
            "residency_percent",
        ];
        let mut table = Table::new(runs, header.map(str::to_owned).to_vec())?;
        for (i, run) in runs.iter().enumerate() {
            for step in &run.steps {
                for s in &step.snapshots {
                    let residency: Vec<String> = s.residency.iter().map(u8::to_string).collect();
                    table.row(
                        i,
                        vec![
                            step.id.clone(),
                            step.cache.name().to_owned(),
                            s.phase.name().to_owned(),
                            s.elapsed_ns.to_string(),
                            s.rss_bytes.to_string(),
                            s.rss_anon_bytes.to_string(),
                            s.rss_file_bytes.to_string(),
                            s.minor_faults.to_string(),
                            s.major_faults.to_string(),
                            s.resident_bytes.to_string(),
                            s.probe_ns.to_string(),
                            residency.join(" "),
                        ],
                    )?;
                }
            }
        }
        table.finish()
    }
}
