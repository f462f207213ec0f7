//! The plots of a `measure` report, in the style of the experiment reports: memory over
//! time, faults over time, residency strips per file; phases marked on the time axis.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::record::{MeasureRecord, Sample};
use crate::probe::tree::ProcessSnapshot;
use crate::report::plots::Area;
use crate::report::plots::axis::Axis;
use crate::report::plots::style::{
    self, INK, LegendItem, MUTED, PSS, RSS_ANON, RSS_FILE, RSS_SHMEM as SHMEM, font,
};
use crate::units::Bytes;

/// Phase marks.
const PHASE: RGBColor = style::REFERENCE;
const WIDTH: u32 = 1100;

/// One stacked layer: its colour and its top edge at a sample.
type Layer = (RGBColor, fn(&Sample) -> f64);

/// Files drawn as residency strips, at most.
const STRIPS: usize = 8;

fn seconds(s: &Sample) -> f64 {
    s.t_ns as f64 / 1e9
}

fn x_end(record: &MeasureRecord) -> f64 {
    record.samples.last().map_or(1.0, seconds).max(1e-3)
}

/// Draws `draw` into an SVG string of `size`.
fn svg(size: (u32, u32), title: &str, draw: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    style::register_fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let at = out.find('>').map_or(0, |i| i + 1);
    out.insert_str(at, &format!("\n<title>{title}</title>"));
    Ok(out)
}

/// Vertical lines and names at the phase marks.
fn draw_phases<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    record: &MeasureRecord,
    top: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    // Names of marks close together go one line lower each, so that none overlaps the
    // one before; the last fifth of the axis is labelled to the left of its mark.
    let (mut previous, mut row) = (f64::NEG_INFINITY, 0u32);
    for s in record.samples.iter().filter(|s| s.phase.is_some()) {
        let x = seconds(s);
        row = if x - previous < 0.15 * x_end(record) { (row + 1) % 4 } else { 0 };
        previous = x;
        chart
            .draw_series(LineSeries::new([(x, 0.0), (x, top)], PHASE.stroke_width(1)))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let name = s.phase.clone().unwrap_or_default();
        let h = if x > 0.8 * x_end(record) { HPos::Right } else { HPos::Left };
        let label = style::anchored(font(style::SMALL, MUTED), h, VPos::Top);
        chart
            .draw_series([Text::new(name, (x, top * (0.98 - 0.06 * f64::from(row))), label)])
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// `memory.svg`: the tree's RSS stacked anon / shmem / file, summed PSS beside it.
pub fn memory(record: &MeasureRecord) -> Result<String> {
    let title = "The process tree's memory over time";
    svg((WIDTH, 560), title, |root| {
        let legend = [
            LegendItem::new("RssAnon: own memory", RSS_ANON),
            LegendItem::new("RssShmem: shared memory", SHMEM),
            LegendItem::new("RssFile: mapped file pages (reclaimable when clean)", RSS_FILE),
            LegendItem::new("summed PSS (shared pages divided)", PSS),
        ];
        let notes = [
            "Stacked: RSS summed over every process alive at each sample. Line: summed PSS. Grey lines: phase marks.",
        ];
        let body = style::header(root, title, &notes, &legend)?.margin(0, 10, 10, 20);
        let sum = |s: &Sample, f: fn(&ProcessSnapshot) -> Bytes| s.tree.sum(f) as f64;
        let top = record.samples.iter().map(|s| sum(s, ProcessSnapshot::rss_bytes)).fold(1.0, f64::max);
        let (ticks, top) = style::byte_ticks(top);
        let mut chart = ChartBuilder::on(&body)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_end(record), Axis::linear(0.0, top, ticks))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_label_formatter(&|v| style::bytes_tick(*v))
            .x_desc("seconds since the start")
            .label_style(font(style::TICK, INK))
            .draw()?;
        let layers: [Layer; 3] = [
            (RSS_FILE, |s| s.tree.sum(ProcessSnapshot::rss_bytes) as f64),
            (SHMEM, |s| (s.tree.sum(|p| p.rss_anon_bytes) + s.tree.sum(|p| p.rss_shmem_bytes)) as f64),
            (RSS_ANON, |s| s.tree.sum(|p| p.rss_anon_bytes) as f64),
        ];
        for (colour, value) in layers {
            let points: Vec<(f64, f64)> = record.samples.iter().map(|s| (seconds(s), value(s))).collect();
            chart.draw_series(AreaSeries::new(points, 0.0, colour.mix(0.85)))?;
        }
        let pss: Vec<(f64, f64)> =
            record.samples.iter().map(|s| (seconds(s), sum(s, |p| p.pss_bytes))).collect();
        chart.draw_series(LineSeries::new(pss, PSS.stroke_width(3)))?;
        draw_phases(&mut chart, record, top)?;
        Ok(())
    })
}

/// `faults.svg`: minor and major faults per second, summed over the tree.
pub fn faults(record: &MeasureRecord) -> Result<String> {
    let title = "Page faults per second, summed over the tree";
    svg((WIDTH, 420), title, |root| {
        let legend = [
            LegendItem::new("minor faults", RSS_FILE),
            LegendItem::new("major faults (read from storage)", RSS_ANON),
        ];
        let body = style::header(root, title, &[], &legend)?.margin(0, 10, 10, 20);
        let rates = fault_rates(record);
        let top = rates.iter().map(|r| r.1.max(r.2)).fold(1.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&body)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_end(record), 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_label_formatter(&|v| style::count_tick(*v))
            .x_desc("seconds since the start")
            .label_style(font(style::TICK, INK))
            .draw()?;
        chart.draw_series(LineSeries::new(rates.iter().map(|r| (r.0, r.1)), RSS_FILE.stroke_width(2)))?;
        chart.draw_series(LineSeries::new(rates.iter().map(|r| (r.0, r.2)), RSS_ANON.stroke_width(2)))?;
        draw_phases(&mut chart, record, top)?;
        Ok(())
    })
}

/// (seconds, minor per second, major per second) between consecutive samples, counting
/// only processes seen in both (a process that appears brings its own count since birth).
pub fn fault_rates(record: &MeasureRecord) -> Vec<(f64, f64, f64)> {
    record
        .samples
        .windows(2)
        .map(|w| {
            let dt = (w[1].t_ns.saturating_sub(w[0].t_ns) as f64 / 1e9).max(1e-6);
            let (mut minor, mut major) = (0u64, 0u64);
            for p in &w[1].tree.processes {
                let before = w[0].tree.processes.iter().find(|q| q.pid == p.pid);
                let (m0, j0) = before.map_or((0, 0), |q| (q.minor_faults, q.major_faults));
                minor += p.minor_faults.saturating_sub(m0);
                major += p.major_faults.saturating_sub(j0);
            }
            (seconds(&w[1]), minor as f64 / dt, major as f64 / dt)
        })
        .collect()
}

/// The files drawn as strips: those with a residency strip, largest tree RSS first.
pub fn strip_files(record: &MeasureRecord) -> Vec<std::path::PathBuf> {
    let mut best: Vec<(std::path::PathBuf, Bytes)> = Vec::new();
    for s in &record.samples {
        for f in s.tree.files.iter().filter(|f| !f.residency.is_empty()) {
            match best.iter_mut().find(|(p, _)| *p == f.path) {
                Some(entry) => entry.1 = entry.1.max(f.rss_bytes()),
                None => best.push((f.path.clone(), f.rss_bytes())),
            }
        }
    }
    best.sort_by_key(|(_, rss)| std::cmp::Reverse(*rss));
    best.into_iter().take(STRIPS).map(|(p, _)| p).collect()
}

/// `residency.svg`: for each large mapped file, which parts were in the page cache when.
pub fn residency(record: &MeasureRecord) -> Result<String> {
    let files = strip_files(record);
    let title = "Page-cache residency of each mapped file over time";
    let band = 120;
    svg((WIDTH, 160 + band * files.len().max(1) as u32), title, |root| {
        let mut tools: Vec<&str> = record
            .samples
            .iter()
            .flat_map(|s| s.tree.files.iter())
            .filter(|f| files.contains(&f.path) && f.residency_method != "none")
            .map(|f| f.residency_method.as_str())
            .collect();
        tools.sort_unstable();
        tools.dedup();
        let tool = if tools.is_empty() { "not measured".to_owned() } else { tools.join(" and ") };
        let note = format!(
            "Each strip is one file: time to the right, the file's start at the top and its end at the bottom; filled where its pages were in the page cache (asked with {tool} in this run)."
        );
        let notes = [note.as_str()];
        let body = style::header(root, title, &notes, &[])?.margin(0, 10, 10, 20);
        let rows = body.split_evenly((files.len().max(1), 1));
        for (row, path) in rows.iter().zip(&files) {
            let name = path.display().to_string();
            let area = style::caption(row, &name)?;
            let mut chart = ChartBuilder::on(&area)
                .x_label_area_size(40)
                .y_label_area_size(90)
                .build_cartesian_2d(0.0..x_end(record), 0.0..1.0)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .y_labels(2)
                .y_label_formatter(&|v| if *v > 0.5 { "start".to_owned() } else { "end".to_owned() })
                .x_desc("seconds since the start")
                .label_style(font(style::TICK, INK))
                .draw()?;
            for w in record.samples.windows(2) {
                let Some(f) = w[1].tree.files.iter().find(|f| f.path == *path) else { continue };
                let bins = f.residency.len().max(1) as f64;
                for (i, percent) in f.residency.iter().enumerate() {
                    let shade = RSS_FILE.mix(f64::from(*percent) / 100.0);
                    let y0 = 1.0 - i as f64 / bins;
                    let y1 = 1.0 - (i + 1) as f64 / bins;
                    chart.draw_series([Rectangle::new(
                        [(seconds(&w[0]), y0), (seconds(&w[1]), y1)],
                        shade.filled(),
                    )])?;
                }
            }
        }
        Ok(())
    })
}
