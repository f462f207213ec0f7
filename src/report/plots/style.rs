//! What every plot shares: the font, the colours, tick labels with units, and the header
//! (title, notes, legend) drawn so that no two texts overlap.

use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Area;

/// Size of titles, in pixels (plotters' unit; the SVG says 1/1.24 of it).
pub const TITLE: f64 = 28.0;
/// Size of panel captions.
pub const CAPTION: f64 = 18.0;
/// Size of axis descriptions and legends.
pub const LABEL: f64 = 17.0;
/// Size of tick labels.
pub const TICK: f64 = 15.0;
/// Size of notes and values written beside bars.
pub const SMALL: f64 = 14.0;

// One colour, one meaning, in every plot (Okabe–Ito and Tol colours, told apart with
// every common kind of colour blindness): a colour names a quantity, never two.

/// File-backed memory (`RssFile`): the file's pages, reclaimable.
pub const RSS_FILE: RGBColor = RGBColor(0x00, 0x9E, 0x73);
/// The process's own memory (`RssAnon`).
pub const RSS_ANON: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
/// Shared memory (`RssShmem`: tmpfs, SysV and `memfd` pages), own memory that several
/// processes may map.
pub const RSS_SHMEM: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
/// Resident memory as a whole (RSS, file and own together).
pub const RSS: RGBColor = RGBColor(0x00, 0x72, 0xB2);
/// Proportional set size: each shared page divided among the processes that map it.
pub const PSS: RGBColor = RGBColor(0x33, 0x22, 0x88);
/// A warm page cache.
pub const WARM: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// A cold page cache.
pub const COLD: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
/// The object's size as mmap-lab measures it (`size_of_val`, the Rust analogue).
pub const OBJECT: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// The object's size as NumPy gives it (`sys.getsizeof`, the tutorial's number).
pub const OBJECT_NUMPY: RGBColor = RGBColor(0x88, 0x44, 0x11);
/// A reference quantity: pages touched, the file's size.
pub const REFERENCE: RGBColor = RGBColor(0x99, 0x99, 0x99);
/// Good news (a correct mapping), for text and frames.
pub const GOOD: RGBColor = RGBColor(0x11, 0x77, 0x33);
/// Bad news (a wrong mapping), for text and frames.
pub const BAD: RGBColor = RGBColor(0x88, 0x22, 0x55);
/// Text.
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Secondary text.
pub const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// The colour of a cache state.
pub fn cache_colour(cache: crate::cache::CacheState) -> RGBColor {
    match cache {
        crate::cache::CacheState::Warm => WARM,
        crate::cache::CacheState::Cold => COLD,
    }
}

/// Registers DejaVu Sans as plotters' `sans-serif`, once per process: text is measured
/// with it (so labels are laid out without overlaps) and the SVG names `sans-serif`.
pub fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let fonts =
                [(FontStyle::Normal, dejavu::sans::regular()), (FontStyle::Bold, dejavu::sans::bold())];
            for (style, bytes) in fonts {
                plotters::style::register_font("sans-serif", style, bytes)
                    .map_err(|_| "the bundled DejaVu Sans font could not be loaded".to_owned())?;
            }
            Ok(())
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// A text style of `size` in `colour`.
pub fn font(size: f64, colour: RGBColor) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&colour)
}

/// A bold text style.
pub fn bold(size: f64, colour: RGBColor) -> TextStyle<'static> {
    ("sans-serif", size, FontStyle::Bold).into_font().color(&colour)
}

/// `style` anchored at `h`/`v`.
pub fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// A byte count for a tick: `0 B`, `512 B`, `4 KiB`, `1.5 GiB`.
pub fn bytes_tick(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = v.abs();
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if (value - value.round()).abs() < 0.05 {
        format!("{sign}{value:.0} {}", UNITS[unit])
    } else {
        format!("{sign}{value:.1} {}", UNITS[unit])
    }
}

/// A duration in nanoseconds for a tick: `100 ns`, `10 µs`, `1 s`.
pub fn nanos_tick(v: f64) -> String {
    let (value, unit) = if v < 1e3 {
        (v, "ns")
    } else if v < 1e6 {
        (v / 1e3, "µs")
    } else if v < 1e9 {
        (v / 1e6, "ms")
    } else {
        (v / 1e9, "s")
    };
    if (value - value.round()).abs() < 0.05 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// A count for a tick: `1`, `10`, `1k`, `100k`, `1M`.
pub fn count_tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Bounds of a log axis holding `values` (positive ones): from half the power of ten below
/// the smallest (so that it shows as a bar) to a power of ten with a decade of room on the
/// right for the values written beside the bars.
pub fn log_bounds(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let positive: Vec<f64> = values.into_iter().filter(|v| *v > 0.0 && v.is_finite()).collect();
    let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = positive.iter().copied().fold(0.0, f64::max);
    if positive.is_empty() {
        return (1.0, 10.0);
    }
    // Below: half a decade under the smallest; above: room for the value written at the end
    // of the longest bar, not a whole empty decade.
    (0.5 * 10f64.powf(lo.log10().floor()), hi * 6.0)
}

/// The powers of ten between `lo` and `hi`: the ticks of a log axis of times or counts.
pub fn decades(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = ((lo.log10() - 1e-9).ceil() as i32, (hi.log10() + 1e-9).floor() as i32);
    (a..=b).map(|e| 10f64.powi(e)).collect()
}

/// Powers of two between `lo` and `hi`, no more than eight, at exponents that are
/// multiples of 1, 2, 5 or 10: the ticks of a log axis of bytes (`1 KiB`, `32 KiB`, `1 MiB`).
pub fn binary_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = ((lo.log2() - 1e-9).ceil() as i32, (hi.log2() + 1e-9).floor() as i32);
    let step = [1, 2, 5, 10].into_iter().find(|s| (b - a) / s < 8).unwrap_or(10);
    (a..=b).filter(|e| e.rem_euclid(step) == 0).map(|e| 2f64.powi(e)).collect()
}

/// Ticks for a linear byte axis from 0 to at least `max`: multiples of a power of two
/// (so they read `256 MiB`, `512 MiB`, `1 GiB`), four to eight of them; and the axis' end.
pub fn byte_ticks(max: f64) -> (Vec<f64>, f64) {
    let max = max.max(1.0);
    let mut step = 1.0f64;
    while max / step > 8.0 {
        step *= 2.0;
    }
    let end = (max / step).ceil() * step;
    let ticks = (0..=((end / step) as usize)).map(|i| i as f64 * step).collect();
    (ticks, end)
}

/// Splits `text` into lines no wider than `width` pixels in `style`, at spaces.
pub fn wrap(area: &Area, text: &str, style: &TextStyle, width: u32) -> Result<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if !line.is_empty() && area.estimate_text_size(&candidate, style)?.0 > width {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// Draws lines of text from `(x, y)` down; returns the y below the last one.
pub fn draw_lines(
    area: &Area,
    lines: &[String],
    style: &TextStyle<'static>,
    (x, y): (i32, i32),
) -> Result<i32> {
    let height = style.font.get_size() as i32 + 4;
    let style = anchored(style.clone(), HPos::Left, VPos::Top);
    for (i, line) in lines.iter().enumerate() {
        area.draw(&Text::new(line.clone(), (x, y + i as i32 * height), style.clone()))?;
    }
    Ok(y + lines.len() as i32 * height)
}

/// One entry of a legend: a swatch and what it means.
pub struct LegendItem {
    /// What the colour stands for.
    pub label: String,
    /// The colour.
    pub colour: RGBColor,
}

impl LegendItem {
    /// An entry.
    pub fn new(label: impl Into<String>, colour: RGBColor) -> LegendItem {
        LegendItem { label: label.into(), colour }
    }
}

/// One legend entry per cache state: "warm page cache", "cold page cache".
pub fn cache_legend(caches: &[crate::cache::CacheState]) -> Vec<LegendItem> {
    caches.iter().map(|c| LegendItem::new(format!("{} page cache", c.name()), cache_colour(*c))).collect()
}

/// Draws a figure's header at the top of `root`: its title, notes wrapped to the width,
/// and the legend on as many rows as it needs; returns the area below it.
pub fn header<'a>(root: &Area<'a>, title: &str, notes: &[&str], legend: &[LegendItem]) -> Result<Area<'a>> {
    let (width, _) = root.dim_in_pixel();
    let margin = 20;
    let usable = width.saturating_sub(2 * margin as u32);
    let title_style = bold(TITLE, INK);
    let mut y = 14;
    for line in wrap(root, title, &title_style, usable)? {
        let centred = anchored(title_style.clone(), HPos::Center, VPos::Top);
        root.draw(&Text::new(line, (width as i32 / 2, y), centred))?;
        y += TITLE as i32 + 6;
    }
    let note_style = font(SMALL + 1.0, MUTED);
    for note in notes {
        let lines = wrap(root, note, &note_style, usable)?;
        y = draw_lines(root, &lines, &note_style, (margin, y + 2))?;
    }
    y += 6;
    let label_style = font(LABEL, INK);
    let swatch = LABEL as i32 - 2;
    let mut x = margin;
    for item in legend {
        let text_width = root.estimate_text_size(&item.label, &label_style)?.0 as i32;
        let item_width = swatch + 8 + text_width + 28;
        if x > margin && x + item_width > width as i32 - margin {
            x = margin;
            y += LABEL as i32 + 10;
        }
        root.draw(&Rectangle::new([(x, y + 2), (x + swatch, y + 2 + swatch)], item.colour.filled()))?;
        let style = anchored(label_style.clone(), HPos::Left, VPos::Top);
        root.draw(&Text::new(item.label.clone(), (x + swatch + 8, y), style))?;
        x += item_width;
    }
    if !legend.is_empty() {
        y += LABEL as i32 + 10;
    }
    Ok(root.split_vertically(y + 6).1)
}

/// Draws a bold caption at the top of `area` and returns the area below it.
pub fn caption<'a>(area: &Area<'a>, text: &str) -> Result<Area<'a>> {
    caption_band(area, text, 0)
}

/// Like [`caption`], in a band at least `lines` lines high, so that panels whose captions
/// wrap differently still line up below them.
pub fn caption_band<'a>(area: &Area<'a>, text: &str, lines: usize) -> Result<Area<'a>> {
    let (width, _) = area.dim_in_pixel();
    let style = bold(CAPTION, INK);
    let wrapped = wrap(area, text, &style, width.saturating_sub(20))?;
    let line_height = CAPTION as i32 + 4;
    // Bottom-aligned in the band: the caption sits just above what it names.
    let first = 10 + lines.saturating_sub(wrapped.len()) as i32 * line_height;
    for (i, line) in wrapped.iter().enumerate() {
        let at = (width as i32 / 2, first + i as i32 * line_height);
        area.draw(&Text::new(line.clone(), at, anchored(style.clone(), HPos::Center, VPos::Top)))?;
    }
    Ok(area.split_vertically(14 + wrapped.len().max(lines) as i32 * line_height).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_name_their_units() {
        assert_eq!(bytes_tick(0.0), "0 B");
        assert_eq!(bytes_tick(512.0), "512 B");
        assert_eq!(bytes_tick(1536.0 * 1024.0), "1.5 MiB");
        assert_eq!(bytes_tick(1024.0 * 1024.0 * 1024.0), "1 GiB");
        assert_eq!(nanos_tick(100.0), "100 ns");
        assert_eq!(nanos_tick(1e4), "10 µs");
        assert_eq!(nanos_tick(2.5e9), "2.5 s");
        assert_eq!(count_tick(100_000.0), "100k");
    }

    #[test]
    fn log_bounds_cover_the_values_with_room_for_labels() {
        assert_eq!(log_bounds([64.0, 0.0, 150_000.0]), (5.0, 900_000.0));
        assert_eq!(log_bounds(std::iter::empty()), (1.0, 10.0));
        assert_eq!(decades(5.0, 1e4), [10.0, 100.0, 1e3, 1e4]);
        let bytes = binary_ticks(5.0, 1e10);
        assert_eq!(bytes.len(), 6);
        assert_eq!(
            bytes.iter().map(|b| bytes_tick(*b)).collect::<Vec<_>>()[..3],
            ["32 B", "1 KiB", "32 KiB"]
        );
    }

    #[test]
    fn no_two_meanings_share_a_colour() {
        let all = [RSS_FILE, RSS_ANON, RSS, PSS, WARM, COLD, OBJECT, OBJECT_NUMPY, REFERENCE, GOOD, BAD];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).abs();
                let distance = d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2);
                assert!(distance > 60, "{a:?} and {b:?} are too alike to mean two things");
            }
        }
    }

    #[test]
    fn byte_ticks_are_round_binary_numbers() {
        let (ticks, end) = byte_ticks(1_400_000_000.0);
        assert!(end >= 1_400_000_000.0 && ticks.len() <= 9);
        assert_eq!(ticks[1], 256.0 * 1024.0 * 1024.0);
        assert_eq!(*ticks.last().unwrap(), end);
    }
}
