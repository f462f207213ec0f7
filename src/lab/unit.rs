//! Units of numeric answers, and numbers written the way a student reads them.

pub use super::text::format_number;
use super::value::Dimension;

/// The unit a question uses for a numeric quantity: a label and the size of one unit in
/// the quantity's base unit (bytes, nanoseconds, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// As written after numbers: `bytes`, `MiB`, `ms`, `%`, `faults`, or empty.
    pub label: String,
    /// Base units per unit: 1048576 for MiB, 1e6 for ms, 0.01 for percent.
    pub scale: f64,
}

impl Unit {
    /// The unit named `name` for a quantity of `dimension`; without a name, the base unit.
    pub fn for_dimension(dimension: Dimension, name: Option<&str>) -> Result<Unit, String> {
        let unit = |label: &str, scale: f64| Ok(Unit { label: label.to_owned(), scale });
        let name = name.map(str::trim);
        match dimension {
            Dimension::Bytes => match name.unwrap_or("bytes") {
                "bytes" | "byte" | "B" => unit("bytes", 1.0),
                "KiB" => unit("KiB", 1024.0),
                "MiB" => unit("MiB", 1024.0 * 1024.0),
                "GiB" => unit("GiB", 1024.0 * 1024.0 * 1024.0),
                "kB" => unit("kB", 1e3),
                "MB" => unit("MB", 1e6),
                "GB" => unit("GB", 1e9),
                other => Err(format!(
                    "unit '{other}' does not fit a quantity in bytes: use bytes, KiB, MiB, GiB, kB, MB or GB"
                )),
            },
            Dimension::Nanos => match name.unwrap_or("ns") {
                "ns" => unit("ns", 1.0),
                "us" | "µs" => unit("µs", 1e3),
                "ms" => unit("ms", 1e6),
                "s" => unit("s", 1e9),
                other => Err(format!("unit '{other}' does not fit a duration: use ns, us, ms or s")),
            },
            Dimension::Ratio => match name.unwrap_or("") {
                "percent" | "%" => unit("%", 0.01),
                label => unit(label, 1.0),
            },
            Dimension::Count | Dimension::Number => unit(name.unwrap_or(""), 1.0),
            Dimension::Text | Dimension::Bool => match name {
                None => unit("", 1.0),
                Some(n) => {
                    Err(format!("unit '{n}' given for a quantity that is {}, not a number", dimension.name()))
                }
            },
        }
    }

    /// `value` (in base units) in this unit.
    pub fn from_base(&self, value: f64) -> f64 {
        value / self.scale
    }

    /// A number in this unit, with its label: `128 bytes`, `131.84 MiB`, `12%`.
    pub fn show(&self, value: f64) -> String {
        let n = format_number(value);
        match self.label.as_str() {
            "" => n,
            "%" => format!("{n}%"),
            label => format!("{n} {label}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn units_fit_their_dimension() {
        let unit = |d, n: Option<&str>| Unit::for_dimension(d, n);
        assert_eq!(unit(Dimension::Bytes, None).unwrap().label, "bytes");
        assert_eq!(unit(Dimension::Bytes, Some("MiB")).unwrap().scale, 1048576.0);
        assert_eq!(unit(Dimension::Nanos, Some("ms")).unwrap().scale, 1e6);
        assert_eq!(unit(Dimension::Ratio, Some("percent")).unwrap().scale, 0.01);
        assert_eq!(unit(Dimension::Count, Some("faults")).unwrap().label, "faults");
        assert!(unit(Dimension::Bytes, Some("faults")).unwrap_err().contains("does not fit"));
        assert!(unit(Dimension::Nanos, Some("MiB")).is_err());
        assert!(unit(Dimension::Text, Some("bytes")).is_err());
        let mib = unit(Dimension::Bytes, Some("MiB")).unwrap();
        assert_eq!(mib.show(mib.from_base(3.0 * 1048576.0)), "3 MiB");
        let percent = unit(Dimension::Ratio, Some("%")).unwrap();
        assert_eq!(percent.show(percent.from_base(0.5)), "50%");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_number(1_389_312_000.0), "1,389,312,000");
        assert_eq!(format_number(-128.0), "-128");
        assert_eq!(format_number(1259.6), "1,260");
        assert_eq!(format_number(131.84), "131.8");
        assert_eq!(format_number(16.004), "16.00");
        assert_eq!(format_number(0.0289), "0.0289");
        assert_eq!(format_number(0.000652), "0.000652");
    }
}
