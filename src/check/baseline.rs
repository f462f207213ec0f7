//! The baseline file: a measurement kept for later checks, with the tolerances that apply
//! to it and the machine it came from. Versioned JSON, written aside and renamed.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::metric::Metric;
use crate::dtype::Dtype;
use crate::error::input;
use crate::machine::Machine;
use crate::shape::Shape;
use crate::units::{Bytes, Nanos};

/// Version of the baseline layout; a baseline of another version is refused.
pub const BASELINE_VERSION: u32 = 1;

/// How far a metric may move before it counts as a regression.
///
/// Byte metrics may grow by a slack that covers what varies between runs of the same
/// code: the process's own code pages (address-space randomisation moves the 64 KiB
/// fault-around windows over mmap-lab's code, so a step faults 0 to 2 of them more or
/// less) and, at the first element, one huge page (a 2 MiB folio of the page cache mapped
/// in one fault when the mapping happens to be aligned for it). Times are compared as
/// ratios to in-memory reference passes timed beside them: the baseline's ratio times this
/// run's reference is the expected time, and a time fails only when it exceeds
/// `time_factor` times its expected value *and* its expected value plus `time_floor_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Bytes the object size may grow by.
    pub object_bytes: Bytes,
    /// Bytes RSS growth at `after_open` may exceed the baseline by.
    pub rss_after_open_bytes: Bytes,
    /// Bytes RSS and resident growth at `after_first` may exceed the baseline by.
    pub after_first_bytes: Bytes,
    /// How many times slower (relative to the reference) a time may be.
    pub time_factor: f64,
    /// Differences below this are noise, whatever the factor.
    pub time_floor_ns: Nanos,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            object_bytes: 0,
            rss_after_open_bytes: 256 << 10,
            after_first_bytes: (2 << 20) + (256 << 10),
            time_factor: 3.0,
            time_floor_ns: 50_000,
        }
    }
}

impl Tolerances {
    /// Refuses factors and floors that would make every comparison meaningless.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !self.time_factor.is_finite() || self.time_factor < 1.0 {
            return Err(format!("time_factor {} must be a number of at least 1", self.time_factor));
        }
        Ok(())
    }
}

/// Where the times of a measurement come from; times are only compared between
/// measurements taken the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimingSource {
    /// `check` itself: medians of repetitions in one process, each beside its in-memory
    /// reference.
    InProcess,
    /// A results.json: one child process per step, the reference being the `npy_load`
    /// step's pass over its own memory.
    ResultsFile,
}

/// The dataset a measurement was taken on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasuredDataset {
    /// Shape.
    pub shape: Shape,
    /// Element type.
    pub dtype: Dtype,
    /// Seed of the pictures.
    pub seed: u64,
}

/// How a measurement was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasuredHow {
    /// Page-cache state of every step (always warm: a cold page cache's read-ahead
    /// finishes asynchronously, so residency measured cold varies from run to run).
    pub cache: String,
    /// Child processes per step for the memory metrics (their median is kept).
    pub memory_runs: u32,
    /// Where the times come from.
    pub timing: TimingSource,
    /// Repetitions per time (their median is kept).
    pub timing_repeats: u32,
}

/// One measurement of the mapping steps: what `check` compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The dataset.
    pub dataset: MeasuredDataset,
    /// How it was measured.
    pub how: MeasuredHow,
    /// The machine it was measured on.
    pub machine: Machine,
    /// The metrics, in table order.
    pub metrics: Vec<Metric>,
    /// Anything a reader should know (a cache that could not be settled, ...).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Steps that did not end as their spec expects, with how they ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unexpected: Vec<String>,
}

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Layout version ([`BASELINE_VERSION`]).
    pub baseline_version: u32,
    /// mmap-lab's version when it was made.
    pub mmap_lab_version: String,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// The command that made it.
    pub command: String,
    /// The tolerances checks against it apply (flags may override them).
    pub tolerances: Tolerances,
    /// What was measured.
    #[serde(flatten)]
    pub measurement: Measurement,
}

impl Baseline {
    /// A baseline of `measurement`, made now by `command`.
    pub fn new(measurement: Measurement, tolerances: Tolerances, command: String) -> Baseline {
        Baseline {
            baseline_version: BASELINE_VERSION,
            mmap_lab_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            command,
            tolerances,
            measurement,
        }
    }

    /// Reads and checks a baseline file. Every problem is an input error (exit 2) that
    /// names the file and says how to make a good one.
    pub fn read(path: &Path) -> Result<Baseline> {
        let make = format!("mmap-lab check --save-baseline {}", path.display());
        let bytes = match crate::fsio::open_input(path) {
            Ok((mut file, _)) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut bytes)
                    .map_err(|e| input(format!("{}: cannot read the baseline: {e}", path.display())))?;
                bytes
            }
            Err(crate::fsio::InputFileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(input(format!(
                    "{}: no baseline there. Make one on a machine you trust with `{make}` (with the --shape and --dtype you check), commit it, then run `mmap-lab check --baseline {}`",
                    path.display(),
                    path.display()
                )));
            }
            Err(e) => return Err(input(format!("{}: cannot read the baseline: {e}", path.display()))),
        };
        let corrupt = |why: String| {
            input(format!(
                "{}: not a baseline mmap-lab can read: {why}; make a new one with `{make}`",
                path.display()
            ))
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        match value.get("baseline_version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(BASELINE_VERSION) => {}
            Some(v) => {
                return Err(corrupt(format!(
                    "it has layout version {v}, this mmap-lab ({}) reads version {BASELINE_VERSION}",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            None => return Err(corrupt("it has no baseline_version".to_owned())),
        }
        drop(value);
        // From the bytes again, not the value: serde_json then says where (line, column).
        let baseline: Baseline = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        baseline.validate().map_err(corrupt)?;
        Ok(baseline)
    }

    /// Checks what serde's types cannot: values of the right form for their kind, names
    /// given once, sane tolerances.
    fn validate(&self) -> std::result::Result<(), String> {
        self.tolerances.validate().map_err(|e| format!("tolerances: {e}"))?;
        if self.measurement.metrics.is_empty() {
            return Err("it has no metrics, so a check against it would check nothing".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.measurement.metrics {
            if !m.metric.kind.accepts(&m.value) {
                return Err(format!("metric {} has a value of the wrong form: {:?}", m.metric, m.value));
            }
            if !seen.insert(&m.metric) {
                return Err(format!("metric {} is given twice", m.metric));
            }
        }
        Ok(())
    }

    /// Writes the baseline to `path`: into a temporary file beside it, then renamed over
    /// it, so that a reader never sees half a baseline.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).context("cannot encode the baseline")?;
        bytes.push(b'\n');
        let dir = parent_dir(path);
        // 0666 less the umask, as for any new file (a temporary file is private by default).
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o666);
        let mut file = tempfile::Builder::new()
            .prefix(".mmap-lab-baseline-")
            .permissions(mode)
            .tempfile_in(dir)
            .with_context(|| format!("{}: cannot create a file to write the baseline in", dir.display()))?;
        std::io::Write::write_all(&mut file, &bytes)
            .with_context(|| format!("{}: cannot write the baseline", file.path().display()))?;
        file.as_file().sync_all().with_context(|| format!("{}: cannot sync the baseline", path.display()))?;
        file.persist(path)
            .with_context(|| format!("{}: cannot move the baseline into place", path.display()))?;
        Ok(())
    }
}

/// The folder a file goes in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Checks, before anything is measured, that a baseline can be written at `path`
/// (creating its folder if missing).
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(input(format!(
            "--save-baseline {}: this is a folder; give a file name such as {}/baseline.json",
            path.display(),
            path.display()
        )));
    }
    crate::fsio::regular_or_missing(path, "--save-baseline")?;
    if path.exists() {
        let bytes = crate::fsio::read_input(path, "the file to replace", "give another file name")?;
        let is_baseline = serde_json::from_slice::<serde_json::Value>(&bytes)
            .is_ok_and(|v| v.get("baseline_version").is_some() && v.get("metrics").is_some());
        if !is_baseline {
            return Err(input(format!(
                "--save-baseline {}: this file exists and is not an mmap-lab baseline, so it is never overwritten; give a new file name, or an earlier baseline to replace",
                path.display()
            )));
        }
    }
    crate::error::writable_dir(parent_dir(path), "--save-baseline")
}
