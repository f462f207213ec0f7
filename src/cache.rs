//! Page-cache state before a step: warm (the file read through once) or cold (evicted with
//! `posix_fadvise(DONTNEED)`), and verified with `mincore` either way.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::probe::Residency;
use crate::units::Bytes;

/// The page-cache state a step asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheState {
    /// Every page of the file is in the page cache (read through just before, unless it
    /// all already was).
    Warm,
    /// The file was evicted just before: every page must come from the disk.
    Cold,
}

impl CacheState {
    /// `"warm"` or `"cold"`.
    pub fn name(self) -> &'static str {
        match self {
            CacheState::Warm => "warm",
            CacheState::Cold => "cold",
        }
    }
}

/// What preparing the cache achieved, as measured with `mincore` afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheReport {
    /// Bytes of the file in the page cache when the step started.
    pub resident_bytes: Bytes,
    /// Size of the file.
    pub file_bytes: Bytes,
    /// Whether the state asked for was reached (cold: nothing resident; warm: all of it).
    pub verified: bool,
}

/// Reads `path` through once so that all of it is in the page cache.
pub fn warm(path: &Path) -> Result<()> {
    let mut file =
        File::open(path).with_context(|| format!("{}: cannot open to warm the cache", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf).with_context(|| format!("{}: cannot read", path.display()))? > 0 {}
    Ok(())
}

/// Evicts `path` from the page cache: writes back any dirty pages (`fdatasync`), then
/// `posix_fadvise(POSIX_FADV_DONTNEED)` drops the clean ones that no process maps.
pub fn evict(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("{}: cannot open to evict it", path.display()))?;
    file.sync_data().with_context(|| format!("{}: fdatasync failed", path.display()))?;
    // SAFETY: the descriptor is open for the duration of the call; offset 0, length 0
    // means the whole file.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc))
            .with_context(|| format!("{}: posix_fadvise(DONTNEED) failed", path.display()));
    }
    Ok(())
}

/// Puts `path` in `state` and reports what `mincore` sees afterwards.
pub fn prepare(path: &Path, state: CacheState) -> Result<CacheReport> {
    let file_bytes = std::fs::metadata(path)?.len();
    match state {
        // A file already all in the page cache is left as it is: reading it through again
        // would change nothing there, and would stream it through the CPU caches right
        // before the step (an open then took up to twice as long).
        CacheState::Warm => {
            if resident(path)? < file_bytes {
                warm(path)?;
            }
        }
        CacheState::Cold => {
            evict(path)?;
            // A second pass catches pages that were under write-back during the first.
            if resident(path)? > 0 {
                evict(path)?;
            }
        }
    }
    let resident_bytes = resident(path)?;
    let verified = match state {
        CacheState::Warm => resident_bytes == file_bytes,
        CacheState::Cold => resident_bytes == 0,
    };
    Ok(CacheReport { resident_bytes, file_bytes, verified })
}

/// Bytes of `path` in the page cache now.
pub fn resident(path: &Path) -> Result<Bytes> {
    Residency::new(path)?.resident_bytes()
}

/// A plain sequential read of `path` after an eviction: the limit a cold pass is judged
/// by, measured in the run it judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequentialRead {
    /// Time of the read, eviction excluded.
    pub ns: crate::units::Nanos,
    /// Bytes read.
    pub bytes: Bytes,
}

/// Blocks of [`sequential_read`]: large enough that the system call costs nothing beside
/// the disk, as `dd bs=8M` reads.
const READ_BLOCK: usize = 8 << 20;

/// Evicts `path`, then reads it once from start to end in [`READ_BLOCK`] blocks with
/// `read`, timed, and evicts it again so the next cold step starts as cold as this read did.
pub fn sequential_read(path: &Path) -> Result<SequentialRead> {
    evict(path)?;
    let mut file = File::open(path)
        .with_context(|| format!("{}: cannot open to time a sequential read", path.display()))?;
    let mut buf = vec![0u8; READ_BLOCK];
    let started = std::time::Instant::now();
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let ns = started.elapsed().as_nanos() as crate::units::Nanos;
    evict(path)?;
    Ok(SequentialRead { ns, bytes })
}
