//! The read kernels beside the loops they replace, on in-memory data (no file, no mapping:
//! the loops alone), one thread:
//!
//! | group | what one iteration does |
//! |---|---|
//! | `channel` | `X[..., 0].sum()` over pixels of 3 channels: the typed strided kernel on native aligned `f64`; the same call on a big-endian copy and on a copy one byte off alignment (the decoding fallback); the former loop (decode each element, one accumulator) |
//! | `gather_elements` | `X.flat[idx].sum()` for 200,000 random indices (`random_element_indices`, seed 0): the typed gather, the former loop (decode each element, one accumulator) |
//! | `gather_rows` | `X[batch].sum()` for 25 batches of 32 random samples: `sum_rows`, the former loop (one `sum_bytes` per sample) |
//! | `bytes` | the whole array summed as `uint8` (`np.memmap`'s default dtype): `sum_u8` (u16 lanes), the former loop (each byte widened to a `u64` lane), and `sum_f64` over the same bytes as the memory's pace |
//! | `lz4_frame` | an LZ4 frame of the dataset's pictures (its first samples of the bench shape, compressed as arrow-rs's IPC writer does: 4 MiB independent blocks) decoded into a block touched before: arrow-rs's way (`FrameDecoder`, each block copied out of the decoder), `formats::lz4::decode_into` on one thread and on every core |
//! | `fresh_copy` | 64 MiB copied into a block allocated just before (untimed) and freed after (untimed): what a `.npz` member read or an LZ4 decode pays for fresh memory, page faults included; the block from `HugePageAllocator` (`MADV_HUGEPAGE`, as NumPy's arrays) and from the plain system allocator |
//!
//! The data has the shape `MMAP_LAB_BENCH_SHAPE` (default `64x120x120x3`, 22 MB of
//! float64), filled with the ramp `(i % 997) * 0.25`: the values do not change the speed.
//! Throughput is in decimal GB/s of the whole array for `channel` (a strided read brings
//! every cache line in), of the elements read otherwise.
//!
//! `cargo bench --bench kernels` runs them; compare the functions of one group within one
//! run: on a busy machine only those ratios mean anything.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mmap_lab::dtype::Dtype;
use mmap_lab::kernels;
use mmap_lab::shape::Shape;
use mmap_lab::step::{batch_samples, random_element_indices};

const SHAPE_VAR: &str = "MMAP_LAB_BENCH_SHAPE";
const DEFAULT_SHAPE: &str = "64x120x120x3";
const CHANNELS: usize = 3;

fn shape() -> Shape {
    let text = std::env::var(SHAPE_VAR).unwrap_or_else(|_| DEFAULT_SHAPE.to_owned());
    Shape::parse(&text).unwrap_or_else(|e| {
        eprintln!("error: {SHAPE_VAR}: {e}");
        std::process::exit(2)
    })
}

fn values(shape: &Shape) -> Vec<f64> {
    (0..shape.len()).map(|i| (i % 997) as f64 * 0.25).collect()
}

/// The `channel` arm as it was: every element decoded through the dtype, one accumulator.
fn channel_former(dtype: Dtype, bytes: &[u8], channel: usize, channels: usize) -> f64 {
    let size = dtype.size as usize;
    let mut sum = 0.0;
    let mut at = channel * size;
    while at + size <= bytes.len() {
        sum += dtype.decode(&bytes[at..at + size]);
        at += channels * size;
    }
    sum
}

fn channel_benches(c: &mut Criterion) {
    let shape = shape();
    let values = values(&shape);
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let big_endian: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(bytes);
    let unaligned = &shifted[1..];
    let big = Dtype::parse(">f8").expect("a valid dtype");

    let mut group = c.benchmark_group("channel");
    group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
    group.bench_function("typed", |b| {
        b.iter(|| kernels::sum_strided(Dtype::F8, black_box(bytes), 0, CHANNELS))
    });
    group.bench_function("decoded_big_endian", |b| {
        b.iter(|| kernels::sum_strided(big, black_box(&big_endian), 0, CHANNELS))
    });
    group.bench_function("decoded_unaligned", |b| {
        b.iter(|| kernels::sum_strided(Dtype::F8, black_box(unaligned), 0, CHANNELS))
    });
    group.bench_function("former_decode_one_accumulator", |b| {
        b.iter(|| channel_former(Dtype::F8, black_box(bytes), 0, CHANNELS))
    });
    group.finish();
}

/// `sum_u8` as it was: each byte widened to a `u64` lane.
fn bytes_former(bytes: &[u8]) -> f64 {
    bytes.chunks(1 << 24).map(|block| block.iter().map(|&b| u64::from(b)).sum::<u64>()).sum::<u64>() as f64
}

fn bytes_benches(c: &mut Criterion) {
    let values = values(&shape());
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let mut group = c.benchmark_group("bytes");
    group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
    group.bench_function("sum_u8", |b| b.iter(|| kernels::sum_u8(black_box(bytes))));
    group.bench_function("former_u64_lanes", |b| b.iter(|| bytes_former(black_box(bytes))));
    group.bench_function("sum_f64_same_bytes", |b| b.iter(|| kernels::sum_f64(black_box(&values))));
    group.finish();
}

fn gather_benches(c: &mut Criterion) {
    let shape = shape();
    let values = values(&shape);
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let indices = random_element_indices(shape.len(), 200_000, 0);

    let mut group = c.benchmark_group("gather_elements");
    group.throughput(Throughput::BytesDecimal(indices.len() as u64 * 8));
    group.bench_function("typed", |b| b.iter(|| kernels::sum_gather(Dtype::F8, black_box(bytes), &indices)));
    group.bench_function("former_decode_one_accumulator", |b| {
        b.iter(|| {
            // What `Array::get` did per index: bounds, slice, decode.
            let mut sum = 0.0;
            for &i in &indices {
                let at = i as usize * 8;
                sum += black_box(bytes).get(at..at + 8).map_or(0.0, |e| Dtype::F8.decode(e));
            }
            sum
        })
    });
    group.finish();

    let per = (shape.len() / shape.0[0].max(1) as u64) as usize;
    let batches = batch_samples(shape.0[0] as u64, 32, Some(25), 0);
    let drawn: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let mut group = c.benchmark_group("gather_rows");
    group.throughput(Throughput::BytesDecimal(drawn * per as u64 * 8));
    group.bench_function("sum_rows", |b| {
        b.iter(|| {
            batches
                .iter()
                .map(|batch| kernels::sum_rows(Dtype::F8, black_box(bytes), per, batch))
                .sum::<f64>()
        })
    });
    group.bench_function("former_sum_bytes_per_sample", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for &n in batches.iter().flatten() {
                let n = n as usize;
                sum += kernels::sum_bytes(Dtype::F8, &black_box(bytes)[n * per * 8..(n + 1) * per * 8]);
            }
            sum
        })
    });
    group.finish();
}

/// A block of `len` bytes from `allocator`, freed on drop.
struct Block<A: std::alloc::GlobalAlloc> {
    allocator: A,
    ptr: *mut u8,
    layout: std::alloc::Layout,
}

impl<A: std::alloc::GlobalAlloc> Block<A> {
    fn new(allocator: A, len: usize) -> Block<A> {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 64).expect("a valid layout");
        // SAFETY: a layout of non-zero size.
        let ptr = unsafe { allocator.alloc(layout) };
        assert!(!ptr.is_null(), "cannot allocate {len} bytes");
        Block { allocator, ptr, layout }
    }

    /// Copies `source` to the start of the block (no reference to its unwritten bytes).
    fn fill_from(&mut self, source: &[u8]) {
        assert!(source.len() <= self.layout.size());
        // SAFETY: the block holds `layout.size()` bytes, at least `source.len()`, and is
        // this block's own: it cannot overlap `source`.
        unsafe { std::ptr::copy_nonoverlapping(source.as_ptr(), self.ptr, source.len()) }
    }
}

impl<A: std::alloc::GlobalAlloc> Drop for Block<A> {
    fn drop(&mut self) {
        // SAFETY: allocated by this allocator with this layout, freed once.
        unsafe { self.allocator.dealloc(self.ptr, self.layout) }
    }
}

/// Bytes of the `fresh_copy` blocks: past glibc's largest `mmap` threshold (32 MiB), so
/// every block is fresh memory from the kernel, never a reused heap block.
const FRESH_BYTES: usize = 64 << 20;

fn fresh_copy_benches(c: &mut Criterion) {
    let values: Vec<f64> = (0..FRESH_BYTES / 8).map(|i| (i % 997) as f64 * 0.25).collect();
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let mut group = c.benchmark_group("fresh_copy");
    group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
    group.bench_function("huge_page_allocator", |b| {
        b.iter_batched(
            || Block::new(mmap_lab::alloc::HugePageAllocator, bytes.len()),
            |mut block| {
                block.fill_from(black_box(bytes));
                block
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("system_allocator", |b| {
        b.iter_batched(
            || Block::new(std::alloc::System, bytes.len()),
            |mut block| {
                block.fill_from(black_box(bytes));
                block
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn lz4_benches(c: &mut Criterion) {
    use std::io::{Read, Write};
    let shape = shape();
    let layout = mmap_lab::dataset::image::SampleLayout::of(&shape);
    let samples = shape.0.first().copied().unwrap_or(1) as u64;
    let values: Vec<f64> =
        (0..samples).flat_map(|n| mmap_lab::dataset::image::sample_values(0, layout, Dtype::F8, n)).collect();
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    encoder.write_all(bytes).expect("compress");
    let frame = encoder.finish().expect("compress");
    let mut out = vec![0u8; bytes.len()];
    // The frame arrow-rs's writer makes is split block by block; a fallback to the stream
    // decoder would time the wrong thing.
    assert_eq!(
        mmap_lab::formats::lz4::decode_into(&frame, &mut out),
        Ok(mmap_lab::formats::lz4::Decoded::Blocks),
        "the bench frame is not one of independent blocks"
    );
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a thread pool");
    let mut group = c.benchmark_group("lz4_frame");
    group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
    group.bench_function("arrow_rs_frame_decoder", |b| {
        b.iter(|| {
            lz4_flex::frame::FrameDecoder::new(black_box(&frame[..])).read_exact(&mut out).expect("decode");
        })
    });
    group.bench_function("blocks_one_thread", |b| {
        b.iter(|| one_thread.install(|| mmap_lab::formats::lz4::decode_into(black_box(&frame), &mut out)))
    });
    group.bench_function("blocks_every_core", |b| {
        b.iter(|| mmap_lab::formats::lz4::decode_into(black_box(&frame), &mut out))
    });
    group.finish();
    assert!(out == bytes, "the decoded frame differs from the pictures");
}

criterion_group! {
    name = benches;
    // criterion's plots need system fonts, which CI machines and containers often lack.
    config = Criterion::default().without_plots();
    targets = channel_benches, bytes_benches, gather_benches, lz4_benches, fresh_copy_benches
}
criterion_main!(benches);
