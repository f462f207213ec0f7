//! Property tests: each kernel against a plain loop that decodes one element at a time
//! ([`Dtype::decode`]) and adds them in order, for random dtypes (every kind, size and byte
//! order), lengths, offsets, strides, indices and alignments.
//!
//! Integer elements are small (|v| < 2^20, a few thousand of them), so every partial sum is
//! an integer below 2^53 and both loops are exact: they must be equal. Float sums added in
//! another order may differ by rounding only: by at most `n * f64::EPSILON * sum(|x|)`
//! (each of the two orders is within `(n - 1) * EPSILON / 2 * sum(|x|)` of the exact sum).

use proptest::prelude::*;

use super::strided::{sum_gather_decoded, sum_strided_decoded};
use super::{sum_bytes, sum_gather, sum_rows, sum_strided, sum_u8};
use crate::dtype::{ByteOrder, Dtype, Kind};

fn dtypes() -> impl Strategy<Value = Dtype> {
    let kinds = prop::sample::select(vec![
        (Kind::Float, 8),
        (Kind::Float, 4),
        (Kind::UInt, 1),
        (Kind::Int, 1),
        (Kind::Bool, 1),
        (Kind::UInt, 2),
        (Kind::Int, 2),
        (Kind::UInt, 4),
        (Kind::Int, 4),
        (Kind::UInt, 8),
        (Kind::Int, 8),
    ]);
    (kinds, any::<bool>()).prop_map(|((kind, size), big)| Dtype {
        kind,
        size,
        order: if big && size > 1 { ByteOrder::Big } else { ByteOrder::Little },
    })
}

/// `v` written as one element of `dtype` (integers truncated, bools as 0, 1 or 7).
fn encode(dtype: Dtype, v: f64) -> Vec<u8> {
    macro_rules! put {
        ($x:expr) => {
            match dtype.order {
                ByteOrder::Little => $x.to_le_bytes().to_vec(),
                ByteOrder::Big => $x.to_be_bytes().to_vec(),
            }
        };
    }
    match (dtype.kind, dtype.size) {
        (Kind::Float, 8) => put!(v),
        (Kind::Float, 4) => put!(v as f32),
        (Kind::Bool, _) => vec![[0, 1, 7][(v.abs() as usize) % 3]],
        (Kind::UInt, 1) => vec![v.abs() as u8],
        (Kind::Int, 1) => put!(v as i8),
        (Kind::UInt, 2) => put!(v.abs() as u16),
        (Kind::Int, 2) => put!(v as i16),
        (Kind::UInt, 4) => put!(v.abs() as u32),
        (Kind::Int, 4) => put!(v as i32),
        (Kind::UInt, 8) => put!(v.abs() as u64),
        _ => put!(v as i64),
    }
}

/// The elements at `shift` bytes past an 8-byte boundary (aligned for every dtype when
/// `shift` is 0, misaligned for multi-byte ones otherwise), plus `extra` stray bytes that
/// make no whole element. Returns the buffer and where the elements start in it.
fn layout(dtype: Dtype, values: &[f64], shift: usize, extra: usize) -> (Vec<u64>, usize, usize) {
    let mut bytes: Vec<u8> = values.iter().flat_map(|&v| encode(dtype, v)).collect();
    bytes.extend(std::iter::repeat_n(0xAB, extra));
    let len = bytes.len();
    let mut words = vec![0u64; (shift + len).div_ceil(8) + 1];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[shift..shift + len].copy_from_slice(&bytes);
    (words, shift, len)
}

fn close(dtype: Dtype, got: f64, want: f64, magnitude: f64, n: usize) -> bool {
    if dtype.kind == Kind::Float {
        (got - want).abs() <= n as f64 * f64::EPSILON * magnitude
    } else {
        got == want
    }
}

/// The reference: one element at a time, in order, through `decode`.
fn decoded(dtype: Dtype, bytes: &[u8], positions: impl Iterator<Item = usize>) -> (f64, f64, usize) {
    let size = dtype.size as usize;
    let mut sum = 0.0;
    let mut magnitude = 0.0;
    let mut n = 0;
    for p in positions {
        if let Some(e) = bytes.get(p * size..(p + 1) * size) {
            let v = dtype.decode(e);
            sum += v;
            magnitude += v.abs();
            n += 1;
        }
    }
    (sum, magnitude, n)
}

fn values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1_000_000.0f64..1_000_000.0, 0..3000)
}

proptest! {
    #[test]
    fn strided_sum_equals_a_plain_loop(
        dtype in dtypes(),
        values in values(),
        offset in 0usize..12,
        stride in 0usize..9,
        shift in 0usize..8,
        extra in 0usize..8,
    ) {
        let (words, at, len) = layout(dtype, &values, shift, extra);
        let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[at..at + len];
        let whole = len / dtype.size as usize;
        let (want, magnitude, n) = decoded(dtype, bytes, (offset..whole).step_by(stride.max(1)));
        let (got, count) = sum_strided(dtype, bytes, offset, stride);
        prop_assert_eq!(count, n as u64);
        prop_assert!(close(dtype, got, want, magnitude, n), "typed {got} against {want}");
        let slow = sum_strided_decoded(dtype, bytes, offset, stride);
        prop_assert!(close(dtype, slow, want, magnitude, n), "decoded {slow} against {want}");
    }

    #[test]
    fn gather_sum_equals_a_plain_loop(
        dtype in dtypes(),
        values in values(),
        picks in prop::collection::vec(0usize..3100, 0..400),
        shift in 0usize..8,
    ) {
        let (words, at, len) = layout(dtype, &values, shift, 0);
        let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[at..at + len];
        // Some picks fall past the end: they add nothing, in both loops.
        let (want, magnitude, n) = decoded(dtype, bytes, picks.iter().copied());
        let indices: Vec<u64> = picks.iter().map(|&p| p as u64).collect();
        let got = sum_gather(dtype, bytes, &indices);
        prop_assert!(close(dtype, got, want, magnitude, n), "typed {got} against {want}");
        let slow = sum_gather_decoded(dtype, bytes, &indices);
        prop_assert!(close(dtype, slow, want, magnitude, n), "decoded {slow} against {want}");
    }

    #[test]
    fn row_sum_equals_a_plain_loop(
        dtype in dtypes(),
        values in values(),
        row_len in 1usize..50,
        rows in prop::collection::vec(0u64..80, 0..40),
        shift in 0usize..8,
    ) {
        let (words, at, len) = layout(dtype, &values, shift, 0);
        let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[at..at + len];
        let whole = len / dtype.size as usize;
        let positions = rows
            .iter()
            .filter(|&&r| (r as usize + 1) * row_len <= whole)
            .flat_map(|&r| r as usize * row_len..(r as usize + 1) * row_len);
        let (want, magnitude, n) = decoded(dtype, bytes, positions);
        let got = sum_rows(dtype, bytes, row_len, &rows);
        prop_assert!(close(dtype, got, want, magnitude, n), "rows {got} against {want}");
    }

    #[test]
    fn contiguous_sum_equals_a_plain_loop(
        dtype in dtypes(),
        values in values(),
        shift in 0usize..8,
    ) {
        let (words, at, len) = layout(dtype, &values, shift, 0);
        let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[at..at + len];
        let (want, magnitude, n) = decoded(dtype, bytes, 0..len / dtype.size as usize);
        let got = sum_bytes(dtype, bytes);
        prop_assert!(close(dtype, got, want, magnitude, n), "sum_bytes {got} against {want}");
    }

    #[test]
    fn byte_sum_equals_a_plain_loop(
        bytes in proptest::collection::vec(any::<u8>(), 0..40_000),
        high in any::<bool>(),
    ) {
        // Bytes near 255 fill the u16 lanes to the edge of their range.
        let bytes: Vec<u8> = if high { bytes.iter().map(|b| b | 0xf0).collect() } else { bytes };
        let want: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
        prop_assert_eq!(sum_u8(&bytes), want as f64);
    }
}

#[test]
fn channel_of_pixels_reads_every_third_value() {
    // Two pixels of three channels: 1 2 3 | 4 5 6, aligned f64 in a Vec<f64>.
    let values = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    let bytes: &[u8] = bytemuck::cast_slice(&values);
    assert_eq!(sum_strided(Dtype::F8, bytes, 0, 3), (5.0, 2));
    assert_eq!(sum_strided(Dtype::F8, bytes, 2, 3), (9.0, 2));
    assert_eq!(sum_strided(Dtype::F8, bytes, 6, 3), (0.0, 0));
    assert_eq!(sum_gather(Dtype::F8, bytes, &[5, 0, 5, 99]), 13.0);
    assert_eq!(sum_rows(Dtype::F8, bytes, 3, &[1, 1, 7]), 30.0);
}
