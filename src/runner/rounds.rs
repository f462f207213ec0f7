//! The headline comparison, repeated: the tutorial's first step (`np.load(mmap_mode='r')`,
//! warm cache) run again a few times, Rust and NumPy taking turns at going first, each in a
//! fresh process after the same cache preparation. Times of tens of microseconds vary from
//! one process to the next by more than the difference being measured; medians over rounds
//! do not.

use crate::cache::CacheState;
use crate::results::{SideBySide, StepResult};
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

/// The headline step's rounds, as the runner ran them ([`crate::runner::run_one`]: Rust
/// and NumPy taking turns at going first), the step's own run first; a round whose NumPy
/// peer disagrees is left out. `None` when there is no headline step with an agreeing
/// NumPy peer among `plans`, or it ran fewer than two rounds.
pub fn side_by_side(plans: &[StepPlan], steps: &[StepResult]) -> Option<SideBySide> {
    let agreed = |s: &StepResult| s.peer.as_ref().is_some_and(|p| p.agrees);
    let (_, first) = plans.iter().zip(steps).find(|(p, s)| is_headline(p) && agreed(s))?;
    let rounds: Vec<_> = first.rounds.iter().filter(|r| r.agrees).collect();
    if rounds.len() < 2 {
        return None;
    }
    Some(SideBySide {
        step: first.key(),
        rust: rounds.iter().map(|r| r.rust).collect(),
        numpy: rounds.iter().map(|r| r.numpy).collect(),
    })
}
