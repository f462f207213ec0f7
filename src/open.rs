//! The ways to open an array, modelled on NumPy's API so the code reads like the tutorial:
//!
//! | NumPy | mmap-lab |
//! |---|---|
//! | `np.load(path)` | [`load`]: read it all into memory |
//! | `np.load(path, mmap_mode='r')` | [`load_mmap`]: parse the header, map the data at its offset |
//! | `np.memmap(path, dtype, mode='r', offset, shape)` | [`memmap`] with [`MemmapOptions`] |
//!
//! Every mapping is read-only. `np.memmap`'s checks come first, with NumPy's own messages,
//! because memmap2 does not compare the length asked for with the file's: reading past the
//! end of a file through a mapping is a SIGBUS, so it must never be asked for.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use memmap2::MmapOptions;
use serde::{Deserialize, Serialize};

use crate::dtype::Dtype;
use crate::npy::{self, NpyHeader};
use crate::shape::Shape;
use crate::units::Bytes;

mod array;

use self::array::Data;
pub use self::array::{Array, HeldBytes};
pub use crate::error::open::{OpenError, OpenErrorKind};

/// Memory order of a multi-dimensional array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Order {
    /// Row-major, last index fastest (NumPy's default).
    #[default]
    C,
    /// Column-major, first index fastest.
    F,
}

impl Order {
    /// NumPy's letter for it: `C` or `F` (as in `order='F'`).
    pub fn letter(self) -> &'static str {
        match self {
            Order::C => "C",
            Order::F => "F",
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.letter())
    }
}

/// `np.memmap`'s parameters (mode is always `'r'`), with NumPy's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemmapOptions {
    /// Element type; NumPy's default is `uint8`.
    pub dtype: Dtype,
    /// Where the data starts in the file; default 0.
    pub offset: Bytes,
    /// Shape; `None` means 1-D over all bytes after the offset.
    pub shape: Option<Shape>,
    /// Memory order of the shape.
    pub order: Order,
}

impl Default for MemmapOptions {
    fn default() -> Self {
        MemmapOptions { dtype: Dtype::U1, offset: 0, shape: None, order: Order::C }
    }
}

/// memmap2's advice, as a step may ask for it (`madvise` after mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// `MADV_NORMAL`: the kernel's default read-ahead.
    Normal,
    /// `MADV_SEQUENTIAL`: aggressive read-ahead, pages freed early.
    Sequential,
    /// `MADV_RANDOM`: no read-ahead, no fault-around.
    Random,
    /// `MADV_WILLNEED`: start reading the whole range now.
    WillNeed,
    /// `MADV_HUGEPAGE`: allow huge pages for the range.
    HugePage,
    /// `MADV_NOHUGEPAGE`: refuse huge pages for the range.
    NoHugePage,
}

impl Advice {
    /// The name of the same advice in Python's `mmap` module (`MADV_RANDOM`).
    pub fn python(self) -> &'static str {
        match self {
            Advice::Normal => "MADV_NORMAL",
            Advice::Sequential => "MADV_SEQUENTIAL",
            Advice::Random => "MADV_RANDOM",
            Advice::WillNeed => "MADV_WILLNEED",
            Advice::HugePage => "MADV_HUGEPAGE",
            Advice::NoHugePage => "MADV_NOHUGEPAGE",
        }
    }

    fn to_memmap2(self) -> memmap2::Advice {
        match self {
            Advice::Normal => memmap2::Advice::Normal,
            Advice::Sequential => memmap2::Advice::Sequential,
            Advice::Random => memmap2::Advice::Random,
            Advice::WillNeed => memmap2::Advice::WillNeed,
            Advice::HugePage => memmap2::Advice::HugePage,
            Advice::NoHugePage => memmap2::Advice::NoHugePage,
        }
    }
}

/// How a mapping is made beyond NumPy's parameters: populated at map time, advised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MapPolicy {
    /// `MAP_POPULATE`: fault the whole mapping in at map time.
    #[serde(default)]
    pub populate: bool,
    /// `madvise` right after mapping.
    #[serde(default)]
    pub advice: Option<Advice>,
}

fn err(path: &Path, kind: OpenErrorKind) -> OpenError {
    OpenError { path: path.to_owned(), kind }
}

fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> OpenError + 'a {
    move |source| err(path, OpenErrorKind::Io { action, source })
}

/// Opens `path` for reading and returns it with its length, refusing folders.
fn open_file(path: &Path) -> Result<(File, Bytes), OpenError> {
    match crate::fsio::open_input(path) {
        Ok((file, meta)) => Ok((file, meta.len())),
        Err(crate::fsio::InputFileError::Io(e)) => Err(io(path, "open the file")(e)),
        Err(crate::fsio::InputFileError::NotRegular(kind)) => Err(err(path, OpenErrorKind::NotAFile(kind))),
    }
}

/// Reads and parses the .npy header of `path`. Returns it with the file's length.
pub fn read_header(path: &Path) -> Result<(NpyHeader, Bytes), OpenError> {
    let (file, len) = open_file(path)?;
    read_header_from(path, &file, len).map(|h| (h, len))
}

fn read_header_from(path: &Path, mut file: &File, len: Bytes) -> Result<NpyHeader, OpenError> {
    // One read takes the fixed prefix and, for any usual header, all of the header with it:
    // each system call counts when opening takes microseconds.
    let mut first = [0u8; FIRST_READ];
    let first_len = (len as usize).min(FIRST_READ);
    let got = read_up_to(&mut file, &mut first[..first_len]).map_err(io(path, "read the header"))?;
    let fixed = npy::prefix_len(&first[..got]).map_err(|e| err(path, e.into()))?;
    let header_len = npy::declared_header_len(&first[..got]).map_err(|e| err(path, e.into()))?;
    let want = (fixed as u64 + header_len.min(npy::MAX_HEADER_BYTES)).min(len) as usize;
    let mut bytes = first[..got.min(want)].to_vec();
    if want > bytes.len() {
        let start = bytes.len();
        bytes.resize(want, 0);
        let more = read_up_to(&mut file, &mut bytes[start..]).map_err(io(path, "read the header"))?;
        bytes.truncate(start + more);
    }
    npy::parse_header(&bytes, len).map_err(|e| err(path, e.into()))
}

/// Bytes read at once from the start of a .npy file: the prefix and a header of usual size.
const FIRST_READ: usize = 4096;

fn read_up_to(file: &mut &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The dtype, data offset and byte count of a .npy file, checked against its length.
fn checked_layout(path: &Path, header: &NpyHeader, len: Bytes) -> Result<(Dtype, Bytes), OpenError> {
    let dtype =
        header.dtype.ok_or_else(|| err(path, OpenErrorKind::UnsupportedDtype(header.descr.clone())))?;
    let expected = header.shape.nbytes(dtype);
    let found = len.saturating_sub(header.data_offset);
    if found < expected {
        return Err(err(
            path,
            OpenErrorKind::Truncated {
                shape: header.shape.python(),
                dtype,
                offset: header.data_offset,
                expected,
                found,
            },
        ));
    }
    Ok((dtype, expected))
}

/// `np.load(path)`: reads the whole array into memory, one piece per core at once.
pub fn load(path: &Path) -> Result<Array, OpenError> {
    load_with_readers(path, None)
}

/// [`load`] with `readers` positioned reads at once (`None`: one per core, up to four, for
/// arrays of at least [`LOAD_PIECE_MIN`] per reader). The benches compare the two.
pub fn load_with_readers(path: &Path, readers: Option<usize>) -> Result<Array, OpenError> {
    let (file, len) = open_file(path)?;
    let header = read_header_from(path, &file, len)?;
    let (dtype, nbytes) = checked_layout(path, &header, len)?;
    let order = if header.fortran_order { Order::F } else { Order::C };
    if nbytes == 0 {
        return Ok(Array { data: Data::Empty, dtype, shape: header.shape, order });
    }
    let n = nbytes as usize;
    let mut words =
        zeroed_words(n.div_ceil(8)).ok_or_else(|| err(path, OpenErrorKind::OutOfMemory { bytes: nbytes }))?;
    // Huge pages for the array, as NumPy's allocator asks for them (about 700 faults instead
    // of 337,669 for the full-size array); the global allocator of `main` does it too, this
    // covers library users without it.
    crate::alloc::advise(words.as_mut_ptr().cast(), std::mem::size_of_val(words.as_slice()));
    let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..n];
    // Positioned reads straight into the buffer (no seek, no second copy), one piece per
    // core at once: the kernel copies the page cache into each piece, faulting its pages in
    // as it goes.
    read_in_pieces(&file, bytes, header.data_offset, readers.unwrap_or_else(|| load_readers(n)))
        .map_err(io(path, "read the data"))?;
    Ok(Array { data: Data::Owned(words, n), dtype, shape: header.shape, order })
}

/// Bytes each reader of [`load`] gets at least: below this one reader does it all.
pub const LOAD_PIECE_MIN: usize = 64 << 20;

/// How many readers [`load`] uses for `n` bytes: one per whole [`LOAD_PIECE_MIN`] in them,
/// at least one and at most one per core (up to four, `cache::pieces_at_once`, as the page
/// cache fills count them).
pub(crate) fn load_readers(n: usize) -> usize {
    crate::cache::pieces_at_once().min(n / LOAD_PIECE_MIN).max(1)
}

/// Boundary of the pieces of [`read_in_pieces`]: the 2 MiB of a huge page, so that no two
/// readers fault in the same one.
const PIECE_ALIGN: usize = 2 << 20;

/// Fills `buf` from `file` at `offset` with `readers` positioned reads at once, each into its
/// own piece of `buf` (pieces cut at [`PIECE_ALIGN`] addresses). The first error wins.
///
/// Why pieces: reading the page cache into fresh memory is the work of the CPU that copies
/// and of the host that backs the memory it faults in, and both go faster from two vCPUs
/// than from one, as the page cache fills of `cache::warm` do. Measured on the project's VM
/// (`npy_load` warm, 1.38 GB, paired rounds): one reader opened in 346-705 ms, two in
/// 177-220 ms, NumPy's `np.fromfile` (one `fread`) in 341-353 ms at its best. Cold, the
/// disk is the limit whatever the count: two streams took 746-778 ms, NumPy's one 745-773 ms.
pub(crate) fn read_in_pieces(
    file: &File,
    buf: &mut [u8],
    offset: u64,
    readers: usize,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    if readers <= 1 || buf.len() < 2 * PIECE_ALIGN {
        return file.read_exact_at(buf, offset);
    }
    let base = buf.as_ptr() as usize;
    let len = buf.len();
    // Cut `k`: the first PIECE_ALIGN address at or past k/readers of the buffer.
    let cut = |k: usize| {
        if k >= readers {
            return len;
        }
        let at = base + len / readers * k;
        (at.next_multiple_of(PIECE_ALIGN) - base).min(len)
    };
    std::thread::scope(|scope| {
        let mut rest = buf;
        let mut start = 0usize;
        let mut jobs = Vec::with_capacity(readers);
        for k in 1..=readers {
            let end = cut(k).max(start);
            let (piece, tail) = rest.split_at_mut(end - start);
            rest = tail;
            let at = offset + start as u64;
            jobs.push(scope.spawn(move || file.read_exact_at(piece, at)));
            start = end;
        }
        jobs.into_iter()
            .try_for_each(|job| job.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// `n` zeroed words, or `None` when the allocator refuses (instead of aborting the process).
///
/// Zeroed allocations of this size come straight from the kernel as untouched pages, so
/// memory is only committed as the read fills it, like the array `np.fromfile` allocates
/// and reads into (what `np.load` does with a file).
fn zeroed_words(n: usize) -> Option<Vec<u64>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u64>(n).ok()?;
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<u64>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[u64; n]`,
    // and all n zeroed words are initialised u64 values: what `from_raw_parts` requires.
    Some(unsafe { Vec::from_raw_parts(ptr, n, n) })
}

/// `np.load(path, mmap_mode='r')`: parses the header, then maps the data at its offset.
pub fn load_mmap(path: &Path) -> Result<Array, OpenError> {
    load_mmap_with(path, MapPolicy::default())
}

/// [`load_mmap`] with a mapping policy (populate, advice).
pub fn load_mmap_with(path: &Path, policy: MapPolicy) -> Result<Array, OpenError> {
    let (file, len) = open_file(path)?;
    let header = read_header_from(path, &file, len)?;
    let (dtype, nbytes) = checked_layout(path, &header, len)?;
    let order = if header.fortran_order { Order::F } else { Order::C };
    let data = map(path, &file, header.data_offset, nbytes, policy)?;
    Ok(Array { data, dtype, shape: header.shape, order })
}

/// `np.memmap(path, dtype=..., mode='r', offset=..., shape=...)`, with NumPy's checks.
pub fn memmap(path: &Path, options: &MemmapOptions) -> Result<Array, OpenError> {
    memmap_with(path, options, MapPolicy::default())
}

/// [`memmap`] with a mapping policy (populate, advice).
pub fn memmap_with(path: &Path, options: &MemmapOptions, policy: MapPolicy) -> Result<Array, OpenError> {
    let (file, len) = open_file(path)?;
    let MemmapOptions { dtype, offset, ref shape, order } = *options;
    if len == 0 {
        return Err(err(path, OpenErrorKind::EmptyFile));
    }
    let shape = match shape {
        Some(shape) => {
            let needed = shape.checked_nbytes(dtype).and_then(|n| n.checked_add(offset)).unwrap_or(u64::MAX);
            if needed > len {
                return Err(err(
                    path,
                    OpenErrorKind::LengthBeyondFile {
                        shape: shape.python(),
                        dtype,
                        offset,
                        needed,
                        file_len: len,
                    },
                ));
            }
            shape.clone()
        }
        None => {
            if offset > len {
                return Err(err(path, OpenErrorKind::OffsetBeyondFile { offset, file_len: len }));
            }
            let available = len - offset;
            if available % dtype.itemsize() != 0 {
                return Err(err(path, OpenErrorKind::NotMultiple { available, dtype, offset }));
            }
            Shape(vec![(available / dtype.itemsize()) as usize])
        }
    };
    let data = map(path, &file, offset, shape.nbytes(dtype), policy)?;
    Ok(Array { data, dtype, shape, order })
}

/// `np.memmap(path, mode='r+', ...)`: NumPy's default mode, read and write.
///
/// As NumPy does, a file shorter than the shape asks for is silently grown (a zero byte
/// written at the new end) before it is mapped. mmap-lab calls this only on scratch
/// copies, never on the dataset's own files.
pub fn memmap_rplus(path: &Path, options: &MemmapOptions) -> Result<Array, OpenError> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(path, "open the file for reading and writing"))?;
    let len = file.metadata().map_err(io(path, "read the file's size"))?.len();
    let MemmapOptions { dtype, offset, ref shape, order } = *options;
    let shape = match shape {
        Some(shape) => {
            let needed = shape.checked_nbytes(dtype).and_then(|n| n.checked_add(offset)).unwrap_or(u64::MAX);
            if needed > len {
                file.write_all_at(&[0], needed - 1).map_err(io(path, "grow the file (mode r+)"))?;
            }
            shape.clone()
        }
        None => {
            if len == 0 {
                return Err(err(path, OpenErrorKind::EmptyFile));
            }
            let available = len.saturating_sub(offset);
            if available % dtype.itemsize() != 0 {
                return Err(err(path, OpenErrorKind::NotMultiple { available, dtype, offset }));
            }
            Shape(vec![(available / dtype.itemsize()) as usize])
        }
    };
    let nbytes = shape.nbytes(dtype);
    if nbytes == 0 {
        return Ok(Array { data: Data::Empty, dtype, shape, order });
    }
    // SAFETY: the file was grown above to hold offset + nbytes, so the mapping lies within
    // it; it is a scratch copy that only this step uses.
    let map = unsafe { MmapOptions::new().offset(offset).len(nbytes as usize).map_mut(&file) }
        .map_err(io(path, "map the file read-write"))?;
    Ok(Array { data: Data::MappedMut(map), dtype, shape, order })
}

/// Maps `len` bytes of `file` from `offset`, which the caller has checked lie in the file.
fn map(path: &Path, file: &File, offset: Bytes, len: Bytes, policy: MapPolicy) -> Result<Data, OpenError> {
    if len == 0 {
        return Ok(Data::Empty);
    }
    let mut options = MmapOptions::new();
    options.offset(offset).len(len as usize);
    if policy.populate {
        options.populate();
    }
    // SAFETY: the mapping is read-only and the caller checked that offset + len lies within
    // the file. Another process may still truncate or write the file while it is mapped;
    // mmap-lab runs each step in a child process so that the SIGBUS of a truncation ends
    // that step only, and the runner reports it.
    let map = unsafe { options.map(file) }.map_err(io(path, "map the file"))?;
    if let Some(advice) = policy.advice {
        map.advise(advice.to_memmap2()).map_err(io(path, "advise the mapping (madvise)"))?;
    }
    Ok(Data::Mapped(map))
}

#[cfg(test)]
mod tests;
