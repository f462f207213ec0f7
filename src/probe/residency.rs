//! Page-cache residency of a file: `cachestat` where the kernel has it, `mincore` else.

use std::path::Path;

use anyhow::{Context, Result};
use memmap2::Mmap;

use crate::units::{Bytes, page_size};

/// Page-cache residency of one file: which of its pages are in the page cache.
///
/// Read with `cachestat` (Linux 6.5+), one call per bin, which walks the file's folios:
/// about 2 ms for the tutorial's 1.38 GB file all cached, 50 µs for none of it. Where the
/// kernel lacks it, with `mincore` on a mapping of the file that is never touched, which
/// looks up every page: 20–30 ms for the same file. A probe that slow leaves the kernel's
/// paths cold for the phase that follows it: an open right after a `mincore` walk took
/// about three times as long as one right after `cachestat`.
pub struct Residency {
    file: Option<std::fs::File>,
    file_len: Bytes,
    page: Bytes,
    mincore: Option<Mincore>,
}

/// The fallback: a mapping passed to `mincore`, and its per-page answer.
struct Mincore {
    map: Mmap,
    pages: Vec<u8>,
}

/// `struct cachestat_range` of `<linux/mman.h>`.
#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

/// `struct cachestat` of `<linux/mman.h>`.
#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// The `cachestat` system call's number (the same on every architecture Linux numbers alike).
const SYS_CACHESTAT: libc::c_long = 451;

/// Pages of `file` in the page cache between byte `off` and `off + len`.
fn cachestat(file: &std::fs::File, off: Bytes, len: Bytes) -> std::io::Result<u64> {
    use std::os::fd::AsRawFd;
    let range = CachestatRange { off, len };
    let mut stat = Cachestat::default();
    // SAFETY: both pointers are to live, properly laid out structs for the duration of the
    // call; the kernel reads the range and writes the stat, nothing else.
    let rc = unsafe {
        libc::syscall(SYS_CACHESTAT, file.as_raw_fd(), &raw const range, &raw mut stat, 0 as libc::c_uint)
    };
    if rc == 0 { Ok(stat.nr_cache) } else { Err(std::io::Error::last_os_error()) }
}

impl Residency {
    /// Prepares to measure `path` (an empty file measures as 0).
    pub fn new(path: &Path) -> Result<Residency> {
        Residency::with(path, true)
    }

    /// Measures with `mincore` even where `cachestat` is available (to compare the two).
    pub fn with_mincore(path: &Path) -> Result<Residency> {
        Residency::with(path, false)
    }

    fn with(path: &Path, try_cachestat: bool) -> Result<Residency> {
        let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let file_len = file.metadata()?.len();
        let page = page_size();
        if file_len == 0 {
            return Ok(Residency { file: None, file_len, page, mincore: None });
        }
        if try_cachestat && cachestat(&file, 0, page).is_ok() {
            return Ok(Residency { file: Some(file), file_len, page, mincore: None });
        }
        // SAFETY: the mapping is read-only and only passed to mincore, never read, so a
        // concurrent truncation cannot fault through it.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("{}: cannot map for mincore", path.display()))?;
        // Touch the vector now, so that it is part of the baseline and not of a phase.
        let pages = vec![1u8; file_len.div_ceil(page) as usize];
        Ok(Residency { file: None, file_len, page, mincore: Some(Mincore { map, pages }) })
    }

    /// Which system call measures: `cachestat` or `mincore` (`none` for an empty file).
    pub fn method(&self) -> &'static str {
        match (&self.file, &self.mincore) {
            (Some(_), _) => "cachestat",
            (None, Some(_)) => "mincore",
            (None, None) => "none",
        }
    }

    /// Bytes of the file in the page cache now.
    pub fn resident_bytes(&mut self) -> Result<Bytes> {
        Ok(self.measure(1)?.0)
    }

    /// Bytes of the file in the page cache now, and the percentage resident in each of
    /// `bins` equal slices of its pages (empty for an empty file).
    pub fn measure(&mut self, bins: usize) -> Result<(Bytes, Vec<u8>)> {
        let n = self.file_len.div_ceil(self.page) as usize;
        if n == 0 {
            return Ok((0, Vec::new()));
        }
        let slices = (0..bins).map(|b| {
            let lo = b * n / bins;
            (lo, ((b + 1) * n / bins).max(lo + 1).min(n))
        });
        let page = self.page;
        // The last page holds only the file's tail: count its bytes, not a whole page.
        let tail = self.file_len - (n as u64 - 1) * page;
        if let Some(file) = &self.file {
            let cached = |lo: usize, hi: usize| {
                cachestat(file, lo as u64 * page, (hi - lo) as u64 * page).context("cachestat failed")
            };
            let mut percents = Vec::with_capacity(bins);
            let mut sum = 0;
            for (lo, hi) in slices {
                let pages = cached(lo, hi)?;
                sum += pages;
                percents.push((pages as usize * 100 / (hi - lo)) as u8);
            }
            // With at least one page per bin the bins tile the file: their sum is the whole,
            // and the file's folios are walked once. Fewer pages than bins overlap.
            let whole = if n >= bins { sum } else { cached(0, n)? };
            let last = cached(n - 1, n)?;
            return Ok((whole * page - last * (page - tail), percents));
        }
        let Some(Mincore { map, pages }) = &mut self.mincore else { return Ok((0, Vec::new())) };
        // SAFETY: the address and length are those of a live mapping, and `pages` holds one
        // byte per page of it, as mincore requires.
        let rc = unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, map.len(), pages.as_mut_ptr()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()).context("mincore failed");
        }
        let resident = |p: &u8| p & 1 == 1;
        let whole = pages.iter().filter(|p| resident(p)).count() as u64;
        let last = u64::from(resident(&pages[n - 1]));
        let percents = slices
            .map(|(lo, hi)| (pages[lo..hi].iter().filter(|p| resident(p)).count() * 100 / (hi - lo)) as u8);
        Ok((whole * page - last * (page - tail), percents.collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn residency_follows_reads_and_eviction() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&vec![7u8; 1 << 20]).unwrap();
        file.as_file().sync_all().unwrap();
        for mut residency in
            [Residency::new(file.path()).unwrap(), Residency::with_mincore(file.path()).unwrap()]
        {
            let _ = std::fs::read(file.path()).unwrap();
            assert!(residency.resident_bytes().unwrap() > 0, "{}", residency.method());
            crate::cache::evict(file.path()).unwrap();
            let after = residency.resident_bytes().unwrap();
            // Eviction may be refused on some file systems (tmpfs), never grows residency.
            assert!(after <= 1 << 20);
            let _ = std::fs::read(file.path()).unwrap();
            let (bytes, bins) = residency.measure(8).unwrap();
            assert_eq!(bytes, 1 << 20, "{}", residency.method());
            assert_eq!(bins, vec![100; 8], "{}", residency.method());
        }
    }

    /// A file whose length is not a whole number of pages, cached in part: both ways of
    /// measuring give the same bytes and the same map, and count only the tail of the
    /// last page.
    #[test]
    fn cachestat_and_mincore_agree_on_a_partly_cached_file() {
        use std::os::fd::AsRawFd;
        let page = page_size();
        let len = 64 * page + 100;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&vec![3u8; len as usize]).unwrap();
        file.as_file().sync_all().unwrap();
        let mut fast = Residency::new(file.path()).unwrap();
        let mut slow = Residency::with_mincore(file.path()).unwrap();
        assert_eq!(slow.method(), "mincore");
        let _ = std::fs::read(file.path()).unwrap();
        assert_eq!(fast.measure(16).unwrap(), slow.measure(16).unwrap());
        assert_eq!(slow.measure(16).unwrap().0, len, "all of it, the tail page counted by its bytes");
        // Drop the first half (page cache permitting, as on tmpfs it is not).
        // SAFETY: a valid descriptor, and a range inside the file.
        unsafe {
            libc::posix_fadvise(file.as_file().as_raw_fd(), 0, (len / 2) as i64, libc::POSIX_FADV_DONTNEED)
        };
        let (bytes, bins) = slow.measure(16).unwrap();
        assert_eq!(fast.measure(16).unwrap(), (bytes, bins.clone()));
        assert_eq!(bins.len(), 16);
        // An empty file measures as nothing, both ways.
        let empty = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(Residency::new(empty.path()).unwrap().measure(4).unwrap(), (0, Vec::new()));
        assert_eq!(Residency::with_mincore(empty.path()).unwrap().measure(4).unwrap(), (0, Vec::new()));
    }
}
