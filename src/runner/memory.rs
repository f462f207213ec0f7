//! Memory for the steps that need fresh memory: the page cache of the run's data files that
//! no later step reads, dropped just before.
//!
//! On a virtual machine whose guest hands free memory back to its host (virtio-balloon free
//! page reporting, as on the project's VMs), memory left free for a couple of seconds must be
//! backed by the host again before a process can use it: measured here, 2-3 s per GB touched
//! for the first time since, against 0.2-0.5 s per GB when a process freed it just before.
//! A step that copies the array into memory of its own (`load`, the copying formats), a
//! sharing step whose workers each load it, and a scratch copy being written all need such
//! memory. The page cache of a data file the rest of the run does not read (the raw file
//! after the tutorial's raw steps, the fault steps' copies after their steps) is backed
//! memory that stays in use for nothing: the runner drops it just before such a step, and the
//! step finds memory as on a machine without free page reporting. The run's memory reserve
//! ([`crate::cache::MemoryReserve`]) takes that memory, touches what is still missing, lends
//! it to each such step and holds it between them, so that it is never left free long
//! enough to be handed back.
//!
//! The next run reads each file it needs again anyway (its first warm preparation fills every
//! file whole), so nothing a later run measures changes.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::spec::Method;
use crate::step::StepPlan;
use crate::units::Bytes;

/// The fresh memory `plan` needs before or while it runs: the array each loading side or
/// worker copies into memory (`load`, sharing workers that load), the copying formats' array,
/// and the page cache of a copy written just before it. `None` for a plain mapping step.
pub fn fresh_bytes(plan: &StepPlan) -> Option<Bytes> {
    fresh_bytes_writing(plan, plan.spec.file.rewrite_piece().is_some())
}

/// [`fresh_bytes`], saying whether the step writes its copy (a read-only copy an earlier
/// step of the run wrote is read as it stands, [`crate::cache::still_as_written`]).
pub fn fresh_bytes_writing(plan: &StepPlan, writes_copy: bool) -> Option<Bytes> {
    let array = plan.dataset.shape.nbytes(plan.dataset.dtype);
    let copying = super::copied_bytes(plan).unwrap_or(0);
    let loading_workers = match (plan.workers, plan.spec.open.method) {
        (Some(k), Method::Load) => array.saturating_mul(u64::from(k)),
        _ => 0,
    };
    let copy_written = if writes_copy { array } else { 0 };
    let bytes = copying.max(loading_workers).saturating_add(copy_written);
    (bytes > 0).then_some(bytes)
}

/// What the plans that open `plan`'s file say it holds: its array, and the .npy header
/// where it has one (a copy not yet written counts too).
fn file_bytes(plan: &StepPlan) -> Bytes {
    let header = if plan.spec.file.has_header() { plan.npy_header_bytes } else { 0 };
    plan.dataset.shape.nbytes(plan.dataset.dtype) + header
}

/// The files each step reads: its own, and the source of the copy written for it.
fn files_of(plan: &StepPlan) -> Vec<PathBuf> {
    let mut files = vec![plan.path.clone()];
    if let Some(source) = plan.spec.file.source_name() {
        files.push(plan.path.with_file_name(source));
    }
    files
}

/// For each plan, the data files to drop from the page cache just before it, when it needs more
/// fresh memory ([`fresh_bytes`]) than the run's reserve holds by then
/// ([`crate::cache::MemoryReserve`]: it grows to the most any step before needed, and never
/// shrinks): files no warm plan from it on reads (a cold plan evicts its file anyway), taken
/// oldest last warm use first, until their sizes cover what the reserve must grow by. A file is
/// dropped once. A file's size is what the plans that open it say it holds (their array, and
/// the .npy header where it has one), so a copy not yet written counts too. A cold step's own
/// eviction frees the page cache its reads fill, so only its fresh memory counts.
pub fn releases(plans: &[StepPlan]) -> Vec<Vec<PathBuf>> {
    // The last plan that reads each file warm (a file only cold plans read counts as used
    // at its first: it can go from then on).
    let mut last_use: HashMap<PathBuf, usize> = HashMap::new();
    let mut sizes: HashMap<PathBuf, Bytes> = HashMap::new();
    for (i, plan) in plans.iter().enumerate() {
        for file in files_of(plan) {
            if plan.cache == crate::cache::CacheState::Warm || !last_use.contains_key(&file) {
                last_use.insert(file, i);
            }
        }
        sizes.insert(plan.path.clone(), file_bytes(plan));
    }
    let size = |f: &PathBuf| sizes.get(f).copied().unwrap_or(0);
    let mut released: Vec<PathBuf> = Vec::new();
    let mut written: Vec<&PathBuf> = Vec::new();
    let mut held: Bytes = 0;
    let mut out = vec![Vec::new(); plans.len()];
    for (i, plan) in plans.iter().enumerate() {
        let copy = plan.spec.file.rewrite_piece().is_some();
        let writes_copy = copy && (plan.spec.file.is_scratch() || !written.contains(&&plan.path));
        if copy {
            written.push(&plan.path);
        }
        let Some(needed) = fresh_bytes_writing(plan, writes_copy) else { continue };
        let growth = needed.saturating_sub(held);
        held = held.max(needed);
        let mut behind: Vec<(&PathBuf, usize)> = last_use
            .iter()
            .filter(|(f, last)| **last < i && !released.contains(f))
            .map(|(f, last)| (f, *last))
            .collect();
        behind.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        let mut covered = 0;
        for (file, _) in behind {
            if covered >= growth {
                break;
            }
            covered += size(file);
            released.push(file.clone());
            out[i].push(file.clone());
        }
    }
    out
}

/// Drops `files` from the page cache ([`crate::cache::evict`]) and returns the bytes they
/// held there. A file gone or unreadable is skipped: dropping is only a help.
pub fn release(files: &[PathBuf]) -> Bytes {
    let mut freed = 0;
    for file in files {
        let Ok(resident) = crate::cache::resident(file) else { continue };
        if resident > 0 && crate::cache::evict(file).is_ok() {
            freed += resident;
        }
    }
    freed
}

/// Reads back into the page cache the files dropped before `plans` ([`releases`]) that
/// the run did not write itself (the dataset's files, not the fault steps' copies), and
/// returns their bytes: run just after the run's memory reserve ended, it puts them in
/// memory freed a moment before, and the next run finds the page cache as this one did. A
/// file gone or unreadable is skipped: restoring is only a help.
pub fn restore(plans: &[StepPlan]) -> Bytes {
    let written: Vec<&PathBuf> =
        plans.iter().filter(|p| p.spec.file.rewrite_piece().is_some()).map(|p| &p.path).collect();
    let mut restored = 0;
    for file in plans.iter().flat_map(|p| &p.release_before) {
        if written.contains(&file) {
            continue;
        }
        if crate::cache::warm(file).is_ok() {
            restored += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        }
    }
    restored
}

#[cfg(test)]
mod tests;
