use super::*;
use crate::dataset::{self, DatasetSpec};

fn dataset(dir: &Path) -> dataset::Dataset {
    let spec = DatasetSpec { shape: Shape(vec![5, 4, 3, 3]), dtype: Dtype::F8, seed: 3 };
    dataset::ensure(&spec, dir).unwrap().0
}

#[test]
fn a_npy_file_is_described_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let r = inspect(&data.npy_path(), None).unwrap();
    let npy = r.npy.as_ref().unwrap();
    assert_eq!(npy.magic_bytes, b"\x93NUMPY");
    assert_eq!(npy.version, "1.0");
    assert_eq!(npy.length_field_bytes, 2);
    assert_eq!(r.data_offset, 128);
    assert_eq!(npy.header_len, 118);
    assert!(npy.header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (5, 4, 3, 3), }"));
    assert_eq!((r.descr.as_str(), r.dtype_name.as_deref(), r.order), ("<f8", Some("float64"), Order::C));
    assert_eq!(r.shape, vec![5, 4, 3, 3]);
    assert_eq!(r.expected_data_bytes, Some(5 * 4 * 3 * 3 * 8));
    assert_eq!(r.actual_data_bytes, 5 * 4 * 3 * 3 * 8);
    assert_eq!(r.extra_bytes, 0);
    let call = r.numpy_call.as_deref().unwrap();
    assert!(call.ends_with("dtype='<f8', mode='r', offset=128, shape=(5, 4, 3, 3), order='C')"), "{call}");
    assert!(r.rust_call.as_deref().unwrap().contains("offset: 128, shape: Some(Shape(vec![5, 4, 3, 3]))"));
    assert_eq!(r.warnings, vec![MODE_WARNING.to_owned()]);
    let text = render_text(&r);
    assert!(text.contains("(bytes 93 4E 55 4D 50 59)") && text.contains(call), "{text}");
}

#[test]
fn trailing_bytes_are_counted_and_a_short_file_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let mut bytes = std::fs::read(data.npy_path()).unwrap();
    let longer = dir.path().join("longer.npy");
    bytes.extend_from_slice(&[0; 24]);
    std::fs::write(&longer, &bytes).unwrap();
    let r = inspect(&longer, None).unwrap();
    assert_eq!(r.extra_bytes, 24);
    assert!(r.warnings.iter().any(|w| w.starts_with("24 bytes after the data")));
    let shorter = dir.path().join("shorter.npy");
    std::fs::write(&shorter, &bytes[..bytes.len() - 24 - 8]).unwrap();
    let err = inspect(&shorter, None).unwrap_err();
    assert_eq!(crate::error::exit_code(&err), 2);
    let text = format!("{err:#}");
    assert!(text.contains("shorter.npy") && text.contains("truncated"), "{text}");
}

#[test]
fn raw_bytes_are_checked_against_dtype_shape_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let layout = RawLayout { dtype: Dtype::F8, shape: Some(data.spec().shape), offset: 0 };
    let r = inspect(&data.raw_path(), Some(&layout)).unwrap();
    assert_eq!((r.kind, r.extra_bytes, r.numpy_load_call.is_none()), (ArrayFileKind::Raw, 0, true));
    assert!(r.numpy_call.as_deref().unwrap().contains("dtype='<f8', mode='r', offset=0, shape=(5, 4, 3, 3)"));
    // Too large a shape: NumPy's own message.
    let big = RawLayout { shape: Some(Shape(vec![6, 4, 3, 3])), ..layout.clone() };
    let err = format!("{:#}", inspect(&data.raw_path(), Some(&big)).unwrap_err());
    assert!(err.contains("mmap length is greater than file size"), "{err}");
    // The .npy read as raw float64 from byte 0: the header is pointed out.
    let npy_as_raw = RawLayout { shape: None, ..layout };
    let r = inspect(&data.npy_path(), Some(&npy_as_raw)).unwrap();
    assert_eq!(r.shape, vec![5 * 4 * 3 * 3 + 16]);
    assert!(r.warnings.iter().any(|w| w.contains("pass --offset 128")), "{:?}", r.warnings);
}

#[test]
fn broken_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.npy", b"", "too short"),
        ("zip.npy", b"PK\x03\x04 not a numpy file", "wrong magic"),
        ("cut.npy", b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8'", "truncated or not a .npy file"),
        ("dict.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'\n", "malformed header dict"),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = inspect(&path, None).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2, "{name}");
        let text = format!("{err:#}");
        assert!(text.contains(name) && text.contains(reason), "{name}: {text}");
    }
    let err = inspect(dir.path(), None).unwrap_err();
    assert!(format!("{err:#}").contains("not a regular file"));
    let err = inspect(&dir.path().join("missing.npy"), None).unwrap_err();
    assert_eq!(crate::error::exit_code(&err), 2);
    assert!(format!("{err:#}").contains("check the path"));
}

#[test]
fn python_strings_are_escaped() {
    assert_eq!(py_str(Path::new("a'b\\c.npy")), "'a\\'b\\\\c.npy'");
}
