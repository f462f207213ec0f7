//! Experiment specs: one TOML file per experiment in `experiments/`, readable by a student
//! and writable by an instructor, no Rust needed.
//!
//! ```toml
//! id = "npy_memmap_float64"
//! title = "np.memmap of the .npy with dtype=float64, no offset, no shape"
//! numpy_call = "np.memmap('X_train.npy', dtype='float64', mode='r')"
//! file = "npy"                 # which file of the dataset: npy or raw
//! access = "full_pass"         # none | first | full_pass | { pattern = "random_batches", ... }
//! cache = ["warm", "cold"]
//! tutorial_says = "Still different values: you need to know the shape and offset."
//!
//! [open]
//! method = "memmap"            # load | load_mmap | memmap
//! dtype = "float64"            # memmap only; "dataset" means the dataset's own dtype
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cache::CacheState;
use crate::dataset::DatasetSpec;
use crate::dtype::Dtype;
use crate::open::{Advice, MapPolicy, MemmapOptions, Order};
use crate::shape::Shape;
use crate::units::Bytes;

mod against;
mod file;
mod load;
mod validate;
mod values;
pub use self::against::check_against;
pub use self::file::FileKind;
pub use self::load::{check_unique, formats_of, load_dir, load_file, resolve};

/// How a step opens its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `np.load(path)`: read everything into memory.
    Load,
    /// `np.load(path, mmap_mode='r')`.
    LoadMmap,
    /// `np.memmap(path, ...)`.
    Memmap,
    /// A file of another format (`.npz`, safetensors, Arrow IPC) opened the way its own
    /// library opens it for reading, without a copy where it can ([`crate::formats`]).
    Library,
}

/// A shape in a spec: `"dataset"`, `"40x120x120x3"` or `[40, 120, 120, 3]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeSpec {
    /// The dataset's own shape.
    Dataset,
    /// A fixed shape.
    Fixed(Shape),
}

/// `np.memmap`'s mode, as far as mmap-lab opens files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Mode {
    /// `'r'`: read-only. Every step of the dataset's own files uses it.
    #[default]
    #[serde(rename = "r")]
    R,
    /// `'r+'`: read and write, NumPy's default. It grows a file that is shorter than the
    /// shape asks for. Allowed on scratch copies only.
    #[serde(rename = "r+")]
    RPlus,
}

/// The `[open]` table of a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSpec {
    /// `load`, `load_mmap` or `memmap`.
    pub method: Method,
    /// memmap only: element type, `"dataset"` for the dataset's; NumPy's default `uint8`.
    #[serde(default)]
    pub dtype: Option<DtypeSpec>,
    /// memmap only: bytes to skip; `"header"` means the .npy header's length. Default 0.
    #[serde(default)]
    pub offset: Option<OffsetSpec>,
    /// memmap only: shape; default 1-D over everything after the offset.
    #[serde(default)]
    pub shape: Option<ShapeSpec>,
    /// memmap only: `"C"` (default) or `"F"`.
    #[serde(default)]
    pub order: Option<Order>,
    /// Fault the whole mapping in at map time (`MAP_POPULATE`).
    #[serde(default)]
    pub populate: bool,
    /// `madvise` after mapping: normal, sequential, random, will_need, huge_page, no_huge_page.
    #[serde(default)]
    pub advice: Option<Advice>,
    /// memmap only: `"r"` (default) or `"r+"` (scratch copies only).
    #[serde(default)]
    pub mode: Mode,
}

/// A dtype in a spec: `"dataset"` for the dataset's own, or one NumPy accepts (`"float64"`,
/// `"<f8"`), parsed into a [`Dtype`] when the spec is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeSpec {
    /// The dataset's own dtype.
    Dataset,
    /// A fixed dtype.
    Given(Dtype),
}

/// An offset: a number of bytes, or `"header"` for the .npy header's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// A fixed number of bytes.
    Bytes(Bytes),
    /// The length of the dataset's .npy header (128 for the tutorial).
    Header,
}

/// What a step reads once the array is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccessSpec {
    /// Nothing: open only.
    None,
    /// The first element only.
    First,
    /// Every element, summed (`X.sum()`).
    FullPass,
    /// A full pass in `points` equal slices, with memory recorded after each: how RSS
    /// grows, or levels off, along the pass.
    TrackedPass {
        /// Number of slices (and trace points).
        points: u32,
    },
    /// The first `samples` samples, summed (`X[:n].sum()`).
    FirstN {
        /// How many samples; more than the array has is refused, unless `clip`.
        samples: u64,
        /// Read at most the samples there are, as NumPy's slice `X[:n]` does (the report
        /// says how many were read). The tutorial's specs clip, so that they run at any
        /// `--shape`; without it, asking for more than there are is a mistake.
        #[serde(default)]
        clip: bool,
    },
    /// One channel of every image (`X[..., c].sum()`): a strided read.
    Channel {
        /// Which channel (index on the last axis).
        channel: u64,
    },
    /// Truncates the (scratch) file to `keep_percent` of its length after mapping it,
    /// then makes a full pass: reading past the new end is SIGBUS, and the step crashes.
    ShrinkThenPass {
        /// Percent of the file kept (default 50).
        #[serde(default = "half")]
        keep_percent: u32,
    },
    /// Single elements at random places (`X.flat[idx]`): small random reads, where
    /// read-ahead fetches pages that are never used.
    RandomElements {
        /// How many elements.
        count: u64,
        /// Seed of the positions.
        #[serde(default)]
        seed: u64,
    },
    /// A data-loader epoch: random mini-batches of whole samples, each summed and timed.
    RandomBatches {
        /// Samples per batch (32 in most training loops).
        batch_size: u64,
        /// Number of batches; default: one epoch (samples / batch_size).
        #[serde(default)]
        batches: Option<u64>,
        /// Seed of the batch order.
        #[serde(default)]
        seed: u64,
    },
}

impl AccessSpec {
    /// Short name for tables: `full_pass`, `random_batches`.
    pub fn name(&self) -> &'static str {
        match self {
            AccessSpec::None => "none",
            AccessSpec::First => "first",
            AccessSpec::FullPass => "full_pass",
            AccessSpec::TrackedPass { .. } => "tracked_pass",
            AccessSpec::ShrinkThenPass { .. } => "shrink_then_pass",
            AccessSpec::FirstN { .. } => "first_n",
            AccessSpec::Channel { .. } => "channel",
            AccessSpec::RandomElements { .. } => "random_elements",
            AccessSpec::RandomBatches { .. } => "random_batches",
        }
    }
}

fn half() -> u32 {
    50
}

fn default_access() -> AccessSpec {
    AccessSpec::FullPass
}

fn default_cache() -> Vec<CacheState> {
    vec![CacheState::Warm, CacheState::Cold]
}

fn default_true() -> bool {
    true
}

/// The outcome a step is expected to have; anything else fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened and read as asked.
    #[default]
    Ok,
    /// Refused with an error (a bad shape, an empty file, ...).
    Error,
    /// The child process died of a signal (SIGBUS, out of memory).
    Crashed,
}

impl Status {
    /// `"ok"`, `"error"` or `"crashed"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Crashed => "crashed",
        }
    }
}

/// One experiment: a tutorial step or one of the experiments beyond it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Unique id, used in results and reports.
    pub id: String,
    /// One line a student reads.
    pub title: String,
    /// Which group the report shows it in (`tutorial` for the tutorial's steps).
    #[serde(default = "default_group")]
    pub group: String,
    /// The NumPy call the step performs.
    pub numpy_call: String,
    /// Which file of the dataset it opens.
    pub file: FileKind,
    /// How it opens it.
    pub open: OpenSpec,
    /// What it reads once open.
    #[serde(default = "default_access", deserialize_with = "values::access_from_str_or_table")]
    pub access: AccessSpec,
    /// Cache states to run it under.
    #[serde(default = "default_cache")]
    pub cache: Vec<CacheState>,
    /// The outcome expected.
    #[serde(default)]
    pub expect: Status,
    /// What the tutorial says about this step.
    #[serde(default)]
    pub tutorial_says: Option<String>,
    /// What really happens, for the report.
    #[serde(default)]
    pub explanation: Option<String>,
    /// Whether `run-all` runs it.
    #[serde(default = "default_true")]
    pub run_all: bool,
    /// A sharing experiment: run with each of these numbers of worker processes reading
    /// the whole array at once (a data loader's workers); each count is a step of its own.
    #[serde(default)]
    pub workers: Option<Vec<u32>>,
}

/// The group of the tutorial's steps, and of any spec that names no group.
pub const TUTORIAL: &str = "tutorial";

fn default_group() -> String {
    TUTORIAL.to_owned()
}

/// A spec together with the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The spec.
    pub spec: ExperimentSpec,
    /// Its file.
    pub path: PathBuf,
}

impl ExperimentSpec {
    /// The `np.memmap` options this spec resolves to for `dataset` (memmap only).
    pub fn memmap_options(&self, dataset: &DatasetSpec, npy_header_bytes: Bytes) -> MemmapOptions {
        let o = &self.open;
        let dtype = match o.dtype {
            None => Dtype::U1,
            Some(DtypeSpec::Dataset) => dataset.dtype,
            Some(DtypeSpec::Given(dtype)) => dtype,
        };
        MemmapOptions {
            dtype,
            offset: match o.offset {
                None => 0,
                Some(OffsetSpec::Bytes(n)) => n,
                Some(OffsetSpec::Header) => npy_header_bytes,
            },
            shape: match &o.shape {
                None => None,
                Some(ShapeSpec::Dataset) => Some(dataset.shape.clone()),
                Some(ShapeSpec::Fixed(s)) => Some(s.clone()),
            },
            order: o.order.unwrap_or_default(),
        }
    }

    /// The mapping policy (populate, advice).
    pub fn policy(&self) -> MapPolicy {
        MapPolicy { populate: self.open.populate, advice: self.open.advice }
    }
}

#[cfg(test)]
mod tests;
