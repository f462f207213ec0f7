//! The same answers graded five times get the same grades. In a test binary of its own:
//! cargo runs test binaries one after another, so no other test's processes share the two
//! cores while the timing question is measured (a warm pass of the smallest lab shape takes
//! about 3 ms, and a neighbour's time slice can double it).

#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn the_same_answers_graded_five_times_get_the_same_grades() {
    // Lab 3 has a timing question (cold_over_warm_time); each grading measures afresh, at
    // the smallest shape the lab supports: below it (a few hundred kB) a cold pass is served
    // by the disk's own cache as often as not, and the ratio's median wanders to its boundary.
    let lab = common::lab_spec(3);
    let smallest = lab.shapes.first().cloned().expect("lab 3 declares its shapes");
    let shape = smallest.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("x");
    let root = tempfile::tempdir().unwrap();
    let answers = "lab = \"page_cache\"\n[answers]\ncold_resident_before = 0\nwarm_major_faults = 0\n\
                   cold_major_per_page = \"c\"\ncold_over_warm_time = \"c\"\nrandom_cached_per_needed = \"c\"\n\
                   random_madv_major_per_page = 1\n";
    let data = root.path().join("data");
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (code, json, stderr) = common::lab_run(root.path(), 3, answers, &data, &shape);
        assert!(code == 0 || code == 3, "{stderr}");
        let timed =
            json["questions"].as_array().unwrap().iter().find(|q| q["id"] == "cold_over_warm_time").unwrap();
        assert_eq!(timed["runs"]["runs"].as_array().unwrap().len(), lab.repeats as usize, "{timed:#}");
        seen.push((common::verdicts(&json), timed["runs"]["runs"].to_string()));
    }
    assert!(
        seen.windows(2).all(|w| w[0].0 == w[1].0),
        "the grades flipped between runs (each with its timed runs): {seen:#?}"
    );
}
