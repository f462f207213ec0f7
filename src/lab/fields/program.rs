//! Fields of a lab's program at one phase it marked: `program.<phase>.<field>`, the process
//! tree's numbers summed over its processes, and the lab's data file's share of them.

use crate::lab::program::record::PhaseRecord;
use crate::lab::value::Dimension;
use crate::units::Bytes;

/// A field of the program's tree at one phase.
pub struct ProgramField {
    /// Its name in a quantity path.
    pub name: &'static str,
    /// Its dimension.
    pub dimension: Dimension,
    /// What it is.
    pub doc: &'static str,
    /// Its value at a phase, in base units.
    pub get: fn(&PhaseRecord) -> Bytes,
}

/// Fields of `program.<phase>.*`.
pub static PROGRAM_FIELDS: &[ProgramField] = &[
    ProgramField {
        name: "processes",
        dimension: Dimension::Count,
        doc: "processes alive in the program's tree (the program and its workers)",
        get: |p| p.processes,
    },
    ProgramField {
        name: "own_bytes",
        dimension: Dimension::Bytes,
        doc: "the tree's own memory: anonymous + shared memory + dirty file pages, PSS-weighted (what the kernel cannot reclaim without swap)",
        get: |p| p.own_bytes,
    },
    ProgramField {
        name: "rss_bytes",
        dimension: Dimension::Bytes,
        doc: "RSS summed over the tree: a page shared by K processes counts K times",
        get: |p| p.rss_bytes,
    },
    ProgramField {
        name: "rss_anon_bytes",
        dimension: Dimension::Bytes,
        doc: "RssAnon summed over the tree",
        get: |p| p.rss_anon_bytes,
    },
    ProgramField {
        name: "rss_file_bytes",
        dimension: Dimension::Bytes,
        doc: "RssFile summed over the tree (every mapped file: the data, libraries)",
        get: |p| p.rss_file_bytes,
    },
    ProgramField {
        name: "pss_bytes",
        dimension: Dimension::Bytes,
        doc: "PSS summed over the tree: a page shared by K processes counts once in all",
        get: |p| p.pss_bytes,
    },
    ProgramField {
        name: "private_dirty_bytes",
        dimension: Dimension::Bytes,
        doc: "private dirty pages summed over the tree (copies of their own)",
        get: |p| p.private_dirty_bytes,
    },
    ProgramField {
        name: "file_rss_bytes",
        dimension: Dimension::Bytes,
        doc: "the data file's resident pages, summed over the processes that map it",
        get: |p| p.file_rss_bytes,
    },
    ProgramField {
        name: "file_pss_bytes",
        dimension: Dimension::Bytes,
        doc: "the data file's PSS summed over the tree: about one copy when processes share it",
        get: |p| p.file_pss_bytes,
    },
    ProgramField {
        name: "file_resident_bytes",
        dimension: Dimension::Bytes,
        doc: "the data file's bytes in the page cache, mapped or not",
        get: |p| p.file_resident_bytes,
    },
];
