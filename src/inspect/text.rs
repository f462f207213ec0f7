//! `inspect`'s text output: the header's fields in a column, then the calls, then warnings.

use std::fmt::Write as _;

use super::InspectReport;
use crate::units::grouped;

/// The report as a student reads it in a terminal.
pub fn render(r: &InspectReport) -> String {
    let mut out = String::new();
    let what = if r.kind == super::ArrayFileKind::Npy { "a .npy file" } else { "raw bytes" };
    let _ = writeln!(out, "{}: {what}, {} bytes\n", r.path.display(), grouped(r.file_bytes));
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "  {name:<15} {value}");
    };
    if let Some(npy) = &r.npy {
        let bytes: Vec<String> = npy.magic_bytes.iter().map(|b| format!("{b:02X}")).collect();
        field("magic", format!("{}  (bytes {})", npy.magic, bytes.join(" ")));
        let [major, minor] = npy.version_bytes;
        field("version", format!("{}  (bytes {major:02X} {minor:02X})", npy.version));
        field(
            "header length",
            format!(
                "{} bytes  (a {}-byte little-endian field after the version)",
                npy.header_len, npy.length_field_bytes
            ),
        );
        field("header", npy.header.clone());
    }
    field(
        "dtype",
        match (&r.dtype_name, r.itemsize) {
            (Some(name), Some(size)) => format!("{}  ({name}, {size} bytes per element)", r.descr),
            _ => format!("{}  (not a dtype mmap-lab reads)", r.descr),
        },
    );
    let elements = r.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    field(
        "shape",
        format!("{}  ({} elements)", python_tuple(&r.shape), elements.map_or("?".to_owned(), grouped)),
    );
    field(
        "order",
        if r.order == crate::open::Order::F { "F (column-major, Fortran order)" } else { "C (row-major)" }
            .to_owned(),
    );
    field(
        "data offset",
        match &r.npy {
            Some(npy) => format!(
                "{}  (6 magic + 2 version + {} length field + {} header)",
                r.data_offset, npy.length_field_bytes, npy.header_len
            ),
            None => r.data_offset.to_string(),
        },
    );
    field(
        "data size",
        match r.expected_data_bytes {
            Some(expected) => format!(
                "{} bytes expected, {} in the file{}",
                grouped(expected),
                grouped(r.actual_data_bytes),
                if r.extra_bytes > 0 {
                    format!(" ({} extra)", grouped(r.extra_bytes))
                } else {
                    String::new()
                }
            ),
            None => format!("{} bytes in the file after the offset", grouped(r.actual_data_bytes)),
        },
    );
    out.push('\n');
    let numpy: Vec<&String> = [&r.numpy_load_call, &r.numpy_call].into_iter().flatten().collect();
    if !numpy.is_empty() {
        out.push_str("Map it in NumPy:\n");
        for call in numpy {
            let _ = writeln!(out, "  {call}");
        }
    }
    let rust: Vec<&String> = [&r.rust_load_call, &r.rust_call].into_iter().flatten().collect();
    if !rust.is_empty() {
        out.push_str("Map it in Rust (mmap-lab):\n");
        for call in rust {
            let _ = writeln!(out, "  {call}");
        }
    }
    for warning in &r.warnings {
        let _ = writeln!(out, "\nWarning: {warning}");
    }
    out
}

fn python_tuple(dims: &[usize]) -> String {
    crate::shape::Shape(dims.to_vec()).python()
}
