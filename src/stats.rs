//! The crate's one median and one percentile, so a lab, the check, the report and the
//! terminal all mean the same thing by "the median".
//!
//! Definitions, NumPy's: the **median** is `np.median`: the middle value of the sorted values
//! for an odd count, the mean of the two middle values for an even count (so two paired
//! rounds give their midpoint, and the distance from it is half their difference, not 0).
//! The `p`-th **percentile** is the value at index `floor((n - 1) · p)` of the sorted values,
//! `np.percentile(values, 100 * p, method="lower")`: always one of the values measured, for
//! the tails of a distribution (the 95th percentile batch). The **spread** beside a median is
//! the median of the distances from it.

/// The `p`-th percentile (`p` from 0 to 1) of `values` as defined above; `None` when empty.
pub fn percentile<T: Copy + PartialOrd>(values: &[T], p: f64) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let last = sorted.len().checked_sub(1)?;
    let index = ((last as f64) * p.clamp(0.0, 1.0)).floor() as usize;
    sorted.get(index.min(last)).copied()
}

/// A value the median can be taken of: ordered, with a midpoint of two.
pub trait Midpoint: Copy + PartialOrd {
    /// Halfway between `a` and `b` (rounded down for whole numbers).
    fn mid(a: Self, b: Self) -> Self;
}

impl Midpoint for f64 {
    fn mid(a: f64, b: f64) -> f64 {
        a.midpoint(b)
    }
}

impl Midpoint for u64 {
    fn mid(a: u64, b: u64) -> u64 {
        a.midpoint(b)
    }
}

/// The median of `values` as defined above (`np.median`); `None` when empty.
pub fn median<T: Midpoint>(values: &[T]) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(T::mid(sorted[n / 2 - 1], sorted[n / 2])),
    }
}

/// The [`median`] of `values` and the median distance from it (the spread): one outlying
/// value moves neither much. `None` when empty.
pub fn median_spread(values: &[f64]) -> Option<(f64, f64)> {
    let mid = median(values)?;
    let spread = median(&values.iter().map(|v| (v - mid).abs()).collect::<Vec<_>>())?;
    Some((mid, spread))
}

/// The [`median`] of `values` with the least and the greatest: `(median, min, max)`.
pub fn median_range(values: impl IntoIterator<Item = u64>) -> Option<(u64, u64, u64)> {
    let v: Vec<u64> = values.into_iter().collect();
    Some((median(&v)?, *v.iter().min()?, *v.iter().max()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        // np.median([5, 1, 3]) == 3; np.median([4, 1, 3, 2]) == 2.5; np.median([2.5, -1]) == 0.75
        assert_eq!(median(&[5u64, 1, 3]), Some(3));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[4u64, 1, 3, 2]), Some(2), "whole numbers round down");
        assert_eq!(median(&[2.5, -1.0]), Some(0.75));
        assert_eq!(median::<u64>(&[]), None);
    }

    #[test]
    fn the_spread_is_the_median_distance() {
        assert_eq!(median_spread(&[1.0, 3.0]), Some((2.0, 1.0)), "two rounds: half their difference");
        assert_eq!(median_spread(&[1.0, 2.0, 9.0]), Some((2.0, 1.0)), "one outlier moves nothing");
        assert_eq!(median_spread(&[]), None);
    }

    #[test]
    fn percentiles_are_numpy_lower() {
        let v: Vec<u64> = (1..=20).collect();
        // np.percentile(np.arange(1, 21), [0, 50, 95, 100], method="lower") -> 1, 10, 19, 20
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&v, 0.5), Some(10));
        assert_eq!(percentile(&v, 0.95), Some(19));
        assert_eq!(percentile(&v, 1.0), Some(20));
    }

    #[test]
    fn median_range_takes_the_middle_and_the_ends() {
        assert_eq!(median_range([5, 1, 9]), Some((5, 1, 9)));
        assert_eq!(median_range([4, 1, 9, 7]), Some((5, 1, 9)));
        assert_eq!(median_range([3]), Some((3, 3, 3)));
        assert_eq!(median_range([]), None);
    }
}
