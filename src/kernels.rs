//! The loops that read arrays: sums with several accumulators, so that the speed measured
//! is the memory's, not one floating-point add chain's.

use crate::dtype::{Dtype, Kind};

mod strided;

pub use strided::{Element, sum_gather, sum_gather_of, sum_rows, sum_strided, sum_strided_of};

/// Sum of `values` with eight independent accumulators (vectorised by the compiler).
///
/// The same function sums a mapping and an in-memory `Vec`, so that the two compare the
/// memory behind them and nothing else.
#[inline(never)]
pub fn sum_f64(values: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let mut total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for v in tail {
        total += v;
    }
    total
}

/// Sum of `f32` values, accumulated in `f64`.
#[inline(never)]
pub fn sum_f32(values: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += f64::from(*v);
        }
    }
    acc.iter().sum::<f64>() + tail.iter().map(|v| f64::from(*v)).sum::<f64>()
}

/// Sum of bytes as unsigned integers.
///
/// Sixty-four `u16` lanes, one per byte of a 64-byte chunk: a lane takes at most
/// [`U8_CHUNKS_PER_BLOCK`] bytes of 255 before it is folded into a `u64`, so it cannot
/// overflow, and the compiler widens 16 bytes per instruction. The former loop widened each
/// byte to a `u64` lane, which ran at a third of NumPy's speed on a mapped pass.
#[inline(never)]
pub fn sum_u8(values: &[u8]) -> f64 {
    let mut total = 0u64;
    for block in values.chunks(U8_LANES * U8_CHUNKS_PER_BLOCK) {
        let mut acc = [0u16; U8_LANES];
        let chunks = block.chunks_exact(U8_LANES);
        let tail = chunks.remainder();
        for c in chunks {
            for (a, &b) in acc.iter_mut().zip(c) {
                *a += u16::from(b);
            }
        }
        total += acc.iter().map(|&a| u64::from(a)).sum::<u64>();
        total += tail.iter().map(|&b| u64::from(b)).sum::<u64>();
    }
    total as f64
}

/// Lanes of [`sum_u8`]: one 64-byte cache line per chunk.
const U8_LANES: usize = 64;

/// Chunks [`sum_u8`] adds into its `u16` lanes before folding them: 257 × 255 < 2^16.
const U8_CHUNKS_PER_BLOCK: usize = 257;

/// Sum of the elements of `bytes` read as `dtype`, whatever its alignment or byte order.
pub fn sum_bytes(dtype: Dtype, bytes: &[u8]) -> f64 {
    if dtype.is_native() {
        match (dtype.kind, dtype.size) {
            (Kind::Float, 8) => {
                if let Ok(values) = bytemuck::try_cast_slice::<u8, f64>(bytes) {
                    return sum_f64(values);
                }
            }
            (Kind::Float, 4) => {
                if let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
                    return sum_f32(values);
                }
            }
            (Kind::UInt, 1) => return sum_u8(bytes),
            _ => {}
        }
    }
    let size = dtype.size as usize;
    let mut acc = [0.0f64; 4];
    let chunks = bytes.chunks_exact(size * 4);
    let tail = chunks.remainder();
    for c in chunks {
        for (lane, a) in acc.iter_mut().enumerate() {
            *a += dtype.decode(&c[lane * size..(lane + 1) * size]);
        }
    }
    acc.iter().sum::<f64>() + tail.chunks_exact(size).map(|e| dtype.decode(e)).sum::<f64>()
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_agree_with_a_plain_loop() {
        let values: Vec<f64> = (0..1003).map(|i| f64::from(i) * 0.25).collect();
        let plain: f64 = values.iter().sum();
        assert_eq!(sum_f64(&values), plain);
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(sum_bytes(Dtype::F8, &bytes), plain);
        // Unaligned: the same values one byte further on.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&bytes);
        assert_eq!(sum_bytes(Dtype::F8, &shifted[1..]), plain);
        let be: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(sum_bytes(Dtype::parse(">f8").unwrap(), &be), plain);
        assert_eq!(sum_u8(&[1, 2, 255]), 258.0);
        // Every lane at 255 for more chunks than one block holds: no u16 lane overflows.
        let full = vec![255u8; 3 * 64 * 257 + 5];
        assert_eq!(sum_u8(&full), 255.0 * full.len() as f64);
        assert_eq!(sum_f32(&[0.5; 17]), 8.5);
    }
}
