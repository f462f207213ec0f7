//! The synthetic training images: deterministic pictures drawn from a seed.
//!
//! Each sample is a small picture: a smooth two-colour gradient, two to four solid shapes
//! (discs and rectangles) and a little noise, every value in [0, 1). A picture makes a
//! wrong mapping obvious at a glance: shifted by 16 values, the colour channels rotate and
//! the rows slide; read as bytes, it turns to static.
//!
//! Determinism: the parameters of sample `n` come from ChaCha8 (value-stable across
//! platforms) seeded with the dataset seed on stream `n`; the noise of element `i` comes
//! from a splitmix64 hash of the seed and `i`. Only `+ - * /` and `sqrt` touch the values,
//! all exactly rounded in IEEE 754, so the same seed gives the same bytes on every machine,
//! whichever thread drew which sample.

use crate::dtype::{Dtype, Kind};
use crate::shape::Shape;

mod painter;

pub use self::painter::SamplePainter;

/// Bumped whenever the pictures change, so that a manifest of old data reads as stale.
pub const GENERATOR_VERSION: u32 = 1;

/// Largest `f32` below 1.0.
const F32_BELOW_ONE: f64 = 1.0 - (f32::EPSILON as f64) / 2.0;

/// How a shape splits into samples of `height x width x channels` pictures.
///
/// `(N, H, W, C...)` gives N pictures of H x W with the product of the rest as channels;
/// `(N, H, W)` grey pictures; `(N, W)` one-row pictures; `(W,)` one picture of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleLayout {
    /// Number of samples (the first axis).
    pub samples: u64,
    /// Rows per picture.
    pub height: usize,
    /// Columns per picture.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl SampleLayout {
    /// The layout of `shape`.
    pub fn of(shape: &Shape) -> SampleLayout {
        let d = &shape.0;
        let rest = |from: usize| d.iter().skip(from).product::<usize>().max(1);
        match d.len() {
            0 => SampleLayout { samples: 1, height: 1, width: 1, channels: 1 },
            1 => SampleLayout { samples: 1, height: 1, width: d[0], channels: 1 },
            2 => SampleLayout { samples: d[0] as u64, height: 1, width: d[1], channels: 1 },
            3 => SampleLayout { samples: d[0] as u64, height: d[1], width: d[2], channels: 1 },
            _ => SampleLayout { samples: d[0] as u64, height: d[1], width: d[2], channels: rest(3) },
        }
    }

    /// Values in one sample.
    pub fn sample_len(&self) -> usize {
        self.height * self.width * self.channels
    }
}

/// Draws the pixels `first_pixel..` of a dataset into `out` as elements of `dtype` in
/// native byte order (what `np.save` writes on this machine).
///
/// `out` holds a whole number of pixels (`channels * itemsize` bytes each); `scratch` is
/// reused between calls to avoid fresh allocations. Any split of the array into ranges
/// gives the same bytes, so ranges can be drawn on any thread in any order.
pub fn draw_pixels(
    seed: u64,
    layout: SampleLayout,
    dtype: Dtype,
    first_pixel: u64,
    out: &mut [u8],
    scratch: &mut Vec<f64>,
) {
    let item = dtype.itemsize() as usize;
    let pixel_bytes = layout.channels * item;
    let per_sample = (layout.height * layout.width) as u64;
    let mut painter: Option<(u64, SamplePainter)> = None;
    let mut pixel = first_pixel;
    let mut rest = out;
    while !rest.is_empty() {
        let sample = pixel / per_sample;
        let y = ((pixel % per_sample) / layout.width as u64) as usize;
        let x = (pixel % layout.width as u64) as usize;
        let pixels = (layout.width - x).min(rest.len() / pixel_bytes);
        let (piece, tail) = rest.split_at_mut(pixels * pixel_bytes);
        if painter.as_ref().is_none_or(|(n, _)| *n != sample) {
            painter = Some((sample, SamplePainter::new(seed, sample, layout)));
        }
        if let Some((_, p)) = &painter {
            match bytemuck::try_cast_slice_mut::<u8, f64>(piece) {
                Ok(values) if dtype == Dtype::F8 => p.paint_segment(y, x, values),
                _ => {
                    scratch.resize(pixels * layout.channels, 0.0);
                    p.paint_segment(y, x, scratch);
                    encode(dtype, scratch, piece);
                }
            }
        }
        pixel += pixels as u64;
        rest = tail;
    }
}

/// Draws the elements `first..` of a dataset into `out` (a whole number of elements of
/// `dtype`), whether or not `first` and the end fall on pixel boundaries.
pub fn draw_elements(
    seed: u64,
    layout: SampleLayout,
    dtype: Dtype,
    first: u64,
    out: &mut [u8],
    scratch: &mut Vec<f64>,
) {
    let item = dtype.itemsize() as usize;
    let channels = layout.channels as u64;
    let count = (out.len() / item) as u64;
    let end = first + count;
    // A partial pixel at either end is drawn whole into a side buffer and cut.
    let partial = |pixel: u64, from: u64, to: u64, out: &mut [u8], scratch: &mut Vec<f64>| {
        let mut bytes = vec![0u8; layout.channels * item];
        draw_pixels(seed, layout, dtype, pixel, &mut bytes, scratch);
        let a = ((from - pixel * channels) as usize) * item;
        let b = ((to - pixel * channels) as usize) * item;
        out.copy_from_slice(&bytes[a..b]);
    };
    let head_end = first.div_ceil(channels) * channels;
    let tail_start = (end / channels) * channels;
    if head_end >= tail_start {
        // Within one or two pixels: draw them element-wise.
        let mut at = first;
        let mut rest = out;
        while at < end {
            let pixel = at / channels;
            let to = ((pixel + 1) * channels).min(end);
            let (piece, tail) = rest.split_at_mut(((to - at) as usize) * item);
            partial(pixel, at, to, piece, scratch);
            rest = tail;
            at = to;
        }
        return;
    }
    let (head, rest) = out.split_at_mut(((head_end - first) as usize) * item);
    let (middle, tail) = rest.split_at_mut(((tail_start - head_end) as usize) * item);
    if !head.is_empty() {
        partial(first / channels, first, head_end, head, scratch);
    }
    draw_pixels(seed, layout, dtype, head_end / channels, middle, scratch);
    if !tail.is_empty() {
        partial(tail_start / channels, tail_start, end, tail, scratch);
    }
}

/// Writes `values` as elements of `dtype` (f8, f4 or u1) into `out`.
fn encode(dtype: Dtype, values: &[f64], out: &mut [u8]) {
    match (dtype.kind, dtype.size) {
        (Kind::Float, 8) => {
            for (v, o) in values.iter().zip(out.chunks_exact_mut(8)) {
                o.copy_from_slice(&v.to_ne_bytes());
            }
        }
        (Kind::Float, 4) => {
            for (v, o) in values.iter().zip(out.chunks_exact_mut(4)) {
                o.copy_from_slice(&(v.min(F32_BELOW_ONE) as f32).to_ne_bytes());
            }
        }
        _ => {
            // uint8 pictures: [0, 1) scaled to 0..=255, as `(x * 256).astype(np.uint8)`.
            for (v, o) in values.iter().zip(out.iter_mut()) {
                *o = (v * 256.0) as u8;
            }
        }
    }
}

/// The value at flat index `index` of the dataset, recomputed from the seed (for checks).
pub fn value_at(seed: u64, shape: &Shape, dtype: Dtype, index: u64) -> f64 {
    let layout = SampleLayout::of(shape);
    let len = layout.sample_len() as u64;
    let sample = sample_values(seed, layout, dtype, index / len);
    sample[(index % len) as usize]
}

/// All values of sample `n`, as the dataset stores them, widened to `f64`.
pub fn sample_values(seed: u64, layout: SampleLayout, dtype: Dtype, n: u64) -> Vec<f64> {
    let mut values = vec![0.0; layout.sample_len()];
    SamplePainter::new(seed, n, layout).paint(&mut values);
    if dtype != Dtype::F8 {
        let item = dtype.itemsize() as usize;
        let mut bytes = vec![0u8; values.len() * item];
        encode(dtype, &values, &mut bytes);
        for (v, b) in values.iter_mut().zip(bytes.chunks_exact(item)) {
            *v = dtype.decode(b);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> SampleLayout {
        SampleLayout::of(&Shape(vec![4, 12, 10, 3]))
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let a = sample_values(7, layout(), Dtype::F8, 2);
        let b = sample_values(7, layout(), Dtype::F8, 2);
        let c = sample_values(8, layout(), Dtype::F8, 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn values_stay_in_unit_interval() {
        for n in 0..4 {
            for v in sample_values(3, layout(), Dtype::F8, n) {
                assert!((0.0..1.0).contains(&v), "{v}");
            }
        }
        for v in sample_values(3, layout(), Dtype::F4, 1) {
            assert!((0.0..1.0).contains(&v), "{v}");
        }
        for v in sample_values(3, layout(), Dtype::U1, 1) {
            assert!((0.0..=255.0).contains(&v) && v.fract() == 0.0);
        }
    }

    #[test]
    fn draw_pixels_matches_sample_values_for_every_dtype() {
        for dtype in [Dtype::F8, Dtype::F4, Dtype::U1] {
            let l = layout();
            let item = dtype.itemsize() as usize;
            let pixel_bytes = l.channels * item;
            let per_sample = (l.height * l.width) as u64;
            let mut out = vec![0u8; 3 * l.sample_len() * item];
            // Drawn in odd-sized pieces, the bytes are the same as whole samples.
            let mut pixel = per_sample;
            for piece in out.chunks_mut(7 * pixel_bytes) {
                draw_pixels(5, l, dtype, pixel, piece, &mut Vec::new());
                pixel += (piece.len() / pixel_bytes) as u64;
            }
            for k in 0..3u64 {
                let want = sample_values(5, l, dtype, 1 + k);
                let start = k as usize * l.sample_len() * item;
                for (j, w) in want.iter().enumerate() {
                    let got = dtype.decode(&out[start + j * item..start + (j + 1) * item]);
                    assert_eq!(got, *w);
                }
            }
        }
    }

    #[test]
    fn draw_elements_splits_anywhere() {
        // Three channels, pieces of 5 elements: pixel boundaries fall inside pieces.
        for dtype in [Dtype::F8, Dtype::U1] {
            let l = layout();
            let item = dtype.itemsize() as usize;
            let total = 2 * l.sample_len();
            let mut whole = vec![0u8; total * item];
            draw_pixels(9, l, dtype, 0, &mut whole, &mut Vec::new());
            for piece_len in [1usize, 2, 5, 64] {
                let mut pieced = vec![0u8; total * item];
                for (k, piece) in pieced.chunks_mut(piece_len * item).enumerate() {
                    draw_elements(9, l, dtype, (k * piece_len) as u64, piece, &mut Vec::new());
                }
                assert_eq!(pieced, whole, "pieces of {piece_len} {dtype}");
            }
        }
    }

    #[test]
    fn pictures_are_smooth_not_static() {
        // Neighbouring pixels differ far less than random values would (mean |diff| 1/3).
        let l = SampleLayout::of(&Shape(vec![1, 60, 60, 3]));
        let v = sample_values(1, l, Dtype::F8, 0);
        let diffs: f64 = v.windows(4).map(|w| (w[3] - w[0]).abs()).sum::<f64>() / (v.len() - 3) as f64;
        assert!(diffs < 0.1, "mean neighbour difference {diffs}");
    }

    #[test]
    fn layouts_cover_every_rank() {
        assert_eq!(SampleLayout::of(&Shape(vec![10])).sample_len(), 10);
        assert_eq!(SampleLayout::of(&Shape(vec![5, 7])).samples, 5);
        assert_eq!(SampleLayout::of(&Shape(vec![2, 3, 4, 5, 6])).channels, 30);
    }
}
