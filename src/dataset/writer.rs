//! Drawing and writing, on every core: rayon's threads take the 4 MiB blocks of the array,
//! draw each, hash it and write it at its place in both files (`pwrite`), so drawing and
//! writing overlap without any ordering between threads. Large writes let the
//! page cache build large folios (DESIGN.md: a full pass then takes ~900 faults instead of
//! ~21,000).

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use rayon::prelude::*;

use super::image::{SampleLayout, draw_elements};
use super::manifest::{BLOCK_BYTES, combine};
use super::{DatasetSpec, Files, MANIFEST_NAME, Manifest, NPY_NAME, PARTIAL_SUFFIX, RAW_NAME, free_space};
use crate::progress::Progress;
use crate::units::{Bytes, human_bytes};

/// Set to `1` to skip the free-space check, for file systems that misreport their free
/// space (some network and compressing file systems). A full disk is still caught while
/// writing, and the partial files removed.
pub const SKIP_SPACE_CHECK: &str = "MMAP_LAB_SKIP_SPACE_CHECK";

/// Free space kept beyond the two files, for the file system's own needs.
const SPACE_MARGIN: Bytes = 64 << 20;

/// The two files being written; removed on drop unless [`Partials::commit`] renamed them.
struct Partials {
    paths: Vec<(PathBuf, PathBuf)>,
    committed: bool,
}

impl Partials {
    fn new(dir: &Path, files: Files) -> Partials {
        let names: &[&str] = if files == Files::Both { &[NPY_NAME, RAW_NAME] } else { &[NPY_NAME] };
        let paths = names.iter().map(|name| (dir.join(partial_name(name)), dir.join(name))).collect();
        Partials { paths, committed: false }
    }

    fn create(&self) -> Result<Vec<File>> {
        self.paths
            .iter()
            .map(|(partial, _)| {
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(partial)
                    .with_context(|| format!("{}: cannot create", partial.display()))
            })
            .collect()
    }

    fn commit(mut self) -> Result<()> {
        for (partial, done) in &self.paths {
            std::fs::rename(partial, done)
                .with_context(|| format!("{}: cannot rename to {}", partial.display(), done.display()))?;
            // Written in 4 MiB pieces: large folios already, no need to read it again warm.
            crate::cache::keep_as_written(done);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Partials {
    fn drop(&mut self) {
        if !self.committed {
            for (partial, _) in &self.paths {
                let _ = std::fs::remove_file(partial);
            }
        }
    }
}

/// The temporary name of `name` while this process writes it: unique per writer, so that
/// two writers can never write into one file, even without the folder's lock.
pub(super) fn partial_name(name: &str) -> String {
    format!("{name}.{}{PARTIAL_SUFFIX}", std::process::id())
}

/// Whether `name` is a temporary file some generation left in the folder.
fn is_partial(name: &str) -> bool {
    name.ends_with(PARTIAL_SUFFIX) && (name.starts_with(NPY_NAME) || name.starts_with(RAW_NAME))
}

/// Removes everything a previous generation left: manifest first, so that nothing
/// is vouched for while it is replaced. Only called with the folder's lock held, so the
/// partial files it removes are no running writer's.
fn clear(dir: &Path) -> Result<()> {
    let partials: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the folder", dir.display()))?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .filter(|n| is_partial(n))
        .collect();
    for name in
        [MANIFEST_NAME.to_owned(), NPY_NAME.to_owned(), RAW_NAME.to_owned()].into_iter().chain(partials)
    {
        let path = dir.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot remove the old file", path.display()));
            }
        }
    }
    Ok(())
}

/// Bytes the files a generation replaces hold now (they are freed before writing).
fn replaced_bytes(dir: &Path) -> Bytes {
    [NPY_NAME, RAW_NAME].iter().filter_map(|n| std::fs::metadata(dir.join(n)).ok()).map(|m| m.len()).sum()
}

fn check_space(spec: &DatasetSpec, dir: &Path, files: Files) -> Result<()> {
    if std::env::var_os(SKIP_SPACE_CHECK).is_some_and(|v| v == "1") {
        return Ok(());
    }
    let header = spec.npy_header().len() as Bytes;
    let copies = if files == Files::Both { 2 } else { 1 };
    let need = spec.data_bytes().saturating_mul(copies).saturating_add(header);
    let free = free_space(dir)?.saturating_add(replaced_bytes(dir));
    if free < need.saturating_add(SPACE_MARGIN) {
        return Err(crate::error::input(format!(
            "not enough free space in {}: shape {} of {} needs {} ({} for {NPY_NAME}{}) plus {} to spare, the disk has {} free (counting the old data files, which are kept); free some space, choose another --data-dir or a smaller --shape",
            dir.display(),
            spec.shape,
            spec.dtype,
            human_bytes(need),
            human_bytes(spec.data_bytes() + header),
            if copies == 2 {
                format!(" and {} for {RAW_NAME}", human_bytes(spec.data_bytes()))
            } else {
                String::new()
            },
            human_bytes(SPACE_MARGIN),
            human_bytes(free)
        )));
    }
    Ok(())
}

/// What block `k` draws and writes. Both files are written in pieces aligned to
/// [`BLOCK_BYTES`] in the file, so that no two writes share a page and the page cache can
/// build large folios: the raw file's block `k` is data `[k·B, (k+1)·B)`, the .npy's is
/// file `[k·B, (k+1)·B)`, that is data `[k·B - header, (k+1)·B - header)`. One drawing
/// covers both (`B + header` bytes, the header's worth of data drawn twice).
#[derive(Debug, Clone, PartialEq, Eq)]
struct BlockPieces {
    /// Data bytes drawn.
    drawn: std::ops::Range<u64>,
    /// Data bytes of the raw file's block, if the raw file has one.
    raw: Option<std::ops::Range<u64>>,
    /// Data bytes of the .npy's block, if any.
    npy: Option<std::ops::Range<u64>>,
}

impl BlockPieces {
    fn new(k: u64, total: u64, header: u64) -> BlockPieces {
        let clip = |a: u64, b: u64| (a < b).then_some(a..b);
        let raw = clip(k * BLOCK_BYTES, ((k + 1) * BLOCK_BYTES).min(total));
        let npy = clip(
            (k * BLOCK_BYTES).saturating_sub(header),
            ((k + 1) * BLOCK_BYTES).saturating_sub(header).min(total),
        );
        let start = [&raw, &npy].iter().filter_map(|r| r.as_ref().map(|r| r.start)).min().unwrap_or(0);
        let end = [&raw, &npy].iter().filter_map(|r| r.as_ref().map(|r| r.end)).max().unwrap_or(0);
        BlockPieces { drawn: start..end, raw, npy }
    }

    /// For file `f` (0: the .npy, 1: raw): the data range to write and where in the file.
    fn write(&self, f: usize, header: u64) -> Option<(std::ops::Range<u64>, u64)> {
        if f == 0 {
            self.npy.clone().map(|r| (r.clone(), r.start + header))
        } else {
            self.raw.clone().map(|r| (r.clone(), r.start))
        }
    }
}

/// Writes both files of `spec` into `dir` and returns their manifest.
pub(super) fn generate(
    spec: &DatasetSpec,
    dir: &Path,
    files: Files,
    progress: &dyn Progress,
) -> Result<Manifest> {
    let started = Instant::now();
    // Every check that can refuse comes first: the old data survives a refusal.
    check_space(spec, dir, files)?;
    clear(dir)?;
    let partials = Partials::new(dir, files);
    let handles = partials.create()?;
    let header = spec.npy_header();
    handles[0].write_all_at(&header, 0).map_err(|e| write_error(e, &partials.paths[0].0, &partials.paths))?;
    let checksum = write_blocks(spec, &handles, header.len() as u64, &partials.paths, progress)?;
    for (file, (path, _)) in handles.iter().zip(&partials.paths) {
        let len = file.metadata().with_context(|| format!("{}: cannot read its size", path.display()))?.len();
        let want = if path.ends_with(partial_name(NPY_NAME)) {
            spec.data_bytes() + header.len() as u64
        } else {
            spec.data_bytes()
        };
        if len != want {
            return Err(anyhow!("{}: {len} bytes written, {want} expected", path.display()));
        }
    }
    drop(handles);
    partials.commit()?;
    let manifest = Manifest::new(spec, dir, files, checksum, started.elapsed().as_nanos() as u64)?;
    manifest.write(dir)?;
    Ok(manifest)
}

/// Draws every block of the array on all cores (rayon's pool) and writes each at its place
/// in both files (`files[0]` after a header of `header_len` bytes). Returns the data's
/// checksum; the first error (a write, or Ctrl-C) stops the other blocks.
fn write_blocks(
    spec: &DatasetSpec,
    files: &[File],
    header_len: u64,
    paths: &[(PathBuf, PathBuf)],
    progress: &dyn Progress,
) -> Result<u64> {
    let layout = SampleLayout::of(&spec.shape);
    let total = spec.data_bytes();
    let blocks = total.div_ceil(BLOCK_BYTES).max((total + header_len).div_ceil(BLOCK_BYTES));
    let item = spec.dtype.itemsize();
    progress.start("generate", total);
    let digests = (0..blocks)
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(buf, scratch), block| -> Result<Option<u64>> {
                if crate::interrupt::interrupted() {
                    return Err(anyhow!("interrupted: the partial files are removed"));
                }
                let pieces = BlockPieces::new(block, total, header_len);
                buf.resize((pieces.drawn.end - pieces.drawn.start) as usize, 0);
                draw_elements(spec.seed, layout, spec.dtype, pieces.drawn.start / item, buf, scratch);
                let slice = |data: &std::ops::Range<u64>| {
                    &buf[(data.start - pieces.drawn.start) as usize..(data.end - pieces.drawn.start) as usize]
                };
                // Threads take the files in opposite orders, so they seldom wait on one
                // file's lock at the same time.
                let mut order = [0, 1];
                if rayon::current_thread_index().is_some_and(|t| t % 2 == 1) {
                    order.reverse();
                }
                for f in order.into_iter().filter(|&f| f < files.len()) {
                    let Some((data, at)) = pieces.write(f, header_len) else { continue };
                    files[f]
                        .write_all_at(slice(&data), at)
                        .map_err(|e| write_error(e, &paths[f].0, paths))?;
                }
                Ok(pieces.raw.as_ref().map(|raw| {
                    progress.advance(raw.end - raw.start);
                    xxhash_rust::xxh3::xxh3_64(slice(raw))
                }))
            },
        )
        .collect::<Result<Vec<Option<u64>>>>();
    progress.finish();
    Ok(combine(&digests?.into_iter().flatten().collect::<Vec<u64>>()))
}

fn write_error(error: std::io::Error, path: &Path, all: &[(PathBuf, PathBuf)]) -> anyhow::Error {
    if error.kind() == ErrorKind::StorageFull {
        let names: Vec<String> = all.iter().map(|(p, _)| p.display().to_string()).collect();
        anyhow!(
            "{}: the disk is full ({error}); the partial files ({}) are removed; free some space or choose another --data-dir",
            path.display(),
            names.join(", ")
        )
    } else {
        anyhow::Error::new(error).context(format!("{}: write failed", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_both_files_exactly_once() {
        for (total, header) in
            [(3 * BLOCK_BYTES, 128), (3 * BLOCK_BYTES + 1000, 128), (BLOCK_BYTES - 100, 128), (40, 128)]
        {
            let blocks = total.div_ceil(BLOCK_BYTES).max((total + header).div_ceil(BLOCK_BYTES));
            let (mut raw_next, mut npy_next) = (0, 0);
            for k in 0..blocks {
                let p = BlockPieces::new(k, total, header);
                if let Some(r) = &p.raw {
                    assert_eq!(r.start, raw_next);
                    raw_next = r.end;
                    assert_eq!(r.start % BLOCK_BYTES, 0, "raw writes start on block edges");
                }
                if let Some((r, at)) = p.write(0, header) {
                    assert_eq!(r.start, npy_next);
                    npy_next = r.end;
                    assert!(
                        at % BLOCK_BYTES == 0 || at == header,
                        ".npy writes start on block edges in the file"
                    );
                }
                assert!(p.drawn.end - p.drawn.start <= BLOCK_BYTES + header);
            }
            assert_eq!((raw_next, npy_next), (total, total));
        }
    }
}
