//! The manifest: what was generated, and the proof that the files on disk are it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{DatasetSpec, Files, MANIFEST_NAME, NPY_NAME, RAW_NAME, image::GENERATOR_VERSION};
use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::units::Bytes;

/// Version of the manifest's own layout.
pub(super) const MANIFEST_VERSION: u32 = 1;
/// The checksum is xxh3-64 over the xxh3-64 digests of consecutive blocks of this many
/// data bytes, so that blocks can be hashed on any thread in any order.
pub const BLOCK_BYTES: u64 = 4 << 20;

/// One generated file as the manifest knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name inside the data folder.
    pub name: String,
    /// Size in bytes.
    pub bytes: Bytes,
    /// Modification time in nanoseconds since the Unix epoch, when the manifest was written.
    pub modified_ns: u64,
}

/// What a data folder holds, written after both files are complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version of this file.
    pub manifest_version: u32,
    /// Version of the picture generator that drew the data.
    pub generator_version: u32,
    /// mmap-lab version that wrote it.
    pub mmap_lab_version: String,
    /// Shape of the array.
    pub shape: Shape,
    /// Element type.
    pub dtype: Dtype,
    /// Seed of the pictures.
    pub seed: u64,
    /// Bytes of array data (the same in both files).
    pub data_bytes: Bytes,
    /// Bytes of the .npy header, where the data starts in `X_train.npy`.
    pub npy_header_bytes: Bytes,
    /// `X_train.npy`.
    pub npy: FileEntry,
    /// `X_train_raw.rbf`, unless only the .npy was generated.
    #[serde(default)]
    pub raw: Option<FileEntry>,
    /// The data's checksum, as 16 hex digits: xxh3-64 of the xxh3-64 digests of its
    /// 4 MiB blocks (little-endian).
    pub checksum: String,
    /// When generation finished (RFC 3339).
    pub created_at: String,
    /// Wall time of the generation, in nanoseconds.
    pub generate_ns: u64,
}

impl Manifest {
    /// Shape, dtype and seed.
    pub fn spec(&self) -> DatasetSpec {
        DatasetSpec { shape: self.shape.clone(), dtype: self.dtype, seed: self.seed }
    }

    /// A manifest for files just written.
    pub(super) fn new(
        spec: &DatasetSpec,
        dir: &Path,
        files: Files,
        checksum: u64,
        generate_ns: u64,
    ) -> Result<Manifest> {
        let header = spec.npy_header().len() as Bytes;
        Ok(Manifest {
            manifest_version: MANIFEST_VERSION,
            generator_version: GENERATOR_VERSION,
            mmap_lab_version: env!("CARGO_PKG_VERSION").to_owned(),
            shape: spec.shape.clone(),
            dtype: spec.dtype,
            seed: spec.seed,
            data_bytes: spec.data_bytes(),
            npy_header_bytes: header,
            npy: entry(dir, NPY_NAME)?,
            raw: if files == Files::Both { Some(entry(dir, RAW_NAME)?) } else { None },
            checksum: format!("{checksum:016x}"),
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            generate_ns,
        })
    }

    /// Writes the manifest atomically (temporary file, then rename).
    pub(super) fn write(&self, dir: &Path) -> Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("{}: cannot create the manifest", dir.display()))?;
        serde_json::to_writer_pretty(&mut tmp, self)?;
        tmp.write_all(b"\n")?;
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
        tmp.as_file().sync_all()?;
        tmp.persist(dir.join(MANIFEST_NAME))
            .with_context(|| format!("{}: cannot write the manifest", dir.display()))?;
        Ok(())
    }
}

pub(super) fn modified_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as u64)
}

pub(super) fn entry(dir: &Path, name: &str) -> Result<FileEntry> {
    let path = dir.join(name);
    let meta = std::fs::metadata(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(FileEntry { name: name.to_owned(), bytes: meta.len(), modified_ns: modified_ns(&meta) })
}

/// The manifest in `dir`, if there is one that parses. An unreadable one counts as none.
pub(super) fn read(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read", path.display())),
    }
}

/// Combines per-block digests (in block order) into the checksum.
pub fn combine(digests: &[u64]) -> u64 {
    let bytes: Vec<u8> = digests.iter().flat_map(|d| d.to_le_bytes()).collect();
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The checksum of `len` data bytes of `path` starting at `offset`.
pub fn checksum_of(path: &Path, offset: u64, len: u64) -> Result<u64> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; BLOCK_BYTES as usize];
    let mut digests = Vec::with_capacity(len.div_ceil(BLOCK_BYTES) as usize);
    let mut left = len;
    while left > 0 {
        let want = left.min(BLOCK_BYTES) as usize;
        file.read_exact(&mut buf[..want]).with_context(|| format!("{}: cannot read", path.display()))?;
        digests.push(xxhash_rust::xxh3::xxh3_64(&buf[..want]));
        left -= want as u64;
    }
    Ok(combine(&digests))
}

/// The checksum of data bytes already in memory (or mapped): the same as [`checksum_of`]
/// over a file holding them.
pub fn checksum_of_bytes(data: &[u8]) -> u64 {
    let digests: Vec<u64> = data.chunks(BLOCK_BYTES as usize).map(xxhash_rust::xxh3::xxh3_64).collect();
    combine(&digests)
}
