//! Snapshots of the process: what it holds in memory and how it got there.
//!
//! | field | source |
//! |---|---|
//! | `rss_bytes` | sysinfo (resident set size) |
//! | `rss_anon_bytes`, `rss_file_bytes` | procfs, `/proc/self/status` (`RssAnon`, `RssFile`) |
//! | `minor_faults`, `major_faults` | procfs, `/proc/self/stat` (counts since the process started) |
//! | `resident_bytes`, `residency` | `cachestat` on the step's file (Linux 6.5+; else `mincore` on a mapping of it): its bytes in the page cache |
//! | `elapsed_ns` | a clock that stops while a snapshot is taken, so phases exclude probing |
//!
//! Everything the probe needs is allocated and touched once before the first snapshot, so
//! that probing does not show up as the step's memory.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::units::{Bytes, Nanos, page_size};

/// Number of bins in a snapshot's residency map.
pub const RESIDENCY_BINS: usize = 128;

/// The moments at which a step is probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before anything is opened: the baseline.
    BeforeOpen,
    /// The array is opened (mapped, or read for `load`).
    AfterOpen,
    /// The first element was read.
    AfterFirst,
    /// The step's access pattern is done (a full pass, batches, ...).
    AfterAccess,
}

impl Phase {
    /// All phases in order.
    pub const ALL: [Phase; 4] = [Phase::BeforeOpen, Phase::AfterOpen, Phase::AfterFirst, Phase::AfterAccess];

    /// The name used in results and reports.
    pub fn name(self) -> &'static str {
        match self {
            Phase::BeforeOpen => "before_open",
            Phase::AfterOpen => "after_open",
            Phase::AfterFirst => "after_first",
            Phase::AfterAccess => "after_access",
        }
    }
}

/// The state of the process at one phase of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Which phase.
    pub phase: Phase,
    /// Working time since the step started, probing excluded.
    pub elapsed_ns: Nanos,
    /// Resident set size (sysinfo).
    pub rss_bytes: Bytes,
    /// Anonymous resident memory: the heap, a loaded array.
    pub rss_anon_bytes: Bytes,
    /// File-backed resident memory: mapped pages of files (reclaimable).
    pub rss_file_bytes: Bytes,
    /// Minor page faults since the process started.
    pub minor_faults: u64,
    /// Major page faults (served from disk) since the process started.
    pub major_faults: u64,
    /// Bytes of the step's file in the page cache (`mincore`).
    pub resident_bytes: Bytes,
    /// Page-cache residency across the file in [`RESIDENCY_BINS`] bins, percent per bin.
    #[serde(default)]
    pub residency: Vec<u8>,
    /// Time the snapshot itself took (not counted in `elapsed_ns`).
    #[serde(default)]
    pub probe_ns: Nanos,
}

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

/// Takes [`Snapshot`]s of this process and keeps the step's clock.
pub struct Probe {
    system: System,
    pid: Pid,
    process: procfs::process::Process,
    residency: Option<Residency>,
    started: Instant,
    paused: Duration,
}

impl Probe {
    /// A probe for this process; `file` is the file whose page-cache residency is followed.
    pub fn new(file: Option<&Path>) -> Result<Probe> {
        let residency = file.map(Residency::new).transpose()?;
        let mut probe = Probe {
            system: System::new().map_err(|e| anyhow::anyhow!("sysinfo cannot read this system: {e}"))?,
            pid: sysinfo::get_current_pid().map_err(|e| anyhow::anyhow!("cannot find this process: {e}"))?,
            process: procfs::process::Process::myself().context("cannot open /proc/self")?,
            residency,
            started: Instant::now(),
            paused: Duration::ZERO,
        };
        // One throwaway snapshot: whatever the probe allocates lazily, it allocates now.
        probe.snapshot(Phase::BeforeOpen)?;
        probe.restart();
        Ok(probe)
    }

    /// Restarts the step's clock at zero.
    pub fn restart(&mut self) {
        self.started = Instant::now();
        self.paused = Duration::ZERO;
    }

    /// Working time since [`Probe::restart`], snapshots excluded.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.paused)
    }

    /// Resident set size now, in bytes (sysinfo).
    pub fn rss(&mut self) -> Bytes {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_memory(),
        );
        self.system.process(self.pid).map_or(0, sysinfo::Process::memory)
    }

    /// Minor and major fault counts now, read alone (cheaper than a snapshot); the time
    /// it takes is excluded from [`Probe::elapsed`].
    pub fn faults(&mut self) -> Result<(u64, u64)> {
        let taken = Instant::now();
        let stat = self.process.stat().context("cannot read /proc/self/stat")?;
        self.paused += taken.elapsed();
        Ok((stat.minflt, stat.majflt))
    }

    /// RssAnon, RssFile (bytes) and major faults now, read alone; excluded from the clock.
    pub fn memory(&mut self) -> Result<(Bytes, Bytes, u64)> {
        let taken = Instant::now();
        let status = self.process.status().context("cannot read /proc/self/status")?;
        let stat = self.process.stat().context("cannot read /proc/self/stat")?;
        self.paused += taken.elapsed();
        Ok((status.rssanon.unwrap_or(0) * 1024, status.rssfile.unwrap_or(0) * 1024, stat.majflt))
    }

    /// A snapshot of the process now, labelled `phase`.
    pub fn snapshot(&mut self, phase: Phase) -> Result<Snapshot> {
        let taken = Instant::now();
        let elapsed = taken.duration_since(self.started).saturating_sub(self.paused);
        // The page-cache walk (mincore over every page of the file) comes first and the
        // small reads of the process's counters last, so that the phase after the snapshot
        // starts much as it would without a probe: with the kernel's file paths just used.
        // On the reference VM, system calls made 16 ms after the last one (the length of a
        // walk) took up to 4× as long as the same calls made right after others.
        let (resident_bytes, residency) = match &mut self.residency {
            Some(r) => r.measure(RESIDENCY_BINS)?,
            None => (0, Vec::new()),
        };
        let rss_bytes = self.rss();
        let status = self.process.status().context("cannot read /proc/self/status")?;
        let stat = self.process.stat().context("cannot read /proc/self/stat")?;
        let probe_time = taken.elapsed();
        self.paused += probe_time;
        Ok(Snapshot {
            phase,
            elapsed_ns: elapsed.as_nanos() as Nanos,
            rss_bytes,
            rss_anon_bytes: status.rssanon.unwrap_or(0) * 1024,
            rss_file_bytes: status.rssfile.unwrap_or(0) * 1024,
            minor_faults: stat.minflt,
            major_faults: stat.majflt,
            resident_bytes,
            residency,
            probe_ns: probe_time.as_nanos() as Nanos,
        })
    }
}

/// Maps every page of this process's code — the executable mappings of its binary and
/// libraries — into its page table, without running any of it, and returns their bytes.
///
/// A step calls this before its baseline, for the reason `import numpy` comes before the
/// NumPy peer's clock starts: what a step times is opening the array, not the kernel
/// paging in the first use of each function of mmap-lab (about 30 µs for one such fault
/// inside an open on the reference VM). The pages are file-backed, shared with every other
/// mmap-lab process, and part of the baseline snapshot.
pub fn page_in_code() -> Bytes {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
    let page = page_size() as usize;
    let mut total = 0;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
        // A file-backed mapping has a path (the sixth field); [vdso] and the like are not files.
        let path = fields.nth(3).unwrap_or("");
        if !perms.starts_with("r-x") || !path.starts_with('/') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
            continue;
        };
        // SAFETY: the range is a live, readable mapping of this process (from
        // /proc/self/maps); MADV_POPULATE_READ only faults its pages in, as reading would.
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_POPULATE_READ) };
        if rc != 0 {
            // Kernels before 5.14 lack MADV_POPULATE_READ: read one byte of each page instead.
            for at in (start..end).step_by(page) {
                // SAFETY: `at` lies inside a readable mapping of this process.
                std::hint::black_box(unsafe { std::ptr::read_volatile(at as *const u8) });
            }
        }
        total += (end - start) as Bytes;
    }
    total
}

/// This process's peak resident set size (`VmHWM`), in bytes.
pub fn peak_rss() -> Bytes {
    procfs::process::Process::myself()
        .and_then(|p| p.status())
        .ok()
        .and_then(|s| s.vmhwm)
        .map_or(0, |kb| kb * 1024)
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

    #[test]
    fn paging_in_code_makes_every_page_of_the_executable_resident() {
        let exe = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        let exe = exe.to_string_lossy().into_owned();
        assert!(page_in_code() > 0);
        // In /proc/self/smaps, each executable mapping of this binary is now all resident.
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut checked = 0;
        let mut lines = smaps.lines();
        while let Some(line) = lines.next() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 6 || !fields[1].starts_with("r-x") || fields[5] != exe {
                continue;
            }
            let kib = |key: &str, lines: &mut std::str::Lines| -> u64 {
                lines
                    .find(|l| l.starts_with(key))
                    .unwrap()
                    .split_whitespace()
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let size = kib("Size:", &mut lines);
            let rss = kib("Rss:", &mut lines);
            assert_eq!(rss, size, "{line}");
            checked += 1;
        }
        assert!(checked > 0, "no executable mapping of {exe} in /proc/self/smaps");
    }

    #[test]
    fn snapshots_are_ordered_and_faults_only_grow() {
        let mut probe = Probe::new(None).unwrap();
        let a = probe.snapshot(Phase::BeforeOpen).unwrap();
        // 64 MiB: above glibc's largest mmap threshold (32 MiB), so the buffer is always
        // fresh memory, never pages other tests in this process freed to the heap.
        let buffer = vec![1u8; 64 << 20];
        std::hint::black_box(&buffer);
        let b = probe.snapshot(Phase::AfterOpen).unwrap();
        assert!(b.elapsed_ns >= a.elapsed_ns);
        assert!(b.minor_faults >= a.minor_faults);
        // 64 MiB of fresh, written memory shows as anonymous memory.
        assert!(b.rss_anon_bytes >= a.rss_anon_bytes + (32 << 20), "{a:?} {b:?}");
        assert!(b.rss_bytes > 0);
    }
}
