use std::fs;
use std::path::Path;

use super::*;
use crate::dataset::{self, DatasetSpec, image};

fn dataset(dir: &Path) -> dataset::Dataset {
    let spec = DatasetSpec { shape: Shape(vec![6, 8, 10, 3]), dtype: Dtype::F8, seed: 11 };
    dataset::ensure(&spec, dir).unwrap().0
}

fn original(data: &dataset::Dataset) -> Vec<f64> {
    let spec = data.spec();
    let layout = image::SampleLayout::of(&spec.shape);
    (0..layout.samples).flat_map(|n| image::sample_values(spec.seed, layout, spec.dtype, n)).collect()
}

fn all(array: &Array) -> Vec<f64> {
    array.values(0, array.len())
}

#[test]
fn load_mmap_equals_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let array = load_mmap(&data.npy_path()).unwrap();
    assert!(array.is_mapped());
    assert_eq!(array.shape(), &data.spec().shape);
    assert_eq!(array.dtype(), Dtype::F8);
    assert_eq!(all(&array), original(&data));
    assert_eq!(array.view_f64().unwrap().shape(), &[6, 8, 10, 3]);
}

#[test]
fn load_reads_into_memory_and_owns_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let array = load(&data.npy_path()).unwrap();
    assert!(!array.is_mapped());
    assert_eq!(all(&array), original(&data));
    // Like sys.getsizeof of an array that owns its data: the struct plus the data.
    assert!(array.object_bytes() >= data.spec().data_bytes());
    let mapped = load_mmap(&data.npy_path()).unwrap();
    assert!(mapped.object_bytes() < 1024);
}

/// A file of `len` bytes whose every byte tells its position (no two pieces alike).
fn numbered_file(dir: &Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8 ^ (i >> 16) as u8).collect();
    let path = dir.join("numbered.bin");
    fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn reading_in_pieces_fills_every_byte_from_its_place() {
    let dir = tempfile::tempdir().unwrap();
    // 9 MiB and a bit, read from an offset that is not page aligned, into a buffer that is
    // not 2 MiB aligned: pieces cut at 2 MiB addresses must still meet end to end.
    let (path, bytes) = numbered_file(dir.path(), (9 << 20) + 4321);
    let file = File::open(&path).unwrap();
    for readers in [1, 2, 3, 4, 7] {
        let mut buf = vec![0u8; bytes.len() - 100 - 17];
        read_in_pieces(&file, &mut buf[..], 100, readers).unwrap();
        assert!(buf == bytes[100..bytes.len() - 17], "{readers} readers");
        // A buffer that starts past an alignment boundary.
        let mut shifted = vec![0u8; bytes.len()];
        read_in_pieces(&file, &mut shifted[3..bytes.len() - 3], 3, readers).unwrap();
        assert!(shifted[3..bytes.len() - 3] == bytes[3..bytes.len() - 3], "{readers} readers, shifted");
    }
}

#[test]
fn reading_in_pieces_past_the_end_is_an_error_not_a_short_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = numbered_file(dir.path(), 6 << 20);
    let file = File::open(&path).unwrap();
    for readers in [1, 2, 4] {
        let mut buf = vec![0u8; bytes.len()];
        let err = read_in_pieces(&file, &mut buf, 1, readers).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{readers} readers");
    }
}

#[test]
fn load_uses_one_reader_below_the_piece_size() {
    assert_eq!(load_readers(0), 1);
    assert_eq!(load_readers(LOAD_PIECE_MIN - 1), 1);
    assert_eq!(load_readers(64 * LOAD_PIECE_MIN), crate::cache::pieces_at_once());
}

#[test]
fn memmap_defaults_map_every_byte_as_uint8() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let array = memmap(&data.npy_path(), &MemmapOptions::default()).unwrap();
    let file_len = fs::metadata(data.npy_path()).unwrap().len();
    assert_eq!(array.shape(), &Shape(vec![file_len as usize]));
    assert_eq!(array.dtype(), Dtype::U1);
    assert_eq!(array.first_values(8), vec![147.0, 78.0, 85.0, 77.0, 80.0, 89.0, 1.0, 0.0]);
}

#[test]
fn float64_without_offset_is_shifted_by_sixteen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let options = MemmapOptions { dtype: Dtype::F8, ..MemmapOptions::default() };
    let array = memmap(&data.npy_path(), &options).unwrap();
    let n = data.spec().shape.len();
    assert_eq!(array.len(), n + 16);
    let want = original(&data);
    assert_eq!(array.values(16, n), want);
}

#[test]
fn offset_and_shape_map_the_npy_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let options =
        MemmapOptions { dtype: Dtype::F8, offset: 128, shape: Some(data.spec().shape), order: Order::C };
    let array = memmap(&data.npy_path(), &options).unwrap();
    assert_eq!(all(&array), original(&data));
    let raw = memmap(&data.raw_path(), &MemmapOptions { offset: 0, ..options }).unwrap();
    assert_eq!(all(&raw), original(&data));
}

#[test]
fn too_large_a_shape_gets_numpys_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let options =
        MemmapOptions { dtype: Dtype::F8, shape: Some(Shape(vec![7, 8, 10, 3])), ..MemmapOptions::default() };
    let err = memmap(&data.raw_path(), &options).unwrap_err();
    assert!(matches!(err.kind, OpenErrorKind::LengthBeyondFile { .. }));
    let msg = err.to_string();
    assert!(msg.contains("mmap length is greater than file size"), "{msg}");
    assert!(msg.contains("X_train_raw.rbf"), "{msg}");
}

#[test]
fn size_not_a_multiple_gets_numpys_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.bin");
    fs::write(&path, vec![0u8; 8 * 10 + 3]).unwrap();
    let err = memmap(&path, &MemmapOptions { dtype: Dtype::F8, ..MemmapOptions::default() }).unwrap_err();
    assert!(
        err.to_string().contains("Size of available data is not a multiple of the data-type size."),
        "{err}"
    );
    // With an offset that leaves whole elements, the same file maps.
    let ok =
        memmap(&path, &MemmapOptions { dtype: Dtype::F8, offset: 3, ..MemmapOptions::default() }).unwrap();
    assert_eq!(ok.len(), 10);
}

#[test]
fn empty_file_gets_numpys_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.bin");
    fs::write(&path, b"").unwrap();
    let err = memmap(&path, &MemmapOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cannot mmap an empty file"), "{err}");
}

#[test]
fn offset_past_the_end_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.bin");
    fs::write(&path, [1u8; 16]).unwrap();
    let err = memmap(&path, &MemmapOptions { offset: 17, ..MemmapOptions::default() }).unwrap_err();
    assert!(err.to_string().contains("mmap offset is greater than file size"), "{err}");
}

#[test]
fn truncated_npy_is_refused_before_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let copy = dir.path().join("cut.npy");
    let bytes = fs::read(data.npy_path()).unwrap();
    fs::write(&copy, &bytes[..bytes.len() - 8]).unwrap();
    for result in [load_mmap(&copy), load(&copy)] {
        let err = result.unwrap_err();
        assert!(matches!(err.kind, OpenErrorKind::Truncated { .. }), "{err}");
    }
}

#[test]
fn missing_file_and_folder_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_mmap(&dir.path().join("nope.npy")).unwrap_err();
    assert!(err.to_string().contains("nope.npy"));
    let err = load_mmap(dir.path()).unwrap_err();
    assert!(matches!(err.kind, OpenErrorKind::NotAFile(_) | OpenErrorKind::Io { .. }), "{err}");
}

#[test]
fn fortran_order_reads_in_c_order() {
    // A 2x3 array stored column-major: memory holds a00 a10 a01 a11 a02 a12.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npy");
    let dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
    let mut bytes = crate::npy::MAGIC.to_vec();
    bytes.extend_from_slice(&[1, 0]);
    let padded = format!("{dict:<117}\n");
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    for v in [0.0f64, 10.0, 1.0, 11.0, 2.0, 12.0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    fs::write(&path, bytes).unwrap();
    let array = load_mmap(&path).unwrap();
    assert_eq!(array.order(), Order::F);
    assert_eq!(array.first_values(6), vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
    assert_eq!(array.view_f64().unwrap()[[1, 2]], 12.0);
}

/// The array object of a mapping is as small as before another library's bytes could be
/// held: a held buffer is boxed so that every mapped array's `object_bytes` (the CI
/// baseline's `*.object_bytes`) stays the size of the struct that names the mapping.
#[test]
fn holding_another_librarys_bytes_does_not_grow_every_array() {
    let words = std::mem::size_of::<Vec<u64>>() + std::mem::size_of::<usize>();
    // The largest data variant is an owned buffer and its length; the tag fits the niche
    // or one more word.
    assert!(
        std::mem::size_of::<super::Data>() <= words + std::mem::size_of::<usize>(),
        "Data is {} bytes",
        std::mem::size_of::<super::Data>()
    );
}
