//! Rust beside NumPy: each step's figures next to its NumPy peer's, with ratios, as a
//! section of `REPORT.md` ([`markdown`]) and as `peers.csv` ([`PeersCsv`]).

mod csv;

use std::fmt::Write as _;

pub use self::csv::PeersCsv;
use crate::probe::{Phase, Snapshot};
use crate::results::{PeerResult, Results, RoundTimes, SideBySide, StepResult};
use crate::spec::Status;
use crate::stats::{median_range, median_spread};
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
    let mut waits: Vec<Nanos> = pairs
        .iter()
        .flat_map(|(s, p)| s.snapshots.iter().chain(&p.snapshots))
        .map(|x| x.probe_ns)
        .filter(|&ns| ns > 0)
        .collect();
    waits.sort_unstable();
    match waits.get(waits.len() / 2) {
        Some(&median) => format!(
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
         each in a fresh Python process, after the same cache preparation, and both sides were measured by \
         the same probe: mmap-lab reads each process from outside (`/proc/PID`, and the page cache) at the \
         phases it marks, while the process waits with its clock stopped{}.\n",
        any.python_version,
        any.numpy_version,
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
    md.push_str(
        " per process, median). Faults are counted from the step's start to its last phase; RSS is the whole \
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

/// Goals mmap-lab sets itself against NumPy, checked on the medians of the rounds:
/// `(what, NumPy ÷ Rust at least)`.
const GOALS: [(&str, f64); 2] =
    [("open plus first element at least 20× faster", 20.0), ("full pass at least as fast", 1.0)];

/// The headline from the rounds: medians and ranges of both sides, and the goals.
fn rounds_headline(md: &mut String, side: &SideBySide, pairs: &[(&StepResult, &PeerResult)]) {
    let call = pairs.iter().find(|(s, _)| s.key() == side.step).map_or("NumPy", |(_, p)| p.call.as_str());
    let summary = |times: &[RoundTimes], pick: fn(&RoundTimes) -> Option<Nanos>| {
        median_range(times.iter().filter_map(pick))
    };
    let show = |m: Option<(u64, u64, u64)>| match m {
        Some((median, lo, hi)) => {
            format!("{} ({}–{})", human_nanos(median), human_nanos(lo), human_nanos(hi))
        }
        None => "–".to_owned(),
    };
    let _ = writeln!(
        md,
        "Headline, `{}` run {} times (the step's own run and {} more rounds, Rust and NumPy taking turns \
         at going first, each in a fresh process after the same cache preparation); medians, with the \
         range in brackets:\n",
        side.step,
        side.rust.len(),
        side.rust.len() - 1
    );
    let mut ratios = Vec::new();
    for (what, pick) in [
        ("Open plus first element", (|t: &RoundTimes| t.open_first_ns) as fn(&RoundTimes) -> Option<Nanos>),
        ("Full pass (`X.sum()`)", |t: &RoundTimes| t.pass_ns),
    ] {
        let (rust, numpy) = (summary(&side.rust, pick), summary(&side.numpy, pick));
        let r = ratio(rust.map(|m| m.0), numpy.map(|m| m.0));
        let (rust_name, numpy_name) = if ratios.is_empty() {
            ("Rust `load_mmap`".to_owned(), format!("NumPy `{call}`"))
        } else {
            ("Rust".to_owned(), "NumPy".to_owned())
        };
        let _ = writeln!(
            md,
            "- {what}: {rust_name} {}, {numpy_name} {}{}",
            show(rust),
            show(numpy),
            r.map_or(String::new(), |r| format!(": Rust {}", faster(r)))
        );
        ratios.push(r);
    }
    md.push_str(
        "\nmmap-lab's goals against NumPy, judged on each round's NumPy ÷ Rust (a round's two runs share the \
         machine's state; the median of the rounds, ± the median distance from it): ",
    );
    let verdicts: Vec<String> = goals(side)
        .into_iter()
        .map(|g| match (g.verdict, g.shown) {
            (GoalVerdict::NotMeasured, _) => format!("{}: not measured", g.what),
            (GoalVerdict::WithinSpread, Some(shown)) => {
                format!("{}: **{}** ({shown}: not measurably short of it)", g.what, g.verdict.name())
            }
            (verdict, shown) => format!("{}: **{}** ({})", g.what, verdict.name(), shown.unwrap_or_default()),
        })
        .collect();
    md.push_str(&verdicts.join("; "));
    md.push_str(
        ". Both sides have their code paged in before the clock starts (mmap-lab's binary as NumPy's import \
         has NumPy's). Rust's open plus first element is then five system calls (open, statx, read, mmap, \
         close), the header parsed, and one page fault; in a fresh process they take several times what the \
         same work takes when repeated in one process (`cargo bench`), while NumPy's is mostly Python running \
         `np.load`'s code for the first time, importing Python's `mmap` module with it (`import numpy` \
         leaves that to the first mapping, as in the tutorial's own script). Both passes read the same \
         pages of the page cache through the same kind of mapping and are bound by memory, so they stay \
         close.\n\n",
    );
}

/// How one of mmap-lab's goals against NumPy fared over the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalVerdict {
    /// The median of the rounds' ratios reaches it.
    Met,
    /// Short of it by less than the rounds' spread.
    WithinSpread,
    /// Short of it by more than the spread.
    NotMet,
    /// No round has both times.
    NotMeasured,
}

impl GoalVerdict {
    /// `met`, `met within the rounds' spread`, `not met`, `not measured`.
    pub fn name(self) -> &'static str {
        match self {
            GoalVerdict::Met => "met",
            GoalVerdict::WithinSpread => "met within the rounds' spread",
            GoalVerdict::NotMet => "not met",
            GoalVerdict::NotMeasured => "not measured",
        }
    }
}

/// One goal, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalCheck {
    /// The goal, in words.
    pub what: &'static str,
    /// How it fared.
    pub verdict: GoalVerdict,
    /// The rounds' median NumPy ÷ Rust and its spread, `31× ± 7.92×`.
    pub shown: Option<String>,
}

/// mmap-lab's goals against NumPy, each judged on the rounds' paired ratios.
pub fn goals(side: &SideBySide) -> Vec<GoalCheck> {
    let picks: [fn(&RoundTimes) -> Option<Nanos>; 2] = [|t| t.open_first_ns, |t| t.pass_ns];
    GOALS
        .iter()
        .zip(picks)
        .map(|(&(what, least), pick)| match median_spread(&paired_ratios(side, pick)) {
            Some((r, spread)) => GoalCheck {
                what,
                verdict: if r >= least {
                    GoalVerdict::Met
                } else if r + spread >= least {
                    GoalVerdict::WithinSpread
                } else {
                    GoalVerdict::NotMet
                },
                shown: Some(format!("{} ± {:.2}×", show_ratio(Some(r)), spread)),
            },
            None => GoalCheck { what, verdict: GoalVerdict::NotMeasured, shown: None },
        })
        .collect()
}

/// Each round's NumPy ÷ Rust, for the rounds where both sides have the time.
fn paired_ratios(side: &SideBySide, pick: fn(&RoundTimes) -> Option<Nanos>) -> Vec<f64> {
    side.rust.iter().zip(&side.numpy).filter_map(|(r, n)| ratio(pick(r), pick(n))).collect()
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

/// The side-by-side table of the paired rounds: every step with a NumPy peer, its rounds,
/// Rust ÷ NumPy as the median of the rounds ± the median distance, each pass's share of the
/// machine's limit measured in this run, and where Rust is behind, what the numbers say.
fn paired_section(md: &mut String, run: &Results) {
    use super::limits::{paired, share};
    if run.steps.iter().all(|s| s.rounds.is_empty()) {
        // Results from before rounds were recorded: nothing to pair.
        return;
    }
    let limits = run.limits.as_ref();
    md.push_str(
        "### Paired rounds: Rust ÷ NumPy, and the share of the machine's limit

",
    );
    let warm = limits.and_then(|l| Some((l.in_memory_step.clone()?, l.warm_rate()?)));
    let cold = limits.and_then(|l| Some((l.cold_read_file.clone()?, l.cold_read_ns?, l.cold_rate()?)));
    md.push_str(
        "Each step with a NumPy peer ran in rounds, Rust first in one round and NumPy first in the next, \
         each side in a fresh process after the same cache preparation. **Rust ÷ NumPy** is speed: each \
         round's NumPy time ÷ Rust time on the step's own work (its access pattern, or open plus first \
         element when it reads nothing more; for `load` and the formats, which read the file at open, open \
         plus pass), the median of the rounds ± the median distance from it; \
         above 1, Rust is faster. ",
    );
    match &warm {
        Some((step, rate)) => {
            let _ = write!(
                md,
                "The **limit** of a warm pass is the in-memory pass of `{step}` (the array in the process's \
                 own memory, summed by the same loop; median of its rounds): {}/s. ",
                human_bytes(*rate as u64)
            );
        }
        None => md.push_str("No in-memory pass was measured in this run: warm passes have no limit. "),
    }
    match &cold {
        Some((file, ns, rate)) => {
            let _ = write!(
                md,
                "The limit of a cold pass is a plain sequential read of `{file}` after the same eviction \
                 (8 MiB `read`s), timed in this run just before the cold steps: {} in {}, {}/s. ",
                human_bytes(limits.and_then(|l| l.cold_read_bytes).unwrap_or(0)),
                human_nanos(*ns),
                human_bytes(*rate as u64)
            );
        }
        None => md.push_str(
            "No sequential read after an eviction was timed in this run: cold passes have no limit. ",
        ),
    }
    md.push_str("A share is a pass's speed (bytes of its span ÷ its median time) ÷ the limit's.\n\n");
    md.push_str("| step | cache | rounds | Rust (median) | NumPy (median) | Rust ÷ NumPy | limit share (Rust · NumPy) | reading |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    let mut behind = Vec::new();
    for step in run.steps.iter().filter(|s| s.peer.is_some()) {
        let p = paired(step);
        let s = share(step, limits);
        let pct = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{:.0}%", v * 100.0));
        let shares = s.map_or("–".to_owned(), |s| format!("{} · {}", pct(s.rust), pct(s.numpy)));
        let reading = reading(step, p.as_ref(), s, limits);
        let Some(p) = p else {
            let _ = writeln!(
                md,
                "| `{}` | {} | – | – | – | – | {shares} | {reading} |",
                step.id,
                step.cache.name()
            );
            continue;
        };
        let rounds = format!("{}{}", p.rounds, if p.alternated { ", alternating" } else { ", not paired" });
        if p.ratio + p.spread < 1.0 {
            behind.push(step.key());
        }
        let _ = writeln!(
            md,
            "| `{}` | {} | {rounds} | {} | {} | {} ± {:.2}× | {shares} | {reading} |",
            step.id,
            step.cache.name(),
            human_nanos(p.rust_ns),
            human_nanos(p.numpy_ns),
            show_ratio(Some(p.ratio)),
            p.spread,
        );
    }
    let paired_steps = run.steps.iter().filter_map(paired).filter(|p| p.alternated).count();
    let _ = writeln!(
        md,
        "\n{paired_steps} of {} steps with a NumPy peer were paired in alternating order. {}\n",
        run.steps.iter().filter(|s| s.peer.is_some()).count(),
        if behind.is_empty() {
            "No step has Rust behind NumPy by more than its rounds' spread.".to_owned()
        } else {
            format!("Rust is behind NumPy beyond the rounds' spread in: {}.", behind.join(", "))
        }
    );
}

/// What the numbers of one step say, in a few words computed from them: why a step was not
/// paired, and where Rust is behind, whether both sides did the same system work.
fn reading(
    step: &StepResult,
    p: Option<&super::limits::Paired>,
    s: Option<super::limits::Share>,
    limits: Option<&crate::results::Limits>,
) -> String {
    let Some(p) = p else {
        if step.workers.is_some() {
            return "compared on memory (PSS), not time; one round".to_owned();
        }
        return "NumPy disagrees or has no time: not compared".to_owned();
    };
    if !p.alternated {
        let t = step.timing.map_or(0, |t| t.wall_ns);
        return format!(
            "one round only (it took {}): too long to repeat within the time budget",
            human_nanos(t)
        );
    }
    if p.ratio + p.spread >= 1.0 {
        return String::new();
    }
    let both = s.and_then(|s| Some((s.rust?, s.numpy?)));
    let faults = |snaps: &[Snapshot]| Figures::of(snaps, None).major_faults;
    let majors = faults(&step.snapshots).zip(step.peer.as_ref().and_then(|x| faults(&x.snapshots)));
    if step.cache == crate::cache::CacheState::Cold && step.open != "load" {
        // Counts this small say nothing of who did the work (a file read at open).
        let same = |(r, n): (u64, u64)| r.max(n) >= 100 && r.abs_diff(n) * 10 <= r.max(n);
        let faults_text = match majors {
            Some(m) if same(m) => {
                format!("the same system work ({} and {} major faults)", grouped(m.0), grouped(m.1))
            }
            Some((r, n)) => format!("{} major faults for Rust, {} for NumPy", grouped(r), grouped(n)),
            None => "no fault counts".to_owned(),
        };
        let open = |snaps: &[Snapshot]| Figures::of(snaps, None).open;
        let opens = match (open(&step.snapshots), step.peer.as_ref().and_then(|x| open(&x.snapshots))) {
            (Some(r), Some(n)) => format!("; open {} for Rust, {} for NumPy", human_nanos(r), human_nanos(n)),
            _ => String::new(),
        };
        if let (Some((r, n)), Some(rate)) = (both, limits.and_then(|l| l.cold_rate())) {
            return format!(
                "both read from the disk: Rust's pass at {:.0}%, NumPy's at {:.0}% of the sequential read ({}/s); {faults_text}{opens}",
                r * 100.0,
                n * 100.0,
                human_bytes(rate as u64)
            );
        }
        return format!("both read from the disk: {faults_text}");
    }
    if step.open == "load" {
        let open = |snaps: &[Snapshot]| Figures::of(snaps, None).open;
        if let (Some(r), Some(n)) =
            (open(&step.snapshots), step.peer.as_ref().and_then(|x| open(&x.snapshots)))
        {
            return format!(
                "both copy the file with read(): open {} for Rust, {} for NumPy",
                human_nanos(r),
                human_nanos(n)
            );
        }
    }
    if let Some((r, n)) = both {
        return format!("Rust at {:.0}%, NumPy at {:.0}% of the limit", r * 100.0, n * 100.0);
    }
    "NumPy faster: no explanation from the numbers".to_owned()
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
