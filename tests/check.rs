//! `mmap-lab check` end to end on a small shape: a baseline holds against itself, a
//! populated mapping fails with its metric named, and bad baselines are refused with 2.
//!
//! Times are the benchmarks' business, not the tests': the checks that must pass run with
//! a time floor of a second, so that a busy test machine cannot fail them. What is
//! asserted are verdicts of memory and correctness metrics, which do not depend on speed.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const SHAPE: &str = "16x120x120x3";
/// Times within a second of their expected value pass: see the module comment.
const CALM: [&str; 2] = ["--time-floor", "1s"];

fn experiments() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments")
}

fn check(root: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mmap-lab").unwrap();
    cmd.args(["check", "--shape", SHAPE, "--repeats", "3"]).arg("--data-dir").arg(root.join("data"));
    cmd
}

fn save_baseline(root: &Path) -> PathBuf {
    let path = root.join("baselines/small.json");
    check(root).arg("--save-baseline").arg(&path).assert().success();
    path
}

/// The table's row for `metric`, split into its cells (two or more spaces apart).
fn row(table: &str, metric: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(metric))
        .unwrap_or_else(|| panic!("no row {metric} in\n{table}"));
    line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

fn verdict(table: &str, metric: &str) -> String {
    row(table, metric).last().unwrap().clone()
}

#[test]
fn a_saved_baseline_holds_against_a_new_run_and_json_says_pass() {
    let root = tempfile::tempdir().unwrap();
    let baseline = save_baseline(root.path());
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&baseline).unwrap()).unwrap();
    assert_eq!(saved["baseline_version"], 1);
    assert_eq!(saved["dataset"]["shape"], serde_json::json!([16, 120, 120, 3]));
    assert!(saved["machine"]["cores"].as_u64().unwrap() >= 1);
    assert_eq!(saved["tolerances"]["time_factor"], 3.0);

    let out = check(root.path()).arg("--baseline").arg(&baseline).args(CALM).assert().success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(row(&table, "metric"), ["metric", "baseline", "now", "allowed", "verdict"]);
    for id in
        ["npy_load_mmap", "npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape", "npy_memmap_offset"]
    {
        for metric in ["outcome", "object_bytes", "rss_after_open", "rss_after_first", "resident_after_first"]
        {
            assert_eq!(verdict(&table, &format!("{id}.{metric}")), "ok", "{id}.{metric}\n{table}");
        }
        for metric in ["open_time", "first_time", "pass_time"] {
            assert_eq!(verdict(&table, &format!("{id}.{metric}")), "ok", "{id}.{metric}\n{table}");
        }
    }
    assert_eq!(verdict(&table, "npy_header_bytes"), "ok");
    assert!(!table.contains("npy_load."), "np.load does not map: not measured by default");
    assert!(table.contains("All hold."), "{table}");

    let out = check(root.path()).arg("--baseline").arg(&baseline).args(CALM).arg("--json").assert().success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["result"], "pass");
    assert_eq!(report["exit_code"], 0);
    let rows = report["rows"].as_array().unwrap();
    let header = rows.iter().find(|r| r["metric"] == "npy_header_bytes").unwrap();
    assert_eq!(header["now"]["bytes"], 128);
    assert_eq!(header["verdict"], "ok");
}

#[test]
fn a_mapping_populated_at_open_fails_with_rss_after_open_named() {
    let root = tempfile::tempdir().unwrap();
    let baseline = save_baseline(root.path());
    // The same steps, but np.load's mapping made with MAP_POPULATE: the whole file is
    // faulted in at open, so RSS at after_open grows by the file.
    let variant = root.path().join("experiments");
    std::fs::create_dir(&variant).unwrap();
    for entry in std::fs::read_dir(experiments()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == "01_npy_load_mmap.toml" {
            assert!(text.trim_end().ends_with("method = \"load_mmap\""), "[open] is the spec's last table");
            text.push_str("populate = true\n");
        }
        std::fs::write(variant.join(path.file_name().unwrap()), text).unwrap();
    }
    let out = check(root.path())
        .arg("--baseline")
        .arg(&baseline)
        .arg("--experiments")
        .arg(&variant)
        .args(CALM)
        .assert()
        .code(1);
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let cells = row(&table, "npy_load_mmap.rss_after_open");
    assert_eq!(cells.last().unwrap(), "REGRESSION", "{table}");
    assert!(table.contains("Failing: ") && table.contains("npy_load_mmap.rss_after_open"), "{table}");
    // Only the populated step regresses; its outcome is unchanged.
    assert_eq!(verdict(&table, "npy_load_mmap.outcome"), "ok");
    for id in ["npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape", "npy_memmap_offset"] {
        assert_eq!(verdict(&table, &format!("{id}.rss_after_open")), "ok", "{id}\n{table}");
    }
    for line in table.lines().filter(|l| l.ends_with("REGRESSION")) {
        assert!(line.starts_with("npy_load_mmap."), "{line}");
    }
}

#[test]
fn a_baseline_of_another_shape_or_dtype_is_refused_before_measuring() {
    let root = tempfile::tempdir().unwrap();
    let baseline = save_baseline(root.path());
    let other_data = root.path().join("other-data");
    let out = Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["check", "--shape", "8x120x120x3", "--data-dir"])
        .arg(&other_data)
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(16, 120, 120, 3)"))
        .stderr(predicate::str::contains("(8, 120, 120, 3)"))
        .stderr(predicate::str::contains("--shape 16x120x120x3"));
    assert!(out.get_output().stdout.is_empty());
    assert!(!other_data.exists(), "nothing is generated or measured for a refused baseline");

    check(root.path())
        .args(["--dtype", "f4", "--baseline"])
        .arg(&baseline)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("float64").and(predicate::str::contains("float32")));
}

#[test]
fn a_missing_baseline_says_how_to_make_one() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("baselines/ci.json");
    check(root.path())
        .arg("--baseline")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("mmap-lab check --save-baseline {}", path.display())));
    assert!(!root.path().join("data").exists(), "refused before measuring");
}

#[test]
fn a_corrupt_baseline_is_refused_and_left_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let baseline = save_baseline(root.path());
    let mut bytes = std::fs::read(&baseline).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&baseline, &bytes).unwrap();
    check(root.path())
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a baseline mmap-lab can read"))
        .stderr(predicate::str::contains("--save-baseline"));
    assert_eq!(std::fs::read(&baseline).unwrap(), bytes);

    // The same file as input and output is refused: a check never replaces its baseline.
    check(root.path())
        .arg("--baseline")
        .arg(&baseline)
        .arg("--save-baseline")
        .arg(&baseline)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("never replaces the baseline it reads"));
    assert_eq!(std::fs::read(&baseline).unwrap(), bytes);
}

#[test]
fn results_of_a_run_can_be_saved_and_checked() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["run-all", "--shape", "8x12x10x3", "--cache", "warm", "--data-dir"])
        .arg(root.path().join("data"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let results = out.join("results.json");
    let baseline = root.path().join("from-results.json");
    let cmd = || {
        let mut c = Command::cargo_bin("mmap-lab").unwrap();
        c.args(["check", "--results"]).arg(&results);
        c
    };
    cmd().arg("--save-baseline").arg(&baseline).assert().success();
    cmd().arg("--baseline").arg(&baseline).assert().success().stdout(predicate::str::contains("All hold."));
    // A live check against a baseline of another shape is refused.
    Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["check", "--data-dir"])
        .arg(root.path().join("live"))
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(8, 12, 10, 3)"));
}
