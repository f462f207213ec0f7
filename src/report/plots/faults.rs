//! `faults.svg`: page faults of each step beside the pages it touched: faults are not pages.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::style::{self, LegendItem, REFERENCE};
use super::{Area, Plot, Raster};
use crate::probe::Phase;
use crate::report::view;
use crate::results::{Results, StepResult};

/// The faults plot.
pub struct FaultsPlot;

/// Minor plus major faults from before opening to the end of the access.
fn faults(step: &StepResult) -> Option<f64> {
    let minor = step.delta(Phase::BeforeOpen, Phase::AfterAccess, |s| s.minor_faults)?;
    let major = step.delta(Phase::BeforeOpen, Phase::AfterAccess, |s| s.major_faults)?;
    Some((minor + major).max(0) as f64)
}

/// Pages of the file the access read: its bytes over the machine's page size.
fn pages(run: &Results, step: &StepResult) -> Option<f64> {
    let page = if run.machine.page_size > 0 { run.machine.page_size } else { 4096 };
    step.bytes_touched.map(|b| b.div_ceil(page) as f64)
}

impl Plot for FaultsPlot {
    fn file_name(&self) -> &'static str {
        "faults.svg"
    }

    fn title(&self) -> &'static str {
        "Page faults per step beside the pages it touched (log scale)"
    }

    fn explanation(&self) -> &'static str {
        "The grey bar is how many pages of the file the step's access read (bytes read over the page \
         size); the coloured bars are the page faults (minor plus major) the step process took, warm and \
         cold. Faults are not pages: on a fault the kernel maps more than the one page asked for, up to 16 \
         neighbours already in the page cache (fault-around) or a whole large folio (up to 2 MiB) when the \
         page cache holds the file in large pieces, so a full pass over hundreds of thousands of pages can \
         take a few thousand faults. `np.load` faults on its own fresh memory, not on the file. Fault \
         counts depend on the kernel, the file system and how the file was written: they are explained \
         here, never expected."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().flat_map(view::tutorial_steps).any(|s| faults(s).is_some())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let steps = view::all_step_ids(runs).len().max(1) as u32;
        let series = 1 + view::caches(runs).len() as u32;
        (340 + 700 * runs.len().max(1) as u32, 260 + steps * (series * 22 + 14))
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let caches = view::caches(runs);
        let mut legend = vec![LegendItem::new("pages touched (bytes read / page size)", REFERENCE)];
        legend.extend(
            caches.iter().map(|c| {
                LegendItem::new(format!("page faults, {} cache", c.name()), style::cache_colour(*c))
            }),
        );
        let notes = [
            "Faults are not pages: one fault can map up to 16 pages (fault-around) or a whole large folio of up to 2 MiB.",
        ];
        let body = style::header(root, self.title(), &notes, &legend)?.margin(0, 10, 16, 16);
        let ids = view::all_step_ids(runs);
        let labels = view::step_labels(runs, &ids);
        let label_width = bars::label_width(&body, &labels)?;
        let mut all = Vec::new();
        for run in runs {
            for s in view::tutorial_steps(run) {
                all.extend(faults(s));
                all.extend(pages(run, s));
            }
        }
        let range = style::log_bounds(all);
        let columns = bars::run_columns(&body, runs, label_width)?;
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            let mut series = vec![Series {
                colour: REFERENCE,
                values: ids.iter().map(|id| view::pick(run, id).and_then(|s| pages(run, s))).collect(),
            }];
            series.extend(caches.iter().map(|c| Series {
                colour: style::cache_colour(*c),
                values: ids.iter().map(|id| run.step(id, *c).and_then(faults)).collect(),
            }));
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
