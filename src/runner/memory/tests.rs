#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::*;
use crate::cache::CacheState;
use crate::spec::FileKind;

/// The run-all plans of the project's experiments, over a small dataset.
fn run_all_plans() -> Vec<StepPlan> {
    crate::runner::tests::plans(2).0
}

fn name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

#[test]
fn no_file_is_dropped_before_a_step_that_still_reads_it_warm() {
    let plans = run_all_plans();
    let mut dropped = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        for file in &plan.release_before {
            assert!(fresh_bytes(plan).is_some(), "{} drops {} but needs no memory", plan.spec.id, name(file));
            assert!(!dropped.contains(file), "{} dropped twice", name(file));
            dropped.push(file.clone());
            // A cold step evicts its file before each side: dropping it first changes nothing.
            for later in plans[i..].iter().filter(|p| p.cache == CacheState::Warm) {
                assert!(
                    !files_of(later).contains(file),
                    "{} is dropped before {} but {}[{}] reads it",
                    name(file),
                    plan.spec.id,
                    later.spec.id,
                    later.cache.name()
                );
            }
        }
    }
    // A cold step's own eviction frees as much as it copies: the cold steps drop nothing.
    for plan in plans.iter().filter(|p| p.cache == CacheState::Cold) {
        assert!(plan.release_before.is_empty(), "{}[cold] drops {:?}", plan.spec.id, plan.release_before);
    }
}

#[test]
fn the_raw_file_goes_before_the_warm_load_and_the_fault_copies_before_the_loading_workers() {
    let plans = run_all_plans();
    let before = |id: &str, workers: Option<u32>| {
        let plan = plans
            .iter()
            .find(|p| p.spec.id == id && p.cache == CacheState::Warm && p.workers == workers)
            .unwrap();
        plan.release_before.iter().map(|f| name(f).to_owned()).collect::<Vec<_>>()
    };
    // The tutorial's raw steps come before np.load; the fault copies are taken from the .npy.
    assert_eq!(before("npy_load", None), [FileKind::Raw.file_name()]);
    // The loading workers run after the warm steps and need two arrays where the reserve holds
    // one (np.load's): it grows by one array, into the files no warm step reads again, a fault
    // copy first, and the formats files the cold steps read after them.
    let loading = before("sharing_loaded", Some(2));
    let copies = [FileKind::RawLargeWrites.file_name(), FileKind::RawSmallWrites.file_name()];
    assert!(loading.first().is_some_and(|f| copies.contains(&f.as_str())), "{loading:?}");
    let workers = plans.iter().find(|p| p.spec.id == "sharing_loaded" && p.workers == Some(2)).unwrap();
    let dropped: Bytes = workers
        .release_before
        .iter()
        .map(|f| plans.iter().find(|p| &p.path == f).map_or(0, file_bytes))
        .sum();
    let array = workers.dataset.shape.nbytes(workers.dataset.dtype);
    assert!(dropped >= array, "{dropped} bytes dropped for a growth of {array}");
    // What the reserve already holds is not dropped for again: no file before the cold load.
    assert!(before_cold(&plans, "npy_load").is_empty());
    // A step that only maps its file needs no memory and drops nothing.
    assert!(before("npy_load_mmap", None).is_empty());
    assert_eq!(fresh_bytes(plans.iter().find(|p| p.spec.id == "npy_load_mmap").unwrap()), None);
}

fn before_cold(plans: &[StepPlan], id: &str) -> Vec<PathBuf> {
    plans.iter().find(|p| p.spec.id == id && p.cache == CacheState::Cold).unwrap().release_before.clone()
}

#[test]
fn fresh_memory_counts_loading_workers_copies_and_written_copies() {
    let plans = run_all_plans();
    let find = |id: &str, workers: Option<u32>| {
        plans.iter().find(|p| p.spec.id == id && p.cache == CacheState::Warm && p.workers == workers).unwrap()
    };
    let array = |p: &StepPlan| p.dataset.shape.nbytes(p.dataset.dtype);
    let load = find("npy_load", None);
    assert_eq!(fresh_bytes(load), Some(array(load)));
    let workers = find("sharing_loaded", Some(2));
    assert_eq!(fresh_bytes(workers), Some(2 * array(workers)));
    assert_eq!(fresh_bytes(find("sharing_mapped", Some(2))), None, "mapping workers share the page cache");
    // faults_no_huge_pages reads the copy faults_large_writes wrote: it writes none.
    let reread = plans.iter().position(|p| p.spec.id == "faults_no_huge_pages").unwrap();
    assert!(plans[reread].release_before.is_empty(), "{:?}", plans[reread].release_before);
    let copy = find("faults_small_writes", None);
    assert_eq!(fresh_bytes(copy), Some(array(copy)), "the copy written for the step");
    let loading = plans.iter().find(|p| p.spec.id == "sharing_loaded").unwrap();
    assert_eq!(loading.workers, Some(2), "the loading workers first");
    assert_eq!(fresh_bytes(loading), Some(2 * array(loading)));
}

#[test]
fn releasing_drops_a_files_pages_and_counts_them_and_skips_a_missing_one() {
    // In the project's folder, on the disk it was cloned to (a temporary folder may be tmpfs,
    // whose pages cannot be dropped).
    let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, vec![7u8; 1 << 20]).unwrap();
    crate::cache::warm(&file).unwrap();
    let resident = crate::cache::resident(&file).unwrap();
    assert!(resident > 0, "warmed, the file is in the page cache");
    let freed = release(&[file.clone(), dir.path().join("missing.bin")]);
    assert_eq!(freed, resident, "the file's pages counted, the missing file skipped");
    let fs = crate::machine::Machine::detect(dir.path()).filesystem;
    if matches!(fs.as_deref(), Some("tmpfs" | "ramfs")) {
        assert!(std::env::var("CI").is_err(), "CI clones the project to a disk, found {fs:?}");
        eprintln!("skipped: the project folder is on {fs:?}, which cannot drop a file's pages");
    } else {
        assert_eq!(crate::cache::resident(&file).unwrap(), 0, "dropped from the page cache");
    }
    assert_eq!(std::fs::read(&file).unwrap(), vec![7u8; 1 << 20], "dropping never changes the data");
}

#[test]
fn restoring_reads_back_the_dropped_dataset_files_but_not_the_runs_own_copies() {
    let plans = run_all_plans();
    let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
    let (data, copy) = (dir.path().join("data.bin"), dir.path().join("copy.bin"));
    for file in [&data, &copy] {
        std::fs::write(file, vec![3u8; 1 << 20]).unwrap();
        crate::cache::evict(file).unwrap();
    }
    let mut load = plans.iter().find(|p| p.spec.id == "npy_load").unwrap().clone();
    load.release_before = vec![data.clone(), copy.clone(), dir.path().join("missing.bin")];
    let mut writes = plans.iter().find(|p| p.spec.file.rewrite_piece().is_some()).unwrap().clone();
    writes.path = copy.clone();
    assert_eq!(
        restore(&[load, writes]),
        1 << 20,
        "the data file only: the copy is written again, the missing file skipped"
    );
    let fs = crate::machine::Machine::detect(dir.path()).filesystem;
    if matches!(fs.as_deref(), Some("tmpfs" | "ramfs")) {
        assert!(std::env::var("CI").is_err(), "CI clones the project to a disk, found {fs:?}");
        eprintln!("skipped the residency checks: the project folder is on {fs:?}");
        return;
    }
    assert_eq!(crate::cache::resident(&data).unwrap(), 1 << 20, "read back whole");
    assert_eq!(crate::cache::resident(&copy).unwrap(), 0, "left out");
}

#[test]
fn a_file_only_cold_steps_read_again_goes_for_the_loading_workers() {
    let mut plans = run_all_plans();
    plans.retain(|p| {
        matches!(p.spec.id.as_str(), "npy_load" | "formats_safetensors" | "sharing_loaded")
            && p.workers != Some(1)
            && !(p.spec.id == "npy_load" && p.cache == CacheState::Cold)
    });
    let at = plans.iter().position(|p| p.workers == Some(2)).unwrap();
    let safetensors = plans.iter().find(|p| p.spec.id == "formats_safetensors").unwrap().path.clone();
    assert!(
        plans[at..].iter().any(|p| p.cache == CacheState::Cold && p.path == safetensors),
        "the cold safetensors step runs after the workers"
    );
    assert_eq!(releases(&plans)[at], [safetensors], "each cold side evicts it anyway");
}
