//! inspect's advice is what NumPy does with the file: for every array NumPy maps, the
//! printed `np.memmap(...)` call, run in NumPy, gives what `np.load` gives; for every file
//! NumPy refuses to map, NumPy's reason and a non-zero exit. The files are written by
//! NumPy itself (`np.save` of many dtypes, as NumPy's own format tests use).

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;

use common::{mmap_lab, python, refused, s};

/// dtypes NumPy saves, mapped with np.memmap (name, Python expression of the array).
const ARRAYS: &str = r#"
import numpy as np, sys, os
out = sys.argv[1]
rng = np.random.default_rng(0)
def rec(dt, n=6):
    a = np.zeros(n, dtype=dt)
    raw = rng.integers(0, 255, size=a.nbytes, dtype=np.uint8)
    a = raw.view(dt) if dt.hasobject is False else a
    return a
cases = {
  "c8": (rng.random((4, 3)) + 1j * rng.random((4, 3))).astype('<c8'),
  "c16_big": (rng.random((5,)) + 1j).astype('>c16'),
  "clongdouble": np.arange(6, dtype=np.clongdouble).reshape(2, 3),
  "longdouble": np.arange(5, dtype=np.longdouble),
  "f2": np.arange(7, dtype='<f2'),
  "bytes": np.array([b'ab', b'cde', b''], dtype='S4'),
  "unicode_big": np.array(['x', 'yz', 'héllo'], dtype='>U5'),
  "datetime": np.array(['2020-01-01', '2021-06-30'], dtype='datetime64[D]'),
  "timedelta": np.array([1, 2, 3], dtype='timedelta64[ns]'),
  "record": rec(np.dtype([('x', '<f8'), ('y', '>i2'), ('z', '|u1')])),
  "nested": rec(np.dtype([('a', [('b', '<f4'), ('c', '>u2', (2, 3))]), ('d', 'S3')])),
  "subarray": rec(np.dtype([('m', '<f8', (2, 2)), ('n', '<i4')])),
  "padded": rec(np.dtype({'names': ['p', 'q'], 'formats': ['<i4', '<f8'], 'offsets': [0, 8], 'itemsize': 24})),
  "aligned": rec(np.dtype([('k', 'u1'), ('l', '<f8')], align=True)),
  "fortran": np.asfortranarray(np.arange(12, dtype='<c8').reshape(3, 4)),
  "scalar": np.array(3 + 4j, dtype='<c16'),
  "titled": rec(np.dtype([(('a title', 't'), '<i8'), ('u', '>f4')])),
}
for name, a in cases.items():
    np.save(os.path.join(out, name + ".npy"), a)
print("\n".join(sorted(cases)))
"#;

/// Runs each printed call and compares with np.load(mmap_mode='r'): dtype, shape, bytes.
const CHECK: &str = r#"
import numpy as np, sys, json
calls = json.load(open(sys.argv[1]))
bad = []
for path, call in calls.items():
    want = np.load(path, mmap_mode='r')
    got = eval(call, {"np": np})
    if got.dtype != want.dtype or got.shape != want.shape or got.tobytes(order='A') != want.tobytes(order='A') \
       or got.flags.f_contiguous != want.flags.f_contiguous:
        bad.append(f"{path}: {call} gave {got.dtype} {got.shape}, np.load gave {want.dtype} {want.shape}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
"#;

#[test]
fn the_printed_memmap_call_gives_what_np_load_gives_for_every_dtype_numpy_saves() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&python).args(["-c", ARRAYS, s(dir.path())]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut calls = serde_json::Map::new();
    for name in names.lines().filter(|l| !l.is_empty()) {
        let path = dir.path().join(format!("{name}.npy"));
        let (code, stdout, stderr) = mmap_lab(&["inspect", "--json", s(&path)]);
        assert_eq!(code, Some(0), "{name}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let call =
            report["numpy_call"].as_str().unwrap_or_else(|| panic!("{name}: no np.memmap call: {stdout}"));
        calls.insert(s(&path).to_owned(), call.into());
    }
    let file = dir.path().join("calls.json");
    std::fs::write(&file, serde_json::to_vec(&calls).unwrap()).unwrap();
    let check = std::process::Command::new(&python).args(["-c", CHECK, s(&file)]).output().unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn an_object_dtype_gets_numpys_refusal_to_map() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("objects.npy");
    let code = "import numpy as np, sys; np.save(sys.argv[1], np.array([1, 'a', None], dtype=object))";
    assert!(std::process::Command::new(&python).args(["-c", code, s(&path)]).status().unwrap().success());
    let stderr = refused(
        &["inspect", s(&path)],
        &["objects.npy", "Array can't be memory-mapped: Python objects in dtype"],
    );
    assert!(!stderr.contains("mmap_mode='r')\n"), "{stderr}");
}

#[test]
fn a_descriptor_numpy_does_not_know_is_refused_with_numpys_reason() {
    let dir = tempfile::tempdir().unwrap();
    for descr in ["<q8", "<f3", "[('a', '<q8')]"] {
        let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        bytes.extend_from_slice(
            format!("{{'descr': {descr:?}, 'fortran_order': False, 'shape': (2,), }}")
                .replace('"', "'")
                .as_bytes(),
        );
        if descr.starts_with('[') {
            bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
            bytes.extend_from_slice(
                format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}").as_bytes(),
            );
        }
        bytes.resize(127, b' ');
        bytes.push(b'\n');
        bytes.extend_from_slice(&[0u8; 16]);
        let path = dir.path().join("unknown.npy");
        std::fs::write(&path, &bytes).unwrap();
        refused(&["inspect", s(&path)], &["unknown.npy", "not a valid dtype descriptor"]);
    }
}
