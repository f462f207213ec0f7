//! Judging steps by what the machine and NumPy allow, from the run itself: each pass's speed
//! as a share of the machine's limit measured in the same run, and each step's paired
//! rounds beside NumPy summed up as a median ratio with its spread.

use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

use crate::cache::{CacheState, SequentialRead};
use crate::results::{Limits, PairedRound, RoundTimes, SpanLimit, StepResult, rate};
use crate::spec::Status;
use crate::stats::{median, median_spread};
use crate::units::Nanos;

/// The access patterns that read their bytes from start to end: the passes a limit judges.
const PASSES: [&str; 4] = ["full_pass", "first_n", "channel", "tracked_pass"];

/// Whether `step` is a pass over its bytes in order, judged against the machine's limit.
pub fn is_pass(step: &StepResult) -> bool {
    PASSES.contains(&step.access.as_str()) && step.workers.is_none()
}

/// The limits of a run: the in-memory pass of `npy_load[warm]` (the array read into the
/// process's own memory, then summed: the median of the passes every Rust round timed, with
/// their spread), and the sequential read after an eviction, when one was timed.
pub fn measure(steps: &[StepResult], file: Option<&Path>, cold_reads: &[SequentialRead]) -> Option<Limits> {
    let load = steps.iter().find(|s| {
        s.open == "load"
            && s.cache == CacheState::Warm
            && s.access == "full_pass"
            && s.status == Status::Ok
            && s.bytes_touched.is_some()
            && s.workers.is_none()
    });
    let spans: Vec<SpanLimit> = load
        .map(|s| {
            s.memory_passes
                .iter()
                .filter_map(|m| {
                    let times: Vec<f64> = m.passes_ns.iter().map(|&ns| ns as f64).collect();
                    let (_, spread) = crate::stats::median_spread(&times)?;
                    Some(SpanLimit {
                        bytes: m.bytes,
                        pass_ns: median(&m.passes_ns)?,
                        spread_ns: spread.round() as Nanos,
                        passes: m.passes_ns.len() as u32,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let whole =
        spans.iter().max_by_key(|s| s.bytes).filter(|s| Some(s.bytes) == load.and_then(|l| l.bytes_touched));
    let pass = whole
        .map(|s| s.pass_ns)
        .or_else(|| load.and_then(|s| median_of(&rounds_or_first(s), |r| r.rust.pass_ns)));
    let reads: Vec<&SequentialRead> = cold_reads.iter().collect();
    let fastest = reads.iter().min_by_key(|r| r.ns);
    let limits = Limits {
        in_memory_step: load.map(StepResult::key),
        in_memory_pass_ns: pass,
        in_memory_bytes: load.and_then(|s| s.bytes_touched),
        in_memory_spans: spans,
        cold_read_file: file.filter(|_| fastest.is_some()).map(crate::paths::portable),
        cold_read_ns: fastest.map(|r| r.ns),
        cold_reads_ns: reads.iter().map(|r| r.ns).collect(),
        cold_read_bytes: fastest.map(|r| r.bytes),
    };
    (limits.in_memory_pass_ns.is_some() || limits.cold_read_ns.is_some()).then_some(limits)
}

/// The step's rounds, or its one run as a round when it ran no rounds (no NumPy peer).
fn rounds_or_first(step: &StepResult) -> Vec<PairedRound> {
    if step.rounds.is_empty() {
        let rust = RoundTimes::of(&step.snapshots);
        vec![PairedRound { rust_first: true, rust, numpy: RoundTimes::default(), agrees: false }]
    } else {
        step.rounds.clone()
    }
}

/// The median of the picked times ([`crate::stats::median`]).
fn median_of(rounds: &[PairedRound], pick: impl Fn(&PairedRound) -> Option<Nanos>) -> Option<Nanos> {
    median(&rounds.iter().filter_map(pick).collect::<Vec<Nanos>>())
}

/// A pass's speed on each side as a share of the limit for its cache state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Share {
    /// The Rust pass's bytes per second ÷ the limit's (median over its rounds).
    pub rust: Option<f64>,
    /// NumPy's.
    pub numpy: Option<f64>,
    /// The spread of Rust's share, in the same units: its rounds' median distance and the
    /// limit's (warm: the in-memory passes'), each relative to its median, added in quadrature.
    pub rust_spread: Option<f64>,
    /// NumPy's.
    pub numpy_spread: Option<f64>,
}

/// The share of the limit each side's pass reached, for a pass step under a measured limit.
///
/// Cold, a step that [`reads_at_open`] is judged on open plus pass against the cold read:
/// whichever side copies the array reads the disk at open and passes over its own memory
/// after, so its pass alone against the disk's speed would say nothing (a copying side's
/// in-memory pass came out at 981% of the cold read). Warm, a loaded array's pass reads the
/// process's own memory and is judged against the in-memory pass.
pub fn share(step: &StepResult, limits: Option<&Limits>) -> Option<Share> {
    if !is_pass(step) || step.status != Status::Ok {
        return None;
    }
    let whole = reads_at_open(step) && step.cache == CacheState::Cold;
    let state = if step.open == "load" && !whole { CacheState::Warm } else { step.cache };
    let bytes = step.bytes_touched?;
    let limits = limits?;
    let limit = limits.rate_for(state, bytes)?;
    let limit_spread = match state {
        CacheState::Warm => limits.warm_spread_for(bytes).unwrap_or(0.0),
        CacheState::Cold => 0.0,
    };
    let rounds = rounds_or_first(step);
    let judged = |t: &RoundTimes| if whole { Some(t.open_first_ns? + t.pass_ns?) } else { t.pass_ns };
    let of = |side: fn(&PairedRound) -> &RoundTimes| {
        median_of(&rounds, |r| judged(side(r))).and_then(|ns| rate(bytes, ns)).map(|r| r / limit)
    };
    let spread_of = |side: fn(&PairedRound) -> &RoundTimes, share: Option<f64>| {
        let times: Vec<f64> = rounds.iter().filter_map(|r| judged(side(r))).map(|ns| ns as f64).collect();
        let (mid, spread) = crate::stats::median_spread(&times).filter(|(mid, _)| *mid > 0.0)?;
        Some(share? * (spread / mid).hypot(limit_spread))
    };
    let (rust, numpy) = (of(|r| &r.rust), if step.rounds.is_empty() { None } else { of(|r| &r.numpy) });
    Some(Share {
        rust,
        numpy,
        rust_spread: spread_of(|r| &r.rust, rust),
        numpy_spread: numpy.and_then(|_| spread_of(|r| &r.numpy, numpy)),
    })
}

/// A step's paired rounds, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    /// Rounds with both times, NumPy agreeing.
    pub rounds: usize,
    /// Whether both orders occur among them (Rust first in one, NumPy first in another).
    pub alternated: bool,
    /// The median of the rounds' NumPy time ÷ Rust time (Rust's speed ÷ NumPy's: above 1,
    /// Rust is faster).
    pub ratio: f64,
    /// The median distance of the rounds' ratios from it.
    pub spread: f64,
    /// Median times, Rust and NumPy.
    pub rust_ns: Nanos,
    /// NumPy's median time.
    pub numpy_ns: Nanos,
}

impl Paired {
    /// Whether Rust is behind NumPy beyond the rounds' spread, as the table shows them (two
    /// decimals): a median of 0.998× ± 0.001× reads "1.00× ± 0.00×", and is not behind.
    pub fn behind(&self) -> bool {
        ((self.ratio + self.spread) * 100.0).round() < 100.0
    }
}

/// Whether `step` reads its file at open (`load`, and the formats' libraries, some of which
/// copy or inflate the array there): judged on open plus pass, where that work is.
pub fn reads_at_open(step: &StepResult) -> bool {
    step.open == "load" || step.group == "formats"
}

/// The paired summary of `step`'s rounds, on the time it is judged by
/// ([`RoundTimes::judged`], or open plus pass for a step that [`reads_at_open`]); `None`
/// without an agreeing round having both times.
pub fn paired(step: &StepResult) -> Option<Paired> {
    let both = judged_rounds(step);
    if both.is_empty() {
        return None;
    }
    let ratios: Vec<f64> = both.iter().map(|(_, r, n)| *n as f64 / *r as f64).collect();
    let (ratio, spread) = median_spread(&ratios)?;
    let rust: Vec<Nanos> = both.iter().map(|b| b.1).collect();
    let numpy: Vec<Nanos> = both.iter().map(|b| b.2).collect();
    Some(Paired {
        rounds: both.len(),
        alternated: both.iter().any(|b| b.0.rust_first) && both.iter().any(|b| !b.0.rust_first),
        ratio,
        spread,
        rust_ns: median(&rust)?,
        numpy_ns: median(&numpy)?,
    })
}

/// The agreeing rounds of `step` that have both times, with the time each side is judged by
/// ([`paired`]).
fn judged_rounds(step: &StepResult) -> Vec<(&PairedRound, Nanos, Nanos)> {
    let whole = reads_at_open(step);
    let judged = |t: &RoundTimes| if whole { Some(t.open_first_ns? + t.pass_ns?) } else { t.judged() };
    step.rounds
        .iter()
        .filter(|r| r.agrees)
        .filter_map(|r| Some((r, judged(&r.rust)?, judged(&r.numpy)?)))
        .filter(|(_, rust, _)| *rust > 0)
        .collect()
}

/// Rust ÷ NumPy over the rounds of `step` during which no free page reporting pass handed
/// memory back on either side, when some other round met one: how many such rounds, and
/// the median of their ratios. `None` when every round met a pass, when none did, or where
/// the kernel does not count what it reported.
pub fn paired_without_passes(step: &StepResult) -> Option<(usize, f64)> {
    let both = judged_rounds(step);
    let clean = |r: &PairedRound| r.rust.reported_bytes == Some(0) && r.numpy.reported_bytes == Some(0);
    let counted = |r: &PairedRound| r.rust.reported_bytes.is_some() && r.numpy.reported_bytes.is_some();
    if !both.iter().all(|(r, ..)| counted(r)) {
        return None;
    }
    let ratios: Vec<f64> =
        both.iter().filter(|(r, ..)| clean(r)).map(|(_, rust, numpy)| *numpy as f64 / *rust as f64).collect();
    if ratios.is_empty() || ratios.len() == both.len() {
        return None;
    }
    Some((ratios.len(), median(&ratios)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(rust_first: bool, rust: Nanos, numpy: Nanos) -> PairedRound {
        let t = |ns| RoundTimes {
            open_first_ns: Some(10),
            pass_ns: Some(ns),
            open_ns: Some(5),
            reported_bytes: None,
        };
        PairedRound { rust_first, rust: t(rust), numpy: t(numpy), agrees: true }
    }

    #[test]
    fn paired_rounds_give_the_median_ratio_and_whether_the_order_alternated() {
        let mut step: StepResult = serde_json::from_str(include_str!("../../tests/data/small-results.json"))
            .map(|r: crate::results::Results| r.steps[0].clone())
            .unwrap();
        step.rounds = vec![round(true, 100, 200), round(false, 100, 100), round(true, 100, 400)];
        let p = paired(&step).unwrap();
        assert_eq!((p.rounds, p.alternated), (3, true));
        assert_eq!((p.ratio, p.spread), (2.0, 1.0));
        assert_eq!((p.rust_ns, p.numpy_ns), (100, 200));
        step.rounds.retain(|r| r.rust_first);
        assert!(!paired(&step).unwrap().alternated);
        step.rounds.clear();
        assert!(paired(&step).is_none());
    }

    #[test]
    fn behind_is_judged_at_the_precision_the_table_shows() {
        let p =
            |ratio, spread| Paired { rounds: 2, alternated: true, ratio, spread, rust_ns: 1, numpy_ns: 1 };
        assert!(!p(0.998, 0.001).behind(), "shown as 1.00× ± 0.00×");
        assert!(p(0.98, 0.01).behind(), "0.98× ± 0.01×");
        assert!(!p(0.9, 0.1).behind(), "within its spread");
        assert!(p(0.5, 0.2).behind());
    }

    #[test]
    fn rounds_without_a_pass_are_judged_apart_only_beside_rounds_with_one() {
        let mut step: StepResult = serde_json::from_str(include_str!("../../tests/data/small-results.json"))
            .map(|r: crate::results::Results| r.steps[0].clone())
            .unwrap();
        let reported = |mut r: PairedRound, rust: u64, numpy: u64| {
            r.rust.reported_bytes = Some(rust);
            r.numpy.reported_bytes = Some(numpy);
            r
        };
        step.rounds = vec![
            reported(round(true, 400, 100), 500 << 20, 0),
            reported(round(false, 100, 90), 0, 0),
            reported(round(true, 100, 110), 0, 0),
            reported(round(false, 100, 300), 0, 200 << 20),
        ];
        assert_eq!(paired_without_passes(&step), Some((2, 1.0)), "the median of 0.9 and 1.1");
        // A pass on NumPy's side counts as well: one clean round left.
        step.rounds[2].numpy.reported_bytes = Some(2 << 20);
        assert_eq!(paired_without_passes(&step), Some((1, 0.9)));
        // No round without a pass, or no round with one: nothing apart to tell.
        step.rounds[1].rust.reported_bytes = Some(4 << 20);
        assert_eq!(paired_without_passes(&step), None);
        for r in &mut step.rounds {
            (r.rust.reported_bytes, r.numpy.reported_bytes) = (Some(0), Some(0));
        }
        assert_eq!(paired_without_passes(&step), None);
        // A kernel that does not count what it reported: no round is known to be clean.
        step.rounds[0].rust.reported_bytes = Some(300 << 20);
        step.rounds[3].numpy.reported_bytes = None;
        assert_eq!(paired_without_passes(&step), None);
    }

    /// The fixture's steps, the index of its warm load (the in-memory reference) and the
    /// bytes that load summed.
    fn fixture_with_load() -> (Vec<StepResult>, usize, crate::units::Bytes) {
        let run: crate::results::Results =
            serde_json::from_str(include_str!("../../tests/data/small-results.json")).unwrap();
        let load = run.steps.iter().position(|s| s.open == "load" && s.cache == CacheState::Warm).unwrap();
        let bytes = run.steps[load].bytes_touched.unwrap();
        (run.steps, load, bytes)
    }

    #[test]
    fn shares_come_from_the_limit_measured_in_the_same_run() {
        let (mut steps, load, bytes) = fixture_with_load();
        steps[load].rounds =
            vec![round(true, 1_000, 1_000), round(false, 3_000, 1_000), round(true, 2_000, 1_000)];
        let reads = [SequentialRead { ns: 5_000, bytes }, SequentialRead { ns: 4_000, bytes }];
        let limits = measure(&steps, Some(&PathBuf::from("X_train.npy")), &reads).unwrap();
        assert_eq!(limits.in_memory_pass_ns, Some(2_000), "the median of the load's Rust rounds");
        assert_eq!((limits.cold_read_ns, limits.cold_reads_ns.len()), (Some(4_000), 2), "the faster read");
        let mut pass = steps[load].clone();
        pass.open = "load_mmap".to_owned();
        pass.rounds = vec![round(true, 4_000, 2_000)];
        let s = share(&pass, Some(&limits)).unwrap();
        assert_eq!((s.rust, s.numpy), (Some(0.5), Some(1.0)));
        pass.cache = CacheState::Cold;
        assert_eq!(share(&pass, Some(&limits)).unwrap().rust, Some(1.0), "cold: against the read");
        pass.open = "load".to_owned();
        pass.rounds = vec![round(true, 3_990, 1_990)];
        let cold_load = share(&pass, Some(&limits)).unwrap();
        assert_eq!(
            (cold_load.rust, cold_load.numpy),
            (Some(1.0), Some(2.0)),
            "cold, read at open: open + pass"
        );
        pass.cache = CacheState::Warm;
        pass.rounds = vec![round(true, 4_000, 2_000)];
        assert_eq!(
            share(&pass, Some(&limits)).unwrap().rust,
            Some(0.5),
            "a loaded array, warm: against memory"
        );
        pass.cache = CacheState::Cold;
        steps[load].memory_passes = vec![
            crate::results::MemoryPasses { bytes: bytes / 4, passes_ns: vec![500, 100, 300] },
            crate::results::MemoryPasses { bytes, passes_ns: vec![9_000, 1_000, 4_000] },
        ];
        let timed = measure(&steps, None, &[]).unwrap();
        assert_eq!(timed.in_memory_pass_ns, Some(4_000), "the passes timed over the loaded array first");
        let whole = timed.span_for(bytes).unwrap();
        assert_eq!(
            (whole.spread_ns, whole.passes),
            (3_000, 3),
            "9,000, 1,000 and 4,000: 3,000 from the median"
        );
        assert_eq!(timed.cold_read_ns, None);
        pass.open = "load_mmap".to_owned();
        pass.cache = CacheState::Warm;
        pass.bytes_touched = Some(bytes / 4);
        pass.rounds = vec![round(true, 600, 300)];
        assert_eq!(share(&pass, Some(&timed)).unwrap().rust, Some(0.5), "against the span of its size");
        pass.access = "random_elements".to_owned();
        assert!(share(&pass, Some(&limits)).is_none(), "only passes are judged against a limit");
    }

    #[test]
    fn a_share_spreads_as_its_rounds_and_the_in_memory_passes_do() {
        let (mut steps, load, bytes) = fixture_with_load();
        // In-memory passes of 1,000 ± 30 (3%).
        steps[load].memory_passes =
            vec![crate::results::MemoryPasses { bytes, passes_ns: vec![970, 1_000, 1_030, 1_100, 900] }];
        let limits = measure(&steps, None, &[]).unwrap();
        assert_eq!(limits.warm_spread_for(bytes), Some(0.03));
        let mut pass = steps[load].clone();
        pass.open = "load_mmap".to_owned();
        // Rust's rounds: 1,250 ± 50 (4%); NumPy's all alike.
        pass.rounds = vec![round(true, 1_200, 1_000), round(false, 1_300, 1_000), round(true, 1_250, 1_000)];
        let s = share(&pass, Some(&limits)).unwrap();
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(close(s.rust, 0.8) && close(s.numpy, 1.0), "{s:?}");
        assert!(close(s.rust_spread, 0.8 * 0.05), "4% and 3% in quadrature: 5% of the share, {s:?}");
        assert!(close(s.numpy_spread, 0.03), "the limit's spread alone, {s:?}");
        // Cold: one sequential read, no spread of its own; only the rounds'.
        pass.cache = CacheState::Cold;
        let reads = [SequentialRead { ns: 1_000, bytes }];
        let cold = share(&pass, Some(&measure(&steps, None, &reads).unwrap())).unwrap();
        assert!(close(cold.rust_spread, 0.8 * 0.04), "{cold:?}");
    }
}
