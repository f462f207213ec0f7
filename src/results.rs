//! `results.json`: everything a run measured, in a stable layout that tools can read.
//!
//! Field names required by the project's users (course tools, CI) are kept as they are;
//! new fields are added, never renamed. `elapsed_ns` counts from the step's own start
//! (`before_open` is about 0) with probing excluded, so the difference between two phases
//! is that phase's time. Fault counts are the step process's counts since it started, and
//! byte counts are absolute, so differences between phases give each phase's cost.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cache::{CacheReport, CacheState};
use crate::dtype::Dtype;
use crate::probe::{Phase, Snapshot};
use crate::shape::Shape;
use crate::spec::{FileKind, Status};
use crate::units::{Bytes, Nanos};

mod peer;
pub use peer::PeerResult;

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

/// The machine's limits, measured in the run they judge: warm passes against an in-memory
/// pass over the same bytes, cold passes against a plain sequential read of the file after
/// the same eviction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// The step whose pass over memory it owns is the in-memory reference (`npy_load[warm]`).
    pub in_memory_step: Option<String>,
    /// That pass's time: the median of the passes it timed over the loaded array
    /// (`memory_passes_ns`), or of its Rust rounds' passes.
    pub in_memory_pass_ns: Option<Nanos>,
    /// Bytes it summed.
    pub in_memory_bytes: Option<Bytes>,
    /// The in-memory pass over each span the run's warm passes read (bytes from the start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_memory_spans: Vec<SpanLimit>,
    /// The file read sequentially after an eviction (`read` in 8 MiB blocks).
    pub cold_read_file: Option<String>,
    /// Time of that read: the faster of the reads timed (before and after the cold steps).
    pub cold_read_ns: Option<Nanos>,
    /// Every read timed, in run order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cold_reads_ns: Vec<Nanos>,
    /// Bytes it read.
    pub cold_read_bytes: Option<Bytes>,
}

impl Limits {
    /// Bytes per second of the in-memory pass.
    pub fn warm_rate(&self) -> Option<f64> {
        rate(self.in_memory_bytes?, self.in_memory_pass_ns?)
    }

    /// Bytes per second of the sequential read after an eviction.
    pub fn cold_rate(&self) -> Option<f64> {
        rate(self.cold_read_bytes?, self.cold_read_ns?)
    }

    /// The limit for a pass of `bytes` under `cache`: warm, the in-memory pass over the span
    /// nearest in size (the whole array's when no span was timed).
    pub fn rate_for(&self, cache: CacheState, bytes: Bytes) -> Option<f64> {
        match cache {
            CacheState::Warm => {
                let near = self.in_memory_spans.iter().min_by_key(|s| s.bytes.abs_diff(bytes));
                near.and_then(|s| rate(s.bytes, s.pass_ns)).or_else(|| self.warm_rate())
            }
            CacheState::Cold => self.cold_rate(),
        }
    }
}

/// `bytes` in `ns`, per second; `None` for an empty time.
pub fn rate(bytes: Bytes, ns: Nanos) -> Option<f64> {
    (ns > 0).then(|| bytes as f64 * 1e9 / ns as f64)
}

/// Passes over the first `bytes` of an array in memory, each timed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPasses {
    /// Bytes each pass read, from the array's start.
    pub bytes: Bytes,
    /// Each pass's time.
    pub passes_ns: Vec<Nanos>,
}

/// One span of the in-memory limit: the median of its passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanLimit {
    /// Bytes of the span.
    pub bytes: Bytes,
    /// The median pass over it.
    pub pass_ns: Nanos,
}

/// One round of a step beside its NumPy peer: both sides in fresh processes, one after the
/// other, each after the same cache preparation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedRound {
    /// Whether the Rust step ran first in this round (rounds alternate).
    pub rust_first: bool,
    /// The Rust step's times.
    pub rust: RoundTimes,
    /// NumPy's times.
    pub numpy: RoundTimes,
    /// Whether NumPy agreed with the Rust step in this round.
    pub agrees: bool,
}

impl PairedRound {
    /// The round's times, from both sides' snapshots.
    pub fn of(rust_first: bool, rust: &StepResult, numpy: &PeerResult) -> PairedRound {
        PairedRound {
            rust_first,
            rust: RoundTimes::of(&rust.snapshots),
            numpy: RoundTimes::of(&numpy.snapshots),
            agrees: numpy.agrees,
        }
    }
}

/// Where one step's wall time went, in the runner: cache preparations, the Rust processes
/// and the NumPy processes, over all its rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTiming {
    /// Everything the runner spent on the step, copies and rounds included.
    pub wall_ns: Nanos,
    /// Writing the step's scratch copy, if it has one.
    pub copy_ns: Nanos,
    /// Preparing the page cache (warming or evicting, and checking), both sides.
    pub prepare_ns: Nanos,
    /// The Rust step's processes, spawn to exit.
    pub rust_ns: Nanos,
    /// NumPy's processes, spawn to exit.
    pub numpy_ns: Nanos,
    /// Rounds run (the first included).
    pub rounds: u32,
}

/// One stage of a run and its wall time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    /// `dataset`, `formats`, `warm_steps`, `cold_read_limit`, `cold_steps`.
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

/// One step run several times beside its NumPy peer, each time in fresh processes after
/// the same cache preparation: the spread of short times, not one draw of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideBySide {
    /// The step's key (`npy_load_mmap[warm]`).
    pub step: String,
    /// Rust's figures, one per round (the first is the step's own run).
    pub rust: Vec<RoundTimes>,
    /// NumPy's figures, one per round, run right after Rust's.
    pub numpy: Vec<RoundTimes>,
}

/// The times of one round on one side, taken from its snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTimes {
    /// From `before_open` to `after_first`: opening plus reading the first element.
    pub open_first_ns: Option<Nanos>,
    /// From `after_first` to `after_access`: the full pass (`X.sum()`).
    pub pass_ns: Option<Nanos>,
    /// From `before_open` to `after_open`: the open alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_ns: Option<Nanos>,
}

impl RoundTimes {
    /// The times in `snapshots` (a Rust step's or a NumPy peer's).
    pub fn of(snapshots: &[Snapshot]) -> RoundTimes {
        let at = |phase: Phase| snapshots.iter().find(|s| s.phase == phase).map(|s| s.elapsed_ns);
        let span = |from: Phase, to: Phase| Some(at(to)?.saturating_sub(at(from)?));
        RoundTimes {
            open_first_ns: span(Phase::BeforeOpen, Phase::AfterFirst),
            pass_ns: span(Phase::AfterFirst, Phase::AfterAccess),
            open_ns: span(Phase::BeforeOpen, Phase::AfterOpen),
        }
    }

    /// The time a step is judged by: its access pattern's, or for a step that reads
    /// nothing beyond the first element, open plus first, or the open alone.
    pub fn judged(&self) -> Option<Nanos> {
        self.pass_ns.or(self.open_first_ns).or(self.open_ns)
    }
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

/// Puts every array that holds no object or array on one line: `[1, 2, 3]` rather than one
/// number per line. Whitespace inside strings is left alone.
pub fn compact_flat_arrays(json: &str) -> String {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            let end = string_end(bytes, i);
            out.push_str(&json[i..end]);
            i = end;
        } else if c == b'[' {
            match flat_array_end(bytes, i) {
                Some(end) => {
                    out.push_str(&collapse(&json[i..end]));
                    i = end;
                }
                None => {
                    out.push('[');
                    i += 1;
                }
            }
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

/// Index just past the string literal starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Index just past the `]` closing the array at `start`, if it holds no nested container.
fn flat_array_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'[' | b'{' => return None,
            b']' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// `[\n  1,\n  2\n]` -> `[1, 2]`, strings kept as they are.
fn collapse(array: &str) -> String {
    let bytes = array.as_bytes();
    let mut out = String::with_capacity(array.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                out.push_str(&array[i..end]);
                i = end;
            }
            b',' => {
                out.push_str(", ");
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

fn finite_or_null_one<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    value.is_finite().then_some(*value).serialize(serializer)
}

fn null_as_nan_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

fn finite_or_null<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
    let as_options: Vec<Option<f64>> = values.iter().map(|v| v.is_finite().then_some(*v)).collect();
    as_options.serialize(serializer)
}

fn null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    let raw: Vec<Option<f64>> = Vec::deserialize(deserializer)?;
    Ok(raw.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
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
        let pretty = serde_json::to_string_pretty(self).context("cannot encode the results")?;
        let mut text = compact_flat_arrays(&pretty);
        text.push('\n');
        Ok(text.into_bytes())
    }

    /// The step with `id` under `cache`.
    pub fn step(&self, id: &str, cache: CacheState) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.id == id && s.cache == cache)
    }
}

#[cfg(test)]
mod tests {
    use super::compact_flat_arrays;

    #[test]
    fn flat_arrays_go_on_one_line_and_strings_are_kept() {
        let pretty = "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": [\n    {\n      \"c\": [\n        \"x, [ y\"\n      ]\n    }\n  ]\n}";
        let compact = compact_flat_arrays(pretty);
        assert_eq!(
            compact,
            "{\n  \"a\": [1, 2],\n  \"b\": [\n    {\n      \"c\": [\"x, [ y\"]\n    }\n  ]\n}"
        );
        let a: serde_json::Value = serde_json::from_str(pretty).unwrap();
        let b: serde_json::Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(a, b);
    }
}
