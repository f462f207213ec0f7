//! One sample's picture: its gradient, figures and noise drawn from the seed, painted a
//! row segment at a time.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::SampleLayout;

/// Largest `f64` below 1.0: values are clamped to `[0, ONE_BELOW]`.
const F64_BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;
/// Peak amplitude of the per-value noise.
const NOISE: f64 = 0.03;

/// One shape drawn on a picture.
#[derive(Debug, Clone)]
struct Figure {
    disc: bool,
    cx: f64,
    cy: f64,
    /// Radius for a disc, half the side for a rectangle (rectangles get `half_h` too).
    half_w: f64,
    half_h: f64,
    colour: Vec<f64>,
}

/// The drawing parameters of one sample, and the code that paints it.
#[derive(Debug, Clone)]
pub struct SamplePainter {
    layout: SampleLayout,
    /// Colour at the gradient's start and its change across the picture, per channel.
    from: Vec<f64>,
    to: Vec<f64>,
    dir_x: f64,
    dir_y: f64,
    figures: Vec<Figure>,
    noise_key: u64,
    /// Flat index of the sample's first value in the whole array.
    first_index: u64,
}

/// A uniform `f64` in [0, 1) from 53 random bits (value-stable, unlike `rand`'s distributions).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn between(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

/// splitmix64's finaliser: a fast, well-mixed 64-bit hash.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SamplePainter {
    /// The painter of sample `index` of a dataset drawn from `seed`.
    pub fn new(seed: u64, index: u64, layout: SampleLayout) -> SamplePainter {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let c = layout.channels;
        let from: Vec<f64> = (0..c).map(|_| between(&mut rng, 0.1, 0.9)).collect();
        let to: Vec<f64> = (0..c).map(|_| between(&mut rng, 0.1, 0.9)).collect();
        let (dx, dy) = (between(&mut rng, -1.0, 1.0), between(&mut rng, -1.0, 1.0));
        let norm = (dx.abs() + dy.abs()).max(1e-3);
        let count = 2 + (rng.next_u64() % 3) as usize;
        let (w, h) = (layout.width as f64, layout.height as f64);
        let short = w.min(h);
        let figures = (0..count)
            .map(|_| {
                let disc = rng.next_u64() % 2 == 0;
                let cx = between(&mut rng, 0.1, 0.9) * w;
                let cy = between(&mut rng, 0.1, 0.9) * h;
                let half_w = between(&mut rng, 0.08, 0.28) * short.max(w * 0.1);
                let half_h = if disc { half_w } else { between(&mut rng, 0.08, 0.28) * short.max(h * 0.1) };
                let colour = (0..c).map(|_| unit(&mut rng)).collect();
                Figure { disc, cx, cy, half_w, half_h, colour }
            })
            .collect();
        SamplePainter {
            layout,
            from,
            to,
            dir_x: dx / norm,
            dir_y: dy / norm,
            figures,
            noise_key: mix(seed ^ 0x6D6D_6170_2D6C_6162),
            first_index: index * layout.sample_len() as u64,
        }
    }

    /// Paints the whole sample into `out` (`layout.sample_len()` values, C order).
    pub fn paint(&self, out: &mut [f64]) {
        let row_len = self.layout.width * self.layout.channels;
        for (y, row) in out.chunks_exact_mut(row_len).enumerate().take(self.layout.height) {
            self.paint_segment(y, 0, row);
        }
    }

    /// Paints pixels `x0..` of row `y` into `out` (a whole number of pixels).
    pub fn paint_segment(&self, y: usize, x0: usize, out: &mut [f64]) {
        let SampleLayout { height, width, channels, .. } = self.layout;
        let x1 = x0 + out.len() / channels;
        let v = if height > 1 { y as f64 / (height - 1) as f64 - 0.5 } else { 0.0 };
        let du = if width > 1 { 1.0 / (width - 1) as f64 } else { 0.0 };
        // Gradient: t = 0.5 + u*dir_x + v*dir_y with u, v in [-0.5, 0.5], so t is in [0, 1].
        let t0 = 0.5 - 0.5 * self.dir_x * f64::from(u8::from(width > 1)) + v * self.dir_y;
        let dt = du * self.dir_x;
        for c in 0..channels {
            let span = self.to[c] - self.from[c];
            for x in x0..x1 {
                out[(x - x0) * channels + c] = self.from[c] + span * (t0 + dt * x as f64);
            }
        }
        let yc = y as f64 + 0.5;
        for fig in &self.figures {
            let dy = yc - fig.cy;
            let half = if fig.disc {
                let r2 = fig.half_w * fig.half_w - dy * dy;
                if r2 <= 0.0 {
                    continue;
                }
                r2.sqrt()
            } else {
                if dy.abs() >= fig.half_h {
                    continue;
                }
                fig.half_w
            };
            let from = ((fig.cx - half).max(0.0) as usize).max(x0);
            let to = ((fig.cx + half).max(0.0) as usize).min(x1);
            for x in from..to {
                out[(x - x0) * channels..(x - x0 + 1) * channels].copy_from_slice(&fig.colour);
            }
        }
        let first = self.first_index + ((y * width + x0) * channels) as u64;
        self.add_noise(first, out);
    }

    /// Adds noise to `row`, whose first value has flat index `first`, and clamps to [0, 1).
    #[inline]
    fn add_noise(&self, first: u64, row: &mut [f64]) {
        const SCALE: f64 = NOISE / 32768.0;
        for (i, value) in row.iter_mut().enumerate() {
            let index = first + i as u64;
            // One hash gives four 16-bit noise values.
            let bits = mix(self.noise_key ^ (index >> 2));
            let lane = ((bits >> ((index & 3) * 16)) & 0xFFFF) as f64;
            *value = (*value + (lane - 32768.0) * SCALE).clamp(0.0, F64_BELOW_ONE);
        }
    }
}
