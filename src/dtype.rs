//! Element types, named the way NumPy names them (`float64`, `<f8`, `uint8`).
//!
//! An array in mmap-lab is bytes plus a [`Dtype`], as in NumPy: the same bytes read as
//! `uint8` or as `float64` are the tutorial's wrong-dtype trap.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What kind of number an element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `bool` (one byte, 0 or 1).
    Bool,
    /// Signed integer.
    Int,
    /// Unsigned integer.
    UInt,
    /// IEEE 754 floating point.
    Float,
}

/// Byte order of multi-byte elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first (`<`), the order of x86 and most ARM machines.
    Little,
    /// Most significant byte first (`>`).
    Big,
}

impl ByteOrder {
    /// The byte order of the machine running mmap-lab.
    pub const NATIVE: ByteOrder =
        if cfg!(target_endian = "big") { ByteOrder::Big } else { ByteOrder::Little };
}

/// An element type: kind, size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dtype {
    /// What kind of number.
    pub kind: Kind,
    /// Bytes per element: 1, 2, 4 or 8.
    pub size: u8,
    /// Byte order (irrelevant, and `Little`, for one-byte types).
    pub order: ByteOrder,
}

/// A dtype string mmap-lab does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown dtype '{0}': use a NumPy name or code such as float64 (f8), float32 (f4), uint8 (u1), int16 (i2), or a byte-order form such as '<f8' or '>f8'"
)]
pub struct UnknownDtype(pub String);

impl Dtype {
    /// `float64`, little-endian: the tutorial's dtype.
    pub const F8: Dtype = Dtype::new(Kind::Float, 8);
    /// `float32`.
    pub const F4: Dtype = Dtype::new(Kind::Float, 4);
    /// `uint8`: `np.memmap`'s default dtype.
    pub const U1: Dtype = Dtype::new(Kind::UInt, 1);

    /// A native-order dtype of `kind` and `size` bytes.
    pub const fn new(kind: Kind, size: u8) -> Dtype {
        Dtype { kind, size, order: ByteOrder::NATIVE }
    }

    /// Bytes per element (`np.dtype(...).itemsize`).
    pub fn itemsize(self) -> u64 {
        u64::from(self.size)
    }

    /// Whether elements can be read without swapping bytes on this machine.
    pub fn is_native(self) -> bool {
        self.size == 1 || self.order == ByteOrder::NATIVE
    }

    /// NumPy's name: `float64`, `uint8`, `bool`.
    pub fn name(self) -> String {
        match self.kind {
            Kind::Bool => "bool".to_owned(),
            Kind::Int => format!("int{}", u32::from(self.size) * 8),
            Kind::UInt => format!("uint{}", u32::from(self.size) * 8),
            Kind::Float => format!("float{}", u32::from(self.size) * 8),
        }
    }

    /// NumPy's array-protocol string, as in a .npy header: `<f8`, `>f8`, `|u1`.
    pub fn descr(self) -> String {
        let order = if self.size == 1 {
            '|'
        } else {
            match self.order {
                ByteOrder::Little => '<',
                ByteOrder::Big => '>',
            }
        };
        let code = match self.kind {
            Kind::Bool => 'b',
            Kind::Int => 'i',
            Kind::UInt => 'u',
            Kind::Float => 'f',
        };
        format!("{order}{code}{}", self.size)
    }

    /// Decodes one element from exactly `itemsize` bytes, widened to `f64`.
    ///
    /// `u64`/`i64` beyond 2^53 lose precision, as they do in NumPy's `astype(float)`.
    #[inline]
    pub fn decode(self, bytes: &[u8]) -> f64 {
        macro_rules! read {
            ($t:ty, $n:literal) => {{
                let mut raw = [0u8; $n];
                raw.copy_from_slice(&bytes[..$n]);
                match self.order {
                    ByteOrder::Little => <$t>::from_le_bytes(raw) as f64,
                    ByteOrder::Big => <$t>::from_be_bytes(raw) as f64,
                }
            }};
        }
        match (self.kind, self.size) {
            (Kind::Bool, _) => f64::from(u8::from(bytes[0] != 0)),
            (Kind::UInt, 1) => f64::from(bytes[0]),
            (Kind::Int, 1) => f64::from(bytes[0] as i8),
            (Kind::UInt, 2) => read!(u16, 2),
            (Kind::Int, 2) => read!(i16, 2),
            (Kind::UInt, 4) => read!(u32, 4),
            (Kind::Int, 4) => read!(i32, 4),
            (Kind::Float, 4) => read!(f32, 4),
            (Kind::UInt, 8) => read!(u64, 8),
            (Kind::Int, 8) => read!(i64, 8),
            (Kind::Float, 8) => read!(f64, 8),
            _ => f64::NAN,
        }
    }

    /// Parses a dtype as NumPy would accept it: `float64`, `f8`, `<f8`, `>i2`, `uint8`, `|u1`, `bool`.
    pub fn parse(text: &str) -> Result<Dtype, UnknownDtype> {
        let unknown = || UnknownDtype(text.to_owned());
        let trimmed = text.trim();
        let (order, body) = match trimmed.chars().next() {
            Some('<') => (Some(ByteOrder::Little), &trimmed[1..]),
            Some('>') => (Some(ByteOrder::Big), &trimmed[1..]),
            Some('=') => (Some(ByteOrder::NATIVE), &trimmed[1..]),
            Some('|') => (None, &trimmed[1..]),
            _ => (None, trimmed),
        };
        let (kind, size) = match body.to_ascii_lowercase().as_str() {
            "bool" | "b1" | "?" => (Kind::Bool, 1),
            "float64" | "f8" | "float" | "double" | "d" => (Kind::Float, 8),
            "float32" | "f4" | "single" | "f" => (Kind::Float, 4),
            "uint8" | "u1" | "ubyte" => (Kind::UInt, 1),
            "int8" | "i1" | "byte" => (Kind::Int, 1),
            "uint16" | "u2" => (Kind::UInt, 2),
            "int16" | "i2" => (Kind::Int, 2),
            "uint32" | "u4" => (Kind::UInt, 4),
            "int32" | "i4" => (Kind::Int, 4),
            "uint64" | "u8" => (Kind::UInt, 8),
            "int64" | "i8" => (Kind::Int, 8),
            _ => return Err(unknown()),
        };
        if body.len() != trimmed.len() && body.len() > 2 {
            // `<float64` is not a NumPy spelling: byte-order marks go with codes only.
            return Err(unknown());
        }
        Ok(Dtype { kind, size, order: order.unwrap_or(ByteOrder::NATIVE) })
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_native() { f.write_str(&self.name()) } else { f.write_str(&self.descr()) }
    }
}

impl FromStr for Dtype {
    type Err = UnknownDtype;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dtype::parse(s)
    }
}

impl Serialize for Dtype {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dtype {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Dtype::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_spellings() {
        assert_eq!(Dtype::parse("float64").unwrap(), Dtype::F8);
        assert_eq!(Dtype::parse("f8").unwrap(), Dtype::F8);
        assert_eq!(Dtype::parse("<f8").unwrap(), Dtype::F8);
        assert_eq!(Dtype::parse("|u1").unwrap(), Dtype::U1);
        assert_eq!(Dtype::parse("uint8").unwrap(), Dtype::U1);
        let big = Dtype::parse(">f8").unwrap();
        assert_eq!(big.order, ByteOrder::Big);
        assert_eq!(big.descr(), ">f8");
        assert!(Dtype::parse("c16").is_err());
        assert!(Dtype::parse("<float64").is_err());
        assert!(Dtype::parse("").is_err());
    }

    #[test]
    fn descr_and_name_follow_numpy() {
        assert_eq!(Dtype::F8.descr(), "<f8");
        assert_eq!(Dtype::U1.descr(), "|u1");
        assert_eq!(Dtype::F4.name(), "float32");
        assert_eq!(Dtype::parse("i2").unwrap().name(), "int16");
    }

    #[test]
    fn decodes_both_byte_orders() {
        let x = 0.5f64;
        assert_eq!(Dtype::F8.decode(&x.to_le_bytes()), 0.5);
        assert_eq!(Dtype::parse(">f8").unwrap().decode(&x.to_be_bytes()), 0.5);
        assert_eq!(Dtype::parse("<i2").unwrap().decode(&(-3i16).to_le_bytes()), -3.0);
        assert_eq!(Dtype::U1.decode(&[147]), 147.0);
    }
}
