//! `mmap-lab inspect` from the command line: a clear error and exit code 2 for every kind
//! of broken file, never a panic; JSON for scripts.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use assert_cmd::Command;
use mmap_lab::dataset::{self, DatasetSpec};
use mmap_lab::dtype::Dtype;
use mmap_lab::shape::Shape;

fn inspect(args: &[&std::ffi::OsStr]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("mmap-lab").unwrap().arg("inspect").args(args).assert()
}

#[test]
fn broken_files_get_a_clear_error_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DatasetSpec { shape: Shape(vec![4, 5, 6, 3]), dtype: Dtype::F8, seed: 1 };
    let (data, _) = dataset::ensure(&spec, &dir.path().join("data")).unwrap();
    let good = std::fs::read(data.npy_path()).unwrap();
    let mut overflow = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    overflow
        .extend_from_slice(b"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }");
    overflow.resize(128, b' ');
    overflow[127] = b'\n';
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.npy", Vec::new(), "too short"),
        ("magic.npy", b"GIF89a and then some bytes".to_vec(), "wrong magic"),
        ("header.npy", good[..60].to_vec(), "the header length field says 118 bytes"),
        (
            "dict.npy",
            [&good[..10], b"{'descr': <f8}".as_slice(), &[b' '; 103], b"\n"].concat(),
            "malformed header dict",
        ),
        ("overflow.npy", overflow, "too large"),
        ("short.npy", good[..good.len() - 8].to_vec(), "truncated"),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = inspect(&[path.as_os_str()]).code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.starts_with("error: ") && stderr.contains(name) && stderr.contains(reason),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    for path in [dir.path().to_owned(), dir.path().join("missing.npy")] {
        let out = inspect(&[path.as_os_str()]).code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(&path.display().to_string()) && !stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn json_output_carries_the_header_and_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DatasetSpec { shape: Shape(vec![4, 5, 6, 3]), dtype: Dtype::F4, seed: 1 };
    let (data, _) = dataset::ensure(&spec, dir.path()).unwrap();
    let out = inspect(&[data.npy_path().as_os_str(), "--json".as_ref()]).success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["npy"]["magic_bytes"], serde_json::json!([147, 78, 85, 77, 80, 89]));
    assert_eq!(json["descr"], "<f4");
    assert_eq!(json["shape"], serde_json::json!([4, 5, 6, 3]));
    assert_eq!(json["data_offset"], 128);
    assert_eq!(json["expected_data_bytes"], 4 * 5 * 6 * 3 * 4);
    assert!(json["numpy_call"].as_str().unwrap().contains("dtype='<f4', mode='r', offset=128"));
    assert!(json["warnings"][0].as_str().unwrap().contains("'r+'"));
    // Raw bytes: --shape without --dtype is refused by the argument parser (exit 2).
    inspect(&[data.raw_path().as_os_str(), "--shape".as_ref(), "4x5x6x3".as_ref()]).code(2);
}
