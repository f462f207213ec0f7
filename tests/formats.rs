//! The formats beside .npy and raw: `inspect` reads .npz and safetensors files that NumPy
//! and the safetensors package wrote, and the printed `np.memmap` call gives in NumPy what
//! the library's own loader gives; the files mmap-lab writes load in NumPy, safetensors and
//! pyarrow; and the formats steps show which formats map.
//!
//! The Python comes from `MMAP_LAB_PYTHON`, else `.venv/bin/python` (`just venv` installs
//! NumPy, safetensors and pyarrow). Without them these tests skip with the reason printed,
//! except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;
use common::{python_with, run_python};
use std::path::Path;

use assert_cmd::Command;
use mmap_lab::cache::CacheState;
use mmap_lab::formats::verdict::{Mapping, Verdict};
use mmap_lab::results::Results;
use serde_json::Value;

fn inspect_json(path: &Path) -> Value {
    let out =
        Command::cargo_bin("mmap-lab").unwrap().arg("inspect").arg(path).arg("--json").output().unwrap();
    assert!(out.status.success(), "inspect failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs each entry's printed `np.memmap` call in NumPy and compares it with `loader`
/// (Python text that defines `reference(name)`, the library's own way to read the array).
fn check_calls(python: &Path, report: &Value, loader: &str) -> usize {
    let mut checked = 0;
    for entry in report["entries"].as_array().unwrap() {
        let Some(call) = entry["numpy_call"].as_str() else { continue };
        let name = entry["name"].as_str().unwrap();
        let code = format!(
            "import numpy as np, sys\n{loader}\nmapped = {call}\nwant = reference({name:?})\n\
             assert isinstance(mapped, np.memmap)\n\
             assert mapped.shape == want.shape and mapped.dtype == want.dtype, (mapped.shape, want.shape, mapped.dtype, want.dtype)\n\
             assert np.array_equal(mapped, want)\nprint('ok')"
        );
        assert_eq!(run_python(python, &code, &[]).trim(), "ok", "{call}");
        checked += 1;
    }
    checked
}

#[test]
fn inspect_maps_the_stored_members_numpy_wrote_and_refuses_the_deflated_ones() {
    let Some(python) = python_with(&[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (stored, deflated) = (dir.path().join("s.npz"), dir.path().join("d.npz"));
    run_python(
        &python,
        "import sys, numpy as np\n\
         rng = np.random.default_rng(3)\n\
         arrays = dict(X_train=rng.random((7, 5, 4, 3)), labels=np.arange(7, dtype=np.int16), \
                       grey=rng.integers(0, 255, (3, 5), dtype=np.uint8), fortran=np.asfortranarray(rng.random((4, 6)).astype(np.float32)))\n\
         np.savez(sys.argv[1], **arrays)\nnp.savez_compressed(sys.argv[2], **arrays)",
        &[&stored, &deflated],
    );
    let report = inspect_json(&stored);
    assert_eq!(report["kind"], "npz");
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for e in entries {
        assert_eq!(e["storage"], "stored", "{e}");
        assert!(e["data_offset"].as_u64().unwrap() > 0);
    }
    let x = entries.iter().find(|e| e["name"] == "X_train.npy").unwrap();
    assert_eq!(x["shape"], serde_json::json!([7, 5, 4, 3]));
    assert_eq!(x["descr"], "<f8");
    let loader = format!(
        "npz = np.load({:?})\ndef reference(name): return npz[name[:-4]]",
        stored.display().to_string()
    );
    assert_eq!(check_calls(&python, &report, &loader), 4);

    let report = inspect_json(&deflated);
    for e in report["entries"].as_array().unwrap() {
        assert_eq!(e["storage"], "deflated", "{e}");
        assert!(e["numpy_call"].is_null() && e["data_offset"].is_null(), "{e}");
        let refusal = e["refusal"].as_str().unwrap();
        assert!(refusal.starts_with("cannot be mapped: compressed (deflated)"), "{refusal}");
        assert!(refusal.contains("np.save("), "says what to do: {refusal}");
    }
    let x =
        report["entries"].as_array().unwrap().iter().find(|e| e["name"] == "X_train.npy").unwrap().clone();
    assert_eq!((x["descr"].as_str(), x["shape"].clone()), (Some("<f8"), serde_json::json!([7, 5, 4, 3])));
    // The text output says the same to a person.
    let out = Command::cargo_bin("mmap-lab").unwrap().arg("inspect").arg(&deflated).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cannot be mapped: compressed"), "{text}");
}

#[test]
fn inspect_maps_every_tensor_the_safetensors_package_wrote() {
    let Some(python) = python_with(&["safetensors"]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    run_python(
        &python,
        "import sys, numpy as np\nfrom safetensors.numpy import save_file\n\
         rng = np.random.default_rng(5)\n\
         save_file({'X_train': rng.random((6, 4, 4, 3)), 'bias': rng.random(5).astype(np.float32), \
                    'steps': np.arange(3, dtype=np.int64), 'mask': np.array([1, 0, 1], dtype=np.uint8), \
                    'half': rng.random((2, 3)).astype(np.float16)}, sys.argv[1])",
        &[&path],
    );
    let report = inspect_json(&path);
    assert_eq!(report["kind"], "safetensors");
    let header = report["header_bytes"].as_u64().unwrap();
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    // Tensors in file order, the first right after the header.
    assert_eq!(entries[0]["data_offset"].as_u64().unwrap(), 8 + header);
    let loader = format!(
        "from safetensors.numpy import load_file\ntensors = load_file({:?})\ndef reference(name): return tensors[name]",
        path.display().to_string()
    );
    assert_eq!(check_calls(&python, &report, &loader), 5);
}

#[test]
fn inspect_refuses_a_broken_zip_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.npz");
    std::fs::write(&path, b"PK\x03\x04 this is not a whole zip").unwrap();
    let out = Command::cargo_bin("mmap-lab").unwrap().arg("inspect").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.npz") && err.contains("np.savez"), "{err}");
}

/// The formats steps on a small array, with or without the NumPy peers.
fn run_formats(root: &Path, numpy: bool) -> Results {
    let mut cmd = Command::cargo_bin("mmap-lab").unwrap();
    cmd.args(["run", "formats_npz_stored", "formats_npz_deflated", "formats_safetensors"])
        .args(["formats_arrow_ipc", "formats_arrow_ipc_lz4", "--shape", "24x120x120x3", "--seed", "4"])
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--out")
        .arg(root.join("out"));
    if !numpy {
        cmd.arg("--no-python");
    }
    cmd.assert().success();
    Results::read(&root.join("out/results.json")).unwrap()
}

#[test]
fn npz_and_compressed_arrow_copy_while_safetensors_and_arrow_map() {
    let root = tempfile::tempdir().unwrap();
    let r = run_formats(root.path(), false);
    let data = r.dataset.shape.nbytes(r.dataset.dtype);
    assert_eq!(r.dataset.formats.len(), 5);
    let expect = [
        ("formats_npz_stored", Mapping::Copies),
        ("formats_npz_deflated", Mapping::Copies),
        ("formats_safetensors", Mapping::Maps),
        ("formats_arrow_ipc", Mapping::Maps),
        ("formats_arrow_ipc_lz4", Mapping::Copies),
    ];
    for (id, mapping) in expect {
        let caches: &[CacheState] = if mapping == Mapping::Maps {
            &[CacheState::Warm, CacheState::Cold]
        } else {
            &[CacheState::Warm]
        };
        for &cache in caches {
            let s = r.step(id, cache).unwrap_or_else(|| panic!("no {id}/{}", cache.name()));
            assert_eq!(s.matches_original, Some(true), "{}", s.key());
            let v = Verdict::of(&s.snapshots, data).unwrap();
            assert_eq!(v.mapping, mapping, "{}: {v:?}", s.key());
            if mapping == Mapping::Copies {
                // The copy is made at open, not during the pass.
                assert!(v.anon_at_open as f64 >= 0.9 * data as f64, "{}: {v:?}", s.key());
            } else {
                assert!(v.anon_at_open < data / 10, "{}: {v:?}", s.key());
            }
        }
        // Copying formats run warm only: the copy is the same either way.
        assert_eq!(r.step(id, CacheState::Cold).is_some(), mapping == Mapping::Maps, "{id}");
    }
    // The mapped formats' data offsets suit float64.
    for f in r.dataset.formats.iter().filter(|f| f.data_offset.is_some()) {
        assert_eq!(f.data_offset.unwrap() % 8, 0, "{}", f.name);
    }
    // The report has the table with the verdicts, and the plot.
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    assert!(md.contains("Which formats really map"), "no formats section");
    assert!(md.contains("| safetensors | warm |") && md.contains("**maps**") && md.contains("**copies**"));
    assert!(root.path().join("out/formats.svg").is_file());
}

#[test]
fn a_dataset_of_more_than_400_samples_has_its_first_400_in_the_format_files() {
    let root = tempfile::tempdir().unwrap();
    Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["run", "formats_safetensors", "formats_npz_stored", "--shape", "430x8x6x3", "--seed", "9"])
        .args(["--cache", "warm", "--no-python", "--data-dir"])
        .arg(root.path().join("data"))
        .arg("--out")
        .arg(root.path().join("out"))
        .assert()
        .success();
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    let first = mmap_lab::shape::Shape(vec![400, 8, 6, 3]);
    assert_eq!(r.dataset.formats_shape(), &first);
    assert_eq!(r.dataset.formats_data_bytes(), 400 * 8 * 6 * 3 * 8);
    assert_ne!(r.dataset.formats_checksum(), r.dataset.checksum, "the subset has its own checksum");
    for s in r.steps.iter() {
        // Checked against the generator's first 400 samples: the original, cut.
        assert_eq!(s.shape.as_ref(), Some(&first), "{}", s.key());
        assert_eq!(s.matches_original, Some(true), "{}", s.key());
    }
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    assert!(md.contains("The dataset's first 400 samples (shape (400, 8, 6, 3)"), "{md}");
    assert!(md.contains("does not depend on the array's size"), "{md}");
}

#[test]
fn numpy_safetensors_and_pyarrow_read_the_files_mmap_lab_writes() {
    let Some(python) = python_with(&["safetensors", "pyarrow"]) else { return };
    let root = tempfile::tempdir().unwrap();
    let r = run_formats(root.path(), true);
    for s in &r.steps {
        let peer = s.peer.as_ref().unwrap_or_else(|| panic!("{}: no NumPy peer", s.key()));
        assert!(peer.agrees, "{}: {:?} {:?}", s.key(), peer.disagreements, peer.error);
    }
    let data = root.path().join("data");
    let code = "
import sys, os, numpy as np, pyarrow as pa
from safetensors.numpy import load_file
d = sys.argv[1]
raw = np.fromfile(os.path.join(d, 'X_train_raw.rbf'), dtype='<f8').reshape(24, 120, 120, 3)
for name in ('X_train_stored.npz', 'X_train_deflated.npz'):
    assert np.array_equal(np.load(os.path.join(d, name))['X_train'], raw), name
assert np.array_equal(load_file(os.path.join(d, 'X_train.safetensors'))['X_train'], raw)
for name in ('X_train.arrow', 'X_train_lz4.arrow'):
    t = pa.ipc.open_file(pa.memory_map(os.path.join(d, name))).read_all()
    assert np.array_equal(t.column(0).chunk(0).to_numpy_ndarray(), raw), name
print('ok')
";
    assert_eq!(run_python(&python, code, &[&data]).trim(), "ok");
}

/// Lab 7 at a shape where LZ4 compresses the pictures: the answers a student who knows the
/// formats gives are graded right, the opposite ones wrong.
#[test]
fn lab_7_grades_the_formats_predictions_against_the_measurements() {
    let root = tempfile::tempdir().unwrap();
    let run = |answers: &str| {
        let file = root.path().join("answers.toml");
        std::fs::write(&file, format!("lab = \"formats\"\n[answers]\n{answers}")).unwrap();
        let mut cmd = Command::cargo_bin("mmap-lab").unwrap();
        cmd.args(["lab", "run", "7", "--json"]).arg("--answers").arg(&file);
        if root.path().join("out/results.json").is_file() {
            cmd.arg("--results").arg(root.path().join("out/results.json"));
        } else {
            cmd.args(["--shape", "24x120x120x3", "--data-dir"]).arg(root.path().join("data"));
            cmd.arg("--out").arg(root.path().join("out"));
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let right = "npz_anon_at_open = 100\nsafetensors_anon_after_pass = 0\nsafetensors_file_after_pass = 100\nlz4_anon_at_open = 100\n";
    for (id, verdict) in common::verdicts(&run(right)) {
        if right.contains(&id) {
            assert_eq!(verdict, "right", "{id}");
        } else {
            // A timed question left blank may measure too close to a boundary to name an answer.
            assert!(["unanswered", "too_close"].contains(&verdict.as_str()), "{id}: {verdict}");
        }
    }
    let wrong = "npz_anon_at_open = 0\nsafetensors_anon_after_pass = 100\nsafetensors_file_after_pass = 0\nlz4_anon_at_open = 0\n";
    for (id, verdict) in common::verdicts(&run(wrong)) {
        if wrong.contains(&id) {
            assert_eq!(verdict, "wrong", "{id}");
        }
    }
}

/// Without pyarrow, the Arrow steps' peers say which package is missing and how to install
/// it; every step still runs, and the other peers agree.
#[test]
fn a_missing_python_package_is_named_by_its_peers_and_the_rest_go_on() {
    let Some(python) = python_with(&["safetensors"]) else { return };
    let root = tempfile::tempdir().unwrap();
    let fake = root.path().join("no-pyarrow");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(fake.join("pyarrow.py"), "raise ImportError(\"No module named 'pyarrow'\")\n").unwrap();
    let out = Command::cargo_bin("mmap-lab")
        .unwrap()
        .env("PYTHONPATH", &fake)
        .args(["run", "formats_safetensors", "formats_arrow_ipc", "--cache", "warm", "--shape", "4x12x10x3"])
        .arg("--python")
        .arg(&python)
        .arg("--data-dir")
        .arg(root.path().join("data"))
        .arg("--out")
        .arg(root.path().join("out"))
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    assert_eq!(r.steps.len(), 2);
    let arrow = r.step("formats_arrow_ipc", CacheState::Warm).unwrap();
    assert_eq!(arrow.status, mmap_lab::spec::Status::Ok, "the Rust step itself runs");
    let error = arrow.peer.as_ref().unwrap().error.clone().unwrap_or_default();
    assert!(error.contains("pyarrow") && error.contains("pip install pyarrow"), "{error}");
    assert!(r.step("formats_safetensors", CacheState::Warm).unwrap().peer.as_ref().unwrap().agrees);
}
