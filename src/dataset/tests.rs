use std::fs;

use super::*;
use crate::npy;

fn small() -> DatasetSpec {
    DatasetSpec { shape: Shape(vec![5, 12, 10, 3]), dtype: Dtype::F8, seed: 3 }
}

#[test]
fn npy_is_header_then_the_raw_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (data, provenance) = ensure(&small(), dir.path()).unwrap();
    assert!(matches!(provenance, Provenance::Generated { .. }));
    let npy_bytes = fs::read(data.npy_path()).unwrap();
    let raw = fs::read(data.raw_path()).unwrap();
    let header = npy::parse_header(&npy_bytes, npy_bytes.len() as u64).unwrap();
    assert_eq!(header.shape, small().shape);
    assert_eq!(header.data_offset, 128);
    assert_eq!(raw.len() as u64, small().data_bytes());
    assert_eq!(&npy_bytes[128..], &raw[..]);
    assert_eq!(data.manifest.npy.bytes, raw.len() as u64 + 128);
    assert_eq!(data.manifest.raw.as_ref().unwrap().bytes, raw.len() as u64);
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, _) = ensure(&small(), a.path()).unwrap();
    let (db, _) = ensure(&small(), b.path()).unwrap();
    let other = DatasetSpec { seed: 4, ..small() };
    let (dc, _) = ensure(&other, c.path()).unwrap();
    assert_eq!(fs::read(da.raw_path()).unwrap(), fs::read(db.raw_path()).unwrap());
    assert_ne!(fs::read(da.raw_path()).unwrap(), fs::read(dc.raw_path()).unwrap());
    assert_eq!(da.manifest.checksum, db.manifest.checksum);
}

#[test]
fn data_spanning_several_blocks_matches_the_generator() {
    // 3 blocks of 4 MiB and a bit: block edges fall inside pixels and samples.
    let spec = DatasetSpec { shape: Shape(vec![37, 120, 120, 3]), dtype: Dtype::F8, seed: 1 };
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure(&spec, dir.path()).unwrap();
    let raw = fs::read(data.raw_path()).unwrap();
    let layout = image::SampleLayout::of(&spec.shape);
    for n in [0u64, 12, 36] {
        let want = image::sample_values(spec.seed, layout, spec.dtype, n);
        let start = n as usize * layout.sample_len() * 8;
        for (j, w) in want.iter().enumerate() {
            let got = f64::from_ne_bytes(raw[start + j * 8..start + j * 8 + 8].try_into().unwrap());
            assert_eq!(got, *w, "sample {n} value {j}");
        }
    }
}

#[test]
fn every_generated_dtype_writes_its_itemsize() {
    for dtype in DatasetSpec::DTYPES {
        let spec = DatasetSpec { dtype, ..small() };
        let dir = tempfile::tempdir().unwrap();
        let (data, _) = ensure(&spec, dir.path()).unwrap();
        assert_eq!(fs::metadata(data.raw_path()).unwrap().len(), 5 * 12 * 10 * 3 * dtype.itemsize());
        let header = crate::open::read_header(&data.npy_path()).unwrap().0;
        assert_eq!(header.dtype, Some(dtype));
    }
}

#[test]
fn valid_data_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    ensure(&small(), dir.path()).unwrap();
    let (_, provenance) = ensure(&small(), dir.path()).unwrap();
    assert_eq!(provenance, Provenance::Reused);
}

#[test]
fn another_shape_or_seed_regenerates() {
    let dir = tempfile::tempdir().unwrap();
    ensure(&small(), dir.path()).unwrap();
    let (_, provenance) = ensure(&DatasetSpec { seed: 9, ..small() }, dir.path()).unwrap();
    assert!(matches!(provenance, Provenance::Generated { reason, .. } if reason.contains("seed")));
}

#[test]
fn truncated_file_is_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure(&small(), dir.path()).unwrap();
    let file = fs::OpenOptions::new().write(true).open(data.raw_path()).unwrap();
    file.set_len(100).unwrap();
    let (again, provenance) = ensure(&small(), dir.path()).unwrap();
    assert!(matches!(provenance, Provenance::Generated { reason, .. } if reason.contains("partial")));
    assert_eq!(fs::metadata(again.raw_path()).unwrap().len(), small().data_bytes());
}

#[test]
fn modified_bytes_are_caught_by_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure(&small(), dir.path()).unwrap();
    let mut bytes = fs::read(data.raw_path()).unwrap();
    bytes[1000] ^= 0xFF;
    fs::write(data.raw_path(), &bytes).unwrap();
    let (_, provenance) = ensure(&small(), dir.path()).unwrap();
    assert!(matches!(provenance, Provenance::Generated { reason, .. } if reason.contains("X_train_raw.rbf")));
}

#[test]
fn an_edit_of_the_same_size_with_its_time_put_back_is_caught_by_the_checksum() {
    // 4 blocks of 4 MiB: the drawn sample covers blocks 0, 2 and 3, the checksum block 1.
    let spec = DatasetSpec { shape: Shape(vec![37, 120, 120, 3]), dtype: Dtype::F8, seed: 1 };
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure(&spec, dir.path()).unwrap();
    let modified = fs::metadata(data.npy_path()).unwrap().modified().unwrap();
    let file = fs::OpenOptions::new().write(true).open(data.npy_path()).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &[0x55; 64], 128 + 5 * (1 << 20)).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    let (_, provenance) = ensure(&spec, dir.path()).unwrap();
    assert!(
        matches!(&provenance, Provenance::Generated { reason, .. } if reason.contains("X_train.npy was modified")),
        "{provenance:?}"
    );
}

#[test]
fn a_manifest_edited_to_another_seed_does_not_pass_the_data_off_as_that_seed() {
    let dir = tempfile::tempdir().unwrap();
    ensure(&small(), dir.path()).unwrap();
    let path = dir.path().join(MANIFEST_NAME);
    let text = fs::read_to_string(&path).unwrap().replace("\"seed\": 3", "\"seed\": 4");
    fs::write(&path, text).unwrap();
    let other = DatasetSpec { seed: 4, ..small() };
    let (data, provenance) = ensure(&other, dir.path()).unwrap();
    assert!(
        matches!(&provenance, Provenance::Generated { reason, .. } if reason.contains("seed 4")),
        "{provenance:?}"
    );
    let (fresh, _) = ensure(&other, tempfile::tempdir().unwrap().path()).unwrap();
    assert_eq!(data.manifest.checksum, fresh.manifest.checksum);
}

#[test]
fn touched_but_unchanged_files_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure(&small(), dir.path()).unwrap();
    let bytes = fs::read(data.raw_path()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(data.raw_path(), &bytes).unwrap();
    let (_, provenance) = ensure(&small(), dir.path()).unwrap();
    assert_eq!(provenance, Provenance::Reused);
}

#[test]
fn leftovers_of_a_killed_generation_are_never_taken_for_data() {
    // A generation killed before its manifest: complete-looking files, partials, no manifest.
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure(&small(), dir.path()).unwrap();
    fs::remove_file(dir.path().join(MANIFEST_NAME)).unwrap();
    fs::write(dir.path().join(format!("{NPY_NAME}{PARTIAL_SUFFIX}")), b"half").unwrap();
    let (_, provenance) = ensure(&small(), dir.path()).unwrap();
    assert!(matches!(provenance, Provenance::Generated { .. }));
    assert!(!dir.path().join(format!("{NPY_NAME}{PARTIAL_SUFFIX}")).exists());
    assert!(data.npy_path().exists());
}

#[test]
fn refuses_a_dataset_larger_than_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let huge = DatasetSpec { shape: Shape(vec![1 << 20, 1 << 20, 8]), dtype: Dtype::F8, seed: 0 };
    let err = ensure(&huge, dir.path()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("not enough free space"), "{msg}");
    assert!(!dir.path().join(NPY_NAME).exists());
    let left: Vec<_> =
        fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().ends_with(PARTIAL_SUFFIX)), "{left:?}");
}

#[test]
fn a_file_in_place_of_the_data_folder_is_an_input_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = ensure(&small(), file.path()).unwrap_err();
    assert_eq!(crate::error::exit_code(&err), 2);
    assert!(format!("{err:#}").contains("not a folder"));
}

#[test]
fn npy_only_writes_one_file_and_a_later_both_adds_the_raw() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = ensure_files(&small(), dir.path(), Files::NpyOnly).unwrap();
    assert!(data.npy_path().exists());
    assert!(!data.raw_path().exists());
    assert!(data.manifest.raw.is_none());
    let (_, provenance) = ensure_files(&small(), dir.path(), Files::NpyOnly).unwrap();
    assert_eq!(provenance, Provenance::Reused);
    let (both, provenance) = ensure(&small(), dir.path()).unwrap();
    assert!(matches!(provenance, Provenance::Generated { .. }));
    assert!(both.raw_path().exists());
}
