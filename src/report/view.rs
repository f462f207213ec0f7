//! How runs and steps are named and ordered in every output, so that the markdown, the
//! CSV and the plots all speak of them the same way.

use crate::cache::CacheState;
use crate::results::{Results, StepResult};
use crate::spec::Status;

/// A name for each run: its host name when every run has a different one, else `run N`.
pub fn run_labels(runs: &[Results]) -> Vec<String> {
    let names: Vec<&str> = runs.iter().map(|r| r.machine.hostname.as_str()).collect();
    let distinct =
        names.iter().all(|n| !n.is_empty()) && names.iter().enumerate().all(|(i, n)| !names[..i].contains(n));
    if runs.len() == 1 && !names[0].is_empty() {
        return vec![names[0].to_owned()];
    }
    (0..runs.len())
        .map(|i| if distinct { format!("run {}: {}", i + 1, names[i]) } else { format!("run {}", i + 1) })
        .collect()
}

pub use crate::spec::TUTORIAL;

/// The ids of a run's tutorial steps, each once, in the order the run made them (spec
/// order). Experiments of other groups have plots and tables of their own.
pub fn step_ids(run: &Results) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for s in run.steps.iter().filter(|s| s.group == TUTORIAL) {
        if !ids.contains(&s.id.as_str()) {
            ids.push(&s.id);
        }
    }
    ids
}

/// A run's tutorial steps (every cache state), in run order.
pub fn tutorial_steps(run: &Results) -> impl Iterator<Item = &StepResult> {
    run.steps.iter().filter(|s| s.group == TUTORIAL)
}

/// A run's steps of `group`, in run order.
pub fn group_steps<'a>(run: &'a Results, group: &'a str) -> impl Iterator<Item = &'a StepResult> {
    run.steps.iter().filter(move |s| s.group == group)
}

/// A run's sharing steps (those with workers), each experiment's together in the order they
/// first ran, and within one in increasing K (they may run in another order).
pub fn sharing_steps(run: &Results) -> Vec<&StepResult> {
    let mut steps: Vec<&StepResult> = run.steps.iter().filter(|s| s.workers.is_some()).collect();
    let first = |s: &StepResult| steps_position(run, &s.group, &s.title);
    steps.sort_by_key(|s| (first(s), s.workers.as_ref().map_or(0, |w| w.count)));
    steps
}

/// Where the first step of `group` titled `title` stands in the run.
fn steps_position(run: &Results, group: &str, title: &str) -> usize {
    run.steps.iter().position(|s| s.group == group && s.title == title).unwrap_or(usize::MAX)
}

/// The ids of all runs' tutorial steps, each once: the first run's order, then any new ones.
pub fn all_step_ids(runs: &[Results]) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for run in runs {
        for id in step_ids(run) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The cache states present in any run, warm first.
pub fn caches(runs: &[Results]) -> Vec<CacheState> {
    [CacheState::Warm, CacheState::Cold]
        .into_iter()
        .filter(|c| runs.iter().any(|r| r.steps.iter().any(|s| s.cache == *c)))
        .collect()
}

/// The tutorial steps that ran warm but not cold in a run that ran cold steps (the np.memmap
/// steps, whose cold pass would be `npy_load_mmap`'s disk read again), each once.
pub fn warm_only_steps(runs: &[Results]) -> Vec<&str> {
    const READ_COLD: &str = "npy_load_mmap";
    let mut ids: Vec<&str> = Vec::new();
    for run in runs.iter().filter(|r| r.run.complete && r.step(READ_COLD, CacheState::Cold).is_some()) {
        for id in step_ids(run).into_iter().filter(|id| *id != READ_COLD) {
            let warm_only =
                run.step(id, CacheState::Warm).is_some_and(|s| s.open != "load" && s.access == "full_pass")
                    && run.step(id, CacheState::Cold).is_none();
            if warm_only && !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// A sentence for a plot's caption naming the [`warm_only_steps`] and why they ran warm only
/// (empty when there are none).
pub fn warm_only_sentence(runs: &[Results]) -> String {
    let ids = warm_only_steps(runs);
    if ids.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    let last = names.pop().unwrap_or_default();
    let names = if names.is_empty() { last } else { format!("{} and {last}", names.join(", ")) };
    format!(
        " {names} ran warm only: cold, each would map the same bytes and read them from the disk \
         from the first to the last, the read `npy_load_mmap` makes cold, so that step's cold pass \
         stands for theirs."
    )
}

/// The step `id` of a run that completed, warm if there is one, else cold: for figures
/// that hold for either cache state (shapes, values, object sizes, memory after a pass).
pub fn pick<'a>(run: &'a Results, id: &str) -> Option<&'a StepResult> {
    [CacheState::Warm, CacheState::Cold]
        .into_iter()
        .filter_map(|c| run.step(id, c))
        .find(|s| s.status == Status::Ok)
}

/// Whether the runs measured arrays of different shapes or dtypes (their byte figures
/// then differ by the data's size, and plots scale each run on its own).
pub fn shapes_differ(runs: &[Results]) -> bool {
    runs.windows(2)
        .any(|w| w[0].dataset.shape != w[1].dataset.shape || w[0].dataset.dtype != w[1].dataset.dtype)
}

/// The warning a combined report starts with when [`shapes_differ`]: each run's shape.
pub fn shapes_warning(runs: &[Results]) -> Option<String> {
    if !shapes_differ(runs) {
        return None;
    }
    let labels = run_labels(runs);
    let each: Vec<String> = runs
        .iter()
        .zip(&labels)
        .map(|(r, l)| format!("{} {} in {l}", r.dataset.shape.python(), r.dataset.dtype))
        .collect();
    Some(format!(
        "**These runs measured arrays of different sizes** ({}): bytes, faults and times differ by the \
         data's size as much as by the machine. The memory plot draws each run on its own scale; compare \
         ratios (verdicts, faults per page), not absolute figures.",
        each.join(", ")
    ))
}

/// The tool that measured page-cache residency in `runs`, for a sentence: `` `cachestat` ``
/// when every run names the same one, else each run's, or both tools when results do not
/// say (written before the tool was recorded).
pub fn residency_tool(runs: &[Results]) -> String {
    let mut tools: Vec<Option<&str>> = runs.iter().map(|r| r.machine.residency_tool.as_deref()).collect();
    tools.dedup();
    match tools.as_slice() {
        [Some(tool)] => format!("`{tool}`"),
        [_] | [] => runs.first().map_or_else(String::new, |r| r.machine.residency_tool_md()),
        _ => "`cachestat` or `mincore`, as each run's machine table says".to_owned(),
    }
}

/// A spec's NumPy call as it applies to `run`: the tutorial's shape `(4002, 120, 120, 3)`
/// in the spec's text becomes the run's own shape.
pub fn numpy_call(run: &Results, call: &str) -> String {
    let tutorial = crate::shape::Shape::tutorial().python();
    call.replace(&format!("shape={tutorial}"), &format!("shape={}", run.dataset.shape.python()))
}

/// Bytes of one sample (the array's first axis) of `run`'s dataset.
pub fn sample_bytes(run: &Results) -> u64 {
    let elements: usize = run.dataset.shape.0.iter().skip(1).product();
    elements as u64 * run.dataset.dtype.itemsize()
}

/// How many samples a step read, from the bytes it touched.
pub fn samples_read(run: &Results, step: &StepResult) -> Option<u64> {
    Some(step.bytes_touched? / sample_bytes(run).max(1))
}

/// A short label for a step, for axes and legends: what it opens and how, derived from the
/// step's `open` description (`memmap(dtype=float64, offset=128, shape=(..))` becomes
/// `np.memmap .npy float64 offset=128 +shape`); its id when the description is unfamiliar.
pub fn short_label(step: &StepResult) -> String {
    let file = match step.file {
        crate::spec::FileKind::Npy | crate::spec::FileKind::NpyCopy => ".npy",
        _ => ".rbf",
    };
    let open = step.open.as_str();
    let label = if open == "load" {
        Some("np.load (reads all)".to_owned())
    } else if open.starts_with("load_mmap") {
        Some("np.load mmap_mode='r'".to_owned())
    } else if let Some(args) = open.strip_prefix("memmap(") {
        let arg = |key: &str| {
            let start = args.find(key)? + key.len();
            let rest = &args[start..];
            Some(rest[..rest.find([',', ')']).unwrap_or(rest.len())].to_owned())
        };
        arg("dtype=").map(|dtype| {
            let mut label = format!("np.memmap {file} {dtype}");
            if let Some(offset) = arg("offset=").filter(|o| o != "0") {
                label.push_str(&format!(" offset={offset}"));
            }
            if !args.contains("shape=None") {
                label.push_str(" +shape");
            }
            label
        })
    } else {
        None
    };
    let label = label.unwrap_or_else(|| step.id.clone());
    if step.access == "full_pass" { label } else { format!("{label} · {}", step.access) }
}

/// Labels for `ids` in `runs`: [`short_label`]s, or the ids themselves where two steps
/// would share a label.
pub fn step_labels(runs: &[Results], ids: &[&str]) -> Vec<String> {
    let short: Vec<String> = ids
        .iter()
        .map(|id| {
            runs.iter()
                .find_map(|r| r.steps.iter().find(|s| s.id == *id))
                .map_or_else(|| (*id).to_owned(), short_label)
        })
        .collect();
    short
        .iter()
        .enumerate()
        .map(
            |(i, l)| if short.iter().filter(|o| *o == l).count() > 1 { ids[i].to_owned() } else { l.clone() },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Results {
        serde_json::from_str(include_str!("../../tests/data/small-results.json")).unwrap()
    }

    #[test]
    fn labels_say_what_each_step_opens() {
        let run = fixture();
        let ids = step_ids(&run);
        assert_eq!(ids.len(), 6, "each step once, in spec order");
        assert_eq!(ids[0], "npy_load_mmap");
        let labels = step_labels(std::slice::from_ref(&run), &ids);
        assert_eq!(labels[0], "np.load mmap_mode='r'");
        assert_eq!(labels[1], "np.memmap .npy uint8");
        assert_eq!(labels[2], "np.memmap .npy float64");
        assert_eq!(labels[3], "np.memmap .rbf float64 +shape");
        assert_eq!(labels[4], "np.memmap .npy float64 offset=128 +shape");
        assert_eq!(labels[5], "np.load (reads all)");
    }

    #[test]
    fn runs_are_named_by_host_only_when_hosts_differ() {
        let a = fixture();
        let mut b = fixture();
        assert_eq!(run_labels(std::slice::from_ref(&a)), ["vm"]);
        assert_eq!(run_labels(&[a.clone(), b.clone()]), ["run 1", "run 2"]);
        b.machine.hostname = "ci-6.1".to_owned();
        assert_eq!(run_labels(&[a, b]), ["run 1: vm", "run 2: ci-6.1"]);
    }
}
