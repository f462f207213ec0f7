//! `peers.csv`: the side-by-side figures in raw units, one row per step with a NumPy peer.

use anyhow::Result;

use super::{Figures, pairs};
use crate::report::Output;
use crate::results::Results;

/// `peers.csv`: one row per step with a NumPy peer, both sides' figures in raw units.
pub struct PeersCsv;

pub(super) const COLUMNS: [&str; 27] = [
    "run",
    "id",
    "cache",
    "agrees",
    "disagreements",
    "rust_status",
    "numpy_status",
    "python_version",
    "numpy_version",
    "numpy_call",
    "rust_open_ns",
    "numpy_open_ns",
    "rust_first_ns",
    "numpy_first_ns",
    "rust_access_ns",
    "numpy_access_ns",
    "rust_rss_after_bytes",
    "numpy_rss_after_bytes",
    "rust_rss_anon_growth_bytes",
    "numpy_rss_anon_growth_bytes",
    "rust_minor_faults",
    "numpy_minor_faults",
    "rust_major_faults",
    "numpy_major_faults",
    "rust_object_bytes",
    "numpy_getsizeof_bytes",
    "numpy_import_ns",
];

impl Output for PeersCsv {
    fn file_name(&self) -> String {
        "peers.csv".to_owned()
    }

    fn render(&self, runs: &[Results]) -> Result<Vec<u8>> {
        let mut csv = COLUMNS.join(",");
        csv.push('\n');
        for (index, run) in runs.iter().enumerate() {
            for (step, numpy) in pairs(run) {
                let (r, n) =
                    (Figures::of(&step.snapshots, step.object_bytes), Figures::of(&numpy.snapshots, None));
                let num = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
                let signed = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
                let fields = [
                    (index + 1).to_string(),
                    step.id.clone(),
                    step.cache.name().to_owned(),
                    numpy.agrees.to_string(),
                    numpy.disagreements.join("; "),
                    step.status.name().to_owned(),
                    numpy.status.name().to_owned(),
                    numpy.python_version.clone(),
                    numpy.numpy_version.clone(),
                    numpy.call.clone(),
                    num(r.open),
                    num(n.open),
                    num(r.first),
                    num(n.first),
                    num(r.access),
                    num(n.access),
                    num(r.rss_after),
                    num(n.rss_after),
                    signed(r.anon_growth),
                    signed(n.anon_growth),
                    num(r.minor_faults),
                    num(n.minor_faults),
                    num(r.major_faults),
                    num(n.major_faults),
                    num(r.object),
                    num(numpy.getsizeof_bytes),
                    num(numpy.import_ns),
                ];
                let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
                csv.push_str(&quoted.join(","));
                csv.push('\n');
            }
        }
        Ok(csv.into_bytes())
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub(super) fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
