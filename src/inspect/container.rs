//! What `inspect` says about a file that holds arrays inside another format: a `.npz` (a
//! zip of .npy members) or a safetensors file. For each array: where its bytes start,
//! whether they can be mapped, and the exact `np.memmap(...)` call that maps them.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::open::Order;
use crate::units::{Bytes, grouped};

/// A container file and the arrays inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerReport {
    /// The file, as given.
    pub path: PathBuf,
    /// `npz` or `safetensors`.
    pub kind: &'static str,
    /// Size of the file.
    pub file_bytes: Bytes,
    /// safetensors: the JSON header's length (the data starts at 8 + this).
    pub header_bytes: Option<Bytes>,
    /// The arrays, in file order.
    pub entries: Vec<Entry>,
    /// The simple call that reads it, as users write it.
    pub load_call: String,
    /// Things to know.
    pub notes: Vec<String>,
}

/// One array in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The member's or tensor's name.
    pub name: String,
    /// How it is stored: `stored` (uncompressed), `deflated`, ...
    pub storage: String,
    /// Bytes it takes in the file.
    pub stored_bytes: Bytes,
    /// NumPy's dtype text (`<f8`), when known.
    pub descr: Option<String>,
    /// Shape.
    pub shape: Vec<usize>,
    /// Where the first element lies in the file, when the bytes there are the array's.
    pub data_offset: Option<Bytes>,
    /// Whether that offset is a multiple of the element size.
    pub aligned: Option<bool>,
    /// The call that maps it.
    pub numpy_call: Option<String>,
    /// Why it cannot be mapped, and what to do.
    pub refusal: Option<String>,
}

/// What kind of container `path` is, from its first bytes: `None` for anything else (a
/// .npy, raw bytes).
pub fn sniff(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 9];
    // A pipe or device is not sniffed: the .npy path refuses it by name.
    let (mut file, meta) = crate::fsio::open_input(path).ok()?;
    file.read_exact(&mut head).ok()?;
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some("npz");
    }
    let len = u64::from_le_bytes(head[..8].try_into().ok()?);
    (head[8] == b'{' && len + 8 <= meta.len()).then_some("safetensors")
}

/// The `np.memmap` call for an array at `offset` in `path`.
pub fn memmap_call(path: &Path, descr: &str, offset: Bytes, shape: &[usize], order: Order) -> String {
    let shape = crate::shape::Shape(shape.to_vec()).python();
    format!(
        "np.memmap({}, dtype='{descr}', mode='r', offset={offset}, shape={shape}, order='{order}')",
        super::py_str(path)
    )
}

/// Whether `offset` suits elements of `itemsize` bytes.
pub fn aligned(offset: Bytes, itemsize: u64) -> bool {
    itemsize == 0 || offset % itemsize == 0
}

/// The report as text for a terminal.
pub fn render(report: &ContainerReport) -> String {
    let mut out = format!(
        "{}: {} file, {} bytes, {} array{}\n",
        report.path.display(),
        report.kind,
        grouped(report.file_bytes),
        report.entries.len(),
        if report.entries.len() == 1 { "" } else { "s" }
    );
    if let Some(h) = report.header_bytes {
        out.push_str(&format!(
            "  header: 8-byte length, then {} bytes of JSON; data from byte {}\n",
            grouped(h),
            8 + h
        ));
    }
    for e in &report.entries {
        out.push_str(&format!(
            "\n  {}: {} {}, {} ({} bytes in the file)\n",
            e.name,
            e.descr.as_deref().unwrap_or("?"),
            crate::shape::Shape(e.shape.clone()).python(),
            e.storage,
            grouped(e.stored_bytes)
        ));
        if let Some(offset) = e.data_offset {
            let align = match e.aligned {
                Some(true) => "aligned for its dtype",
                Some(false) => "NOT aligned for its dtype: NumPy maps it, but reads each element unaligned",
                None => "",
            };
            out.push_str(&format!("    data at byte {} ({align})\n", grouped(offset)));
        }
        if let Some(call) = &e.numpy_call {
            out.push_str(&format!("    maps with: {call}\n"));
        }
        if let Some(why) = &e.refusal {
            out.push_str(&format!("    {why}\n"));
        }
    }
    out.push_str(&format!("\n  read as users write it: {}\n", report.load_call));
    for note in &report.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}
