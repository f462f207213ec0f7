//! `larger-than-memory.svg`: memory along a full pass over an array larger than the
//! machine's memory: RssFile climbs, then levels off below memory while the pass goes on.

use anyhow::Result;
use plotters::prelude::*;

use super::axis::Axis;
use super::style::{self, INK, LegendItem, REFERENCE, RSS_ANON, RSS_FILE, font};
use super::{Area, Plot, Raster};
use crate::results::{Results, TracePoint};

/// The tracked-pass plot.
pub struct TracePlot;

const GIB: f64 = (1u64 << 30) as f64;

fn traces(run: &Results) -> Vec<&[TracePoint]> {
    run.steps.iter().filter_map(|s| s.trace.as_deref()).filter(|t| !t.is_empty()).collect()
}

impl Plot for TracePlot {
    fn file_name(&self) -> &'static str {
        "larger-than-memory.svg"
    }

    fn title(&self) -> &'static str {
        "Memory along a full pass through the mapping"
    }

    fn explanation(&self) -> &'static str {
        "RssFile (the file's pages mapped by the process) and RssAnon (its own memory) after each of 64 \
         slices of a full pass through `np.load(mmap_mode='r')`, against the bytes read so far. The dashed \
         line is the machine's memory. Over an array larger than memory, RssFile climbs until the page \
         cache fills, then levels off: the kernel drops the oldest clean pages (the file still holds \
         them) and the pass goes on to the end, while RssAnon stays flat."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().any(|r| !traces(r).is_empty())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        (200 + 800 * runs.len().max(1) as u32, 640)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend = [
            LegendItem::new("RssFile", RSS_FILE),
            LegendItem::new("RssAnon", RSS_ANON),
            LegendItem::new("machine memory", REFERENCE),
        ];
        let body = style::header(root, self.title(), &[], &legend)?.margin(0, 10, 16, 16);
        for (panel, run) in super::run_columns(&body, runs)?.iter().zip(runs) {
            let all = traces(run);
            let read_max = all.iter().flat_map(|t| t.iter()).map(|p| p.bytes_read as f64).fold(1.0, f64::max);
            let memory = run.machine.memory_bytes as f64;
            let top = all
                .iter()
                .flat_map(|t| t.iter())
                .map(|p| p.rss_file_bytes.max(p.rss_anon_bytes) as f64)
                .fold(memory, f64::max)
                * 1.1;
            // GiB for the real thing, MiB when a small shape was traced.
            let unit = |hi: f64| if hi >= 2.0 * GIB { (GIB, "GiB") } else { (GIB / 1024.0, "MiB") };
            let ticks = |hi: f64| {
                let (u, _) = unit(hi);
                let step = (hi / u / 6.0).ceil().max(1.0);
                (0..=6).map(|i| i as f64 * step * u).filter(|v| *v <= hi).collect::<Vec<_>>()
            };
            let (x_unit, x_name) = unit(read_max);
            let (y_unit, y_name) = unit(top);
            let (x_desc, y_desc) =
                (format!("bytes read so far ({x_name})"), format!("resident memory ({y_name})"));
            let mut chart = ChartBuilder::on(panel)
                .margin(10)
                .x_label_area_size(52)
                .y_label_area_size(90)
                .build_cartesian_2d(
                    Axis::linear(0.0, read_max, ticks(read_max)),
                    Axis::linear(0.0, top, ticks(top)),
                )?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
                .x_desc(x_desc)
                .y_desc(y_desc)
                .axis_desc_style(font(style::LABEL, INK))
                .x_label_style(font(style::TICK, INK))
                .y_label_style(font(style::TICK, INK))
                .x_label_formatter(&|v| format!("{:.0}", v / x_unit))
                .y_label_formatter(&|v| format!("{:.0}", v / y_unit))
                .draw()?;
            let dashed = ShapeStyle { color: REFERENCE.to_rgba(), filled: false, stroke_width: 2 };
            chart.draw_series(DashedLineSeries::new([(0.0, memory), (read_max, memory)], 8, 5, dashed))?;
            for trace in all {
                for (colour, field) in [
                    (RSS_FILE, (|p: &TracePoint| p.rss_file_bytes) as fn(&TracePoint) -> u64),
                    (RSS_ANON, |p: &TracePoint| p.rss_anon_bytes),
                ] {
                    let points = trace.iter().map(|p| (p.bytes_read as f64, field(p) as f64));
                    chart.draw_series(LineSeries::new(points, colour.stroke_width(3)))?;
                }
            }
        }
        Ok(Vec::new())
    }
}
