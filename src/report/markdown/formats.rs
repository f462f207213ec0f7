//! The formats section: which of .npz, safetensors and Arrow IPC map, each verdict computed
//! from the step's numbers (and its NumPy peer's), with what opening cost and where the
//! data lies in the file.

use std::fmt::Write as _;

use crate::formats::verdict::{Mapping, Verdict};
use crate::formats::{Format, FormatFile};
use crate::report::plots;
use crate::results::{Results, StepResult};
use crate::units::{grouped, human_bytes, human_nanos};

/// The group of the formats experiments.
pub const GROUP: &str = "formats";

/// Writes the section when the run has formats steps.
pub fn section(md: &mut String, run: &Results, h: &str) {
    let steps: Vec<&StepResult> = crate::report::view::group_steps(run, GROUP).collect();
    if steps.is_empty() {
        return;
    }
    let data = run.dataset.formats_data_bytes();
    let (head, why) = which_array(run);
    let _ = writeln!(md, "{h} Which formats really map\n");
    let _ = writeln!(
        md,
        "{} written as a `.npz` (stored, as `np.savez` writes it, and deflated, \
         as `np.savez_compressed`), a safetensors file and an Arrow IPC file (uncompressed and with LZ4 \
         buffers), each checked equal to {} and opened the way its library opens \
         it. A verdict reads the numbers: **maps** when after the full pass RssAnon grew by less than a \
         tenth of the array and RssFile by nine tenths of it or more, **copies** when RssAnon grew by nine \
         tenths of the array or more. \"Read at open\" is what came into the page cache while opening \
         (cold: read from disk). Formats that copy ran warm only: a copy costs the same either way.\n",
        head,
        if why.is_empty() { "the dataset (its checksum)" } else { "those samples (their checksum)" },
    );
    md.push_str(&why);
    let runs = std::slice::from_ref(run);
    let plot = plots::formats_plot();
    if plot.has_data(runs) {
        let _ = writeln!(md, "![{}]({})\n\n{}\n", plot.title(), plot.file_name(), plot.explanation());
    }
    md.push_str("| format | cache | Rust opens with | = original | verdict | open | read at open | RssAnon at open | RssAnon after pass | RssFile after pass | data offset | aligned | NumPy call | NumPy verdict | NumPy RssAnon at open |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for s in &steps {
        row(md, s, run, data);
    }
    md.push('\n');
    sentences(md, &steps, data);
}

/// The array the files hold, in words (the head of the section's first sentence), and
/// when it is the dataset's first samples, a sentence that says why.
fn which_array(run: &Results) -> (String, String) {
    let d = &run.dataset;
    let shape = d.formats_shape();
    let data = d.formats_data_bytes();
    if shape == &d.shape {
        return (format!("The same array ({} bytes of {})", grouped(data), d.dtype), String::new());
    }
    let head = format!(
        "The dataset's first {} samples (shape {}, {} bytes of {}: what the generator writes for that \
         many samples, with its own checksum `{}`)",
        shape.0.first().copied().unwrap_or(0),
        shape.python(),
        grouped(data),
        d.dtype,
        d.formats_checksum(),
    );
    let why = format!(
        "The formats group reads these samples, {:.0}% of the {} array, not all of it: whether a format \
         maps or copies does not depend on the array's size, and at full size writing the five files took \
         minutes and opening the compressed ones cost a run about a minute of inflate and LZ4 for the same \
         verdicts. Every share of \"the array\" below is of these samples.\n\n",
        100.0 * data as f64 / d.raw_bytes.max(1) as f64,
        human_bytes(d.raw_bytes),
    );
    (head, why)
}

fn file_of(run: &Results, format: Format) -> Option<&FormatFile> {
    run.dataset.formats.iter().find(|f| f.format == format)
}

/// The data offset as the table shows it, and whether it suits the dtype.
fn offset(run: &Results, format: Format) -> (String, String) {
    let item = run.dataset.dtype.itemsize();
    match file_of(run, format) {
        Some(FormatFile { data_offset: Some(o), .. }) => (
            grouped(*o),
            if o % item == 0 {
                format!("yes ({} % {item} = 0)", o)
            } else {
                format!("no ({} % {item} = {})", o, o % item)
            },
        ),
        Some(FormatFile { member_offset: Some(o), .. }) => (
            format!("{} (member data; np.load does not map it)", grouped(*o)),
            if o % item == 0 { "yes".to_owned() } else { format!("no ({} % {item} = {})", o, o % item) },
        ),
        Some(_) => ("– (compressed)".to_owned(), "–".to_owned()),
        None => ("–".to_owned(), "–".to_owned()),
    }
}

fn row(md: &mut String, s: &StepResult, run: &Results, data: u64) {
    let format = s.file.format();
    let label = format.map_or_else(|| s.id.clone(), |f| f.label().to_owned());
    let verdict = Verdict::of(&s.snapshots, data);
    let peer = s.peer.as_ref();
    let peer_verdict = peer.and_then(|p| Verdict::of(&p.snapshots, data));
    let (off, aligned) = format.map_or(("–".to_owned(), "–".to_owned()), |f| offset(run, f));
    let v = |f: fn(&Verdict) -> String| verdict.as_ref().map_or("–".to_owned(), f);
    let _ = writeln!(
        md,
        "| {label} | {} | `{}` | {} | **{}** | {} | {} | {} | {} | {} | {off} | {aligned} | {} | {} | {} |",
        s.cache.name(),
        s.open,
        s.matches_original.map_or("–", |m| if m { "yes" } else { "no" }),
        verdict.map_or(s.status.name(), |v| v.mapping.word()),
        v(|v| human_nanos(v.open_ns)),
        v(|v| human_bytes(v.read_at_open)),
        v(|v| human_bytes(v.anon_at_open)),
        v(|v| human_bytes(v.anon_after_pass)),
        v(|v| human_bytes(v.file_after_pass)),
        peer.map_or("–".to_owned(), |p| format!("`{}`", p.call)),
        match (peer, peer_verdict) {
            (Some(_), Some(v)) => v.mapping.word().to_owned(),
            (Some(p), None) => p.error.clone().unwrap_or_else(|| p.status.name().to_owned()),
            (None, _) => "–".to_owned(),
        },
        peer_verdict.map_or("–".to_owned(), |v| human_bytes(v.anon_at_open)),
    );
}

/// Sentences that follow the table's numbers: which formats mapped, which copied, and
/// where NumPy's library did otherwise than the Rust one.
fn sentences(md: &mut String, steps: &[&StepResult], data: u64) {
    let mut maps = Vec::new();
    let mut copies = Vec::new();
    let mut differ = Vec::new();
    for s in steps.iter().filter(|s| s.cache == crate::cache::CacheState::Warm) {
        let Some(format) = s.file.format() else { continue };
        let Some(v) = Verdict::of(&s.snapshots, data) else { continue };
        match v.mapping {
            Mapping::Maps => maps.push(format.label()),
            Mapping::Copies => copies.push(format.label()),
            Mapping::Unclear => {}
        }
        if let Some(p) = s.peer.as_ref().and_then(|p| Verdict::of(&p.snapshots, data)) {
            if p.mapping != v.mapping {
                differ.push(format!(
                    "{} ({} in Rust, {} with NumPy's library)",
                    format.label(),
                    v.mapping.word(),
                    p.mapping.word()
                ));
            }
        }
    }
    let list = |v: &[&str]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    let _ = writeln!(
        md,
        "Warm, measured: mapped {}; copied into the process's own memory {}.",
        list(&maps),
        list(&copies)
    );
    if !differ.is_empty() {
        let _ =
            writeln!(md, "The Python library did otherwise than the Rust crate for {}.", differ.join("; "));
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A real run of the formats steps at 24x120x120x3, with NumPy peers.
    fn fixture() -> Results {
        serde_json::from_str(include_str!("../../../tests/data/formats-results.json")).unwrap()
    }

    #[test]
    fn the_table_gives_each_format_its_computed_verdict() {
        let run = fixture();
        let mut md = String::new();
        section(&mut md, &run, "##");
        let row = |label: &str, cache: &str| {
            md.lines()
                .find(|l| l.starts_with(&format!("| {label} | {cache} |")))
                .unwrap_or_else(|| panic!("no row {label}/{cache}"))
                .to_owned()
        };
        for (label, verdict) in [
            (".npz stored", "copies"),
            (".npz deflated", "copies"),
            ("safetensors", "maps"),
            ("Arrow IPC", "maps"),
            ("Arrow IPC lz4", "copies"),
        ] {
            assert!(row(label, "warm").contains(&format!("**{verdict}**")), "{}", row(label, "warm"));
        }
        assert!(row("safetensors", "cold").contains("**maps**"));
        // The offsets come from formats.json: the stored member's is not a multiple of 8.
        assert!(row(".npz stored", "warm").contains("(member data; np.load does not map it) | no ("));
        assert!(row("safetensors", "warm").contains("| yes ("));
        // NumPy's safetensors copies where the Rust crate maps, and the text says so.
        assert!(md.contains("for safetensors (maps in Rust, copies with NumPy's library)"), "{md}");
        assert!(md.contains("![Which formats map"));
        insta::assert_snapshot!(md);
    }

    #[test]
    fn a_run_without_formats_steps_has_no_section() {
        let mut run = fixture();
        run.steps.retain(|s| s.group != GROUP);
        let mut md = String::new();
        section(&mut md, &run, "##");
        assert!(md.is_empty());
    }
}
