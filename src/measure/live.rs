//! The live line on a terminal: elapsed, own memory, file pages, PSS, the largest file.

use std::io::{IsTerminal, Write};

use super::record::Sample;
use crate::probe::tree::ProcessSnapshot;
use crate::units::human_bytes;

/// A line redrawn in place on stderr, when stderr is a terminal.
pub struct LiveLine {
    on: bool,
    drawn: bool,
}

impl LiveLine {
    /// On only when asked and stderr is a terminal.
    pub fn new(wanted: bool) -> LiveLine {
        LiveLine { on: wanted && std::io::stderr().is_terminal(), drawn: false }
    }

    /// Redraws the line for `sample`.
    pub fn show(&mut self, sample: &Sample) {
        if !self.on {
            return;
        }
        let tree = &sample.tree;
        let largest = tree
            .files
            .iter()
            .max_by_key(|f| f.rss_bytes())
            .filter(|f| f.rss_bytes() > 0)
            .map(|f| {
                let name = f.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                format!("  largest {name} {}", human_bytes(f.rss_bytes()))
            })
            .unwrap_or_default();
        let text = format!(
            "measure {:>7.1} s  {} procs  own {}  file {}  PSS {}{largest}",
            sample.t_ns as f64 / 1e9,
            tree.processes.len(),
            human_bytes(tree.sum(ProcessSnapshot::own_bytes)),
            human_bytes(tree.sum(|p| p.rss_file_bytes)),
            human_bytes(tree.sum(|p| p.pss_bytes)),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Ends the line.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
        }
    }
}
