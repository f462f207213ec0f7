#![allow(clippy::unwrap_used)]

use super::*;
use crate::dataset::{DatasetSpec, ensure as ensure_dataset};
use crate::dtype::Dtype;
use crate::shape::Shape;

fn small(dtype: Dtype) -> DatasetSpec {
    DatasetSpec { shape: Shape(vec![5, 16, 12, 3]), dtype, seed: 11 }
}

/// Pictures large enough for LZ4 to find repeats (in 16x12 ones it finds none, and arrow-rs
/// then stores the buffer uncompressed).
fn pictures() -> DatasetSpec {
    DatasetSpec { shape: Shape(vec![4, 120, 120, 3]), dtype: Dtype::F8, seed: 11 }
}

#[test]
fn every_format_reads_back_as_the_dataset_and_maps_only_where_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&pictures(), dir.path()).unwrap();
    let files = ensure(&data, &Format::ALL).unwrap();
    assert_eq!(files.iter().map(|f| f.format).collect::<Vec<_>>(), Format::ALL);
    let original = std::fs::read(data.raw_path()).unwrap();
    for f in &files {
        let path = dir.path().join(&f.name);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), f.bytes, "{}", f.name);
        assert_eq!(f.checksum, data.manifest.checksum);
        let opened = open_with_offset(&path, f.format).unwrap();
        assert_eq!(opened.array.shape(), &data.spec().shape, "{}", f.name);
        assert_eq!(opened.array.dtype(), Dtype::F8);
        assert_eq!(opened.array.bytes(), &original[..], "{}: bytes differ from the original", f.name);
        let maps = matches!(f.format, Format::Safetensors | Format::ArrowIpc);
        assert_eq!(opened.array.is_mapped(), maps, "{}", f.name);
        assert_eq!(opened.data_offset.is_some(), maps, "{}", f.name);
        assert_eq!(opened.data_offset, f.data_offset);
        if let Some(offset) = opened.data_offset {
            // The bytes at the offset in the file are the array's, and aligned for f64.
            let file = std::fs::read(&path).unwrap();
            assert_eq!(&file[offset as usize..offset as usize + original.len()], &original[..]);
            assert_eq!(offset % 8, 0, "{}: offset {offset}", f.name);
        }
    }
    // The stored .npz's member holds the .npy: at its offset lie the original's bytes.
    let stored = &files[0];
    let member = stored.member_offset.unwrap() as usize;
    let zip = std::fs::read(dir.path().join(&stored.name)).unwrap();
    assert_eq!(&zip[member..member + original.len()], &original[..]);
    // The compressed files are smaller than the data: they really are compressed.
    assert!(files[1].bytes < original.len() as u64, "deflated {} bytes", files[1].bytes);
    assert!(files[4].bytes < original.len() as u64, "lz4 {} bytes", files[4].bytes);
}

#[test]
fn the_lz4_file_the_writer_makes_is_decoded_block_by_block() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&pictures(), dir.path()).unwrap();
    let files = ensure(&data, &[Format::ArrowIpcLz4]).unwrap();
    let split = || lz4::SPLIT.with(|n| n.get());
    let before = split();
    let opened = open(&dir.path().join(&files[0].name), Format::ArrowIpcLz4).unwrap();
    assert_eq!(split(), before + 1, "the values buffer went through arrow-rs's decoder");
    assert_eq!(opened.bytes(), &std::fs::read(data.raw_path()).unwrap()[..]);
}

#[test]
fn checked_files_are_reused_and_changed_ones_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&small(Dtype::F4), dir.path()).unwrap();
    let first = ensure(&data, &[Format::Safetensors, Format::NpzStored]).unwrap();
    let again = ensure(&data, &[Format::Safetensors, Format::NpzStored]).unwrap();
    assert_eq!(first, again, "valid files must be reused as they are");
    // A file changed behind the manifest's back is never taken for data.
    let path = dir.path().join(Format::Safetensors.file_name());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, &bytes).unwrap();
    let rewritten = ensure(&data, &[Format::Safetensors]).unwrap();
    assert_ne!(rewritten[0].modified_ns, first[0].modified_ns);
    let opened = open(&path, Format::Safetensors).unwrap();
    assert_eq!(opened.bytes(), &std::fs::read(data.raw_path()).unwrap()[..]);
}

#[test]
fn lz4_that_does_not_shrink_a_buffer_leaves_it_uncompressed_and_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&small(Dtype::F8), dir.path()).unwrap();
    let files = ensure(&data, &[Format::ArrowIpcLz4]).unwrap();
    let opened = open_with_offset(&dir.path().join(&files[0].name), Format::ArrowIpcLz4).unwrap();
    assert!(files[0].bytes > data.manifest.data_bytes, "{} bytes", files[0].bytes);
    assert!(opened.array.is_mapped());
    assert_eq!(opened.data_offset.map(|o| o % 8), Some(0));
}

#[test]
fn uint8_arrays_are_written_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&small(Dtype::U1), dir.path()).unwrap();
    let files = ensure(&data, &Format::ALL).unwrap();
    assert_eq!(files.len(), 5);
    for f in files {
        let a = open(&dir.path().join(&f.name), f.format).unwrap();
        assert_eq!(a.dtype(), Dtype::U1, "{}", f.name);
    }
}

#[test]
fn a_file_that_is_not_of_its_format_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        let path = dir.path().join(format.file_name());
        std::fs::write(&path, b"not this format at all, just some text").unwrap();
        let e = open(&path, format).unwrap_err();
        assert!(e.to_string().contains(format.file_name()), "{format:?}: {e}");
    }
}

#[test]
fn a_stored_npz_whose_data_was_changed_fails_its_crc_and_one_cut_short_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&pictures(), dir.path()).unwrap();
    let files = ensure(&data, &[Format::NpzStored]).unwrap();
    let path = dir.path().join(&files[0].name);
    let good = std::fs::read(&path).unwrap();
    let member = files[0].member_offset.unwrap() as usize;
    // One bit of the last element: only the CRC-32 can tell.
    let mut bad = good.clone();
    bad[member + data.spec().data_bytes() as usize - 1] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    let e = open(&path, Format::NpzStored).unwrap_err().to_string();
    assert!(e.contains("CRC-32") && e.contains(&files[0].name), "{e}");
    // The zip directory kept, the data cut short: an error, not a short or zeroed array.
    let mut cut = good[..member + 1000].to_vec();
    cut.extend_from_slice(&good[good.len() - 200..]);
    std::fs::write(&path, &cut).unwrap();
    assert!(open(&path, Format::NpzStored).is_err());
    std::fs::write(&path, &good).unwrap();
    assert_eq!(open(&path, Format::NpzStored).unwrap().bytes(), &std::fs::read(data.raw_path()).unwrap()[..]);
}

#[test]
fn a_crc_computed_in_chunks_is_the_crc_of_the_whole() {
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let whole = crc32fast::hash(&bytes);
    for chunk in [1, 7, 4096, 65_536, 1 << 20] {
        assert_eq!(read::crc32_of(&[&bytes], chunk), whole, "chunk {chunk}");
        assert_eq!(read::crc32_of(&[&bytes[..10], &bytes[10..]], chunk), whole, "two parts, chunk {chunk}");
    }
    assert_eq!(read::crc32_of(&[], 8), crc32fast::hash(&[]));
}

#[test]
fn file_names_and_kinds_agree() {
    for format in Format::ALL {
        assert_eq!(Format::of_path(std::path::Path::new(format.file_name())), Some(format));
    }
    assert_eq!(Format::of_path(std::path::Path::new("X_train.npy")), None);
    assert!(Format::NpzDeflated.compressed() && Format::ArrowIpcLz4.compressed());
    assert!(!Format::Safetensors.compressed());
}

#[test]
fn the_files_hold_the_first_samples_of_a_larger_dataset_with_their_own_checksum() {
    let cut =
        |shape: Vec<usize>| subset(&DatasetSpec { shape: Shape(shape), dtype: Dtype::F8, seed: 0 }).shape.0;
    assert_eq!(cut(vec![4002, 120, 120, 3]), [SAMPLES as usize, 120, 120, 3]);
    assert_eq!(cut(vec![40, 120, 120, 3]), [40, 120, 120, 3], "a smaller dataset is kept whole");
    assert_eq!(cut(vec![5000]), [5000], "a 1-D array is one sample");

    // 450 tiny pictures: the files hold the first 400, the very bytes the generator writes
    // for a dataset of 400 (same seed), checked against that dataset's checksum.
    let spec = DatasetSpec { shape: Shape(vec![SAMPLES as usize + 50, 4, 6, 3]), dtype: Dtype::F8, seed: 3 };
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_dataset(&spec, dir.path()).unwrap();
    let alone = tempfile::tempdir().unwrap();
    let (first, _) = ensure_dataset(&subset(&spec), alone.path()).unwrap();
    let files = ensure(&data, &[Format::Safetensors, Format::NpzStored]).unwrap();
    let raw = std::fs::read(first.raw_path()).unwrap();
    for f in &files {
        assert_eq!(f.shape.as_ref(), Some(&first.spec().shape), "{}", f.name);
        assert_eq!(f.data_checksum.as_deref(), Some(first.manifest.checksum.as_str()), "{}", f.name);
        assert_eq!(f.checksum, data.manifest.checksum, "written from this dataset");
        assert_eq!(open(&dir.path().join(&f.name), f.format).unwrap().bytes(), &raw[..], "{}", f.name);
    }
    // An entry of an earlier version (no shape: the whole array) is written again.
    let manifest = dir.path().join(FORMATS_MANIFEST);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for f in json["files"].as_array_mut().unwrap() {
        f.as_object_mut().unwrap().remove("shape");
    }
    std::fs::write(&manifest, serde_json::to_string(&json).unwrap()).unwrap();
    assert!(!all_vouched(&data, &[Format::Safetensors]));
    let again = ensure(&data, &[Format::Safetensors]).unwrap();
    assert_eq!(again[0].shape.as_ref(), Some(&first.spec().shape));
}
