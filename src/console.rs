//! What a run tells the terminal: where it reads and writes before it starts, one aligned
//! line per step while it runs, and its findings when it ends.

use std::path::Path;

use crate::dataset::Provenance;
use crate::observe::RunObserver;
use crate::paths::absolute;
use crate::peer::PeerChoice;
use crate::peer::python::Python;
use crate::progress::{BytesProgress, Progress};
use crate::results::StepResult;
use crate::spec::LoadedSpec;
use crate::step::StepPlan;
use crate::units::human_nanos;

/// Where a Python was found, in words: the current folder's `.venv`, the `.venv` of the
/// project folder mmap-lab was built in, `python3` on the `PATH`, or as given.
fn python_origin(python: &Python) -> &'static str {
    let cwd = std::env::current_dir().unwrap_or_default();
    if python.path.starts_with(cwd.join(".venv")) {
        "the .venv in the current folder"
    } else if python.path.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv")) {
        "the .venv of the project folder mmap-lab was built in"
    } else if python.path == Path::new("python3") {
        "python3 on the PATH"
    } else {
        "given with --python"
    }
}

/// The lines a run starts with: which experiments, data folder, report folder and Python.
pub fn announce(specs: &[LoadedSpec], data_dir: &Path, out: &Path, numpy: &PeerChoice) -> Vec<String> {
    let mut folders: Vec<&Path> = specs.iter().filter_map(|s| s.path.parent()).collect();
    folders.dedup();
    let sources: Vec<String> = folders.iter().map(|f| crate::assets::describe(f)).collect();
    let python = match numpy {
        PeerChoice::Use(python) => format!("{}, {}", python.describe(), python_origin(python)),
        PeerChoice::Without(why) => format!("none, no NumPy column: {why}"),
    };
    vec![
        format!("experiments: {} specs, {}", specs.len(), sources.join(", ")),
        format!("data:        {}", absolute(data_dir)),
        format!("report:      {}", absolute(out)),
        format!("python:      {python}"),
    ]
}

/// One line per finished step, columns aligned for ids up to `id_width` characters.
pub fn step_line(i: usize, total: usize, id_width: usize, s: &StepResult) -> String {
    let verdict = match &s.peer {
        _ if s.error.as_deref() == Some(crate::runner::INTERRUPTED) => "  (interrupted)",
        _ if s.status != s.expected_status => "  <-- unexpected",
        Some(p) if p.interrupted => "  NumPy interrupted",
        Some(p) if !p.agrees => "  <-- NumPy disagrees",
        Some(_) => "  NumPy agrees",
        None => "",
    };
    let detail = match &s.error {
        Some(e) if s.status != crate::spec::Status::Ok => {
            format!(": {}", e.chars().take(120).collect::<String>())
        }
        _ => String::new(),
    };
    let count = total.to_string().len();
    format!(
        "[{:>count$}/{total}] {:<id_width$}  {:<4}  {:<7} {:>9}{detail}{verdict}",
        i + 1,
        s.id,
        s.cache.name(),
        s.status.name(),
        human_nanos(s.process_ns)
    )
}

fn plural(v: crate::report::claims::Verdict) -> String {
    use crate::report::claims::Verdict;
    match v {
        Verdict::Holds => "hold".to_owned(),
        Verdict::DoesNotHold => "do not hold".to_owned(),
        other => other.name().to_owned(),
    }
}

/// The terminal as a run's observer: the lines a run starts with, the dataset's line and
/// its generation bar, a bar over the steps with the one under way and an estimate of the
/// time left, one aligned line per finished step, and the headline. Bars are drawn only
/// when stderr is a terminal; the lines always go to stderr.
#[derive(Default)]
pub struct Terminal {
    generation: BytesProgress,
    steps: Option<StepsBar>,
}

/// The bar over the steps and what its lines need.
struct StepsBar {
    bar: indicatif::ProgressBar,
    /// What each plan is called while under way.
    names: Vec<String>,
    id_width: usize,
}

impl RunObserver for Terminal {
    fn starting(&mut self, specs: &[LoadedSpec], data_dir: &Path, out: &Path, numpy: &PeerChoice) {
        for line in announce(specs, data_dir, out, numpy) {
            crate::errln!("{line}");
        }
    }

    fn progress(&self) -> &dyn Progress {
        &self.generation
    }

    fn dataset_ready(&mut self, data_dir: &Path, provenance: &Provenance) {
        match provenance {
            Provenance::Reused => {
                crate::errln!("dataset: reusing {} (its manifest vouches for it)", data_dir.display())
            }
            Provenance::Generated { reason, elapsed } => {
                crate::errln!("dataset: generated in {} ({reason})", human_nanos(elapsed.as_nanos() as u64))
            }
        }
    }

    fn writing_formats(&mut self, formats: &[crate::formats::Format]) {
        let names: Vec<&str> = formats.iter().map(|f| f.file_name()).collect();
        crate::errln!("formats: writing and checking {} in a child process", names.join(", "));
    }

    fn steps_planned(&mut self, plans: &[StepPlan]) {
        let bar = crate::progress::items_bar(plans.len() as u64, "steps");
        let names: Vec<String> =
            plans.iter().map(|p| format!("{} {}", p.result_id(), p.cache.name())).collect();
        if let Some(first) = names.first() {
            bar.set_message(first.clone());
        }
        let id_width = plans.iter().map(|p| p.result_id().len()).max().unwrap_or(0);
        self.steps = Some(StepsBar { bar, names, id_width });
    }

    fn step_finished(&mut self, index: usize, step: &StepResult) {
        let Some(s) = &self.steps else { return };
        let line = step_line(index, s.names.len(), s.id_width, step);
        if s.bar.is_hidden() {
            crate::errln!("{line}");
        } else {
            s.bar.println(line);
        }
        s.bar.inc(1);
        if let Some(next) = s.names.get(index + 1) {
            s.bar.set_message(next.clone());
        }
    }

    fn steps_done(&mut self) {
        if let Some(s) = self.steps.take() {
            s.bar.finish_and_clear();
        }
    }

    fn headline(&mut self, side: &crate::results::SideBySide) {
        for line in headline(side) {
            crate::errln!("{line}");
        }
    }
}

/// The headline rounds in one line each: what Rust and NumPy took (medians of the rounds)
/// and how each of mmap-lab's goals fared.
pub fn headline(side: &crate::results::SideBySide) -> Vec<String> {
    use crate::results::RoundTimes;
    use crate::stats::median_range;
    let goals = crate::report::peers::goals(side);
    type Pick = fn(&RoundTimes) -> Option<u64>;
    let picks: [(&str, Pick); 2] =
        [("open + first element", |t| t.open_first_ns), ("full pass", |t| t.pass_ns)];
    let mut lines = vec![format!(
        "headline: {} in {} rounds, Rust and NumPy in turn (medians)",
        side.step,
        side.rust.len()
    )];
    for ((what, pick), goal) in picks.iter().zip(&goals) {
        let rust = median_range(side.rust.iter().filter_map(pick)).map(|m| m.0);
        let numpy = median_range(side.numpy.iter().filter_map(pick)).map(|m| m.0);
        let (Some(rust), Some(numpy)) = (rust, numpy) else { continue };
        lines.push(format!(
            "  {what:<21} Rust {:>9}, NumPy {:>9}; goal \"{}\": {} ({})",
            human_nanos(rust),
            human_nanos(numpy),
            goal.what,
            goal.verdict.name(),
            goal.shown.as_deref().unwrap_or("–"),
        ));
    }
    lines
}

/// What a finished run found, in a few lines: the claims' verdicts (those that do not hold
/// named), the headline against NumPy, and anything unexpected.
pub fn findings(run: &crate::results::Results) -> Vec<String> {
    use crate::report::claims::{self, Verdict};
    let checks = claims::check(run);
    let counts: Vec<String> =
        [Verdict::Holds, Verdict::DoesNotHold, Verdict::Misleading, Verdict::NotMeasured]
            .into_iter()
            .map(|v| (v, checks.iter().filter(|c| c.verdict == v).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {}", if n == 1 { v.name().to_owned() } else { plural(v) }))
            .collect();
    let mut lines = vec![format!("the tutorial's {} claims: {}", checks.len(), counts.join(", "))];
    for c in checks.iter().filter(|c| c.verdict != Verdict::Holds) {
        lines.push(format!(
            "  {:<14} {} — measured: {}",
            c.verdict.name(),
            c.claim,
            c.measured.replace('`', "")
        ));
    }
    if let Some(side) = run.side_by_side.as_ref().filter(|s| s.rust.len() > 1) {
        lines.extend(headline(side));
    }
    let mut unexpected: Vec<String> = run
        .steps
        .iter()
        .filter(|s| s.status != s.expected_status)
        .map(|s| {
            format!("{} ended {} (its spec expects {})", s.key(), s.status.name(), s.expected_status.name())
        })
        .collect();
    unexpected.extend(
        run.steps
            .iter()
            .filter(|s| s.peer.as_ref().is_some_and(|p| !p.agrees))
            .map(|s| format!("NumPy disagrees with {}", s.key())),
    );
    unexpected.extend(
        run.steps
            .iter()
            .filter(|s| s.cache_report.is_some_and(|c| !c.verified))
            .map(|s| format!("{}: the {} cache could not be established", s.key(), s.cache.name())),
    );
    if unexpected.is_empty() {
        lines.push("unexpected: nothing (every step ended as its spec expects)".to_owned());
    } else {
        lines.push(format!("unexpected ({}):", unexpected.len()));
        lines.extend(unexpected.into_iter().map(|u| format!("  {u}")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Results;

    fn fixture() -> Results {
        serde_json::from_str(include_str!("../tests/data/small-results.json"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn findings_give_the_verdicts_the_headline_and_what_was_unexpected() {
        let mut run = fixture();
        let checks = crate::report::claims::check(&run);
        let lines = findings(&run);
        let not_holding =
            checks.iter().filter(|c| c.verdict != crate::report::claims::Verdict::Holds).count();
        assert!(lines[0].starts_with(&format!("the tutorial's {} claims: ", checks.len())), "{lines:?}");
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("  ") && l.contains(" — measured: ")).count(),
            not_holding
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("unexpected: nothing (every step ended as its spec expects)")
        );
        if run.side_by_side.as_ref().is_some_and(|s| s.rust.len() > 1) {
            assert!(lines.iter().any(|l| l.starts_with("headline: ")), "{lines:?}");
            assert!(lines.iter().any(|l| l.contains("goal \"full pass at least as fast\"")), "{lines:?}");
        }
        run.steps[0].status = crate::spec::Status::Crashed;
        let lines = findings(&run);
        assert!(lines.iter().any(|l| l == "unexpected (1):"), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains(&run.steps[0].key()) && l.contains("crashed")), "{lines:?}");
    }

    #[test]
    fn step_lines_keep_their_columns_whatever_the_id() {
        let run = fixture();
        let width = run.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
        let columns: Vec<usize> = run
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| step_line(i, run.steps.len(), width, s).find(s.cache.name()).unwrap_or(0))
            .collect();
        assert!(columns.windows(2).all(|w| w[0] == w[1]), "{columns:?}");
    }
}
