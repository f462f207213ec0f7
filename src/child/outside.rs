//! The runner's part of a step's snapshots: at each mark of a step (Rust or NumPy), read
//! the step's process from outside, then fill the numbers into the result it answers.
//!
//! Marks: a phase's name (`before_open`, `after_open`, `after_first`, `after_access`)
//! reads the file's page-cache residency, then `/proc/PID/status` and `/proc/PID/stat`
//! (the walk first and the counters last, so that the phase after it starts with the
//! kernel's paths just used, as before); `trace` and `batch` read the counters alone;
//! `workers` reads every process under the step (`smaps_rollup`, `status`).

use std::path::Path;
use std::time::Instant;

use super::MarkObserver;
use crate::probe::tree::{self, ProcessSnapshot};
use crate::probe::{RESIDENCY_BINS, Residency, Snapshot};
use crate::results::{BatchStats, SharingStats, TracePoint};
use crate::units::{Bytes, Nanos};

/// What the runner read at one mark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutsideSample {
    /// The mark's name.
    pub name: String,
    /// `VmRSS`.
    pub rss_bytes: Bytes,
    /// `RssAnon`.
    pub rss_anon_bytes: Bytes,
    /// `RssFile`.
    pub rss_file_bytes: Bytes,
    /// Minor faults since the process started.
    pub minor_faults: u64,
    /// Major faults since the process started.
    pub major_faults: u64,
    /// The step's file in the page cache (phase marks only).
    pub resident_bytes: Bytes,
    /// Its residency map (phase marks only).
    pub residency: Vec<u8>,
    /// How long the reading took.
    pub probe_ns: Nanos,
    /// The processes under the step (`workers` marks only).
    pub processes: Vec<ProcessSnapshot>,
}

/// The observer the runner serves a step's marks with; `file` is the step's file.
pub fn observer(file: &Path) -> MarkObserver<OutsideSample> {
    let mut residency = Residency::new(file).ok();
    Box::new(move |name, pid| {
        let taken = Instant::now();
        let mut sample = OutsideSample { name: name.to_owned(), ..OutsideSample::default() };
        let phase = crate::probe::Phase::ALL.iter().any(|p| p.name() == name);
        if phase {
            if let Some((bytes, bins)) = residency.as_mut().and_then(|r| r.measure(RESIDENCY_BINS).ok()) {
                sample.resident_bytes = bytes;
                sample.residency = bins;
            }
        }
        if name == "workers" {
            sample.processes = tree::processes(pid);
        }
        if let Ok(process) = procfs::process::Process::new(pid) {
            if name != "batch" {
                if let Ok(status) = process.status() {
                    sample.rss_bytes = status.vmrss.unwrap_or(0) * 1024;
                    sample.rss_anon_bytes = status.rssanon.unwrap_or(0) * 1024;
                    sample.rss_file_bytes = status.rssfile.unwrap_or(0) * 1024;
                }
            }
            if let Ok(stat) = process.stat() {
                sample.minor_faults = stat.minflt;
                sample.major_faults = stat.majflt;
            }
        }
        sample.probe_ns = taken.elapsed().as_nanos() as Nanos;
        sample
    })
}

/// The parts of a result the runner's samples fill in.
pub struct Filled<'a> {
    /// The phase snapshots, clock set by the step.
    pub snapshots: &'a mut [Snapshot],
    /// A tracked pass's points.
    pub trace: Option<&'a mut Vec<TracePoint>>,
    /// A data loader's batches.
    pub batches: Option<&'a mut BatchStats>,
    /// A sharing step's workers.
    pub workers: Option<&'a mut SharingStats>,
}

/// Fills `into` from `samples`, mark by mark in order: each snapshot from the phase mark
/// of its name, trace points from `trace` marks, batch faults from consecutive `batch`
/// marks (one before the first batch, one after each), workers from the `workers` mark.
pub fn fill(into: Filled<'_>, samples: &[OutsideSample]) {
    let mut phases = samples.iter().filter(|s| crate::probe::Phase::ALL.iter().any(|p| p.name() == s.name));
    for snapshot in into.snapshots.iter_mut() {
        let Some(s) = phases.by_ref().find(|s| s.name == snapshot.phase.name()) else { break };
        snapshot.rss_bytes = s.rss_bytes;
        snapshot.rss_anon_bytes = s.rss_anon_bytes;
        snapshot.rss_file_bytes = s.rss_file_bytes;
        snapshot.minor_faults = s.minor_faults;
        snapshot.major_faults = s.major_faults;
        snapshot.resident_bytes = s.resident_bytes;
        snapshot.residency.clone_from(&s.residency);
    }
    if let Some(trace) = into.trace {
        for (point, s) in trace.iter_mut().zip(samples.iter().filter(|s| s.name == "trace")) {
            point.rss_anon_bytes = s.rss_anon_bytes;
            point.rss_file_bytes = s.rss_file_bytes;
            point.major_faults = s.major_faults;
        }
    }
    if let Some(batches) = into.batches {
        let marks: Vec<&OutsideSample> = samples.iter().filter(|s| s.name == "batch").collect();
        batches.batch_minor_faults =
            marks.windows(2).map(|w| w[1].minor_faults - w[0].minor_faults).collect();
        batches.batch_major_faults =
            marks.windows(2).map(|w| w[1].major_faults - w[0].major_faults).collect();
    }
    if let (Some(workers), Some(s)) = (into.workers, samples.iter().find(|s| s.name == "workers")) {
        for worker in &mut workers.per_worker {
            let Some(p) = s.processes.iter().find(|p| Some(p.pid) == worker.pid) else { continue };
            worker.rss_bytes = p.rss_bytes();
            worker.rss_anon_bytes = p.rss_anon_bytes;
            worker.rss_file_bytes = p.rss_file_bytes;
            worker.pss_bytes = p.pss_bytes;
            worker.pss_anon_bytes = p.pss_anon_bytes;
            worker.pss_file_bytes = p.pss_file_bytes;
        }
        workers.total_rss_bytes = workers.per_worker.iter().map(|w| w.rss_bytes).sum();
        workers.total_pss_bytes = workers.per_worker.iter().map(|w| w.pss_bytes).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Phase;

    fn snapshot(phase: Phase) -> Snapshot {
        Snapshot {
            phase,
            elapsed_ns: 5,
            rss_bytes: 0,
            rss_anon_bytes: 0,
            rss_file_bytes: 0,
            minor_faults: 0,
            major_faults: 0,
            resident_bytes: 0,
            residency: Vec::new(),
            probe_ns: 1,
        }
    }

    #[test]
    fn samples_fill_their_own_phases_and_batches_get_differences() {
        let sample = |name: &str, anon: Bytes, minor: u64| OutsideSample {
            name: name.to_owned(),
            rss_anon_bytes: anon,
            minor_faults: minor,
            ..OutsideSample::default()
        };
        let samples = [
            sample("before_open", 10, 100),
            sample("after_open", 20, 110),
            sample("batch", 0, 110),
            sample("batch", 0, 115),
            sample("batch", 0, 125),
            sample("after_access", 30, 130),
        ];
        let mut snapshots =
            [snapshot(Phase::BeforeOpen), snapshot(Phase::AfterOpen), snapshot(Phase::AfterAccess)];
        let mut batches = BatchStats::default();
        fill(
            Filled { snapshots: &mut snapshots, trace: None, batches: Some(&mut batches), workers: None },
            &samples,
        );
        assert_eq!(
            snapshots.map(|s| (s.rss_anon_bytes, s.minor_faults, s.elapsed_ns)),
            [(10, 100, 5), (20, 110, 5), (30, 130, 5)]
        );
        assert_eq!(batches.batch_minor_faults, vec![5, 10]);
    }

    #[test]
    fn the_runner_reads_a_child_at_its_marks() {
        // This process as the "child": its RssAnon grows after 64 MiB are written (other
        // tests running in it meanwhile move it by far less).
        let me = std::process::id() as i32;
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), vec![1u8; 1 << 16]).unwrap();
        let mut observe = observer(file.path());
        let a = observe("before_open", me);
        let buffer = vec![1u8; 64 << 20];
        std::hint::black_box(&buffer);
        let b = observe("after_open", me);
        assert!(
            b.rss_anon_bytes >= a.rss_anon_bytes + (32 << 20),
            "{} -> {}",
            a.rss_anon_bytes,
            b.rss_anon_bytes
        );
        assert!(b.minor_faults >= a.minor_faults);
        assert_eq!(b.residency.len(), RESIDENCY_BINS);
        assert_eq!(b.resident_bytes, 1 << 16, "just written: all in the page cache");
        assert!(observe("batch", me).residency.is_empty(), "counters only");
    }
}
