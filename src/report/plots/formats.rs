//! `formats.svg`: per format, warm and cold, what opening cost and where the array's bytes
//! were after the full pass: in the process's own memory (RssAnon) or in mapped file pages
//! (RssFile), against the array's size.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::style;
use super::{Area, Plot, Raster};
use crate::formats::verdict::Verdict;
use crate::report::view;
use crate::results::{Results, StepResult};

/// The formats plot.
pub struct FormatsPlot;

const GROUP: &str = "formats";

/// One panel: what it measures and how it writes it.
struct Panel {
    caption: &'static str,
    measure: fn(&Verdict) -> f64,
    axis: &'static str,
    tick: fn(f64) -> String,
    value: fn(f64) -> String,
    /// Whether the array's size is drawn as a reference line.
    array_line: bool,
}

/// The array the format files hold (the dataset's first samples).
fn data_bytes(run: &Results) -> u64 {
    run.dataset.formats_data_bytes()
}

fn verdict(run: &Results, s: &StepResult) -> Option<Verdict> {
    Verdict::of(&s.snapshots, data_bytes(run))
}

/// The formats' step ids across runs, with their labels.
fn ids_and_labels(runs: &[Results]) -> (Vec<String>, Vec<String>) {
    let mut ids: Vec<String> = Vec::new();
    let mut labels = Vec::new();
    for s in runs.iter().flat_map(|r| view::group_steps(r, GROUP)) {
        if !ids.contains(&s.id) {
            ids.push(s.id.clone());
            labels.push(s.file.format().map_or(s.id.clone(), |f| f.label().to_owned()));
        }
    }
    (ids, labels)
}

const PANELS: [Panel; 3] = [
    Panel {
        caption: "Time to open (parse, map or read)",
        measure: |v| v.open_ns as f64,
        axis: "time (log scale)",
        tick: style::nanos_tick,
        value: |v| crate::units::human_nanos(v as u64),
        array_line: false,
    },
    Panel {
        caption: "RssAnon growth after the full pass: the process's own copy",
        measure: |v| v.anon_after_pass as f64,
        axis: "bytes (log scale)",
        tick: style::bytes_tick,
        value: |v| crate::units::human_bytes(v as u64),
        array_line: true,
    },
    Panel {
        caption: "RssFile growth after the full pass: the file's pages, mapped",
        measure: |v| v.file_after_pass as f64,
        axis: "bytes (log scale)",
        tick: style::bytes_tick,
        value: |v| crate::units::human_bytes(v as u64),
        array_line: true,
    },
];

impl Plot for FormatsPlot {
    fn file_name(&self) -> &'static str {
        "formats.svg"
    }

    fn title(&self) -> &'static str {
        "Which formats map: open cost and where the array ends up, warm vs cold (log scale)"
    }

    fn explanation(&self) -> &'static str {
        "One group of bars per format, warm and cold. Top: the time to open. Middle: how much the \
         process's own memory (RssAnon) grew by the end of the full pass; a format that copies reaches \
         the dashed line, the array's size. Bottom: how much mapped file pages (RssFile) grew; a format \
         that maps reaches the line here instead, and its RssAnon stays near zero."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().any(|r| view::group_steps(r, GROUP).any(|s| verdict(r, s).is_some()))
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let steps = ids_and_labels(runs).0.len().max(1) as u32;
        let caches = view::caches(runs).len().max(1) as u32;
        let panel = 110 + steps * (caches * 22 + 12);
        (360 + 720 * runs.len().max(1) as u32, 150 + PANELS.len() as u32 * panel)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let caches = view::caches(runs);
        let legend = style::cache_legend(&caches);
        let body = style::header(root, self.title(), &[], &legend)?.margin(0, 10, 16, 16);
        let (ids, labels) = ids_and_labels(runs);
        let label_width = bars::label_width(&body, &labels)?;
        let columns = bars::run_columns(&body, runs, label_width)?;
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            for (area, p) in column.split_evenly((PANELS.len(), 1)).iter().zip(&PANELS) {
                let measure = p.measure;
                let mut all: Vec<f64> = runs
                    .iter()
                    .flat_map(|r| view::group_steps(r, GROUP).filter_map(move |s| verdict(r, s)))
                    .map(|v| measure(&v))
                    .collect();
                let array = data_bytes(run) as f64;
                if p.array_line {
                    all.push(array);
                }
                let series = caches
                    .iter()
                    .map(|c| Series {
                        colour: style::cache_colour(*c),
                        values: ids
                            .iter()
                            .map(|id| run.step(id, *c).and_then(|s| verdict(run, s)).map(|v| measure(&v)))
                            .collect(),
                    })
                    .collect();
                let panel = style::caption(area, p.caption)?;
                bars::draw(
                    &panel,
                    &Bars {
                        categories: &labels,
                        series,
                        range: style::log_bounds(all),
                        axis: p.axis,
                        ticks: if p.array_line { style::binary_ticks } else { style::decades },
                        format: p.tick,
                        value: p.value,
                        label_width: bars::labels_in(col, label_width),
                        reference: p.array_line.then(|| {
                            (array, format!("the array: {}", crate::units::human_bytes(array as u64)))
                        }),
                    },
                )?;
            }
        }
        Ok(Vec::new())
    }
}
