//! `faults-not-pages.svg`: the same full pass over copies of the file whose page cache was
//! built by 4 MiB writes or by 4 KiB writes, and with huge pages refused: faults beside
//! the pages read.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::groups::ids_and_labels;
use super::style::{self, LegendItem, REFERENCE, WARM};
use super::{Area, Plot, Raster};
use crate::cache::CacheState;
use crate::probe::Phase;
use crate::report::view;
use crate::results::{Results, StepResult};

/// The faults-are-not-pages plot.
pub struct FoliosPlot;

const GROUP: &str = "faults";

fn faults(s: &StepResult) -> Option<f64> {
    let (a, b) = (s.snapshot(Phase::AfterFirst)?, s.snapshot(Phase::AfterAccess)?);
    Some((b.minor_faults + b.major_faults - a.minor_faults - a.major_faults) as f64)
}

fn pages(run: &Results, s: &StepResult) -> Option<f64> {
    Some(s.bytes_touched? as f64 / run.machine.page_size.max(1) as f64)
}

impl Plot for FoliosPlot {
    fn file_name(&self) -> &'static str {
        "faults-not-pages.svg"
    }

    fn title(&self) -> &'static str {
        "Faults are not pages: one full pass, three page caches (log scale)"
    }

    fn explanation(&self) -> &'static str {
        "The same full pass, warm, over a copy of the array's first samples (raw bytes) written just before the step in 4 MiB pieces \
         (the page cache holds large folios, up to 2 MiB), in 4 KiB pieces (single pages), and over the \
         large-piece copy with huge pages refused (`MADV_NOHUGEPAGE`). Grey: pages read. Coloured: page \
         faults taken. Over single pages the kernel maps the faulting page and its cached neighbours, 16 \
         pages (64 KiB) per fault (fault-around); over large folios it maps a whole folio per fault. Never \
         expect one fault per page."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().flat_map(|r| view::group_steps(r, GROUP)).any(|s| faults(s).is_some())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let steps = ids_and_labels(runs, GROUP).0.len().max(1) as u32;
        (360 + 720 * runs.len().max(1) as u32, 260 + steps * 70)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend = [
            LegendItem::new("pages read (bytes / page size)", REFERENCE),
            LegendItem::new("page faults (warm)", WARM),
        ];
        let body = style::header(root, self.title(), &[], &legend)?.margin(0, 10, 16, 16);
        let (ids, labels) = ids_and_labels(runs, GROUP);
        let label_width = bars::label_width(&body, &labels)?;
        let columns = bars::run_columns(&body, runs, label_width)?;
        let mut all = Vec::new();
        for run in runs {
            for s in view::group_steps(run, GROUP) {
                all.extend(faults(s));
                all.extend(pages(run, s));
            }
        }
        let range = style::log_bounds(all);
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            let step = |id: &str| run.step(id, CacheState::Warm).or_else(|| run.step(id, CacheState::Cold));
            let series = vec![
                Series {
                    colour: REFERENCE,
                    values: ids.iter().map(|id| step(id).and_then(|s| pages(run, s))).collect(),
                },
                Series { colour: WARM, values: ids.iter().map(|id| step(id).and_then(faults)).collect() },
            ];
            bars::draw(
                column,
                &Bars {
                    categories: &labels,
                    series,
                    range,
                    axis: "count (log scale)",
                    ticks: style::decades,
                    format: style::count_tick,
                    value: |v| crate::units::grouped(v as u64),
                    label_width: bars::labels_in(col, label_width),
                    reference: None,
                },
            )?;
        }
        Ok(Vec::new())
    }
}
