//! `residency.svg`: which parts of the file are in the page cache after the first element
//! and after the access, like `vmtouch -v`, as a picture.

use anyhow::Result;
use plotters::prelude::*;

use super::axis::Axis;
use super::bars;
use super::style::{self, INK, LegendItem, RSS_FILE, font};
use super::{Area, Plot, Raster};
use crate::cache::CacheState;
use crate::probe::{Phase, Snapshot};
use crate::report::view;
use crate::results::{Results, StepResult};

/// The residency plot.
pub struct ResidencyPlot;

/// The phases drawn as strips, upper then lower.
const STRIPS: [Phase; 2] = [Phase::AfterFirst, Phase::AfterAccess];
const ROW_HEIGHT: u32 = 26;

/// The colour of a slice `percent` resident: light grey (none) to the RssFile green (all),
/// on a square-root ramp so that a slice a few percent resident (the read-ahead around the
/// first element) still shows; the legend shows the same colours.
fn shade(percent: u8) -> RGBColor {
    let t = (f64::from(percent.min(100)) / 100.0).sqrt();
    let mix = |from: u8, to: u8| (f64::from(from) + (f64::from(to) - f64::from(from)) * t).round() as u8;
    RGBColor(mix(0xEE, RSS_FILE.0), mix(0xEE, RSS_FILE.1), mix(0xEE, RSS_FILE.2))
}

fn strip_label(step: Option<&StepResult>, label: &str, phase: Phase) -> String {
    match phase {
        Phase::AfterFirst => format!("{label} — after first element"),
        _ => match step.map(|s| s.access.as_str()) {
            Some("full_pass") | None => "after full pass".to_owned(),
            Some(access) => format!("after {access}"),
        },
    }
}

impl Plot for ResidencyPlot {
    fn file_name(&self) -> &'static str {
        "residency.svg"
    }

    fn title(&self) -> &'static str {
        "Page-cache residency across the file, after the first element and after the access"
    }

    fn explanation(&self) -> &'static str {
        "Each strip is the step's file cut into 128 slices from its first byte (left) to its last \
         (right); the darker a slice, the more of its pages are in the page cache (measured with \
         TOOL). Warm, the whole file is cached before the step starts. Cold, \
         the first element brings in only its neighbourhood (the kernel's read-ahead), and the full pass \
         brings in the rest. The page cache belongs to the kernel, not to the process: the same pages \
         serve every process that maps or reads the file."
    }

    fn caption(&self, runs: &[Results]) -> String {
        self.explanation().replace("TOOL", &view::residency_tool(runs)) + &view::warm_only_sentence(runs)
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().flat_map(view::tutorial_steps).flat_map(|s| &s.snapshots).any(|s| !s.residency.is_empty())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let columns = (runs.len() * view::caches(runs).len()).max(1) as u32;
        let rows = view::all_step_ids(runs).len().max(1) as u32 * 2;
        (420 + columns * 480, 250 + rows * ROW_HEIGHT + rows / 2 * 8)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend: Vec<LegendItem> = [0u8, 5, 25, 50, 100]
            .iter()
            .map(|p| LegendItem::new(format!("{p}% resident"), shade(*p)))
            .collect();
        let notes = [format!(
            "Each strip: the step's file in 128 slices, first byte at the left; colour: share of the slice's pages in the page cache ({}).",
            view::residency_tool(runs).replace('`', "")
        )];
        let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
        let body = style::header(root, self.title(), &notes, &legend)?.margin(0, 10, 16, 16);
        let ids = view::all_step_ids(runs);
        let labels = view::step_labels(runs, &ids);
        let row_labels: Vec<String> = ids
            .iter()
            .zip(&labels)
            .flat_map(|(id, label)| {
                let step = runs.iter().find_map(|r| view::pick(r, id));
                STRIPS.map(|phase| strip_label(step, label, phase))
            })
            .collect();
        let label_width = bars::label_width(&body, &row_labels)?;
        let caches = view::caches(runs);
        let run_labels = view::run_labels(runs);
        let columns: Vec<(usize, CacheState)> =
            (0..runs.len()).flat_map(|r| caches.iter().map(move |c| (r, *c))).collect();
        for (col, (area, (r, cache))) in
            bars::columns(&body, columns.len(), label_width).iter().zip(&columns).enumerate()
        {
            let caption = if runs.len() > 1 {
                format!("{} · {} page cache", run_labels[*r], cache.name())
            } else {
                format!("{} page cache", cache.name())
            };
            let panel = style::caption(area, &caption)?;
            let steps: Vec<Option<&StepResult>> = ids.iter().map(|id| runs[*r].step(id, *cache)).collect();
            strips(&panel, &steps, &row_labels, bars::labels_in(col, label_width))?;
        }
        Ok(Vec::new())
    }
}

fn strips(area: &Area, steps: &[Option<&StepResult>], row_labels: &[String], label_width: u32) -> Result<()> {
    let rows = row_labels.len();
    let bins = crate::probe::RESIDENCY_BINS as f64;
    let centres: Vec<f64> = (0..rows).map(|i| rows as f64 - i as f64 - 0.5).collect();
    let mut chart = ChartBuilder::on(area)
        .margin_left(if label_width > 0 { 0 } else { 24 })
        .margin_right(24)
        .x_label_area_size(52)
        .y_label_area_size(label_width)
        .build_cartesian_2d(
            Axis::linear(0.0, bins, vec![0.0, bins / 4.0, bins / 2.0, bins * 0.75, bins]),
            Axis::linear(0.0, rows as f64, centres),
        )?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("position in the file (% of its size)")
        .axis_desc_style(font(style::LABEL, INK))
        .x_label_style(font(style::TICK, INK))
        .y_label_style(font(style::TICK, INK))
        .x_label_formatter(&|x| format!("{:.0}%", x / bins * 100.0))
        .y_label_formatter(&|y| {
            let i = (rows as f64 - y - 0.5).round() as usize;
            if label_width > 0 { row_labels.get(i).cloned().unwrap_or_default() } else { String::new() }
        })
        .draw()?;
    for (i, step) in steps.iter().enumerate() {
        for (j, phase) in STRIPS.iter().enumerate() {
            let row = 2 * i + j;
            // Steps are pairs of strips: a gap above each pair.
            let top = rows as f64 - row as f64 - if j == 0 { 0.2 } else { 0.05 };
            let bottom = top - 0.75;
            match step.and_then(|s| s.snapshot(*phase)).filter(|s| !s.residency.is_empty()) {
                Some(snapshot) => strip(&mut chart, snapshot, bottom, top)?,
                None => {
                    let style = font(style::SMALL, style::MUTED);
                    let text = Text::new("not measured", (6, 0), style);
                    chart.draw_series(std::iter::once(EmptyElement::at((0.0, top)) + text))?;
                }
            }
        }
    }
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;

/// One strip, runs of equal slices drawn as one rectangle.
fn strip(chart: &mut Chart, snapshot: &Snapshot, bottom: f64, top: f64) -> Result<()> {
    let bins = &snapshot.residency;
    let scale = crate::probe::RESIDENCY_BINS as f64 / bins.len() as f64;
    let mut start = 0;
    for i in 1..=bins.len() {
        if i == bins.len() || bins[i] != bins[start] {
            let (x0, x1) = (start as f64 * scale, i as f64 * scale);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, bottom), (x1, top)],
                shade(bins[start]).filled(),
            )))?;
            start = i;
        }
    }
    let outline = ShapeStyle { color: RGBColor(0xBB, 0xBB, 0xBB).to_rgba(), filled: false, stroke_width: 1 };
    let end = crate::probe::RESIDENCY_BINS as f64;
    chart.draw_series(std::iter::once(Rectangle::new([(0.0, bottom), (end, top)], outline)))?;
    Ok(())
}
