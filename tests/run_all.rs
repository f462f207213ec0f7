//! `run-all` end to end on a small shape: every tutorial step, both cache states, and the
//! tutorial's outcomes visible in results.json.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

mod common;

use std::path::Path;

use assert_cmd::Command;
use mmap_lab::cache::CacheState;
use mmap_lab::probe::Phase;
use mmap_lab::results::{Results, StepResult};
use mmap_lab::spec::Status;

const SHAPE: &str = "64x120x120x3";

fn run_all(root: &Path) -> Results {
    let (data, out) = (root.join("data"), root.join("out"));
    Command::cargo_bin("mmap-lab")
        .unwrap()
        .args(["run-all", "--shape", SHAPE, "--seed", "5"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    Results::read(&out.join("results.json")).unwrap()
}

fn step<'a>(r: &'a Results, id: &str, cache: CacheState) -> &'a StepResult {
    r.step(id, cache).unwrap_or_else(|| panic!("no step {id}/{}", cache.name()))
}

#[test]
fn the_tutorial_outcomes_show_in_the_results() {
    let root = tempfile::tempdir().unwrap();
    let r = run_all(root.path());
    let npy_bytes = r.dataset.npy_bytes;
    let data_bytes = r.dataset.raw_bytes;
    let elements = data_bytes / 8;
    assert_eq!(npy_bytes, data_bytes + 128);
    assert_eq!(r.dataset.npy_header_bytes, 128);
    assert_eq!(r.schema_version, 1);
    assert!(r.machine.cores >= 1 && r.machine.memory_bytes > 0);

    for cache in [CacheState::Warm, CacheState::Cold] {
        for s in r.steps.iter().filter(|s| s.cache == cache && s.group == "tutorial") {
            assert_eq!(s.status, Status::Ok, "{}: {:?}", s.key(), s.error);
            assert_eq!(s.snapshots.len(), 4, "{}", s.key());
            assert!(s.snapshots[0].elapsed_ns < s.snapshots[3].elapsed_ns);
        }
    }
    // The np.memmap steps run warm only: cold, each would be npy_load_mmap's disk read again.
    for id in WARM_ONLY {
        assert!(r.step(id, CacheState::Cold).is_none(), "{id} ran cold");
    }
    // np.memmap with defaults: uint8, 1-D, one element per byte of the file, the magic first.
    let default = step(&r, "npy_memmap_default", CacheState::Warm);
    assert_eq!(default.shape.as_ref().unwrap().0, vec![npy_bytes as usize]);
    assert_eq!(default.dtype.unwrap().name(), "uint8");
    assert_eq!(default.first_values[..6], [147.0, 78.0, 85.0, 77.0, 80.0, 89.0]);
    assert_eq!(default.matches_original, Some(false));

    // float64 without offset: 16 more elements, element 16 is the original's first.
    let shifted = step(&r, "npy_memmap_float64", CacheState::Warm);
    assert_eq!(shifted.shape.as_ref().unwrap().0, vec![elements as usize + 16]);
    assert_eq!(shifted.original_at_element, Some(16));
    assert_eq!(shifted.matches_original, Some(false));
    let right = step(&r, "npy_load_mmap", CacheState::Warm);
    assert_eq!(shifted.first_values[16], right.first_values[0]);

    // The correct ways equal the original, checked against the generator.
    for cache in [CacheState::Warm, CacheState::Cold] {
        for id in ["raw_memmap_shape", "npy_load_mmap", "npy_memmap_offset", "npy_load"] {
            let Some(s) = r.step(id, cache) else {
                assert!(
                    WARM_ONLY.contains(&id) && cache == CacheState::Cold,
                    "no step {id}/{}",
                    cache.name()
                );
                continue;
            };
            assert_eq!(s.matches_original, Some(true), "{id}");
            assert_eq!(s.original_at_element, Some(0), "{id}");
            assert_eq!(s.shape.as_ref().unwrap(), &r.dataset.shape);
            assert_eq!(s.first_values.len(), 24);
        }
    }
}

/// The tutorial's np.memmap steps, run warm only.
const WARM_ONLY: [&str; 4] =
    ["npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape", "npy_memmap_offset"];

#[test]
fn mapping_costs_little_until_read_then_the_file_is_rss_file_and_load_is_rss_anon() {
    let root = common::disk_tempdir();
    let r = run_all(root.path());
    let file = r.dataset.raw_bytes as i64;
    for cache in [CacheState::Warm, CacheState::Cold] {
        for id in ["npy_load_mmap", "raw_memmap_shape", "npy_memmap_offset"] {
            let Some(s) = r.step(id, cache) else { continue }; // warm only (WARM_ONLY)
            let at_open = s.delta(Phase::BeforeOpen, Phase::AfterOpen, |x| x.rss_bytes).unwrap();
            assert!(at_open < file / 4, "{id}/{}: RSS grew {at_open} at open", cache.name());
            let file_growth = s.delta(Phase::BeforeOpen, Phase::AfterAccess, |x| x.rss_file_bytes).unwrap();
            let anon_growth = s.delta(Phase::BeforeOpen, Phase::AfterAccess, |x| x.rss_anon_bytes).unwrap();
            assert!(file_growth >= file * 9 / 10, "{id}: RssFile grew {file_growth} of {file}");
            assert!(anon_growth < file / 4, "{id}: RssAnon grew {anon_growth}");
            let after = s.snapshot(Phase::AfterAccess).unwrap();
            assert!(after.resident_bytes >= r.dataset.npy_bytes.min(file as u64));
        }
        let load = step(&r, "npy_load", cache);
        let anon = load.delta(Phase::BeforeOpen, Phase::AfterOpen, |x| x.rss_anon_bytes).unwrap();
        assert!(anon >= file * 9 / 10, "load: RssAnon grew {anon} of {file}");
        let object = load.object_bytes.unwrap() as i64;
        assert!(object >= file, "a loaded array owns its data");
        assert!(step(&r, "npy_load_mmap", cache).object_bytes.unwrap() < 1024);
    }
    // Cold steps start with nothing of the file in the page cache (verified with mincore);
    // where pages cannot be evicted (tmpfs) the step says it could not verify that.
    let evicts = common::can_evict(root.path());
    for s in r.steps.iter().filter(|s| s.cache == CacheState::Cold) {
        let c = s.cache_report.unwrap();
        assert_eq!(c.verified, evicts, "{}: {c:?}", s.key());
        if evicts {
            assert_eq!(s.snapshots[0].resident_bytes, 0, "{}", s.key());
        }
    }
}

#[test]
fn a_second_run_reuses_the_data_and_writes_the_short_report() {
    let root = tempfile::tempdir().unwrap();
    let first = run_all(root.path());
    assert_eq!(first.dataset.provenance, "generated");
    let second = run_all(root.path());
    assert_eq!(second.dataset.provenance, "reused");
    let md = std::fs::read_to_string(root.path().join("out/REPORT.md")).unwrap();
    for id in ["npy_load_mmap", "npy_memmap_default", "npy_memmap_float64", "raw_memmap_shape"] {
        assert!(md.contains(id), "REPORT.md lists {id}");
    }
}
