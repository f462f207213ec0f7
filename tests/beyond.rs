//! The experiments beyond the tutorial, on a small shape: sharing between worker processes
//! and "faults are not pages", through the real binary.

#![allow(clippy::unwrap_used)] // a test helper that fails is a failed test

use std::path::Path;

use assert_cmd::Command;
use mmap_lab::cache::CacheState;
use mmap_lab::probe::Phase;
use mmap_lab::results::Results;

const SHAPE: &str = "64x120x120x3";

fn run(root: &Path, specs: &[&str]) -> Results {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("out");
    let mut cmd = Command::cargo_bin("mmap-lab").unwrap();
    cmd.args(["run", "--shape", SHAPE]).arg("--data-dir").arg(root.join("data")).arg("--out").arg(&out);
    for spec in specs {
        cmd.arg(project.join("experiments").join(spec));
    }
    cmd.assert().success();
    Results::read(&out.join("results.json")).unwrap()
}

#[test]
fn mapped_workers_share_one_copy_loaded_workers_hold_one_each() {
    let root = tempfile::tempdir().unwrap();
    let r = run(root.path(), &["40_sharing_mapped.toml", "41_sharing_loaded.toml"]);
    let file = r.dataset.raw_bytes;
    for (kind, k) in [("mapped", 1u32), ("mapped", 2), ("loaded", 2)] {
        let s = r.step(&format!("sharing_{kind}_k{k}"), CacheState::Warm).unwrap();
        let w = s.workers.as_ref().unwrap();
        assert_eq!(w.count, k);
        assert!(w.sums_agree, "sharing_{kind}_k{k}: workers disagree");
        // Every worker read the whole array, mapped or loaded.
        for worker in &w.per_worker {
            assert!(worker.rss_bytes >= file, "{kind} k{k}: a worker holds {} of {file}", worker.rss_bytes);
        }
    }
    let mapped = r.step("sharing_mapped_k2", CacheState::Warm).unwrap().workers.clone().unwrap();
    let loaded = r.step("sharing_loaded_k2", CacheState::Warm).unwrap().workers.clone().unwrap();
    // RSS counts a shared page in every worker; PSS divides it among them.
    assert!(mapped.total_rss_bytes >= 2 * file);
    assert!(mapped.total_pss_bytes < file * 3 / 2, "mapped PSS {} vs file {file}", mapped.total_pss_bytes);
    assert!(
        loaded.total_pss_bytes >= 2 * file * 9 / 10,
        "loaded PSS {} vs file {file}",
        loaded.total_pss_bytes
    );
    // The same data gives the same sum, whichever way it was opened.
    assert_eq!(mapped.per_worker[0].sum.to_bits(), loaded.per_worker[0].sum.to_bits());
}

#[test]
fn a_copy_written_in_small_pieces_takes_more_faults_for_the_same_pass() {
    let root = tempfile::tempdir().unwrap();
    let r = run(
        root.path(),
        &["04_raw_memmap_shape.toml", "30_faults_large_writes.toml", "31_faults_small_writes.toml"],
    );
    let faults = |id: &str| {
        let s = r.step(id, CacheState::Warm).unwrap();
        let before = s.snapshot(Phase::AfterFirst).unwrap().minor_faults;
        (s.snapshot(Phase::AfterAccess).unwrap().minor_faults - before, s.sum.unwrap())
    };
    let (large, large_sum) = faults("faults_large_writes");
    let (small, small_sum) = faults("faults_small_writes");
    let (_, raw_sum) = faults("raw_memmap_shape");
    // Both copies hold the raw file's bytes: the passes read the same data.
    assert_eq!(large_sum.to_bits(), raw_sum.to_bits());
    assert_eq!(small_sum.to_bits(), raw_sum.to_bits());
    let pages = r.dataset.raw_bytes / r.machine.page_size;
    // Faults are not pages: even single pages are mapped 16 at a time (fault-around)...
    assert!(small < pages, "{small} faults for {pages} pages");
    // ...and large folios need no more faults than single pages.
    assert!(large <= small, "large pieces {large} faults, small pieces {small}");
}
