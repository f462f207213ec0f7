#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::dataset::{self, DatasetSpec};
use crate::dtype::Dtype;
use crate::shape::Shape;

/// The project's experiments, as run-all reads them.
fn project_specs() -> Vec<ExperimentSpec> {
    crate::spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments"))
        .unwrap()
        .into_iter()
        .map(|l| l.spec)
        .collect()
}

/// The plans of the project's experiments over a small dataset (its folder gone after:
/// for planning only), and the options they were made with.
pub(super) fn plans(rounds: u32) -> (Vec<StepPlan>, RunOptions) {
    let dir = tempfile::tempdir().unwrap();
    let spec = DatasetSpec { shape: Shape(vec![4, 5, 6, 3]), dtype: Dtype::F8, seed: 0 };
    let data = dataset::ensure(&spec, dir.path()).unwrap().0;
    let specs = project_specs();
    let options = RunOptions {
        caches: None,
        step_timeout: Duration::from_secs(60),
        numpy: PeerChoice::Without("a unit test".to_owned()),
        rounds,
    };
    (plan(&specs, &data, &options), options)
}

#[test]
fn every_step_gets_two_rounds_the_headline_gets_rounds_and_sharing_or_long_steps_one() {
    let (plans, options) = plans(7);
    let quick = 1_000_000;
    let long = VERY_LONG_ROUND.as_nanos() as Nanos + 1;
    let headline = plans.iter().find(|p| crate::runner::rounds::is_headline(p)).unwrap();
    assert_eq!(rounds_for(headline, &options, quick), 7, "the headline takes --rounds");
    assert_eq!(rounds_for(headline, &options, long), 7, "however long it takes");
    let other = plans.iter().find(|p| !crate::runner::rounds::is_headline(p) && p.workers.is_none()).unwrap();
    assert_eq!(rounds_for(other, &options, quick), STEP_ROUNDS, "one round in each order");
    assert_eq!(rounds_for(other, &options, long), 1, "too long to repeat");
    let sharing = plans.iter().find(|p| p.workers.is_some()).unwrap();
    assert_eq!(rounds_for(sharing, &options, quick), 1, "compared on memory, not time");
    let (plans, once) = self::plans(1);
    assert!(plans.iter().all(|p| rounds_for(p, &once, quick) == 1), "--rounds 1 runs every step once");
}

#[test]
fn plans_run_warm_then_workers_then_cold_and_come_back_in_spec_order() {
    let (plans, _) = plans(2);
    let stages: Vec<Stage> = plans.iter().map(Stage::of).collect();
    assert!(stages.windows(2).all(|w| w[0] <= w[1]), "stages in order: {stages:?}");
    for stage in [Stage::Warm, Stage::Workers, Stage::Cold] {
        assert!(stages.contains(&stage), "run-all has {stage:?} steps");
    }
    // Cold, the steps that read their whole file come first, each group in spec order.
    let cold: Vec<&StepPlan> = plans.iter().filter(|p| p.cache == CacheState::Cold).collect();
    let whole = cold.iter().take_while(|p| reads_whole_file(p)).count();
    assert!(whole > 0 && whole < cold.len(), "run-all has cold steps of both kinds");
    assert!(cold[whole..].iter().all(|p| !reads_whole_file(p)), "whole-file cold steps first");
    let first_cold = cold.iter().map(|p| p.spec.id.as_str()).collect::<Vec<_>>();
    assert_eq!(first_cold[0], "npy_load_mmap");
    let channel = first_cold.iter().position(|&id| id == "access_channel").unwrap();
    let first_n = first_cold.iter().position(|&id| id == "access_first_n").unwrap();
    assert!(channel < first_n, "the strided pass reads the whole file: {first_cold:?}");
    let specs = project_specs();
    let order = report_order(&plans, &specs);
    let mut seen = order.clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..plans.len()).collect::<Vec<_>>(), "each plan once");
    let reported: Vec<&StepPlan> = order.iter().map(|&i| &plans[i]).collect();
    let at = |id: &str| specs.iter().position(|s| s.id == id).unwrap();
    let key = |p: &StepPlan| (p.cache == CacheState::Cold, at(&p.spec.id));
    assert!(reported.windows(2).all(|w| key(w[0]) <= key(w[1])), "warm then cold, each in spec order");
    // The sharing steps sit among the warm steps again, after the steps listed before them.
    let first_cold = reported.iter().position(|p| p.cache == CacheState::Cold).unwrap();
    assert!(reported[..first_cold].iter().any(|p| p.workers.is_some()));
    let sharing = reported.iter().position(|p| p.workers.is_some()).unwrap();
    assert_eq!(reported[sharing].workers, Some(2), "a spec's worker counts as listed");
}

#[test]
fn later_rounds_add_their_in_memory_passes_span_by_span() {
    use crate::results::MemoryPasses;
    let span = |bytes, passes_ns: Vec<u64>| MemoryPasses { bytes, passes_ns };
    let mut first = vec![span(100, vec![1, 2]), span(400, vec![10, 20])];
    merge_memory_passes(&mut first, vec![span(400, vec![30]), span(100, vec![3]), span(999, vec![7])]);
    assert_eq!(
        first,
        vec![span(100, vec![1, 2, 3]), span(400, vec![10, 20, 30])],
        "a span the first round lacks is not made up"
    );
    merge_memory_passes(&mut first, Vec::new());
    assert_eq!(first[0].passes_ns.len(), 3);
}
