//! Horizontal bars on a log axis: one group per step, one bar per series, the value
//! written at the end of each bar. Steps read top to bottom in the order the run made them.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::Area;
use super::axis::Axis;
use super::style::{self, INK, MUTED, SMALL, TICK, anchored, font};

/// One series: a colour and a value per category (`None`: not measured).
pub struct Series {
    /// Its colour.
    pub colour: RGBColor,
    /// One value per category, top to bottom.
    pub values: Vec<Option<f64>>,
}

/// A panel of horizontal bars.
pub struct Bars<'a> {
    /// The categories (steps), top to bottom.
    pub categories: &'a [String],
    /// The series, drawn top to bottom inside each category.
    pub series: Vec<Series>,
    /// Bounds of the log axis.
    pub range: (f64, f64),
    /// What the axis measures, with its unit.
    pub axis: &'a str,
    /// Where the ticks go, given the axis' ends.
    pub ticks: fn(f64, f64) -> Vec<f64>,
    /// How ticks are written.
    pub format: fn(f64) -> String,
    /// How the values beside the bars are written (exactly, where ticks round).
    pub value: fn(f64) -> String,
    /// Width of the category labels at the left, in pixels (0 hides them).
    pub label_width: u32,
    /// A vertical reference line: its value and its label.
    pub reference: Option<(f64, String)>,
}

/// Pixels of label area a set of labels needs at tick size.
pub fn label_width(area: &Area, labels: &[String]) -> Result<u32> {
    let style = font(TICK, INK);
    let mut widest = 0;
    for label in labels {
        widest = widest.max(area.estimate_text_size(label, &style)?.0);
    }
    Ok(widest + 16)
}

/// Draws `bars` into `area`.
pub fn draw(area: &Area, bars: &Bars) -> Result<()> {
    let n = bars.categories.len();
    let (lo, hi) = bars.range;
    // Room above the bars for the reference line's label.
    let top = if bars.reference.is_some() { n as f64 + 0.45 } else { n as f64 };
    // Category i is centred at n - i - 0.5, so the first is at the top.
    let centres: Vec<f64> = (0..n).map(|i| n as f64 - i as f64 - 0.5).collect();
    let categories = bars.categories.to_vec();
    let format = bars.format;
    let mut chart = ChartBuilder::on(area)
        .margin_right(16)
        .margin_top(6)
        .x_label_area_size(52)
        .y_label_area_size(bars.label_width)
        .build_cartesian_2d(Axis::log(lo, hi, (bars.ticks)(lo, hi)), Axis::linear(0.0, top, centres))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(0xE4, 0xE4, 0xE4))
        .x_desc(bars.axis)
        .axis_desc_style(font(style::LABEL, INK))
        .x_label_style(font(TICK, INK))
        .y_label_style(font(TICK, INK))
        .x_label_formatter(&|v| format(*v))
        .y_label_formatter(&|y| {
            let i = n as f64 - y - 0.5;
            categories.get(i.round() as usize).filter(|_| bars.label_width > 0).cloned().unwrap_or_default()
        })
        .draw()?;

    let k = bars.series.len().max(1) as f64;
    let band = 0.8 / k;
    let value_style = anchored(font(SMALL, MUTED), HPos::Left, VPos::Center);
    // The reference line first: the values written over it get a white ground, so no
    // line runs through a label.
    if let Some((value, label)) = &bars.reference {
        let dashed = ShapeStyle { color: INK.to_rgba(), filled: false, stroke_width: 2 };
        chart.draw_series(DashedLineSeries::new([(*value, 0.0), (*value, top)], 6, 4, dashed))?;
        // Written to the left of the line: the axis ends close to the data, so the right
        // of the line may have no room.
        let style = anchored(font(SMALL, INK), HPos::Right, VPos::Center);
        let text = Text::new(label.clone(), (-6, 0), style);
        chart.draw_series(std::iter::once(EmptyElement::at((*value, n as f64 + 0.22)) + text))?;
    }
    let area = chart.plotting_area().clone();
    let backed = |label: String| -> Result<_> {
        let (w, h) = area.estimate_text_size(&label, &font(SMALL, MUTED))?;
        let (w, h) = (w as i32, h as i32);
        let ground = Rectangle::new([(3, -h / 2 - 1), (w + 7, h / 2 + 1)], WHITE.filled());
        Ok((ground, Text::new(label, (5, 0), value_style.clone())))
    };
    for (j, series) in bars.series.iter().enumerate() {
        for (i, value) in series.values.iter().enumerate() {
            let upper = n as f64 - i as f64 - 0.1 - j as f64 * band;
            let (lower, middle) = (upper - band * 0.9, upper - band * 0.45);
            match value {
                Some(v) if *v > 0.0 => {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(lo, lower), (v.min(hi), upper)],
                        series.colour.filled(),
                    )))?;
                    let (ground, text) = backed((bars.value)(*v))?;
                    chart.draw_series(std::iter::once(EmptyElement::at((*v, middle)) + ground + text))?;
                }
                Some(_) => {
                    let text = Text::new("0", (5, 0), value_style.clone());
                    chart.draw_series(std::iter::once(EmptyElement::at((lo, middle)) + text))?;
                }
                None => {
                    let text = Text::new("not measured", (5, 0), value_style.clone());
                    chart.draw_series(std::iter::once(EmptyElement::at((lo, middle)) + text))?;
                }
            }
        }
    }
    Ok(())
}

/// Splits `area` into `n` columns of equal plotting width, the first wider by
/// `label_width` because it alone carries the category labels.
pub fn columns<'a>(area: &Area<'a>, n: usize, label_width: u32) -> Vec<Area<'a>> {
    let (width, _) = area.dim_in_pixel();
    let n = n.max(1) as u32;
    let each = width.saturating_sub(label_width) / n;
    let breaks: Vec<u32> = (1..n).map(|i| label_width + i * each).collect();
    area.split_by_breakpoints(breaks, Vec::<u32>::new())
}

/// One column per run beside the category labels (see [`columns`]), each captioned with its
/// run's name when there are several runs.
pub fn run_columns<'a>(
    area: &Area<'a>,
    runs: &[crate::results::Results],
    label_width: u32,
) -> Result<Vec<Area<'a>>> {
    let labels = crate::report::view::run_labels(runs);
    columns(area, runs.len(), label_width)
        .iter()
        .zip(&labels)
        .map(
            |(column, label)| if runs.len() > 1 { style::caption(column, label) } else { Ok(column.clone()) },
        )
        .collect()
}

/// The label width for the panel in column `col`: only the first carries labels.
pub fn labels_in(col: usize, label_width: u32) -> u32 {
    if col == 0 { label_width } else { 0 }
}
