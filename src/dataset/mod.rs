//! The tutorial's training array on disk, twice: `X_train.npy` (what `np.save` writes) and
//! `X_train_raw.rbf` (what `X.tofile` writes), with a manifest that lets a later run reuse
//! them.
//!
//! Generation streams chunks of a few MiB from drawing threads to one writer, never holding
//! the array whole; both files are written under `.<pid>.partial` names and renamed when
//! complete, and the manifest is written last. One writer at a time holds the folder's lock
//! ([`lock`]); every check that can refuse runs before an old file is removed. A file without a manifest that vouches for it, of the
//! wrong size, or whose checksum differs, is never taken for data: it is regenerated.

pub mod image;
mod manifest;
mod verify;
mod writer;

pub use self::writer::SKIP_SPACE_CHECK;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use self::manifest::{FileEntry, Manifest, checksum_of_bytes};
use crate::dtype::Dtype;
use crate::progress::{Progress, Quiet};
use crate::shape::Shape;
use crate::units::Bytes;

/// The tutorial's .npy file name.
pub const NPY_NAME: &str = "X_train.npy";
/// The tutorial's raw file name (`X.tofile("X_train_raw.rbf")`).
pub const RAW_NAME: &str = "X_train_raw.rbf";
/// The manifest that vouches for both files.
pub const MANIFEST_NAME: &str = "manifest.json";
/// Suffix of files being written.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Which files to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Files {
    /// `X_train.npy` and `X_train_raw.rbf`, as the tutorial.
    #[default]
    Both,
    /// `X_train.npy` only (half the disk, for arrays larger than memory).
    NpyOnly,
}

/// What to generate: shape, element type and seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Shape of the array.
    pub shape: Shape,
    /// Element type: float64, float32 or uint8.
    pub dtype: Dtype,
    /// Seed of the pictures: the same seed gives the same bytes on every machine.
    pub seed: u64,
}

impl DatasetSpec {
    /// The dtypes `generate` writes.
    pub const DTYPES: [Dtype; 3] = [Dtype::F8, Dtype::F4, Dtype::U1];

    /// Bytes of array data.
    pub fn data_bytes(&self) -> Bytes {
        self.shape.nbytes(self.dtype)
    }

    /// The .npy header for this array.
    pub fn npy_header(&self) -> Vec<u8> {
        crate::npy::header_bytes(&self.shape, self.dtype)
    }
}

/// A generated dataset on disk, vouched for by its manifest.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Folder holding the files.
    pub dir: PathBuf,
    /// What it holds.
    pub manifest: Manifest,
}

impl Dataset {
    /// Path of `X_train.npy`.
    pub fn npy_path(&self) -> PathBuf {
        self.dir.join(NPY_NAME)
    }

    /// Path of `X_train_raw.rbf`.
    pub fn raw_path(&self) -> PathBuf {
        self.dir.join(RAW_NAME)
    }

    /// Shape, dtype and seed.
    pub fn spec(&self) -> DatasetSpec {
        self.manifest.spec()
    }
}

/// How [`ensure`] got its dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Valid files were already there.
    Reused,
    /// The files were (re)generated, for the reason given.
    Generated {
        /// Why the existing files could not be used.
        reason: String,
        /// Wall time of the generation.
        elapsed: Duration,
    },
}

/// Returns a valid dataset for `spec` in `dir`: the existing one if its manifest vouches
/// for it, a freshly generated one otherwise (quietly: [`ensure_held`] reports progress).
pub fn ensure(spec: &DatasetSpec, dir: &Path) -> Result<(Dataset, Provenance)> {
    ensure_files(spec, dir, Files::Both)
}

/// Checks that `dir` is a folder mmap-lab can write in (creating it) and takes its lock:
/// one writer per data folder. Hold it while the data is used, so that no other mmap-lab
/// replaces the files under a measurement.
pub fn lock(dir: &Path) -> Result<crate::fsio::FolderLock> {
    crate::error::writable_dir(dir, "--data-dir")?;
    crate::fsio::FolderLock::acquire(dir, "--data-dir")
}

/// [`ensure`] for a choice of files.
pub fn ensure_files(spec: &DatasetSpec, dir: &Path, files: Files) -> Result<(Dataset, Provenance)> {
    let held = lock(dir)?;
    ensure_held(spec, dir, files, &held, &Quiet)
}

/// [`ensure_files`] with the folder's lock already held by the caller; a generation
/// reports to `progress`.
pub fn ensure_held(
    spec: &DatasetSpec,
    dir: &Path,
    files: Files,
    held: &crate::fsio::FolderLock,
    progress: &dyn Progress,
) -> Result<(Dataset, Provenance)> {
    match verify::validate(spec, dir, files)? {
        Ok(manifest) => Ok((Dataset { dir: dir.to_owned(), manifest }, Provenance::Reused)),
        Err(reason) => {
            let started = Instant::now();
            let dataset = regenerate_held(spec, dir, files, held, progress)?;
            Ok((dataset, Provenance::Generated { reason, elapsed: started.elapsed() }))
        }
    }
}

/// Generates the dataset even if a valid one exists (quietly).
pub fn regenerate(spec: &DatasetSpec, dir: &Path) -> Result<Dataset> {
    let held = lock(dir)?;
    regenerate_held(spec, dir, Files::Both, &held, &Quiet)
}

/// [`regenerate`] for a choice of files, with the folder's lock already held by the
/// caller; reports to `progress`.
pub fn regenerate_held(
    spec: &DatasetSpec,
    dir: &Path,
    files: Files,
    _held: &crate::fsio::FolderLock,
    progress: &dyn Progress,
) -> Result<Dataset> {
    let manifest = writer::generate(spec, dir, files, progress)
        .with_context(|| format!("generating {} of {} in {}", spec.shape, spec.dtype, dir.display()))?;
    Ok(Dataset { dir: dir.to_owned(), manifest })
}

/// The dataset in `dir` if its manifest vouches for it, or why not.
pub fn open_existing(dir: &Path) -> Result<std::result::Result<Dataset, String>> {
    let Some(manifest) = manifest::read(dir)? else {
        return Ok(Err(format!("no {MANIFEST_NAME} in {}", dir.display())));
    };
    let spec = manifest.spec();
    let files = if manifest.raw.is_some() { Files::Both } else { Files::NpyOnly };
    Ok(verify::validate(&spec, dir, files)?.map(|manifest| Dataset { dir: dir.to_owned(), manifest }))
}

/// Writes a copy of `source`, past its first `skip` bytes (a .npy header) and up to `len`
/// bytes of it (all when `None`), to `target` in pieces of `piece` bytes, under a `.partial`
/// name renamed when complete and on the disk. The old target is removed first, so that the
/// copy's pages in the page cache are exactly those its writes created: single pages for
/// 4 KiB pieces, large folios for pieces of MiBs (the "faults are not pages" experiment).
pub fn write_copy(source: &Path, target: &Path, piece: usize, skip: Bytes, len: Option<Bytes>) -> Result<()> {
    use std::io::{Read, Seek, Write};
    let piece = piece.max(1);
    let _ = std::fs::remove_file(target);
    let partial = target.with_extension(format!(
        "{}.{}{PARTIAL_SUFFIX}",
        target.extension().map_or(String::new(), |e| e.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let mut input =
            std::fs::File::open(source).with_context(|| format!("{}: cannot open", source.display()))?;
        input
            .seek(std::io::SeekFrom::Start(skip))
            .with_context(|| format!("{}: cannot seek past its first {skip} bytes", source.display()))?;
        let mut output = std::fs::File::create(&partial)
            .with_context(|| format!("{}: cannot create", partial.display()))?;
        let mut buf = vec![0u8; piece.max(4 << 20)];
        let mut left = len.unwrap_or(Bytes::MAX);
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n =
                input.read(&mut buf[..want]).with_context(|| format!("{}: cannot read", source.display()))?;
            if n == 0 {
                if len.is_some() {
                    anyhow::bail!("{}: ended {left} bytes short of the copy asked for", source.display());
                }
                break;
            }
            left -= n as Bytes;
            for chunk in buf[..n].chunks(piece) {
                output.write_all(chunk).with_context(|| format!("{}: write failed", partial.display()))?;
            }
        }
        // On the disk before it takes its name, and its writeback over before a step reads
        // it: in one full-size run of seven, three of the four passes over the large-writes
        // copy took 11.7-14.8 ms, against 4.7-9.1 ms in the six others.
        output.sync_data().with_context(|| format!("{}: cannot write it to the disk", partial.display()))?;
        std::fs::rename(&partial, target)
            .with_context(|| format!("{}: cannot rename to {}", partial.display(), target.display()))?;
        // Its folios are the lesson of the step that reads it: a warm cache keeps them.
        crate::cache::keep_as_written(target);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Free bytes for an unprivileged user on the file system holding `dir`.
pub fn free_space(dir: &Path) -> Result<Bytes> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .with_context(|| format!("{}: path holds a NUL byte", dir.display()))?;
    // SAFETY: statvfs is plain data; all-zero bytes are a valid value for it.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and stat a valid out-pointer.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("{}: cannot read the free space of its disk", dir.display()));
    }
    #[allow(clippy::useless_conversion)] // the field types differ between targets
    Ok(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

#[cfg(test)]
mod tests;
