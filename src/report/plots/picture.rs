//! `first-sample.svg`: the first sample drawn as a picture through each mapping. The
//! correct mappings show the picture; float64 without the offset shows it shifted by 16
//! values (the colour channels rotated); uint8 shows the file's raw bytes.

use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{self, BAD, GOOD, INK, LegendItem, MUTED, anchored, font};
use super::{Area, Plot, Raster};
use crate::report::view;
use crate::results::{Preview, Results, StepResult};

/// The picture plot.
pub struct PicturePlot;

const PANEL_WIDTH: u32 = 400;
const PANEL_HEIGHT: u32 = 390;
const IMAGE_BOX: f64 = 240.0;
const PER_ROW: usize = 3;

/// The steps of a run that recorded a picture, in run order.
fn with_preview(run: &Results) -> Vec<(&StepResult, &Preview)> {
    view::step_ids(run)
        .into_iter()
        .filter_map(|id| {
            let s = run
                .steps
                .iter()
                .find(|s| s.id == id && s.preview.as_ref().is_some_and(|p| p.pixels().is_some()))?;
            Some((s, s.preview.as_ref()?))
        })
        .collect()
}

/// What the picture shows, from the step's numbers, and whether that is the original.
fn verdict(step: &StepResult, preview: &Preview) -> (String, bool) {
    match (step.matches_original, step.original_at_element) {
        (Some(true), _) => ("the original picture".to_owned(), true),
        (_, Some(k)) if k > 0 => {
            let rotated = preview.channels > 1 && k % preview.channels as u64 != 0;
            let what = if rotated { ": colour channels rotated" } else { "" };
            (format!("shifted by {k} values{what}"), false)
        }
        _ if step.dtype.is_some_and(|d| d.itemsize() == 1) => {
            ("raw bytes of the file, header first".to_owned(), false)
        }
        _ => ("not the original".to_owned(), false),
    }
}

/// The picture as a PNG: RGB, grey, or RGBA as its channels say (else its first channel).
fn png(preview: &Preview) -> Result<Vec<u8>> {
    let pixels = preview.pixels().context("the preview's pixels do not match its size")?;
    let (colour, data) = match preview.channels {
        1 => (png::ColorType::Grayscale, pixels),
        3 => (png::ColorType::Rgb, pixels),
        4 => (png::ColorType::Rgba, pixels),
        c => (png::ColorType::Grayscale, pixels.into_iter().step_by(c.max(1)).collect()),
    };
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, preview.width as u32, preview.height as u32);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(bytes)
}

impl Plot for PicturePlot {
    fn file_name(&self) -> &'static str {
        "first-sample.svg"
    }

    fn title(&self) -> &'static str {
        "The first sample, drawn through each mapping"
    }

    fn explanation(&self) -> &'static str {
        "Each picture is the first sample's worth of values (height × width × channels) as each step's \
         mapping reads them, drawn as an image: floats in [0, 1) scaled to 0–255, integers as they are. \
         The correct mappings show the original picture. `np.memmap` with `dtype='float64'` and no offset \
         reads the 128-byte header as 16 values, so the picture starts 16 values late: 5 pixels and one \
         channel, which rotates the colours (red shows as blue). The default uint8 view shows the file's \
         raw bytes: first the header's text, then the bytes of each float64, which look like noise. This \
         is the tutorial's wrong-dtype trap, made visible."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().any(|r| !with_preview(r).is_empty())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let rows: usize = runs.iter().map(|r| with_preview(r).len().div_ceil(PER_ROW).max(1)).sum();
        let caption = if runs.len() > 1 { 40 } else { 0 };
        (40 + PER_ROW as u32 * PANEL_WIDTH, 150 + rows as u32 * PANEL_HEIGHT + caption * runs.len() as u32)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend =
            [LegendItem::new("the original picture", GOOD), LegendItem::new("not the original", BAD)];
        let notes = ["Floats in [0, 1) scaled to 0–255; integers as they are."];
        let body = style::header(root, self.title(), &notes, &legend)?.margin(0, 0, 20, 20);
        let heights: Vec<u32> = runs
            .iter()
            .map(|r| {
                with_preview(r).len().div_ceil(PER_ROW).max(1) as u32 * PANEL_HEIGHT
                    + if runs.len() > 1 { 40 } else { 0 }
            })
            .collect();
        let breaks: Vec<u32> = heights
            .iter()
            .scan(0, |acc, h| {
                *acc += h;
                Some(*acc)
            })
            .take(runs.len().saturating_sub(1))
            .collect();
        let run_areas = body.split_by_breakpoints(Vec::<u32>::new(), breaks);
        let run_labels = view::run_labels(runs);
        let mut rasters = Vec::new();
        for ((area, run), label) in run_areas.iter().zip(runs).zip(&run_labels) {
            let area = if runs.len() > 1 { style::caption(area, label)? } else { area.clone() };
            let pictures = with_preview(run);
            if pictures.is_empty() {
                super::memory::not_run(&area)?;
                continue;
            }
            let rows = pictures.len().div_ceil(PER_ROW);
            let panels = area.split_evenly((rows, PER_ROW));
            for ((step, preview), panel) in pictures.into_iter().zip(&panels) {
                rasters.push(panel_picture(panel, &view::numpy_call(run, &step.numpy_call), step, preview)?);
            }
        }
        Ok(rasters)
    }
}

/// Draws one panel's texts and frame; returns its picture, placed.
fn panel_picture(panel: &Area, call: &str, step: &StepResult, preview: &Preview) -> Result<Raster> {
    let (width, _) = panel.dim_in_pixel();
    let label = view::short_label(step);
    let below = style::caption_band(panel, &label, 2)?;
    let scale = IMAGE_BOX / preview.width.max(preview.height).max(1) as f64;
    let (w, h) =
        ((preview.width as f64 * scale).round() as i32, (preview.height as f64 * scale).round() as i32);
    let x = (width as i32 - w) / 2;
    let y = 4;
    below.draw(&Rectangle::new(
        [(x - 1, y - 1), (x + w, y + h)],
        ShapeStyle { color: INK.to_rgba(), filled: false, stroke_width: 1 },
    ))?;
    let (verdict, good) = verdict(step, preview);
    let mut text_y = y + h + 10;
    let verdict_style = style::bold(style::SMALL + 1.0, if good { GOOD } else { BAD });
    below.draw(&Text::new(
        verdict,
        (width as i32 / 2, text_y),
        anchored(verdict_style, HPos::Center, VPos::Top),
    ))?;
    text_y += style::SMALL as i32 + 8;
    let call_style = font(style::SMALL, MUTED);
    let lines = style::wrap(&below, call, &call_style, width.saturating_sub(24))?;
    for line in lines {
        below.draw(&Text::new(
            line,
            (width as i32 / 2, text_y),
            anchored(call_style.clone(), HPos::Center, VPos::Top),
        ))?;
        text_y += style::SMALL as i32 + 3;
    }
    let (bx, by) = below.get_base_pixel();
    Ok(Raster { x: bx + x, y: by + y, width: w as u32, height: h as u32, png: png(preview)? })
}
