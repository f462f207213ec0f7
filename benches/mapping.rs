//! What mapping costs, measured by criterion, one thread, warm page cache:
//!
//! | group | what one iteration does |
//! |---|---|
//! | `open` | `load_mmap` of X_train.npy (open, read and parse the header, map); `memmap` of the raw file |
//! | `open_first` | the same, then read the first element: open + header parse + first element |
//! | `first_element` | read the first element of a mapping made just before (untimed) |
//! | `full_pass_warm` | sum every element through a mapping whose pages are already mapped, and the same sum over an in-memory `Vec<f64>` of the same values: the limit |
//! | `generate` | write both files from the seed (`dataset::regenerate`), to compare with NumPy |
//!
//! The dataset's shape comes from `MMAP_LAB_BENCH_SHAPE` (default `64x120x120x3`, 22 MB;
//! the tutorial's is `4002x120x120x3`, 1.38 GB, two files of it); its folder from
//! `MMAP_LAB_BENCH_DATA` (default `target/mmap-lab-bench/<shape>`), generated once and
//! reused. Mappings are dropped (unmapped) outside the timed part. Throughput is in
//! decimal GB/s (`Throughput::BytesDecimal`), the unit the project quotes.
//!
//! `cargo bench --bench mapping -- full_pass` runs one group; `just bench` runs them all.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mmap_lab::dataset::{self, Dataset, DatasetSpec};
use mmap_lab::dtype::Dtype;
use mmap_lab::open::{self, Array, MemmapOptions, Order};
use mmap_lab::shape::Shape;

/// The environment variable that sets the dataset's shape.
const SHAPE_VAR: &str = "MMAP_LAB_BENCH_SHAPE";
/// The environment variable that sets the dataset's folder.
const DATA_VAR: &str = "MMAP_LAB_BENCH_DATA";
const DEFAULT_SHAPE: &str = "64x120x120x3";

/// Stops the benchmark with a message (a bad environment variable, a failed generation).
fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

fn spec() -> DatasetSpec {
    let text = std::env::var(SHAPE_VAR).unwrap_or_else(|_| DEFAULT_SHAPE.to_owned());
    let shape = Shape::parse(&text).unwrap_or_else(|e| fail(format!("{SHAPE_VAR}: {e}")));
    DatasetSpec { shape, dtype: Dtype::F8, seed: 0 }
}

fn data_dir(spec: &DatasetSpec) -> PathBuf {
    std::env::var_os(DATA_VAR).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/mmap-lab-bench").join(spec.shape.to_string())
    })
}

/// The dataset, generated on first use (or reused), both files read through once so that
/// every benchmark starts with a warm page cache.
fn data() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let spec = spec();
        let dir = data_dir(&spec);
        let (data, _) = dataset::ensure(&spec, &dir)
            .unwrap_or_else(|e| fail(format!("cannot make the benchmark data in {}: {e:#}", dir.display())));
        for path in [data.npy_path(), data.raw_path()] {
            mmap_lab::cache::warm(&path).unwrap_or_else(|e| fail(format!("{e:#}")));
        }
        eprintln!("benchmark data: {} of float64 in {}", spec.shape.python(), dir.display());
        data
    })
}

fn raw_options(data: &Dataset) -> MemmapOptions {
    MemmapOptions { dtype: Dtype::F8, offset: 0, shape: Some(data.manifest.shape.clone()), order: Order::C }
}

fn load_mmap(data: &Dataset) -> Array {
    open::load_mmap(&data.npy_path()).unwrap_or_else(|e| fail(e.to_string()))
}

fn memmap_raw(data: &Dataset) -> Array {
    open::memmap(&data.raw_path(), &raw_options(data)).unwrap_or_else(|e| fail(e.to_string()))
}

fn open_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    group.bench_function("load_mmap", |b| b.iter_with_large_drop(|| load_mmap(data())));
    group.bench_function("memmap_raw", |b| b.iter_with_large_drop(|| memmap_raw(data())));
    group.finish();

    let mut group = c.benchmark_group("open_first");
    group.bench_function("load_mmap", |b| {
        b.iter_with_large_drop(|| {
            let array = load_mmap(data());
            black_box(array.get(0));
            array
        })
    });
    group.bench_function("memmap_raw", |b| {
        b.iter_with_large_drop(|| {
            let array = memmap_raw(data());
            black_box(array.get(0));
            array
        })
    });
    group.finish();

    let mut group = c.benchmark_group("first_element");
    group.bench_function("load_mmap", |b| {
        b.iter_batched(
            || load_mmap(data()),
            |array| {
                black_box(array.get(0));
                array
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn full_pass_benches(c: &mut Criterion) {
    let bytes = data().manifest.data_bytes;
    let mut group = c.benchmark_group("full_pass_warm");
    group.throughput(Throughput::BytesDecimal(bytes));
    group.sampling_mode(SamplingMode::Flat);
    if bytes > 256 << 20 {
        group.sample_size(20);
    }
    group.bench_function("mapped", |b| {
        let array = load_mmap(data());
        // The first pass maps every page; criterion's warm-up repeats it until none is left.
        b.iter(|| black_box(array.sum()))
    });
    group.bench_function("in_memory", |b| {
        let values: Vec<f64> = load_mmap(data())
            .view_f64()
            .map(|v| v.iter().copied().collect())
            .unwrap_or_else(|| fail("the data is not native, aligned float64".to_owned()));
        b.iter(|| black_box(mmap_lab::kernels::sum_f64(black_box(&values))))
    });
    group.finish();
}

fn generate_benches(c: &mut Criterion) {
    let spec = spec();
    let dir = data_dir(&spec).with_extension("generate");
    let written = spec.data_bytes() * 2 + spec.npy_header().len() as u64;
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::BytesDecimal(written));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("both_files", |b| {
        b.iter(|| dataset::regenerate(&spec, &dir).unwrap_or_else(|e| fail(format!("{e:#}"))))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    // criterion's plots need system fonts, which CI machines and containers often lack.
    config = Criterion::default().without_plots();
    targets = open_benches, full_pass_benches, generate_benches
}
criterion_main!(benches);
