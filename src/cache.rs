//! Page-cache state before a step: warm (the file read through once) or cold (evicted with
//! `posix_fadvise(DONTNEED)`), and verified with `mincore` either way.
//!
//! Warm is one state, not any: the page cache holds a file in folios whose sizes depend on
//! how it was filled, and a mapped pass takes one page fault per 2 MiB folio it can map
//! whole but one per 64 KiB (fault-around) elsewhere. Measured here on the full-size .npy
//! (1.38 GB, fresh processes, busy 2-vCPU VM): 662 faults and a first pass as fast as a
//! second when the file sat in 2 MiB folios, 900-1,070 after a read-back with `read`
//! (small folios where read-ahead ramps up, at the start of the file), 21,107 faults and
//! 2.2-2.5x the second pass's time when it was written in 4 KiB pieces. So [`warm`] fills
//! a file through a mapping advised `MADV_HUGEPAGE`, whose faults read 2 MiB folios from
//! the first byte, and [`prepare`] refills a partly evicted file from scratch rather than
//! patching its holes with small folios.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::probe::Residency;
use crate::units::Bytes;

mod backing;
pub mod reporting;
use backing::available_memory;
pub use backing::{BackedMemory, MemoryReserve};

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

/// Bytes of the file mapped at a time by each reader of [`warm`]: whole 2 MiB folios, and
/// little beside the caller's own memory in its peak RSS (the runner's must stay small: the
/// dataset check warms its two files at once, two readers each, 16 MiB mapped in all).
const WARM_WINDOW: usize = 4 << 20;

/// Reads `path` into the page cache: through a mapping advised `MADV_HUGEPAGE` and
/// populated with `MADV_POPULATE_READ`, [`WARM_WINDOW`] at a time, so that the pages it
/// reads come in 2 MiB folios where memory allows (pages already cached keep their folios).
/// Kernels without `MADV_POPULATE_READ` (before 5.14) read it with `read` instead.
///
/// The file is read in one piece per core (up to four), at the same time: on a VM the host
/// backs the memory the pages land in far faster from two vCPUs than from one (here, two
/// readers of a 1.38 GB file's halves took 1.35 s together, one reader 2.1-3.1 s).
pub fn warm(path: &Path) -> Result<()> {
    let file =
        File::open(path).with_context(|| format!("{}: cannot open to warm the cache", path.display()))?;
    let len = file.metadata().with_context(|| format!("{}: cannot read its size", path.display()))?.len();
    let pieces = warm_pieces(len, pieces_at_once());
    let populated = std::thread::scope(|scope| {
        let readers: Vec<_> = pieces
            .iter()
            .map(|&(start, end)| {
                let file = &file;
                scope.spawn(move || {
                    let mut at = start;
                    while at < end {
                        let window = (end - at).min(WARM_WINDOW as u64) as usize;
                        if !populate_window(file, at, window) {
                            return false;
                        }
                        at += window as u64;
                    }
                    true
                })
            })
            .collect();
        readers.into_iter().all(|r| r.join().unwrap_or(false))
    });
    if populated { Ok(()) } else { warm_by_reading(file) }
}

/// `len` bytes split into up to `parts` pieces `(start, end)` that start at multiples of
/// [`WARM_WINDOW`] and cover every byte once, in order.
fn warm_pieces(len: u64, parts: usize) -> Vec<(u64, u64)> {
    let windows = len.div_ceil(WARM_WINDOW as u64);
    let mut start = 0u64;
    even_counts(windows, parts.min(windows.max(1) as usize))
        .into_iter()
        .map(|count| {
            let end = (start + count * WARM_WINDOW as u64).min(len);
            let piece = (start, end);
            start = end;
            piece
        })
        .collect()
}

/// How many pieces the runner's fills of memory run in at once ([`warm`]'s readers, the
/// memory reserve's children): one per core, at most four. On a VM the host backs memory
/// touched from several vCPUs at once far faster than from one.
pub(crate) fn pieces_at_once() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 4)
}

/// `units` split into `parts` (at least one) counts that add up to it and differ by one at
/// most, the larger ones first.
pub(crate) fn even_counts(units: u64, parts: usize) -> Vec<u64> {
    let n = parts.max(1) as u64;
    (0..n).map(|i| units / n + u64::from(i < units % n)).collect()
}

/// Bytes between the reads of [`populate_window`]: the smallest page a hypervisor maps.
const TOUCH_STRIDE: usize = 4096;

/// Maps `window` bytes of `file` from `at` (a multiple of the page size), advises them
/// `MADV_HUGEPAGE`, faults them in with `MADV_POPULATE_READ`, reads one byte of each 4 KiB
/// page, and unmaps them. `false` when the kernel cannot (then nothing was read).
///
/// The reads are for virtual machines: the disk's data lands in guest memory without the
/// guest's CPU touching it, and the first CPU access to each 4 KiB page then costs the
/// hypervisor a fault of its own. Measured here (raw file, 1.38 GB, just filled): the first
/// mapped pass after the fill took 0.15-1.2 s against 80 ms for the next process's, and
/// 86-90 ms once the fill had read a byte of each page. Without them, the first warm step
/// after a fill paid for it (a run measured 2.26 s for a 120 ms pass).
fn populate_window(file: &File, at: u64, window: usize) -> bool {
    // SAFETY: a new read-only shared mapping of the file; nothing else points into it.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            window,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            at as i64,
        )
    };
    if map == libc::MAP_FAILED {
        return false;
    }
    // SAFETY: `map` is the mapping of `window` bytes made above: advising it changes how the
    // kernel fills it, populating it only reads the file, the reads stay within it (the file
    // holds every byte of the window: `at + window` is at most its length), and it is
    // unmapped exactly once.
    unsafe {
        libc::madvise(map, window, libc::MADV_HUGEPAGE);
        let populated = libc::madvise(map, window, libc::MADV_POPULATE_READ) == 0;
        if populated {
            let base = map.cast::<u8>().cast_const();
            let mut seen = 0u8;
            for offset in (0..window).step_by(TOUCH_STRIDE) {
                seen ^= std::ptr::read_volatile(base.add(offset));
            }
            std::hint::black_box(seen);
        }
        libc::munmap(map, window);
        populated
    }
}

/// [`warm`] with `read` calls, for kernels without `MADV_POPULATE_READ`.
fn warm_by_reading(mut file: File) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf).context("cannot read to warm the cache")? > 0 {}
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

/// How this process set a file's page-cache state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// Filled whole by [`prepare`].
    Filled,
    /// Written by this process ([`keep_as_written`]).
    Written,
    /// Evicted by this process for a cold read, and maybe partly read back since.
    Emptied,
}

/// Files whose page-cache state this process has set, and how.
static SETTLED: std::sync::Mutex<Option<std::collections::HashMap<std::path::PathBuf, Settled>>> =
    std::sync::Mutex::new(None);

/// How this process set the page-cache state of `path`, if it did; then records `now`
/// for it unless it was written (a written file stays written).
fn settle(path: &Path, now: Settled) -> Option<Settled> {
    let mut settled = SETTLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = settled.get_or_insert_with(Default::default);
    let before = map.get(path).copied();
    if before != Some(Settled::Written) || now == Settled::Written {
        map.insert(path.to_owned(), now);
    }
    before
}

/// Whether this process has not yet evicted `path` for a cold read (a cold [`prepare`], or
/// [`sequential_read`]) since it last filled or wrote it: the next cold read of it would be
/// the first to reach the disk in a while. On the project's VM the disk behind the guest
/// keeps recently read files in its own cache: the first cold side of the Arrow IPC step, 30 s
/// after its file was last read, took 220-243 ms for its pass in 14 runs out of 14, and every
/// side after it 74-102 ms; the runner reads such a file once before the step's first side.
pub fn first_cold_read(path: &Path) -> bool {
    let settled = SETTLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    settled.as_ref().and_then(|m| m.get(path)) != Some(&Settled::Emptied)
}

/// Says that this process just wrote `path` and its page cache must stay as the writes left
/// it (a scratch copy written in 4 KiB pieces is the lesson of its step): a warm [`prepare`]
/// of `path` leaves it as it is, and reads only the pages missing from it, if any.
pub fn keep_as_written(path: &Path) {
    settle(path, Settled::Written);
}

/// Evicts `path` and reads it whole again with [`warm`] (2 MiB folios), for a caller about to
/// read all of it anyway (the dataset's checksum when a run reuses it), and records that this
/// process filled it: its first warm [`prepare`] then finds it filled and reads nothing again
/// (a full-size run read each of the .npy and the raw file twice from the disk otherwise,
/// 2.7-3.3 s each time). A file already cached whole in large folios
/// ([`whole_in_large_folios`]: as the last run's `restore_cache` or the dataset's writer
/// left it) is only recorded as filled: reading it again from the disk changed nothing but
/// the dataset check's time (2.4-2.6 s for the two full-size files, most of it that read).
/// A file with holes is read again whole, not patched, even when only a reclaimer's few MB
/// are missing: reading it from the disk also puts its page cache in memory the host has
/// just backed, and the raw file's page cache is what the memory reserve takes over for
/// `np.load` a few seconds later. Patched after a 150 s pause, the reserve's growth into it
/// took 4.77 s; read again after a 165 s pause, 0.29 s (0.18-0.47 s in every run that read it
/// again; back to back, patching saved about 1.2 s of the `dataset` stage).
/// A file larger than half the memory available is left as it is (`false`): filling it
/// would only push it out again.
pub fn refill(path: &Path) -> Result<bool> {
    let bytes = std::fs::metadata(path)?.len();
    if bytes == 0 || bytes > available_memory() / 2 {
        return Ok(false);
    }
    if !whole_in_large_folios(path)? {
        evict(path)?;
        warm(path)?;
    }
    settle(path, Settled::Filled);
    Ok(true)
}

/// Bytes between the reads of [`whole_in_large_folios`]: the kernel's fault-around window, so
/// that a file in small folios takes a fault per read.
const FOLIO_PROBE_STRIDE: usize = 64 << 10;

/// The folio [`warm`] fills a file in: 2 MiB.
const LARGE_FOLIO: u64 = 2 << 20;

/// Whether every byte of `path` is in the page cache, in folios as large as [`warm`] makes.
/// A fresh mapping of it is read one byte per [`FOLIO_PROBE_STRIDE`] and this thread's
/// page faults are counted (`getrusage(RUSAGE_THREAD)`): a fault maps a whole large folio,
/// so a file in 2 MiB folios takes about one per 2 MiB (a mapped pass over the full-size
/// .npy took 662), one in small folios one per 64 KiB. Reading the probe costs what its
/// faults cost: a few milliseconds for a 1.38 GB file in large folios.
fn whole_in_large_folios(path: &Path) -> Result<bool> {
    let file =
        File::open(path).with_context(|| format!("{}: cannot open to probe its folios", path.display()))?;
    let len = file.metadata().with_context(|| format!("{}: cannot read its size", path.display()))?.len();
    if len == 0 || resident(path)? < len {
        return Ok(false);
    }
    // SAFETY: a read-only mapping of a file of the run's data folder, which the run holds
    // locked; it is only read, within its length, and dropped here.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("{}: cannot map to probe its folios", path.display()))?;
    Ok(large_folio_faults(len, probe_faults(&map)))
}

/// Reads `map` one byte per [`FOLIO_PROBE_STRIDE`] and returns the page faults this thread
/// took for it. Each window read leaves the process's memory again at once.
fn probe_faults(map: &memmap2::Mmap) -> u64 {
    let before = thread_minor_faults();
    let mut seen = 0u8;
    for start in (0..map.len()).step_by(WARM_WINDOW) {
        let end = (start + WARM_WINDOW).min(map.len());
        for offset in (start..end).step_by(FOLIO_PROBE_STRIDE) {
            // SAFETY: `offset` lies within the mapping.
            seen ^= unsafe { std::ptr::read_volatile(map.as_ptr().add(offset)) };
        }
        // The window leaves this process's memory (not the page cache): the runner's peak
        // RSS must not grow by the file.
        // SAFETY: the range lies within the mapping; dropping a shared read-only mapping's
        // pages only unmaps them, and later reads would map them again.
        unsafe { libc::madvise(map.as_ptr().add(start).cast_mut().cast(), end - start, libc::MADV_DONTNEED) };
    }
    std::hint::black_box(seen);
    thread_minor_faults().saturating_sub(before)
}

/// Whether `faults` for a probe of a `len`-byte file say large folios: one per
/// [`LARGE_FOLIO`] and a few more (the full-size .npy, refilled, took 661 for its 660),
/// against the one per 64 KiB that small folios take (32 per 2 MiB). A file with a few
/// MiB in small folios fails, and is refilled: the warm steps' fault counts are a lesson.
fn large_folio_faults(len: u64, faults: u64) -> bool {
    let folios = len.div_ceil(LARGE_FOLIO);
    faults <= folios + folios / 64 + 4
}

/// Minor page faults of the calling thread so far.
fn thread_minor_faults() -> u64 {
    // SAFETY: `usage` is a valid out-pointer for the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_THREAD asks for the calling thread's counts only.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return 0;
    }
    usage.ru_minflt as u64
}

/// Whether this process wrote `path` ([`keep_as_written`]) and every page of it is still in
/// the page cache: then its folios are still as the writes left them, and a step that
/// reads the same copy needs no new one.
pub fn still_as_written(path: &Path) -> bool {
    let written = {
        let settled = SETTLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        settled.as_ref().and_then(|m| m.get(path).copied()) == Some(Settled::Written)
    };
    written
        && std::fs::metadata(path).is_ok_and(|m| m.len() > 0 && resident(path).is_ok_and(|r| r == m.len()))
}

/// Puts `path` in `state` and reports what `mincore` sees afterwards.
///
/// Warm: the first time this process prepares `path` (unless it wrote it, see
/// [`keep_as_written`]), the file is evicted and read again whole by [`warm`], so that a
/// run's warm steps never inherit the folios another run's cold steps left (a run measured
/// 17,631 faults per warm pass over the raw file, filled by the previous run's cold pass in
/// fragmented memory, against 661 for the .npy beside it). So is a file this process
/// evicted for a cold step since, even if the cold step read it all back: the disk's data
/// lands in memory no CPU has touched, and the first process to read it pays the hypervisor
/// for every page (a run's two mapping workers took 2.4 s each for a 110 ms pass over the
/// .npy that the populated cold step had read whole). Otherwise a file all in the page
/// cache is left as it is: reading it again would change nothing there. Holes in a file
/// that only warm steps read since it was filled are read back alone, up to
/// [`HOLES_FILLED_UP_TO`] of it, and a larger loss is read again whole; a warm cache that
/// comes out with holes is filled again up to [`WARM_RETRIES`] times. A file this process
/// wrote only has its missing pages read (written in 4 KiB pieces, then partly reclaimed
/// under memory pressure, a scratch copy keeps most of its lesson that way; refilled whole,
/// a run measured 875 faults for its pass instead of about 21,000).
pub fn prepare(path: &Path, state: CacheState) -> Result<CacheReport> {
    let file_bytes = std::fs::metadata(path)?.len();
    match state {
        CacheState::Warm => match settle(path, Settled::Filled) {
            Some(Settled::Written) => {
                if resident(path)? < file_bytes {
                    let file = File::open(path)
                        .with_context(|| format!("{}: cannot open to warm the cache", path.display()))?;
                    warm_by_reading(file)?;
                }
            }
            None | Some(Settled::Emptied) => {
                evict(path)?;
                warm(path)?;
            }
            Some(Settled::Filled) => {
                let missing = file_bytes.saturating_sub(resident(path)?);
                if missing > file_bytes / HOLES_FILLED_UP_TO {
                    evict(path)?;
                }
                if missing > 0 {
                    warm(path)?;
                }
            }
        },
        CacheState::Cold => {
            settle(path, Settled::Emptied);
            evict(path)?;
            // Later passes catch pages that were under write-back during the first, and pages
            // a process that mapped the file still held while it exited (a peer whose answer
            // arrived before its end): up to 20 more, 10 ms apart, while each frees some.
            let mut left = resident(path)?;
            for _ in 0..COLD_RETRIES {
                if left == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
                evict(path)?;
                let now = resident(path)?;
                if now >= left {
                    // Nothing more went (pinned pages, or a file system that keeps them).
                    break;
                }
                left = now;
            }
        }
    }
    let mut resident_bytes = resident(path)?;
    // Pages can go while they are read: a reclaimer that pages out idle page cache (DAMON
    // here, see `Machine::idle_page_reclaim`) judges pages by the memory they landed in. The
    // holes are whole folios, and `warm` refills them as such.
    for _ in 0..WARM_RETRIES {
        if state != CacheState::Warm || resident_bytes == file_bytes {
            break;
        }
        warm(path)?;
        resident_bytes = resident(path)?;
    }
    let verified = match state {
        CacheState::Warm => resident_bytes == file_bytes,
        CacheState::Cold => resident_bytes == 0,
    };
    Ok(CacheReport { resident_bytes, file_bytes, verified })
}

/// The largest share of a file, as a divisor (1/8), that a warm [`prepare`] of a file it
/// filled before reads back into its holes instead of evicting and reading it whole.
/// Holes from a reclaimer of idle pages are whole folios: [`warm`] reads them back as
/// 2 MiB folios, so the file keeps the folios a whole read gives it (a full-size run lost
/// 2-42 MB per file between steps on a machine running DAMON pageout, and read 1.38 GB
/// again each time).
const HOLES_FILLED_UP_TO: u64 = 8;

/// Fills [`prepare`] tries after the first, for a warm cache that came out with holes.
const WARM_RETRIES: usize = 3;

/// Evictions [`prepare`] tries after the first, for a cold cache.
const COLD_RETRIES: usize = 20;

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
/// `read`, timed. The file stays in the page cache: the next cold step evicts it first, and
/// its reads reuse that memory at once (evicted here, it had stayed free in between, and a
/// VM that hands free memory back to its host made the next step pay for it).
pub fn sequential_read(path: &Path) -> Result<SequentialRead> {
    settle(path, Settled::Emptied);
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
    Ok(SequentialRead { ns, bytes })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// For a test that measures its whole process: `true` in a process that runs the test
    /// `name` alone (go on), `false` in any other, after running it alone in a new process
    /// and asserting that it passed there (return).
    pub(crate) fn alone(name: &str) -> bool {
        const ALONE: &str = "MMAP_LAB_TEST_ALONE";
        if std::env::var_os(ALONE).is_some() {
            return true;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1"])
            .env(ALONE, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        false
    }

    /// A file of `len` bytes that is not a whole number of pages or windows, written out.
    fn file_of(len: usize) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        file.write_all(&bytes).unwrap();
        file.as_file().sync_all().unwrap();
        file
    }

    #[test]
    fn warm_pieces_cover_the_file_once_in_whole_windows() {
        let w = WARM_WINDOW as u64;
        for len in [0, 1, w - 1, w, w + 1, 3 * w + 17, 172 * w + 5] {
            for parts in 1..=4 {
                let pieces = warm_pieces(len, parts);
                assert!(!pieces.is_empty() && pieces.len() <= parts, "{len} in {parts}: {pieces:?}");
                assert_eq!(pieces[0].0, 0);
                assert_eq!(pieces.last().unwrap().1, len);
                for pair in pieces.windows(2) {
                    assert_eq!(pair[0].1, pair[1].0, "{len} in {parts}: {pieces:?}");
                }
                assert!(pieces.iter().all(|&(s, e)| s % w == 0 && s <= e), "{pieces:?}");
            }
        }
    }

    #[test]
    fn warm_reads_a_file_in_whole_and_leaves_it_unchanged() {
        let len = WARM_WINDOW * 2 + 12_345;
        let file = file_of(len);
        evict(file.path()).unwrap();
        warm(file.path()).unwrap();
        assert_eq!(resident(file.path()).unwrap(), len as Bytes);
        let back = std::fs::read(file.path()).unwrap();
        assert!(back.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }

    #[test]
    fn a_partly_cached_file_is_warm_again_after_preparing() {
        let len = WARM_WINDOW + 4096 * 3 + 17;
        let file = file_of(len);
        let _ = std::fs::read(file.path()).unwrap();
        // Drop the second half (page cache permitting: tmpfs keeps it, and the test holds).
        // SAFETY: a valid descriptor and a range inside the file.
        unsafe {
            libc::posix_fadvise(file.as_file().as_raw_fd(), (len / 2) as i64, 0, libc::POSIX_FADV_DONTNEED)
        };
        let report = prepare(file.path(), CacheState::Warm).unwrap();
        assert_eq!(
            report,
            CacheReport { resident_bytes: len as Bytes, file_bytes: len as Bytes, verified: true }
        );
    }

    /// Bytes this process has had read from storage (`/proc/self/io`, its ended threads
    /// included); `None` where the kernel does not count them.
    fn read_bytes() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/self/io").ok()?;
        text.lines().find_map(|l| l.strip_prefix("read_bytes: ")).and_then(|v| v.trim().parse().ok())
    }

    #[test]
    fn holes_in_a_filled_file_are_read_back_alone_and_after_a_cold_step_it_is_read_whole() {
        // It counts the whole process's reads from storage: alone, no other test's count.
        if !alone(
            "cache::tests::holes_in_a_filled_file_are_read_back_alone_and_after_a_cold_step_it_is_read_whole",
        ) {
            return;
        }
        let len = WARM_WINDOW * 8;
        let file = file_of(len);
        let drop_window = |at: usize| {
            // SAFETY: a valid descriptor and a range inside the file.
            unsafe {
                libc::posix_fadvise(
                    file.as_file().as_raw_fd(),
                    at as i64,
                    WARM_WINDOW as i64,
                    libc::POSIX_FADV_DONTNEED,
                )
            };
        };
        assert!(prepare(file.path(), CacheState::Warm).unwrap().verified);
        drop_window(WARM_WINDOW * 3);
        let (Some(before), true) = (read_bytes(), resident(file.path()).unwrap() < len as Bytes) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "this kernel counts no storage reads per process, or keeps pages that were dropped"
            );
            return;
        };
        let report = prepare(file.path(), CacheState::Warm).unwrap();
        assert!(report.verified, "{report:?}");
        let read = read_bytes().unwrap() - before;
        assert!(read < (len / 2) as u64, "a hole of 1/8 of the file read {read} of {len} bytes back");

        // A cold step in between: its partial reads are not kept, the file is read whole.
        assert_eq!(prepare(file.path(), CacheState::Cold).unwrap().resident_bytes, 0);
        warm(file.path()).unwrap();
        drop_window(WARM_WINDOW * 5);
        let before = read_bytes().unwrap();
        assert!(prepare(file.path(), CacheState::Warm).unwrap().verified);
        let read = read_bytes().unwrap() - before;
        assert!(read >= (len / 2) as u64, "after a cold step only {read} of {len} bytes were read again");
    }

    #[test]
    fn a_file_is_read_cold_for_the_first_time_until_it_is_evicted_for_a_cold_read() {
        let file = file_of(3 * 4096 + 11);
        assert!(first_cold_read(file.path()), "never prepared");
        assert!(prepare(file.path(), CacheState::Warm).unwrap().verified);
        assert!(first_cold_read(file.path()), "filled, not yet read cold");
        sequential_read(file.path()).unwrap();
        assert!(!first_cold_read(file.path()), "read from the disk just now");
        assert!(prepare(file.path(), CacheState::Warm).unwrap().verified);
        assert!(first_cold_read(file.path()), "filled again since");
        prepare(file.path(), CacheState::Cold).unwrap();
        assert!(!first_cold_read(file.path()), "evicted for a cold step");
    }

    #[test]
    fn a_written_file_stays_written_and_a_filled_one_is_filled_once() {
        let written = Path::new("/settle-test/written");
        keep_as_written(written);
        assert_eq!(settle(written, Settled::Filled), Some(Settled::Written));
        assert_eq!(settle(written, Settled::Filled), Some(Settled::Written));
        let other = Path::new("/settle-test/other");
        assert_eq!(settle(other, Settled::Filled), None);
        assert_eq!(settle(other, Settled::Filled), Some(Settled::Filled));
        keep_as_written(other);
        assert_eq!(settle(other, Settled::Filled), Some(Settled::Written));
    }

    #[test]
    fn a_refilled_file_is_all_cached_and_its_first_warm_preparation_reads_nothing_again() {
        let len = WARM_WINDOW + 4096 * 7 + 5;
        let file = file_of(len);
        if !refill(file.path()).unwrap() {
            return; // a machine with almost no memory available
        }
        assert_eq!(resident(file.path()).unwrap(), len as Bytes);
        assert_eq!(settle(file.path(), Settled::Filled), Some(Settled::Filled), "recorded as filled");
        let report = prepare(file.path(), CacheState::Warm).unwrap();
        assert!(report.verified);
    }

    #[test]
    fn large_folios_are_told_from_small_ones_by_the_probes_faults() {
        let full = 1_383_091_392;
        // 660 folios of 2 MiB: a fault each, a few more at the ends.
        assert!(large_folio_faults(full, 662));
        // Small folios: a fault per 64 KiB probe read, for the whole file or 2 MiB of it.
        assert!(!large_folio_faults(full, 21_105));
        assert!(!large_folio_faults(full, 692));
        assert!(large_folio_faults(5, 1));
    }

    #[test]
    fn a_file_cached_in_small_pieces_is_refilled_and_then_found_in_large_folios() {
        // Written 4 KiB at a time, then read back the same way: small folios.
        let len = 8 * WARM_WINDOW;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let page = vec![7u8; 4096];
        for _ in 0..len / 4096 {
            file.write_all(&page).unwrap();
        }
        file.as_file().sync_all().unwrap();
        if evict(file.path()).is_err() || resident(file.path()).unwrap() != 0 {
            return; // a file system that keeps its pages: nothing to probe
        }
        let mut small = std::fs::File::open(file.path()).unwrap();
        let mut buf = [0u8; 4096];
        while small.read(&mut buf).unwrap() > 0 {}
        assert!(!whole_in_large_folios(file.path()).unwrap(), "read back 4 KiB at a time");
        if !refill(file.path()).unwrap() {
            return; // a machine with almost no memory available
        }
        let large = whole_in_large_folios(file.path()).unwrap();
        // warm fills 2 MiB folios where the file system makes large folios (ext4 on the
        // project's machines); CI runs there.
        if std::env::var_os("CI").is_some() {
            assert!(large, "refilled with 2 MiB folios");
        }
        // Evicted, it is not cached whole.
        evict(file.path()).unwrap();
        assert!(!whole_in_large_folios(file.path()).unwrap());
    }

    /// This process's mapped file pages now (`RssFile`).
    fn rss_file() -> Bytes {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<Bytes>().unwrap() * 1024
    }

    #[test]
    fn probing_a_cached_file_leaves_none_of_it_in_the_processs_memory() {
        // Alone: another test's mappings would move the count.
        if !alone("cache::tests::probing_a_cached_file_leaves_none_of_it_in_the_processs_memory") {
            return;
        }
        let file = file_of(48 * WARM_WINDOW);
        if !refill(file.path()).unwrap() {
            return; // a machine with almost no memory available
        }
        // SAFETY: a read-only mapping of the test's own file, dropped at the end.
        let map = unsafe { memmap2::Mmap::map(file.as_file()) }.unwrap();
        let before = rss_file();
        let faults = probe_faults(&map);
        let grown = rss_file().saturating_sub(before);
        assert!(faults > 0, "the probe read the mapping");
        // Every window was read (a fault or more each) and dropped again: the runner's RSS
        // must not grow by a 1.38 GB file.
        assert!(grown < 4 * WARM_WINDOW as Bytes, "a probe of a 192 MiB file left {grown} B mapped");
    }

    #[test]
    fn only_a_copy_this_process_wrote_and_still_caches_whole_is_as_written() {
        let file = file_of(4096 * 5 + 100);
        let _ = std::fs::read(file.path()).unwrap();
        assert!(!still_as_written(file.path()), "read, not written by this process");
        keep_as_written(file.path());
        assert!(still_as_written(file.path()));
        if evict(file.path()).is_ok() && resident(file.path()).unwrap() == 0 {
            assert!(!still_as_written(file.path()), "evicted: its folios are gone");
        }
        assert!(!still_as_written(Path::new("/settle-test/missing")));
    }
}
