#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::io::Cursor;

use super::answers::{self, Answer, Answers};
use super::grade::{self, Verdict};
use super::*;
use crate::results::Results;

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The head of a test lab (lab 7) over one tutorial experiment.
pub(crate) const LAB_HEAD: &str =
    "id = \"test\"\ntitle = \"A test lab\"\nhandout = \"07_test.md\"\nexperiments = [\"npy_load_mmap\"]\n";

/// A folder with a handout, where lab texts are parsed as `07_test.toml`.
pub(crate) struct TestLab {
    dir: tempfile::TempDir,
    available: Vec<LoadedSpec>,
}

impl TestLab {
    pub(crate) fn new() -> TestLab {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("07_test.md"), "# A test lab\n").unwrap();
        let available =
            available_experiments(&project().join("experiments/labs"), &project().join("experiments"))
                .unwrap();
        TestLab { dir, available }
    }

    pub(crate) fn parse(&self, text: &str) -> Result<LabSpec> {
        let path = self.dir.path().join("07_test.toml");
        std::fs::write(&path, text).unwrap();
        LabSpec::load(&path, &self.available)
    }
}

/// A lab over the tutorial's steps that the fixture `small-results.json` holds.
const TUTORIAL_LAB: &str = r#"
id = "test"
title = "A test lab"
handout = "07_test.md"
experiments = ["npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape", "npy_load_mmap"]

[[question]]
id = "header"
text = "Header bytes?"
quantity = "dataset.npy_header_bytes"
unit = "bytes"
tolerance = { absolute = 0 }
explain = "The header is 128 bytes."

[[question]]
id = "dtype"
text = "Which dtype?"
quantity = "step.npy_memmap_default.warm.dtype"
choices = ["float64", "uint8"]
explain = "np.memmap defaults to uint8."

[[question]]
id = "cold_faults"
text = "Major faults per page, cold?"
quantity = "ratio(step.npy_load_mmap.cold.major_faults_total, step.npy_load_mmap.cold.pages_touched)"
choices = [{ text = "about one per page", min = 0.5 }, { text = "fewer", max = 0.5 }]
explain = "Read-ahead."

[[question]]
id = "size"
text = "Size of the .npy, in KiB?"
quantity = "dataset.npy_bytes"
unit = "KiB"
tolerance = { relative = 0.1 }
explain = "Header plus data."

[[question]]
id = "matches"
text = "Equal to the original?"
quantity = "step.raw_memmap_shape.warm.matches_original"
choices = [{ text = "the same array", value = "yes" }, { text = "different values", value = "no" }]
explain = "dtype and shape are all np.memmap needs for the raw file."
"#;

fn tutorial_lab() -> (TestLab, LabSpec) {
    let t = TestLab::new();
    let lab = t.parse(TUTORIAL_LAB).unwrap();
    (t, lab)
}

fn fixture() -> Results {
    Results::read(&project().join("tests/data/small-results.json")).unwrap()
}

fn answers_from(lab: &LabSpec, text: &str) -> Result<Answers> {
    answers::parse(text, Path::new("my-answers.toml"), lab)
}

#[test]
fn every_shipped_lab_loads() {
    let entries = load_all(&project().join("experiments/labs"), &project().join("experiments")).unwrap();
    assert!(entries.len() >= 6, "at least six labs");
    for (i, entry) in entries.iter().enumerate() {
        let lab = entry.lab.as_ref().unwrap_or_else(|e| panic!("{}: {e:#}", entry.path.display()));
        assert_eq!(lab.number as usize, i + 1, "labs are numbered 1, 2, 3, ...");
        assert!(lab.handout.is_file());
        assert!(!lab.questions.is_empty());
    }
}

#[test]
fn labs_are_found_by_number_or_id() {
    let dir = project().join("experiments/labs");
    let load = || load_all(&dir, &project().join("experiments")).unwrap();
    assert_eq!(find(load(), "1").unwrap().id, "npy_header");
    assert_eq!(find(load(), "01").unwrap().id, "npy_header");
    assert_eq!(find(load(), "write_modes").unwrap().number, 6);
    let err = format!("{:#}", find(load(), "99").unwrap_err());
    assert!(err.contains("no lab '99'") && err.contains("1 (npy_header)"), "{err}");
}

#[test]
fn a_broken_lab_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let labs = project().join("experiments/labs");
    for name in ["01_npy_header.toml", "01_npy_header.md"] {
        std::fs::copy(labs.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("02_broken.md"), "# Broken\n").unwrap();
    std::fs::write(
        dir.path().join("02_broken.toml"),
        "id = \"broken\"\ntitle = \"B\"\nhandout = \"02_broken.md\"\nexperiments = [\"npy_load\"]\n\
         [[question]]\nid = \"bad\"\ntext = \"?\"\nquantity = \"dataset.nothing\"\ntolerance = { absolute = 0 }\nexplain = \"e\"\n",
    )
    .unwrap();
    let experiments = project().join("experiments");
    let entries = load_all(dir.path(), &experiments).unwrap();
    assert!(entries[0].lab.is_ok());
    assert!(find(load_all(dir.path(), &experiments).unwrap(), "1").is_ok());
    let err = format!("{:#}", find(entries, "broken").unwrap_err());
    assert!(
        err.contains("02_broken.toml") && err.contains("question 'bad'") && err.contains("dataset.nothing"),
        "{err}"
    );
}

#[test]
fn answers_are_read_by_type() {
    let (_t, lab) = tutorial_lab();
    let a = answers_from(
        &lab,
        "lab = \"test\"\n[answers]\nheader = 128\ndtype = \"b\"\ncold_faults = \"fewer\"\nsize = 22.6\nmatches = \"\"\n",
    )
    .unwrap();
    assert_eq!(a.0.get("header"), Some(&Answer::Number(128.0)));
    assert_eq!(a.0.get("dtype"), Some(&Answer::Choice(1)));
    assert_eq!(a.0.get("cold_faults"), Some(&Answer::Choice(1)));
    assert_eq!(a.0.get("size"), Some(&Answer::Number(22.6)));
    assert_eq!(a.0.get("matches"), None, "\"\" is not answered");
    // A choice by its text, any case.
    let a = answers_from(&lab, "[answers]\ndtype = \"UINT8\"\n").unwrap();
    assert_eq!(a.0.get("dtype"), Some(&Answer::Choice(1)));
}

#[test]
fn bad_answers_files_name_the_file_the_question_and_the_fix() {
    let (_t, lab) = tutorial_lab();
    let cases = [
        ("[answers]\nheadr = 128\n", "no question 'headr'"),
        ("[answers]\nheader = \"lots\"\n", "takes a number"),
        ("[answers]\nheader = true\n", "takes a number"),
        ("[answers]\ndtype = 2\n", "in quotes"),
        ("[answers]\ndtype = \"int8\"\n", "not one of the choices"),
        ("[answers]\ndtype = \"z\"\n", "not one of the choices"),
        ("lab = \"npy_header\"\n[answers]\n", "not for lab 7"),
        ("header = 128\n", "unknown key 'header'"),
        ("lab = \"test\"\n", "no [answers] table"),
        ("[answers\n", "my-answers.toml"),
    ];
    for (text, says) in cases {
        let err = format!("{:#}", answers_from(&lab, text).unwrap_err());
        assert!(err.contains("my-answers.toml") && err.contains(says), "{text}\n -> {err}");
        assert!(err.chars().count() < 400, "short enough to read: {err}");
    }
    let err = answers::read(Path::new("/nonexistent/answers.toml"), &lab).unwrap_err();
    assert!(format!("{err:#}").contains("mmap-lab lab init 7"));
    assert_eq!(crate::error::exit_code(&err), 2);
}

#[test]
fn the_template_lists_every_question_and_reads_back_as_unanswered() {
    let (_t, lab) = tutorial_lab();
    let text = answers::template(&lab);
    for q in &lab.questions {
        assert!(text.contains(&format!("\n{} = \"\"\n", q.id)), "{}", q.id);
    }
    assert!(text.contains("#    b) uint8"));
    assert!(text.contains("Answer with a number, in KiB."));
    assert!(text.contains("mmap-lab lab run 7 --answers lab07-answers.toml"));
    assert_eq!(answers_from(&lab, &text).unwrap(), Answers::default());
}

#[test]
fn the_template_never_replaces_a_file() {
    let (t, lab) = tutorial_lab();
    let path = answers::write_template(&lab, t.dir.path()).unwrap();
    assert_eq!(path.file_name().unwrap(), "lab07-answers.toml");
    std::fs::write(&path, "my answers").unwrap();
    let err = answers::write_template(&lab, t.dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("already exists"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "my answers");
}

#[test]
fn asking_reads_one_answer_per_question_and_asks_again_when_one_is_bad() {
    let (_t, lab) = tutorial_lab();
    // header: not a number, then 128; dtype: b; cold_faults: skipped; size: 23 KiB; then the input ends.
    let mut input = Cursor::new("lots\n128\nb\n\n23 KiB\n");
    let mut output = Vec::new();
    let a = answers::ask(&lab, &mut input, &mut output).unwrap();
    let shown = String::from_utf8(output).unwrap();
    assert!(shown.contains("'lots' is not a number"), "{shown}");
    assert!(shown.contains("a) float64") && shown.contains("b) uint8"));
    assert_eq!(a.0.get("header"), Some(&Answer::Number(128.0)));
    assert_eq!(a.0.get("dtype"), Some(&Answer::Choice(1)));
    assert_eq!(a.0.get("cold_faults"), None);
    assert_eq!(a.0.get("size"), Some(&Answer::Number(23.0)));
    assert_eq!(a.0.get("matches"), None);
}

#[test]
fn grading_compares_within_the_tolerance_and_picks_the_measured_choice() {
    let (_t, lab) = tutorial_lab();
    let r = fixture();
    let kib = r.dataset.npy_bytes as f64 / 1024.0;
    let right = answers_from(
        &lab,
        &format!(
            "[answers]\nheader = 128\ndtype = \"uint8\"\ncold_faults = \"{}\"\nsize = {}\nmatches = \"a\"\n",
            {
                // The fixture's own cold pass decides the right choice.
                let s = r.step("npy_load_mmap", crate::cache::CacheState::Cold).unwrap();
                let before = s.snapshot(crate::probe::Phase::BeforeOpen).unwrap().major_faults;
                let after = s.snapshot(crate::probe::Phase::AfterAccess).unwrap().major_faults;
                let pages = s.bytes_touched.unwrap().div_ceil(r.machine.page_size);
                if (after - before) as f64 / pages as f64 >= 0.5 { "a" } else { "b" }
            },
            kib * 1.05
        ),
    )
    .unwrap();
    let g = grade::grade(&lab, &evidence::Evidence::of(&r), &Default::default(), &right, false);
    assert!(g.questions.iter().all(|q| q.verdict == Verdict::Right), "{:#?}", g.questions);
    assert_eq!(g.score.right, 5);
    assert!(g.questions.iter().all(|q| q.explain.is_some()), "right answers are explained too");

    let wrong =
        answers_from(&lab, &format!("[answers]\nheader = 100\ndtype = \"a\"\nsize = {}\n", kib * 1.2))
            .unwrap();
    // Two questions unanswered: measured values, but no right answer and no explanation.
    let g = grade::grade(&lab, &evidence::Evidence::of(&r), &Default::default(), &wrong, false);
    assert!(!g.revealed);
    assert!(
        g.questions.iter().all(|q| q.right_answer.is_none() && q.explain.is_none()),
        "{:#?}",
        g.questions
    );
    let text = g.render_text();
    assert!(!text.contains("so the right answer") && !text.contains("Why:"), "{text}");
    assert!(text.contains("You answered 100 bytes; measured 128 bytes."), "{text}");
    // The same answers, revealed (an instructor's key).
    let g = grade::grade(&lab, &evidence::Evidence::of(&r), &Default::default(), &wrong, true);
    let by_id = |id: &str| g.questions.iter().find(|q| q.id == id).unwrap();
    assert_eq!(by_id("header").verdict, Verdict::Wrong);
    assert_eq!(by_id("header").measured_text.as_deref(), Some("128 bytes"));
    assert_eq!(by_id("header").explain.as_deref(), Some("The header is 128 bytes."));
    assert_eq!(by_id("dtype").verdict, Verdict::Wrong);
    assert_eq!(by_id("dtype").right_answer.as_deref(), Some("b) uint8"));
    assert_eq!(by_id("size").verdict, Verdict::Wrong, "20% off is outside 10%");
    assert_eq!(by_id("matches").verdict, Verdict::Unanswered);
    assert!(by_id("matches").explain.is_some(), "an unanswered question is explained too");
    assert_eq!((g.score.right, g.score.wrong, g.score.unanswered), (0, 3, 2));

    let text = g.render_text();
    assert!(
        text.contains(
            "You answered 100 bytes; measured 128 bytes, so the right answer is 128 bytes, exactly."
        ),
        "{text}"
    );
    assert!(text.contains("(from dataset.npy_header_bytes)"));
    assert!(text.contains("Why: np.memmap defaults to uint8."));
    assert!(text.contains("Score: 0 of 5 right, 3 wrong, 2 not answered."));
    let json = serde_json::to_value(&g).unwrap();
    assert_eq!(json["questions"][0]["verdict"], "wrong");
    assert_eq!(json["questions"][0]["measured"], 128.0);
    assert_eq!(json["score"]["wrong"], 3);
}

#[test]
fn a_value_no_choice_holds_or_a_missing_step_is_not_checked() {
    let t = TestLab::new();
    let lab = t
        .parse(&format!(
            "{LAB_HEAD}\n[[question]]\nid = \"gap\"\ntext = \"?\"\nquantity = \"dataset.npy_header_bytes\"\n\
             choices = [{{ text = \"small\", max = 100 }}, {{ text = \"middling\", min = 100, max = 120 }}]\nexplain = \"e\"\n"
        ))
        .unwrap();
    let mut r = fixture();
    let g = grade::grade(
        &lab,
        &evidence::Evidence::of(&r),
        &Default::default(),
        &answers_from(&lab, "[answers]\ngap = \"a\"\n").unwrap(),
        false,
    );
    assert_eq!(g.questions[0].verdict, Verdict::Unchecked);
    assert!(g.questions[0].problem.as_deref().unwrap().contains("fits none of the choices"));

    let (_t, lab) = tutorial_lab();
    r.steps.retain(|s| s.id != "npy_memmap_default");
    let g = grade::grade(&lab, &evidence::Evidence::of(&r), &Default::default(), &Answers::default(), false);
    let dtype = g.questions.iter().find(|q| q.id == "dtype").unwrap();
    assert_eq!(dtype.verdict, Verdict::Unchecked);
    assert!(dtype.problem.as_deref().unwrap().contains("no step npy_memmap_default/warm"));
    assert_eq!(g.score.unchecked, 1);
}

#[test]
fn the_feedback_wraps_long_lines() {
    let text = "one two three four five six seven eight nine ten";
    let wrapped = super::text::wrap(text, "> ", "  ", 16);
    assert!(wrapped.lines().all(|l| l.chars().count() <= 16), "{wrapped}");
    assert!(wrapped.starts_with("> one"));
    assert_eq!(wrapped.split_whitespace().filter(|w| *w != ">").collect::<Vec<_>>().join(" "), text);
}

#[test]
fn a_choice_carries_its_own_feedback_with_the_machine_filled_in() {
    let t = TestLab::new();
    let lab = t
        .parse(&format!(
            "{LAB_HEAD}\n[[question]]\nid = \"h\"\ntext = \"?\"\nquantity = \"dataset.npy_header_bytes\"\n\
             choices = [{{ text = \"small\", max = 200, explain = \"You saw {{measured}}; a page is {{machine.page_size}} bytes.\" }}, \
             {{ text = \"big\", min = 200 }}]\nexplain = \"General.\"\n"
        ))
        .unwrap();
    let r = fixture();
    let g = grade::grade(
        &lab,
        &evidence::Evidence::of(&r),
        &Default::default(),
        &answers_from(&lab, "[answers]\nh = \"a\"\n").unwrap(),
        false,
    );
    let page = crate::lab::text::format_number(r.machine.page_size as f64);
    assert_eq!(g.questions[0].verdict, Verdict::Right);
    assert_eq!(
        g.questions[0].explain.as_deref(),
        Some(format!("You saw 128 bytes; a page is {page} bytes. General.").as_str()),
        "a right answer is explained too, its own feedback first"
    );
}

#[test]
fn a_timed_measurement_near_a_boundary_is_too_close_to_call() {
    let t = TestLab::new();
    let lab = t
        .parse(&format!(
            "{LAB_HEAD}\n[[question]]\nid = \"slow\"\ntext = \"?\"\n\
             quantity = \"ratio(step.npy_load_mmap.cold.time_access_ns, step.npy_load_mmap.warm.time_access_ns)\"\n\
             choices = [{{ text = \"under 5\", max = 5 }}, {{ text = \"5 and up\", min = 5 }}]\nexplain = \"e\"\n"
        ))
        .unwrap();
    assert!(lab.questions[0].timed, "a ratio of times is timed");
    let r = fixture();
    let answers = answers_from(&lab, "[answers]\nslow = \"b\"\n").unwrap();
    let grade_with = |runs: Vec<f64>| {
        let repeats = [("slow".to_owned(), crate::lab::stats::Repeated::of(runs).unwrap())].into();
        grade::grade(&lab, &evidence::Evidence::of(&r), &repeats, &answers, false).questions.remove(0)
    };
    // The typical run lies as far from the median as 5 does: neither right nor wrong, and
    // the measurement is shown.
    let g = grade_with(vec![3.5, 9.5, 4.5, 9.0, 7.0]);
    assert_eq!(g.verdict, Verdict::TooClose);
    assert!(g.problem.as_deref().unwrap().contains("7 (median of 5 runs, 3.50 to 9.50)"), "{g:#?}");
    // One stray run below 5 among steady ones does not make it too close: graded.
    assert_eq!(grade_with(vec![1.0, 7.0, 7.5, 6.5, 7.2]).verdict, Verdict::Right);
    // Every run well above 5: graded, on the median.
    let g = grade_with(vec![8.0, 9.0, 12.0, 10.0, 11.0]);
    assert_eq!(g.verdict, Verdict::Right);
    // Within 10 % of the median of a boundary is still too close, however tight the runs.
    assert_eq!(grade_with(vec![5.3, 5.3, 5.3]).verdict, Verdict::TooClose);
}
