//! `mmap-lab report` through the real binary: a report rebuilt from results files alone,
//! several runs side by side, and clear errors for files that are not results.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const FIXTURE: &str = "tests/data/small-results.json";

/// The fixture run, saved as `name` with its host renamed to `host`.
fn results_file(dir: &Path, name: &str, host: &str) -> PathBuf {
    let mut results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    results["machine"]["hostname"] = host.into();
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(&results).unwrap()).unwrap();
    path
}

fn report() -> Command {
    let mut cmd = Command::cargo_bin("mmap-lab").unwrap();
    cmd.arg("report");
    cmd
}

#[test]
fn two_results_files_are_drawn_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let a = results_file(dir.path(), "a.json", "student-a");
    let b = results_file(dir.path(), "b.json", "student-b");
    let out = dir.path().join("course");
    report()
        .arg("--results")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("report of 2 runs"));
    for file in [
        "REPORT.md",
        "results-1.json",
        "results-2.json",
        "steps.csv",
        "snapshots.csv",
        "memory.svg",
        "time.svg",
        "object-size.svg",
        "residency.svg",
        "faults.svg",
        "first-sample.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let md = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(md.contains("## Runs side by side"));
    assert!(md.contains("## Run 1: student-a") && md.contains("## Run 2: student-b"));
    let csv = std::fs::read_to_string(out.join("steps.csv")).unwrap();
    assert!(csv.starts_with("run,id,"));
    assert!(csv.contains("run 1: student-a,") && csv.contains("run 2: student-b,"));
    for svg in ["memory.svg", "time.svg", "first-sample.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(text.contains("run 1: student-a") && text.contains("run 2: student-b"), "{svg}");
    }
    // The results are kept as they were given.
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results-2.json")).unwrap()).unwrap();
    assert_eq!(kept["machine"]["hostname"], "student-b");
}

#[test]
fn one_results_file_rebuilds_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("again");
    report().args(["--results", FIXTURE]).arg("--out").arg(&out).assert().success();
    let json =
        |p: &Path| serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(p).unwrap()).unwrap();
    assert_eq!(
        json(&out.join("results.json")),
        json(Path::new(FIXTURE)),
        "the results are written back unchanged"
    );
    assert!(
        std::fs::read_to_string(out.join("REPORT.md")).unwrap().contains("## The tutorial's claims, checked")
    );
}

#[test]
fn a_missing_results_file_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.json");
    report()
        .arg("--results")
        .arg(&missing)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere.json: cannot read the results"));
    assert!(!dir.path().join("out").join("REPORT.md").exists());
}

#[test]
fn a_file_that_is_not_results_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.json");
    std::fs::write(&bad, b"{\"hello\": 1}").unwrap();
    report()
        .args(["--results", FIXTURE])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("notes.json: not a results.json mmap-lab can read"));
}

#[test]
fn results_and_out_are_required() {
    report().args(["--out", "x"]).assert().code(2).stderr(predicate::str::contains("--results"));
    report().args(["--results", FIXTURE]).assert().code(2).stderr(predicate::str::contains("--out"));
}
