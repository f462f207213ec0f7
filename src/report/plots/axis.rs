//! An axis whose ticks are chosen by the plot (round byte counts, decades, the centres of
//! categories) and written by the plot's own formatter, linear or logarithmic.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// A linear or log axis from `lo` to `hi` with ticks at `ticks`.
#[derive(Debug, Clone)]
pub struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl Axis {
    /// A linear axis.
    pub fn linear(lo: f64, hi: f64, ticks: Vec<f64>) -> Axis {
        Axis { lo, hi, log: false, ticks }
    }

    /// A logarithmic axis (`lo` must be positive).
    pub fn log(lo: f64, hi: f64, ticks: Vec<f64>) -> Axis {
        Axis { lo: lo.max(f64::MIN_POSITIVE), hi, log: true, ticks }
    }

    /// Where `v` falls between the ends, 0 to 1.
    fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.lo * 1e-3).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_finite() { f } else { 0.0 }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (self.fraction(*value) * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_map_linearly_or_by_their_logarithm() {
        let linear = Axis::linear(0.0, 10.0, vec![]);
        assert_eq!(linear.map(&5.0, (0, 100)), 50);
        let log = Axis::log(1.0, 1000.0, vec![]);
        assert_eq!(log.map(&10.0, (0, 300)), 100);
        assert_eq!(log.map(&0.0, (0, 300)), -300, "zero maps far left, not to NaN");
    }
}
