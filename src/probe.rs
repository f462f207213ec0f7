//! Snapshots of the process: what it holds in memory and how it got there.
//!
//! | field | source |
//! |---|---|
//! | `rss_bytes` | sysinfo (resident set size) |
//! | `rss_anon_bytes`, `rss_file_bytes` | procfs, `/proc/self/status` (`RssAnon`, `RssFile`) |
//! | `minor_faults`, `major_faults` | procfs, `/proc/self/stat` (counts since the process started) |
//! | `resident_bytes` | `mincore` over a mapping of the step's file: its bytes in the page cache |
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

/// Page-cache residency of one file, through `mincore` on a mapping that is never touched.
pub struct Residency {
    map: Option<Mmap>,
    pages: Vec<u8>,
    file_len: Bytes,
    page: Bytes,
}

impl Residency {
    /// Prepares to measure `path` (an empty file measures as 0).
    pub fn new(path: &Path) -> Result<Residency> {
        let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let file_len = file.metadata()?.len();
        let page = page_size();
        let map = if file_len == 0 {
            None
        } else {
            // SAFETY: the mapping is read-only and only passed to mincore, never read, so a
            // concurrent truncation cannot fault through it.
            Some(
                unsafe { Mmap::map(&file) }
                    .with_context(|| format!("{}: cannot map for mincore", path.display()))?,
            )
        };
        // Touch the vector now, so that it is part of the baseline and not of a phase.
        let pages = vec![1u8; file_len.div_ceil(page) as usize];
        Ok(Residency { map, pages, file_len, page })
    }

    /// Refreshes the per-page residency vector.
    fn refresh(&mut self) -> Result<()> {
        let Some(map) = &self.map else { return Ok(()) };
        // SAFETY: the address and length are those of a live mapping, and `pages` holds one
        // byte per page of it, as mincore requires.
        let rc =
            unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, map.len(), self.pages.as_mut_ptr()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()).context("mincore failed");
        }
        Ok(())
    }

    /// Bytes of the file in the page cache now.
    pub fn resident_bytes(&mut self) -> Result<Bytes> {
        self.refresh()?;
        Ok(self.count())
    }

    fn count(&self) -> Bytes {
        let mut total = 0;
        for (i, &p) in self.pages.iter().enumerate() {
            if p & 1 == 1 {
                let start = i as u64 * self.page;
                total += self.page.min(self.file_len - start);
            }
        }
        total
    }

    /// Percent resident in each of `bins` equal slices of the file.
    fn map_bins(&self, bins: usize) -> Vec<u8> {
        if self.pages.is_empty() || self.map.is_none() {
            return Vec::new();
        }
        let n = self.pages.len();
        (0..bins)
            .map(|b| {
                let (lo, hi) = (b * n / bins, ((b + 1) * n / bins).max(b * n / bins + 1).min(n));
                let resident = self.pages[lo..hi].iter().filter(|&&p| p & 1 == 1).count();
                (resident * 100 / (hi - lo)) as u8
            })
            .collect()
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
            Some(r) => (r.resident_bytes()?, r.map_bins(RESIDENCY_BINS)),
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
        let mut residency = Residency::new(file.path()).unwrap();
        // Just written: in the page cache.
        assert!(residency.resident_bytes().unwrap() > 0);
        crate::cache::evict(file.path()).unwrap();
        let after = residency.resident_bytes().unwrap();
        // Eviction may be refused on some file systems (tmpfs), never grows residency.
        assert!(after <= 1 << 20);
        let _ = std::fs::read(file.path()).unwrap();
        assert_eq!(residency.resident_bytes().unwrap(), 1 << 20);
        assert!(residency.map_bins(8).iter().all(|&p| p == 100));
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
        let buffer = vec![1u8; 8 << 20];
        std::hint::black_box(&buffer);
        let b = probe.snapshot(Phase::AfterOpen).unwrap();
        assert!(b.elapsed_ns >= a.elapsed_ns);
        assert!(b.minor_faults >= a.minor_faults);
        // 8 MiB of fresh, written heap memory shows as anonymous memory.
        assert!(b.rss_anon_bytes >= a.rss_anon_bytes + (4 << 20), "{a:?} {b:?}");
        assert!(b.rss_bytes > 0);
    }
}
