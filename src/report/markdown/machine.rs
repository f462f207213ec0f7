//! The machine and the run: enough to reproduce a result or to explain a difference.

use std::fmt::Write as _;

use crate::results::Results;
use crate::units::{grouped, human_bytes, human_nanos};

/// The rows of the machine-and-run table: (what, value).
pub fn rows(run: &Results) -> Vec<(&'static str, String)> {
    let m = &run.machine;
    let r = &run.run;
    let d = &run.dataset;
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "not readable".to_owned());
    vec![
        ("operating system", m.os.clone()),
        ("kernel", m.kernel.clone()),
        ("CPU", format!("{} ({} logical cores)", m.cpu, m.cores)),
        ("memory", format!("{} (swap {})", human_bytes(m.memory_bytes), human_bytes(m.swap_bytes))),
        ("page size", format!("{} bytes", grouped(m.page_size))),
        ("transparent huge pages", or_unknown(&m.thp_enabled)),
        (
            "read-ahead of the data's disk",
            m.read_ahead_kb.map_or("not readable".to_owned(), |kb| format!("{kb} KiB")),
        ),
        ("file system of the data", or_unknown(&m.filesystem)),
        (
            "page-cache residency measured with",
            m.residency_tool.clone().unwrap_or_else(|| "not recorded".to_owned()),
        ),
        ("host name", if m.hostname.is_empty() { "–".to_owned() } else { m.hostname.clone() }),
        ("started", r.started_at.clone()),
        ("wall time", human_nanos(r.wall_ns)),
        ("mmap-lab version", r.mmap_lab_version.clone()),
        ("command", format!("`{}`", r.command)),
        ("complete", if r.complete { "yes".to_owned() } else { "no: interrupted".to_owned() }),
        ("steps not as their spec expects", r.unexpected_outcomes.to_string()),
        ("peak RSS of the runner (steps run in children)", human_bytes(r.parent_peak_rss_bytes)),
        ("dataset", format!("{} {}, seed {}, xxh3-64 {}", d.shape.python(), d.dtype, d.seed, d.checksum)),
        (
            "dataset files",
            format!(
                "`X_train.npy` {} B, `X_train_raw.rbf` {} B, {}",
                grouped(d.npy_bytes),
                grouped(d.raw_bytes),
                d.provenance
            ),
        ),
    ]
}

/// Writes the machine-and-run section under a heading of level `h`.
pub fn section(md: &mut String, run: &Results, h: &str) {
    let _ = writeln!(md, "{h} The machine and the run\n");
    md.push_str("| | |\n|---|---|\n");
    for (what, value) in rows(run) {
        let _ = writeln!(md, "| {what} | {value} |");
    }
    md.push('\n');
}
