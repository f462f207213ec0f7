//! Faults and interruptions: the harness never lies and never loses. Each test drives the
//! real binary.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use mmap_lab::cache::CacheState;
use mmap_lab::results::Results;
use mmap_lab::spec::Status;

fn bin() -> Command {
    Command::cargo_bin("mmap-lab").unwrap()
}

fn spec(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn shrink_spec(dir: &Path, expect: &str) -> PathBuf {
    spec(
        dir,
        "shrink.toml",
        &format!(
            r#"
id = "shrink"
title = "A scratch copy truncated to half while mapped, then a full pass"
numpy_call = "X = np.memmap(copy, dtype='float64', mode='r', shape=...); truncate(copy); X.sum()"
file = "raw_copy"
access = {{ pattern = "shrink_then_pass", keep_percent = 50 }}
cache = ["warm"]
expect = "{expect}"
[open]
method = "memmap"
dtype = "dataset"
shape = "dataset"
"#
        ),
    )
}

fn tutorial(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments").join(name)
}

fn run(root: &Path, specs: &[PathBuf]) -> (i32, Results) {
    let out = root.join("out");
    let output = bin()
        .args(["run", "--shape", "16x24x20x3", "--cache", "warm"])
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--out")
        .arg(&out)
        .args(specs)
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), Results::read(&out.join("results.json")).unwrap())
}

#[test]
fn a_file_truncated_under_its_mapping_is_a_crashed_step_and_the_others_go_on() {
    let root = tempfile::tempdir().unwrap();
    let shrink = shrink_spec(root.path(), "ok");
    let (code, r) = run(root.path(), &[shrink, tutorial("04_raw_memmap_shape.toml")]);
    assert_eq!(code, 1, "an unexpected crash fails the run");
    let crashed = r.step("shrink", CacheState::Warm).unwrap();
    assert_eq!(crashed.status, Status::Crashed);
    assert_eq!(crashed.signal, Some(libc::SIGBUS));
    assert!(crashed.error.as_deref().unwrap().contains("the file changed under the mapping"));
    assert!(crashed.file_bytes_after < crashed.file_bytes_before, "the copy was truncated");
    assert_eq!(r.step("raw_memmap_shape", CacheState::Warm).unwrap().status, Status::Ok);
    assert_eq!(r.run.unexpected_outcomes, 1);
}

#[test]
fn an_expected_crash_does_not_fail_the_run_and_the_dataset_is_untouched() {
    let root = tempfile::tempdir().unwrap();
    let shrink = shrink_spec(root.path(), "crashed");
    let (code, r) = run(root.path(), std::slice::from_ref(&shrink));
    assert_eq!(code, 0);
    let raw = root.path().join("data/X_train_raw.rbf");
    let before = std::fs::read(&raw).unwrap();
    let (_, again) = run(root.path(), &[shrink]);
    assert_eq!(again.dataset.provenance, "reused", "the dataset itself was never truncated");
    assert_eq!(std::fs::read(&raw).unwrap(), before);
    assert_eq!(r.step("shrink", CacheState::Warm).unwrap().status, Status::Crashed);
}

#[test]
fn mode_r_plus_grows_a_scratch_copy_and_never_the_dataset() {
    let root = tempfile::tempdir().unwrap();
    let grow = spec(
        root.path(),
        "grow.toml",
        r#"
id = "grow"
title = "np.memmap's default mode r+ with a shape larger than the file"
numpy_call = "np.memmap(copy, dtype='float64', shape=(32, 24, 20, 3))"
file = "raw_copy"
access = "first"
cache = ["warm"]
[open]
method = "memmap"
dtype = "float64"
shape = [32, 24, 20, 3]
mode = "r+"
"#,
    );
    let (code, r) = run(root.path(), &[grow]);
    assert_eq!(code, 0);
    let s = r.step("grow", CacheState::Warm).unwrap();
    assert_eq!(s.file_bytes_before, Some(16 * 24 * 20 * 3 * 8));
    assert_eq!(s.file_bytes_after, Some(32 * 24 * 20 * 3 * 8), "r+ silently doubled the copy");
    let raw = std::fs::metadata(root.path().join("data/X_train_raw.rbf")).unwrap().len();
    assert_eq!(raw, 16 * 24 * 20 * 3 * 8);
}

#[test]
fn r_plus_on_the_dataset_itself_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let bad = spec(
        root.path(),
        "bad.toml",
        r#"
id = "bad"
title = "r+ on the dataset"
numpy_call = "np.memmap('X_train_raw.rbf')"
file = "raw"
[open]
method = "memmap"
mode = "r+"
"#,
    );
    let out = bin().arg("run").arg(&bad).arg("--data-dir").arg(root.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml") && stderr.contains("scratch copy"), "{stderr}");
}

fn spawn(args: &[&str]) -> Child {
    StdCommand::new(cargo_bin("mmap-lab"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

#[test]
fn a_generation_killed_at_any_moment_is_never_taken_for_data() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let d = data.to_str().unwrap();
    for delay_ms in [20u64, 80, 200] {
        let mut child = spawn(&["generate", "--shape", "800x120x120x3", "--data-dir", d, "--force"]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        signal(&child, libc::SIGKILL);
        child.wait().unwrap();
        let has_manifest = data.join("manifest.json").exists();
        let out = bin().args(["generate", "--shape", "800x120x120x3", "--data-dir", d]).output().unwrap();
        assert!(out.status.success());
        let said = String::from_utf8_lossy(&out.stdout);
        // Without a manifest the files are regenerated; a manifest is only ever written
        // after both files are complete, and a reuse re-checks sizes and checksums.
        assert_eq!(said.contains("valid data already"), has_manifest, "after {delay_ms} ms: {said}");
        let leftovers: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    }
}

#[test]
fn an_interrupted_run_keeps_what_it_measured_apart_and_leaves_the_report_alone() {
    let root = tempfile::tempdir().unwrap();
    let slow = spec(
        root.path(),
        "slow.toml",
        r#"
id = "slow"
title = "Many mini-batches: long enough to be interrupted"
numpy_call = "..."
file = "npy"
access = { pattern = "random_batches", batch_size = 2, batches = 10000000 }
cache = ["warm"]
[open]
method = "load_mmap"
"#,
    );
    let first = tutorial("01_npy_load_mmap.toml");
    let out = root.path().join("reports");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("results.json"), b"{\"previous\": true}").unwrap();
    let (d, o) = (root.path().join("data"), out.to_str().unwrap().to_owned());
    let mut child = spawn(&[
        "run",
        "--shape",
        "16x24x20x3",
        "--cache",
        "warm",
        "--data-dir",
        d.to_str().unwrap(),
        "--out",
        &o,
        first.to_str().unwrap(),
        slow.to_str().unwrap(),
    ]);
    // Wait until the slow step is under way: the first step's line is printed.
    let started = Instant::now();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
            if line.contains("npy_load_mmap") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("the first step finished");
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "the interrupt stopped the run");
    assert_eq!(status.code(), Some(130));
    assert_eq!(std::fs::read(out.join("results.json")).unwrap(), b"{\"previous\": true}", "report untouched");
    let kept = Results::read(&root.path().join("reports.incomplete/results.json")).unwrap();
    assert!(!kept.run.complete);
    assert!(kept.steps.iter().any(|s| s.id == "npy_load_mmap" && s.status == Status::Ok));
    // The step that was stopped is an interruption, not a crash nor the out-of-memory killer,
    // and a peer stopped with it is not a disagreement.
    for stopped in kept.steps.iter().filter(|s| s.id == "slow") {
        let why = stopped.error.clone().unwrap_or_default();
        assert!(why.contains("interrupted"), "{why}");
        assert!(!why.contains("SIGKILL") && !why.contains("out-of-memory"), "{why}");
    }
    assert!(!kept.run.notes.iter().any(|n| n.contains("DISAGREES")), "{:?}", kept.run.notes);
}

/// A 4 MiB tmpfs, when this machine lets us mount one (root in CI); `None` otherwise.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path) -> Option<SmallDisk> {
        let point = dir.join("small-disk");
        std::fs::create_dir(&point).ok()?;
        let ok = StdCommand::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&point)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(point))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = StdCommand::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_during_generation_is_a_clear_error_and_leaves_no_partial_files() {
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(root.path()) else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    // 40 samples of 28,800 bytes, twice: about 2.3 MB, more than fits once the first file grows.
    let out = bin()
        .env("MMAP_LAB_SKIP_SPACE_CHECK", "1")
        .args(["generate", "--shape", "80x40x30x3"])
        .arg("--data-dir")
        .arg(&disk.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the disk is full"), "{stderr}");
    let left: Vec<_> =
        std::fs::read_dir(&disk.0).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    // The folder's lock file (mmap-lab's own, empty of data) may stay; nothing else.
    assert!(left.iter().all(|n| n == ".mmap-lab.lock"), "left behind: {left:?}");
    // Without skipping it, the free-space check refuses before writing anything (exit 2).
    let out =
        bin().args(["generate", "--shape", "80x40x30x3"]).arg("--data-dir").arg(&disk.0).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not enough free space"));
}

/// Every regular file under `dir` (not the lock), with its bytes.
fn files_of(dir: &Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".mmap-lab.lock" && e.path().is_file())
        .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_disk_that_fills_while_the_report_is_drawn_keeps_the_results_and_the_old_report() {
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(root.path()) else {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: a small tmpfs must mount");
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let data = root.path().join("data");
    let out = disk.0.join("report");
    let run = |out: &Path| {
        bin()
            .args(["run", "npy_load_mmap", "npy_load", "--shape", "40x12x12x3", "--no-python"])
            .arg("--data-dir")
            .arg(&data)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let first = run(&out);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let before = files_of(&out);
    assert!(before.iter().any(|(n, _)| n == "results.json"));
    // Leave the disk too little room for a second report: its drawings cannot all be written.
    let used: u64 = before.iter().map(|(_, b)| b.len() as u64).sum();
    let free = fs_free(&disk.0);
    let filler = free.saturating_sub(used / 3);
    std::fs::write(disk.0.join("filler"), vec![0u8; filler as usize]).unwrap();
    let second = run(&out);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left") || stderr.contains("disk is full"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(files_of(&out), before, "the old report is byte for byte what it was");
    // The new measurements are kept where the message says, whole, and can be redrawn.
    let kept = disk.0.join("report.incomplete/results.json");
    assert!(stderr.contains(&kept.display().to_string()), "{stderr}");
    let results = Results::read(&kept).unwrap();
    assert!(results.steps.iter().any(|s| s.id == "npy_load_mmap" && s.status == Status::Ok));
}

/// Bytes free on the file system holding `dir`.
fn fs_free(dir: &Path) -> u64 {
    let out = StdCommand::new("df").args(["--output=avail", "-B1"]).arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap()
}
