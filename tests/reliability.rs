//! Never lose or mistake a user's data: one test (or a few) per class of the reliability
//! issue, each driving the real binary with a timeout, asserting the exit code, a message
//! naming the thing, no panic, and that data, manifest, old report and the user's files
//! are byte-for-byte what they were.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::{mkfifo, mmap_lab, refused, s, snapshot};

const SHAPE: &str = "4x5x6x3";

fn generate(dir: &Path, seed: &str) {
    let (code, _, stderr) = mmap_lab(&["generate", "--shape", SHAPE, "--seed", seed, "--data-dir", s(dir)]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// A small run of one warm step into `out`, without NumPy.
fn run_args<'a>(data: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "run",
        "npy_load_mmap",
        "--shape",
        SHAPE,
        "--cache",
        "warm",
        "--no-python",
        "--data-dir",
        s(data),
        "--out",
        s(out),
    ]
}

/// A data folder and a report folder made by a real run.
fn data_and_report(root: &Path) -> (PathBuf, PathBuf) {
    let (data, out) = (root.join("data"), root.join("report"));
    let (code, _, stderr) = mmap_lab(&run_args(&data, &out));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(out.join("results.json").is_file());
    (data, out)
}

const SPEC: &str = "id = \"x\"\ntitle = \"t\"\nnumpy_call = \"np.load('X_train.npy', mmap_mode='r')\"\nfile = \"npy\"\ncache = [\"warm\"]\n[open]\nmethod = \"load_mmap\"\n";

// --- 1. destroying before validating ------------------------------------------------------

#[test]
fn a_refusal_for_disk_space_leaves_the_old_data_and_report_as_they_were() {
    let root = tempfile::tempdir().unwrap();
    let (data, out) = data_and_report(root.path());
    let (before_data, before_out) = (snapshot(&data), snapshot(&out));
    let huge = "1048576x1048576x8";
    refused(&["generate", "--shape", huge, "--data-dir", s(&data)], &["not enough free space", s(&data)]);
    refused(&["generate", "--force", "--shape", huge, "--data-dir", s(&data)], &["not enough free space"]);
    let mut args = run_args(&data, &out);
    args[3] = huge;
    refused(&args, &["not enough free space"]);
    assert_eq!(snapshot(&data), before_data, "the data and its manifest survive");
    assert_eq!(snapshot(&out), before_out, "the old report survives");
}

// --- 2. one writer per folder -----------------------------------------------------------

/// Holds `dir`'s lock as another mmap-lab would, recording `holder`.
fn hold_lock(dir: &Path, holder: &str) -> std::fs::File {
    use std::os::fd::AsRawFd;
    std::fs::create_dir_all(dir).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(".mmap-lab.lock"))
        .unwrap();
    std::fs::write(dir.join(".mmap-lab.lock"), holder).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0);
    file
}

#[test]
fn a_second_writer_of_a_data_folder_is_refused_naming_the_holder() {
    let root = tempfile::tempdir().unwrap();
    let (data, out) = data_and_report(root.path());
    let before = snapshot(&data);
    let _held = hold_lock(&data, "pid 4242 (mmap-lab generate --seed 7)");
    refused(
        &["generate", "--force", "--shape", SHAPE, "--data-dir", s(&data)],
        &["in use by pid 4242", "generate --seed 7"],
    );
    refused(&run_args(&data, &out), &["--data-dir", "in use by pid 4242"]);
    assert_eq!(snapshot(&data), before);
}

#[test]
fn a_second_writer_of_a_report_folder_is_refused_naming_the_holder() {
    let root = tempfile::tempdir().unwrap();
    let (_, out) = data_and_report(root.path());
    let results = root.path().join("results.json");
    std::fs::copy(out.join("results.json"), &results).unwrap();
    let before = snapshot(&out);
    let _held = hold_lock(&out, "pid 4343 (mmap-lab run-all)");
    refused(&["report", "--results", s(&results), "--out", s(&out)], &["--out", "in use by pid 4343"]);
    assert_eq!(snapshot(&out), before);
}

#[test]
fn two_generations_at_once_end_with_one_seed_vouched_for() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let bin = assert_cmd::cargo::cargo_bin("mmap-lab");
    let shape = "64x120x120x3";
    let children: Vec<_> = ["1", "2"]
        .iter()
        .map(|seed| {
            std::process::Command::new(&bin)
                .args(["generate", "--force", "--shape", shape, "--seed", seed, "--data-dir", s(&data)])
                .output()
        })
        .collect();
    let ok: Vec<_> = children.into_iter().map(|c| c.unwrap()).filter(|o| o.status.success()).collect();
    assert!(!ok.is_empty());
    // Whatever won, the manifest vouches for exactly the bytes its seed draws.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json")).unwrap()).unwrap();
    let seed = manifest["seed"].as_u64().unwrap().to_string();
    let fresh = root.path().join("fresh");
    let (code, _, stderr) =
        mmap_lab(&["generate", "--shape", shape, "--seed", &seed, "--data-dir", s(&fresh)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        std::fs::read(data.join("X_train_raw.rbf")).unwrap()
            == std::fs::read(fresh.join("X_train_raw.rbf")).unwrap()
    );
    let left: Vec<_> = std::fs::read_dir(&data).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().ends_with(".partial")), "{left:?}");
}

// --- 3. data taken for other data ---------------------------------------------------------

#[test]
fn a_manifest_edited_to_another_seed_is_not_believed() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    generate(&data, "0");
    let manifest = data.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("\"seed\": 0", "\"seed\": 1");
    std::fs::write(&manifest, text).unwrap();
    let (code, stdout, stderr) =
        mmap_lab(&["generate", "--shape", SHAPE, "--seed", "1", "--data-dir", s(&data)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains("valid data already"), "{stdout}");
    let fresh = root.path().join("fresh");
    generate(&fresh, "1");
    assert!(
        std::fs::read(data.join("X_train.npy")).unwrap() == std::fs::read(fresh.join("X_train.npy")).unwrap()
    );
}

#[test]
fn an_edit_of_the_same_size_with_its_time_put_back_is_not_measured() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    generate(&data, "0");
    let raw = data.join("X_train_raw.rbf");
    let modified = std::fs::metadata(&raw).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&raw).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&raw, &bytes).unwrap();
    std::fs::File::options().write(true).open(&raw).unwrap().set_modified(modified).unwrap();
    let (code, stdout, _) = mmap_lab(&["generate", "--shape", SHAPE, "--data-dir", s(&data)]);
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("valid data already"), "{stdout}");
    assert_ne!(std::fs::read(&raw).unwrap(), bytes, "regenerated, not reused");
}

// --- 4. files that are not regular files --------------------------------------------------

#[test]
fn a_fifo_or_a_device_as_any_named_input_is_refused_without_hanging() {
    let root = tempfile::tempdir().unwrap();
    let fifo = root.path().join("pipe");
    mkfifo(&fifo);
    let out = root.path().join("out");
    for input in [s(&fifo), "/dev/zero"] {
        refused(&["inspect", input], &[input, "not a regular file"]);
        refused(&["inspect", input, "--dtype", "f8"], &[input, "not a regular file"]);
        refused(&["run", input, "--data-dir", s(&root.path().join("d"))], &[input, "not a regular file"]);
        refused(&["report", "--results", input, "--out", s(&out)], &[input, "not a regular file"]);
        refused(&["check", "--baseline", input, "--shape", SHAPE], &[input, "not a regular file"]);
        refused(
            &["check", "--results", input, "--save-baseline", s(&root.path().join("b.json"))],
            &[input, "not a regular file"],
        );
        refused(&["lab", "run", "1", "--answers", input, "--shape", SHAPE], &[input, "not a regular file"]);
    }
    assert!(!root.path().join("d").exists() || snapshot(&root.path().join("d")).is_empty());
}

// --- 5. closed pipes ----------------------------------------------------------------------

fn bash(script: &str) -> std::process::Output {
    assert_cmd::Command::new("bash").args(["-c", script]).timeout(common::TIMEOUT).output().unwrap()
}

#[test]
fn a_closed_stdout_ends_output_quietly() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    generate(&data, "0");
    let bin = assert_cmd::cargo::cargo_bin("mmap-lab");
    let out = bash(&format!(
        "'{}' inspect '{}' 2>'{}/err' | head -c0; echo ${{PIPESTATUS[0]}}",
        bin.display(),
        data.join("X_train.npy").display(),
        root.path().display()
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    let err = std::fs::read_to_string(root.path().join("err")).unwrap();
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

#[test]
fn a_closed_pipe_never_stops_a_run_or_loses_its_results() {
    let root = tempfile::tempdir().unwrap();
    let (data, out) = (root.path().join("data"), root.path().join("report"));
    let bin = assert_cmd::cargo::cargo_bin("mmap-lab");
    let args = run_args(&data, &out).iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let result =
        bash(&format!("'{}' {args} 2>&1 | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}", bin.display()));
    assert_eq!(String::from_utf8_lossy(&result.stdout).trim(), "0", "{result:?}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["steps"].as_array().unwrap().len(), 1);
}

// --- 6. values silently changed -----------------------------------------------------------

#[test]
fn a_channel_the_array_does_not_have_is_refused_before_any_step() {
    let root = tempfile::tempdir().unwrap();
    let spec = root.path().join("channel.toml");
    std::fs::write(&spec, format!("{SPEC}[access]\npattern = \"channel\"\nchannel = 99\n")).unwrap();
    let data = root.path().join("data");
    refused(
        &[
            "run",
            s(&spec),
            "--shape",
            SHAPE,
            "--no-python",
            "--data-dir",
            s(&data),
            "--out",
            s(&root.path().join("o")),
        ],
        &[
            "channel.toml",
            "access.channel = 99",
            "0 to 2",
            "index 99 is out of bounds for axis 3 with size 3",
        ],
    );
    assert!(snapshot(&data).is_empty(), "nothing generated");
}

#[test]
fn more_samples_than_the_array_has_are_refused_with_the_numbers_not_clamped() {
    let root = tempfile::tempdir().unwrap();
    let spec = root.path().join("first.toml");
    let samples: usize = SHAPE.split('x').next().unwrap().parse().unwrap();
    let asked = samples * 10;
    std::fs::write(&spec, format!("{SPEC}[access]\npattern = \"first_n\"\nsamples = {asked}\n")).unwrap();
    let data = root.path().join("data");
    let asked_key = format!("access.samples = {asked}");
    let numbers = format!("more than the {samples} samples");
    refused(
        &["run", s(&spec), "--shape", SHAPE, "--no-python", "--data-dir", s(&data)],
        &["first.toml", &asked_key, &numbers, "clip = true"],
    );
    assert!(snapshot(&data).is_empty(), "nothing generated");
}

#[test]
fn counts_that_cannot_fit_in_memory_are_refused_before_any_step() {
    let root = tempfile::tempdir().unwrap();
    let spec = root.path().join("count.toml");
    std::fs::write(
        &spec,
        format!("{SPEC}[access]\npattern = \"random_elements\"\ncount = 9000000000000000000\n"),
    )
    .unwrap();
    refused(
        &["run", s(&spec), "--shape", SHAPE, "--no-python", "--data-dir", s(&root.path().join("d"))],
        &["count.toml", "access.count", "memory"],
    );
}

// --- 7. versions and emptiness ------------------------------------------------------------

#[test]
fn results_of_an_unknown_schema_version_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let (_, out) = data_and_report(root.path());
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let future = root.path().join("future.json");
    std::fs::write(&future, text.replacen("\"schema_version\": 1", "\"schema_version\": 99", 1)).unwrap();
    refused(
        &["report", "--results", s(&future), "--out", s(&root.path().join("r"))],
        &["future.json", "schema_version is 99"],
    );
}

#[test]
fn a_baseline_with_no_metrics_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let (_, out) = data_and_report(root.path());
    let baseline = root.path().join("baseline.json");
    let (code, _, stderr) =
        mmap_lab(&["check", "--results", s(&out.join("results.json")), "--save-baseline", s(&baseline)]);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(&baseline).unwrap()).unwrap();
    value["metrics"] = serde_json::json!([]);
    std::fs::write(&baseline, serde_json::to_vec(&value).unwrap()).unwrap();
    refused(
        &["check", "--results", s(&out.join("results.json")), "--baseline", s(&baseline)],
        &["baseline.json", "no metrics"],
    );
}

#[test]
fn a_run_with_nothing_to_run_never_replaces_a_report() {
    let root = tempfile::tempdir().unwrap();
    let (data, out) = data_and_report(root.path());
    let before = snapshot(&out);
    let specs = root.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("a.toml"), format!("run_all = false\n{SPEC}")).unwrap();
    refused(
        &[
            "run-all",
            "--shape",
            SHAPE,
            "--no-python",
            "--experiments",
            s(&specs),
            "--data-dir",
            s(&data),
            "--out",
            s(&out),
        ],
        &["no experiment to run"],
    );
    assert_eq!(snapshot(&out), before);
}

// --- 8. outputs checked before measuring, never overwritten --------------------------------

#[test]
fn an_out_that_cannot_be_written_is_refused_before_measuring() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // /proc/1 exists and no one, root included, can create a file in it.
    refused(&run_args(&data, Path::new("/proc/1")), &["--out /proc/1", "cannot write"]);
    assert!(snapshot(&data).is_empty(), "refused before generating or measuring");
}

#[test]
fn save_baseline_never_overwrites_a_file_that_is_not_a_baseline() {
    let root = tempfile::tempdir().unwrap();
    let (_, out) = data_and_report(root.path());
    let thesis = root.path().join("thesis.json");
    std::fs::write(&thesis, b"{\"chapter\": 1}").unwrap();
    refused(
        &["check", "--results", s(&out.join("results.json")), "--save-baseline", s(&thesis)],
        &["thesis.json", "not an mmap-lab baseline"],
    );
    assert_eq!(std::fs::read(&thesis).unwrap(), b"{\"chapter\": 1}");
}

#[test]
fn report_out_naming_the_folder_of_an_input_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (_, out) = data_and_report(root.path());
    let before = snapshot(&out);
    refused(
        &["report", "--results", s(&out.join("results.json")), "--out", s(&out)],
        &["--out", "holds the input"],
    );
    assert_eq!(snapshot(&out), before);
}

// --- 9. messages that explain -------------------------------------------------------------

#[test]
fn wrong_typed_spec_values_name_the_key_and_what_was_expected() {
    let root = tempfile::tempdir().unwrap();
    for (name, text, needles) in [
        (
            "shape.toml",
            SPEC.replace("load_mmap\"", "memmap\"\nshape = true"),
            vec!["shape", "a list of whole numbers"],
        ),
        (
            "offset.toml",
            SPEC.replace("load_mmap\"", "memmap\"\noffset = [1]"),
            vec!["offset", "whole number of bytes"],
        ),
    ] {
        let spec = root.path().join(name);
        std::fs::write(&spec, text).unwrap();
        let mut all = vec![name];
        all.extend(needles);
        let stderr = refused(&["run", s(&spec)], &all);
        assert!(!stderr.contains("untagged"), "{stderr}");
    }
}

#[test]
fn wrong_typed_baseline_values_name_the_metric_and_the_type() {
    let root = tempfile::tempdir().unwrap();
    let (_, out) = data_and_report(root.path());
    let baseline = root.path().join("baseline.json");
    mmap_lab(&["check", "--results", s(&out.join("results.json")), "--save-baseline", s(&baseline)]);
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(&baseline).unwrap()).unwrap();
    let metrics = value["metrics"].as_array_mut().unwrap();
    let at = metrics.iter().position(|m| m.get("bytes").is_some()).unwrap();
    let name = metrics[at]["metric"].as_str().unwrap().to_owned();
    metrics[at]["bytes"] = "lots".into();
    std::fs::write(&baseline, serde_json::to_vec(&value).unwrap()).unwrap();
    let stderr = refused(
        &["check", "--results", s(&out.join("results.json")), "--baseline", s(&baseline)],
        &[&name, "'bytes' must be a whole number"],
    );
    assert!(!stderr.contains("did not match any variant"), "{stderr}");
}
