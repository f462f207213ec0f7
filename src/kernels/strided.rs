//! Sums of some elements only: every `stride`-th element from an offset (one colour channel
//! of every image, `X[..., c].sum()`), the elements at given indices (`X.flat[idx].sum()`)
//! and whole rows at given indices (`X[batch].sum()`).
//!
//! Each reads native, aligned elements as typed values with [`LANES`] independent
//! accumulators, so that the speed measured is the memory's, not one add chain's or a
//! per-element decode's. Elements in the other byte order, or not aligned to their size,
//! are decoded one by one ([`Dtype::decode`]): slower, the same values.

use crate::dtype::{Dtype, Kind};

/// Independent accumulators of the typed loops.
const LANES: usize = 8;

/// An element type the typed loops read directly, widened to `f64` as [`Dtype::decode`]
/// widens it.
pub trait Element: bytemuck::Pod {
    /// The value as `f64` (`as f64`: exact up to 2^53, rounded beyond, as NumPy's `astype`).
    fn widen(self) -> f64;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            #[inline(always)]
            fn widen(self) -> f64 {
                self as f64
            }
        }
    )*};
}
element!(f64, f32, u8, i8, u16, i16, u32, i32, u64, i64);

/// Runs `$body` with `$values` bound to the whole elements of `$bytes` as a typed slice,
/// when `$dtype` is native, not `bool` (whose non-zero bytes all read as 1) and aligned.
/// `None` otherwise.
macro_rules! typed {
    ($dtype:expr, $bytes:expr, |$values:ident| $body:expr) => {{
        let dtype: Dtype = $dtype;
        let size = dtype.size as usize;
        let whole = &$bytes[..$bytes.len() / size * size];
        if !dtype.is_native() {
            None
        } else {
            match (dtype.kind, dtype.size) {
                (Kind::Float, 8) => bytemuck::try_cast_slice::<u8, f64>(whole).ok().map(|$values| $body),
                (Kind::Float, 4) => bytemuck::try_cast_slice::<u8, f32>(whole).ok().map(|$values| $body),
                (Kind::UInt, 1) => Some(whole).map(|$values| $body),
                (Kind::Int, 1) => bytemuck::try_cast_slice::<u8, i8>(whole).ok().map(|$values| $body),
                (Kind::UInt, 2) => bytemuck::try_cast_slice::<u8, u16>(whole).ok().map(|$values| $body),
                (Kind::Int, 2) => bytemuck::try_cast_slice::<u8, i16>(whole).ok().map(|$values| $body),
                (Kind::UInt, 4) => bytemuck::try_cast_slice::<u8, u32>(whole).ok().map(|$values| $body),
                (Kind::Int, 4) => bytemuck::try_cast_slice::<u8, i32>(whole).ok().map(|$values| $body),
                (Kind::UInt, 8) => bytemuck::try_cast_slice::<u8, u64>(whole).ok().map(|$values| $body),
                (Kind::Int, 8) => bytemuck::try_cast_slice::<u8, i64>(whole).ok().map(|$values| $body),
                _ => None,
            }
        }
    }};
}

/// The accumulators added pairwise, so the result does not depend on the lane order.
fn fold(acc: [f64; LANES]) -> f64 {
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// How many elements `offset, offset + stride, ...` lie within `len` elements.
fn strided_count(len: usize, offset: usize, stride: usize) -> u64 {
    if offset >= len { 0 } else { ((len - offset - 1) / stride + 1) as u64 }
}

/// Sum of `values[offset]`, `values[offset + stride]`, ... (a stride of 0 counts as 1).
///
/// Strides of 1 to 8 (a pixel's channels) run a loop compiled for that stride, whose
/// [`LANES`] loads per block are at constant positions; longer strides run the same loop
/// with the stride a variable.
#[inline(never)]
pub fn sum_strided_of<T: Element>(values: &[T], offset: usize, stride: usize) -> f64 {
    let Some(rest) = values.get(offset..) else { return 0.0 };
    match stride {
        0 | 1 => strided::<T, 1>(rest),
        2 => strided::<T, 2>(rest),
        3 => strided::<T, 3>(rest),
        4 => strided::<T, 4>(rest),
        5 => strided::<T, 5>(rest),
        6 => strided::<T, 6>(rest),
        7 => strided::<T, 7>(rest),
        8 => strided::<T, 8>(rest),
        _ => strided_by(rest, stride),
    }
}

/// `rest[0] + rest[S] + rest[2 S] + ...`, for a stride `S` known when compiling.
#[inline(always)]
fn strided<T: Element, const S: usize>(rest: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut blocks = rest.chunks_exact(S * LANES);
    for block in &mut blocks {
        for (lane, a) in acc.iter_mut().enumerate() {
            *a += block[lane * S].widen();
        }
    }
    let mut total = fold(acc);
    for v in blocks.remainder().iter().step_by(S) {
        total += v.widen();
    }
    total
}

/// [`strided`] with the stride a variable.
fn strided_by<T: Element>(rest: &[T], stride: usize) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut blocks = rest.chunks_exact(stride.saturating_mul(LANES));
    for block in &mut blocks {
        for (a, row) in acc.iter_mut().zip(block.chunks_exact(stride)) {
            *a += row[0].widen();
        }
    }
    let mut total = fold(acc);
    for v in blocks.remainder().iter().step_by(stride) {
        total += v.widen();
    }
    total
}

/// [`sum_strided`] by decoding each element: any byte order, any alignment. Four
/// accumulators over byte positions (an index loop: the one the optimiser keeps tightest
/// around `decode`).
pub(crate) fn sum_strided_decoded(dtype: Dtype, bytes: &[u8], offset: usize, stride: usize) -> f64 {
    let size = dtype.size as usize;
    let step = stride.max(1).saturating_mul(size);
    let len = bytes.len();
    let Some(mut at) = offset.checked_mul(size) else { return 0.0 };
    let decode = |at: usize| dtype.decode(&bytes[at..at + size]);
    let mut acc = [0.0f64; 4];
    while at.saturating_add(step.saturating_mul(3)).saturating_add(size) <= len {
        acc[0] += decode(at);
        acc[1] += decode(at + step);
        acc[2] += decode(at + 2 * step);
        acc[3] += decode(at + 3 * step);
        at += 4 * step;
    }
    let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    while at.saturating_add(size) <= len {
        total += decode(at);
        at = at.saturating_add(step);
    }
    total
}

/// Sum and count of the elements at `offset, offset + stride, ...` (in elements, memory
/// order) of `bytes` read as `dtype`: one channel of every pixel when `stride` is the number
/// of channels. A stride of 0 counts as 1.
pub fn sum_strided(dtype: Dtype, bytes: &[u8], offset: usize, stride: usize) -> (f64, u64) {
    let count = strided_count(bytes.len() / dtype.size as usize, offset, stride.max(1));
    let sum = typed!(dtype, bytes, |values| sum_strided_of(values, offset, stride))
        .unwrap_or_else(|| sum_strided_decoded(dtype, bytes, offset, stride));
    (sum, count)
}

/// Sum of `values[i]` for each `i` of `indices`; an index past the end adds nothing.
#[inline(never)]
pub fn sum_gather_of<T: Element>(values: &[T], indices: &[u64]) -> f64 {
    let at = |i: u64| usize::try_from(i).ok().and_then(|i| values.get(i)).map_or(0.0, |v| v.widen());
    let mut acc = [0.0f64; LANES];
    let mut blocks = indices.chunks_exact(LANES);
    for block in &mut blocks {
        for (a, &i) in acc.iter_mut().zip(block) {
            *a += at(i);
        }
    }
    fold(acc) + blocks.remainder().iter().map(|&i| at(i)).sum::<f64>()
}

/// [`sum_gather`] by decoding each element: any byte order, any alignment.
pub(crate) fn sum_gather_decoded(dtype: Dtype, bytes: &[u8], indices: &[u64]) -> f64 {
    let size = dtype.size as usize;
    let at = |i: u64| {
        let start = usize::try_from(i).ok()?.checked_mul(size)?;
        bytes.get(start..start.checked_add(size)?).map(|e| dtype.decode(e))
    };
    let mut acc = [0.0f64; LANES];
    let mut blocks = indices.chunks_exact(LANES);
    for block in &mut blocks {
        for (a, &i) in acc.iter_mut().zip(block) {
            *a += at(i).unwrap_or(0.0);
        }
    }
    fold(acc) + blocks.remainder().iter().filter_map(|&i| at(i)).sum::<f64>()
}

/// Sum of the elements of `bytes` read as `dtype` at the element positions `indices`
/// (memory order, as `X.flat[idx].sum()` of a C-order array); an index past the end adds
/// nothing.
pub fn sum_gather(dtype: Dtype, bytes: &[u8], indices: &[u64]) -> f64 {
    typed!(dtype, bytes, |values| sum_gather_of(values, indices))
        .unwrap_or_else(|| sum_gather_decoded(dtype, bytes, indices))
}

/// Sum of whole rows of `row_len` elements at the row indices `rows` (`X[batch].sum()`
/// over the first axis), each row summed by [`super::sum_bytes`] in place, without the
/// copy NumPy's fancy indexing makes. A row past the end adds nothing.
pub fn sum_rows(dtype: Dtype, bytes: &[u8], row_len: usize, rows: &[u64]) -> f64 {
    let row_bytes = row_len.saturating_mul(dtype.size as usize);
    let row = |n: u64| {
        let start = usize::try_from(n).ok()?.checked_mul(row_bytes)?;
        bytes.get(start..start.checked_add(row_bytes)?)
    };
    rows.iter().filter_map(|&n| row(n)).map(|r| super::sum_bytes(dtype, r)).sum()
}
