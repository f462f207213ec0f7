//! What a question's lesson needs of the machine, checked before grading.
//!
//! A question lists its needs (`needs = ["cold_cache", "evictable_file_system"]`); when the
//! machine cannot give one, the question is "not gradable here" with the reason, whatever
//! was answered, and `lab run` says so before measuring (what the data folder's file system
//! tells) and in its exit code (3, see `lab run --help`).

use super::evidence::Evidence;
use crate::cache::CacheState;
use crate::machine::Machine;

/// One precondition of a question's lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Every cold step the quantity reads started with none of its file cached.
    ColdCache,
    /// The data folder's file system can evict a file's pages (tmpfs and ramfs cannot:
    /// their pages are the file).
    EvictableFileSystem,
    /// The .npy file is larger than the disk's read-ahead window, so that read-ahead and
    /// read-around cannot bring in the whole file at once.
    FileLargerThanReadAhead,
    /// The data folder's file system caches files in large folios on this kernel.
    LargeFolios,
    /// A Python that imports NumPy, to run the lab's program (implied by every question
    /// that reads `program.*`).
    PythonNumpy,
}

/// Every need, with its name in a lab's spec.
pub const NEEDS: [(Need, &str); 5] = [
    (Need::ColdCache, "cold_cache"),
    (Need::EvictableFileSystem, "evictable_file_system"),
    (Need::FileLargerThanReadAhead, "file_larger_than_read_ahead"),
    (Need::LargeFolios, "large_folios"),
    (Need::PythonNumpy, "python_numpy"),
];

/// File systems whose pages cannot be evicted to disk.
const UNEVICTABLE: [&str; 3] = ["tmpfs", "ramfs", "devtmpfs"];

/// A file system that caches regular files in large folios, and from which kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LargeFolioSupport {
    /// The file system, as `/proc/self/mountinfo` names it.
    pub filesystem: &'static str,
    /// The first kernel (major, minor) whose default build does.
    pub from: (u32, u32),
    /// What else to know.
    pub note: &'static str,
}

/// Which file systems cache regular files in large folios, from which kernel: shown where a
/// student meets it (lab 4's handout, docs/labs.md; a test keeps those in step with this).
pub const LARGE_FOLIOS: [LargeFolioSupport; 4] = [
    LargeFolioSupport { filesystem: "xfs", from: (5, 18), note: "the first, through iomap" },
    LargeFolioSupport {
        filesystem: "bcachefs",
        from: (6, 7),
        note: "in mainline from 6.7 to 6.17, then out of tree",
    },
    LargeFolioSupport {
        filesystem: "ext4",
        from: (6, 16),
        note: "regular files, except with data=journal, fscrypt or fsverity",
    },
    LargeFolioSupport {
        filesystem: "btrfs",
        from: (7, 2),
        note: "6.17 to 7.1 only in kernels built with CONFIG_BTRFS_EXPERIMENTAL",
    },
];

/// The large-folio file systems in words: "xfs from Linux 5.18, ext4 from 6.16, ...".
fn large_folio_list() -> String {
    LARGE_FOLIOS
        .iter()
        .map(|s| format!("{} from Linux {}.{}", s.filesystem, s.from.0, s.from.1))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Need {
    /// Parses a need's name; the error lists them all.
    pub fn parse(name: &str) -> Result<Need, String> {
        NEEDS.iter().find(|(_, n)| *n == name.trim()).map(|(need, _)| *need).ok_or_else(|| {
            let names: Vec<&str> = NEEDS.iter().map(|(_, n)| *n).collect();
            format!("need '{name}' is unknown: a question may need {}", names.join(", "))
        })
    }

    /// Its name in a spec.
    pub fn name(self) -> &'static str {
        NEEDS.iter().find(|(n, _)| *n == self).map_or("?", |(_, name)| name)
    }

    /// Why the machine alone (before measuring) cannot give this need, if it cannot.
    pub fn unmet_by_machine(self, machine: &Machine) -> Option<String> {
        let fs = machine.filesystem.as_deref();
        match self {
            Need::ColdCache | Need::EvictableFileSystem => match fs {
                Some(fs) if UNEVICTABLE.contains(&fs) => Some(format!(
                    "the data folder is on {fs}, which keeps every page of a file in memory: {}; pass --data-dir on a disk",
                    if self == Need::ColdCache {
                        "a cold cache cannot be established"
                    } else {
                        "its pages cannot be evicted, and a mapping of it counts them as shared memory, not as clean file pages"
                    }
                )),
                _ => None,
            },
            Need::FileLargerThanReadAhead | Need::PythonNumpy => None,
            Need::LargeFolios => {
                let kernel = kernel_version(&machine.kernel);
                let fs = fs.unwrap_or("an unknown file system");
                let from = LARGE_FOLIOS.iter().find(|s| s.filesystem == fs).map(|s| s.from);
                match (from, kernel) {
                    (Some(from), Some(k)) if k >= from => None,
                    (Some((a, b)), _) => Some(format!(
                        "the data folder is on {fs}, which caches files in large folios from Linux {a}.{b}; this kernel is {}",
                        machine.kernel
                    )),
                    (None, _) => Some(format!(
                        "the data folder is on {fs}, which mmap-lab does not know to cache files in large folios ({}); pass --data-dir on one of those",
                        large_folio_list()
                    )),
                }
            }
        }
    }

    /// Why the measurement in `evidence` does not give this need, if it does not; `steps`
    /// are the steps the question's quantity reads.
    pub fn unmet(self, evidence: &Evidence<'_>, steps: &[(&str, CacheState)]) -> Option<String> {
        let results = evidence.results;
        if let Some(why) = self.unmet_by_machine(&results.machine) {
            return Some(why);
        }
        match self {
            Need::ColdCache => steps.iter().filter(|(_, c)| *c == CacheState::Cold).find_map(|(id, c)| {
                let report = results.step(id, *c)?.cache_report?;
                (!report.verified).then(|| {
                    format!(
                        "step {id}/cold did not start cold: {} of its {} bytes were still cached",
                        report.resident_bytes, report.file_bytes
                    )
                })
            }),
            Need::FileLargerThanReadAhead => match results.machine.read_ahead_kb {
                None => Some("the read-ahead of the data folder's disk is unknown".to_owned()),
                Some(kb) if results.dataset.npy_bytes <= kb * 1024 => Some(format!(
                    "the file ({} bytes) is no larger than the disk's read-ahead ({kb} KiB): one read-ahead brings in all of it; run at a larger --shape",
                    results.dataset.npy_bytes
                )),
                Some(_) => None,
            },
            Need::PythonNumpy => match evidence.program {
                Some(program) => program.not_run.clone(),
                None => Some("this measurement has no run of the lab's program".to_owned()),
            },
            Need::EvictableFileSystem | Need::LargeFolios => None,
        }
    }
}

/// `6.8.0-45-generic` -> (6, 8).
fn kernel_version(kernel: &str) -> Option<(u32, u32)> {
    let mut parts = kernel.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_parse_and_kernels_compare() {
        assert_eq!(Need::parse("cold_cache"), Ok(Need::ColdCache));
        assert!(Need::parse("cold").unwrap_err().contains("large_folios"));
        assert_eq!(kernel_version("6.8.0-45-generic"), Some((6, 8)));
        assert_eq!(kernel_version("5.15.167.4-microsoft"), Some((5, 15)));
    }

    #[test]
    fn large_folios_follow_the_file_system_and_the_kernel() {
        let on = |fs: &str, kernel: &str| {
            let mut machine = Machine::detect(std::path::Path::new("."));
            (machine.filesystem, machine.kernel) = (Some(fs.to_owned()), kernel.to_owned());
            Need::LargeFolios.unmet_by_machine(&machine)
        };
        assert_eq!(on("ext4", "6.16.0"), None);
        assert_eq!(on("xfs", "6.1.0-13-amd64"), None);
        let old = on("ext4", "6.8.0-45-generic").unwrap();
        assert!(old.contains("from Linux 6.16") && old.contains("6.8.0-45-generic"), "{old}");
        let unknown = on("zfs", "6.18.0").unwrap();
        assert!(unknown.contains("zfs") && unknown.contains("xfs from Linux 5.18"), "{unknown}");
    }

    /// The table a student reads (lab 4's handout, docs/labs.md) is this table.
    #[test]
    fn the_large_folio_tables_in_the_docs_are_the_code_s() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for doc in ["docs/labs.md", "experiments/labs/04_faults_not_pages.md"] {
            let text = std::fs::read_to_string(root.join(doc)).unwrap();
            for s in LARGE_FOLIOS {
                let row = format!("| {} | {}.{} | {} |", s.filesystem, s.from.0, s.from.1, s.note);
                assert!(text.contains(&row), "{doc} lacks the row {row}");
            }
        }
    }
}
