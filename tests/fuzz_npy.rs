//! Property tests over the .npy header parser and the file layer above it: whatever the
//! bytes, parsing returns a header or a reason, never a panic, and what it returns is
//! consistent. The seed corpus in `fuzz/corpus/npy/` (valid files of every kind NumPy
//! writes and broken ones) is mutated byte by byte.
//!
//! `cargo test` runs a few hundred cases per property; `just fuzz` runs many more
//! (PROPTEST_CASES) in release mode.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::Path;

use mmap_lab::dtype::Dtype;
use mmap_lab::npy::{self, NpyHeader};
use mmap_lab::open;
use mmap_lab::shape::Shape;
use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/npy");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// What a successfully parsed header must satisfy, whatever the input.
fn consistent(header: &NpyHeader, file_len: u64) {
    let prefix = if header.version.0 == 1 { 10 } else { 12 };
    assert_eq!(header.data_offset, prefix + header.header_len);
    assert!(header.data_offset <= file_len);
    if let Some(dtype) = header.dtype {
        assert!(header.shape.checked_nbytes(dtype).is_some());
    }
}

/// A mutation of one seed: byte flips, a truncation and an insertion.
#[derive(Debug, Clone)]
struct Mutation {
    seed: usize,
    flips: Vec<(usize, u8)>,
    cut: Option<usize>,
    insert: Option<(usize, Vec<u8>)>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        any::<usize>(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::of(any::<usize>()),
        prop::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))),
    )
        .prop_map(|(seed, flips, cut, insert)| Mutation { seed, flips, cut, insert })
}

fn apply(m: &Mutation, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = seeds[m.seed % seeds.len()].clone();
    if bytes.is_empty() {
        return bytes;
    }
    for &(at, value) in &m.flips {
        let n = bytes.len();
        bytes[at % n] = value;
    }
    if let Some((at, extra)) = &m.insert {
        let at = at % (bytes.len() + 1);
        bytes.splice(at..at, extra.iter().copied());
    }
    if let Some(cut) = m.cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), extra in 0u64..1000) {
        let len = bytes.len() as u64 + extra;
        if let Ok(header) = npy::parse_header(&bytes, len) {
            consistent(&header, len);
        }
    }

    #[test]
    fn mutated_corpus_files_never_panic(m in mutation()) {
        let seeds = corpus();
        let bytes = apply(&m, &seeds);
        if let Ok(header) = npy::parse_header(&bytes, bytes.len() as u64) {
            consistent(&header, bytes.len() as u64);
        }
    }

    #[test]
    fn mutated_files_on_disk_open_or_fail_cleanly(m in mutation()) {
        let seeds = corpus();
        let bytes = apply(&m, &seeds);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.npy");
        std::fs::write(&path, &bytes).unwrap();
        match open::load_mmap(&path) {
            Ok(array) => {
                // What opened can be read end to end without faulting.
                let _ = array.sum();
                let _ = array.first_values(24);
            }
            Err(e) => prop_assert!(e.to_string().contains("case.npy"), "error does not name the file: {e}"),
        }
        if let Ok((header, len)) = open::read_header(&path) {
            consistent(&header, len);
        }
    }

    #[test]
    fn written_headers_parse_back_exactly(
        dims in prop::collection::vec(1usize..5000, 0..5),
        dtype in prop::sample::select(vec!["f8", "f4", "u1", "i2", "u4", "i8", "b1"]),
    ) {
        let shape = Shape(dims);
        let dtype = Dtype::parse(dtype).unwrap();
        let bytes = npy::header_bytes(&shape, dtype);
        prop_assert_eq!(bytes.len() % npy::ARRAY_ALIGN, 0);
        let header = npy::parse_header(&bytes, bytes.len() as u64).unwrap();
        prop_assert_eq!(header.shape, shape);
        prop_assert_eq!(header.dtype, Some(dtype));
        prop_assert_eq!(header.data_offset, bytes.len() as u64);
    }
}

#[test]
fn every_corpus_file_parses_or_gives_a_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/npy");
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        match open::read_header(&path) {
            Ok((header, len)) => {
                consistent(&header, len);
                parsed += 1;
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    assert!(parsed >= 8, "the valid seeds parse");
}
