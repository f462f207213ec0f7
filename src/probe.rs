//! Snapshots of a step's process, taken from outside: the step marks each phase and waits
//! while its runner reads it, with the same probe `mmap-lab measure` uses.
//!
//! | field | source |
//! |---|---|
//! | `rss_bytes`, `rss_anon_bytes`, `rss_file_bytes` | `/proc/PID/status` (`VmRSS`, `RssAnon`, `RssFile`), read by the runner |
//! | `minor_faults`, `major_faults` | `/proc/PID/stat` (counts since the process started), read by the runner |
//! | `resident_bytes`, `residency` | `cachestat` on the step's file (Linux 6.5+; else `mincore` on a mapping of it), in the runner |
//! | `elapsed_ns` | the step's own clock, stopped while it waits for a snapshot |
//!
//! Only what the measured process alone can see stays inside it: its clock, the size of
//! its objects and the values it read. [`Probe`] is that inside part: it keeps the clock
//! and marks the phases; [`crate::child::outside`] is the runner's part, which reads the numbers.

mod residency;
pub mod tree;

pub use self::residency::Residency;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

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
    /// Resident set size (`VmRSS`, read by the runner).
    #[serde(default)]
    pub rss_bytes: Bytes,
    /// Anonymous resident memory: the heap, a loaded array.
    #[serde(default)]
    pub rss_anon_bytes: Bytes,
    /// File-backed resident memory: mapped pages of files (reclaimable).
    #[serde(default)]
    pub rss_file_bytes: Bytes,
    /// Minor page faults since the process started.
    #[serde(default)]
    pub minor_faults: u64,
    /// Major page faults (served from disk) since the process started.
    #[serde(default)]
    pub major_faults: u64,
    /// Bytes of the step's file in the page cache (`cachestat`, else `mincore`).
    #[serde(default)]
    pub resident_bytes: Bytes,
    /// Page-cache residency across the file in [`RESIDENCY_BINS`] bins, percent per bin.
    #[serde(default)]
    pub residency: Vec<u8>,
    /// How long the step waited for the snapshot (not counted in `elapsed_ns`).
    #[serde(default)]
    pub probe_ns: Nanos,
}

/// The step's side of a snapshot: it marks the phase on the descriptor named by
/// [`crate::marks::MARK_ENV`] and waits while the runner reads it from outside; its clock
/// stops while it waits. Without the descriptor (run alone), marks do nothing and the
/// memory fields stay zero.
pub struct Probe {
    marks: Option<&'static std::sync::Mutex<std::fs::File>>,
    started: Instant,
    paused: Duration,
}

/// The inherited mark descriptor, taken once per process.
fn mark_channel() -> Option<&'static std::sync::Mutex<std::fs::File>> {
    use std::os::fd::FromRawFd;
    static CHANNEL: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    CHANNEL
        .get_or_init(|| {
            let fd: i32 = std::env::var(crate::marks::MARK_ENV).ok()?.parse().ok()?;
            // SAFETY: fcntl on an integer descriptor; F_GETFD fails harmlessly if it is not open.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return None;
            }
            // SAFETY: the descriptor was inherited for this purpose and is taken only here
            // (the OnceLock), so nothing else owns or closes it.
            let file = unsafe { std::fs::File::from_raw_fd(fd) };
            // Close-on-exec again: processes this one starts (sharing workers) do not mark.
            // SAFETY: fcntl on the descriptor just taken.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            Some(std::sync::Mutex::new(file))
        })
        .as_ref()
}

impl Probe {
    /// The step's clock, started now, and its marks.
    pub fn new() -> Result<Probe> {
        Ok(Probe { marks: mark_channel(), started: Instant::now(), paused: Duration::ZERO })
    }

    /// Whether a runner reads the marks (false when the step runs alone).
    pub fn is_measured(&self) -> bool {
        self.marks.is_some()
    }

    /// Restarts the step's clock at zero.
    pub fn restart(&mut self) {
        self.started = Instant::now();
        self.paused = Duration::ZERO;
    }

    /// Working time since [`Probe::restart`], waits for snapshots excluded.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.paused)
    }

    /// Marks `name` and waits for the runner's answer; returns the wait, which the clock
    /// excludes. `trace` and `batch` marks ask for the counters only.
    pub fn mark(&mut self, name: &str) -> Result<Duration> {
        use std::io::{Read, Write};
        let Some(marks) = self.marks else { return Ok(Duration::ZERO) };
        let taken = Instant::now();
        let mut file = marks.lock().map_err(|_| anyhow::anyhow!("the phase-mark channel is poisoned"))?;
        file.write_all(format!("{name}\n").as_bytes()).context("writing a phase mark")?;
        let mut answer = [0u8; 1];
        file.read_exact(&mut answer).context("the runner did not answer a phase mark")?;
        let waited = taken.elapsed();
        self.paused += waited;
        Ok(waited)
    }

    /// A snapshot labelled `phase`: the step's clock now; the runner fills in the rest.
    pub fn snapshot(&mut self, phase: Phase) -> Result<Snapshot> {
        let elapsed = self.elapsed();
        let waited = self.mark(phase.name())?;
        Ok(Snapshot {
            phase,
            elapsed_ns: elapsed.as_nanos() as Nanos,
            rss_bytes: 0,
            rss_anon_bytes: 0,
            rss_file_bytes: 0,
            minor_faults: 0,
            major_faults: 0,
            resident_bytes: 0,
            residency: Vec::new(),
            probe_ns: waited.as_nanos() as Nanos,
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
    use procfs::process::{MMPermissions, MMapPath, Process};
    let Ok(maps) = Process::myself().and_then(|p| p.maps()) else { return 0 };
    let page = page_size() as usize;
    let mut total = 0;
    for map in maps {
        // Read and execute but not write, and backed by a file ([vdso] and the like are not).
        let code = map.perms & (MMPermissions::READ | MMPermissions::WRITE | MMPermissions::EXECUTE);
        if code != MMPermissions::READ | MMPermissions::EXECUTE || !matches!(map.pathname, MMapPath::Path(_))
        {
            continue;
        }
        let (start, end) = (map.address.0 as usize, map.address.1 as usize);
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
}
