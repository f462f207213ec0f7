//! `mmap-lab measure` on small Python programs: the directions and attributions of the
//! issue's checks (a mapped file read through, own memory allocated, workers sharing or
//! copying, phase marks, gates, bad input). Tolerances are the (10%), never a
//! number from one machine.
//!
//! The Python comes from `MMAP_LAB_PYTHON`, else `.venv/bin/python`; without NumPy these
//! tests skip with the reason, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;
use common::python;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mmap_lab::measure::record::{self, MeasureRecord, Sample};
use mmap_lab::probe::tree::ProcessSnapshot;

const MIB: u64 = 1 << 20;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/measure/share.py")
}

struct Run {
    code: i32,
    stderr: String,
    record: MeasureRecord,
}

/// Runs `measure --out DIR extra -- python share.py FILE n m k mode`.
fn measure(dir: &Path, extra: &[&str], n: u64, m: u64, k: u32, mode: &str) -> Option<Run> {
    let python = python()?;
    let out = dir.join("out");
    let file = dir.join("data.npy");
    // The file is written before, outside the measured run: writing it is not the point.
    let made = std::process::Command::new(&python)
        .arg(script())
        .arg(&file)
        .args([n.to_string(), "0".to_owned(), "0".to_owned(), "create".to_owned()])
        .status()
        .unwrap();
    assert!(made.success());
    let output = Command::cargo_bin("mmap-lab")
        .unwrap()
        .arg("measure")
        .arg("--out")
        .arg(&out)
        .args(extra)
        .arg("--")
        .arg(python)
        .arg(script())
        .arg(&file)
        .args([n.to_string(), m.to_string(), k.to_string(), mode.to_owned()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let record = record::load(&out.join("measure.json")).unwrap_or_else(|e| panic!("{e:#}\n{stderr}"));
    Some(Run { code: output.status.code().unwrap_or(-1), stderr, record })
}

fn phase<'a>(record: &'a MeasureRecord, name: &str) -> &'a Sample {
    record
        .samples
        .iter()
        .find(|s| s.phase.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no phase {name}"))
}

fn own(sample: &Sample) -> u64 {
    sample.tree.sum(ProcessSnapshot::own_bytes)
}

fn about(value: u64, expected: u64, tolerance: f64) -> bool {
    (value as f64 - expected as f64).abs() <= tolerance * expected as f64
}

fn data_row<'a>(sample: &'a Sample, dir: &Path) -> &'a mmap_lab::probe::tree::FileSnapshot {
    let path = std::fs::canonicalize(dir.join("data.npy")).unwrap();
    sample
        .tree
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no row for {}", path.display()))
}

#[test]
fn workers_reading_one_mapping_share_one_copy_and_own_memory_grows_by_the_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let (n, m, k) = (32, 48, 3);
    let Some(run) = measure(dir.path(), &["--quiet"], n, m, k, "map") else { return };
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<&str> = run.record.samples.iter().filter_map(|s| s.phase.as_deref()).collect();
    assert_eq!(names, ["started", "mapped", "allocated", "workers_read"], "marks in order, with their names");
    let times: Vec<u64> = run.record.samples.iter().map(|s| s.t_ns).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "samples in time order");
    // Read through: the file's row holds about all of it in the one process.
    let mapped = phase(&run.record, "mapped");
    let row = data_row(mapped, dir.path());
    assert_eq!(row.uses.len(), 1);
    assert!(about(row.rss_bytes(), n * MIB, 0.10), "{row:?}");
    assert!(row.resident_bytes >= row.rss_bytes() - MIB, "mapped pages are in the page cache");
    // Allocating M MiB grows own memory by about M MiB; mapping did not.
    let allocated = phase(&run.record, "allocated");
    assert!(about(own(allocated) - own(mapped), m * MIB, 0.15), "{} -> {}", own(mapped), own(allocated));
    assert!(own(mapped) < own(allocated));
    // K workers: one row with K + 1 processes, summed PSS about one copy.
    let workers = phase(&run.record, "workers_read");
    assert_eq!(workers.tree.processes.len(), k as usize + 1);
    let row = data_row(workers, dir.path());
    assert_eq!(row.uses.len(), k as usize + 1, "one row, every process in it");
    assert!(about(row.pss_bytes(), n * MIB, 0.10), "summed PSS {} vs one copy {}", row.pss_bytes(), n * MIB);
    assert!(row.rss_bytes() > 2 * row.pss_bytes(), "RSS counts the shared pages once per process");
    // Workers sharing the parent's pages add little own memory.
    assert!(own(workers) - own(allocated) < m * MIB / 2, "{} -> {}", own(allocated), own(workers));
    // The explanation names the file and calls its pages reclaimable.
    let text = run.stderr.replace('\n', " ");
    let file = std::fs::canonicalize(dir.path().join("data.npy")).unwrap();
    assert!(text.contains(&format!("{} (", file.display())), "{}", run.stderr);
    assert!(text.contains("reclaim"), "{}", run.stderr);
    assert!(text.contains("share"), "{}", run.stderr);
    assert!(text.contains("overstates"), "{}", run.stderr);
}

#[test]
fn workers_loading_their_own_copy_show_k_copies_of_own_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (n, k) = (32, 3);
    let Some(run) = measure(dir.path(), &["--quiet"], n, 0, k, "load") else { return };
    assert_eq!(run.code, 0, "{}", run.stderr);
    let before = own(phase(&run.record, "allocated"));
    let after = own(phase(&run.record, "workers_read"));
    assert!(about(after - before, u64::from(k) * n * MIB, 0.15), "{before} -> {after}");
    assert!(run.stderr.contains(&format!("{k} copies")), "{}", run.stderr);
}

#[test]
fn max_own_fails_for_allocating_past_it_and_not_for_mapping_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mapped) = measure(dir.path(), &["--quiet", "--max-own", "96MiB"], 128, 0, 0, "none") else {
        return;
    };
    assert_eq!(mapped.code, 0, "a mapped file is not own memory:\n{}", mapped.stderr);
    assert!(mapped.record.breaches.is_empty());
    let allocated = measure(dir.path(), &["--quiet", "--max-own", "96MiB"], 16, 160, 0, "none").unwrap();
    assert_eq!(allocated.code, 1, "{}", allocated.stderr);
    assert_eq!(allocated.record.breaches[0].gate, "max_own");
    assert!(allocated.record.breaches[0].peak_bytes > 96 * MIB);
    assert!(allocated.stderr.contains("GATE PASSED"), "{}", allocated.stderr);
    let md = std::fs::read_to_string(dir.path().join("out/measure.md")).unwrap();
    assert!(md.contains("## Gates passed"));
    for svg in ["memory.svg", "faults.svg", "residency.svg"] {
        let text = std::fs::read_to_string(dir.path().join("out").join(svg)).unwrap();
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{svg}: {e}"));
    }
}

#[test]
fn the_mark_helper_does_nothing_outside_measure() {
    let Some(python) = python() else { return };
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let code = format!(
        "import sys; sys.path.insert(0, {:?}); import mmap_lab_mark as m; print(m.mark('x'), m.active())",
        helper
    );
    let out = std::process::Command::new(python)
        .args(["-c", &code])
        .env_remove("MMAP_LAB_MARK_FD")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "False False");
}

fn mmap_lab(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("mmap-lab").unwrap().args(args).output().unwrap()
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let out = mmap_lab(&["measure"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no command to measure"));
    let out = mmap_lab(&["measure", "--quiet", "--", "no-such-command-mmap-lab"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("command not found"), "{out:?}");
    let out = mmap_lab(&["measure", "--pid", "999999999", "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no process 999999999"), "{out:?}");
    let out = mmap_lab(&["measure", "--max-own", "lots", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_command_killed_by_a_signal_keeps_its_samples_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["measure", "--quiet", "--interval", "10ms", "--out"])
        .arg(&out_dir)
        .args(["--", "sh", "-c", "sleep 0.3; kill -9 $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 9));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("killed by SIGKILL"), "{stderr}");
    let json = record::load(&out_dir.join("measure.json")).unwrap();
    assert_eq!(json.exit.as_ref().unwrap().signal, Some(9));
    assert!(json.samples.len() >= 2, "samples kept: {}", json.samples.len());
    // The line-by-line record holds the same samples.
    let lines = record::load(&out_dir.join("measure.jsonl")).unwrap();
    assert_eq!(lines.samples.len(), json.samples.len());
    let md = std::fs::read_to_string(out_dir.join("measure.md")).unwrap();
    assert!(md.contains("killed by SIGKILL"));
}

#[test]
fn attaching_to_a_running_process_samples_it_for_the_duration() {
    let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let pid = child.id().to_string();
    let out = mmap_lab(&[
        "measure",
        "--quiet",
        "--pid",
        &pid,
        "--duration",
        "300ms",
        "--interval",
        "20ms",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json = record::load(&out_dir.join("measure.json")).unwrap();
    assert!(json.exit.unwrap().still_running);
    assert!(json.samples.len() >= 2);
    assert!(json.samples.iter().all(|s| s.tree.processes[0].pid.to_string() == pid));
}

#[test]
fn ctrl_c_writes_the_samples_so_far_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mmap-lab"))
        .args(["measure", "--quiet", "--interval", "10ms", "--out"])
        .arg(&out_dir)
        .args(["--", "sleep", "30"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until samples are being written, then interrupt measure alone.
    let lines = out_dir.join("measure.jsonl");
    let waited = std::time::Instant::now();
    while std::fs::read_to_string(&lines).map_or(0, |t| t.lines().count()) < 4 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(60), "no samples written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill with the PID of a child we started and a signal number.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let json = record::load(&out_dir.join("measure.json")).unwrap();
    assert!(json.exit.unwrap().interrupted);
    assert!(json.samples.len() >= 3);
    assert!(std::fs::read_to_string(out_dir.join("measure.md")).unwrap().contains("interrupted"));
}

#[test]
fn the_numpy_script_has_no_probe_of_its_own() {
    // Memory, faults and residency come from outside (src/probe/outside.rs).
    for needle in ["/proc/self", "/proc/{", "cachestat", "mincore", "smaps", "getrusage"] {
        assert!(!mmap_lab::peer::SCRIPT.contains(needle), "experiments/tutorial.py still has {needle}");
    }
    assert!(mmap_lab::peer::SCRIPT.contains("MMAP_LAB_MARK_FD"), "it marks its phases");
}
