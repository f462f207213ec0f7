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

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::cache::CacheState;
use crate::dataset::DatasetSpec;
use crate::dtype::Dtype;
use crate::error::input;
use crate::open::{Advice, MapPolicy, MemmapOptions, Order};
use crate::shape::Shape;
use crate::units::Bytes;

mod against;
pub use self::against::check_against;

/// Which file of the dataset a step opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// `X_train.npy`: header, then data.
    Npy,
    /// `X_train_raw.rbf`: data only.
    Raw,
    /// A copy of the raw file written just before the step in 4 MiB pieces: the page
    /// cache then holds large folios.
    RawLargeWrites,
    /// A copy of the raw file written just before the step in 4 KiB pieces: the page
    /// cache then holds single pages.
    RawSmallWrites,
    /// A scratch copy of `X_train.npy`, made just before the step, that the step may
    /// change (`mode = "r+"`, shrinking): the dataset itself is never written.
    NpyCopy,
    /// A scratch copy of `X_train_raw.rbf`, like `npy_copy`.
    RawCopy,
    /// `X_train_stored.npz`: what `np.savez` writes (a zip, the .npy stored uncompressed).
    NpzStored,
    /// `X_train_deflated.npz`: what `np.savez_compressed` writes (the .npy deflated).
    NpzDeflated,
    /// `X_train.safetensors`: an 8-byte length, a JSON header, then the tensor's bytes.
    Safetensors,
    /// `X_train.arrow`: an Arrow IPC (Feather v2) file, buffers uncompressed.
    ArrowIpc,
    /// `X_train_lz4.arrow`: an Arrow IPC file, buffers compressed with LZ4 frames.
    ArrowIpcLz4,
}

impl FileKind {
    /// The file's name in the data folder.
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Npy => crate::dataset::NPY_NAME,
            FileKind::Raw => crate::dataset::RAW_NAME,
            FileKind::RawLargeWrites => "X_train_raw_large_writes.rbf",
            FileKind::RawSmallWrites => "X_train_raw_small_writes.rbf",
            FileKind::NpyCopy => "X_train.copy.npy",
            FileKind::RawCopy => "X_train_raw.copy.rbf",
            other => other.format().map_or("", crate::formats::Format::file_name),
        }
    }

    /// For a file of another format than .npy and raw: which one.
    pub fn format(self) -> Option<crate::formats::Format> {
        use crate::formats::Format;
        match self {
            FileKind::NpzStored => Some(Format::NpzStored),
            FileKind::NpzDeflated => Some(Format::NpzDeflated),
            FileKind::Safetensors => Some(Format::Safetensors),
            FileKind::ArrowIpc => Some(Format::ArrowIpc),
            FileKind::ArrowIpcLz4 => Some(Format::ArrowIpcLz4),
            _ => None,
        }
    }

    /// For a copy: the dataset file it is copied from.
    pub fn source_name(self) -> Option<&'static str> {
        match self {
            FileKind::Npy | FileKind::Raw => None,
            FileKind::NpzStored
            | FileKind::NpzDeflated
            | FileKind::Safetensors
            | FileKind::ArrowIpc
            | FileKind::ArrowIpcLz4 => None,
            FileKind::NpyCopy => Some(crate::dataset::NPY_NAME),
            FileKind::RawLargeWrites | FileKind::RawSmallWrites | FileKind::RawCopy => {
                Some(crate::dataset::RAW_NAME)
            }
        }
    }

    /// Whether a step may change this file: only the scratch copies.
    pub fn is_scratch(self) -> bool {
        matches!(self, FileKind::NpyCopy | FileKind::RawCopy)
    }

    /// For the copies: the size of the pieces the copy is written in.
    pub fn rewrite_piece(self) -> Option<usize> {
        match self {
            FileKind::Npy | FileKind::Raw => None,
            FileKind::NpzStored
            | FileKind::NpzDeflated
            | FileKind::Safetensors
            | FileKind::ArrowIpc
            | FileKind::ArrowIpcLz4 => None,
            FileKind::RawLargeWrites => Some(4 << 20),
            FileKind::RawSmallWrites => Some(4 << 10),
            FileKind::NpyCopy | FileKind::RawCopy => Some(4 << 20),
        }
    }

    /// Whether the file starts with a .npy header.
    pub fn has_header(self) -> bool {
        matches!(self, FileKind::Npy | FileKind::NpyCopy)
    }
}

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

impl Serialize for ShapeSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ShapeSpec::Dataset => serializer.serialize_str("dataset"),
            ShapeSpec::Fixed(shape) => shape.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ShapeSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = ShapeSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"dataset\", a shape such as \"40x120x120x3\", or a list of whole numbers such as [40, 120, 120, 3]",
                )
            }
            fn visit_str<E: de::Error>(self, t: &str) -> Result<ShapeSpec, E> {
                if t == "dataset" {
                    Ok(ShapeSpec::Dataset)
                } else {
                    Shape::parse(t).map(ShapeSpec::Fixed).map_err(E::custom)
                }
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ShapeSpec, A::Error> {
                let mut dims = Vec::new();
                while let Some(d) = seq.next_element::<i64>()? {
                    if d < 1 {
                        return Err(de::Error::custom(format!(
                            "shape dimension {d} is not a positive whole number"
                        )));
                    }
                    dims.push(d.to_string());
                }
                Shape::parse(&dims.join("x")).map(ShapeSpec::Fixed).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(ShapeVisitor)
    }
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
    pub dtype: Option<String>,
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

/// An offset: a number of bytes, or `"header"` for the .npy header's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// A fixed number of bytes.
    Bytes(Bytes),
    /// The length of the dataset's .npy header (128 for the tutorial).
    Header,
}

impl Serialize for OffsetSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OffsetSpec::Header => serializer.serialize_str("header"),
            OffsetSpec::Bytes(n) => serializer.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for OffsetSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OffsetVisitor;
        impl<'de> Visitor<'de> for OffsetVisitor {
            type Value = OffsetSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of bytes (such as 128) or \"header\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<OffsetSpec, E> {
                Ok(OffsetSpec::Bytes(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<OffsetSpec, E> {
                u64::try_from(n).map(OffsetSpec::Bytes).map_err(|_| {
                    E::custom(format!("offset {n} is negative: give a whole number of bytes, or \"header\""))
                })
            }
            fn visit_str<E: de::Error>(self, t: &str) -> Result<OffsetSpec, E> {
                if t == "header" {
                    Ok(OffsetSpec::Header)
                } else {
                    Err(E::custom(format!("offset '{t}' is neither a number of bytes nor \"header\"")))
                }
            }
        }
        deserializer.deserialize_any(OffsetVisitor)
    }
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

/// `access = "full_pass"` or `access = { pattern = "random_batches", batch_size = 32 }`.
fn access_from_str_or_table<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AccessSpec, D::Error> {
    struct AccessVisitor;
    impl<'de> Visitor<'de> for AccessVisitor {
        type Value = AccessSpec;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a pattern name (none, first, full_pass) or a table with `pattern = ...`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<AccessSpec, E> {
            match v {
                "none" => Ok(AccessSpec::None),
                "first" => Ok(AccessSpec::First),
                "full_pass" => Ok(AccessSpec::FullPass),
                other => Err(E::custom(format!(
                    "unknown access pattern '{other}': use none, first or full_pass, or a table for first_n, channel and random_batches"
                ))),
            }
        }
        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<AccessSpec, M::Error> {
            AccessSpec::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(AccessVisitor)
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
    #[serde(default = "default_access", deserialize_with = "access_from_str_or_table")]
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

fn default_group() -> String {
    "tutorial".to_owned()
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
    /// Parses and checks one spec file's text; errors name `path`, line and column.
    pub fn parse(text: &str, path: &Path) -> Result<ExperimentSpec> {
        let spec: ExperimentSpec = toml::from_str(text)
            .map_err(|e| input(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
        spec.validate()
            .map_err(|why| input(format!("{}: experiment '{}': {why}", path.display(), spec.id)))?;
        Ok(spec)
    }

    /// Checks what TOML's types cannot: the id, the dtype, and options that fit the method.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err("id must be letters, digits, '_' or '-' (it names files and table rows)".to_owned());
        }
        if self.cache.is_empty() {
            return Err("cache lists no state: give [\"warm\"], [\"cold\"] or both".to_owned());
        }
        let o = &self.open;
        if (o.method == Method::Library) != self.file.format().is_some() {
            return Err(format!(
                "method = \"library\" goes with the files of other formats (npz_stored, npz_deflated, safetensors, arrow_ipc, arrow_ipc_lz4), and only it opens them; file = {:?} with method {:?} does not fit",
                self.file, o.method
            ));
        }
        if o.method == Method::Library && (o.populate || o.advice.is_some()) {
            return Err(
                "populate and advice apply to np.load and np.memmap, not to method = \"library\"".to_owned()
            );
        }
        if o.method != Method::Memmap && o.method != Method::Library {
            let extra: Vec<&str> = [
                ("dtype", o.dtype.is_some()),
                ("offset", o.offset.is_some()),
                ("shape", o.shape.is_some()),
                ("order", o.order.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
            if !extra.is_empty() {
                return Err(format!(
                    "[open] {} apply to method = \"memmap\" only; {:?} reads them from the .npy header",
                    extra.join(", "),
                    o.method
                ));
            }
            if !self.file.has_header() {
                return Err(format!(
                    "method {:?} reads a .npy header, but file = {:?} has none; use method = \"memmap\" with dtype and shape",
                    o.method, self.file
                ));
            }
        }
        if o.method == Method::Load && (o.populate || o.advice.is_some()) {
            return Err("populate and advice apply to mappings, not to method = \"load\"".to_owned());
        }
        if let Some(d) = &o.dtype {
            if d != "dataset" {
                Dtype::parse(d).map_err(|e| format!("[open] dtype: {e}"))?;
            }
        }
        if o.mode == Mode::RPlus && (o.method != Method::Memmap || !self.file.is_scratch()) {
            return Err(
                "mode = \"r+\" opens the file for writing: it is allowed only with method = \"memmap\" on a scratch copy (file = \"npy_copy\" or \"raw_copy\")"
                    .to_owned(),
            );
        }
        if let AccessSpec::ShrinkThenPass { keep_percent } = self.access {
            if !self.file.is_scratch() {
                return Err("shrink_then_pass truncates its file: use it on a scratch copy (file = \"npy_copy\" or \"raw_copy\")".to_owned());
            }
            if keep_percent >= 100 {
                return Err(format!(
                    "keep_percent = {keep_percent}: give the percent of the file kept, 0 to 99"
                ));
            }
        }
        if let Some(workers) = &self.workers {
            if workers.is_empty() || workers.iter().any(|&k| k == 0 || k > 64) {
                return Err("workers must list counts between 1 and 64, e.g. [1, 2, 4]".to_owned());
            }
            if self.access != AccessSpec::FullPass {
                return Err(
                    "a sharing experiment (workers = [...]) reads with access = \"full_pass\"".to_owned()
                );
            }
        }
        match self.access {
            AccessSpec::RandomBatches { batch_size: 0, .. } => {
                Err("batch_size must be at least 1".to_owned())
            }
            AccessSpec::FirstN { samples: 0, .. } => Err("samples must be at least 1".to_owned()),
            AccessSpec::TrackedPass { points: 0 } => Err("points must be at least 1".to_owned()),
            AccessSpec::RandomElements { count: 0, .. } => Err("count must be at least 1".to_owned()),
            _ => Ok(()),
        }
    }

    /// The `np.memmap` options this spec resolves to for `dataset` (memmap only).
    pub fn memmap_options(&self, dataset: &DatasetSpec, npy_header_bytes: Bytes) -> MemmapOptions {
        let o = &self.open;
        let dtype = match o.dtype.as_deref() {
            None => Dtype::U1,
            Some("dataset") => dataset.dtype,
            Some(d) => Dtype::parse(d).unwrap_or(Dtype::U1),
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

/// Reads one spec file.
pub fn load_file(path: &Path) -> Result<LoadedSpec> {
    let text = crate::assets::read_input_text(path, "the experiment spec", "check the path")?;
    Ok(LoadedSpec { spec: ExperimentSpec::parse(&text, path)?, path: path.to_owned() })
}

/// Reads every `*.toml` directly in `dir`, in file-name order, and checks that ids are unique.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedSpec>> {
    let paths = crate::assets::files_in(dir, "toml").map_err(|e| {
        input(format!("{}: cannot read the experiments folder: {e}; pass --experiments DIR", dir.display()))
    })?;
    let specs = paths.iter().map(|p| load_file(p)).collect::<Result<Vec<_>>>()?;
    check_unique(&specs)?;
    Ok(specs)
}

/// Loads each argument as a spec file, or, when no such file exists and it looks like an
/// id, as the experiment of that id in `dir`.
pub fn resolve(args: &[PathBuf], dir: &Path) -> Result<Vec<LoadedSpec>> {
    let mut known: Option<Vec<LoadedSpec>> = None;
    let mut specs = Vec::with_capacity(args.len());
    for arg in args {
        let as_id = arg.to_str().filter(|s| !s.contains('/') && !s.ends_with(".toml") && !arg.exists());
        let Some(id) = as_id else {
            specs.push(load_file(arg)?);
            continue;
        };
        if known.is_none() {
            known = Some(load_dir(dir)?);
        }
        let all = known.as_deref().unwrap_or_default();
        match all.iter().find(|s| s.spec.id == id) {
            Some(found) => specs.push(found.clone()),
            None => {
                let ids: Vec<&str> = all.iter().map(|s| s.spec.id.as_str()).collect();
                return Err(input(format!(
                    "unknown experiment '{id}': it is neither a spec file nor an experiment id in {}; known ids: {}",
                    dir.display(),
                    ids.join(", ")
                )));
            }
        }
    }
    Ok(specs)
}

/// Refuses two specs with the same id, naming both files.
pub fn check_unique(specs: &[LoadedSpec]) -> Result<()> {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for s in specs {
        if let Some(first) = seen.insert(&s.spec.id, &s.path) {
            return Err(input(format!(
                "duplicate experiment id '{}' in {} and {}; give each experiment its own id",
                s.spec.id,
                first.display(),
                s.path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
