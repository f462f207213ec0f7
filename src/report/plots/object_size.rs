//! `object-size.svg`: the object's size (`sys.getsizeof`) beside the memory the process
//! holds after a full pass: the tutorial's "184 bytes" illusion at a glance.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::style::{self, LegendItem, OBJECT, OBJECT_NUMPY, RSS};
use super::{Area, Plot, Raster};
use crate::probe::Phase;
use crate::report::view;
use crate::results::{Results, StepResult};

/// The object-size plot.
pub struct ObjectSizePlot;

fn rss_growth(step: &StepResult) -> Option<f64> {
    step.delta(Phase::BeforeOpen, Phase::AfterAccess, |s| s.rss_bytes).map(|d| d.max(0) as f64)
}

fn getsizeof(step: &StepResult) -> Option<f64> {
    step.peer.as_ref()?.getsizeof_bytes.map(|b| b as f64)
}

impl Plot for ObjectSizePlot {
    fn file_name(&self) -> &'static str {
        "object-size.svg"
    }

    fn title(&self) -> &'static str {
        "Object size vs RSS after a full pass: the \"184 bytes\" illusion"
    }

    fn explanation(&self) -> &'static str {
        "For each step, three bars: NumPy's `sys.getsizeof(X)` (brown, the tutorial's \"184 bytes\", when \
         the NumPy column ran), the array object's size as mmap-lab measures it (vermillion: `size_of_val`, \
         plus the data when the array owns it), and how much the step process's resident memory (RSS, blue) \
         grew from before opening to the end of the full pass; the dashed line is the size of the array's \
         data. For every mapping both object sizes stay tiny while RSS grows by about the whole file: the \
         object size says nothing about memory. mmap-lab's `load` owns its data and counts it; NumPy 2's \
         `np.load` returns a view of the buffer it read, which `sys.getsizeof` does not count."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().flat_map(view::tutorial_steps).any(|s| s.object_bytes.is_some())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let steps = view::all_step_ids(runs).len().max(1) as u32;
        (340 + 700 * runs.len().max(1) as u32, 250 + steps * 84)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend = [
            LegendItem::new("NumPy: sys.getsizeof(X)", OBJECT_NUMPY),
            LegendItem::new("mmap-lab: object size (size_of_val)", OBJECT),
            LegendItem::new("RSS growth, before opening to after the full pass", RSS),
        ];
        let notes = ["Warm page cache where measured, else cold."];
        let body = style::header(root, self.title(), &notes, &legend)?.margin(0, 10, 16, 16);
        let ids = view::all_step_ids(runs);
        let labels = view::step_labels(runs, &ids);
        let label_width = bars::label_width(&body, &labels)?;
        let picked = |run: &Results| -> Vec<Option<StepResult>> {
            ids.iter().map(|id| view::pick(run, id).cloned()).collect()
        };
        let all: Vec<f64> = runs
            .iter()
            .flat_map(|r| picked(r).into_iter().flatten())
            .flat_map(|s| [s.object_bytes.map(|b| b as f64), rss_growth(&s), getsizeof(&s)])
            .flatten()
            .chain(runs.iter().map(|r| r.dataset.raw_bytes as f64))
            .collect();
        let range = style::log_bounds(all);
        let columns = bars::run_columns(&body, runs, label_width)?;
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            let steps = picked(run);
            let series = vec![
                Series {
                    colour: OBJECT_NUMPY,
                    values: steps.iter().map(|s| getsizeof(s.as_ref()?)).collect(),
                },
                Series {
                    colour: OBJECT,
                    values: steps.iter().map(|s| s.as_ref()?.object_bytes.map(|b| b as f64)).collect(),
                },
                Series { colour: RSS, values: steps.iter().map(|s| rss_growth(s.as_ref()?)).collect() },
            ];
            let data = run.dataset.raw_bytes as f64;
            bars::draw(
                column,
                &Bars {
                    categories: &labels,
                    series,
                    range,
                    axis: "bytes (log scale)",
                    ticks: style::binary_ticks,
                    format: style::bytes_tick,
                    value: |v| crate::units::human_bytes(v as u64),
                    label_width: bars::labels_in(col, label_width),
                    reference: Some((data, format!("the array's data: {}", style::bytes_tick(data)))),
                },
            )?;
        }
        Ok(Vec::new())
    }
}
