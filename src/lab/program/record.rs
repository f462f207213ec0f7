//! What a lab keeps of its program's run: the tree's numbers at each phase the program
//! marked, read from the `measure.json` that `mmap-lab measure` wrote. Stored in the lab's
//! record, under the checksum of the measured section, so `program.<phase>.<field>`
//! quantities are graded from it like any other measurement.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::measure::record::MeasureRecord;
use crate::probe::tree::{ProcessSnapshot, TreeSnapshot};
use crate::units::Bytes;

/// The tree at one phase mark: summed over its processes, and for the lab's data file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseRecord {
    /// The phase's name, as the program marked it.
    pub name: String,
    /// Processes alive in the tree.
    pub processes: u64,
    /// Summed RSS, all kinds.
    pub rss_bytes: Bytes,
    /// Summed `RssAnon`.
    pub rss_anon_bytes: Bytes,
    /// Summed `RssFile`.
    pub rss_file_bytes: Bytes,
    /// Summed PSS.
    pub pss_bytes: Bytes,
    /// Summed own memory: anonymous + shared memory + dirty file pages, PSS-weighted.
    pub own_bytes: Bytes,
    /// Summed private dirty pages.
    pub private_dirty_bytes: Bytes,
    /// The data file's resident pages, summed over the processes that map it.
    pub file_rss_bytes: Bytes,
    /// The data file's PSS, summed: about one copy when processes share its pages.
    pub file_pss_bytes: Bytes,
    /// The data file's bytes in the page cache (mapped or not).
    pub file_resident_bytes: Bytes,
}

impl PhaseRecord {
    /// The numbers of `tree` at the phase `name`; `file` is the data file (canonical path).
    pub fn of(name: &str, tree: &TreeSnapshot, file: &Path) -> PhaseRecord {
        let row = tree.files.iter().find(|f| f.path == file);
        PhaseRecord {
            name: name.to_owned(),
            processes: tree.processes.len() as u64,
            rss_bytes: tree.sum(ProcessSnapshot::rss_bytes),
            rss_anon_bytes: tree.sum(|p| p.rss_anon_bytes),
            rss_file_bytes: tree.sum(|p| p.rss_file_bytes),
            pss_bytes: tree.sum(|p| p.pss_bytes),
            own_bytes: tree.sum(ProcessSnapshot::own_bytes),
            private_dirty_bytes: tree.sum(|p| p.private_dirty_bytes),
            file_rss_bytes: row.map_or(0, |f| f.rss_bytes()),
            file_pss_bytes: row.map_or(0, |f| f.pss_bytes()),
            file_resident_bytes: row.map_or(0, |f| f.resident_bytes),
        }
    }
}

/// A lab's program as run (or why it was not).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgramRecord {
    /// The command `mmap-lab measure` ran: the Python, the script, its arguments.
    pub command: Vec<String>,
    /// Why it was not run (no Python with NumPy): its questions are not gradable here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    /// Why it did not end well (its exit status or signal, a timeout), with its last words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The data file the `file_*` fields read.
    pub data_file: PathBuf,
    /// Each phase it marked, in order.
    pub phases: Vec<PhaseRecord>,
    /// What `mmap-lab measure` says about the run, sentence by sentence.
    #[serde(default)]
    pub explained: Vec<String>,
    /// The folder of `measure.json` and its report.
    #[serde(default)]
    pub report: Option<PathBuf>,
}

impl ProgramRecord {
    /// A program that could not run, for `why`.
    pub fn not_run(why: String) -> ProgramRecord {
        ProgramRecord { not_run: Some(why), ..ProgramRecord::default() }
    }

    /// The phases of `record` (its samples taken at marks), for the data file `file`.
    pub fn phases_of(record: &MeasureRecord, file: &Path) -> Vec<PhaseRecord> {
        record
            .samples
            .iter()
            .filter_map(|s| s.phase.as_deref().map(|name| PhaseRecord::of(name, &s.tree, file)))
            .collect()
    }

    /// The phase `name`, or why there is none.
    pub fn phase(&self, name: &str) -> Result<&PhaseRecord, String> {
        if let Some(why) = &self.not_run {
            return Err(format!("the program was not run: {why}"));
        }
        self.phases.iter().find(|p| p.name == name).ok_or_else(|| {
            let marked: Vec<&str> = self.phases.iter().map(|p| p.name.as_str()).collect();
            let failed = self.failed.as_deref().map(|f| format!("; {f}")).unwrap_or_default();
            format!(
                "the program marked no phase '{name}' (it marked {}){failed}",
                if marked.is_empty() { "none".to_owned() } else { marked.join(", ") }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::Sample;
    use crate::probe::tree::{FileSnapshot, FileUse};

    fn process(pid: i32, anon: Bytes) -> ProcessSnapshot {
        ProcessSnapshot {
            pid,
            rss_anon_bytes: anon,
            pss_anon_bytes: anon,
            pss_bytes: anon,
            ..Default::default()
        }
    }

    #[test]
    fn a_phase_sums_the_tree_and_reads_the_data_file_alone() {
        let file = PathBuf::from("/data/X_train.npy");
        let uses = |n: usize| -> Vec<FileUse> {
            (0..n)
                .map(|i| FileUse { pid: i as i32, rss_bytes: 100, pss_bytes: 100 / n as u64, dirty_bytes: 0 })
                .collect()
        };
        let tree = TreeSnapshot {
            processes: vec![process(1, 10), process(2, 20)],
            files: vec![
                FileSnapshot {
                    path: PathBuf::from("/usr/lib/libpython.so"),
                    uses: uses(2),
                    ..Default::default()
                },
                FileSnapshot { path: file.clone(), resident_bytes: 100, uses: uses(2), ..Default::default() },
            ],
            probe_ns: 0,
        };
        let record = MeasureRecord {
            samples: vec![
                Sample { tree: tree.clone(), ..Sample::default() },
                Sample { phase: Some("shared".into()), tree, ..Sample::default() },
            ],
            ..MeasureRecord::default()
        };
        let phases = ProgramRecord::phases_of(&record, &file);
        assert_eq!(phases.len(), 1, "timer samples are not phases");
        let p = &phases[0];
        assert_eq!((p.name.as_str(), p.processes, p.own_bytes), ("shared", 2, 30));
        assert_eq!((p.file_rss_bytes, p.file_pss_bytes, p.file_resident_bytes), (200, 100, 100));
        let program = ProgramRecord { phases, ..ProgramRecord::default() };
        assert!(program.phase("shared").is_ok());
        let missing = program.phase("copied").unwrap_err();
        assert!(missing.contains("'copied'") && missing.contains("it marked shared"), "{missing}");
        let absent = ProgramRecord::not_run("no Python with NumPy".into()).phase("shared").unwrap_err();
        assert!(absent.contains("not run: no Python"), "{absent}");
    }
}
