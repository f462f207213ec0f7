//! What a quantity measures: its dimension and its value. A leaf under the quantity
//! parser, the field registry and the units, so that none of them needs another.

use std::fmt;

use super::text::format_number;

/// What kind of value a quantity is, which decides the units and questions that fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// A number of bytes (units: bytes, KiB, MiB, GiB, kB, MB, GB).
    Bytes,
    /// A duration in nanoseconds (units: ns, us, ms, s).
    Nanos,
    /// A count: faults, pages, elements.
    Count,
    /// A plain number: a value read from the array.
    Number,
    /// A ratio of two quantities (units: none, or percent).
    Ratio,
    /// A word: a dtype, a status, a signal's name.
    Text,
    /// Yes or no.
    Bool,
}

impl Dimension {
    /// Whether values are numbers (questions with a tolerance or with ranges as choices).
    pub fn is_numeric(self) -> bool {
        !matches!(self, Dimension::Text | Dimension::Bool)
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Bytes => "bytes",
            Dimension::Nanos => "a duration",
            Dimension::Count => "a count",
            Dimension::Number => "a number",
            Dimension::Ratio => "a ratio",
            Dimension::Text => "text",
            Dimension::Bool => "yes or no",
        }
    }
}

/// A measured value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number, in the quantity's base unit (bytes, nanoseconds, a count, a ratio).
    Number(f64),
    /// A word.
    Text(String),
    /// Yes or no.
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::Text(t) => f.write_str(t),
            Value::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
        }
    }
}
