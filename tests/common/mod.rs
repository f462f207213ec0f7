//! Helpers for the tests that drive the binary: every command bounded by a timeout, so
//! that a hang fails the test instead of blocking it.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses a part; a failing helper is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest any one command may take in these tests.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// mmap-lab with `args`, bounded by [`TIMEOUT`]; returns (exit code, stdout, stderr).
pub fn mmap_lab(args: &[&str]) -> (Option<i32>, String, String) {
    let out = assert_cmd::Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(args)
        .env("NO_COLOR", "1")
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs mmap-lab and expects a refusal: exit 1 or 2 (not a signal: a timeout kills with
/// SIGKILL), every needle in stderr, no panic. Returns stderr.
pub fn refused(args: &[&str], needles: &[&str]) -> String {
    let (code, _, stderr) = mmap_lab(args);
    assert!(matches!(code, Some(1 | 2)), "{args:?}: exit {code:?} (a hang is killed): {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir` (recursively) with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != ".mmap-lab.lock") {
                all.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    all.sort();
    all
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(s(path)).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// The Python with NumPy to test against, or `None` (after saying why) when a test may
/// skip; under `CI=true` a missing NumPy fails instead.
pub fn python() -> Option<PathBuf> {
    python_with(&[])
}

/// A Python that imports NumPy and `packages` (MMAP_LAB_PYTHON, else the project's .venv),
/// or `None` (after saying why, straight to stderr past the harness's capture) when a test
/// may skip; under `CI=true` a missing one fails instead.
pub fn python_with(packages: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("MMAP_LAB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let imports = std::iter::once("numpy").chain(packages.iter().copied()).collect::<Vec<_>>().join(", ");
    let works = std::process::Command::new(&path)
        .args(["-c", &format!("import {imports}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(path);
    }
    let reason =
        format!("{} cannot import {imports}; run `just venv` or set MMAP_LAB_PYTHON", path.display());
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: these are expected, but {reason}");
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipping a Python test: {reason}");
    None
}

/// Runs `code` in `python` with `args` (as `sys.argv[1:]`); panics with its stderr if it fails.
pub fn run_python(python: &Path, code: &str, args: &[&Path]) -> String {
    let out = std::process::Command::new(python).arg("-c").arg(code).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "Python failed:\n{code}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A temporary folder for the tests that evict files from the page cache (cold steps).
/// `/tmp` is often a tmpfs, where a file's pages are its only copy and cannot be evicted,
/// so the folder is made under Cargo's target folder, on the disk the project builds on.
pub fn disk_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Whether files in `dir` can be evicted from the page cache, tried on a file of 1 MiB.
/// When they cannot (a tmpfs), says so: the caller then checks what a cold step does there
/// instead. Under `CI=true`, where the target folder is on a disk, it fails instead.
pub fn can_evict(dir: &Path) -> bool {
    let path = dir.join("evict-probe");
    std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
    mmap_lab::cache::evict(&path).unwrap();
    let evicted = mmap_lab::cache::resident(&path).unwrap() == 0;
    std::fs::remove_file(&path).unwrap();
    if !evicted {
        let why = format!("{}: this file system keeps pages that are evicted (a tmpfs?)", dir.display());
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: a cold page cache is expected, but {why}"
        );
        eprintln!("cold-cache checks relaxed: {why}");
    }
    evicted
}

/// The shipped lab `n`, loaded from the project's experiments folder.
pub fn lab_spec(n: u32) -> mmap_lab::lab::LabSpec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let entries = mmap_lab::lab::load_all(&root.join("labs"), &root).unwrap();
    mmap_lab::lab::find(entries, &n.to_string()).unwrap()
}

/// Runs `lab run N --json` with `answers` (TOML text) at `shape`, data in `data` and the
/// report under `root`; returns the exit code, the JSON grade and stderr. Bounded by five
/// times [`TIMEOUT`]: a lab measures several steps, cold and warm, five times over.
pub fn lab_run(
    root: &Path,
    number: u32,
    answers: &str,
    data: &Path,
    shape: &str,
) -> (i32, serde_json::Value, String) {
    let file = root.join("answers.toml");
    std::fs::write(&file, answers).unwrap();
    let output = assert_cmd::Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["lab", "run", &number.to_string(), "--json", "--shape", shape, "--answers"])
        .arg(&file)
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(root.join("report"))
        .timeout(TIMEOUT * 5)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (output.status.code().unwrap_or(-1), json, stderr)
}

/// (question id, verdict) of every question of a `lab run --json` grade, in order.
pub fn verdicts(json: &serde_json::Value) -> Vec<(String, String)> {
    json["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["id"].as_str().unwrap().to_owned(), q["verdict"].as_str().unwrap().to_owned()))
        .collect()
}
