//! Rust beside NumPy: each step's figures next to its NumPy peer's, with ratios, as a
//! section of `REPORT.md` ([`markdown`]) and as `peers.csv` ([`PeersCsv`]).

mod csv;
mod goals;
mod paired;

use std::fmt::Write as _;

pub use self::csv::PeersCsv;
use self::goals::rounds_headline;
pub use self::goals::{GoalCheck, GoalVerdict, goals};
use self::paired::paired_section;
use crate::probe::{Phase, Snapshot};
use crate::results::{PeerResult, Results, StepResult};
use crate::spec::Status;
use crate::units::{Bytes, Nanos, grouped, human_bytes, human_delta, human_nanos};

/// One side's figures for a step, taken from its snapshots the same way for Rust and NumPy.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Figures {
    open: Option<Nanos>,
    first: Option<Nanos>,
    open_first: Option<Nanos>,
    access: Option<Nanos>,
    rss_after: Option<Bytes>,
    anon_growth: Option<i64>,
    minor_faults: Option<u64>,
    major_faults: Option<u64>,
    object: Option<Bytes>,
}

impl Figures {
    fn of(snapshots: &[Snapshot], object: Option<Bytes>) -> Figures {
        let at = |phase: Phase| snapshots.iter().find(|s| s.phase == phase);
        let span = |from: Phase, to: Phase| Some(at(to)?.elapsed_ns.saturating_sub(at(from)?.elapsed_ns));
        let before = at(Phase::BeforeOpen);
        let after = snapshots.last().filter(|s| s.phase != Phase::BeforeOpen);
        let both = before.zip(after);
        Figures {
            open: span(Phase::BeforeOpen, Phase::AfterOpen),
            first: span(Phase::AfterOpen, Phase::AfterFirst),
            open_first: span(Phase::BeforeOpen, Phase::AfterFirst),
            access: span(Phase::AfterFirst, Phase::AfterAccess),
            rss_after: after.map(|s| s.rss_bytes),
            anon_growth: both.map(|(b, a)| a.rss_anon_bytes as i64 - b.rss_anon_bytes as i64),
            minor_faults: both.map(|(b, a)| a.minor_faults.saturating_sub(b.minor_faults)),
            major_faults: both.map(|(b, a)| a.major_faults.saturating_sub(b.major_faults)),
            object,
        }
    }
}

/// `NumPy ÷ Rust`, as a student reads it: `35×`, `1.3×`.
fn ratio(rust: Option<Nanos>, numpy: Option<Nanos>) -> Option<f64> {
    match (rust, numpy) {
        (Some(r), Some(n)) if r > 0 => Some(n as f64 / r as f64),
        _ => None,
    }
}

fn show_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 10.0 => format!("{r:.0}×"),
        Some(r) => format!("{r:.2}×"),
        None => "–".to_owned(),
    }
}

fn cell<T: Copy>(rust: Option<T>, numpy: Option<T>, show: impl Fn(T) -> String) -> String {
    let side = |v: Option<T>| v.map_or_else(|| "–".to_owned(), &show);
    format!("{} · {}", side(rust), side(numpy))
}

fn time_cell(rust: Option<Nanos>, numpy: Option<Nanos>) -> String {
    format!("{} ({})", cell(rust, numpy, human_nanos), show_ratio(ratio(rust, numpy)))
}

/// ": a snapshot paused it for 1.2 ms (median of N)", from the waits both sides recorded.
fn snapshot_pause(pairs: &[(&StepResult, &PeerResult)]) -> String {
    let waits: Vec<Nanos> = pairs
        .iter()
        .flat_map(|(s, p)| s.snapshots.iter().chain(&p.snapshots))
        .map(|x| x.probe_ns)
        .filter(|&ns| ns > 0)
        .collect();
    match crate::stats::median(&waits) {
        Some(median) => format!(
            " (a snapshot paused it for {}, the median of {} snapshots)",
            human_nanos(median),
            waits.len()
        ),
        None => String::new(),
    }
}

/// The steps that have a NumPy peer, each with it.
fn pairs(run: &Results) -> Vec<(&StepResult, &PeerResult)> {
    run.steps.iter().filter_map(|s| s.peer.as_ref().map(|p| (s, p))).collect()
}

/// The "Rust beside NumPy" section of `REPORT.md` for one run.
pub fn markdown(run: &Results) -> String {
    let mut md = String::from("## Rust beside NumPy\n\n");
    let pairs = pairs(run);
    let Some((_, any)) = pairs.first() else {
        md.push_str(
            "No step ran with a NumPy peer in this run (the notes above say why). To get this section, \
             create the project's Python environment with `just venv` (or give `--python PATH`) and run again.\n\n",
        );
        return md;
    };
    let _ = writeln!(
        md,
        "Every step ran a second time in NumPy itself (`experiments/tutorial.py`; Python {}, NumPy {}), \
         each in {}, after the same cache preparation, and both sides were measured by \
         the same probe: mmap-lab reads each process from outside (`/proc/PID`, and the page cache) at the \
         phases it marks, while the process waits with its clock stopped{}.\n",
        any.python_version,
        any.numpy_version,
        how_started(&pairs),
        snapshot_pause(&pairs)
    );
    agreement(&mut md, run, &pairs);
    match &run.side_by_side {
        Some(side) if side.rust.len() > 1 => rounds_headline(&mut md, side, &pairs),
        _ => headline(&mut md, &pairs),
    }
    md.push_str(
        "Each cell shows Rust · NumPy; times in brackets are NumPy ÷ Rust (above 1: NumPy took longer). \
         One process per step and side, so short times vary from run to run. Times exclude the probes; \
         starting Python and importing NumPy is not counted (it took ",
    );
    let mut imports: Vec<Nanos> = pairs.iter().filter_map(|(_, p)| p.import_ns).collect();
    imports.sort_unstable();
    let _ = write!(md, "{}", imports.get(imports.len() / 2).map_or("–".to_owned(), |&ns| human_nanos(ns)));
    md.push_str(if pairs.iter().all(|(_, p)| p.forked) {
        ", measured once, in the interpreter the peers were forked from"
    } else {
        " per process, median"
    });
    md.push_str(
        "). Faults are counted from the step's start to its last phase; RSS is the whole \
         process's. This table shows each step's first round, where the Rust step ran first, then NumPy's \
         (the paired rounds above take turns). Both `np.load` and mmap-lab's `load` ask for \
         transparent huge pages for the array (`MADV_HUGEPAGE`); when memory is fragmented, the first of the \
         two to allocate pays for the kernel's compaction, which can take seconds on this VM, and leaves the \
         other 2 MiB pages ready: compare `load` times over several runs, not one.\n\n",
    );
    paired_section(&mut md, run);
    md.push_str("| step | cache | agrees | open | first element | open + first | full pass | RSS after | RssAnon growth | minor / major faults | object size (size_of_val · sys.getsizeof) |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (step, numpy) in &pairs {
        row(&mut md, step, numpy);
    }
    md.push('\n');
    getsizeof_note(&mut md, &pairs);
    md
}

/// How the peers' processes were started, for the section's first sentence.
fn how_started(pairs: &[(&StepResult, &PeerResult)]) -> String {
    let forked = pairs.iter().filter(|(_, p)| p.forked).count();
    let fork = "forked from one interpreter that had imported NumPy (its own PID, fault counters and \
                streams; the pages it shares with that interpreter made its own and its code paged in \
                before its baseline, so that no copy-on-write fault falls in a measured phase)";
    match forked {
        0 => "a fresh Python process".to_owned(),
        n if n == pairs.len() => format!("a Python process of its own, {fork}"),
        n => format!("a Python process of its own ({n} of them {fork}; the others fresh interpreters)"),
    }
}

fn agreement(md: &mut String, run: &Results, pairs: &[(&StepResult, &PeerResult)]) {
    let disagreeing: Vec<_> = pairs.iter().filter(|(_, p)| !p.agrees).collect();
    if disagreeing.is_empty() {
        let _ = writeln!(
            md,
            "**All {} steps with a NumPy peer agree** with the Rust steps: the same outcome, and for every \
             array opened, the same shape, dtype and first {} values, the same number of elements read and, \
             where the values are the dataset's own, the same sum up to rounding.{}\n",
            pairs.len(),
            crate::step::FIRST_VALUES,
            if pairs.len() < run.steps.len() {
                format!(" {} steps have no NumPy equivalent (see the notes).", run.steps.len() - pairs.len())
            } else {
                String::new()
            }
        );
        return;
    }
    let _ = writeln!(
        md,
        "**⚠ NumPy DISAGREES with {} of {} steps** — the Rust model is wrong there, and the run failed:\n",
        disagreeing.len(),
        pairs.len()
    );
    for (step, numpy) in disagreeing {
        let _ = writeln!(md, "- `{}` (`{}`): {}", step.key(), numpy.call, numpy.disagreements.join("; "));
    }
    md.push('\n');
}

/// The tutorial's first step, warm: the comparison a reader looks for first.
fn headline(md: &mut String, pairs: &[(&StepResult, &PeerResult)]) {
    let warm = crate::cache::CacheState::Warm;
    let Some((step, numpy)) = pairs.iter().find(|(s, _)| s.open == "load_mmap" && s.cache == warm) else {
        return;
    };
    let (rust, py) = (Figures::of(&step.snapshots, None), Figures::of(&numpy.snapshots, None));
    let _ = write!(
        md,
        "Open plus first element, warm cache: Rust `load_mmap` {}, NumPy `{}` {}",
        opt_nanos(rust.open_first),
        numpy.call,
        opt_nanos(py.open_first)
    );
    if let Some(r) = ratio(rust.open_first, py.open_first) {
        let _ = write!(md, ": Rust {}", faster(r));
    }
    let _ = write!(
        md,
        ". Full pass (`X.sum()`): Rust {}, NumPy {}",
        opt_nanos(rust.access),
        opt_nanos(py.access)
    );
    if let Some(r) = ratio(rust.access, py.access) {
        let _ = write!(md, ": Rust {}", faster(r));
    }
    md.push_str(".\n\n");
}

fn faster(numpy_over_rust: f64) -> String {
    if numpy_over_rust >= 1.0 {
        format!("{} faster", show_ratio(Some(numpy_over_rust)))
    } else {
        format!("{} slower", show_ratio(Some(1.0 / numpy_over_rust)))
    }
}

fn opt_nanos(ns: Option<Nanos>) -> String {
    ns.map_or("–".to_owned(), human_nanos)
}

fn row(md: &mut String, step: &StepResult, numpy: &PeerResult) {
    let rust = Figures::of(&step.snapshots, step.object_bytes);
    let py = Figures::of(&numpy.snapshots, numpy.getsizeof_bytes);
    let verdict = match (numpy.agrees, numpy.status) {
        (false, _) => "**NO**".to_owned(),
        (true, Status::Ok) => "yes".to_owned(),
        (true, status) => format!("yes (both {})", status.name()),
    };
    let faults = |f: Figures| match (f.minor_faults, f.major_faults) {
        (Some(minor), Some(major)) => format!("{} / {}", grouped(minor), grouped(major)),
        _ => "–".to_owned(),
    };
    let _ = writeln!(
        md,
        "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} · {} | {} |",
        step.id,
        step.cache.name(),
        verdict,
        time_cell(rust.open, py.open),
        time_cell(rust.first, py.first),
        time_cell(rust.open_first, py.open_first),
        time_cell(rust.access, py.access),
        cell(rust.rss_after, py.rss_after, human_bytes),
        cell(rust.anon_growth, py.anon_growth, human_delta),
        faults(rust),
        faults(py),
        cell(rust.object, py.object, |b| format!("{} B", grouped(b))),
    );
}

/// When `sys.getsizeof` misses a loaded array's data, say so: the tutorial's measure fails
/// even for the array that does take the memory.
fn getsizeof_note(md: &mut String, pairs: &[(&StepResult, &PeerResult)]) {
    let Some((_, numpy)) = pairs.iter().find(|(s, p)| {
        s.open == "load" && p.getsizeof_bytes.zip(p.bytes_touched).is_some_and(|(size, data)| size < data)
    }) else {
        return;
    };
    let growth = Figures::of(&numpy.snapshots, None).anon_growth;
    let _ = writeln!(
        md,
        "`sys.getsizeof` of `{}` is {} B, although the array's {} were read into the process's own memory \
         (RssAnon {}): this NumPy returns a reshaped view of the buffer it read, and `getsizeof` counts the data \
         only of an array that owns it. The Rust `object_bytes` counts what the array holds.\n",
        numpy.call,
        numpy.getsizeof_bytes.map_or("–".to_owned(), grouped),
        human_bytes(numpy.bytes_touched.unwrap_or(0)),
        growth.map_or("–".to_owned(), human_delta),
    );
}

#[cfg(test)]
mod tests;
