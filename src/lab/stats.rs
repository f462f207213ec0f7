//! The labs' one median and spread, for quantities measured over repeated runs.
//!
//! The median is the crate's one median ([`crate::stats::median`], NumPy's `np.median`: the
//! mean of the two middle values for an even count), so a lab's median is the report's; the spread is the lowest and highest run. Every median a lab shows (a
//! field's median over batches, a timing quantity's median over runs) is this one.

/// The median of `values`, or none for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let measured: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    crate::stats::median(&measured)
}

/// A quantity measured over repeated runs: each run's value, their median and their spread.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Repeated {
    /// Each run's value, in the quantity's base unit, in the order measured.
    pub runs: Vec<f64>,
    /// Their median.
    pub median: f64,
    /// The lowest run.
    pub min: f64,
    /// The highest run.
    pub max: f64,
}

impl Repeated {
    /// The median and spread of `runs`; none for no runs.
    pub fn of(runs: Vec<f64>) -> Option<Repeated> {
        let median = median(&runs)?;
        let min = runs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Repeated { runs, median, min, max })
    }

    /// The band the measurement's noise allows: the median ± the median distance of the
    /// runs from it (the noise of a typical run, as the report's headline gives it), and at
    /// least ± `margin` of the median. A boundary inside it is too close to call. One stray
    /// run (a cold read that hit a warm disk cache) does not widen it: the lowest and highest
    /// run would, so that the same answers would flip between "right" and "too close".
    pub fn band(&self, margin: f64) -> (f64, f64) {
        let distances: Vec<f64> =
            self.runs.iter().map(|r| (r - self.median).abs()).filter(|d| !d.is_nan()).collect();
        let typical = crate::stats::median(&distances).unwrap_or(0.0);
        let pad = typical.max(margin * self.median.abs());
        (self.median - pad, self.median + pad)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn one_median_for_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5), "the report's median: np.median");
        assert_eq!(median(&[]), None);
        let r = Repeated::of(vec![5.0, 1.0, 9.0]).unwrap();
        assert_eq!((r.median, r.min, r.max), (5.0, 1.0, 9.0));
        assert_eq!(r.band(0.1), (1.0, 9.0));
        assert_eq!(Repeated::of(vec![10.0]).unwrap().band(0.1), (9.0, 11.0));
        // One stray run does not move the band: the typical distance does.
        let stray = Repeated::of(vec![10.0, 11.0, 9.0, 10.5, 1.0]).unwrap();
        assert_eq!(stray.band(0.1), (9.0, 11.0));
    }
}
