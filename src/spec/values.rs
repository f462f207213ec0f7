//! How a spec's values are written in TOML and read back: `"dataset"` or a value for the
//! dtype, the offset and the shape, and `access` as a name or a table. Each is parsed into
//! its type here, once, as the file is read.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{AccessSpec, DtypeSpec, OffsetSpec, ShapeSpec};
use crate::dtype::Dtype;
use crate::shape::Shape;

impl Serialize for DtypeSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DtypeSpec::Dataset => serializer.serialize_str("dataset"),
            DtypeSpec::Given(dtype) => dtype.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for DtypeSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "dataset" {
            return Ok(DtypeSpec::Dataset);
        }
        Dtype::parse(&text).map(DtypeSpec::Given).map_err(|e| de::Error::custom(format!("[open] dtype: {e}")))
    }
}

impl Serialize for ShapeSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ShapeSpec::Dataset => serializer.serialize_str("dataset"),
            ShapeSpec::Fixed(shape) => shape.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ShapeSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = ShapeSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"dataset\", a shape such as \"40x120x120x3\", or a list of whole numbers such as [40, 120, 120, 3]",
                )
            }
            fn visit_str<E: de::Error>(self, t: &str) -> Result<ShapeSpec, E> {
                if t == "dataset" {
                    Ok(ShapeSpec::Dataset)
                } else {
                    Shape::parse(t).map(ShapeSpec::Fixed).map_err(E::custom)
                }
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ShapeSpec, A::Error> {
                let mut dims = Vec::new();
                while let Some(d) = seq.next_element::<i64>()? {
                    if d < 1 {
                        return Err(de::Error::custom(format!(
                            "shape dimension {d} is not a positive whole number"
                        )));
                    }
                    dims.push(d.to_string());
                }
                Shape::parse(&dims.join("x")).map(ShapeSpec::Fixed).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(ShapeVisitor)
    }
}

impl Serialize for OffsetSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OffsetSpec::Header => serializer.serialize_str("header"),
            OffsetSpec::Bytes(n) => serializer.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for OffsetSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OffsetVisitor;
        impl<'de> Visitor<'de> for OffsetVisitor {
            type Value = OffsetSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of bytes (such as 128) or \"header\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<OffsetSpec, E> {
                Ok(OffsetSpec::Bytes(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<OffsetSpec, E> {
                u64::try_from(n).map(OffsetSpec::Bytes).map_err(|_| {
                    E::custom(format!("offset {n} is negative: give a whole number of bytes, or \"header\""))
                })
            }
            fn visit_str<E: de::Error>(self, t: &str) -> Result<OffsetSpec, E> {
                if t == "header" {
                    Ok(OffsetSpec::Header)
                } else {
                    Err(E::custom(format!("offset '{t}' is neither a number of bytes nor \"header\"")))
                }
            }
        }
        deserializer.deserialize_any(OffsetVisitor)
    }
}

/// `access = "full_pass"` or `access = { pattern = "random_batches", batch_size = 32 }`.
pub(super) fn access_from_str_or_table<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<AccessSpec, D::Error> {
    struct AccessVisitor;
    impl<'de> Visitor<'de> for AccessVisitor {
        type Value = AccessSpec;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a pattern name (none, first, full_pass) or a table with `pattern = ...`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<AccessSpec, E> {
            match v {
                "none" => Ok(AccessSpec::None),
                "first" => Ok(AccessSpec::First),
                "full_pass" => Ok(AccessSpec::FullPass),
                other => Err(E::custom(format!(
                    "unknown access pattern '{other}': use none, first or full_pass, or a table for first_n, channel and random_batches"
                ))),
            }
        }
        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<AccessSpec, M::Error> {
            AccessSpec::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(AccessVisitor)
}
