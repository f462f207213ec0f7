//! The plots: one SVG per idea, drawn with plotters, one module each.
//!
//! Every plot has a title, axes that name their units, and a legend; with several runs it
//! draws them side by side on the same scales. A plot whose data no run has is left out of
//! the report (and the markdown says so) rather than drawn empty.

pub mod axis;
mod bars;
mod faults;
mod folios;
mod formats;
mod groups;
mod memory;
mod object_size;
mod picture;
mod residency;
mod sharing;
pub mod style;
mod time;
mod trace;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::Output;
use crate::results::Results;

/// The drawing area of an SVG being drawn.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A picture to embed in the SVG as a PNG, placed in the SVG's pixel coordinates.
pub struct Raster {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width on the page (the picture is scaled to it, pixels kept square and sharp).
    pub width: u32,
    /// Height on the page.
    pub height: u32,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

/// One plot of the report.
pub trait Plot {
    /// Its file name in the report folder.
    fn file_name(&self) -> &'static str;
    /// Its title, drawn at its top and used as the markdown's alt text.
    fn title(&self) -> &'static str;
    /// What it shows and how to read it: a short paragraph, true for any run.
    fn explanation(&self) -> &'static str;
    /// The paragraph the markdown prints under the plot for `runs`: its explanation, with
    /// whatever depends on the run (shape, tools, what was faster) computed from it.
    fn caption(&self, runs: &[Results]) -> String {
        let _ = runs;
        self.explanation().to_owned()
    }
    /// Whether any run has the data it draws.
    fn has_data(&self, runs: &[Results]) -> bool;
    /// Its size in pixels for `runs`.
    fn size(&self, runs: &[Results]) -> (u32, u32);
    /// Draws it on `root`; returns the pictures to embed, if any.
    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>>;
}

/// Every plot, in the order the report shows them.
pub fn all() -> Vec<Box<dyn Plot>> {
    let mut all = tutorial();
    all.extend(beyond());
    all
}

/// The plots of the tutorial's steps.
pub fn tutorial() -> Vec<Box<dyn Plot>> {
    vec![
        Box::new(memory::MemoryPlot),
        Box::new(time::TimePlot),
        Box::new(object_size::ObjectSizePlot),
        Box::new(residency::ResidencyPlot),
        Box::new(faults::FaultsPlot),
        Box::new(picture::PicturePlot),
    ]
}

/// The plots of the experiments beyond the tutorial, each drawn when its group ran.
pub fn beyond() -> Vec<Box<dyn Plot>> {
    vec![
        Box::new(groups::ACCESS),
        Box::new(groups::POLICIES),
        Box::new(folios::FoliosPlot),
        Box::new(sharing::SharingPlot),
        Box::new(trace::TracePlot),
        formats_plot(),
    ]
}

/// The formats plot (.npz, safetensors, Arrow IPC).
pub fn formats_plot() -> Box<dyn Plot> {
    Box::new(formats::FormatsPlot)
}

/// The plots that have data in `runs`.
pub fn available(runs: &[Results]) -> Vec<Box<dyn Plot>> {
    all().into_iter().filter(|p| p.has_data(runs)).collect()
}

/// A plot as a file of the report.
pub struct PlotOutput(pub Box<dyn Plot>);

impl Output for PlotOutput {
    fn file_name(&self) -> String {
        self.0.file_name().to_owned()
    }

    fn render(&self, runs: &[Results]) -> Result<Vec<u8>> {
        render(self.0.as_ref(), runs).map(String::into_bytes)
    }
}

/// Draws `plot` over `runs` into an SVG document.
pub fn render(plot: &dyn Plot, runs: &[Results]) -> Result<String> {
    style::register_fonts()?;
    let mut svg = String::new();
    let rasters = {
        let root = SVGBackend::with_string(&mut svg, plot.size(runs)).into_drawing_area();
        root.fill(&WHITE)?;
        let rasters = plot.draw(&root, runs).with_context(|| format!("drawing {}", plot.file_name()))?;
        root.present()?;
        rasters
    };
    finish(svg, plot.title(), &rasters)
}

/// Adds a `<title>` (what screen readers and tooltips show) and the embedded pictures.
fn finish(mut svg: String, title: &str, rasters: &[Raster]) -> Result<String> {
    use base64::Engine as _;
    let root_end = svg
        .find("<svg")
        .and_then(|start| svg[start..].find('>').map(|end| start + end + 1))
        .context("plotters wrote no <svg> element")?;
    svg.insert_str(root_end, &format!("\n<title>{}</title>", escape(title)));
    let mut images = String::new();
    for r in rasters {
        images.push_str(&format!(
            "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>\n",
            r.x,
            r.y,
            r.width,
            r.height,
            base64::engine::general_purpose::STANDARD.encode(&r.png)
        ));
    }
    let close = svg.rfind("</svg>").context("plotters wrote no </svg>")?;
    svg.insert_str(close, &images);
    Ok(svg)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Splits `area` into one panel per run, side by side, each captioned with its run's name
/// when there are several.
pub fn run_columns<'a>(area: &Area<'a>, runs: &[Results]) -> Result<Vec<Area<'a>>> {
    let labels = super::view::run_labels(runs);
    let panels = area.split_evenly((1, runs.len().max(1)));
    if runs.len() < 2 {
        return Ok(panels);
    }
    panels.iter().zip(&labels).map(|(panel, label)| style::caption(panel, label)).collect()
}

#[cfg(test)]
mod tests;
