//! `memory.svg`: what the process holds at each phase of each step, RssFile and RssAnon
//! stacked, warm and cold side by side, every panel on the same scale.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::Axis;
use super::style::{self, INK, LegendItem, MUTED, RSS_ANON, RSS_FILE, anchored, font};
use super::{Area, Plot, Raster};
use crate::cache::CacheState;
use crate::probe::Phase;
use crate::report::view;
use crate::results::{Results, StepResult};

/// The memory plot.
pub struct MemoryPlot;

const PHASE_NAMES: [&str; 4] = ["baseline", "open", "first", "access"];
const CELL_WIDTH: u32 = 430;
const CELL_HEIGHT: u32 = 210;
const HEADER: u32 = 170;

impl Plot for MemoryPlot {
    fn file_name(&self) -> &'static str {
        "memory.svg"
    }

    fn title(&self) -> &'static str {
        "Resident memory per step and phase: RssFile and RssAnon"
    }

    fn explanation(&self) -> &'static str {
        "Each panel is one step; its four bars are the step process's resident memory before opening \
         (the baseline: mmap-lab itself), after opening, after reading the first element, and after the \
         access (a full pass for the tutorial's steps). The green part is RssFile, pages of the file mapped \
         into the process (page cache the kernel can reclaim); the purple part is RssAnon, the process's own \
         memory. Mapping adds almost nothing until the data is read; a full pass brings the whole file in as \
         RssFile, while `np.load` puts the whole array in RssAnon at once."
    }

    fn caption(&self, runs: &[Results]) -> String {
        self.explanation().to_owned() + &view::warm_only_sentence(runs)
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().any(|r| view::tutorial_steps(r).any(|s| !s.snapshots.is_empty()))
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let columns = (runs.len() * view::caches(runs).len()).max(1) as u32;
        let rows = view::all_step_ids(runs).len().max(1) as u32;
        (40 + columns * CELL_WIDTH, HEADER + 40 + rows * CELL_HEIGHT)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend = [
            LegendItem::new("RssFile: the file's pages, mapped (reclaimable page cache)", RSS_FILE),
            LegendItem::new("RssAnon: the process's own memory", RSS_ANON),
        ];
        let own_scales = view::shapes_differ(runs);
        let notes = [if own_scales {
            "Bars: the step process's resident memory at its baseline (before opening), after opening, after reading the first element, and after the access (a full pass for the tutorial's steps). The runs measured arrays of different sizes: each run has its own scale."
        } else {
            "Bars: the step process's resident memory at its baseline (before opening), after opening, after reading the first element, and after the access (a full pass for the tutorial's steps). Same scale in every panel."
        }];
        let body = style::header(root, self.title(), &notes, &legend)?.margin(0, 0, 20, 20);
        let ids = view::all_step_ids(runs);
        let labels = view::step_labels(runs, &ids);
        let caches = view::caches(runs);
        let run_labels = view::run_labels(runs);
        let columns: Vec<(usize, CacheState)> =
            (0..runs.len()).flat_map(|r| caches.iter().map(move |c| (r, *c))).collect();
        let ends: Vec<f64> = if own_scales {
            runs.iter().map(|r| style::byte_ticks(max_bytes(std::slice::from_ref(r))).1).collect()
        } else {
            vec![style::byte_ticks(max_bytes(runs)).1; runs.len()]
        };

        let (heads, grid) = body.split_vertically(40);
        for (area, (r, cache)) in heads.split_evenly((1, columns.len())).iter().zip(&columns) {
            let text = if runs.len() > 1 {
                format!("{} · {} page cache", run_labels[*r], cache.name())
            } else {
                format!("{} page cache", cache.name())
            };
            let (w, _) = area.dim_in_pixel();
            area.draw(&Text::new(
                text,
                (w as i32 / 2, 6),
                anchored(style::bold(style::CAPTION + 2.0, INK), HPos::Center, VPos::Top),
            ))?;
        }
        let cells = grid.split_evenly((ids.len(), columns.len()));
        for (row, (id, label)) in ids.iter().zip(&labels).enumerate() {
            for (col, (r, cache)) in columns.iter().enumerate() {
                let cell = &cells[row * columns.len() + col];
                let panel = style::caption(cell, label)?;
                match runs[*r].step(id, *cache).filter(|s| !s.snapshots.is_empty()) {
                    Some(step) => {
                        let first_of_run = col == 0 || (own_scales && columns[col - 1].0 != *r);
                        cell_chart(&panel, step, ends[*r], first_of_run)?
                    }
                    None => not_run(&panel)?,
                }
            }
        }
        Ok(Vec::new())
    }
}

fn max_bytes(runs: &[Results]) -> f64 {
    runs.iter()
        .flat_map(view::tutorial_steps)
        .flat_map(|s| &s.snapshots)
        .map(|s| (s.rss_file_bytes + s.rss_anon_bytes).max(s.rss_bytes) as f64)
        .fold(1.0, f64::max)
}

/// Writes "not run" in an empty panel, so that no panel is silently blank.
pub fn not_run(area: &Area) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = anchored(font(style::LABEL, MUTED), HPos::Center, VPos::Center);
    area.draw(&Text::new("not run in this run", (w as i32 / 2, h as i32 / 2), style))?;
    Ok(())
}

fn cell_chart(area: &Area, step: &StepResult, end: f64, first_column: bool) -> Result<()> {
    let (ticks, _) = style::byte_ticks(end);
    let mut chart = ChartBuilder::on(area)
        .margin_right(14)
        .x_label_area_size(28)
        .y_label_area_size(if first_column { 96 } else { 76 })
        .build_cartesian_2d(
            Axis::linear(-0.5, 3.5, vec![0.0, 1.0, 2.0, 3.0]),
            Axis::linear(0.0, end, ticks),
        )?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
        .x_label_style(font(style::TICK, INK))
        .y_label_style(font(style::TICK, INK))
        .axis_desc_style(font(style::SMALL, INK))
        .x_label_formatter(&|x| PHASE_NAMES.get(x.round() as usize).copied().unwrap_or_default().to_owned())
        .y_label_formatter(&|y| style::bytes_tick(*y));
    if first_column {
        mesh.y_desc("resident memory");
    }
    mesh.draw()?;
    for (i, phase) in Phase::ALL.iter().enumerate() {
        let Some(s) = step.snapshot(*phase) else { continue };
        let x = i as f64;
        let (anon, file) = (s.rss_anon_bytes as f64, s.rss_file_bytes as f64);
        chart.draw_series([
            Rectangle::new([(x - 0.3, 0.0), (x + 0.3, anon)], RSS_ANON.filled()),
            Rectangle::new([(x - 0.3, anon), (x + 0.3, anon + file)], RSS_FILE.filled()),
        ])?;
    }
    Ok(())
}
