//! mmap-lab works wherever it is installed: the binary carries its experiments, and data
//! and reports go under the folder it runs in. The already-built binary is copied out of
//! the project (as `cargo install` would put it) and run from an empty folder.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary, copied into `dir/bin`, away from the project folder.
fn installed_copy(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let copy = bin.join("mmap-lab");
    std::fs::copy(env!("CARGO_BIN_EXE_mmap-lab"), &copy).unwrap();
    copy
}

fn run_in(cwd: &Path, binary: &Path, args: &[&str]) -> Output {
    // A test beside this one may fork while the copy's write descriptor is open (until its
    // child execs): exec then fails with "text file busy" for that moment. Try again.
    let mut tries = 0;
    let out = loop {
        match Command::new(binary).args(args).current_dir(cwd).env_remove("MMAP_LAB_PYTHON").output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

#[test]
fn an_installed_binary_runs_from_an_empty_folder_and_writes_data_and_reports_there() {
    let root = tempfile::tempdir().unwrap();
    let binary = installed_copy(root.path());
    let work = root.path().join("empty");
    std::fs::create_dir(&work).unwrap();
    let out = run_in(&work, &binary, &["run-all", "--shape", "6x8x8x3", "--no-python", "--rounds", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert!(work.join("data").join("X_train.npy").is_file(), "no data/ in the folder it ran in");
    assert!(work.join("data").join("X_train_raw.rbf").is_file());
    assert!(work.join("reports").join("REPORT.md").is_file(), "no reports/ in the folder it ran in");
    let work_abs = work.canonicalize().unwrap();
    let line = |name: &str| stderr.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_owned();
    assert!(line("experiments:").contains("built into mmap-lab"), "{stderr}");
    assert!(line("data:").contains(&work_abs.join("data").display().to_string()), "{stderr}");
    assert!(line("report:").contains(&work_abs.join("reports").display().to_string()), "{stderr}");
    assert!(line("python:").contains("--no-python"), "{stderr}");

    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("reports").join("results.json")).unwrap()).unwrap();
    let steps = results["steps"].as_array().unwrap();
    let specs_on_disk = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    let ids: std::collections::BTreeSet<&str> = steps
        .iter()
        .map(|s| {
            s["id"].as_str().unwrap().trim_end_matches(|c: char| c.is_ascii_digit()).trim_end_matches("_k")
        })
        .collect();
    assert_eq!(ids.len(), specs_on_disk, "every built-in run_all spec ran: {ids:?}");
    assert_eq!(
        results["dataset"]["data_dir"], "data",
        "the report names the data folder relative to the run"
    );
}

#[test]
fn the_built_in_experiments_are_used_not_an_experiments_folder_where_it_runs() {
    let root = tempfile::tempdir().unwrap();
    let binary = installed_copy(root.path());
    let other_clone = root.path().join("other-clone");
    std::fs::create_dir_all(other_clone.join("experiments")).unwrap();
    std::fs::write(other_clone.join("experiments").join("01_npy_load_mmap.toml"), "this is not a spec")
        .unwrap();
    let out = run_in(
        &other_clone,
        &binary,
        &["run", "npy_load_mmap", "--shape", "6x8x8x3", "--no-python", "--cache", "warm"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("experiments: 1 specs, built into mmap-lab"), "{stderr}");
    assert!(other_clone.join("mmap-lab-run").join("results.json").is_file());

    // --experiments still reads a folder, and names it: here the broken spec is refused.
    let refused = Command::new(&binary)
        .args(["run", "npy_load_mmap", "--experiments", "experiments", "--shape", "6x8x8x3", "--no-python"])
        .current_dir(&other_clone)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("01_npy_load_mmap.toml"));
}

#[test]
fn the_labs_are_built_in_too() {
    let root = tempfile::tempdir().unwrap();
    let binary = installed_copy(root.path());
    let out = run_in(root.path(), &binary, &["lab", "show", "1"]);
    let handout = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/labs/01_npy_header.md"),
    )
    .unwrap();
    let first_line = handout.lines().next().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(first_line));
}
