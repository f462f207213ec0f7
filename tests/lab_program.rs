//! Lab 8 through the real binary: a Python + NumPy program run under `mmap-lab measure`, its
//! phases recorded in the lab's record, and predictions graded against them. Right answers
//! come from the same run's record (the phases `measure` snapshotted); what cannot vary by
//! machine is asserted outright: one process until the workers start, five while they hold
//! still, the mapped file shared (about one copy of PSS, five of RSS), the loaded copies not.
//!
//! The program needs a Python with NumPy (`MMAP_LAB_PYTHON`, else the project's `.venv`):
//! without one these tests skip, saying why, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mmap_lab::lab::spec::QuestionKind;

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("mmap-lab").unwrap();
    cmd.timeout(common::TIMEOUT * 5);
    cmd
}

/// `16x24x20x3` for a shape.
fn shape_arg(shape: &mmap_lab::shape::Shape) -> String {
    shape.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("x")
}

/// Runs `lab run 8 --json` with `answers`; returns the exit code, the JSON and stderr.
fn run(args: &[&str], answers: &Path) -> (i32, serde_json::Value, String) {
    let output =
        bin().args(["lab", "run", "8", "--json", "--answers"]).arg(answers).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (output.status.code().unwrap_or(-1), json, stderr)
}

fn answers_file(root: &Path, name: &str, answers: &[(String, String)]) -> PathBuf {
    let mut text = String::from("lab = \"program_memory\"\n[answers]\n");
    for (id, a) in answers {
        text.push_str(&format!("{id} = \"{a}\"\n"));
    }
    let path = root.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The phases of the program in the lab's record, by name: (field -> value).
fn phases(report: &Path) -> serde_json::Map<String, serde_json::Value> {
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("lab-record.json")).unwrap()).unwrap();
    let program = &record["program"];
    assert!(program["not_run"].is_null() && program["failed"].is_null(), "{program:#}");
    program["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p.clone()))
        .collect()
}

#[test]
fn lab8_grades_predictions_against_the_program_measured_at_its_phases() {
    let Some(python) = common::python() else { return };
    let lab = common::lab_spec(8);
    let shape = shape_arg(&lab.shapes[0]);
    let root = tempfile::tempdir().unwrap();
    let report = root.path().join("report");
    let data = root.path().join("data");
    let place = [
        "--shape",
        &shape,
        "--data-dir",
        common::s(&data),
        "--out",
        common::s(&report),
        "--python",
        common::s(&python),
    ];
    // Predict first: a blank file measures, and reveals nothing.
    let blank = answers_file(root.path(), "blank.toml", &[]);
    let (code, json, stderr) = run(&place, &blank);
    assert_eq!(code, 0, "{stderr}");
    for q in json["questions"].as_array().unwrap() {
        assert_eq!(q["verdict"], "unanswered", "every question resolves: {q:#}");
        assert!(q["right_answer"].is_null() && q["explain"].is_null(), "{q:#}");
    }
    assert!(report.join("program/measure.json").exists(), "measure's own record is kept");
    assert!(report.join("program/explain_memory.py").exists(), "the program is beside it");

    let p = phases(&report);
    let names: Vec<&str> = p.keys().map(String::as_str).collect();
    for phase in ["start", "read", "allocated", "workers_mapped", "workers_copied"] {
        assert!(names.contains(&phase), "the program marked {phase}: {names:?}");
    }
    let get = |phase: &str, field: &str| p[phase][field].as_f64().unwrap();
    let npy = std::fs::metadata(root.path().join("data/X_train.npy")).unwrap().len() as f64;
    // What cannot vary by machine: who is alive, and whose pages are whose.
    assert_eq!(get("read", "processes"), 1.0);
    assert_eq!(get("workers_mapped", "processes"), 5.0, "the parent and four workers");
    assert_eq!(get("workers_copied", "processes"), 5.0);
    assert!(get("read", "file_rss_bytes") >= 0.9 * npy, "a full sum maps the whole file");
    let mapped_pss = get("workers_mapped", "file_pss_bytes") / npy;
    assert!((0.8..1.2).contains(&mapped_pss), "five processes share one copy: {mapped_pss}");
    assert!(get("workers_mapped", "file_rss_bytes") / npy > 4.5, "RSS counts it once per process");
    let copied = (get("workers_copied", "own_bytes") - get("workers_mapped", "own_bytes")) / npy;
    assert!(copied > 3.5, "four loaded copies are four copies of own memory: {copied}");
    let allocated = (get("allocated", "own_bytes") - get("read", "own_bytes")) / npy;
    assert!(allocated > 0.4 && allocated < 0.75, "half the samples, multiplied: {allocated}");

    // Right answers from the record, computed here; wrong ones another choice or far off.
    let value = |id: &str| -> f64 {
        match id {
            "read_own" => (get("read", "own_bytes") - get("start", "own_bytes")) / npy,
            "read_file" => get("read", "file_rss_bytes") / npy * 100.0,
            "allocated_own" => allocated,
            "workers_mapped_pss" => mapped_pss,
            "workers_mapped_rss" => get("workers_mapped", "file_rss_bytes") / npy,
            "workers_copied_own" => copied,
            other => panic!("a question this test does not know: {other}"),
        }
    };
    let mut right = Vec::new();
    let mut wrong = Vec::new();
    for q in &lab.questions {
        let v = value(&q.id);
        match &q.kind {
            QuestionKind::Choice { choices } => {
                let c = choices.iter().find(|c| c.range.unwrap().contains(v)).unwrap();
                let other = choices.iter().find(|o| o.letter != c.letter).unwrap();
                right.push((q.id.clone(), c.letter.to_string()));
                wrong.push((q.id.clone(), other.letter.to_string()));
            }
            QuestionKind::Number { .. } => {
                right.push((q.id.clone(), format!("{v}")));
                wrong.push((q.id.clone(), format!("{}", v + 1000.0)));
            }
        }
    }
    let results_path = report.join("results.json");
    let results = ["--results", common::s(&results_path)];
    for (answers, verdict) in [(&right, "right"), (&wrong, "wrong")] {
        let file = answers_file(root.path(), &format!("{verdict}.toml"), answers);
        let (code, json, stderr) = run(&results, &file);
        assert_eq!(code, 0, "{stderr}");
        for q in json["questions"].as_array().unwrap() {
            assert_eq!(q["verdict"], verdict, "{q:#}");
            assert!(!q["explain"].as_str().unwrap().is_empty(), "explained, right or wrong: {q:#}");
        }
    }
    // A class graded against the same measurement: a CSV row per student and question.
    let class = root.path().join("class");
    std::fs::create_dir(&class).unwrap();
    answers_file(&class, "s-right.toml", &right);
    answers_file(&class, "s-wrong.toml", &wrong);
    let csv = root.path().join("grades.csv");
    let output = bin()
        .args(["lab", "grade", "8", "--answers", common::s(&class), "--csv", common::s(&csv)])
        .args(results)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_path(&csv).unwrap().records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2 * lab.questions.len());
    for row in &rows {
        assert_eq!(&row[4], if &row[0] == "s-right" { "right" } else { "wrong" }, "{row:?}");
    }
    // The student edition: the handout and the questions, no explanation, no key.
    let edition = root.path().join("edition");
    bin().args(["lab", "export", "8", "--student", common::s(&edition)]).assert().success();
    let text = std::fs::read_to_string(edition.join("lab08.md")).unwrap();
    for q in &lab.questions {
        assert!(text.contains(&format!("**{}**", q.id)), "{} is asked", q.id);
        let first_words: String = q.explain.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
        assert!(!text.contains(&first_words) && !text.contains("explains"), "{} keeps its explanation", q.id);
    }
    // The program's phases are under the record's checksum: edited, they are refused.
    let path = report.join("lab-record.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"processes\": 5", "\"processes\": 4", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let output = bin()
        .args(["lab", "run", "8", "--answers"])
        .arg(answers_file(root.path(), "again.toml", &right))
        .args(results)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("edited by hand"));
}

#[test]
fn without_python_the_program_questions_are_not_gradable_here_and_say_why() {
    let lab = common::lab_spec(8);
    let root = tempfile::tempdir().unwrap();
    let blank = answers_file(root.path(), "blank.toml", &[]);
    let data = root.path().join("data");
    let (code, json, stderr) =
        run(&["--shape", "16x24x20x3", "--no-python", "--data-dir", common::s(&data)], &blank);
    assert_eq!(code, 3, "not gradable here, in the exit code: {stderr}");
    for q in json["questions"].as_array().unwrap() {
        assert_eq!(q["verdict"], "not_gradable", "{q:#}");
        assert!(q["problem"].as_str().unwrap().contains("--no-python"), "the reason: {q:#}");
        let said = stderr.find(&format!("question {} is not gradable here", q["id"].as_str().unwrap()));
        assert!(said.unwrap() < stderr.find("measuring").unwrap(), "said before measuring: {stderr}");
    }
    assert_eq!(json["questions"].as_array().unwrap().len(), lab.questions.len());
    // An explicit Python that cannot import NumPy is a mistake in the input, refused at once.
    let fake = root.path().join("python");
    std::fs::write(&fake, "#!/bin/sh\necho 'No module named numpy' >&2\nexit 1\n").unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let other = root.path().join("other-data");
    common::refused(
        &[
            "lab",
            "run",
            "8",
            "--answers",
            common::s(&blank),
            "--python",
            common::s(&fake),
            "--data-dir",
            common::s(&other),
        ],
        &["--python", "numpy"],
    );
    assert!(!other.join("X_train.npy").exists(), "nothing measured");
}

/// A labs folder with one lab whose program marks `start`, then does `how` (`fail`: exits 1;
/// `hang`: sleeps far past the lab's timeout of 3 s).
fn lab_with_a_bad_program(dir: &Path, how: &str) {
    std::fs::create_dir_all(dir.join("programs")).unwrap();
    std::fs::write(
        dir.join("programs/bad.py"),
        "import sys, time\nfrom mmap_lab_mark import mark\nmark('start')\n\
         if sys.argv[1] == 'hang':\n    time.sleep(600)\nprint('giving up', file=sys.stderr)\nsys.exit(1)\n",
    )
    .unwrap();
    std::fs::write(dir.join("01_bad.md"), "# A program that fails\n").unwrap();
    std::fs::write(
        dir.join("01_bad.toml"),
        format!(
            r#"
id = "bad"
title = "A program that does not end well"
handout = "01_bad.md"
experiments = ["npy_load_mmap"]
cache = ["warm"]
shapes = ["16x24x20x3"]

[program]
script = "programs/bad.py"
args = ["{how}"]
phases = ["start", "done"]
timeout = 3

[[question]]
id = "started"
text = "How many processes at start?"
quantity = "program.start.processes"
tolerance = {{ absolute = 0 }}
explain = "One: the program alone."

[[question]]
id = "done"
text = "How many processes when done?"
quantity = "program.done.processes"
tolerance = {{ absolute = 0 }}
explain = "It never gets there."
"#
        ),
    )
    .unwrap();
}

#[test]
fn a_program_that_fails_or_hangs_is_reported_and_never_hangs_the_lab() {
    let Some(python) = common::python() else { return };
    for (how, says) in
        [("fail", "exited with status 1: giving up"), ("hang", "killed after its timeout of 3 s")]
    {
        let root = tempfile::tempdir().unwrap();
        let labs = root.path().join("labs");
        lab_with_a_bad_program(&labs, how);
        let answers = root.path().join("a.toml");
        std::fs::write(&answers, "lab = \"bad\"\n[answers]\nstarted = 1\ndone = 1\n").unwrap();
        let output = bin()
            .args(["lab", "--labs", common::s(&labs), "run", "1", "--json", "--answers", common::s(&answers)])
            .args(["--data-dir", common::s(&root.path().join("data")), "--python", common::s(&python)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let json: serde_json::Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        assert_eq!(output.status.code(), Some(1), "a question could not be checked: {stderr}");
        let verdicts = common::verdicts(&json);
        assert_eq!(
            verdicts[0],
            ("started".to_owned(), "right".to_owned()),
            "the phase it marked is kept: {json:#}"
        );
        assert_eq!(verdicts[1], ("done".to_owned(), "unchecked".to_owned()), "{json:#}");
        let problem = json["questions"][1]["problem"].as_str().unwrap();
        assert!(problem.contains("no phase 'done'") && problem.contains("it marked start"), "{problem}");
        let notes = json["notes"].to_string();
        assert!(notes.contains(says), "{how}: {notes}");
    }
}

#[test]
fn on_tmpfs_the_own_memory_of_a_mapped_file_is_not_gradable_here() {
    let Some(python) = common::python() else { return };
    let shm = Path::new("/dev/shm");
    if mmap_lab::machine::Machine::detect(shm).filesystem.as_deref() != Some("tmpfs") {
        assert!(std::env::var("CI").is_err(), "CI runs on Linux, where /dev/shm is tmpfs");
        eprintln!("skipped: /dev/shm is not tmpfs here");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::Builder::new().prefix("mmap-lab-lab8-").tempdir_in(shm).unwrap();
    let blank = answers_file(root.path(), "blank.toml", &[]);
    let args =
        ["--shape", "16x24x20x3", "--data-dir", common::s(data.path()), "--python", common::s(&python)];
    let out = root.path().join("report");
    let (code, json, stderr) = run(&[&args[..], &["--out", common::s(&out)]].concat(), &blank);
    assert_eq!(code, 3, "{stderr}");
    for (id, verdict) in common::verdicts(&json) {
        let expected = if id == "read_own" { "not_gradable" } else { "unanswered" };
        assert_eq!(verdict, expected, "{id}: {json:#}");
    }
    assert!(
        stderr.contains("question read_own is not gradable here: the data folder is on tmpfs"),
        "{stderr}"
    );
}
