//! Array shapes: parsed from the command line (`4002x120x120x3`), printed the NumPy way
//! (`(4002, 120, 120, 3)`), and sized without overflow.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dtype::Dtype;
use crate::units::Bytes;

/// The tutorial's shape: 4002 images of 120 x 120 pixels, 3 colour channels.
pub const TUTORIAL_SHAPE: [usize; 4] = [4002, 120, 120, 3];

/// The dimensions of an array, outermost first (C order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Shape(pub Vec<usize>);

/// Why a shape given on the command line or in a spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Nothing between the separators.
    #[error("shape '{0}' is empty: give dimensions such as 4002x120x120x3")]
    Empty(String),
    /// A dimension that is not a whole number.
    #[error(
        "shape '{text}': dimension '{dim}' is not a positive whole number; write dimensions such as 4002x120x120x3"
    )]
    NotANumber {
        /// The whole shape as given.
        text: String,
        /// The offending dimension.
        dim: String,
    },
    /// A zero dimension (an array with no elements has nothing to map).
    #[error(
        "shape '{0}' has a zero dimension: an array with no elements cannot be generated or mapped; every dimension must be at least 1"
    )]
    Zero(String),
    /// The element count or byte size does not fit in 64 bits.
    #[error("shape '{0}' is too large: its size in bytes does not fit in 64 bits")]
    Overflow(String),
}

impl Shape {
    /// Elements per sample (the first axis), or all of them for a 1-D array.
    pub fn sample_len(&self) -> u64 {
        match self.0.as_slice() {
            [] | [_] => self.len().max(1),
            [first, ..] => self.len() / (*first as u64).max(1),
        }
    }

    /// The tutorial's `(4002, 120, 120, 3)`.
    pub fn tutorial() -> Shape {
        Shape(TUTORIAL_SHAPE.to_vec())
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.len()
    }

    /// Number of elements, or `None` if it overflows.
    pub fn checked_len(&self) -> Option<u64> {
        self.0.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
    }

    /// Number of elements (shapes built by [`Shape::parse`] never overflow here).
    pub fn len(&self) -> u64 {
        self.checked_len().unwrap_or(u64::MAX)
    }

    /// Whether the shape holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of data for elements of `dtype`, or `None` on overflow.
    pub fn checked_nbytes(&self, dtype: Dtype) -> Option<Bytes> {
        self.checked_len()?.checked_mul(dtype.itemsize())
    }

    /// Bytes of data for elements of `dtype` (saturating).
    pub fn nbytes(&self, dtype: Dtype) -> Bytes {
        self.checked_nbytes(dtype).unwrap_or(u64::MAX)
    }

    /// Python's tuple notation: `(4002, 120, 120, 3)`, `(10,)`, `()`.
    pub fn python(&self) -> String {
        match self.0.as_slice() {
            [] => "()".to_owned(),
            [one] => format!("({one},)"),
            dims => {
                let parts: Vec<String> = dims.iter().map(ToString::to_string).collect();
                format!("({})", parts.join(", "))
            }
        }
    }

    /// Parses `4002x120x120x3`, `4002,120,120,3` or `(4002, 120, 120, 3)`; refuses zero,
    /// negative and non-numeric dimensions and sizes that overflow for 8-byte elements.
    pub fn parse(text: &str) -> Result<Shape, ShapeError> {
        let inner = text.trim().trim_start_matches('(').trim_end_matches(')');
        let parts: Vec<&str> = inner.split(['x', 'X', ',', '*']).map(str::trim).collect();
        // A trailing comma, as in Python's `(10,)`, leaves one empty part at the end.
        let parts = match parts.split_last() {
            Some((last, rest)) if last.is_empty() && !rest.is_empty() && inner.trim_end().ends_with(',') => {
                rest.to_vec()
            }
            _ => parts,
        };
        if parts.iter().all(|p| p.is_empty()) {
            return Err(ShapeError::Empty(text.to_owned()));
        }
        let mut dims = Vec::with_capacity(parts.len());
        for part in parts {
            let dim: u64 = part
                .replace('_', "")
                .parse()
                .map_err(|_| ShapeError::NotANumber { text: text.to_owned(), dim: part.to_owned() })?;
            if dim == 0 {
                return Err(ShapeError::Zero(text.to_owned()));
            }
            let dim = usize::try_from(dim).map_err(|_| ShapeError::Overflow(text.to_owned()))?;
            dims.push(dim);
        }
        let shape = Shape(dims);
        if shape.checked_nbytes(Dtype::F8).is_none() || shape.nbytes(Dtype::F8) > i64::MAX as u64 {
            return Err(ShapeError::Overflow(text.to_owned()));
        }
        Ok(shape)
    }
}

impl fmt::Display for Shape {
    /// The command-line form: `4002x120x120x3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("x"))
    }
}

impl FromStr for Shape {
    type Err = ShapeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shape::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_spellings() {
        let want = Shape::tutorial();
        assert_eq!(Shape::parse("4002x120x120x3").unwrap(), want);
        assert_eq!(Shape::parse("4002,120,120,3").unwrap(), want);
        assert_eq!(Shape::parse("(4002, 120, 120, 3)").unwrap(), want);
        assert_eq!(Shape::parse("(10,)").unwrap(), Shape(vec![10]));
        assert_eq!(Shape::parse("10").unwrap(), Shape(vec![10]));
    }

    #[test]
    fn refuses_bad_dimensions() {
        assert!(matches!(Shape::parse("40x0x3"), Err(ShapeError::Zero(_))));
        assert!(matches!(Shape::parse("40x-1x3"), Err(ShapeError::NotANumber { .. })));
        assert!(matches!(Shape::parse("40xabcx3"), Err(ShapeError::NotANumber { .. })));
        assert!(matches!(Shape::parse("40xx3"), Err(ShapeError::NotANumber { .. })));
        assert!(matches!(Shape::parse(""), Err(ShapeError::Empty(_))));
        assert!(matches!(Shape::parse("4294967296x4294967296x8"), Err(ShapeError::Overflow(_))));
    }

    #[test]
    fn sizes_and_python_form() {
        let s = Shape::tutorial();
        assert_eq!(s.len(), 172_886_400);
        assert_eq!(s.nbytes(Dtype::F8), 1_383_091_200);
        assert_eq!(s.python(), "(4002, 120, 120, 3)");
        assert_eq!(Shape(vec![7]).python(), "(7,)");
        assert_eq!(s.to_string(), "4002x120x120x3");
    }
}
