//! mmap-lab and NumPy read each other's files, and run-all's NumPy peer agrees with every
//! Rust step.
//!
//! The Python comes from `MMAP_LAB_PYTHON`, else the project's `.venv/bin/python`
//! (`just venv`). Without NumPy these tests skip with the reason printed, except under
//! `CI=true`, where they must run and fail loudly instead.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;
use common::{python, run_python};

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use mmap_lab::cache::CacheState;
use mmap_lab::dataset::{self, DatasetSpec};
use mmap_lab::dtype::Dtype;
use mmap_lab::results::Results;
use mmap_lab::shape::Shape;
use mmap_lab::spec::Status;
use serde::Deserialize;

fn mmap_lab() -> Command {
    Command::cargo_bin("mmap-lab").unwrap()
}

#[test]
fn a_npy_written_by_mmap_lab_loads_in_numpy_and_is_what_np_save_writes() {
    let Some(python) = python() else { return };
    for dtype in DatasetSpec::DTYPES {
        let dir = tempfile::tempdir().unwrap();
        let spec = DatasetSpec { shape: Shape(vec![6, 8, 10, 3]), dtype, seed: 9 };
        let (data, _) = dataset::ensure(&spec, dir.path()).unwrap();
        let resaved = dir.path().join("resaved.npy");
        let code = "
import sys, numpy as np
npy, raw, out = sys.argv[1:4]
loaded = np.load(npy)
mapped = np.load(npy, mmap_mode='r')
original = np.fromfile(raw, dtype=loaded.dtype).reshape(6, 8, 10, 3)
assert isinstance(mapped, np.memmap), type(mapped)
assert loaded.shape == mapped.shape == (6, 8, 10, 3), (loaded.shape, mapped.shape)
assert np.array_equal(loaded, original) and np.array_equal(mapped, original)
np.save(out, loaded)
print(loaded.dtype.str)
";
        let descr = run_python(&python, code, &[&data.npy_path(), &data.raw_path(), &resaved]);
        assert_eq!(descr.trim(), dtype.descr());
        let ours = std::fs::read(data.npy_path()).unwrap();
        let numpys = std::fs::read(&resaved).unwrap();
        let header = data.manifest.npy_header_bytes as usize;
        assert_eq!(
            String::from_utf8_lossy(&ours[..header]),
            String::from_utf8_lossy(&numpys[..header]),
            "the header is byte-identical to np.save's ({dtype})"
        );
        assert!(ours == numpys, "the whole file is byte-identical to np.save's ({dtype})");
    }
}

/// What NumPy says about each file it wrote.
#[derive(Debug, Deserialize)]
struct Written {
    shape: Vec<usize>,
    descr: String,
    fortran: bool,
    values: Vec<f64>,
}

/// NumPy writes one .npy of each kind a student may bring; returns what it wrote.
fn numpy_files(python: &Path, dir: &Path) -> BTreeMap<String, Written> {
    let code = r#"
import json, os, sys, numpy as np
out = sys.argv[1]
base = np.arange(60).reshape(3, 4, 5)
arrays = {
    'float64': base / 7.0,
    'float32': (base / 7.0).astype('<f4'),
    'uint8': (base * 5 % 256).astype('u1'),
    'int16': (base * -300).astype('<i2'),
    'big_endian': (base / 3.0).astype('>f8'),
    'fortran': np.asfortranarray(base / 11.0),
    'empty': np.zeros((0,), dtype='<f8'),
    'scalar': np.array(2.5),
    'complex': (base + 1j).astype('<c16'),
}
info = {}
for name, a in arrays.items():
    np.save(os.path.join(out, name + '.npy'), a)
    info[name] = {'shape': list(a.shape), 'descr': a.dtype.str, 'fortran': bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                  'values': [] if a.dtype.kind == 'c' else [float(v) for v in a.ravel(order='C')]}
v2 = base / 13.0
with open(os.path.join(out, 'version2.npy'), 'wb') as f:
    np.lib.format.write_array(f, v2, version=(2, 0))
info['version2'] = {'shape': list(v2.shape), 'descr': v2.dtype.str, 'fortran': False, 'values': [float(v) for v in v2.ravel()]}
print(json.dumps(info))
"#;
    serde_json::from_str(&run_python(python, code, &[dir])).unwrap()
}

#[test]
fn npy_files_written_by_numpy_are_read_correctly_or_refused_with_the_reason() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = numpy_files(&python, dir.path());
    assert_eq!(files.len(), 10);
    for (name, want) in &files {
        let path = dir.path().join(format!("{name}.npy"));
        let report = mmap_lab::inspect::inspect(&path, None).unwrap();
        assert_eq!(report.descr, want.descr, "{name}");
        assert_eq!(report.shape, want.shape, "{name}");
        assert_eq!(
            report.order,
            if want.fortran { mmap_lab::open::Order::F } else { mmap_lab::open::Order::C },
            "{name}"
        );
        if name == "complex" {
            // Not a dtype mmap-lab reads: mmap-lab refuses to guess and says why, and inspect
            // gives NumPy's own np.memmap call (tests/inspect_dtypes.rs runs such calls).
            let err = mmap_lab::open::load_mmap(&path).unwrap_err().to_string();
            assert!(err.contains("'<c16' is not supported") && err.contains("not complex"), "{err}");
            assert!(report.numpy_call.as_deref().is_some_and(|c| c.contains("dtype='<c16'")), "{report:?}");
            assert!(report.rust_call.is_none() && report.warnings.iter().any(|w| w.contains("<c16")));
            continue;
        }
        let array = mmap_lab::open::load_mmap(&path).unwrap();
        assert_eq!(array.shape().0, want.shape, "{name}");
        assert_eq!(array.dtype(), Dtype::parse(&want.descr).unwrap(), "{name}");
        assert_eq!(array.values(0, array.len()), want.values, "{name}: values in C order");
        assert_eq!(report.expected_data_bytes, Some(report.actual_data_bytes), "{name}");
        assert_eq!(report.npy.as_ref().unwrap().version, if name == "version2" { "2.0" } else { "1.0" });
    }
}

#[test]
fn the_call_inspect_prints_gives_what_np_load_gives() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = numpy_files(&python, dir.path());
    let check = "
import sys, numpy as np
call, path = sys.argv[1], sys.argv[2]
X = eval(call)
Y = np.load(path)
assert isinstance(X, np.memmap), type(X)
assert X.shape == Y.shape and X.dtype == Y.dtype, (X.shape, X.dtype, Y.shape, Y.dtype)
assert np.array_equal(X, Y)
assert X.flags.f_contiguous == Y.flags.f_contiguous
";
    for name in files.keys().filter(|n| *n != "complex") {
        let path = dir.path().join(format!("{name}.npy"));
        let text = mmap_lab().arg("inspect").arg(&path).assert().success().get_output().stdout.clone();
        let text = String::from_utf8(text).unwrap();
        let call = text.lines().map(str::trim).find(|l| l.starts_with("np.memmap(")).unwrap();
        run_python(&python, check, &[Path::new(call), &path]);
        let json =
            mmap_lab().arg("inspect").arg("--json").arg(&path).assert().success().get_output().stdout.clone();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(json["numpy_call"].as_str(), Some(call), "--json gives the same call");
    }
    // A raw file: the call from --dtype and --shape gives what np.fromfile gives.
    let raw = dir.path().join("raw.rbf");
    let code = "import sys, numpy as np; (np.arange(60) / 7.0).astype('>f8').tofile(sys.argv[1])";
    run_python(&python, code, &[&raw]);
    let out =
        mmap_lab().arg("inspect").arg(&raw).args(["--dtype", ">f8", "--shape", "3x4x5"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let call = text.lines().map(str::trim).find(|l| l.starts_with("np.memmap(")).unwrap();
    let code = "
import sys, numpy as np
X = eval(sys.argv[1])
assert np.array_equal(X, np.fromfile(sys.argv[2], dtype='>f8').reshape(3, 4, 5))
";
    run_python(&python, code, &[Path::new(call), &raw]);
}

/// The tutorial's six steps, warm (and cold where their specs ask), with a NumPy peer beside each.
fn run_all(root: &Path, python: &Path) -> assert_cmd::assert::Assert {
    mmap_lab()
        .args(["run", "--shape", "8x12x10x3", "--seed", "2", "--rounds", "3"])
        .args([
            "npy_load_mmap",
            "npy_memmap_default",
            "npy_memmap_float64",
            "raw_memmap_shape",
            "npy_memmap_offset",
            "npy_load",
        ])
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--out")
        .arg(root.join("out"))
        .arg("--python")
        .arg(python)
        .assert()
}

#[test]
fn run_all_with_numpy_writes_an_agreeing_peer_for_every_step() {
    let Some(python) = python() else { return };
    let root = common::disk_tempdir();
    let evicts = common::can_evict(root.path());
    run_all(root.path(), &python).success();
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    assert_eq!(r.steps.len(), 8, "six warm steps, two cold: the np.memmap steps run warm only");
    for s in &r.steps {
        let peer = s.peer.as_ref().unwrap_or_else(|| panic!("{} has no NumPy peer", s.key()));
        assert!(peer.agrees, "{}: {:?}", s.key(), peer.disagreements);
        assert_eq!(peer.status, s.status, "{}", s.key());
        assert_eq!(peer.shape, s.shape, "{}", s.key());
        assert_eq!(peer.dtype, s.dtype, "{}", s.key());
        assert!(!peer.python_version.is_empty() && !peer.numpy_version.is_empty());
        assert!(peer.getsizeof_bytes.is_some_and(|b| b > 0) && peer.call.starts_with("np."));
        assert_eq!(peer.snapshots.len(), 4, "{}: the same four phases", s.key());
        assert_eq!(peer.bytes_touched, s.bytes_touched, "{}: the full pass reads the same bytes", s.key());
        // Prepared again for the peer; a cold cache is verified only where pages can be evicted.
        let verifiable = s.cache == mmap_lab::cache::CacheState::Warm || evicts;
        assert_eq!(
            peer.cache_report.map(|c| c.verified),
            Some(verifiable),
            "{}: the cache was prepared again",
            s.key()
        );
    }
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    assert!(
        md.contains("## Rust beside NumPy") && md.contains("All 8 steps with a NumPy peer agree"),
        "{md}"
    );
    let csv = std::fs::read_to_string(root.path().join("out/peers.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9);

    // The headline step ran 3 times in all, each round timed on both sides.
    let side = r.side_by_side.as_ref().expect("rounds of the headline comparison");
    assert_eq!(side.step, "npy_load_mmap/warm");
    assert_eq!((side.rust.len(), side.numpy.len()), (3, 3));
    for t in side.rust.iter().chain(&side.numpy) {
        assert!(t.open_first_ns.is_some_and(|ns| ns > 0) && t.pass_ns.is_some_and(|ns| ns > 0), "{t:?}");
    }
    let headline = r.steps.iter().find(|s| s.key() == side.step).unwrap();
    // The snapshots give the times; the runner adds what the host took back meanwhile.
    assert_eq!(
        side.rust[0],
        mmap_lab::results::RoundTimes {
            reported_bytes: side.rust[0].reported_bytes,
            ..mmap_lab::results::RoundTimes::of(&headline.snapshots)
        },
        "round 1 is the step's own"
    );
    assert!(md.contains("Headline, `npy_load_mmap/warm` run 3 times"), "{md}");
    assert!(md.contains("open plus first element at least 20× faster: **"), "{md}");

    // Every step ran in paired rounds, Rust first in the first round, NumPy first in the
    // next, and so on; each step's timing counts them.
    for s in &r.steps {
        assert!(s.rounds.len() >= 2, "{}: {} rounds", s.key(), s.rounds.len());
        for (i, round) in s.rounds.iter().enumerate() {
            assert_eq!(round.rust_first, i % 2 == 0, "{}: round {} goes the other way first", s.key(), i + 1);
            assert!(round.agrees, "{}", s.key());
        }
        let own = mmap_lab::results::RoundTimes {
            reported_bytes: s.rounds[0].rust.reported_bytes,
            ..mmap_lab::results::RoundTimes::of(&s.snapshots)
        };
        assert_eq!(s.rounds[0].rust, own, "{}", s.key());
        // On a kernel that counts the free memory it hands to its host, every side says how
        // much went while it ran.
        if mmap_lab::cache::reporting::reported_bytes().is_some() {
            for round in &s.rounds {
                assert!(
                    round.rust.reported_bytes.is_some() && round.numpy.reported_bytes.is_some(),
                    "{}",
                    s.key()
                );
            }
        }
        let timing = s.timing.unwrap_or_else(|| panic!("{}: no timing", s.key()));
        assert_eq!(timing.rounds as usize, s.rounds.len(), "{}", s.key());
        assert!(
            timing.rust_ns > 0 && timing.numpy_ns > 0 && timing.wall_ns >= timing.rust_ns + timing.numpy_ns
        );
    }
    let stages: Vec<&str> = r.run.stages.iter().map(|s| s.stage.as_str()).collect();
    // The dataset files the run dropped for fresh memory are read back at the end, except on
    // a machine that pages out idle page cache, where the run says why it did not.
    let skipped = r.run.notes.iter().any(|n| n.contains("were not read back into the page cache"));
    if mmap_lab::machine::idle_page_reclaimer().is_some() {
        assert_eq!(stages, ["dataset", "formats", "warm_steps", "cold_read_limit", "cold_steps"]);
        assert!(skipped, "{:?}", r.run.notes);
    } else {
        assert_eq!(
            stages,
            ["dataset", "formats", "warm_steps", "cold_read_limit", "cold_steps", "restore_cache"]
        );
        assert!(!skipped, "{:?}", r.run.notes);
    }
    // The limits come from this run: the loaded array's own passes, and one read.
    let limits = r.limits.as_ref().expect("limits measured in the run");
    let load = step(&r, "npy_load", CacheState::Warm);
    let whole = load.memory_passes.iter().find(|m| Some(m.bytes) == load.bytes_touched).unwrap();
    // Every Rust round of the load timed its passes: the limit is their median.
    assert_eq!(whole.passes_ns.len(), mmap_lab::step::MEMORY_PASSES * load.rounds.len().max(1));
    assert_eq!(limits.in_memory_pass_ns, mmap_lab::stats::median(&whole.passes_ns));
    let span = limits.in_memory_spans.iter().find(|s| Some(s.bytes) == load.bytes_touched).unwrap();
    assert_eq!(span.passes as usize, whole.passes_ns.len());
    // One span for each size of warm pass the run reads: here, the whole array only (all
    // six steps read it all; memmap's uint8 view spans the header too).
    assert!(limits.in_memory_spans.iter().any(|s| Some(s.bytes) == load.bytes_touched));
    assert_eq!(limits.in_memory_step.as_deref(), Some("npy_load/warm"));
    assert_eq!(limits.cold_reads_ns.len(), 1, "just before the cold steps");
    assert_eq!(limits.cold_read_ns, limits.cold_reads_ns.iter().min().copied());
    assert_eq!(limits.cold_read_bytes, Some(load.file_bytes_before.unwrap()));
    assert!(md.contains("### Paired rounds: Rust ÷ NumPy"), "{md}");
    assert!(md.contains("8 of 8 steps with a NumPy peer were paired in alternating order"), "{md}");
    let row = md.lines().find(|l| l.starts_with("| `npy_load_mmap` | warm | 3, alternating |")).unwrap();
    assert!(row.contains('%'), "a full pass shows its share of the limit: {row}");
    assert!(md.contains("Where the ") && md.contains("cold read limit"), "{md}");
}

fn step<'a>(r: &'a Results, id: &str, cache: CacheState) -> &'a mmap_lab::results::StepResult {
    r.steps.iter().find(|s| s.id == id && s.cache == cache).unwrap()
}

#[test]
fn every_step_of_run_all_has_an_agreeing_numpy_peer() {
    let Some(python) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    mmap_lab()
        .args(["run-all", "--shape", "8x12x10x3", "--seed", "4", "--rounds", "1", "--cache", "warm"])
        .arg("--data-dir")
        .arg(root.path().join("data"))
        .arg("--out")
        .arg(root.path().join("out"))
        .arg("--python")
        .arg(&python)
        .assert()
        .success();
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    let groups: std::collections::BTreeSet<&str> = r.steps.iter().map(|s| s.group.as_str()).collect();
    assert!(groups.len() >= 5, "run-all covers the tutorial and the experiments beyond it: {groups:?}");
    for s in &r.steps {
        let peer = s.peer.as_ref().unwrap_or_else(|| panic!("{} has no NumPy peer", s.key()));
        assert!(peer.agrees, "{}: {:?}", s.key(), peer.disagreements);
        // The same positions read: the same counts, and the same sum up to rounding.
        assert_eq!(peer.elements_read, s.elements_read, "{}", s.key());
        assert_eq!(peer.bytes_touched, s.bytes_touched, "{}", s.key());
        if let (Some(a), Some(b), Some(true)) = (s.sum, peer.sum, s.matches_original) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{}: {a} against {b}", s.key());
        }
        if let Some(batches) = &s.batches {
            let numpy = peer.batches.as_ref().unwrap_or_else(|| panic!("{}: no NumPy batches", s.key()));
            assert_eq!(numpy.batch_ns.len(), batches.batch_ns.len(), "{}", s.key());
        }
        if let Some(workers) = &s.workers {
            let numpy = peer.workers.as_ref().unwrap_or_else(|| panic!("{}: no NumPy workers", s.key()));
            assert_eq!(numpy.count, workers.count, "{}", s.key());
            assert!(numpy.sums_agree && numpy.per_worker.iter().all(|w| w.pss_bytes > 0), "{}", s.key());
        }
    }
}

/// An executable shell script at `path`: a test double for Python.
fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

#[test]
fn a_numpy_peer_that_disagrees_fails_the_run_and_stands_out() {
    let Some(python) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    // The real Python, with one extra first value slipped into every answer.
    let liar = root.path().join("python");
    let sed = r#"sed 's/"first_values": \[/"first_values": [12345.0, /'"#;
    script(&liar, &format!("#!/bin/sh\n'{}' \"$@\" | {sed}\n", python.display()));
    run_all(root.path(), &liar).code(1);
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    assert_eq!(r.run.unexpected_outcomes, r.steps.len());
    assert!(r.steps.iter().all(|s| s.peer.as_ref().is_some_and(|p| !p.agrees)));
    assert!(
        r.run.notes.iter().any(|n| n.starts_with("NumPy DISAGREES with npy_load_mmap/warm")),
        "{:?}",
        r.run.notes
    );
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    assert!(md.contains("NumPy DISAGREES with 8 of 8 steps"), "{md}");
    assert_eq!(r.side_by_side, None, "no rounds are timed against a NumPy that disagrees");
}

#[test]
fn a_crashing_numpy_peer_is_a_result_not_a_dead_run() {
    let Some(python) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    // Answers the version question, then dies of SIGBUS on every step.
    let crasher = root.path().join("python");
    let text = format!(
        "#!/bin/sh\ncase \"$2\" in *numpy.__version__*) exec '{}' \"$@\";; esac\nkill -BUS $$\n",
        python.display()
    );
    script(&crasher, &text);
    run_all(root.path(), &crasher).code(1);
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    for s in &r.steps {
        let peer = s.peer.as_ref().unwrap();
        assert_eq!((peer.status, peer.signal, peer.agrees), (Status::Crashed, Some(7), false), "{}", s.key());
        assert!(peer.error.as_deref().unwrap().contains("SIGBUS"));
        assert_eq!(peer.call, s.numpy_call, "a silent peer is named by the spec's call");
    }
}

#[test]
fn a_python_without_numpy_is_refused_before_anything_is_measured() {
    let root = tempfile::tempdir().unwrap();
    let fake = root.path().join("python");
    std::fs::write(&fake, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'numpy'\" >&2\nexit 1\n")
        .unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let out = run_all(root.path(), &fake).code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(&fake.display().to_string()) && stderr.contains("pip install numpy"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    assert!(!root.path().join("data").exists(), "nothing was generated");
}

#[test]
fn without_the_numpy_column_the_run_says_so() {
    let root = tempfile::tempdir().unwrap();
    let out = mmap_lab()
        .args(["run-all", "--shape", "8x12x10x3", "--no-python", "--cache", "warm"])
        .arg("--data-dir")
        .arg(root.path().join("data"))
        .arg("--out")
        .arg(root.path().join("out"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("no NumPy column: the NumPy column was turned off (--no-python)"), "{stderr}");
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    assert!(r.steps.iter().all(|s| s.peer.is_none()));
    assert!(r.run.notes.iter().any(|n| n.starts_with("No NumPy column")), "{:?}", r.run.notes);
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    assert!(md.contains("No step ran with a NumPy peer"));
}

/// A `sitecustomize` for the NumPy peers of a test: with `MMAP_LAB_TEST_PEER` set, it wraps
/// `np.load` so that the peer dies of SIGBUS (`bus`), hangs (`hang`), or kills the process
/// that started it, once (`parent_dies`: the fork server, when the peer was forked from it).
const SITECUSTOMIZE: &str = r#"
import os, signal, time
mode = os.environ.get("MMAP_LAB_TEST_PEER")
if mode:
    import numpy as np
    real = np.load
    def load(*args, **kwargs):
        if mode == "bus":
            os.kill(os.getpid(), signal.SIGBUS)
        if mode == "hang":
            time.sleep(3600)
        marker = os.environ.get("MMAP_LAB_TEST_MARKER", "")
        if mode == "parent_dies" and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(1)
        return real(*args, **kwargs)
    np.load = load
"#;

/// `run` of the given steps, warm, one round, with the peers' `np.load` wrapped by `mode`.
fn run_with_peer(root: &Path, python: &Path, mode: &str, steps: &[&str], extra: &[&str]) -> Results {
    let site = root.join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("sitecustomize.py"), SITECUSTOMIZE).unwrap();
    let _ = mmap_lab() // a peer that crashed or disagreed fails the run: its results are read below
        .arg("run")
        .args(steps)
        .args(["--cache", "warm", "--rounds", "1", "--shape", "8x12x10x3"])
        .args(extra)
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--out")
        .arg(root.join("out"))
        .arg("--python")
        .arg(python)
        .env("PYTHONPATH", &site)
        .env("MMAP_LAB_TEST_PEER", mode)
        .env("MMAP_LAB_TEST_MARKER", root.join("marker"))
        .assert();
    let out = root.join("out");
    let out = if out.join("results.json").exists() { out } else { root.join("out.incomplete") };
    Results::read(&out.join("results.json")).unwrap()
}

#[test]
fn forked_peers_are_reported_as_fresh_ones_are() {
    let Some(python) = python() else { return };
    // Every peer forked from the server; the run says so.
    let root = tempfile::tempdir().unwrap();
    let r = run_with_peer(root.path(), &python, "", &["npy_load_mmap", "npy_load"], &[]);
    for s in &r.steps {
        let peer = s.peer.as_ref().unwrap();
        assert!(peer.forked && peer.agrees, "{}: {peer:?}", s.key());
        assert!(peer.import_ns.is_some_and(|ns| ns > 0), "import numpy is reported, measured once");
    }
    assert_eq!(r.steps[0].peer.as_ref().unwrap().import_ns, r.steps[1].peer.as_ref().unwrap().import_ns);
    assert!(
        r.run.notes.iter().any(|n| n.starts_with("NumPy peers: 2 processes forked")),
        "{:?}",
        r.run.notes
    );
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    assert!(md.contains("each in a Python process of its own, forked from one interpreter"), "{md}");
    assert!(md.contains(", measured once, in the interpreter the peers were forked from"), "{md}");

    // Killed by a signal: reported with it.
    let root = tempfile::tempdir().unwrap();
    let r = run_with_peer(root.path(), &python, "bus", &["npy_load_mmap"], &[]);
    let peer = r.steps[0].peer.as_ref().unwrap();
    assert!(peer.forked);
    assert_eq!((peer.status, peer.signal), (Status::Crashed, Some(libc::SIGBUS)), "{peer:?}");
    assert!(peer.error.as_deref().unwrap().contains("SIGBUS"));

    // Past the step timeout: killed, and said so.
    let root = tempfile::tempdir().unwrap();
    let r = run_with_peer(root.path(), &python, "hang", &["npy_load_mmap"], &["--step-timeout", "3"]);
    let peer = r.steps[0].peer.as_ref().unwrap();
    assert!(peer.forked);
    assert_eq!((peer.status, peer.signal), (Status::Crashed, Some(libc::SIGKILL)), "{peer:?}");
    assert!(peer.error.as_deref().unwrap().contains("step timeout of 3 s"), "{peer:?}");
}

#[test]
fn a_fork_server_that_dies_is_replaced_and_its_peer_runs_again_fresh() {
    let Some(python) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    let r = run_with_peer(root.path(), &python, "parent_dies", &["npy_load_mmap", "npy_memmap_offset"], &[]);
    let (first, second) = (r.steps[0].peer.as_ref().unwrap(), r.steps[1].peer.as_ref().unwrap());
    // The peer whose server died ran again in a fresh interpreter, after its cache was
    // prepared again; the next one was forked from a new server.
    assert!(first.agrees && !first.forked, "{first:?}");
    assert!(second.agrees && second.forked, "{second:?}");
    assert!(
        r.run.notes.iter().any(|n| n.contains("fork server stopped answering 1 time")),
        "{:?}",
        r.run.notes
    );
}

#[test]
fn without_a_fork_server_every_peer_starts_a_fresh_interpreter() {
    let Some(python) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    mmap_lab()
        .args([
            "run",
            "npy_load_mmap",
            "--cache",
            "warm",
            "--rounds",
            "1",
            "--shape",
            "8x12x10x3",
            "--data-dir",
        ])
        .arg(root.path().join("data"))
        .arg("--out")
        .arg(root.path().join("out"))
        .arg("--python")
        .arg(&python)
        .env(mmap_lab::peer::server::NO_SERVER_ENV, "1")
        .assert()
        .success();
    let r = Results::read(&root.path().join("out/results.json")).unwrap();
    let peer = r.steps[0].peer.as_ref().unwrap();
    assert!(peer.agrees && !peer.forked);
    assert!(r.run.notes.iter().any(|n| n.contains("No fork server") && n.contains("fresh interpreter")));
}
