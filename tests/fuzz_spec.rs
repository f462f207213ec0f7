//! Property tests over experiment spec files, like `fuzz_npy.rs` over .npy headers:
//! whatever the text, parsing a spec and checking it against a dataset returns a spec or
//! an input error naming the file (exit code 2), never a panic. The seeds are the
//! project's own specs in `experiments/`, mutated by key, by value and byte by byte.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::{Path, PathBuf};

use mmap_lab::dataset::DatasetSpec;
use mmap_lab::dtype::Dtype;
use mmap_lab::shape::Shape;
use mmap_lab::spec::{ExperimentSpec, LoadedSpec};
use proptest::prelude::*;

fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// Values a careless or hostile edit might put anywhere.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "99",
    "18446744073709551615",
    "9223372036854775807",
    "1e308",
    "nan",
    "true",
    "\"\"",
    "\"dataset\"",
    "\"header\"",
    "\"40x0x3\"",
    "\"4294967296x4294967296x8\"",
    "[]",
    "[0]",
    "[1, 2, 3]",
    "[-1]",
    "{}",
    "{ pattern = \"channel\", channel = 99 }",
    "{ pattern = \"first_n\", samples = 18446744073709551615 }",
    "{ pattern = \"random_batches\", batch_size = 18446744073709551615 }",
    "\"r+\"",
    "\"<q8\"",
    "\"|O\"",
    "{ pattern = \"random_elements\", count = 18446744073709551615 }",
    "\"float3\"",
    "[\"warm\", \"warm\"]",
];

/// Parses and checks `text` as a spec; panics only if the code under test panics or
/// returns an error that is not an input error naming the file.
fn parse_and_check(text: &str, dims: &[usize], dtype: Dtype) {
    let path = Path::new("fuzzed.toml");
    match ExperimentSpec::parse(text, path) {
        Ok(spec) => {
            let dataset = DatasetSpec { shape: Shape(dims.to_vec()), dtype, seed: 0 };
            let loaded = [LoadedSpec { spec, path: path.to_owned() }];
            if let Err(e) = mmap_lab::spec::check_against(&loaded, &dataset) {
                assert_eq!(mmap_lab::error::exit_code(&e), 2, "{e:#}");
                assert!(format!("{e:#}").contains("fuzzed.toml"), "{e:#}");
            }
        }
        Err(e) => {
            assert_eq!(mmap_lab::error::exit_code(&e), 2, "{e:#}");
            assert!(format!("{e:#}").contains("fuzzed.toml"), "{e:#}");
        }
    }
}

fn dims() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..50, 1..5)
}

fn dtype() -> impl Strategy<Value = Dtype> {
    prop::sample::select(DatasetSpec::DTYPES.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// One line's value replaced by a value from the list (any key, any section).
    #[test]
    fn a_replaced_value_is_a_spec_or_a_named_refusal(seed in any::<prop::sample::Index>(), line in any::<prop::sample::Index>(),
                                                     value in prop::sample::select(VALUES), dims in dims(), dtype in dtype()) {
        let seeds = seeds();
        let text = seed.get(&seeds);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let at = line.index(lines.len());
        if let Some((key, _)) = lines[at].split_once('=') {
            lines[at] = format!("{key}= {value}");
        } else {
            lines[at] = format!("added = {value}");
        }
        parse_and_check(&lines.join("\n"), &dims, dtype);
    }

    /// An access or open key added with any value.
    #[test]
    fn an_added_key_is_a_spec_or_a_named_refusal(seed in any::<prop::sample::Index>(),
                                                 key in prop::sample::select(vec!["access", "shape", "offset", "dtype", "cache", "workers", "mode", "expect"]),
                                                 value in prop::sample::select(VALUES), dims in dims(), dtype in dtype()) {
        let seeds = seeds();
        let text = seed.get(&seeds);
        let (top, open) = text.split_once("[open]").unwrap_or((text, ""));
        let top: String = top.lines().filter(|l| !l.starts_with(&format!("{key} "))).collect::<Vec<_>>().join("\n");
        let fuzzed = if matches!(key, "shape" | "offset" | "dtype" | "mode") {
            format!("{top}\n[open]\n{key} = {value}\n{open}")
        } else {
            format!("{key} = {value}\n{top}\n[open]{open}")
        };
        parse_and_check(&fuzzed, &dims, dtype);
    }

    /// Bytes flipped, cut or inserted anywhere.
    #[test]
    fn mutated_bytes_are_a_spec_or_a_named_refusal(seed in any::<prop::sample::Index>(),
                                                   flips in prop::collection::vec((any::<prop::sample::Index>(), 0x20u8..0x7f), 0..6),
                                                   cut in any::<prop::sample::Index>(), dims in dims(), dtype in dtype()) {
        let seeds = seeds();
        let mut bytes = seed.get(&seeds).as_bytes().to_vec();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
        if let Ok(text) = String::from_utf8(bytes) {
            parse_and_check(&text, &dims, dtype);
        }
    }
}
