//! The plots, embedded, each with a short explanation of what it shows.

use std::fmt::Write as _;

use crate::report::plots::Plot;
use crate::results::Results;

/// Writes the plots section under a heading of level `h`: every plot with data embedded,
/// the others named as not measured.
pub fn section(md: &mut String, runs: &[Results], plots: &[Box<dyn Plot>], h: &str) {
    let _ = writeln!(md, "{h} Plots\n");
    if runs.len() > 1 {
        md.push_str("The runs are drawn side by side, on the same scales.\n\n");
    }
    for plot in plots {
        let _ = writeln!(md, "#{h} {}\n", plot.title());
        if plot.has_data(runs) {
            let _ = writeln!(md, "![{}]({})\n\n{}\n", plot.title(), plot.file_name(), plot.caption(runs));
        } else {
            md.push_str("Not measured: no step recorded the data this plot draws.\n\n");
        }
    }
}
