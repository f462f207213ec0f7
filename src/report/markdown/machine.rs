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
        (
            "idle page cache paged out",
            m.idle_page_reclaim.clone().unwrap_or_else(|| "not recorded".to_owned()),
        ),
        (
            "free memory handed back to the host",
            m.free_page_reporting.clone().unwrap_or_else(|| "not recorded".to_owned()),
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
    if let Some(reclaim) =
        run.machine.idle_page_reclaim.as_deref().filter(|r| *r != crate::machine::NO_RECLAIMER)
    {
        let _ = writeln!(
            md,
            "This machine runs a reclaimer that drops page cache nobody has read for a while, with \
             no memory pressure ({reclaim}). It can take pages of a file between its warm \
             preparation and the step: each warm preparation reads back the holes it finds, \
             and the run's notes name any step whose warm cache was short all the same.\n"
        );
    }
    if run.machine.free_page_reporting.as_deref().is_some_and(|r| r != crate::machine::NO_REPORTING) {
        let (sides, hit, bytes) = reported_in_sides(run);
        let _ = writeln!(
            md,
            "This machine hands free memory back to its host (free page reporting, a pass two \
             seconds after a free), which backs it again, slowly, at the next write: a cold read \
             or a copy into fresh memory that refills memory a pass has just handed over takes \
             longer, whatever code runs. {}\n",
            if sides == 0 {
                "The kernel does not count what it reported: no side's share is known.".to_owned()
            } else {
                format!(
                    "{hit} of {sides} sides of the paired rounds met a pass, which handed {} back \
                     while they ran; the paired table names it beside a step that is behind.",
                    human_bytes(bytes)
                )
            }
        );
    }
    time_breakdown(md, run);
}

/// Over every paired round's sides whose reported memory was counted: how many sides,
/// how many met a reporting pass, and the memory reported during them.
fn reported_in_sides(run: &Results) -> (usize, usize, crate::units::Bytes) {
    let counted: Vec<crate::units::Bytes> = run
        .steps
        .iter()
        .flat_map(|s| &s.rounds)
        .flat_map(|r| [r.rust.reported_bytes, r.numpy.reported_bytes])
        .flatten()
        .collect();
    (counted.len(), counted.iter().filter(|&&b| b > 0).count(), counted.iter().sum())
}

/// Where the run's wall time went: each stage, then each step's cache preparations, Rust
/// processes and NumPy processes over its rounds, the costliest first.
fn time_breakdown(md: &mut String, run: &Results) {
    if run.run.stages.is_empty() {
        return;
    }
    let stages: Vec<String> = run
        .run
        .stages
        .iter()
        .map(|s| format!("{} {}", s.stage.replace('_', " "), human_nanos(s.ns)))
        .collect();
    let counted: u64 = run.run.stages.iter().map(|s| s.ns).sum();
    let _ = writeln!(
        md,
        "Where the {} went: {}; the rest ({}) is checks before the run and results after it. The report \
         itself is written after results.json.\n",
        human_nanos(run.run.wall_ns),
        stages.join(", "),
        human_nanos(run.run.wall_ns.saturating_sub(counted))
    );
    let mut steps: Vec<_> = run.steps.iter().filter_map(|s| Some((s, s.timing?))).collect();
    if steps.is_empty() {
        return;
    }
    let sum = |f: fn(&crate::results::StepTiming) -> u64| steps.iter().map(|(_, t)| f(t)).sum::<u64>();
    let _ = writeln!(
        md,
        "Over all steps: Rust processes {}, NumPy processes {}, cache preparations {}, scratch copies {}.\n",
        human_nanos(sum(|t| t.rust_ns)),
        human_nanos(sum(|t| t.numpy_ns)),
        human_nanos(sum(|t| t.prepare_ns)),
        human_nanos(sum(|t| t.copy_ns)),
    );
    let (released, backed) = (sum(|t| t.released_bytes), sum(|t| t.backed_bytes));
    if released + backed > 0 {
        let _ = writeln!(
            md,
            "Fresh memory for the steps that copy or load the array: {} of page cache of files no later step \
             reads dropped just before them, {} touched by the run's memory reserve, which lends it to each \
             such step and holds it between them (on a VM that hands free memory back to its host, the first \
             process to touch it otherwise pays for backing it; counted in cache preparation, docs/report.md).\n",
            human_bytes(released),
            human_bytes(backed)
        );
    }
    steps.sort_by_key(|(_, t)| std::cmp::Reverse(t.wall_ns));
    md.push_str("| step | rounds | wall | Rust processes | NumPy processes | cache preparation | copy |\n");
    md.push_str("|---|---|---|---|---|---|---|\n");
    for (s, t) in steps {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            s.key(),
            t.rounds,
            human_nanos(t.wall_ns),
            human_nanos(t.rust_ns),
            human_nanos(t.numpy_ns),
            human_nanos(t.prepare_ns),
            human_nanos(t.copy_ns)
        );
    }
    md.push('\n');
}
