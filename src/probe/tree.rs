//! The outside probe: snapshots of a process tree taken from another process.
//!
//! Everything comes from `/proc` through procfs, and from the page cache:
//!
//! | field | source |
//! |---|---|
//! | `rss_anon_bytes`, `rss_file_bytes`, `rss_shmem_bytes`, `pte_bytes` | `/proc/PID/status` (`RssAnon`, `RssFile`, `RssShmem`, `VmPTE`) |
//! | `pss_*`, `private_dirty_bytes`, `shared_clean_bytes`, ... | `/proc/PID/smaps_rollup` |
//! | `minor_faults`, `major_faults` | `/proc/PID/stat` (since the process started) |
//! | `read_bytes` | `/proc/PID/io` (`read_bytes`: bytes fetched from storage) |
//! | per file `rss_bytes`, `pss_bytes`, `dirty_bytes` | `/proc/PID/smaps`, summed over the file's mappings |
//! | per file `resident_bytes`, `residency` | `cachestat` on the file (Linux 6.5+), else `mincore` on a mapping of it |
//!
//! The tree is the root and every descendant alive at that moment, found through
//! `/proc/PID/task/TID/children` (or, where the kernel lacks that file, every process's
//! parent). A process that exits between two reads is left out of the snapshot, never an
//! error.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use procfs::process::{MMapPath, Process};
use serde::{Deserialize, Serialize};

use crate::probe::Residency;
use crate::units::{Bytes, Nanos};

/// Bins of a mapped file's residency strip.
pub const FILE_BINS: usize = 32;
/// Files smaller than this get no residency strip (their total is still recorded).
pub const STRIP_MIN_BYTES: Bytes = 1 << 20;

/// One process of the tree at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessSnapshot {
    /// Its id.
    pub pid: i32,
    /// Its parent's id.
    pub ppid: i32,
    /// Its name (`comm`).
    pub name: String,
    /// Anonymous resident memory (`RssAnon`).
    pub rss_anon_bytes: Bytes,
    /// File-backed resident memory (`RssFile`).
    pub rss_file_bytes: Bytes,
    /// Resident shared memory (`RssShmem`: tmpfs, shared anonymous mappings).
    pub rss_shmem_bytes: Bytes,
    /// Proportional set size: each resident page divided by the processes that map it.
    pub pss_bytes: Bytes,
    /// PSS of anonymous pages.
    pub pss_anon_bytes: Bytes,
    /// PSS of file pages.
    pub pss_file_bytes: Bytes,
    /// PSS of shared memory.
    pub pss_shmem_bytes: Bytes,
    /// Pages only this process maps, modified.
    pub private_dirty_bytes: Bytes,
    /// Pages only this process maps, unmodified.
    pub private_clean_bytes: Bytes,
    /// Pages mapped by other processes too, unmodified.
    pub shared_clean_bytes: Bytes,
    /// Pages mapped by other processes too, modified.
    pub shared_dirty_bytes: Bytes,
    /// Dirty file-backed pages (of its file mappings, PSS-weighted where the kernel says).
    pub file_dirty_bytes: Bytes,
    /// Page tables (`VmPTE`).
    pub pte_bytes: Bytes,
    /// Minor faults since it started.
    pub minor_faults: u64,
    /// Major faults (served from storage) since it started.
    pub major_faults: u64,
    /// Bytes it caused to be read from storage, when `/proc/PID/io` is readable.
    pub read_bytes: Option<Bytes>,
}

impl ProcessSnapshot {
    /// What the kernel cannot reclaim without swap: anonymous + shared memory + dirty file
    /// pages, PSS-weighted so that pages shared after a fork count once.
    pub fn own_bytes(&self) -> Bytes {
        self.pss_anon_bytes + self.pss_shmem_bytes + self.file_dirty_bytes
    }

    /// Resident set size, all kinds.
    pub fn rss_bytes(&self) -> Bytes {
        self.rss_anon_bytes + self.rss_file_bytes + self.rss_shmem_bytes
    }
}

/// One process's share of one mapped file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileUse {
    /// The process.
    pub pid: i32,
    /// Its resident pages of the file.
    pub rss_bytes: Bytes,
    /// Its proportional share of them.
    pub pss_bytes: Bytes,
    /// Of them, modified (private copies or dirty shared pages).
    pub dirty_bytes: Bytes,
}

/// One mapped file at one moment: one row however many processes map it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileSnapshot {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub size_bytes: Bytes,
    /// Its bytes in the page cache (whether mapped or not).
    pub resident_bytes: Bytes,
    /// Percent resident in each of [`FILE_BINS`] slices (empty below [`STRIP_MIN_BYTES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub residency: Vec<u8>,
    /// `cachestat`, `mincore` or `none` (unreadable or empty).
    pub residency_method: String,
    /// Each process that maps it.
    pub uses: Vec<FileUse>,
}

impl FileSnapshot {
    /// The tree's resident pages of it, summed over processes (shared pages counted once each).
    pub fn rss_bytes(&self) -> Bytes {
        self.uses.iter().map(|u| u.rss_bytes).sum()
    }

    /// The tree's proportional share of it: about one copy when processes share its pages.
    pub fn pss_bytes(&self) -> Bytes {
        self.uses.iter().map(|u| u.pss_bytes).sum()
    }

    /// Modified pages of it, summed.
    pub fn dirty_bytes(&self) -> Bytes {
        self.uses.iter().map(|u| u.dirty_bytes).sum()
    }
}

/// The whole tree at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeSnapshot {
    /// Every process alive and readable, the root first.
    pub processes: Vec<ProcessSnapshot>,
    /// Every regular file mapped by any of them.
    pub files: Vec<FileSnapshot>,
    /// How long the snapshot took.
    pub probe_ns: Nanos,
}

impl TreeSnapshot {
    /// Sums a field over the processes.
    pub fn sum(&self, field: impl Fn(&ProcessSnapshot) -> Bytes) -> Bytes {
        self.processes.iter().map(field).sum()
    }
}

/// Why a process cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// No such process.
    #[error("no process {0}: it has exited or never existed; check the PID (`ps -e`)")]
    Gone(i32),
    /// Not allowed.
    #[error(
        "cannot read /proc/{0}/smaps_rollup: permission denied; reading another user's process needs ptrace access (PTRACE_MODE_READ: the same user, or root / CAP_SYS_PTRACE, and kernel.yama.ptrace_scope permitting)"
    )]
    Permission(i32),
}

/// Checks that `pid` exists and that its memory can be read.
pub fn check_attach(pid: i32) -> Result<(), AttachError> {
    let process = Process::new(pid).map_err(|_| AttachError::Gone(pid))?;
    match process.smaps_rollup() {
        Ok(_) => Ok(()),
        Err(procfs::ProcError::PermissionDenied(_)) => Err(AttachError::Permission(pid)),
        Err(_) if !process.is_alive() => Err(AttachError::Gone(pid)),
        Err(procfs::ProcError::NotFound(_)) => Err(AttachError::Gone(pid)),
        Err(_) => Err(AttachError::Permission(pid)),
    }
}

/// Takes [`TreeSnapshot`]s of a process tree; keeps a residency reader per file.
pub struct TreeProbe {
    roots: Vec<i32>,
    under_self: bool,
    residency: HashMap<PathBuf, (Bytes, Option<Residency>)>,
}

impl TreeProbe {
    /// A probe of the trees under `roots` (the processes themselves and their descendants).
    pub fn new(roots: Vec<i32>) -> TreeProbe {
        TreeProbe { roots, under_self: false, residency: HashMap::new() }
    }

    /// A probe of every descendant of this process (not this process itself): the
    /// command it started and, for a subreaper, the orphans re-parented to it.
    pub fn under_this_process() -> TreeProbe {
        TreeProbe { roots: Vec::new(), under_self: true, residency: HashMap::new() }
    }

    /// A snapshot of the tree now.
    pub fn snapshot(&mut self) -> TreeSnapshot {
        let started = Instant::now();
        let pids = if self.under_self {
            let me = std::process::id() as i32;
            descendants(&[me]).into_iter().filter(|&p| p != me).collect()
        } else {
            descendants(&self.roots)
        };
        let mut processes = Vec::with_capacity(pids.len());
        let mut files: BTreeMap<PathBuf, Vec<FileUse>> = BTreeMap::new();
        for pid in pids {
            if let Some((process, uses)) = read_process(pid, true) {
                for (path, file_use) in uses {
                    files.entry(path).or_default().push(file_use);
                }
                processes.push(process);
            }
        }
        let files = files.into_iter().map(|(path, uses)| self.file(path, uses)).collect();
        TreeSnapshot { processes, files, probe_ns: started.elapsed().as_nanos() as Nanos }
    }

    fn file(&mut self, path: PathBuf, uses: Vec<FileUse>) -> FileSnapshot {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let entry = self.residency.entry(path.clone()).or_insert((u64::MAX, None));
        if entry.0 != size {
            // New, or grown or shrunk since: measure against its length now.
            *entry = (size, Residency::new(&path).ok());
        }
        let bins = if size >= STRIP_MIN_BYTES { FILE_BINS } else { 1 };
        let (method, measured) = match entry.1.as_mut() {
            Some(r) => (r.method().to_owned(), r.measure(bins).ok()),
            None => ("none".to_owned(), None),
        };
        let (resident_bytes, mut residency) = measured.unwrap_or_default();
        if size < STRIP_MIN_BYTES {
            residency.clear();
        }
        FileSnapshot { path, size_bytes: size, resident_bytes, residency, residency_method: method, uses }
    }
}

/// `roots` and all their descendants alive now, each once, parents before children.
pub fn descendants(roots: &[i32]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    let mut queue: std::collections::VecDeque<i32> = roots.iter().copied().collect();
    let mut by_parent: Option<HashMap<i32, Vec<i32>>> = None;
    while let Some(pid) = queue.pop_front() {
        if out.contains(&pid) || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        out.push(pid);
        let children = match children_of(pid) {
            Some(c) => c,
            None => by_parent.get_or_insert_with(parents).get(&pid).cloned().unwrap_or_default(),
        };
        queue.extend(children);
    }
    out
}

/// The children of `pid` from `/proc/PID/task/*/children`; `None` where the kernel has no
/// such file (built without `CONFIG_PROC_CHILDREN`).
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = Vec::new();
    for task in tasks.flatten() {
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(text) => out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && task.path().exists() => return None,
            Err(_) => {} // the thread exited meanwhile
        }
    }
    Some(out)
}

/// Every process's children, from every process's parent (the slow way).
fn parents() -> HashMap<i32, Vec<i32>> {
    let mut map: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(all) = procfs::process::all_processes() {
        for stat in all.flatten().filter_map(|p| p.stat().ok()) {
            map.entry(stat.ppid).or_default().push(stat.pid);
        }
    }
    map
}

/// Every process of the tree under `root` now, without the per-file walk of `smaps`
/// (`file_dirty_bytes` stays 0): the cheap snapshot for counting workers.
pub fn processes(root: i32) -> Vec<ProcessSnapshot> {
    descendants(&[root]).into_iter().filter_map(|pid| read_process(pid, false)).map(|(p, _)| p).collect()
}

/// One process's numbers and (with `files`) its per-file uses; `None` if it exited or
/// cannot be read.
fn read_process(pid: i32, files: bool) -> Option<(ProcessSnapshot, Vec<(PathBuf, FileUse)>)> {
    let process = Process::new(pid).ok()?;
    let stat = process.stat().ok()?;
    let status = process.status().ok()?;
    let rollup = process.smaps_rollup().ok()?;
    let maps: Vec<procfs::process::MemoryMap> =
        if files { process.smaps().ok()?.into_iter().collect() } else { Vec::new() };
    let read_bytes = process.io().ok().map(|io| io.read_bytes);
    let kb = |v: Option<u64>| v.unwrap_or(0) * 1024;
    let rolled = rollup.memory_map_rollup.0.first().map(|m| m.extension.map.clone()).unwrap_or_default();
    let get = |key: &str| rolled.get(key).copied().unwrap_or(0);
    let mut uses: BTreeMap<PathBuf, FileUse> = BTreeMap::new();
    for map in maps {
        let MMapPath::Path(path) = &map.pathname else { continue };
        let field = |key: &str| map.extension.map.get(key).copied();
        let rss = field("Rss").unwrap_or(0);
        let dirty = field("Pss_Dirty")
            .unwrap_or_else(|| field("Private_Dirty").unwrap_or(0) + field("Shared_Dirty").unwrap_or(0));
        let entry = uses.entry(path.clone()).or_insert(FileUse { pid, ..FileUse::default() });
        entry.rss_bytes += rss;
        entry.pss_bytes += field("Pss").unwrap_or(0);
        // Written pages of a private file mapping are anonymous copies (in Pss_Anon); only a
        // shared, writable mapping's dirty pages are file pages this process dirtied. A
        // read-only mapping of a file just written (`tofile`, `np.save`) shows the page
        // cache's dirty pages too: they are written back without the process, and are not
        // its own memory.
        use procfs::process::MMPermissions as P;
        if map.perms.contains(P::SHARED | P::WRITE) {
            entry.dirty_bytes += dirty;
        }
    }
    let file_dirty = uses.values().map(|u| u.dirty_bytes).sum();
    let snapshot = ProcessSnapshot {
        pid,
        ppid: stat.ppid,
        name: stat.comm.clone(),
        rss_anon_bytes: kb(status.rssanon),
        rss_file_bytes: kb(status.rssfile),
        rss_shmem_bytes: kb(status.rssshmem),
        pss_bytes: get("Pss"),
        pss_anon_bytes: get("Pss_Anon"),
        pss_file_bytes: get("Pss_File"),
        pss_shmem_bytes: get("Pss_Shmem"),
        private_dirty_bytes: get("Private_Dirty"),
        private_clean_bytes: get("Private_Clean"),
        shared_clean_bytes: get("Shared_Clean"),
        shared_dirty_bytes: get("Shared_Dirty"),
        file_dirty_bytes: file_dirty,
        pte_bytes: kb(status.vmpte),
        minor_faults: stat.minflt,
        major_faults: stat.majflt,
        read_bytes,
    };
    let uses = uses.into_iter().filter(|(_, u)| u.rss_bytes > 0 || u.pss_bytes > 0).collect();
    Some((snapshot, uses))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_file_read_through_shows_as_one_row_with_its_pages() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&vec![5u8; 4 << 20]).unwrap();
        file.as_file().sync_all().unwrap();
        // SAFETY: a private temporary file nobody truncates while it is mapped.
        let map = unsafe { memmap2::Mmap::map(file.as_file()) }.unwrap();
        let sum: u64 = map.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(sum, 5 * 1024);
        let me = std::process::id() as i32;
        let snap = TreeProbe::new(vec![me]).snapshot();
        assert_eq!(snap.processes[0].pid, me);
        let path = std::fs::canonicalize(file.path()).unwrap();
        let row = snap.files.iter().find(|f| f.path == path).expect("the mapped file has a row");
        assert_eq!(row.size_bytes, 4 << 20);
        assert_eq!(row.uses.len(), 1);
        assert_eq!(row.rss_bytes(), 4 << 20, "every page was touched");
        assert_eq!(row.residency.len(), FILE_BINS);
        assert!(row.resident_bytes > 0, "{row:?}");
        assert!(snap.processes[0].rss_file_bytes >= 4 << 20);
        drop(map);
    }

    #[test]
    fn only_pages_written_through_a_writable_shared_mapping_count_as_dirty() {
        use std::io::Write;
        let me = std::process::id() as i32;
        // A file just written and not synced: its page-cache pages are dirty, but a
        // read-only mapping of it did not dirty them.
        let mut fresh = tempfile::NamedTempFile::new().unwrap();
        fresh.write_all(&vec![1u8; 1 << 20]).unwrap();
        // SAFETY: a private temporary file nobody truncates while it is mapped.
        let read_only = unsafe { memmap2::Mmap::map(fresh.as_file()) }.unwrap();
        assert_eq!(read_only.iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>(), 256);
        // A file written through a shared, writable mapping: those pages are its own.
        let written = tempfile::NamedTempFile::new().unwrap();
        written.as_file().set_len(1 << 20).unwrap();
        // SAFETY: as above.
        let mut map = unsafe { memmap2::MmapMut::map_mut(written.as_file()) }.unwrap();
        map.iter_mut().step_by(4096).for_each(|b| *b = 7);
        let snap = TreeProbe::new(vec![me]).snapshot();
        let row = |f: &tempfile::NamedTempFile| {
            let path = std::fs::canonicalize(f.path()).unwrap();
            snap.files.iter().find(|r| r.path == path).cloned().expect("a row per mapped file")
        };
        assert_eq!(row(&fresh).dirty_bytes(), 0, "the read-only mapping dirtied nothing");
        assert!(row(&written).dirty_bytes() > 0, "{:?}", row(&written));
        assert!(snap.processes[0].file_dirty_bytes >= row(&written).dirty_bytes());
        drop((read_only, map));
    }

    #[test]
    fn a_gone_process_is_reported_as_gone() {
        // PIDs are below pid_max (at most 2^22): this one cannot exist.
        assert!(matches!(check_attach(1 << 23), Err(AttachError::Gone(_))));
        assert!(descendants(&[1 << 23]).is_empty());
        assert!(check_attach(std::process::id() as i32).is_ok());
    }
}
