//! Verdicts follow the numbers: the fixture is a real run; each test changes its numbers
//! and sees the verdict change.

use super::*;
use crate::cache::CacheState;
use crate::shape::Shape;

fn fixture() -> Results {
    serde_json::from_str(include_str!("../../../tests/data/small-results.json")).unwrap()
}

fn verdict(run: &Results, claim_starts: &str) -> Verdict {
    check(run).into_iter().find(|c| c.claim.contains(claim_starts)).unwrap().verdict
}

fn steps_mut<'a>(run: &'a mut Results, id: &'a str) -> impl Iterator<Item = &'a mut StepResult> + 'a {
    run.steps.iter_mut().filter(move |s| s.id == id)
}

#[test]
fn the_fixture_gets_the_verdicts_the_lesson_expects() {
    let run = fixture();
    let verdicts: Vec<Verdict> = check(&run).iter().map(|c| c.verdict).collect();
    use Verdict::*;
    assert_eq!(
        verdicts,
        [Holds, Holds, Holds, Misleading, Holds, DoesNotHold, Misleading, Misleading, Holds]
    );
    for c in check(&run) {
        assert!(!c.measured.is_empty() && !c.explanation.is_empty(), "{c:?}");
    }
}

#[test]
fn a_missing_step_is_not_measured() {
    let mut run = fixture();
    run.steps.retain(|s| s.id != "npy_memmap_default" && s.id != "npy_load");
    assert_eq!(verdict(&run, "gives a 1-D array"), Verdict::NotMeasured);
    assert_eq!(verdict(&run, "gives integers"), Verdict::NotMeasured);
    assert_eq!(verdict(&run, "reads the whole array"), Verdict::NotMeasured);
    // A failed step measures nothing either.
    let mut run = fixture();
    for s in steps_mut(&mut run, "raw_memmap_shape") {
        s.status = crate::spec::Status::Error;
    }
    assert_eq!(verdict(&run, "identical to the original"), Verdict::NotMeasured);
}

#[test]
fn one_d_follows_the_shape_and_integers_the_dtype() {
    let mut run = fixture();
    for s in steps_mut(&mut run, "npy_memmap_default") {
        s.shape = Some(Shape(vec![8, 12, 10, 3]));
        s.dtype = Some(crate::dtype::Dtype::F8);
    }
    assert_eq!(verdict(&run, "gives a 1-D array"), Verdict::DoesNotHold);
    assert_eq!(verdict(&run, "gives integers"), Verdict::DoesNotHold);
}

#[test]
fn float64_is_misleading_only_when_the_shift_is_the_header_and_the_offset_fixes_it() {
    let mut run = fixture();
    for s in steps_mut(&mut run, "npy_memmap_offset") {
        s.matches_original = Some(false);
    }
    assert_eq!(verdict(&run, "still differ"), Verdict::Holds);
    run.steps.retain(|s| s.id != "npy_memmap_offset");
    assert_eq!(verdict(&run, "still differ"), Verdict::Holds);

    let mut run = fixture();
    for s in steps_mut(&mut run, "npy_memmap_float64") {
        s.original_at_element = Some(3);
    }
    assert_eq!(verdict(&run, "still differ"), Verdict::Holds, "a shift that is not the header's");

    let mut run = fixture();
    for s in steps_mut(&mut run, "npy_memmap_float64") {
        s.matches_original = Some(true);
    }
    assert_eq!(verdict(&run, "still differ"), Verdict::DoesNotHold);
}

#[test]
fn raw_smaller_follows_the_file_sizes() {
    let mut run = fixture();
    let claim = "few hundred megabytes";
    assert_eq!(verdict(&run, claim), Verdict::DoesNotHold);
    let c = check(&run).into_iter().find(|c| c.claim.contains(claim)).unwrap();
    assert!(c.measured.contains("128 B smaller"), "{}", c.measured);
    run.dataset.npy_bytes = run.dataset.raw_bytes + 300_000_000;
    assert_eq!(verdict(&run, claim), Verdict::Holds);
}

#[test]
fn the_memory_claims_follow_rss_after_the_full_pass() {
    let run = fixture();
    assert_eq!(verdict(&run, "184 bytes"), Verdict::Misleading);
    assert_eq!(verdict(&run, "no change"), Verdict::Misleading);

    // Had nothing become resident, the object size would have told the truth.
    let mut flat = fixture();
    for s in steps_mut(&mut flat, "raw_memmap_shape") {
        let base = s.snapshots[0].clone();
        for snap in &mut s.snapshots {
            snap.rss_bytes = base.rss_bytes;
            snap.rss_file_bytes = base.rss_file_bytes;
        }
    }
    assert_eq!(verdict(&flat, "184 bytes"), Verdict::Holds);
    assert_eq!(verdict(&flat, "no change"), Verdict::Holds);

    // A mapping whose pages landed in the process's own memory contradicts the claim.
    let mut anon = fixture();
    let data = anon.dataset.raw_bytes;
    for s in steps_mut(&mut anon, "raw_memmap_shape") {
        s.snapshots[3].rss_anon_bytes += data;
    }
    assert_eq!(verdict(&anon, "no change"), Verdict::DoesNotHold);
}

#[test]
fn the_warm_step_is_preferred_and_cold_stands_in_for_it() {
    let mut run = fixture();
    run.steps.retain(|s| !(s.id == "npy_load" && s.cache == CacheState::Warm));
    assert_eq!(verdict(&run, "reads the whole array"), Verdict::Holds);
    for s in steps_mut(&mut run, "npy_load") {
        for snap in &mut s.snapshots {
            snap.rss_anon_bytes = 0;
        }
    }
    assert_eq!(verdict(&run, "reads the whole array"), Verdict::DoesNotHold);
}
