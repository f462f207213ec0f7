//! Which file of the dataset a step opens: the tutorial's two, the scratch copies the
//! fault and write-mode steps make, and the formats group's files.

use serde::{Deserialize, Serialize};

use crate::formats::Format;

/// Which file of the dataset a step opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// `X_train.npy`: header, then data.
    Npy,
    /// `X_train_raw.rbf`: data only.
    Raw,
    /// A copy of the raw bytes of the dataset's first samples (from the .npy's data) written
    /// just before the step in 4 MiB pieces: the page cache then holds large folios.
    RawLargeWrites,
    /// A copy of the raw bytes of the dataset's first samples (from the .npy's data) written
    /// just before the step in 4 KiB pieces: the page cache then holds single pages.
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
            other => other.format().map_or("", Format::file_name),
        }
    }

    /// For a file of another format than .npy and raw: which one.
    pub fn format(self) -> Option<Format> {
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
            // The fault steps' copies hold the raw file's bytes, taken from the .npy past its
            // header: the raw file's page cache is then free to go after the tutorial's raw
            // steps (crate::runner::memory).
            FileKind::NpyCopy | FileKind::RawLargeWrites | FileKind::RawSmallWrites => {
                Some(crate::dataset::NPY_NAME)
            }
            FileKind::RawCopy => Some(crate::dataset::RAW_NAME),
        }
    }

    /// Whether this copy's source starts with a .npy header (skipped when the copy itself
    /// has none, [`FileKind::has_header`]).
    pub fn source_has_header(self) -> bool {
        self.source_name() == Some(crate::dataset::NPY_NAME)
    }

    /// Whether this is one of the fault steps' read-only copies, written just before their
    /// step in pieces of [`FileKind::rewrite_piece`]. They hold the dataset's first samples
    /// ([`crate::formats::subset`]): the lesson is in faults per page, which does not depend
    /// on the length, and two full-size copies cost 6-9 s of page cache a run.
    pub fn is_fault_copy(self) -> bool {
        matches!(self, FileKind::RawLargeWrites | FileKind::RawSmallWrites)
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
