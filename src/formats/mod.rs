//! The formats training code meets beside .npy and raw: `.npz` (stored and deflated),
//! safetensors and Arrow IPC (uncompressed and LZ4-compressed), each written from the
//! dataset's own bytes and opened the way its own library opens it.
//!
//! | format | written by | opened by (Rust) | maps? |
//! |---|---|---|---|
//! | `.npz` stored | `zip` (like `np.savez`) | `zip::ZipArchive`, member read into memory | no (the zip crate reads; the member could be mapped at its data offset) |
//! | `.npz` deflated | `zip` (like `np.savez_compressed`) | `zip::ZipArchive`, member inflated | no |
//! | safetensors | `safetensors::serialize_to_file` | `SafeTensors::deserialize` over a memmap2 mapping | yes |
//! | Arrow IPC | `arrow_ipc::writer::FileWriter` | `FileDecoder` over a mapped `Buffer` | yes |
//! | Arrow IPC LZ4 | the same, LZ4 frames | the same; a tensor column's LZ4 blocks decoded a block per core (`lz4`) | no |
//!
//! The files hold the dataset's first [`SAMPLES`] samples (all of them in a smaller dataset):
//! whether a format maps or copies does not depend on the array's size, and at full size
//! (1.38 GB) writing the five files took minutes and opening the compressed ones cost a run
//! about a minute of inflate and LZ4 for the same verdicts. The subset is what the generator
//! writes for that many samples (each sample is drawn from the seed and its index), with a
//! checksum of its own ([`subset`]).
//!
//! The files are derived from the dataset's .npy (mapped, so writing never holds the array
//! twice), verified against the subset's checksum through the Rust opener, and recorded in
//! `formats.json` beside the dataset's manifest so a later run reuses them.

pub mod lz4;
mod manifest;
mod read;
pub mod verdict;
mod write;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::DatasetSpec;

pub use self::manifest::{FORMATS_MANIFEST, FormatFile, all_vouched, ensure};
pub use self::read::{Opened, open, open_with_offset};

/// Samples of the dataset the format files hold: its first 400 (138 MB of the full-size
/// float64 pictures), or all of a smaller dataset's.
pub const SAMPLES: u64 = 400;

/// The array the format files of `dataset` hold: its first [`SAMPLES`] samples (the first
/// axis cut; a 1-D array is one sample, kept whole), the same dtype and seed. The generator
/// draws each sample from the seed and its index, so these are the bytes it writes for a
/// dataset of this shape.
pub fn subset(dataset: &DatasetSpec) -> DatasetSpec {
    let mut shape = dataset.shape.clone();
    if shape.0.len() >= 2 {
        shape.0[0] = shape.0[0].min(SAMPLES as usize);
    }
    DatasetSpec { shape, ..dataset.clone() }
}

/// The array's name inside every file: the .npz member `X_train.npy`, the safetensors
/// tensor and the Arrow column `X_train`.
pub const ARRAY_NAME: &str = "X_train";

/// One of the formats beside .npy and raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A zip holding `X_train.npy` uncompressed (`np.savez`).
    NpzStored,
    /// A zip holding `X_train.npy` deflated (`np.savez_compressed`).
    NpzDeflated,
    /// safetensors: 8-byte header length, JSON header, tensor bytes.
    Safetensors,
    /// Arrow IPC file (Feather v2), buffers uncompressed.
    ArrowIpc,
    /// Arrow IPC file, buffers compressed with LZ4 frames.
    ArrowIpcLz4,
}

impl Format {
    /// Every format, in table order.
    pub const ALL: [Format; 5] =
        [Format::NpzStored, Format::NpzDeflated, Format::Safetensors, Format::ArrowIpc, Format::ArrowIpcLz4];

    /// The file's name in the data folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::NpzStored => "X_train_stored.npz",
            Format::NpzDeflated => "X_train_deflated.npz",
            Format::Safetensors => "X_train.safetensors",
            Format::ArrowIpc => "X_train.arrow",
            Format::ArrowIpcLz4 => "X_train_lz4.arrow",
        }
    }

    /// A short name for tables and plots.
    pub fn label(self) -> &'static str {
        match self {
            Format::NpzStored => ".npz stored",
            Format::NpzDeflated => ".npz deflated",
            Format::Safetensors => "safetensors",
            Format::ArrowIpc => "Arrow IPC",
            Format::ArrowIpcLz4 => "Arrow IPC lz4",
        }
    }

    /// Whether the array's bytes are stored compressed (then no mapping can show them).
    pub fn compressed(self) -> bool {
        matches!(self, Format::NpzDeflated | Format::ArrowIpcLz4)
    }

    /// How the Rust step opens it, in words (the step's `open` description).
    pub fn rust_call(self) -> &'static str {
        match self {
            Format::NpzStored | Format::NpzDeflated => "zip::ZipArchive::by_name + read_exact",
            Format::Safetensors => "SafeTensors::deserialize(&mmap)",
            Format::ArrowIpc | Format::ArrowIpcLz4 => "arrow_ipc FileDecoder over a mapped Buffer",
        }
    }

    /// The format a file name has, if it is one of the files this module writes.
    pub fn of_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        Format::ALL.into_iter().find(|f| f.file_name() == name)
    }
}

#[cfg(test)]
mod tests;
