//! Why a file could not be opened as [`crate::open`] was asked: the error types of the
//! openers, here among the errors so that [`super::exit_code`] can tell an input mistake
//! without reaching up into the openers.

use std::path::PathBuf;

use crate::dtype::Dtype;
use crate::npy;
use crate::units::{Bytes, grouped};

/// Why a file could not be opened as asked. Always names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct OpenError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: OpenErrorKind,
}

/// The problems [`OpenError`] reports; the NumPy-derived ones start with NumPy's message.
#[derive(Debug, thiserror::Error)]
pub enum OpenErrorKind {
    /// The operating system refused.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The system's error.
        source: std::io::Error,
    },
    /// A folder or device, not a regular file.
    #[error(
        "this is {0}, not a regular file; give the path of a file (a pipe or device could block forever)"
    )]
    NotAFile(&'static str),
    /// `mmap` of a zero-length file.
    #[error("cannot mmap an empty file (the file is 0 bytes long; was it written completely?)")]
    EmptyFile,
    /// The shape asks for more bytes than the file has after the offset.
    #[error(
        "mmap length is greater than file size (shape {shape} of {dtype} at offset {offset} needs {} bytes, the file has {}); pass a shape that fits or check that the file is complete",
        grouped(*.needed), grouped(*.file_len)
    )]
    LengthBeyondFile {
        /// Shape asked for, Python notation.
        shape: String,
        /// Element type asked for.
        dtype: Dtype,
        /// Offset asked for.
        offset: Bytes,
        /// Offset plus data bytes.
        needed: Bytes,
        /// Bytes in the file.
        file_len: Bytes,
    },
    /// Without a shape, the bytes after the offset must be whole elements.
    #[error(
        "Size of available data is not a multiple of the data-type size. ({} bytes after offset {offset} are not whole {dtype} elements of {} bytes); pass another dtype or offset, or a shape",
        grouped(*.available), .dtype.itemsize()
    )]
    NotMultiple {
        /// Bytes after the offset.
        available: Bytes,
        /// Element type asked for.
        dtype: Dtype,
        /// Offset asked for.
        offset: Bytes,
    },
    /// The offset is past the end of the file.
    #[error("mmap offset is greater than file size (offset {} in a file of {} bytes)", grouped(*.offset), grouped(*.file_len))]
    OffsetBeyondFile {
        /// Offset asked for.
        offset: Bytes,
        /// Bytes in the file.
        file_len: Bytes,
    },
    /// The .npy header could not be read.
    #[error("not a .npy file mmap-lab can read: {0}")]
    Npy(#[from] npy::NpyError),
    /// The header names a dtype mmap-lab does not read.
    #[error(
        "the header's dtype '{0}' is not supported: mmap-lab reads bool, integers and float32/float64 (not complex, strings, objects or structured dtypes)"
    )]
    UnsupportedDtype(String),
    /// The array does not fit in memory (`np.load`'s MemoryError).
    #[error(
        "cannot allocate {} bytes to load the array: more than this machine can give (MemoryError in NumPy); map it instead (load_mmap)",
        grouped(*.bytes)
    )]
    OutOfMemory {
        /// Bytes asked for.
        bytes: Bytes,
    },
    /// The header promises more data than the file holds.
    #[error(
        "truncated: the header promises {} bytes of data after offset {offset} (shape {shape} of {dtype}), the file has only {} after it",
        grouped(*.expected), grouped(*.found)
    )]
    Truncated {
        /// Shape in the header.
        shape: String,
        /// Dtype in the header.
        dtype: Dtype,
        /// Data offset.
        offset: Bytes,
        /// Data bytes the header promises.
        expected: Bytes,
        /// Data bytes present.
        found: Bytes,
    },
}
