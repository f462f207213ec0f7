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
//! step finds memory as on a machine without free page reporting. What is still missing is
//! backed by [`crate::cache::back_memory`] for the copying steps, as before.
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
fn fresh_bytes_writing(plan: &StepPlan, writes_copy: bool) -> Option<Bytes> {
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

/// The files each step reads: its own, and the source of the copy written for it.
fn files_of(plan: &StepPlan) -> Vec<PathBuf> {
    let mut files = vec![plan.path.clone()];
    if let Some(source) = plan.spec.file.source_name() {
        files.push(plan.path.with_file_name(source));
    }
    files
}

/// For each plan, the data files to drop from the page cache just before it: files no plan
/// from it on reads, taken oldest last use first, until their sizes cover the fresh memory
/// the plan needs ([`fresh_bytes`]). A file is dropped once, before the first plan that
/// needs memory after its last use. A file's size is what the plans that open it say it
/// holds (their array, and the .npy header where it has one), so a copy not yet written
/// counts too.
pub fn releases(plans: &[StepPlan]) -> Vec<Vec<PathBuf>> {
    let mut last_use: HashMap<PathBuf, usize> = HashMap::new();
    let mut sizes: HashMap<PathBuf, Bytes> = HashMap::new();
    for (i, plan) in plans.iter().enumerate() {
        for file in files_of(plan) {
            last_use.insert(file, i);
        }
        let header = if plan.spec.file.has_header() { plan.npy_header_bytes } else { 0 };
        sizes.insert(plan.path.clone(), plan.dataset.shape.nbytes(plan.dataset.dtype) + header);
    }
    let size = |f: &PathBuf| sizes.get(f).copied().unwrap_or(0);
    let mut released: Vec<PathBuf> = Vec::new();
    let mut written: Vec<&PathBuf> = Vec::new();
    let mut out = vec![Vec::new(); plans.len()];
    for (i, plan) in plans.iter().enumerate() {
        let copy = plan.spec.file.rewrite_piece().is_some();
        let writes_copy = copy && (plan.spec.file.is_scratch() || !written.contains(&&plan.path));
        if copy {
            written.push(&plan.path);
        }
        let Some(mut needed) = fresh_bytes_writing(plan, writes_copy) else { continue };
        if plan.cache == crate::cache::CacheState::Cold {
            // Evicting the step's own file frees as much again, just before it.
            needed = needed.saturating_sub(size(&plan.path));
        }
        let mut behind: Vec<(&PathBuf, usize)> = last_use
            .iter()
            .filter(|(f, last)| **last < i && !released.contains(f))
            .map(|(f, last)| (f, *last))
            .collect();
        behind.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        let mut covered = 0;
        for (file, _) in behind {
            if covered >= needed {
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

#[cfg(test)]
mod tests;
