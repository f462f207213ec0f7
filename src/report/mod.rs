//! The report: results in, files out. Each output is one short module behind [`Output`],
//! which turns results into bytes and does no I/O; [`write`] does all the writing, into a
//! folder beside the target that replaces it only when every file is complete.

pub mod claims;
mod csv;
mod json;
pub mod limits;
mod markdown;
pub mod peers;
pub mod plots;
pub mod sentences;
pub mod view;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::results::Results;

/// Marks a folder as an mmap-lab report, so that it may be replaced as a whole.
pub const MARKER: &str = ".mmap-lab-report";

/// One file of the report.
pub trait Output {
    /// Its name inside the report folder.
    fn file_name(&self) -> String;
    /// Its bytes, from the results of one or more runs.
    fn render(&self, runs: &[Results]) -> Result<Vec<u8>>;
}

/// Every output of a report over `runs`.
pub fn outputs(runs: &[Results]) -> Vec<Box<dyn Output>> {
    let mut all: Vec<Box<dyn Output>> = Vec::new();
    for index in 0..runs.len() {
        all.push(Box::new(json::Json { index, single: runs.len() == 1 }));
    }
    all.push(Box::new(markdown::Markdown));
    all.push(Box::new(self::csv::StepsCsv));
    all.push(Box::new(self::csv::SnapshotsCsv));
    for plot in plots::available(runs) {
        all.push(Box::new(plots::PlotOutput(plot)));
    }
    all.push(Box::new(peers::PeersCsv));
    all
}

/// Renders every output and replaces `out` with the new report in one step.
///
/// The files are written into a fresh sibling folder first; only when all are complete
/// does it take `out`'s place (an atomic exchange where the kernel offers one). An
/// interrupted or failed report leaves the previous one untouched. `out` must be new,
/// empty, or an earlier mmap-lab report: any other folder is refused, never replaced.
pub fn write(runs: &[Results], out: &Path) -> Result<Vec<PathBuf>> {
    write_keeping(runs, out, None)
}

/// [`write`], keeping the results when the report cannot be completed: the outputs are
/// written results first (`results.json` before any drawing), and if any later one fails
/// (a full disk, a plot that cannot be drawn) the folder with what was written is kept as
/// `keep` and the error says so. The previous report is untouched either way.
pub fn write_keeping(runs: &[Results], out: &Path, keep: Option<&Path>) -> Result<Vec<PathBuf>> {
    check_replaceable(out)?;
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let staging =
        tempfile::Builder::new().prefix(".mmap-lab-report-").tempdir_in(parent).with_context(|| {
            format!("--out {}: cannot create a folder beside it to write the report in", out.display())
        })?;
    let written = match write_outputs(runs, staging.path(), out) {
        Ok(written) => written,
        Err(error) => {
            let Some(keep) = keep else { return Err(error) };
            let _ = std::fs::remove_dir_all(keep);
            if staging.path().join("results.json").is_file() && std::fs::rename(staging.path(), keep).is_ok()
            {
                let _ = staging.keep();
                return Err(error.context(format!(
                    "the report in {} was not replaced; the results are kept in {}: redraw them with `mmap-lab report --results {} --out {}` once the problem is fixed",
                    out.display(),
                    keep.join("results.json").display(),
                    keep.join("results.json").display(),
                    out.display()
                )));
            }
            return Err(error);
        }
    };
    replace_dir(staging.keep(), out)?;
    Ok(written)
}

/// Renders and writes every output into `staging`; messages name `out`, the folder the
/// files are for.
fn write_outputs(runs: &[Results], staging: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for output in outputs(runs) {
        let name = output.file_name();
        let bytes = output.render(runs).with_context(|| format!("rendering {name}"))?;
        std::fs::write(staging.join(&name), bytes)
            .with_context(|| format!("--out {}: cannot write {name}", out.display()))?;
        written.push(out.join(name));
    }
    std::fs::write(staging.join(MARKER), b"written by mmap-lab; this folder is replaced as a whole\n")
        .with_context(|| format!("--out {}: cannot write {MARKER}", out.display()))?;
    Ok(written)
}

/// Refuses to replace a folder that holds anything but an mmap-lab report.
pub fn check_replaceable(out: &Path) -> Result<()> {
    match std::fs::metadata(out) {
        Err(_) => {
            // Created with its parents now, so that a bad path fails before any measuring.
            crate::error::writable_dir(out, "--out")
        }
        Ok(meta) if !meta.is_dir() => Err(crate::error::input(format!(
            "--out {}: this is a file, not a folder; give a folder for the report",
            out.display()
        ))),
        Ok(_) => {
            writable_in(out)?;
            let mut entries = std::fs::read_dir(out)
                .map_err(|e| {
                    crate::error::input(format!("--out {}: cannot read the folder: {e}", out.display()))
                })?
                .filter(|e| e.as_ref().map_or(true, |e| e.file_name() != crate::fsio::LOCK_NAME));
            if entries.next().is_none() || out.join(MARKER).exists() || out.join("results.json").exists() {
                Ok(())
            } else {
                Err(crate::error::input(format!(
                    "--out {}: the folder holds files that are not an mmap-lab report; the report replaces its folder as a whole, so give a new or empty folder",
                    out.display()
                )))
            }
        }
    }
}

/// Refuses, before anything is measured, an existing report folder that cannot be
/// replaced: the report is written beside it (its parent must be writable) and its old
/// files are removed (it must be writable itself).
fn writable_in(out: &Path) -> Result<()> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for (dir, role) in [(out, "the folder"), (parent, "the folder it is in")] {
        tempfile::tempfile_in(dir).map_err(|e| {
            crate::error::input(format!(
                "--out {}: cannot write in {role} ({}): {e}; give a folder you can write in",
                out.display(),
                dir.display()
            ))
        })?;
    }
    Ok(())
}

/// Puts `staging` in `out`'s place: exchanged atomically if `out` exists, then the old
/// report is removed.
fn replace_dir(staging: PathBuf, out: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    if !out.exists() {
        return std::fs::rename(&staging, out)
            .with_context(|| format!("{}: cannot move the report into place", out.display()));
    }
    let from = std::ffi::CString::new(staging.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(out.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them like rename(2).
    let rc = unsafe {
        libc::renameat2(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::RENAME_EXCHANGE)
    };
    if rc == 0 {
        // `staging` now holds the old report.
        return std::fs::remove_dir_all(&staging)
            .with_context(|| format!("{}: cannot remove the previous report", staging.display()));
    }
    // No atomic exchange on this file system: move the old one aside, then the new one in.
    let old = staging.with_extension("old");
    std::fs::rename(out, &old)
        .with_context(|| format!("{}: cannot move the previous report aside", out.display()))?;
    std::fs::rename(&staging, out)
        .with_context(|| format!("{}: cannot move the report into place", out.display()))?;
    std::fs::remove_dir_all(&old)
        .with_context(|| format!("{}: cannot remove the previous report", old.display()))
}

#[cfg(test)]
mod tests;
