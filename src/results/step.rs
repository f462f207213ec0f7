//! One step's record: what it measured under one cache state, with its batches, workers,
//! the pass's trace and the first sample as a picture.

use serde::{Deserialize, Serialize};

use super::json::{finite_or_null, finite_or_null_one, null_as_nan, null_as_nan_one};
use super::{MemoryPasses, PairedRound, PeerResult, StepTiming};
use crate::cache::{CacheReport, CacheState};
use crate::dtype::Dtype;
use crate::probe::{Phase, Snapshot};
use crate::shape::Shape;
use crate::spec::{FileKind, Status};
use crate::units::{Bytes, Nanos};

/// Per-batch measurements of a `random_batches` step.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchStats {
    /// Samples per batch.
    pub batch_size: u64,
    /// Time of each batch.
    pub batch_ns: Vec<Nanos>,
    /// Minor faults of each batch.
    pub batch_minor_faults: Vec<u64>,
    /// Major faults of each batch.
    pub batch_major_faults: Vec<u64>,
}

/// The first sample as a picture, seen through a step's mapping: the first
/// `height * width * channels` elements in flat order, one byte each, row-major.
///
/// Float values in [0, 1) become `floor(v * 256)` (clamped to 0..=255, NaN as 0);
/// integer values are clamped to 0..=255. A correct mapping shows the original picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Values per pixel (3 for RGB).
    pub channels: usize,
    /// The bytes, base64-encoded (standard alphabet, padded).
    pub pixels_base64: String,
}

impl Preview {
    /// The decoded bytes (`height * width * channels` of them), or `None` if malformed.
    pub fn pixels(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(&self.pixels_base64).ok()?;
        (bytes.len() == self.height * self.width * self.channels).then_some(bytes)
    }
}

/// Memory along a tracked pass, after one slice of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePoint {
    /// Bytes of the array read so far.
    pub bytes_read: Bytes,
    /// Working time since the step started.
    pub elapsed_ns: Nanos,
    /// Anonymous resident memory.
    pub rss_anon_bytes: Bytes,
    /// File-backed resident memory.
    pub rss_file_bytes: Bytes,
    /// Major faults since the process started.
    pub major_faults: u64,
}

/// One worker of a sharing step, measured from outside while every worker was alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSample {
    /// The worker's process id, by which the runner finds it in its snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Resident set size (`RssAnon + RssFile + RssShmem` of `/proc/PID/status`).
    #[serde(default)]
    pub rss_bytes: Bytes,
    /// Anonymous resident memory (`RssAnon`).
    #[serde(default)]
    pub rss_anon_bytes: Bytes,
    /// File-backed resident memory (`RssFile`).
    #[serde(default)]
    pub rss_file_bytes: Bytes,
    /// Proportional set size: each shared page divided among the processes mapping it.
    #[serde(default)]
    pub pss_bytes: Bytes,
    /// PSS of anonymous memory.
    #[serde(default)]
    pub pss_anon_bytes: Bytes,
    /// PSS of file-backed memory.
    #[serde(default)]
    pub pss_file_bytes: Bytes,
    /// Time the worker took to open the array.
    pub open_ns: Nanos,
    /// Time of its full pass.
    pub pass_ns: Nanos,
    /// The sum its full pass computed.
    #[serde(serialize_with = "finite_or_null_one", deserialize_with = "null_as_nan_one")]
    pub sum: f64,
}

/// K worker processes reading the whole array at once, like a data loader's workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharingStats {
    /// Number of workers.
    pub count: u32,
    /// Each worker.
    pub per_worker: Vec<WorkerSample>,
    /// Sum of the workers' RSS (counts shared pages once per worker).
    pub total_rss_bytes: Bytes,
    /// Sum of the workers' PSS (counts shared pages once in all).
    pub total_pss_bytes: Bytes,
    /// Whether every worker computed the same sum.
    pub sums_agree: bool,
}

/// One step under one cache state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The experiment's id.
    pub id: String,
    /// One line a student reads.
    pub title: String,
    /// Report group (`tutorial`, ...).
    pub group: String,
    /// The NumPy call it performs.
    pub numpy_call: String,
    /// Which file it opens.
    pub file: FileKind,
    /// How it opened it: `load_mmap`, `memmap(dtype=float64, offset=0, shape=None)`, ...
    pub open: String,
    /// Access pattern name.
    pub access: String,
    /// Cache state asked for.
    pub cache: CacheState,
    /// What preparing the cache achieved.
    pub cache_report: Option<CacheReport>,
    /// Outcome.
    pub status: Status,
    /// The outcome the spec expects.
    pub expected_status: Status,
    /// The error, for `error` and `crashed` steps.
    pub error: Option<String>,
    /// The signal that ended a crashed step.
    pub signal: Option<i32>,
    /// Shape of the opened array.
    pub shape: Option<Shape>,
    /// Dtype of the opened array.
    pub dtype: Option<Dtype>,
    /// The first 24 elements in C-order flat order.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub first_values: Vec<f64>,
    /// Whether the array equals the original (same shape, dtype and values).
    pub matches_original: Option<bool>,
    /// Element index at which the original's first values start (0 for a correct mapping,
    /// 16 for float64 without the 128-byte offset), if within the first 64.
    pub original_at_element: Option<u64>,
    /// Object size: the analogue of `sys.getsizeof`.
    pub object_bytes: Option<Bytes>,
    /// Sum computed by the access pattern, if any.
    pub sum: Option<f64>,
    /// Elements read by the access pattern.
    pub elements_read: Option<u64>,
    /// Bytes of the file the access pattern reads (its span in the file, for page counts).
    pub bytes_touched: Option<Bytes>,
    /// Snapshots in phase order.
    pub snapshots: Vec<Snapshot>,
    /// Per-batch figures of a `random_batches` step.
    #[serde(default)]
    pub batches: Option<BatchStats>,
    /// The first sample drawn through this mapping (recorded for the warm run of a step).
    #[serde(default)]
    pub preview: Option<Preview>,
    /// For a tracked pass: memory after each slice.
    #[serde(default)]
    pub trace: Option<Vec<TracePoint>>,
    /// For a sharing step: what each worker process held while all of them were alive.
    #[serde(default)]
    pub workers: Option<SharingStats>,
    /// Size of the step's file before the step (the runner's view).
    #[serde(default)]
    pub file_bytes_before: Option<Bytes>,
    /// Size of the step's file after the step: larger after `mode = "r+"` grew it,
    /// smaller after a shrink.
    #[serde(default)]
    pub file_bytes_after: Option<Bytes>,
    /// Wall time of the child process, start to exit.
    pub process_ns: Nanos,
    /// The same step performed by NumPy, when a Python with NumPy was at hand.
    #[serde(default)]
    pub peer: Option<PeerResult>,
    /// Every round beside NumPy, the step's own run first, Rust and NumPy taking turns at
    /// going first (empty without a NumPy peer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<PairedRound>,
    /// For the in-memory reference step (`npy_load`, warm): more passes over the loaded
    /// array, each timed, after the measured phases: over each span the run's warm passes
    /// read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_passes: Vec<MemoryPasses>,
    /// Where the runner's time went for this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<StepTiming>,
}

impl StepResult {
    /// The snapshot of `phase`, if the step got that far.
    pub fn snapshot(&self, phase: Phase) -> Option<&Snapshot> {
        self.snapshots.iter().find(|s| s.phase == phase)
    }

    /// Time between two phases.
    pub fn phase_ns(&self, from: Phase, to: Phase) -> Option<Nanos> {
        Some(self.snapshot(to)?.elapsed_ns.saturating_sub(self.snapshot(from)?.elapsed_ns))
    }

    /// Change of a byte count between two phases.
    pub fn delta(&self, from: Phase, to: Phase, field: fn(&Snapshot) -> u64) -> Option<i64> {
        Some(field(self.snapshot(to)?) as i64 - field(self.snapshot(from)?) as i64)
    }

    /// `id/cache`, the key of a step in tables.
    pub fn key(&self) -> String {
        format!("{}/{}", self.id, self.cache.name())
    }
}
