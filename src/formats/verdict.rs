//! Does a format map? The verdict, computed from one process's snapshots (a Rust step's or
//! its NumPy peer's) and the array's size, never assumed from the format's name.
//!
//! - **maps**: after the full pass the process's own memory (RssAnon) grew by less than a
//!   tenth of the array, and its file pages (RssFile) by at least nine tenths of it: the
//!   data was read through a mapping of the file.
//! - **copies**: RssAnon grew by at least nine tenths of the array (at open or by the end
//!   of the pass): the array lives in the process's own memory.
//! - **unclear**: neither (a pass that did not run, memory reclaimed under pressure).

use serde::Serialize;

use crate::probe::{Phase, Snapshot};
use crate::units::{Bytes, Nanos};

/// The share of the array that counts as "about all of it" (and one minus it as "about none").
pub const MOST: f64 = 0.9;

/// What the numbers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mapping {
    /// Read through a mapping of the file.
    Maps,
    /// Copied into the process's own memory.
    Copies,
    /// Neither reading holds.
    Unclear,
}

impl Mapping {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Mapping::Maps => "maps",
            Mapping::Copies => "copies",
            Mapping::Unclear => "unclear",
        }
    }
}

/// The numbers behind a verdict, each a change from before the open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The verdict.
    pub mapping: Mapping,
    /// Time to open.
    pub open_ns: Nanos,
    /// RssAnon growth at open.
    pub anon_at_open: Bytes,
    /// RssAnon growth by the end of the pass.
    pub anon_after_pass: Bytes,
    /// RssFile growth by the end of the pass.
    pub file_after_pass: Bytes,
    /// Bytes of the file that came into the page cache during the open (cold: read from disk).
    pub read_at_open: Bytes,
}

fn find(snapshots: &[Snapshot], phase: Phase) -> Option<&Snapshot> {
    snapshots.iter().find(|s| s.phase == phase)
}

impl Verdict {
    /// The verdict for a process whose phases are `snapshots`, over an array of `data` bytes;
    /// `None` without the open and the pass.
    pub fn of(snapshots: &[Snapshot], data: Bytes) -> Option<Verdict> {
        let before = find(snapshots, Phase::BeforeOpen)?;
        let open = find(snapshots, Phase::AfterOpen)?;
        let after = find(snapshots, Phase::AfterAccess)?;
        let grew = |to: &Snapshot, f: fn(&Snapshot) -> Bytes| f(to).saturating_sub(f(before));
        let anon_at_open = grew(open, |s| s.rss_anon_bytes);
        let anon_after_pass = grew(after, |s| s.rss_anon_bytes);
        let file_after_pass = grew(after, |s| s.rss_file_bytes);
        let most = (data as f64 * MOST) as Bytes;
        let little = data - most;
        let mapping = if anon_at_open.max(anon_after_pass) >= most {
            Mapping::Copies
        } else if anon_after_pass < little && file_after_pass >= most {
            Mapping::Maps
        } else {
            Mapping::Unclear
        };
        Some(Verdict {
            mapping,
            open_ns: open.elapsed_ns.saturating_sub(before.elapsed_ns),
            anon_at_open,
            anon_after_pass,
            file_after_pass,
            read_at_open: grew(open, |s| s.resident_bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(phase: Phase, anon: Bytes, file: Bytes) -> Snapshot {
        Snapshot {
            phase,
            elapsed_ns: 0,
            rss_bytes: anon + file,
            rss_anon_bytes: anon,
            rss_file_bytes: file,
            minor_faults: 0,
            major_faults: 0,
            resident_bytes: 0,
            residency: Vec::new(),
            probe_ns: 0,
        }
    }

    fn phases(open: (Bytes, Bytes), after: (Bytes, Bytes)) -> Vec<Snapshot> {
        vec![
            snap(Phase::BeforeOpen, 1000, 2000),
            snap(Phase::AfterOpen, 1000 + open.0, 2000 + open.1),
            snap(Phase::AfterAccess, 1000 + after.0, 2000 + after.1),
        ]
    }

    #[test]
    fn file_pages_without_own_memory_map() {
        let v = Verdict::of(&phases((0, 0), (40, 1_000_000)), 1_000_000).unwrap();
        assert_eq!(v.mapping, Mapping::Maps);
        assert_eq!((v.anon_after_pass, v.file_after_pass), (40, 1_000_000));
    }

    #[test]
    fn own_memory_the_size_of_the_array_copies_at_open_or_later() {
        assert_eq!(
            Verdict::of(&phases((990_000, 0), (990_000, 0)), 1_000_000).unwrap().mapping,
            Mapping::Copies
        );
        // Copied during the pass (a lazy loader) counts too, even with the file mapped.
        assert_eq!(
            Verdict::of(&phases((0, 0), (950_000, 1_000_000)), 1_000_000).unwrap().mapping,
            Mapping::Copies
        );
    }

    #[test]
    fn half_of_it_either_way_is_unclear_and_missing_phases_give_none() {
        assert_eq!(Verdict::of(&phases((0, 0), (0, 500_000)), 1_000_000).unwrap().mapping, Mapping::Unclear);
        assert!(Verdict::of(&phases((0, 0), (0, 0))[..2], 1).is_none());
    }
}
