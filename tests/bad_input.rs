//! Bad input, one test per row of docs/troubleshooting.md's table: every mistake gets a
//! message naming the thing, the problem and the fix, exit code 2, no panic, no backtrace,
//! and nothing written.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Runs mmap-lab with `args`, expects exit code 2 and an error that contains every one
/// of `needles`; returns stderr.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let out = Command::cargo_bin("mmap-lab").unwrap().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Nothing was generated: the data folder holds no data file.
fn nothing_written(data: &Path) {
    let written = std::fs::read_dir(data).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "{} was written to", data.display());
}

// --- shapes, dtypes, seeds ------------------------------------------------------------

#[test]
fn shape_with_a_zero_dimension() {
    let d = tmp();
    refused(&["generate", "--shape", "40x0x3", "--data-dir", s(d.path())], &["40x0x3", "zero dimension"]);
    nothing_written(d.path());
}

#[test]
fn shape_with_a_negative_dimension() {
    refused(&["run-all", "--shape", "40x-1x3"], &["'-1'", "positive whole number"]);
}

#[test]
fn shape_with_a_non_numeric_dimension() {
    refused(&["generate", "--shape", "40xabcx3"], &["'abc'", "positive whole number"]);
}

#[test]
fn shape_whose_byte_size_overflows() {
    refused(&["generate", "--shape", "4294967296x4294967296x8"], &["too large", "64 bits"]);
}

#[test]
fn unknown_dtype() {
    refused(&["generate", "--dtype", "float3"], &["float3", "unknown dtype"]);
}

#[test]
fn dtype_mmap_lab_does_not_generate() {
    refused(&["generate", "--dtype", "i2"], &["f8", "f4", "u1"]);
}

#[test]
fn seed_that_is_not_a_number() {
    refused(&["generate", "--seed", "abc"], &["--seed", "abc"]);
    refused(&["generate", "--seed", "-3"], &["--seed"]);
}

// --- spec files -----------------------------------------------------------------------

const SPEC: &str = "id = \"x\"\ntitle = \"t\"\nnumpy_call = \"np.load('X_train.npy', mmap_mode='r')\"\nfile = \"npy\"\n[open]\nmethod = \"load_mmap\"\n";

#[test]
fn spec_with_an_unknown_key_names_file_line_and_column() {
    let d = tmp();
    let spec = write(d.path(), "typo.toml", SPEC.replace("file = ", "colour = \"red\"\nfile = ").as_bytes());
    refused(
        &["run", s(&spec), "--data-dir", s(&d.path().join("data"))],
        &["typo.toml", "colour", "line 4", "column"],
    );
    nothing_written(&d.path().join("data"));
}

#[test]
fn spec_with_a_wrong_type_names_file_line_and_column() {
    let d = tmp();
    let spec = write(d.path(), "type.toml", SPEC.replace("file = \"npy\"", "file = 7").as_bytes());
    refused(&["run", s(&spec)], &["type.toml", "line 4"]);
}

#[test]
fn unknown_experiment_name() {
    refused(
        &["run", "no_such_experiment"],
        &["unknown experiment 'no_such_experiment'", "known ids", "npy_load_mmap"],
    );
}

#[test]
fn duplicate_experiment_ids() {
    let d = tmp();
    let a = write(d.path(), "a.toml", SPEC.as_bytes());
    let b = write(d.path(), "b.toml", SPEC.as_bytes());
    refused(&["run", s(&a), s(&b)], &["duplicate experiment id 'x'", "a.toml", "b.toml"]);
    refused(&["run-all", "--experiments", s(d.path())], &["duplicate experiment id 'x'"]);
}

#[test]
fn spec_file_that_does_not_exist() {
    refused(&["run", "missing/spec.toml"], &["missing/spec.toml", "cannot read"]);
}

#[test]
fn experiments_folder_that_does_not_exist() {
    refused(
        &["run-all", "--experiments", "/nonexistent/experiments"],
        &["/nonexistent/experiments", "--experiments"],
    );
}

// --- data and output paths ------------------------------------------------------------

#[test]
fn data_dir_that_is_a_file() {
    let d = tmp();
    let file = write(d.path(), "file", b"x");
    refused(&["generate", "--data-dir", s(&file)], &["--data-dir", "a file, not a folder"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn data_dir_that_cannot_be_created() {
    refused(&["generate", "--data-dir", "/proc/mmap-lab-cannot-be-here"], &["--data-dir", "cannot create"]);
}

#[test]
fn out_that_is_a_file() {
    let d = tmp();
    let file = write(d.path(), "out", b"keep me");
    refused(
        &["run-all", "--shape", "4x4x4x3", "--data-dir", s(&d.path().join("data")), "--out", s(&file)],
        &["--out", "a file, not a folder"],
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    nothing_written(&d.path().join("data"));
}

#[test]
fn out_that_holds_other_files_is_never_replaced() {
    let d = tmp();
    let out = d.path().join("thesis");
    std::fs::create_dir(&out).unwrap();
    write(&out, "chapter1.tex", b"precious");
    refused(
        &["run-all", "--shape", "4x4x4x3", "--data-dir", s(&d.path().join("data")), "--out", s(&out)],
        &["not an mmap-lab report"],
    );
    assert_eq!(std::fs::read(out.join("chapter1.tex")).unwrap(), b"precious");
}

#[test]
fn out_that_cannot_be_created() {
    refused(
        &["report", "--results", "tests/data/small-results.json", "--out", "/proc/mmap-lab-out"],
        &["--out", "cannot create"],
    );
}

// --- input files: results and .npy ---------------------------------------------------

#[test]
fn results_file_that_does_not_exist() {
    let d = tmp();
    refused(
        &["report", "--results", "nope.json", "--out", s(&d.path().join("r"))],
        &["nope.json", "cannot read"],
    );
}

#[test]
fn results_file_that_is_not_results() {
    let d = tmp();
    let bad = write(d.path(), "bad.json", b"{\"hello\": 1}");
    refused(
        &["report", "--results", s(&bad), "--out", s(&d.path().join("r"))],
        &["bad.json", "not a results.json"],
    );
}

fn good_npy(dir: &Path) -> Vec<u8> {
    let spec = mmap_lab::dataset::DatasetSpec {
        shape: mmap_lab::shape::Shape(vec![4, 5, 6, 3]),
        dtype: mmap_lab::dtype::Dtype::F8,
        seed: 1,
    };
    let (data, _) = mmap_lab::dataset::ensure(&spec, &dir.join("data")).unwrap();
    std::fs::read(data.npy_path()).unwrap()
}

fn inspect_refuses(name: &str, bytes: &[u8], needles: &[&str]) {
    let d = tmp();
    let path = write(d.path(), name, bytes);
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut all = vec![name];
    all.extend_from_slice(needles);
    refused(&["inspect", s(&path)], &all);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), before, "the input was never written");
}

#[test]
fn input_file_that_does_not_exist() {
    refused(&["inspect", "/nonexistent/X_train.npy"], &["/nonexistent/X_train.npy", "cannot open"]);
}

#[test]
fn input_file_that_is_a_folder() {
    let d = tmp();
    refused(&["inspect", s(d.path())], &[s(d.path())]);
}

#[test]
fn input_file_that_is_empty() {
    inspect_refuses("empty.npy", b"", &["too short"]);
}

#[test]
fn input_file_with_a_wrong_magic() {
    inspect_refuses(
        "picture.npy",
        b"GIF89a and some more bytes after it",
        &["wrong magic", "147 78 85 77 80 89"],
    );
}

#[test]
fn input_file_whose_header_length_is_beyond_the_file() {
    let d = tmp();
    let good = good_npy(d.path());
    inspect_refuses("cut.npy", &good[..60], &["header length field says", "truncated"]);
}

#[test]
fn input_file_with_a_malformed_header_dict() {
    let d = tmp();
    let good = good_npy(d.path());
    let bad = [&good[..10], b"{'descr': <f8}".as_slice(), &[b' '; 103], b"\n"].concat();
    inspect_refuses("dict.npy", &bad, &["malformed header dict"]);
}

#[test]
fn input_file_whose_shape_overflows() {
    let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    bytes.extend_from_slice(b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }");
    bytes.resize(128, b' ');
    bytes[127] = b'\n';
    inspect_refuses("huge.npy", &bytes, &["too large"]);
}

#[test]
fn input_file_truncated_after_its_header() {
    let d = tmp();
    let good = good_npy(d.path());
    inspect_refuses("short.npy", &good[..good.len() - 8], &["truncated", "promises"]);
}

#[test]
fn raw_file_whose_size_disagrees_with_dtype_and_shape() {
    let d = tmp();
    let path = write(d.path(), "raw.rbf", &[0u8; 1000]);
    refused(
        &["inspect", s(&path), "--dtype", "f8", "--shape", "10x20"],
        &["raw.rbf", "mmap length is greater than file size"],
    );
    refused(&["inspect", s(&path), "--dtype", "f8", "--offset", "3"], &["raw.rbf", "not a multiple"]);
}
