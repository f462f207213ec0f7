//! Every computed sentence of REPORT.md follows the numbers it describes: rendered from a
//! small run (64 samples, tests/data) and from the committed full-size run
//! (reports/results.json), each sentence is parsed back and checked against the results.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::Path;

use mmap_lab::cache::CacheState;
use mmap_lab::probe::Phase;
use mmap_lab::results::Results;

fn load(path: &str) -> Results {
    Results::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The report's files for `runs`, rendered into a temporary folder: (REPORT.md, first-sample.svg).
fn render(runs: &[Results]) -> (String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    mmap_lab::report::write(runs, &out).unwrap();
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    (read("REPORT.md"), read("first-sample.svg"), read("memory.svg"))
}

fn total_ns(run: &Results, id: &str) -> u64 {
    run.step(id, CacheState::Cold).unwrap().phase_ns(Phase::BeforeOpen, Phase::AfterAccess).unwrap()
}

/// Checks each "Cold, `X` took ... the advice made it R× faster|slower." against the results.
fn advice_sentences_follow_the_numbers(run: &Results, md: &str) -> usize {
    let mut checked = 0;
    for sentence in md.split("Cold, `").skip(1) {
        let Some((base, rest)) = sentence.split_once('`') else { continue };
        let Some(made) = rest.split("the advice made it ").nth(1) else { continue };
        let (ratio, direction) = made.split_once("× ").unwrap();
        let ratio: f64 = ratio.parse().unwrap();
        let (without, with) = (total_ns(run, base), total_ns(run, &format!("{base}_madv_random")));
        let faster = direction.starts_with("faster");
        assert_eq!(
            faster,
            with < without,
            "{base}: the sentence says {direction}, the numbers {with} vs {without}"
        );
        let actual = if faster { without as f64 / with as f64 } else { with as f64 / without as f64 };
        assert!((ratio - actual).abs() < 0.051, "{base}: {ratio}× in the text, {actual:.2}× in the results");
        let caption = format!("`{base}` {ratio:.1}× {}", if faster { "faster" } else { "slower" });
        assert!(md.contains(&caption), "the access plot's caption agrees with the sentence: {caption}");
        checked += 1;
    }
    checked
}

/// The policies' read is said as the number of samples the steps read.
fn policies_say_what_was_read(run: &Results, md: &str) {
    let step = run.step("policy_sequential", CacheState::Warm).unwrap();
    let sample: u64 =
        run.dataset.shape.0[1..].iter().product::<usize>() as u64 * run.dataset.dtype.itemsize();
    let read = step.bytes_touched.unwrap() / sample;
    let total = run.dataset.shape.0[0] as u64;
    let said = if read < total {
        format!("the first {} of {} samples", grouped(read), grouped(total))
    } else {
        format!("all {} samples, the whole array", grouped(total))
    };
    assert!(md.contains(&format!("The same read ({said})")), "policies intro should say {said}");
    assert!(!md.contains("first 1000 samples") || total >= 1000);
}

fn grouped(n: u64) -> String {
    mmap_lab::units::grouped(n)
}

#[test]
fn a_small_run_says_what_its_numbers_show() {
    let run = load("tests/data/small-results.json");
    assert_eq!(run.dataset.shape.0[0], 64, "the fixture is a small run");
    let (md, picture, _) = render(std::slice::from_ref(&run));
    assert!(advice_sentences_follow_the_numbers(&run, &md) >= 2);
    policies_say_what_was_read(&run, &md);
    assert!(!md.contains("helps the second and hurts the first"), "no fixed verdict on MADV_RANDOM");
    assert!(picture.contains("shape=(64, 120, 120, 3)"), "the picture's calls name the run's shape");
    assert!(!picture.contains("4002"), "no caption of a 64-sample run names the tutorial's shape");
    assert!(md.contains("Dataset: shape (64, 120, 120, 3)"));
    // Results written before the tool was recorded: both tools named, neither claimed.
    assert!(md.contains("checked with `cachestat` (or `mincore` on kernels before 6.5)"));
}

#[test]
fn the_residency_tool_named_is_the_one_recorded() {
    let mut run = load("tests/data/small-results.json");
    run.machine.residency_tool = Some("mincore".to_owned());
    let (md, _, _) = render(std::slice::from_ref(&run));
    assert!(md.contains("each checked with `mincore`."), "time caption");
    assert!(md.contains("(measured with `mincore`)"), "residency caption");
    assert!(md.contains("| page-cache residency measured with | mincore |"));
    assert!(!md.contains("`cachestat`"), "a mincore run never says cachestat");
}

#[test]
fn the_committed_full_size_run_says_what_its_numbers_show() {
    let run = load("reports/results.json");
    assert_eq!(run.dataset.shape, mmap_lab::shape::Shape::tutorial());
    let (md, picture, _) = render(std::slice::from_ref(&run));
    assert!(advice_sentences_follow_the_numbers(&run, &md) >= 2);
    policies_say_what_was_read(&run, &md);
    assert!(picture.contains("shape=(4002, 120, 120, 3)"));
}

#[test]
fn runs_of_different_shapes_are_warned_about_and_scaled_apart() {
    let small = load("tests/data/small-results.json");
    let full = load("reports/results.json");
    let (md, _, memory) = render(&[small.clone(), full.clone()]);
    assert!(md.contains("These runs measured arrays of different sizes"), "a warning heads the comparison");
    assert!(md.contains("(64, 120, 120, 3) float64") && md.contains("(4002, 120, 120, 3) float64"));
    assert!(memory.contains("each run has its own scale"));
    let (same, _, memory) = render(&[small.clone(), small]);
    assert!(!same.contains("different sizes"));
    assert!(memory.contains("Same scale in every panel"));
}
