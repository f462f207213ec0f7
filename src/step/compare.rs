//! What a step checks after its last snapshot, against the generator: whether the array
//! holds the original values (or where in them it starts), and the first sample as a
//! picture.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::FIRST_VALUES;
use crate::dataset::DatasetSpec;
use crate::dataset::image::{SampleLayout, sample_values};
use crate::open::Array;
use crate::results::Preview;

/// Samples compared with the generator, beyond the first and the last.
const CHECKED_SAMPLES: usize = 6;
/// How far into the array `original_at_element` looks.
const SHIFT_SEARCH: u64 = 64;

/// The first sample's worth of elements as a picture of the dataset's sample layout.
pub(super) fn preview(array: &Array, dataset: &DatasetSpec) -> Option<Preview> {
    use base64::Engine as _;
    let layout = SampleLayout::of(&dataset.shape);
    let len = layout.sample_len() as u64;
    if array.len() < len || layout.height * layout.width < 4 {
        return None;
    }
    let integer = array.dtype().kind != crate::dtype::Kind::Float;
    let pixels: Vec<u8> = array
        .values(0, len)
        .into_iter()
        .map(|v| {
            let scaled = if integer { v } else { (v * 256.0).floor() };
            if scaled.is_nan() { 0 } else { scaled.clamp(0.0, 255.0) as u8 }
        })
        .collect();
    Some(Preview {
        height: layout.height,
        width: layout.width,
        channels: layout.channels,
        pixels_base64: base64::engine::general_purpose::STANDARD.encode(pixels),
    })
}

/// Where the original's first values start in the array, if within [`SHIFT_SEARCH`].
pub(super) fn original_at_element(array: &Array, dataset: &DatasetSpec) -> Option<u64> {
    let layout = SampleLayout::of(&dataset.shape);
    let original = sample_values(dataset.seed, layout, dataset.dtype, 0);
    let n = (FIRST_VALUES as u64).min(original.len() as u64);
    let want = &original[..n as usize];
    let limit = SHIFT_SEARCH.min(array.len().saturating_sub(n));
    (0..=limit).find(|&k| array.values(k, n) == want)
}

/// Whether the array is the original: same shape and dtype, and the first, the last and
/// a few seeded samples between equal the generator's values, recomputed from the seed.
pub(super) fn matches_original(array: &Array, dataset: &DatasetSpec) -> bool {
    if *array.shape() != dataset.shape || array.dtype() != dataset.dtype {
        return false;
    }
    let layout = SampleLayout::of(&dataset.shape);
    let per = layout.sample_len() as u64;
    let samples = layout.samples;
    let mut picks: Vec<u64> = vec![0, samples - 1];
    let mut rng = ChaCha8Rng::seed_from_u64(dataset.seed ^ 0xC0FFEE);
    let mut all: Vec<u64> = (0..samples).collect();
    all.shuffle(&mut rng);
    picks.extend(all.into_iter().take(CHECKED_SAMPLES));
    picks
        .into_iter()
        .all(|n| array.values(n * per, per) == sample_values(dataset.seed, layout, dataset.dtype, n))
}
