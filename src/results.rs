//! `results.json`: everything a run measured, in a stable layout that tools can read.
//!
//! Field names required by the project's users (course tools, CI) are kept as they are;
//! new fields are added, never renamed. `elapsed_ns` counts from the step's own start
//! (`before_open` is about 0) with probing excluded, so the difference between two phases
//! is that phase's time. Fault counts are the step process's counts since it started, and
//! byte counts are absolute, so differences between phases give each phase's cost.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cache::CacheState;
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::units::{Bytes, Nanos};

mod json;
mod peer;
mod step;
mod timing;
pub use peer::PeerResult;
pub use step::{BatchStats, Preview, SharingStats, StepResult, TracePoint, WorkerSample};
pub use timing::{Limits, MemoryPasses, PairedRound, RoundTimes, SideBySide, SpanLimit, StepTiming, rate};

/// Version of this layout; bumped only when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run: machine, dataset, steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Layout version.
    pub schema_version: u32,
    /// How, when and by what the run was made.
    pub run: RunInfo,
    /// The machine it ran on.
    pub machine: crate::machine::Machine,
    /// The dataset it measured.
    pub dataset: DatasetInfo,
    /// Every step under every cache state, in run order.
    pub steps: Vec<StepResult>,
    /// The tutorial's first step run again, Rust and NumPy alternately, for the headline
    /// comparison (absent without NumPy, or with one round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side_by_side: Option<SideBySide>,
    /// The machine's limits measured in this run, against which full passes are judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

/// How the run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// mmap-lab's version.
    pub mmap_lab_version: String,
    /// The command line, as typed.
    pub command: String,
    /// Start time (RFC 3339, UTC).
    pub started_at: String,
    /// Wall time of the whole run, generation included.
    pub wall_ns: Nanos,
    /// Whether every planned step ran (false after an interruption).
    pub complete: bool,
    /// Peak resident memory of the runner process itself (steps run in children).
    pub parent_peak_rss_bytes: Bytes,
    /// Where the run's wall time went, stage by stage (each step's own share is in its
    /// `timing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageTime>,
    /// Whether a step ended differently from what its spec expects.
    pub unexpected_outcomes: usize,
    /// Notes for the reader (NumPy missing, eviction refused, ...).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The dataset a run measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Shape.
    pub shape: Shape,
    /// Element type.
    pub dtype: Dtype,
    /// Seed of the pictures.
    pub seed: u64,
    /// Size of `X_train.npy`.
    pub npy_bytes: Bytes,
    /// Size of `X_train_raw.rbf`.
    pub raw_bytes: Bytes,
    /// Size of the .npy header: where the data starts in `X_train.npy`.
    pub npy_header_bytes: Bytes,
    /// Folder of the files.
    pub data_dir: PathBuf,
    /// `"generated"` in this run, or `"reused"` from an earlier one.
    pub provenance: String,
    /// Generation wall time, when generated in this run.
    pub generate_ns: Option<Nanos>,
    /// xxh3-64 of the data.
    pub checksum: String,
    /// The files of other formats the run opened, as written and checked
    /// ([`crate::formats`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<crate::formats::FormatFile>,
}

impl DatasetInfo {
    /// The shape of the array the formats group's files hold: the dataset's first samples
    /// ([`crate::formats::subset`]), or the dataset's own shape for results of versions that
    /// wrote the whole array (their entries record no shape).
    pub fn formats_shape(&self) -> &Shape {
        self.formats.iter().find_map(|f| f.shape.as_ref()).unwrap_or(&self.shape)
    }

    /// Bytes of that array.
    pub fn formats_data_bytes(&self) -> Bytes {
        self.formats_shape().nbytes(self.dtype)
    }

    /// The checksum of that array's bytes (the dataset's own when the files hold it whole).
    pub fn formats_checksum(&self) -> &str {
        self.formats.iter().find_map(|f| f.data_checksum.as_deref()).unwrap_or(&self.checksum)
    }
}

/// One stage of a run and its wall time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    /// `dataset`, `formats`, `warm_steps`, `worker_steps`, `cold_read_limit`, `cold_steps`,
    /// `restore_cache`, in the order they ran.
    pub stage: String,
    /// Its wall time.
    pub ns: Nanos,
}

impl StageTime {
    /// The stage `stage`, begun at `began` and ending now.
    pub fn since(stage: &str, began: std::time::Instant) -> StageTime {
        StageTime { stage: stage.to_owned(), ns: began.elapsed().as_nanos() as Nanos }
    }
}

impl Results {
    /// Reads a results file, naming it in every error.
    pub fn read(path: &Path) -> Result<Results> {
        let bytes = crate::fsio::read_input(
            path,
            "the results",
            "give a results.json written by `mmap-lab run-all` or `run`",
        )?;
        let bad = |why: String| {
            crate::error::input(format!(
                "{}: not a results.json mmap-lab can read: {why}; give a file written by `mmap-lab run-all` or `run`",
                path.display()
            ))
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        match value.get("schema_version").map(|v| v.as_u64()) {
            Some(Some(v)) if v == u64::from(SCHEMA_VERSION) => {}
            Some(Some(v)) => {
                return Err(bad(format!(
                    "its schema_version is {v}, this mmap-lab ({}) reads version {SCHEMA_VERSION} and has no converter from {v}; draw it with the mmap-lab that wrote it, or measure again",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            Some(None) => return Err(bad("its schema_version is not a whole number".to_owned())),
            None => return Err(bad("it has no schema_version".to_owned())),
        }
        let results: Results = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        if results.steps.is_empty() {
            return Err(bad("it holds no steps, so there is nothing to draw or compare".to_owned()));
        }
        Ok(results)
    }

    /// The results as pretty JSON, arrays of plain values kept on one line.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let value = serde_json::to_value(self).context("cannot encode the results")?;
        let mut text = json::pretty_compact(&value);
        text.push('\n');
        Ok(text.into_bytes())
    }

    /// The step with `id` under `cache`.
    pub fn step(&self, id: &str, cache: CacheState) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.id == id && s.cache == cache)
    }
}
