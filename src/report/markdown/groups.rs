//! The experiments beyond the tutorial, one section per group: what was run, its plot,
//! and a table of the numbers, with sentences computed from them.

use std::fmt::Write as _;

use crate::probe::Phase;
use crate::report::plots::{self, Plot};
use crate::report::view;
use crate::results::{Results, StepResult};
use crate::units::{grouped, human_bytes, human_nanos};

/// The `p`-th percentile, 0 for no values ([`crate::stats`]'s one definition).
fn percentile(values: &[u64], p: f64) -> u64 {
    crate::stats::percentile(values, p).unwrap_or(0)
}

/// Writes a section per group that ran, under headings of level `h`.
pub fn section(md: &mut String, run: &Results, h: &str) {
    let runs = std::slice::from_ref(run);
    let plots = plots::beyond();
    let has = |group: &str| view::group_steps(run, group).next().is_some();
    if !["access", "policies", "faults", "sharing", "larger_than_memory"].iter().any(|g| has(g)) {
        return;
    }
    let _ = writeln!(md, "{h} Beyond the tutorial\n");
    for (group, heading, intro) in GROUPS.iter().copied() {
        if !has(group) {
            continue;
        }
        let intro = intro.replace("READ", &crate::report::sentences::policy_read(run));
        let _ = writeln!(md, "#{h} {heading}\n\n{intro}\n");
        for plot in plots.iter().filter(|p| plot_group(p.as_ref()) == group && p.has_data(runs)) {
            let _ = writeln!(md, "![{}]({})\n\n{}\n", plot.title(), plot.file_name(), plot.caption(runs));
        }
        match group {
            "sharing" => sharing_table(md, run),
            "faults" => faults_table(md, run),
            "larger_than_memory" => larger_table(md, run),
            _ => timing_table(md, run, group),
        }
    }
}

const GROUPS: [(&str, &str, &str); 5] = [
    (
        "access",
        "Access patterns",
        "How a training loop reads the mapped array: a subset of samples, one colour channel of every image \
         (a strided read), random mini-batches of 32 samples, and random single values, each warm and cold, \
         with and without `MADV_RANDOM`.",
    ),
    (
        "policies",
        "Mapping policies",
        "The same read (READ) after each `madvise` advice memmap2 offers, and with \
         `MAP_POPULATE`; `npy_load` in the tutorial's table is the read into a buffer that `np.load` does.",
    ),
    (
        "faults",
        "Faults are not pages",
        "The same full pass over the same bytes (the array's first samples, copied just before the step), warm, in page caches built three ways: by 4 MiB writes, by \
         4 KiB writes, and by 4 MiB writes with huge pages refused for the mapping.",
    ),
    (
        "sharing",
        "Sharing between processes",
        "K worker processes, like a data loader's, each reading the whole array at once: through one shared \
         mapping, or each loading its own copy. Memory was read from `/proc/PID/smaps_rollup` while all K \
         were alive.",
    ),
    (
        "larger_than_memory",
        "Larger than memory",
        "An array larger than the machine's memory, read through the mapping in a full pass, and loaded.",
    ),
];

fn plot_group(plot: &dyn Plot) -> &'static str {
    match plot.file_name() {
        "access.svg" => "access",
        "policies.svg" => "policies",
        "faults-not-pages.svg" => "faults",
        "sharing.svg" => "sharing",
        "larger-than-memory.svg" => "larger_than_memory",
        _ => "",
    }
}

fn delta(s: &StepResult, from: Phase, to: Phase, f: fn(&crate::probe::Snapshot) -> u64) -> Option<u64> {
    Some(f(s.snapshot(to)?).saturating_sub(f(s.snapshot(from)?)))
}

fn timing_table(md: &mut String, run: &Results, group: &str) {
    md.push_str("| experiment | cache | status | open | access | total | minor / major faults | RssFile after | bytes read |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for s in view::group_steps(run, group) {
        let opt = |v: Option<u64>, f: fn(u64) -> String| v.map_or_else(|| "–".to_owned(), f);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
            s.id,
            s.cache.name(),
            s.status.name(),
            opt(s.phase_ns(Phase::BeforeOpen, Phase::AfterOpen), human_nanos),
            opt(s.phase_ns(Phase::AfterFirst, Phase::AfterAccess), human_nanos),
            opt(s.phase_ns(Phase::BeforeOpen, Phase::AfterAccess), human_nanos),
            opt(delta(s, Phase::BeforeOpen, Phase::AfterAccess, |x| x.minor_faults), grouped),
            opt(delta(s, Phase::BeforeOpen, Phase::AfterAccess, |x| x.major_faults), grouped),
            opt(s.snapshot(Phase::AfterAccess).map(|x| x.rss_file_bytes), human_bytes),
            opt(s.bytes_touched, human_bytes),
        );
    }
    md.push('\n');
    batches_table(md, run, group);
    advice_sentences(md, run, group);
}

fn batches_table(md: &mut String, run: &Results, group: &str) {
    let with: Vec<&StepResult> = view::group_steps(run, group).filter(|s| s.batches.is_some()).collect();
    if with.is_empty() {
        return;
    }
    md.push_str("Mini-batches, one by one (time of each batch of 32 samples):\n\n");
    md.push_str("| experiment | cache | batches | median | 95th percentile | slowest | faults per batch (median minor / major) |\n");
    md.push_str("|---|---|---|---|---|---|---|\n");
    for s in with {
        let Some(b) = &s.batches else { continue };
        let mut ns = b.batch_ns.clone();
        ns.sort_unstable();
        let mut minor = b.batch_minor_faults.clone();
        minor.sort_unstable();
        let mut major = b.batch_major_faults.clone();
        major.sort_unstable();
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} / {} |",
            s.id,
            s.cache.name(),
            ns.len(),
            human_nanos(percentile(&ns, 0.5)),
            human_nanos(percentile(&ns, 0.95)),
            human_nanos(ns.last().copied().unwrap_or(0)),
            percentile(&minor, 0.5),
            percentile(&major, 0.5),
        );
    }
    md.push('\n');
}

/// Cold steps run with and without `MADV_RANDOM`: which was faster, by how much.
fn advice_sentences(md: &mut String, run: &Results, group: &str) {
    for effect in crate::report::sentences::advice_effects(run, group) {
        let _ = writeln!(md, "{}\n", crate::report::sentences::advice_sentence(&effect));
    }
}

fn faults_table(md: &mut String, run: &Results) {
    let page = run.machine.page_size.max(1);
    md.push_str(
        "| experiment | cache | pages read | page faults | pages per fault |\n|---|---|---|---|---|\n",
    );
    for s in view::group_steps(run, "faults") {
        let pages = s.bytes_touched.map(|b| b / page);
        let faults = delta(s, Phase::AfterFirst, Phase::AfterAccess, |x| x.minor_faults + x.major_faults);
        let per = match (pages, faults) {
            (Some(p), Some(f)) if f > 0 => format!("{:.1}", p as f64 / f as f64),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {per} |",
            s.id,
            s.cache.name(),
            pages.map_or("–".to_owned(), grouped),
            faults.map_or("–".to_owned(), grouped),
        );
    }
    md.push('\n');
}

fn sharing_table(md: &mut String, run: &Results) {
    let file = run.dataset.npy_bytes.max(1);
    md.push_str("| experiment | K | total RSS | total PSS | PSS in files | PSS per worker | sums agree | pass time per worker (median) | NumPy's K workers: total PSS |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for s in crate::report::view::sharing_steps(run) {
        let Some(w) = &s.workers else { continue };
        let mut pass: Vec<u64> = w.per_worker.iter().map(|p| p.pass_ns).collect();
        pass.sort_unstable();
        // Python processes: the interpreter and NumPy add their own pages to each worker.
        let numpy = s.peer.as_ref().and_then(|p| p.workers.as_ref());
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {:.2} | {} | {} | {} | {} |",
            s.id,
            w.count,
            human_bytes(w.total_rss_bytes),
            human_bytes(w.total_pss_bytes),
            w.total_pss_bytes as f64 / file as f64,
            human_bytes(w.total_pss_bytes / u64::from(w.count.max(1))),
            if w.sums_agree { "yes" } else { "**no**" },
            human_nanos(percentile(&pass, 0.5)),
            numpy.map_or("–".to_owned(), |n| human_bytes(n.total_pss_bytes)),
        );
    }
    if run.steps.iter().any(|s| s.peer.as_ref().is_some_and(|p| p.workers.is_some())) {
        md.push_str(
            "\nThe last column is the same experiment with NumPy: K fresh Python processes running \
             `np.load`, measured the same way. Each also holds the interpreter and NumPy itself, so its \
             total is larger by about that much per worker; the array's pages are shared, or not, the same way.\n",
        );
    }
    md.push('\n');
}

fn larger_table(md: &mut String, run: &Results) {
    let memory = run.machine.memory_bytes;
    let _ = writeln!(
        md,
        "Array: {} in `X_train.npy` on a machine with {} of memory.\n",
        human_bytes(run.dataset.npy_bytes),
        human_bytes(memory)
    );
    for s in view::group_steps(run, "larger_than_memory") {
        if let Some(trace) = s.trace.as_deref().filter(|t| !t.is_empty()) {
            let peak = trace.iter().map(|p| p.rss_file_bytes).max().unwrap_or(0);
            let last = trace.last().map_or(0, |p| p.rss_file_bytes);
            let anon = trace.iter().map(|p| p.rss_anon_bytes).max().unwrap_or(0);
            let _ = writeln!(
                md,
                "- `{}` ({}): read {} through the mapping; RssFile peaked at {} and ended at {}, RssAnon stayed under {}.",
                s.id,
                s.status.name(),
                human_bytes(trace.last().map_or(0, |p| p.bytes_read)),
                human_bytes(peak),
                human_bytes(last),
                human_bytes(anon),
            );
        } else {
            let _ = writeln!(
                md,
                "- `{}` ({}): {}",
                s.id,
                s.status.name(),
                s.error.as_deref().unwrap_or("completed")
            );
        }
    }
    md.push('\n');
}
