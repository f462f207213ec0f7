//! The report of a `measure` run: `measure.md` and its SVG plots, rebuilt from the record
//! alone (`mmap-lab measure --report DIR/measure.json` redraws it).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::record::MeasureRecord;
use super::{explain, plots};
use crate::probe::tree::ProcessSnapshot;
use crate::stats::median;
use crate::units::{Nanos, human_bytes, human_nanos};

/// The probe's cost in one run, from the snapshots' own timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeCost {
    /// Median time of one snapshot of the tree.
    pub median_snapshot_ns: Nanos,
    /// Snapshots per second the probe could take back to back (1 / median).
    pub samples_per_second: f64,
    /// Share of one core the probe took at the run's interval.
    pub core_share: f64,
    /// Median pause of the marking program at a phase snapshot (if any was marked).
    pub median_pause_ns: Option<Nanos>,
    /// Largest number of processes in one snapshot.
    pub processes: usize,
}

/// The probe's cost as this run measured it.
pub fn probe_cost(record: &MeasureRecord) -> Option<ProbeCost> {
    let snapshot = median(&record.samples.iter().map(|s| s.tree.probe_ns).collect::<Vec<_>>())?.max(1);
    Some(ProbeCost {
        median_snapshot_ns: snapshot,
        samples_per_second: 1e9 / snapshot as f64,
        core_share: snapshot as f64 / record.interval_ns.max(1) as f64,
        median_pause_ns: median(&record.samples.iter().filter_map(|s| s.pause_ns).collect::<Vec<_>>()),
        processes: record.samples.iter().map(|s| s.tree.processes.len()).max().unwrap_or(0),
    })
}

/// Writes `measure.md`, `memory.svg`, `faults.svg` and `residency.svg` into `dir`.
pub fn write(dir: &Path, record: &MeasureRecord) -> Result<()> {
    let files: [(&str, Result<String>); 3] = [
        ("memory.svg", plots::memory(record)),
        ("faults.svg", plots::faults(record)),
        ("residency.svg", plots::residency(record)),
    ];
    for (name, svg) in files {
        let path = dir.join(name);
        std::fs::write(&path, svg.with_context(|| format!("drawing {name}"))?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let path = dir.join("measure.md");
    std::fs::write(&path, markdown(record)).with_context(|| format!("{}: cannot write", path.display()))
}

/// The markdown report.
pub fn markdown(record: &MeasureRecord) -> String {
    let mut md = String::from("# Memory of a process tree, explained\n\n");
    let command = if record.command.is_empty() {
        format!("process {} (attached with --pid)", record.pid)
    } else {
        format!("`{}`", record.command.join(" "))
    };
    let _ = writeln!(md, "Measured: {command}, started {}.", record.started_at);
    let exit = record.exit.clone().unwrap_or_default();
    let ended = match (exit.code, &exit.signal_name) {
        _ if exit.interrupted => {
            "measure was interrupted (Ctrl-C); the report is drawn from the samples taken".to_owned()
        }
        _ if exit.still_running => "still running when measure stopped".to_owned(),
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(name)) => format!("killed by {name}; the samples up to then are kept"),
        (None, None) => "ended".to_owned(),
    };
    let phases = record.samples.iter().filter(|s| s.phase.is_some()).count();
    let _ = writeln!(
        md,
        "It {ended}. {} samples, every {} on the timer and {phases} at phase marks.\n",
        record.samples.len(),
        human_nanos(record.interval_ns)
    );
    md.push_str("## What it means\n\n");
    for sentence in explain::explain(record) {
        let _ = writeln!(md, "- {sentence}");
    }
    if !record.breaches.is_empty() {
        md.push_str("\n## Gates passed\n\n| gate | limit | peak | first passed at |\n|---|---|---|---|\n");
        for b in &record.breaches {
            let _ = writeln!(
                md,
                "| --{} | {} | {} | {:.2} s |",
                b.gate.replace('_', "-"),
                human_bytes(b.limit_bytes),
                human_bytes(b.peak_bytes),
                b.first_t_ns as f64 / 1e9
            );
        }
    }
    md.push_str("\n## Memory over time\n\n![The process tree's memory over time](memory.svg)\n\n");
    md.push_str("Own memory is anonymous + shared memory + dirty file pages (PSS-weighted): what the kernel cannot reclaim without swap. Clean file pages can be dropped and read again.\n\n");
    phase_table(&mut md, record);
    file_table(&mut md, record);
    md.push_str("\n## Page-cache residency\n\n![Residency strips](residency.svg)\n\n");
    md.push_str("## Page faults\n\n![Page faults over time](faults.svg)\n\n");
    machine_section(&mut md, record);
    md
}

fn phase_table(md: &mut String, record: &MeasureRecord) {
    let marked: Vec<_> = record.samples.iter().filter(|s| s.phase.is_some()).collect();
    if marked.is_empty() {
        md.push_str("No phase was marked: the program was sampled on the timer only.\n\n");
        return;
    }
    md.push_str("## Phases\n\n| phase | at | processes | own | file RSS | summed RSS | summed PSS | pause |\n|---|---|---|---|---|---|---|---|\n");
    for s in marked {
        let t = &s.tree;
        let _ = writeln!(
            md,
            "| {} | {:.3} s | {} | {} | {} | {} | {} | {} |",
            s.phase.as_deref().unwrap_or(""),
            s.t_ns as f64 / 1e9,
            t.processes.len(),
            human_bytes(t.sum(ProcessSnapshot::own_bytes)),
            human_bytes(t.sum(|p| p.rss_file_bytes)),
            human_bytes(t.sum(ProcessSnapshot::rss_bytes)),
            human_bytes(t.sum(|p| p.pss_bytes)),
            human_nanos(s.pause_ns.unwrap_or(0))
        );
    }
    md.push('\n');
}

fn file_table(md: &mut String, record: &MeasureRecord) {
    let Some(peak) = explain::peak(record) else { return };
    let sample = &record.samples[peak.index];
    let mut files: Vec<_> = sample.tree.files.iter().filter(|f| f.rss_bytes() > 0).collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.pss_bytes()));
    let _ = writeln!(
        md,
        "## Mapped files at the peak ({:.2} s)\n\n| file | size | in page cache | processes | RSS per process | summed PSS | dirty |\n|---|---|---|---|---|---|---|",
        sample.t_ns as f64 / 1e9
    );
    for f in files.iter().take(20) {
        let per: Vec<String> =
            f.uses.iter().map(|u| format!("{}: {}", u.pid, human_bytes(u.rss_bytes))).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} ({}) | {} | {} | {} | {} |",
            f.path.display(),
            human_bytes(f.size_bytes),
            human_bytes(f.resident_bytes),
            f.residency_method,
            f.uses.len(),
            per.join(", "),
            human_bytes(f.pss_bytes()),
            human_bytes(f.dirty_bytes())
        );
    }
    if files.len() > 20 {
        let _ = writeln!(md, "\n{} smaller files left out (all are in measure.json).", files.len() - 20);
    }
}

fn machine_section(md: &mut String, record: &MeasureRecord) {
    md.push_str("## How it was measured\n\n");
    if let Some(m) = &record.machine {
        let _ = writeln!(md, "Machine: {}.\n", m.summary());
    }
    md.push_str("Every number comes from outside the measured processes: `/proc/PID/status`, `smaps_rollup`, `smaps`, `stat` and `io`, read by mmap-lab's probe (`src/probe/tree.rs`), and the page cache through `cachestat` (`mincore` where the kernel lacks it). A phase mark pauses the marking program while the whole tree is read; nothing else pauses it.\n\n");
    if let Some(cost) = probe_cost(record) {
        let _ = writeln!(
            md,
            "Probe cost in this run: a snapshot of up to {} processes took {} (median), so at most {:.0} samples per second; at the interval of {} it used {:.1}% of one core.{}",
            cost.processes,
            human_nanos(cost.median_snapshot_ns),
            cost.samples_per_second,
            human_nanos(record.interval_ns),
            cost.core_share * 100.0,
            cost.median_pause_ns
                .map(|p| format!(" A phase mark paused the program for {} (median).", human_nanos(p)))
                .unwrap_or_default()
        );
    }
}
