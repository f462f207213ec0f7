//! The crate's one median and one percentile, so a lab, the check, the report and the
//! terminal all mean the same thing by "the median".
//!
//! Definition: the values are sorted and the `p`-th percentile is the value at index
//! `floor((n - 1) · p)`: NumPy's `np.percentile(values, 100 * p, method="lower")`. It is
//! always one of the values measured (never an average no run had), and the median is the
//! 50th percentile: the middle value for an odd count, the lower of the two middle values
//! for an even count.

/// The `p`-th percentile (`p` from 0 to 1) of `values` as defined above; `None` when empty.
pub fn percentile<T: Copy + PartialOrd>(values: &[T], p: f64) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let last = sorted.len().checked_sub(1)?;
    let index = ((last as f64) * p.clamp(0.0, 1.0)).floor() as usize;
    sorted.get(index.min(last)).copied()
}

/// The median of `values`: the 50th [`percentile`]; `None` when empty.
pub fn median<T: Copy + PartialOrd>(values: &[T]) -> Option<T> {
    percentile(values, 0.5)
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
    fn the_median_is_the_middle_or_the_lower_middle() {
        assert_eq!(median(&[5, 1, 3]), Some(3));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(median(&[2.5, -1.0]), Some(-1.0));
        assert_eq!(median::<u64>(&[]), None);
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
        assert_eq!(median_range([4, 1, 9, 7]), Some((4, 1, 9)));
        assert_eq!(median_range([3]), Some((3, 3, 3)));
        assert_eq!(median_range([]), None);
    }
}
