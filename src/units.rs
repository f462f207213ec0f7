//! Named units and the few number formats the reports and messages share.

/// A count of bytes.
pub type Bytes = u64;

/// A duration in nanoseconds, as stored in `results.json`.
pub type Nanos = u64;

/// Size of one memory page on this machine (the unit of `mincore` and of page faults).
pub fn page_size() -> Bytes {
    // SAFETY: sysconf has no preconditions; it returns -1 only for unknown names.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as Bytes } else { 4096 }
}

/// `1383091200` -> `"1,383,091,200"`: exact sizes, readable.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A byte count in the largest binary unit that keeps it at 1 or above: `(1.5, "MiB")`.
/// The one ladder of byte units, for text and for plot ticks.
pub fn binary_scale(bytes: f64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    (value, UNITS[unit])
}

/// A duration in nanoseconds in the unit that suits it: `(12.3, "µs")`. The one ladder of
/// time units, for text and for plot ticks.
pub fn time_scale(ns: f64) -> (f64, &'static str) {
    if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    }
}

/// A byte count in the largest binary unit that keeps it above 1: `"1.29 GiB"`, `"40.0 KiB"`.
pub fn human_bytes(n: Bytes) -> String {
    match binary_scale(n as f64) {
        (_, "B") => format!("{n} B"),
        (value, unit) => format!("{value:.2} {unit}"),
    }
}

/// A signed byte difference, `"+1.29 GiB"` or `"-12.0 KiB"`.
pub fn human_delta(delta: i64) -> String {
    let sign = if delta < 0 { "-" } else { "+" };
    format!("{sign}{}", human_bytes(delta.unsigned_abs()))
}

/// A duration in the unit that suits it: `"12.3 µs"`, `"1.52 s"`.
pub fn human_nanos(ns: Nanos) -> String {
    let (value, unit) = time_scale(ns as f64);
    let digits = match unit {
        "ns" => 0,
        "s" => 2,
        _ => 1,
    };
    format!("{value:.digits$} {unit}")
}

/// A value as a student reads it: integers plain, floats to 4 digits, garbage in e-notation.
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        format!("{v}")
    } else if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 1e-3 && v.abs() < 1e6 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_inserts_thousands_separators() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_383_091_328), "1,383,091,328");
    }

    #[test]
    fn human_units_pick_the_right_scale() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(40 * 1024), "40.00 KiB");
        assert_eq!(human_bytes(3 << 30), "3.00 GiB");
        assert_eq!(human_delta(-2048), "-2.00 KiB");
        assert_eq!(human_nanos(12_300), "12.3 µs");
        assert_eq!(human_nanos(1_520_000_000), "1.52 s");
    }
}
