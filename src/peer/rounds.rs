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
    plan.spec.group == crate::report::view::TUTORIAL
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

/// The median of `values` (the lower middle one for an even count), with the least and
/// the greatest: `(median, min, max)`.
pub fn median_range(values: impl IntoIterator<Item = u64>) -> Option<(u64, u64, u64)> {
    let mut v: Vec<u64> = values.into_iter().collect();
    v.sort_unstable();
    Some((*v.get((v.len().max(1) - 1) / 2)?, *v.first()?, *v.last()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_and_the_ends() {
        assert_eq!(median_range([5, 1, 9]), Some((5, 1, 9)));
        assert_eq!(median_range([4, 1, 9, 7]), Some((4, 1, 9)));
        assert_eq!(median_range([3]), Some((3, 3, 3)));
        assert_eq!(median_range([]), None);
    }
}
