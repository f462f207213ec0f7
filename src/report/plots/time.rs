//! `time.svg`: how long each phase of each step took, warm and cold, on a log scale.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::style::{self, COLD, WARM};
use super::{Area, Plot, Raster};
use crate::cache::CacheState;
use crate::probe::Phase;
use crate::report::view;
use crate::results::Results;

/// The time plot.
pub struct TimePlot;

/// The phases timed: (caption, from, to).
const PHASES: [(&str, Phase, Phase); 3] = [
    ("Opening (np.load / np.memmap)", Phase::BeforeOpen, Phase::AfterOpen),
    ("Reading the first element", Phase::AfterOpen, Phase::AfterFirst),
    ("The access (a full pass for the tutorial's steps)", Phase::AfterFirst, Phase::AfterAccess),
];

impl Plot for TimePlot {
    fn file_name(&self) -> &'static str {
        "time.svg"
    }

    fn title(&self) -> &'static str {
        "Time per phase and step, warm vs cold page cache (log scale)"
    }

    fn explanation(&self) -> &'static str {
        "How long each phase took in the step's process, probing excluded, with the file in the page \
         cache (warm: all of it, read through just before unless it already was) and evicted from it \
         (cold: `posix_fadvise(DONTNEED)`), each checked with TOOL. The scale is logarithmic: each grid line is ten times the one before. \
         Opening a mapping takes microseconds whatever the file's size; the first element costs a page \
         fault (and a disk read when cold); the full pass is where the time goes, and a cold cache makes \
         it wait for the disk. `np.load` pays the whole read at opening."
    }

    fn caption(&self, runs: &[Results]) -> String {
        self.explanation().replace("TOOL", &view::residency_tool(runs)) + &view::warm_only_sentence(runs)
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter()
            .flat_map(view::tutorial_steps)
            .any(|s| PHASES.iter().any(|(_, a, b)| s.phase_ns(*a, *b).is_some()))
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let steps = view::all_step_ids(runs).len().max(1) as u32;
        let caches = view::caches(runs).len().max(1) as u32;
        let panel = 90 + steps * (caches * 22 + 12);
        (340 + 760 * runs.len().max(1) as u32, 150 + 3 * panel)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let caches = view::caches(runs);
        let legend = style::cache_legend(&caches);
        let body = style::header(root, self.title(), &[], &legend)?.margin(0, 10, 16, 16);
        let ids = view::all_step_ids(runs);
        let labels = view::step_labels(runs, &ids);
        let label_width = bars::label_width(&body, &labels)?;
        let all = runs
            .iter()
            .flat_map(view::tutorial_steps)
            .flat_map(|s| PHASES.iter().filter_map(|(_, a, b)| s.phase_ns(*a, *b)));
        let range = style::log_bounds(all.map(|ns| ns as f64));
        let columns = bars::run_columns(&body, runs, label_width)?;
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            for (panel, (caption, from, to)) in column.split_evenly((PHASES.len(), 1)).iter().zip(PHASES) {
                let series = caches
                    .iter()
                    .map(|c| Series {
                        colour: if *c == CacheState::Warm { WARM } else { COLD },
                        values: ids
                            .iter()
                            .map(|id| run.step(id, *c).and_then(|s| s.phase_ns(from, to)).map(|ns| ns as f64))
                            .collect(),
                    })
                    .collect();
                let panel = style::caption(panel, caption)?;
                bars::draw(
                    &panel,
                    &Bars {
                        categories: &labels,
                        series,
                        range,
                        axis: "time (log scale)",
                        ticks: style::decades,
                        format: style::nanos_tick,
                        value: |v| crate::units::human_nanos(v as u64),
                        label_width: bars::labels_in(col, label_width),
                        reference: None,
                    },
                )?;
            }
        }
        Ok(Vec::new())
    }
}
