#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use super::*;
use crate::lab::tests::{LAB_HEAD, TestLab};

fn refused(body: &str) -> String {
    let lab = TestLab::new();
    let err = lab.parse(body).unwrap_err();
    format!("{err:#}")
}

fn with_question(question: &str) -> String {
    format!("{LAB_HEAD}\n[[question]]\n{question}\n")
}

#[test]
fn a_question_naming_a_missing_quantity_is_refused_naming_the_file_and_the_question() {
    let err = refused(&with_question(
        "id = \"q\"\ntext = \"?\"\nquantity = \"step.npy_load_mmap.warm.no_such_field\"\ntolerance = { absolute = 0 }\nexplain = \"e\"",
    ));
    assert!(
        err.contains("07_test.toml") && err.contains("question 'q'") && err.contains("no_such_field"),
        "{err}"
    );
}

#[test]
fn a_question_naming_a_step_the_lab_does_not_run_is_refused() {
    let err = refused(&with_question(
        "id = \"q\"\ntext = \"?\"\nquantity = \"step.npy_load.warm.object_bytes\"\ntolerance = { absolute = 0 }\nexplain = \"e\"",
    ));
    assert!(err.contains("question 'q'") && err.contains("does not run"), "{err}");
}

#[test]
fn numeric_and_choice_questions_are_checked_for_what_they_need() {
    let q = |rest: &str| with_question(&format!("id = \"q\"\ntext = \"?\"\nexplain = \"e\"\n{rest}"));
    let cases = [
        ("quantity = \"dataset.npy_bytes\"", "give a tolerance"),
        ("quantity = \"step.npy_load_mmap.warm.dtype\"", "give choices"),
        ("quantity = \"step.npy_load_mmap.warm.dtype\"\ntolerance = { absolute = 0 }", "needs a number"),
        (
            "quantity = \"dataset.npy_bytes\"\ntolerance = { absolute = 0 }\nchoices = [\"a\", \"b\"]",
            "not both",
        ),
        ("quantity = \"dataset.npy_bytes\"\ntolerance = {}", "tolerance is empty"),
        ("quantity = \"dataset.npy_bytes\"\ntolerance = { absolute = -1 }", "not negative"),
        ("quantity = \"dataset.npy_bytes\"\nunit = \"pages\"\ntolerance = { absolute = 0 }", "does not fit"),
        ("quantity = \"dataset.npy_bytes\"\nchoices = [\"big\", \"small\"]", "must be a table"),
        (
            "quantity = \"dataset.npy_bytes\"\nchoices = [{ text = \"a\", max = 10 }, { text = \"b\", min = 5 }]",
            "overlap",
        ),
        (
            "quantity = \"dataset.npy_bytes\"\nchoices = [{ text = \"a\" }, { text = \"b\", min = 5 }]",
            "neither min nor max",
        ),
        (
            "quantity = \"dataset.npy_bytes\"\nchoices = [{ text = \"a\", min = 5, max = 1 }, { text = \"b\", min = 5 }]",
            "not below max",
        ),
        ("quantity = \"step.npy_load_mmap.warm.dtype\"\nchoices = [\"uint8\"]", "between 2 and 26"),
        ("quantity = \"step.npy_load_mmap.warm.dtype\"\nchoices = [\"uint8\", \"UINT8\"]", "offered twice"),
        (
            "quantity = \"step.npy_load_mmap.warm.matches_original\"\nchoices = [\"right\", \"wrong\"]",
            "yes or no",
        ),
        (
            "quantity = \"step.npy_load_mmap.warm.status\"\nchoices = [{ text = \"fine\", value = \"ok\" }, { text = \"also fine\", value = \"ok\" }]",
            "both stand for 'ok'",
        ),
        ("quantity = \"dataset.npy_bytes\"\ntolerance = { relative = 50 }", "at most 1"),
        (
            "quantity = \"dataset.npy_bytes\"\nchoices = [{ text = \"a\", max = 10 }, { text = \"b\", min = 20 }]",
            "leave a gap",
        ),
        ("quantity = \"dataset.npy_bytes\"\ntolerance = { absolute = 0 }\nneeds = [\"cold\"]", "cold_cache"),
        (
            "quantity = \"step.npy_load_mmap.warm.minor_fault_access\"\ntolerance = { absolute = 0 }",
            "did you mean 'minor_faults_access'",
        ),
    ];
    for (rest, says) in cases {
        let err = refused(&q(rest));
        assert!(err.contains("question 'q'") && err.contains(says), "{rest}\n -> {err}");
    }
}

#[test]
fn the_lab_itself_is_checked() {
    let question = "[[question]]\nid = \"q\"\ntext = \"?\"\nquantity = \"dataset.npy_bytes\"\ntolerance = { absolute = 0 }\nexplain = \"e\"\n";
    let cases = [
        (
            "id = \"t\"\ntitle = \"T\"\nhandout = \"missing.md\"\nexperiments = [\"npy_load_mmap\"]\n",
            "missing.md does not exist",
        ),
        (
            "id = \"t\"\ntitle = \"T\"\nhandout = \"07_test.md\"\nexperiments = [\"nope\"]\n",
            "experiment 'nope' does not exist",
        ),
        ("id = \"t\"\ntitle = \"T\"\nhandout = \"07_test.md\"\nexperiments = []\n", "experiments is empty"),
        (
            "id = \"t t\"\ntitle = \"T\"\nhandout = \"07_test.md\"\nexperiments = [\"npy_load_mmap\"]\n",
            "lab id",
        ),
        (
            "id = \"t\"\ntitle = \"T\"\nhandout = \"07_test.md\"\nexperiments = [\"npy_load_mmap\"]\ncolour = 1\n",
            "unknown field `colour`",
        ),
        (
            "id = \"t\"\ntitle = \"T\"\nhandout = \"07_test.md\"\nexperiments = [\"sharing_mapped\"]\ncache = [\"cold\"]\n",
            "runs no step",
        ),
    ];
    for (head, says) in cases {
        let err = refused(&format!("{head}\n{question}"));
        assert!(err.contains("07_test.toml") && err.contains(says), "{head}\n -> {err}");
    }
    let err = refused(LAB_HEAD);
    assert!(err.contains("asks nothing"), "{err}");
    let twice = format!("{LAB_HEAD}\n{question}\n{question}");
    assert!(refused(&twice).contains("appears twice"));
}

#[test]
fn a_good_lab_loads_with_its_choices_lettered() {
    let lab = TestLab::new();
    let spec = lab
        .parse(&with_question(
            "id = \"cold\"\ntext = \"\"\"\nHow many\nfaults?\"\"\"\nquantity = \"ratio(step.npy_load_mmap.cold.major_faults_total, step.npy_load_mmap.cold.pages_touched)\"\nchoices = [{ text = \"few\", max = 0.5 }, { text = \"many\", min = 0.5 }]\nexplain = \"read-ahead\"",
        ))
        .unwrap();
    assert_eq!(spec.number, 7);
    assert_eq!(spec.id, "test");
    let q = &spec.questions[0];
    assert_eq!(q.text, "How many faults?", "line breaks of the TOML source are reflowed");
    let QuestionKind::Choice { choices } = &q.kind else { panic!("a choice question") };
    assert_eq!(choices.iter().map(|c| c.letter).collect::<String>(), "ab");
    assert!(choices[0].range.unwrap().contains(0.0) && !choices[0].range.unwrap().contains(0.5));
    assert!(choices[1].range.unwrap().contains(0.5));
    // npy_load_mmap runs warm and cold: two planned steps.
    assert_eq!(spec.planned_steps().len(), 2);
}

#[test]
fn tolerances_take_the_looser_bound() {
    let t = Tolerance { absolute: 1.0, relative: 0.1 };
    assert_eq!(t.allowed(5.0), 1.0);
    assert_eq!(t.allowed(100.0), 10.0);
    assert_eq!(t.allowed(-100.0), 10.0);
}

#[test]
fn lab_numbers_come_from_file_names() {
    assert_eq!(number_from_name(Path::new("labs/01_npy_header.toml")), Some(1));
    assert_eq!(number_from_name(Path::new("12_x.toml")), Some(12));
    assert_eq!(number_from_name(Path::new("npy_header.toml")), None);
    assert_eq!(number_from_name(Path::new("01_.toml")), None);
    assert_eq!(number_from_name(Path::new("a1_b.toml")), None);
}

#[test]
fn reflow_joins_lines_and_keeps_paragraphs() {
    assert_eq!(reflow("\n one\n two \n\n three\n"), "one two\n\nthree");
}

#[test]
fn the_documented_example_is_a_valid_lab_and_names_real_fields() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/labs.md")).unwrap();
    let guide = docs.split("## For instructors").nth(1).expect("docs/labs.md has a guide for instructors");
    let example = guide.split("```toml\n").nth(1).unwrap().split("```").next().unwrap();
    let lab = TestLab::new();
    let spec = lab.parse(&example.replace("09_my_lab.md", "07_test.md")).unwrap();
    assert_eq!(spec.questions.len(), 4);
    let fields = guide.split("Step fields include").nth(1).unwrap().split(';').next().unwrap();
    let names: Vec<&str> = fields.split('`').skip(1).step_by(2).collect();
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        assert!(
            crate::lab::fields::step_fields().any(|f| f.name == name),
            "docs/labs.md names step field '{name}', which does not exist"
        );
    }
}
