//! What mapping costs, measured by criterion, one thread, warm page cache:
//!
//! | group | what one iteration does |
//! |---|---|
//! | `open` | `load_mmap` of X_train.npy (open, read and parse the header, map); `memmap` of the raw file |
//! | `open_first` | the same, then read the first element: open + header parse + first element |
//! | `load` | `np.load`'s way: the whole array read into fresh memory, by one reader and by one per core (up to four) |
//! | `first_element` | read the first element of a mapping made just before (untimed) |
//! | `full_pass_warm` | sum every element through a mapping whose pages are already mapped, and the same sum over an in-memory `Vec<f64>` of the same values (the limit), on 4 KiB pages as a `Vec` gets them and on 2 MiB pages |
//! | `first_pass_by_fill` | map the raw file (untimed), sum every element through the mapping, its page faults included, unmap (untimed); the page cache filled by `read` calls of 1 MiB after an eviction (`read_1mib`) or by `cache::warm` (a `MADV_HUGEPAGE` mapping populated: 2 MiB folios from the first byte, `hugepage_mapping`) |
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

    // np.load: the whole array read into fresh memory (dropped outside the timed part), by
    // one reader and by one per core. `open::load` picks one per core from LOAD_PIECE_MIN
    // (64 MiB) a reader up, so the bench names the count at any shape.
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::BytesDecimal(data().spec().data_bytes()));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(4);
    for (name, readers) in [("one_reader", 1), ("one_reader_per_core", cores)] {
        group.bench_function(name, |b| {
            b.iter_with_large_drop(|| {
                open::load_with_readers(&data().npy_path(), Some(readers))
                    .unwrap_or_else(|e| fail(e.to_string()))
            })
        });
    }
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

/// `values` copied into anonymous memory on 2 MiB pages (`madvise(MADV_HUGEPAGE)` on a
/// 2 MiB-aligned range), unmapped on drop: an in-memory buffer without the page walks of
/// 4 KiB pages.
struct HugePageBuffer {
    base: *mut libc::c_void,
    size: usize,
    len: usize,
}

impl HugePageBuffer {
    const HUGE: usize = 2 << 20;

    fn copy_of(values: &[f64]) -> HugePageBuffer {
        let size = (values.len() * 8).div_ceil(Self::HUGE) * Self::HUGE + Self::HUGE;
        // SAFETY: an anonymous private mapping of `size` bytes; no file, no fixed address.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            fail(format!("cannot map {size} bytes of memory: {}", std::io::Error::last_os_error()));
        }
        let buffer = HugePageBuffer { base, size, len: values.len() };
        // SAFETY: the range lies within the mapping just made (one spare huge page covers
        // the alignment); advice is only a hint, so its result is not needed.
        unsafe { libc::madvise(buffer.start().cast(), size - Self::HUGE, libc::MADV_HUGEPAGE) };
        // SAFETY: `start` is 2 MiB-aligned (so f64-aligned), within the mapping, and the
        // mapping holds `len` f64s after it; nothing else refers to it.
        unsafe { std::slice::from_raw_parts_mut(buffer.start(), buffer.len) }.copy_from_slice(values);
        buffer
    }

    /// The first 2 MiB boundary in the mapping.
    fn start(&self) -> *mut f64 {
        (((self.base as usize) + Self::HUGE - 1) & !(Self::HUGE - 1)) as *mut f64
    }

    fn values(&self) -> &[f64] {
        // SAFETY: as in `copy_of`; the slice borrows `self`, which owns the mapping.
        unsafe { std::slice::from_raw_parts(self.start(), self.len) }
    }
}

impl Drop for HugePageBuffer {
    fn drop(&mut self) {
        // SAFETY: `base` and `size` are those of the mapping made in `copy_of`.
        unsafe { libc::munmap(self.base, self.size) };
    }
}

fn full_pass_benches(c: &mut Criterion) {
    let data = data();
    let bytes = data.manifest.data_bytes;
    // Made once for every sample (criterion calls a benchmark's closure once per sample):
    // a mapping whose pages are all mapped by one pass, so that each timed pass is warm,
    // and the same values in memory, on 4 KiB pages as a Vec gets them and on 2 MiB pages.
    let array = load_mmap(data);
    black_box(array.sum());
    let values: Vec<f64> = array
        .view_f64()
        .map(|v| v.iter().copied().collect())
        .unwrap_or_else(|| fail("the data is not native, aligned float64".to_owned()));
    let huge = HugePageBuffer::copy_of(&values);

    let mut group = c.benchmark_group("full_pass_warm");
    group.throughput(Throughput::BytesDecimal(bytes));
    group.sampling_mode(SamplingMode::Flat);
    if bytes > 256 << 20 {
        group.sample_size(20);
    }
    group.bench_function("mapped", |b| b.iter(|| black_box(array.sum())));
    group.bench_function("in_memory", |b| {
        b.iter(|| black_box(mmap_lab::kernels::sum_f64(black_box(&values))))
    });
    group.bench_function("in_memory_huge_pages", |b| {
        b.iter(|| black_box(mmap_lab::kernels::sum_f64(black_box(huge.values()))))
    });
    group.finish();
}

/// Evicts `path` and reads it back with 1 MiB `read` calls: the page cache as `cache::warm`
/// filled it before it used a `MADV_HUGEPAGE` mapping.
fn fill_by_reading(path: &std::path::Path) {
    use std::io::Read;
    mmap_lab::cache::evict(path).unwrap_or_else(|e| fail(format!("{e:#}")));
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf).unwrap_or_else(|e| fail(format!("{}: {e}", path.display()))) > 0 {}
}

/// Evicts `path` and fills it with `cache::warm` (a `MADV_HUGEPAGE` mapping, populated).
fn fill_by_warming(path: &std::path::Path) {
    mmap_lab::cache::evict(path).unwrap_or_else(|e| fail(format!("{e:#}")));
    mmap_lab::cache::warm(path).unwrap_or_else(|e| fail(format!("{e:#}")));
}

/// A way to fill the page cache with a file.
type Fill = fn(&std::path::Path);

fn first_pass_benches(c: &mut Criterion) {
    let data = data();
    let path = data.raw_path();
    let mut group = c.benchmark_group("first_pass_by_fill");
    group.throughput(Throughput::BytesDecimal(data.manifest.data_bytes));
    group.sampling_mode(SamplingMode::Flat);
    if data.manifest.data_bytes > 256 << 20 {
        group.sample_size(20);
    }
    let fills: [(&str, Fill); 2] = [("read_1mib", fill_by_reading), ("hugepage_mapping", fill_by_warming)];
    for (name, fill) in fills {
        fill(&path);
        group.bench_function(name, |b| {
            b.iter_batched(
                || memmap_raw(data),
                |array| {
                    black_box(array.sum());
                    array
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    // Leave the raw file as the other groups expect it.
    mmap_lab::cache::warm(&path).unwrap_or_else(|e| fail(format!("{e:#}")));
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
    targets = open_benches, full_pass_benches, first_pass_benches, generate_benches
}
criterion_main!(benches);
