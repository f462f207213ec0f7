use std::path::Path;

use anyhow::Result;

use super::*;

fn parse(text: &str) -> Result<ExperimentSpec> {
    ExperimentSpec::parse(text, Path::new("exp.toml"))
}

const MINIMAL: &str = r#"
id = "x"
title = "t"
numpy_call = "np.load('X_train.npy', mmap_mode='r')"
file = "npy"
[open]
method = "load_mmap"
"#;

#[test]
fn every_shipped_experiment_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let specs = load_dir(&dir).unwrap();
    assert!(specs.len() >= 6);
    for id in [
        "npy_load_mmap",
        "npy_memmap_default",
        "npy_memmap_float64",
        "raw_memmap_shape",
        "npy_memmap_offset",
        "npy_load",
    ] {
        assert!(specs.iter().any(|s| s.spec.id == id), "missing {id}");
    }
}

#[test]
fn defaults_are_full_pass_warm_and_cold() {
    let spec = parse(MINIMAL).unwrap();
    assert_eq!(spec.access, AccessSpec::FullPass);
    assert_eq!(spec.cache, vec![CacheState::Warm, CacheState::Cold]);
    assert_eq!(spec.expect, Status::Ok);
    assert!(spec.run_all);
}

#[test]
fn access_as_name_or_table() {
    let spec = parse(&MINIMAL.replace("file = \"npy\"", "file = \"npy\"\naccess = \"first\"")).unwrap();
    assert_eq!(spec.access, AccessSpec::First);
    let table = MINIMAL.replace(
        "file = \"npy\"",
        "file = \"npy\"\naccess = { pattern = \"random_batches\", batch_size = 32, seed = 7 }",
    );
    assert_eq!(
        parse(&table).unwrap().access,
        AccessSpec::RandomBatches { batch_size: 32, batches: None, seed: 7 }
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = MINIMAL.replace("file = \"npy\"", "file = \"npy\"\ncolour = \"red\"");
    let msg = format!("{:#}", parse(&text).unwrap_err());
    assert!(msg.contains("exp.toml"), "{msg}");
    assert!(msg.contains("colour"), "{msg}");
    assert!(msg.contains("line 6"), "{msg}");
}

#[test]
fn wrong_type_is_named_with_its_line() {
    let text = MINIMAL.replace("file = \"npy\"", "file = 3");
    let msg = format!("{:#}", parse(&text).unwrap_err());
    assert!(msg.contains("line 5"), "{msg}");
}

#[test]
fn memmap_options_on_load_are_refused() {
    let text = MINIMAL.replace("method = \"load_mmap\"", "method = \"load_mmap\"\ndtype = \"float64\"");
    let msg = format!("{:#}", parse(&text).unwrap_err());
    assert!(msg.contains("apply to method = \"memmap\" only"), "{msg}");
}

#[test]
fn raw_file_needs_memmap() {
    let text = MINIMAL.replace("file = \"npy\"", "file = \"raw\"");
    assert!(format!("{:#}", parse(&text).unwrap_err()).contains("has none"));
}

#[test]
fn bad_dtype_and_shape_are_refused() {
    let base = MINIMAL.replace("method = \"load_mmap\"", "method = \"memmap\"");
    assert!(parse(&base.replace("method = \"memmap\"", "method = \"memmap\"\ndtype = \"float3\"")).is_err());
    assert!(parse(&base.replace("method = \"memmap\"", "method = \"memmap\"\nshape = \"4x0\"")).is_err());
    assert!(parse(&base.replace("method = \"memmap\"", "method = \"memmap\"\noffset = \"start\"")).is_err());
}

#[test]
fn duplicate_ids_name_both_files() {
    let spec = parse(MINIMAL).unwrap();
    let specs = vec![
        LoadedSpec { spec: spec.clone(), path: "a.toml".into() },
        LoadedSpec { spec, path: "b.toml".into() },
    ];
    let msg = format!("{:#}", check_unique(&specs).unwrap_err());
    assert!(msg.contains("a.toml") && msg.contains("b.toml"), "{msg}");
}

#[test]
fn memmap_options_resolve_against_the_dataset() {
    let text = r#"
id = "m"
title = "t"
numpy_call = "np.memmap(...)"
file = "npy"
[open]
method = "memmap"
dtype = "dataset"
offset = "header"
shape = "dataset"
"#;
    let spec = parse(text).unwrap();
    let dataset = DatasetSpec { shape: Shape(vec![4, 2]), dtype: Dtype::F4, seed: 0 };
    let o = spec.memmap_options(&dataset, 128);
    assert_eq!(o.dtype, Dtype::F4);
    assert_eq!(o.offset, 128);
    assert_eq!(o.shape, Some(Shape(vec![4, 2])));
    let round_trip: ExperimentSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(round_trip, spec);
}
