//! The headline comparison, repeated: the tutorial's first step (`np.load(mmap_mode='r')`,
//! warm cache) run again a few times, Rust and NumPy taking turns at going first, each in a
//! fresh process after the same cache preparation. Times of tens of microseconds vary from
//! one process to the next by more than the difference being measured; medians over rounds
//! do not.

use anyhow::Result;

use super::{RunOptions, run_one};
use crate::cache::CacheState;
use crate::peer::{PeerChoice, PeerPlan};
use crate::results::{RoundTimes, SideBySide, StepResult};
use crate::spec::Method;
use crate::step::StepPlan;

/// Rounds in all (the step's own run included) when the user does not say.
pub const DEFAULT_ROUNDS: u32 = 7;

/// The step whose comparison the report leads with: the tutorial's `load_mmap`, warm.
pub fn is_headline(plan: &StepPlan) -> bool {
    plan.spec.group == crate::spec::TUTORIAL
        && plan.spec.open.method == Method::LoadMmap
        && plan.cache == CacheState::Warm
}

/// Runs the headline step `options.rounds - 1` more times beside NumPy and gathers every
/// round's times, the step's own run first; a round whose NumPy peer disagrees is left
/// out. `None` when there is no headline step with an agreeing NumPy peer among `plans`,
/// or fewer than two rounds are asked for. Stops between rounds when the run is
/// interrupted. `progress` is told of each round done.
pub fn run(
    plans: &[StepPlan],
    steps: &[StepResult],
    options: &RunOptions,
    mut progress: impl FnMut(u32),
) -> Result<Option<SideBySide>> {
    if options.rounds < 2 {
        return Ok(None);
    }
    // Only a step NumPy agrees with is worth timing again.
    let agreed = |s: &StepResult| s.peer.as_ref().is_some_and(|p| p.agrees);
    let Some((plan, first)) = plans.iter().zip(steps).find(|(p, s)| is_headline(p) && agreed(s)) else {
        return Ok(None);
    };
    let mut side = SideBySide { step: first.key(), rust: Vec::new(), numpy: Vec::new() };
    let mut add = |step: &StepResult| {
        if let Some(peer) = step.peer.as_ref().filter(|p| p.agrees) {
            side.rust.push(RoundTimes::of(&step.snapshots));
            side.numpy.push(RoundTimes::of(&peer.snapshots));
        }
    };
    add(first);
    for round in 2..=options.rounds {
        if crate::interrupt::interrupted() {
            break;
        }
        // Who goes first alternates: the first process after a cache preparation that had
        // to read the file, or after the kernel's background work of earlier steps, can be
        // slowed by it; taking turns keeps that from always landing on the same side.
        let step = if round % 2 == 0 { numpy_then_rust(plan, options)? } else { run_one(plan, options)? };
        add(&step);
        progress(round);
    }
    Ok(Some(side))
}

/// One round with NumPy's peer first, then the Rust step, each after its own cache
/// preparation; the Rust step's result carries the peer, checked as `run_one` checks it.
fn numpy_then_rust(plan: &StepPlan, options: &RunOptions) -> Result<StepResult> {
    let PeerChoice::Use(python) = &options.numpy else { return run_one(plan, options) };
    let Ok(peer_plan) = PeerPlan::for_step(plan) else { return run_one(plan, options) };
    let mut numpy = crate::peer::prepare_and_run(plan, &peer_plan, python, options.step_timeout)?;
    let alone = RunOptions { numpy: PeerChoice::Without("run first, above".to_owned()), ..options.clone() };
    let mut rust = run_one(plan, &alone)?;
    crate::peer::agree::check(&rust, &mut numpy);
    rust.peer = Some(numpy);
    Ok(rust)
}
