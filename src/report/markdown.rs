//! `REPORT.md`: the steps and their key numbers, for a reader of the repository.

use std::fmt::Write as _;

use anyhow::Result;

use super::Output;
use crate::probe::Phase;
use crate::results::{Results, StepResult};
use crate::units::{format_value, grouped, human_bytes, human_delta, human_nanos};

mod claims_table;
mod compare;
mod figures;
mod formats;
mod groups;
pub(crate) mod machine;

/// The markdown report.
pub struct Markdown;

impl Output for Markdown {
    fn file_name(&self) -> String {
        "REPORT.md".to_owned()
    }

    fn render(&self, runs: &[Results]) -> Result<Vec<u8>> {
        let mut md = String::new();
        md.push_str("# mmap-lab report: memory-mapping NumPy's training array, measured\n\n");
        md.push_str(INTRO);
        let plots = super::plots::tutorial();
        if runs.len() > 1 {
            compare::section(&mut md, runs);
            figures::section(&mut md, runs, &plots, "##");
        }
        let labels = super::view::run_labels(runs);
        for (i, run) in runs.iter().enumerate() {
            if runs.len() > 1 {
                let _ = writeln!(md, "## {}\n", capitalised(&labels[i]));
            }
            run_section(&mut md, run, if runs.len() > 1 { None } else { Some(&plots) });
            md.push_str(&super::peers::markdown(run));
        }
        Ok(md.into_bytes())
    }
}

/// What the report is, for a reader who lands on it.
const INTRO: &str = "NumPy's memory-mapping tutorial opens a (4002, 120, 120, 3) float64 training array \
saved as `X_train.npy` and as raw bytes, with `np.load(mmap_mode='r')` and `np.memmap`, and \"measures\" \
memory with `sys.getsizeof`. mmap-lab ran every step in a fresh process and measured what really \
happens: resident memory split into file pages (RssFile) and the process's own memory (RssAnon), \
page faults, page-cache residency, the object's size and time, with a warm and a cold page cache. \
Every verdict below is computed from the numbers in `results.json`; `mmap-lab report --results \
results.json --out DIR` rebuilds this report, plots included, without measuring again.\n\n";

fn run_section(md: &mut String, run: &Results, plots: Option<&[Box<dyn super::plots::Plot>]>) {
    let h = if plots.is_some() { "##" } else { "###" };
    let d = &run.dataset;
    let _ = writeln!(
        md,
        "Dataset: shape {} of {} (seed {}), `X_train.npy` {} bytes (header {} bytes), `X_train_raw.rbf` {} bytes; {}.\n",
        d.shape.python(),
        d.dtype,
        d.seed,
        grouped(d.npy_bytes),
        d.npy_header_bytes,
        grouped(d.raw_bytes),
        match d.generate_ns {
            Some(ns) => format!("generated in this run in {}", human_nanos(ns)),
            None => "reused from an earlier run (its manifest vouched for it)".to_owned(),
        }
    );
    let _ = writeln!(
        md,
        "Machine: {}. Run: `{}`, {}, {} wall, mmap-lab {}{}.\n",
        run.machine.summary(),
        run.run.command,
        run.run.started_at,
        human_nanos(run.run.wall_ns),
        run.run.mmap_lab_version,
        if run.run.complete { "" } else { " — **incomplete: the run was interrupted**" }
    );
    for note in &run.run.notes {
        let _ = writeln!(md, "> {note}\n");
    }
    claims_table::section(md, run, h);
    if let Some(plots) = plots {
        figures::section(md, std::slice::from_ref(run), plots, h);
    }
    let _ = writeln!(md, "{h} Steps\n");
    md.push_str(
        "Each step ran in a fresh process. Memory columns are the step process's: RSS change at opening \
         and at the first element, then RssFile (file pages mapped, reclaimable) and RssAnon (the process's \
         own memory) after the access. Times exclude the probes. Faults are counts, not pages.\n\n",
    );
    md.push_str("| step | cache | status | shape | dtype | first values | = original | object | ΔRSS open | ΔRSS first | RssFile after | RssAnon after | minor / major faults | open | first | access |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for step in super::view::tutorial_steps(run) {
        step_row(md, step);
    }
    md.push('\n');
    let errors: Vec<&StepResult> = run.steps.iter().filter(|s| s.error.is_some()).collect();
    if !errors.is_empty() {
        md.push_str("Errors:\n\n");
        for s in errors {
            let _ = writeln!(md, "- `{}`: {}", s.key(), s.error.as_deref().unwrap_or_default());
        }
        md.push('\n');
    }
    groups::section(md, run, h);
    formats::section(md, run, h);
    machine::section(md, run, h);
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn opt<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "–".to_owned(), show)
}

fn step_row(md: &mut String, s: &StepResult) {
    let first: Vec<String> = s.first_values.iter().take(4).map(|v| format_value(*v)).collect();
    let after = s.snapshot(Phase::AfterAccess).or_else(|| s.snapshots.last());
    let faults = match (s.snapshots.first(), after) {
        (Some(a), Some(b)) => {
            format!("{} / {}", b.minor_faults - a.minor_faults, b.major_faults - a.major_faults)
        }
        _ => "–".to_owned(),
    };
    let _ = writeln!(
        md,
        "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        s.id,
        s.cache.name(),
        s.status.name(),
        opt(s.shape.as_ref(), |x| x.python()),
        opt(s.dtype, |x| x.to_string()),
        if first.is_empty() { "–".to_owned() } else { first.join(" ") },
        opt(s.matches_original, |m| if m { "yes".to_owned() } else { "no".to_owned() }),
        opt(s.object_bytes, |b| format!("{} B", grouped(b))),
        opt(s.delta(Phase::BeforeOpen, Phase::AfterOpen, |x| x.rss_bytes), human_delta),
        opt(s.delta(Phase::AfterOpen, Phase::AfterFirst, |x| x.rss_bytes), human_delta),
        opt(after, |x| human_bytes(x.rss_file_bytes)),
        opt(after, |x| human_bytes(x.rss_anon_bytes)),
        faults,
        opt(s.phase_ns(Phase::BeforeOpen, Phase::AfterOpen), human_nanos),
        opt(s.phase_ns(Phase::AfterOpen, Phase::AfterFirst), human_nanos),
        opt(s.phase_ns(Phase::AfterFirst, Phase::AfterAccess), human_nanos),
    );
}
