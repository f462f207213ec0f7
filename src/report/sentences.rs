//! Sentences computed from a run, shared by the markdown and the plots' captions: what
//! `MADV_RANDOM` did to the cold random reads, how many samples the policies read. A
//! sentence here states only what the run's numbers show.

use crate::cache::CacheState;
use crate::probe::Phase;
use crate::report::view;
use crate::results::{Results, StepResult};
use crate::units::{grouped, human_bytes, human_nanos};

/// A cold step run with and without `MADV_RANDOM`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdviceEffect {
    /// The step without the advice (`access_random_batches`).
    pub base: String,
    /// Its time, opening to the end of the access, without the advice.
    pub without_ns: u64,
    /// The same with `MADV_RANDOM`.
    pub with_ns: u64,
    /// Major faults (reads from the disk) without the advice.
    pub without_major: u64,
    /// Major faults with it.
    pub with_major: u64,
}

impl AdviceEffect {
    /// Whether the advice made the step faster.
    pub fn helped(&self) -> bool {
        self.with_ns < self.without_ns
    }

    /// How many times faster (when it helped) or slower (when it did not).
    pub fn ratio(&self) -> f64 {
        let (a, b) = (self.with_ns.max(1) as f64, self.without_ns.max(1) as f64);
        if self.helped() { b / a } else { a / b }
    }

    /// `5.4× slower`.
    pub fn effect(&self) -> String {
        format!("{:.1}× {}", self.ratio(), if self.helped() { "faster" } else { "slower" })
    }
}

fn total_ns(s: &StepResult) -> Option<u64> {
    s.phase_ns(Phase::BeforeOpen, Phase::AfterAccess)
}

fn major(s: &StepResult) -> Option<u64> {
    Some(
        s.snapshot(Phase::AfterAccess)?
            .major_faults
            .saturating_sub(s.snapshot(Phase::BeforeOpen)?.major_faults),
    )
}

/// Every cold step of `group` that also ran with `MADV_RANDOM` (`<base>_madv_random`).
pub fn advice_effects(run: &Results, group: &str) -> Vec<AdviceEffect> {
    view::group_steps(run, group)
        .filter(|s| s.cache == CacheState::Cold)
        .filter_map(|with| {
            let base = with.id.strip_suffix("_madv_random")?;
            let without = run.step(base, CacheState::Cold)?;
            Some(AdviceEffect {
                base: base.to_owned(),
                without_ns: total_ns(without)?,
                with_ns: total_ns(with)?,
                without_major: major(without)?,
                with_major: major(with)?,
            })
        })
        .collect()
}

/// The sentence the report prints for one effect, with the numbers it rests on.
pub fn advice_sentence(e: &AdviceEffect) -> String {
    format!(
        "Cold, `{}` took {} with the default read-ahead ({} major faults) and {} with `MADV_RANDOM` \
         ({} major faults): the advice made it {}.",
        e.base,
        human_nanos(e.without_ns),
        grouped(e.without_major),
        human_nanos(e.with_ns),
        grouped(e.with_major),
        e.effect()
    )
}

/// The access plot's caption: what it shows, and what read-ahead and `MADV_RANDOM` did in
/// this run (the first run, when there are several: each run's sentences are under it).
pub fn access_caption(runs: &[Results]) -> String {
    let mut text = "Each bar is one step of the access group: the time from opening the mapping to the end \
        of its access (a subset of samples, one channel of every image, random mini-batches of 32 \
        samples, random single values), and the page faults it took, with the file in the page cache \
        (warm) and evicted from it (cold). A strided read of one channel costs a full pass: the three \
        channels of a pixel share a page. Random access is cheap warm. Cold, every fault reads ahead \
        around the page asked for"
        .to_owned();
    let Some(run) = runs.first() else { return text + "." };
    if let Some(kb) = run.machine.read_ahead_kb {
        text.push_str(&format!(" (up to {kb} KiB on this disk)"));
    }
    text.push_str(&format!(
        ": a whole sample ({} bytes) uses much of it, a single value little. `MADV_RANDOM` turns read-ahead \
         off, so every page read is a read from the disk of its own; whether that wins depends on how \
         much of the read-ahead would have been used, and on how large the file is against it ({} here).",
        grouped(view::sample_bytes(run)),
        human_bytes(run.dataset.npy_bytes)
    ));
    let effects = advice_effects(run, "access");
    if !effects.is_empty() {
        let said: Vec<String> = effects.iter().map(|e| format!("`{}` {}", e.base, e.effect())).collect();
        text.push_str(&format!(" In this run, cold, `MADV_RANDOM` made {}.", said.join(" and ")));
    }
    text
}

/// How many samples the policies group read, and how many the array has.
pub fn policy_samples(run: &Results) -> Option<(u64, u64)> {
    let step = view::group_steps(run, "policies").find(|s| s.bytes_touched.is_some())?;
    let read = view::samples_read(run, step)?;
    Some((read, run.dataset.shape.0.first().copied().unwrap_or(0) as u64))
}

/// "the first 1000 samples" or "all 40 samples (the spec asks for the first 1000; the array
/// has 40)", from what the run read.
pub fn policy_read(run: &Results) -> String {
    match policy_samples(run) {
        Some((read, total)) if read < total => {
            format!("the first {} of {} samples", grouped(read), grouped(total))
        }
        Some((_, total)) => format!("all {} samples, the whole array", grouped(total)),
        None => "the first samples".to_owned(),
    }
}

/// The policies plot's caption.
pub fn policies_caption(runs: &[Results]) -> String {
    let run = runs.first();
    let read = run.map_or_else(|| "the first samples".to_owned(), policy_read);
    let page = run.map_or(4096, |r| r.machine.page_size.max(1));
    let whole = run.and_then(policy_samples).is_some_and(|(read, total)| read >= total);
    format!(
        "Each bar is one step of the policies group: the same read ({read}, through \
         `np.load(mmap_mode='r')`) after a different `madvise` advice or with `MAP_POPULATE`. Warm, \
         there is nothing left to read and the advice changes little. Cold, `MADV_RANDOM` turns \
         read-ahead off and every {} page becomes a separate read from the disk; `MADV_SEQUENTIAL` and \
         `MADV_WILLNEED` ask the kernel to read further ahead; `MAP_POPULATE` reads the whole file before \
         `mmap` returns{}.",
        human_bytes(page).replace(".00", ""),
        if whole { "" } else { ", even the part the read never uses" }
    )
}
