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
//! Step 2 reads both files once (docs/reliability.md gives what it costs); the warm steps
//! read them anyway, and the cold steps evict them before they start.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, Result};

use super::image::{SampleLayout, draw_elements};
use super::manifest::{BLOCK_BYTES, checksum_of};
use super::{DatasetSpec, Manifest, NPY_NAME, RAW_NAME};

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
    for &(name, offset) in &targets {
        if Some(checksum_of(&dir.join(name), offset, manifest.data_bytes)?) != checksum {
            return Ok(Some(format!(
                "{name} was modified: its data no longer matches the manifest's checksum"
            )));
        }
    }
    Ok(None)
}
