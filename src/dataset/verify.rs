//! Before data is reused for measuring, it is proven to be the data asked for, not just
//! data the manifest vouches for:
//!
//! 1. a few blocks (the first, one in the middle, the last) are drawn again from the
//!    *asked* seed, shape and dtype and compared byte for byte with both files: a manifest
//!    edited to another seed (or data copied from another folder) fails here, whatever the
//!    manifest says;
//! 2. every byte of both files is hashed again and compared with the manifest's checksum:
//!    an edit of the same size with its modification time put back fails here.
//!
//! Step 2 reads both files once, both at the same time (docs/troubleshooting.md gives what it
//! costs); the warm steps read them anyway, and the cold steps evict them before they start.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::units::Bytes;

use super::image::GENERATOR_VERSION;
use super::image::{SampleLayout, draw_elements};
use super::manifest::{BLOCK_BYTES, MANIFEST_VERSION, checksum_of, entry, modified_ns, read};
use super::{DatasetSpec, Files, Manifest, NPY_NAME, RAW_NAME};

/// Whether `dir` holds a valid dataset for `spec`: `Ok(manifest)`, or why not.
///
/// Sizes, the .npy header, a few blocks drawn again from the asked seed and the whole
/// data's checksum are always checked ([`mismatch`]); a file touched since (same
/// data, new time) is vouched for again.
pub(super) fn validate(spec: &DatasetSpec, dir: &Path, files: Files) -> Result<Result<Manifest, String>> {
    let Some(mut manifest) = read(dir)? else {
        return Ok(Err(
            "no valid manifest: the data was never generated, or its generation did not finish".to_owned()
        ));
    };
    if manifest.manifest_version != MANIFEST_VERSION || manifest.generator_version != GENERATOR_VERSION {
        return Ok(Err(format!(
            "the data was drawn by generator version {}, this mmap-lab draws version {GENERATOR_VERSION}",
            manifest.generator_version
        )));
    }
    if manifest.spec() != *spec {
        return Ok(Err(format!(
            "the data holds shape {} of {} with seed {}, {} of {} with seed {} was asked for",
            manifest.shape, manifest.dtype, manifest.seed, spec.shape, spec.dtype, spec.seed
        )));
    }
    if manifest.data_bytes != spec.data_bytes()
        || manifest.npy_header_bytes != spec.npy_header().len() as Bytes
    {
        return Ok(Err(format!(
            "the manifest's sizes ({} data bytes after a {}-byte header) are not those of {} of {}",
            manifest.data_bytes, manifest.npy_header_bytes, spec.shape, spec.dtype
        )));
    }
    if files == Files::Both && manifest.raw.is_none() {
        return Ok(Err(format!("only {NPY_NAME} was generated; {RAW_NAME} is needed too")));
    }
    let mut touched = false;
    for want in std::iter::once(&manifest.npy).chain(manifest.raw.as_ref()) {
        let path = dir.join(&want.name);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Ok(Err(format!("{} is missing", want.name)));
        };
        if meta.len() != want.bytes {
            return Ok(Err(format!(
                "{} is {} bytes, the manifest says {}: it is partial or was changed",
                want.name,
                meta.len(),
                want.bytes
            )));
        }
        touched |= modified_ns(&meta) != want.modified_ns;
    }
    let header = spec.npy_header();
    let mut found = vec![0u8; header.len()];
    File::open(dir.join(NPY_NAME))
        .and_then(|mut f| f.read_exact(&mut found))
        .with_context(|| format!("{}: cannot read", dir.join(NPY_NAME).display()))?;
    if found != header {
        return Ok(Err(format!("{NPY_NAME}'s header is not the one mmap-lab writes for this shape")));
    }
    if let Some(why) = mismatch(spec, dir, &manifest)? {
        return Ok(Err(why));
    }
    if touched {
        // Same data, new times (copied or touched): vouch for them again.
        manifest.npy = entry(dir, NPY_NAME)?;
        if manifest.raw.is_some() {
            manifest.raw = Some(entry(dir, RAW_NAME)?);
        }
        manifest.write(dir)?;
    }
    Ok(Ok(manifest))
}

/// Why the files in `dir` are not the data of `spec`, or `None` when they are.
pub(super) fn mismatch(spec: &DatasetSpec, dir: &Path, manifest: &Manifest) -> Result<Option<String>> {
    let mut targets = vec![(NPY_NAME, manifest.npy_header_bytes)];
    if manifest.raw.is_some() {
        targets.push((RAW_NAME, 0));
    }
    let total = spec.data_bytes();
    let blocks = total.div_ceil(BLOCK_BYTES).max(1);
    let mut sample = vec![0, blocks / 2, blocks - 1];
    sample.dedup();
    let layout = SampleLayout::of(&spec.shape);
    let item = spec.dtype.itemsize();
    let (mut want, mut found, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    for &(name, offset) in &targets {
        let path = dir.join(name);
        let file = File::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
        for &k in &sample {
            let start = k * BLOCK_BYTES;
            let end = ((k + 1) * BLOCK_BYTES).min(total);
            if start >= end {
                continue;
            }
            want.resize((end - start) as usize, 0);
            draw_elements(spec.seed, layout, spec.dtype, start / item, &mut want, &mut scratch);
            found.resize(want.len(), 0);
            file.read_exact_at(&mut found, offset + start)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            if found != want {
                return Ok(Some(format!(
                    "{name} does not hold the pictures of seed {} (bytes {start}..{end} of its data differ from what that seed draws): the manifest says seed {}, but the data was made otherwise or edited",
                    spec.seed, manifest.seed
                )));
            }
        }
    }
    let checksum = u64::from_str_radix(&manifest.checksum, 16).ok();
    // The checksum reads each whole file: it must be cached the way warm steps want it, read
    // again from the disk only when it is not ([`crate::cache::refill`]). The files are read
    // and hashed at once, one thread each (0.3-0.4 s for both at full size on the project's
    // 2-vCPU VM when cached in 2 MiB folios, 2.3-2.9 s when read again).
    let sums: Vec<Result<u64>> = std::thread::scope(|scope| {
        let reads: Vec<_> = targets
            .iter()
            .map(|&(name, offset)| {
                let path = dir.join(name);
                scope.spawn(move || {
                    crate::cache::refill(&path)?;
                    checksum_of(&path, offset, manifest.data_bytes)
                })
            })
            .collect();
        reads
            .into_iter()
            .map(|r| {
                r.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the thread checking a data file panicked")))
            })
            .collect()
    });
    for (&(name, _), sum) in targets.iter().zip(sums) {
        if Some(sum?) != checksum {
            return Ok(Some(format!(
                "{name} was modified: its data no longer matches the manifest's checksum"
            )));
        }
    }
    Ok(None)
}
