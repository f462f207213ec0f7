//! Each access pattern reads exactly the elements it says it reads: its sum equals the sum
//! of those elements recomputed from the generator.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::access::Access;
use super::*;
use crate::dataset::{self, image};
use crate::dtype::Dtype;
use crate::shape::Shape;

const SAMPLES: u64 = 10;

fn setup() -> (tempfile::TempDir, dataset::Dataset, Vec<Vec<f64>>) {
    let dir = tempfile::tempdir().unwrap();
    let spec = DatasetSpec { shape: Shape(vec![SAMPLES as usize, 6, 5, 3]), dtype: Dtype::F8, seed: 21 };
    let (data, _) = dataset::ensure(&spec, dir.path()).unwrap();
    let layout = image::SampleLayout::of(&spec.shape);
    let samples = (0..SAMPLES).map(|n| image::sample_values(spec.seed, layout, spec.dtype, n)).collect();
    (dir, data, samples)
}

fn read_sum(data: &dataset::Dataset, access: AccessSpec) -> Access {
    let array = open::load_mmap(&data.npy_path()).unwrap();
    let mut probe = Probe::new().unwrap();
    read(&array, &access, &data.npy_path(), &mut probe).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn full_pass_sums_every_element() {
    let (_dir, data, samples) = setup();
    let want: f64 = samples.iter().flatten().sum();
    let got = read_sum(&data, AccessSpec::FullPass);
    assert!(close(got.sum.unwrap(), want));
    assert_eq!(got.elements, SAMPLES * 90);
}

#[test]
fn first_n_sums_the_first_samples_only() {
    let (_dir, data, samples) = setup();
    let want: f64 = samples[..3].iter().flatten().sum();
    let got = read_sum(&data, AccessSpec::FirstN { samples: 3, clip: false });
    assert!(close(got.sum.unwrap(), want));
    assert_eq!(got.elements, 3 * 90);
    // More samples than there are: all of them.
    assert_eq!(read_sum(&data, AccessSpec::FirstN { samples: 99, clip: true }).elements, SAMPLES * 90);
}

#[test]
fn channel_sums_one_value_in_three() {
    let (_dir, data, samples) = setup();
    for c in 0..3u64 {
        let want: f64 = samples.iter().flatten().skip(c as usize).step_by(3).sum();
        let got = read_sum(&data, AccessSpec::Channel { channel: c });
        assert!(close(got.sum.unwrap(), want), "channel {c}");
        assert_eq!(got.elements, SAMPLES * 30);
    }
}

#[test]
fn random_batches_read_the_seeded_samples() {
    let (_dir, data, samples) = setup();
    let mut order: Vec<u64> = (0..SAMPLES).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(4));
    // Three batches of 4 samples: 12 picks, cycling through the shuffled order.
    let want: f64 = order.iter().cycle().take(12).map(|&n| samples[n as usize].iter().sum::<f64>()).sum();
    let got = read_sum(&data, AccessSpec::RandomBatches { batch_size: 4, batches: Some(3), seed: 4 });
    assert!(close(got.sum.unwrap(), want));
    let stats = got.batches.unwrap();
    assert_eq!(stats.batch_ns.len(), 3);
    // Fault counts are read from outside by the runner at each batch's mark: run alone,
    // the step leaves them for it to fill in.
    assert!(stats.batch_minor_faults.is_empty());
}

#[test]
fn random_elements_read_the_seeded_positions() {
    let (_dir, data, samples) = setup();
    let flat: Vec<f64> = samples.into_iter().flatten().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let want: f64 =
        (0..50).map(|_| flat[rand::RngExt::random_range(&mut rng, 0..flat.len() as u64) as usize]).sum();
    let got = read_sum(&data, AccessSpec::RandomElements { count: 50, seed: 8 });
    assert!(close(got.sum.unwrap(), want));
    assert_eq!(got.elements, 50);
}
