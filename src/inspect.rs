//! `mmap-lab inspect FILE`: what a .npy file holds, byte by byte, and the exact call that
//! maps it — in NumPy and in Rust. With `--dtype` (and `--shape`, `--offset`) the file is
//! taken as raw bytes (`X.tofile`), and inspect checks that its size fits.
//!
//! Reading goes through [`crate::open`]: [`open::read_header`] for the header's fields,
//! [`open::load_mmap`] and [`open::memmap`] for NumPy's size checks, so inspect refuses
//! exactly what a step would, with the same messages.

pub mod container;
pub mod descr;
pub mod npz;
pub mod safetensors;
mod text;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::dtype::Dtype;
use crate::npy::{self, NpyHeader};
use crate::open::{self, MemmapOptions, OpenError, OpenErrorKind, Order};
use crate::shape::Shape;
use crate::units::Bytes;

pub use self::text::render as render_text;

/// A .npz or safetensors file inspected; `None` when `path` is neither (a .npy, raw bytes).
pub fn inspect_container(path: &Path) -> anyhow::Result<Option<container::ContainerReport>> {
    match container::sniff(path) {
        Some("npz") => npz::inspect(path).map(Some),
        Some(_) => safetensors::inspect(path).map(Some),
        None => Ok(None),
    }
}

/// How to read a file that has no header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLayout {
    /// Element type.
    pub dtype: Dtype,
    /// Shape; `None` means 1-D over every byte after the offset, as `np.memmap` does.
    pub shape: Option<Shape>,
    /// Bytes before the data.
    pub offset: Bytes,
}

/// The fixed part of a .npy header, shown byte by byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NpyPrefix {
    /// The magic string as Python writes it: `\x93NUMPY`.
    pub magic: String,
    /// The six magic bytes.
    pub magic_bytes: Vec<u8>,
    /// Format version, `1.0`.
    pub version: String,
    /// The two version bytes.
    pub version_bytes: [u8; 2],
    /// The header length field's value: bytes of dict text, padding and newline.
    pub header_len: Bytes,
    /// Width of the length field: 2 bytes in version 1.0, 4 in 2.0 and 3.0.
    pub length_field_bytes: u64,
    /// The header dict as stored (padding trimmed).
    pub header: String,
}

/// How `inspect` reads a file that holds one array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArrayFileKind {
    /// A .npy file: its header says what it holds.
    Npy,
    /// Raw bytes, read as `--dtype`, `--shape` and `--offset` say.
    Raw,
}

/// Everything inspect found out about a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectReport {
    /// The file, as given.
    pub path: PathBuf,
    /// What the file is read as.
    pub kind: ArrayFileKind,
    /// Size of the file.
    pub file_bytes: Bytes,
    /// The .npy header's fixed part and dict (npy only).
    pub npy: Option<NpyPrefix>,
    /// The dtype as NumPy writes it: `<f8`, `|u1`, or a structured description.
    pub descr: String,
    /// NumPy's name for it (`float64`), when mmap-lab reads this dtype.
    pub dtype_name: Option<String>,
    /// Bytes per element, when known.
    pub itemsize: Option<u64>,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// `C` (row-major) or `F` (column-major, Fortran order).
    pub order: Order,
    /// Where the data starts.
    pub data_offset: Bytes,
    /// Bytes of data the shape and dtype call for, when the dtype is known.
    pub expected_data_bytes: Option<Bytes>,
    /// Bytes in the file after the offset.
    pub actual_data_bytes: Bytes,
    /// Bytes after the data that nothing describes.
    pub extra_bytes: Bytes,
    /// The `np.memmap` call that maps the array correctly (when mmap-lab knows the dtype).
    pub numpy_call: Option<String>,
    /// The simpler NumPy call, for a .npy: `np.load(path, mmap_mode='r')`.
    pub numpy_load_call: Option<String>,
    /// The mmap-lab call that maps it like `numpy_call`.
    pub rust_call: Option<String>,
    /// The simpler mmap-lab call, for a .npy: `open::load_mmap`.
    pub rust_load_call: Option<String>,
    /// Things to know before mapping it.
    pub warnings: Vec<String>,
}

/// The warning every inspection carries: `np.memmap` writes unless told not to.
pub const MODE_WARNING: &str = "np.memmap's default mode is 'r+', not 'r': without mode='r' it opens the file for writing, \
     and when the shape asks for more bytes than the file has, it silently grows the file (appending zeros) \
     instead of failing. Always pass mode='r' to read.";

/// Inspects `path`: as a .npy file, or as raw bytes laid out as `raw` says.
pub fn inspect(path: &Path, raw: Option<&RawLayout>) -> Result<InspectReport> {
    match raw {
        None => inspect_npy(path),
        Some(layout) => inspect_raw(path, layout),
    }
}

fn inspect_npy(path: &Path) -> Result<InspectReport> {
    let (header, file_bytes) = open::read_header(path).map_err(with_fix)?;
    if header.dtype.is_some() {
        // NumPy's checks, as a step would meet them: a file shorter than its header says.
        open::load_mmap(path).map_err(with_fix)?;
    }
    let order = if header.fortran_order { Order::F } else { Order::C };
    let mut report =
        base(path, ArrayFileKind::Npy, file_bytes, header.data_offset, header.shape.clone(), order);
    report.npy = Some(prefix(&header));
    report.descr.clone_from(&header.descr);
    report.numpy_load_call = Some(format!("np.load({}, mmap_mode='r')", py_str(path)));
    match header.dtype {
        Some(dtype) => {
            describe(&mut report, dtype, Some(&header.shape));
            report.rust_load_call = Some(format!("mmap_lab::open::load_mmap(Path::new({:?}))", lossy(path)));
        }
        None => numpy_only(&mut report, &header)?,
    }
    Ok(report)
}

/// A dtype NumPy reads and mmap-lab does not (complex, strings, records, ...): NumPy's
/// verdict, and for what NumPy maps the exact `np.memmap` call that gives what `np.load`
/// gives (the dtype built by `np.lib.format.descr_to_dtype`, as `np.load` builds it).
fn numpy_only(report: &mut InspectReport, header: &NpyHeader) -> Result<()> {
    let path = &report.path;
    let itemsize = match descr::verdict(&header.descr) {
        descr::DescrVerdict::Unknown(why) => {
            return Err(crate::error::input(format!(
                "{}: {why}; NumPy cannot load this file (np.load refuses it), so nothing can map it",
                path.display()
            )));
        }
        descr::DescrVerdict::Unmappable(why) => {
            return Err(crate::error::input(format!(
                "{}: NumPy refuses to map it: np.load(..., mmap_mode='r') raises {why} np.load({}, allow_pickle=True) reads it into memory instead, and only for a file you trust (unpickling can run code)",
                path.display(),
                py_str(path)
            )));
        }
        descr::DescrVerdict::Mappable { itemsize } => itemsize,
    };
    let shape = Shape(report.shape.clone());
    let expected =
        shape.0.iter().try_fold(itemsize, |acc, &d| acc.checked_mul(d as u64)).ok_or_else(|| {
            crate::error::input(format!(
                "{}: the header's shape {} is too large",
                path.display(),
                shape.python()
            ))
        })?;
    if report.actual_data_bytes < expected {
        return Err(crate::error::input(format!(
            "{}: truncated: the header promises {expected} bytes of data after offset {} ({} elements of {itemsize} bytes), the file has {}; np.load refuses it (mmap length is greater than file size)",
            path.display(),
            report.data_offset,
            shape.len(),
            report.actual_data_bytes
        )));
    }
    report.itemsize = Some(itemsize);
    report.expected_data_bytes = Some(expected);
    report.extra_bytes = report.actual_data_bytes - expected;
    let dtype = if header.descr.trim_start().starts_with('[') {
        format!("np.lib.format.descr_to_dtype({})", header.descr)
    } else {
        format!("'{}'", header.descr)
    };
    report.numpy_call = Some(format!(
        "np.memmap({}, dtype={dtype}, mode='r', offset={}, shape={}, order='{}')",
        py_str(path),
        report.data_offset,
        shape.python(),
        report.order
    ));
    report.warnings.push(format!(
        "mmap-lab itself does not read dtype {} (it reads bool, integers, float32 and float64): the np.memmap call is NumPy's, there is no mmap-lab call",
        header.descr
    ));
    Ok(())
}

fn inspect_raw(path: &Path, layout: &RawLayout) -> Result<InspectReport> {
    let options = MemmapOptions {
        dtype: layout.dtype,
        offset: layout.offset,
        shape: layout.shape.clone(),
        order: Order::C,
    };
    // np.memmap's checks, with its messages: empty, offset past the end, too short, not whole elements.
    let array = open::memmap(path, &options).map_err(with_fix)?;
    let file_bytes = std::fs::metadata(path).map_err(|e| with_fix(io_error(path, e)))?.len();
    let mut report =
        base(path, ArrayFileKind::Raw, file_bytes, layout.offset, array.shape().clone(), Order::C);
    report.descr = layout.dtype.descr();
    describe(&mut report, layout.dtype, layout.shape.as_ref());
    if let Ok((header, _)) = open::read_header(path) {
        if layout.offset != header.data_offset {
            report.warnings.push(format!(
                "this file starts with a .npy header ({}): its data starts at byte {}, not {}; inspect it without \
                 --dtype and --shape, or pass --offset {}",
                header.dict, header.data_offset, layout.offset, header.data_offset
            ));
        }
    }
    Ok(report)
}

fn base(
    path: &Path,
    kind: ArrayFileKind,
    file_bytes: Bytes,
    offset: Bytes,
    shape: Shape,
    order: Order,
) -> InspectReport {
    InspectReport {
        path: path.to_owned(),
        kind,
        file_bytes,
        npy: None,
        descr: String::new(),
        dtype_name: None,
        itemsize: None,
        shape: shape.0,
        order,
        data_offset: offset,
        expected_data_bytes: None,
        actual_data_bytes: file_bytes.saturating_sub(offset),
        extra_bytes: 0,
        numpy_call: None,
        numpy_load_call: None,
        rust_call: None,
        rust_load_call: None,
        warnings: vec![MODE_WARNING.to_owned()],
    }
}

/// Fills in what a known dtype allows: sizes, the calls, a warning for trailing bytes.
/// `given_shape` is the shape the call must pass (`None`: 1-D, as np.memmap's default).
fn describe(report: &mut InspectReport, dtype: Dtype, given_shape: Option<&Shape>) {
    let shape = Shape(report.shape.clone());
    let expected = shape.nbytes(dtype);
    report.dtype_name = Some(dtype.name());
    report.itemsize = Some(dtype.itemsize());
    report.expected_data_bytes = Some(expected);
    report.extra_bytes = report.actual_data_bytes.saturating_sub(expected);
    if report.extra_bytes > 0 {
        report.warnings.push(format!(
            "{} bytes after the data are not part of the array: np.load and these calls ignore them; if the file \
             should end with the data, something was appended to it, or the shape is wrong",
            report.extra_bytes
        ));
    }
    let path = &report.path;
    let mut numpy = format!(
        "np.memmap({}, dtype='{}', mode='r', offset={}",
        py_str(path),
        dtype.descr(),
        report.data_offset
    );
    let mut rust_shape = "None".to_owned();
    if let Some(shape) = given_shape {
        numpy.push_str(&format!(", shape={}, order='{}'", shape.python(), report.order));
        let dims: Vec<String> = shape.0.iter().map(ToString::to_string).collect();
        rust_shape = format!("Some(Shape(vec![{}]))", dims.join(", "));
    }
    numpy.push(')');
    report.numpy_call = Some(numpy);
    report.rust_call = Some(format!(
        "mmap_lab::open::memmap(Path::new({:?}), &MemmapOptions {{ dtype: Dtype::parse({:?})?, offset: {}, shape: {rust_shape}, order: Order::{} }})",
        lossy(path),
        dtype.descr(),
        report.data_offset,
        report.order
    ));
}

fn prefix(header: &NpyHeader) -> NpyPrefix {
    NpyPrefix {
        magic: "\\x93NUMPY".to_owned(),
        magic_bytes: npy::MAGIC.to_vec(),
        version: format!("{}.{}", header.version.0, header.version.1),
        version_bytes: [header.version.0, header.version.1],
        header_len: header.header_len,
        length_field_bytes: header.length_field_bytes(),
        header: header.dict.clone(),
    }
}

/// A Python string literal for `path`: single-quoted, backslashes and quotes escaped.
pub fn py_str(path: &Path) -> String {
    format!("'{}'", lossy(path).replace('\\', "\\\\").replace('\'', "\\'"))
}

fn lossy(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn io_error(path: &Path, source: std::io::Error) -> OpenError {
    OpenError { path: path.to_owned(), kind: OpenErrorKind::Io { action: "read the file's size", source } }
}

/// The open error, with the fix for the one kind whose message lacks it.
fn with_fix(error: OpenError) -> anyhow::Error {
    match &error.kind {
        OpenErrorKind::Io { .. } => crate::error::input(format!("{error}; check the path")),
        _ => anyhow::Error::new(error),
    }
}

#[cfg(test)]
mod tests;
