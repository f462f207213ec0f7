//! Cross-validation: NumPy's outcome, shape, dtype and first values must be the Rust step's.

use crate::results::{PeerResult, StepResult};
use crate::spec::Status;

/// What differs between the Rust step and its NumPy peer, one sentence each; empty when
/// they agree. Two errors agree (each side words its own message); times and memory are
/// measurements, not answers, and are never compared here.
pub fn disagreements(rust: &StepResult, numpy: &PeerResult) -> Vec<String> {
    let mut out = Vec::new();
    if rust.status != numpy.status {
        out.push(format!(
            "the Rust step ended {}, NumPy's {}{}",
            outcome(rust.status, rust.error.as_deref()),
            outcome(numpy.status, numpy.error.as_deref()),
            if numpy.status == Status::Ok { String::new() } else { format!(" ({})", numpy.call) },
        ));
        return out;
    }
    if rust.status != Status::Ok {
        return out;
    }
    if rust.shape != numpy.shape {
        out.push(format!(
            "shape: Rust {}, NumPy {}",
            shape(rust.shape.as_ref()),
            shape(numpy.shape.as_ref())
        ));
    }
    if rust.dtype != numpy.dtype {
        out.push(format!("dtype: Rust {}, NumPy {}", dtype(rust.dtype), dtype(numpy.dtype)));
    }
    if let (Some(r), Some(n)) = (rust.elements_read, numpy.elements_read) {
        if r != n {
            out.push(format!("elements read: Rust {r}, NumPy {n}"));
        }
    }
    // Sums are compared where the values are the dataset's own (all in [0, 1), so the
    // order of the additions moves a sum by rounding only); a misread array's sum of huge
    // and tiny garbage depends on that order and proves nothing.
    if let (Some(true), Some(r), Some(n)) = (rust.matches_original, rust.sum, numpy.sum) {
        if (r - n).abs() > SUM_TOLERANCE * r.abs().max(n.abs()).max(1.0) {
            out.push(format!("sum of what was read: Rust {r:e}, NumPy {n:e}"));
        }
    }
    if let (Some(r), Some(n)) = (&rust.workers, &numpy.workers) {
        if r.count != n.count {
            out.push(format!("workers: Rust {}, NumPy {}", r.count, n.count));
        } else if !n.sums_agree {
            out.push("NumPy's workers computed different sums".to_owned());
        } else if let (Some(a), Some(b)) = (r.per_worker.first(), n.per_worker.first()) {
            if a.sum.is_finite()
                && b.sum.is_finite()
                && (a.sum - b.sum).abs() > SUM_TOLERANCE * a.sum.abs().max(1.0)
            {
                out.push(format!("workers' sums: Rust {:e}, NumPy {:e}", a.sum, b.sum));
            }
        }
    }
    if let Some(at) = first_difference(&rust.first_values, &numpy.first_values) {
        out.push(format!(
            "first values differ at element {at}: Rust {}, NumPy {} ({} and {} values)",
            value(rust.first_values.get(at)),
            value(numpy.first_values.get(at)),
            rust.first_values.len(),
            numpy.first_values.len()
        ));
    }
    out
}

/// Relative difference allowed between two sums of the same values added in different
/// orders (eight lanes in Rust, NumPy's pairwise summation): rounding, about 1e-13 for the
/// tutorial's 172 million values, far below what one misread element would change.
pub const SUM_TOLERANCE: f64 = 1e-9;

/// Records the verdict in `numpy`.
pub fn check(rust: &StepResult, numpy: &mut PeerResult) {
    if numpy.interrupted {
        // Stopped by Ctrl-C: nothing to compare, and no disagreement to report.
        numpy.disagreements.clear();
        numpy.agrees = false;
        return;
    }
    numpy.disagreements = disagreements(rust, numpy);
    numpy.agrees = numpy.disagreements.is_empty();
}

/// Index of the first element that differs (NaN equals NaN: both are the same bytes read
/// the same way), or of the end of the shorter list when the lengths differ.
fn first_difference(a: &[f64], b: &[f64]) -> Option<usize> {
    let same = |x: &f64, y: &f64| x == y || (x.is_nan() && y.is_nan());
    match a.iter().zip(b).position(|(x, y)| !same(x, y)) {
        Some(at) => Some(at),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

fn outcome(status: Status, error: Option<&str>) -> String {
    match error {
        Some(e) if status != Status::Ok => {
            format!("{} ({})", status.name(), e.chars().take(160).collect::<String>())
        }
        _ => status.name().to_owned(),
    }
}

fn shape(s: Option<&crate::shape::Shape>) -> String {
    s.map_or("none".to_owned(), crate::shape::Shape::python)
}

fn dtype(d: Option<crate::dtype::Dtype>) -> String {
    d.map_or("none".to_owned(), |d| d.descr())
}

fn value(v: Option<&f64>) -> String {
    v.map_or("nothing".to_owned(), |v| format!("{v:e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Dtype;
    use crate::shape::Shape;

    fn pair() -> (StepResult, PeerResult) {
        let results: crate::results::Results =
            serde_json::from_str(include_str!("../../tests/data/small-results.json")).unwrap();
        let rust = results.steps.into_iter().find(|s| s.status == Status::Ok).unwrap();
        let numpy = PeerResult {
            status: Status::Ok,
            shape: rust.shape.clone(),
            dtype: rust.dtype,
            first_values: rust.first_values.clone(),
            ..PeerResult::default()
        };
        (rust, numpy)
    }

    #[test]
    fn equal_answers_agree() {
        let (rust, mut numpy) = pair();
        check(&rust, &mut numpy);
        assert!(numpy.agrees, "{:?}", numpy.disagreements);
    }

    #[test]
    fn nan_equals_nan_but_nothing_else_differs_silently() {
        let (mut rust, mut numpy) = pair();
        rust.first_values[3] = f64::NAN;
        numpy.first_values[3] = f64::NAN;
        assert!(disagreements(&rust, &numpy).is_empty());
        numpy.first_values[5] += 1.0;
        let found = disagreements(&rust, &numpy);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("element 5"), "{found:?}");
        numpy.first_values.truncate(5);
        assert!(disagreements(&rust, &numpy)[0].contains("element 5"));
    }

    #[test]
    fn sums_of_the_datasets_values_agree_to_rounding_and_counts_exactly() {
        let (mut rust, mut numpy) = pair();
        rust.matches_original = Some(true);
        rust.sum = Some(1_000_000.0);
        rust.elements_read = Some(2000);
        numpy.elements_read = Some(2000);
        // Added in another order: off in the last digits only.
        numpy.sum = Some(1_000_000.0 * (1.0 + 1e-13));
        assert!(disagreements(&rust, &numpy).is_empty());
        // One element of the same size more or less is not rounding.
        numpy.sum = Some(1_000_000.5);
        assert!(disagreements(&rust, &numpy)[0].starts_with("sum of what was read"));
        numpy.sum = rust.sum;
        numpy.elements_read = Some(1999);
        assert_eq!(disagreements(&rust, &numpy), ["elements read: Rust 2000, NumPy 1999"]);
        // A misread array's sum is not compared: its order of additions decides it.
        numpy.elements_read = Some(2000);
        rust.matches_original = Some(false);
        numpy.sum = Some(-1e300);
        assert!(disagreements(&rust, &numpy).is_empty());
    }

    #[test]
    fn shape_dtype_and_outcome_are_compared() {
        let (rust, mut numpy) = pair();
        numpy.shape = Some(Shape(vec![1]));
        numpy.dtype = Some(Dtype::U1);
        let found = disagreements(&rust, &numpy);
        assert!(found.iter().any(|d| d.starts_with("shape")) && found.iter().any(|d| d.starts_with("dtype")));
        numpy.status = Status::Error;
        numpy.error = Some("ValueError: mmap length is greater than file size".to_owned());
        let found = disagreements(&rust, &numpy);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("NumPy's error"), "{found:?}");
    }
}
