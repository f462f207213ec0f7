//! What a question's lesson needs of the machine, checked before grading.
//!
//! A question lists its needs (`needs = ["cold_cache", "evictable_file_system"]`); when the
//! machine cannot give one, the question is "not gradable here" with the reason, whatever
//! was answered, and `lab run` says so before measuring (what the data folder's file system
//! tells) and in its exit code (3, see `lab run --help`).

use crate::cache::CacheState;
use crate::machine::Machine;
use crate::results::Results;

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
}

/// Every need, with its name in a lab's spec.
pub const NEEDS: [(Need, &str); 4] = [
    (Need::ColdCache, "cold_cache"),
    (Need::EvictableFileSystem, "evictable_file_system"),
    (Need::FileLargerThanReadAhead, "file_larger_than_read_ahead"),
    (Need::LargeFolios, "large_folios"),
];

/// File systems whose pages cannot be evicted to disk.
const UNEVICTABLE: [&str; 3] = ["tmpfs", "ramfs", "devtmpfs"];

/// File systems that cache regular files in large folios, from which kernel (major, minor).
const LARGE_FOLIOS: [(&str, (u32, u32)); 4] =
    [("xfs", (5, 18)), ("bcachefs", (6, 7)), ("ext4", (6, 16)), ("btrfs", (6, 17))];

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
                    "the data folder is on {fs}, which keeps every page of a file in memory: a cold cache cannot be established; pass --data-dir on a disk"
                )),
                _ => None,
            },
            Need::FileLargerThanReadAhead => None,
            Need::LargeFolios => {
                let kernel = kernel_version(&machine.kernel);
                let fs = fs.unwrap_or("an unknown file system");
                let from = LARGE_FOLIOS.iter().find(|(name, _)| *name == fs).map(|(_, v)| *v);
                match (from, kernel) {
                    (Some(from), Some(k)) if k >= from => None,
                    (Some((a, b)), _) => Some(format!(
                        "the data folder is on {fs}, which caches files in large folios from Linux {a}.{b}; this kernel is {}",
                        machine.kernel
                    )),
                    (None, _) => Some(format!(
                        "the data folder is on {fs}, which mmap-lab does not know to cache files in large folios (xfs does from Linux 5.18, ext4 from 6.16)"
                    )),
                }
            }
        }
    }

    /// Why the measurement in `results` does not give this need, if it does not; `steps`
    /// are the steps the question's quantity reads.
    pub fn unmet(self, results: &Results, steps: &[(&str, CacheState)]) -> Option<String> {
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
}
