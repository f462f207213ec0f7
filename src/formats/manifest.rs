//! `formats.json`: which format files were written from which dataset, and the proof that
//! each still holds it. A file is reused only when the entry names the dataset's checksum
//! and the file's size and modification time are the ones recorded after its check.

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::Format;
use super::write::{Source, write};
use crate::dataset::{Dataset, PARTIAL_SUFFIX};
use crate::units::{Bytes, Nanos};

/// The record of the format files, beside the dataset's manifest.
pub const FORMATS_MANIFEST: &str = "formats.json";

/// One format file, as written and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatFile {
    /// Which format.
    pub format: Format,
    /// File name in the data folder.
    pub name: String,
    /// Size in bytes.
    pub bytes: Bytes,
    /// Modification time in nanoseconds since the Unix epoch, after the check.
    pub modified_ns: u64,
    /// Where the first element lies in the file when the Rust opener maps it; `None` when
    /// the bytes are compressed or the opener copies them.
    pub data_offset: Option<Bytes>,
    /// For `.npz` stored: the member's data offset in the zip (its .npy header included
    /// after it): where `np.memmap` could map it.
    #[serde(default)]
    pub member_offset: Option<Bytes>,
    /// The checksum of the dataset the file was written from (its manifest's).
    pub checksum: String,
    /// The array the file holds: the dataset's first samples ([`super::subset`]). `None` in
    /// manifests of earlier versions, whose files held the whole dataset (not reused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<crate::shape::Shape>,
    /// The xxh3-64 checksum of that array's bytes, which the file was checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_checksum: Option<String>,
    /// Wall time of writing it.
    pub write_ns: Nanos,
    /// Wall time of reading it back through the Rust opener and checking the checksum.
    pub verify_ns: Nanos,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FormatsManifest {
    files: Vec<FormatFile>,
}

fn modified_ns(path: &Path) -> Option<(Bytes, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let t = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), t.as_nanos() as u64))
}

fn read_manifest(dir: &Path) -> FormatsManifest {
    std::fs::read(dir.join(FORMATS_MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_manifest(dir: &Path, manifest: &FormatsManifest) -> Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create {FORMATS_MANIFEST}", dir.display()))?;
    serde_json::to_writer_pretty(&mut tmp, manifest)?;
    tmp.persist(dir.join(FORMATS_MANIFEST))
        .with_context(|| format!("{}: cannot write {FORMATS_MANIFEST}", dir.display()))?;
    Ok(())
}

/// Whether every one of `formats` has a file the manifest vouches for: then nothing needs
/// writing.
pub fn all_vouched(dataset: &Dataset, formats: &[Format]) -> bool {
    let manifest = read_manifest(&dataset.dir);
    formats.iter().all(|&format| vouched(&manifest, dataset, format).is_some())
}

fn vouched<'a>(manifest: &'a FormatsManifest, dataset: &Dataset, format: Format) -> Option<&'a FormatFile> {
    let path = dataset.dir.join(format.file_name());
    manifest.files.iter().find(|f| {
        f.format == format
            && f.checksum == dataset.manifest.checksum
            && f.shape.as_ref() == Some(&super::subset(&dataset.spec()).shape)
            && f.data_checksum.is_some()
            && modified_ns(&path) == Some((f.bytes, f.modified_ns))
    })
}

/// Makes sure the data folder holds a checked file of each of `formats` for `dataset`:
/// reuses those `formats.json` vouches for, writes the others from the dataset's .npy
/// (its first samples, [`super::subset`]; under a `.partial` name, renamed once complete)
/// and checks each through its Rust opener against those samples' checksum. Returns the
/// entries, in `formats` order.
pub fn ensure(dataset: &Dataset, formats: &[Format]) -> Result<Vec<FormatFile>> {
    if formats.is_empty() {
        return Ok(Vec::new());
    }
    let dir = &dataset.dir;
    let mut manifest = read_manifest(dir);
    let mut source: Option<Source> = None;
    let mut out = Vec::new();
    for &format in formats {
        let path = dir.join(format.file_name());
        if let Some(entry) = vouched(&manifest, dataset, format) {
            out.push(entry.clone());
            continue;
        }
        if source.is_none() {
            source = Some(open_source(dataset)?);
        }
        let entry = write_checked(format, source.as_ref().context("no source")?, dataset, &path)?;
        manifest.files.retain(|f| f.format != format);
        manifest.files.push(entry.clone());
        write_manifest(dir, &manifest)?;
        out.push(entry);
    }
    Ok(out)
}

fn open_source(dataset: &Dataset) -> Result<Source> {
    let path = dataset.npy_path();
    let file = std::fs::File::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
    // SAFETY: read-only; the dataset's manifest vouched for the file and nothing changes it.
    let map =
        unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("{}: cannot map", path.display()))?;
    let offset = dataset.manifest.npy_header_bytes as usize;
    if map.len() < offset + dataset.manifest.data_bytes as usize {
        bail!("{}: shorter than its manifest says; regenerate the dataset", path.display());
    }
    let spec = super::subset(&dataset.spec());
    let data = &map[offset..offset + spec.data_bytes() as usize];
    let checksum = format!("{:016x}", crate::dataset::checksum_of_bytes(data));
    Ok(Source { map: Arc::new(map), offset, spec, checksum })
}

fn write_checked(format: Format, source: &Source, dataset: &Dataset, path: &Path) -> Result<FormatFile> {
    let partial = path.with_file_name(format!("{}{PARTIAL_SUFFIX}", format.file_name()));
    let started = Instant::now();
    let written = write(format, source, &partial);
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written?;
    let write_ns = started.elapsed().as_nanos() as u64;
    let started = Instant::now();
    let checked = check(format, &partial, source);
    let (data_offset, member_offset) = match checked {
        Ok(offsets) => offsets,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let verify_ns = started.elapsed().as_nanos() as u64;
    std::fs::rename(&partial, path)
        .with_context(|| format!("{}: cannot rename to {}", partial.display(), path.display()))?;
    let (bytes, modified_ns) =
        modified_ns(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(FormatFile {
        format,
        name: format.file_name().to_owned(),
        bytes,
        modified_ns,
        data_offset,
        member_offset,
        checksum: dataset.manifest.checksum.clone(),
        shape: Some(source.spec.shape.clone()),
        data_checksum: Some(source.checksum.clone()),
        write_ns,
        verify_ns,
    })
}

/// Reads the file back through its Rust opener: the shape and dtype of the array it was
/// written from, and its bytes' checksum equal to that array's. Returns the data offset the
/// opener found and, for a stored .npz, where the member's .npy data lies in the zip.
fn check(format: Format, path: &Path, source: &Source) -> Result<(Option<Bytes>, Option<Bytes>)> {
    let opened = super::open_with_offset(path, format)?;
    let spec = &source.spec;
    if *opened.array.shape() != spec.shape || opened.array.dtype() != spec.dtype {
        bail!(
            "{}: reads back as {} of {}, not the {} of {} it was written from",
            path.display(),
            opened.array.shape(),
            opened.array.dtype(),
            spec.shape,
            spec.dtype
        );
    }
    let sum = crate::dataset::checksum_of_bytes(opened.array.bytes());
    if format!("{sum:016x}") != source.checksum {
        bail!(
            "{}: its data differs from the array it was written from (checksum {sum:016x}, the array's {})",
            path.display(),
            source.checksum
        );
    }
    let member = if format == Format::NpzStored {
        crate::inspect::npz::members(path)?.into_iter().find_map(|m| m.data_offset)
    } else {
        None
    };
    Ok((opened.data_offset, member))
}
