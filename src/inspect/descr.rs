//! What NumPy does with a .npy file's `descr`, for the dtypes mmap-lab does not read itself
//! (complex, long double, strings, datetimes, structured records with nested fields and
//! sub-arrays): whether `np.load` understands it, whether it can be mapped, and how many
//! bytes an element takes, so that inspect gives NumPy's answer for every file.
//!
//! NumPy's own rules, as `np.lib.format.descr_to_dtype` and `np.load` apply them: an
//! unknown type string is refused (`ValueError: descr is not a valid dtype descriptor`),
//! and a dtype holding Python objects is never mapped (`ValueError: Array can't be
//! memory-mapped: Python objects in dtype.`).

use crate::npy::Py;

/// NumPy's verdict on a descr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescrVerdict {
    /// NumPy maps it: elements of this many bytes.
    Mappable {
        /// Bytes per element (`dtype.itemsize`).
        itemsize: u64,
    },
    /// NumPy reads it but refuses to map it: the reason, in NumPy's words.
    Unmappable(String),
    /// NumPy does not understand it: the reason, in NumPy's words.
    Unknown(String),
}

const OBJECTS: &str = "ValueError: Array can't be memory-mapped: Python objects in dtype.";

enum Item {
    Bytes(u64),
    Objects,
}

/// The verdict on `descr` as the header holds it: a type string (`<c16`), or the Python
/// text of a structured description (`[('x', '<f8'), ...]`).
pub fn verdict(descr: &str) -> DescrVerdict {
    let unknown = || {
        DescrVerdict::Unknown(format!(
            "ValueError: descr is not a valid dtype descriptor: '{descr}' (NumPy: data type '{descr}' not understood)"
        ))
    };
    let item = if descr.trim_start().starts_with('[') {
        match crate::npy::parse_literal(descr) {
            Ok(value) => fields(&value, 0),
            Err(_) => None,
        }
    } else {
        typestr(descr)
    };
    match item {
        None => unknown(),
        Some(Item::Objects) => DescrVerdict::Unmappable(OBJECTS.to_owned()),
        Some(Item::Bytes(itemsize)) => DescrVerdict::Mappable { itemsize },
    }
}

/// Bytes of one element of a type string such as `<f8`, `|S10`, `<U3`, `<M8[ns]`, `|O`.
fn typestr(text: &str) -> Option<Item> {
    let body = text.strip_prefix(['<', '>', '|', '=']).unwrap_or(text);
    let (body, unit) = match body.split_once('[') {
        Some((b, rest)) => (b, Some(rest.strip_suffix(']')?)),
        None => (body, None),
    };
    let kind = body.chars().next()?;
    let digits = &body[kind.len_utf8()..];
    let size: Option<u64> = if digits.is_empty() { None } else { Some(digits.parse().ok()?) };
    if unit.is_some() && !matches!(kind, 'M' | 'm') {
        return None;
    }
    let bytes = match (kind, size) {
        ('O', None | Some(8)) => return Some(Item::Objects),
        ('b', Some(1)) | ('?', None) => 1,
        ('i' | 'u', Some(n @ (1 | 2 | 4 | 8))) => n,
        ('f', Some(n @ (2 | 4 | 8 | 16))) => n,
        ('c', Some(n @ (8 | 16 | 32))) => n,
        ('S' | 'a' | 'V', Some(n)) => n,
        ('U', Some(n)) => n.checked_mul(4)?,
        ('M' | 'm', Some(8)) => {
            let units =
                ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs", "as", "generic"];
            if unit.is_some_and(|u| !units.contains(&u.trim_start_matches(char::is_numeric))) {
                return None;
            }
            8
        }
        _ => return None,
    };
    Some(Item::Bytes(bytes))
}

/// A field's descr: a type string or a nested list of fields.
fn field_type(value: &Py, depth: usize) -> Option<Item> {
    match value {
        Py::Str(s) => typestr(s),
        Py::List(_) => fields(value, depth + 1),
        _ => None,
    }
}

/// Bytes of a structured element: `[(name, descr), (name, descr, shape), ...]`, the name
/// a string or a `(title, name)` pair; nameless fields are padding.
fn fields(value: &Py, depth: usize) -> Option<Item> {
    if depth > 16 {
        return None;
    }
    let Py::List(items) = value else { return None };
    let mut total: u64 = 0;
    let mut objects = false;
    for item in items {
        let Py::Tuple(parts) = item else { return None };
        let (name, ty, shape) = match parts.as_slice() {
            [name, ty] => (name, ty, None),
            [name, ty, shape] => (name, ty, Some(shape)),
            _ => return None,
        };
        match name {
            Py::Str(_) => {}
            Py::Tuple(pair) if pair.len() == 2 && pair.iter().all(|p| matches!(p, Py::Str(_))) => {}
            _ => return None,
        }
        let count = match shape {
            None => 1,
            Some(Py::Int(n)) => *n,
            Some(Py::Tuple(dims)) => dims.iter().try_fold(1u64, |acc, d| match d {
                Py::Int(n) => acc.checked_mul(*n),
                _ => None,
            })?,
            Some(_) => return None,
        };
        match field_type(ty, depth)? {
            Item::Objects => objects = true,
            Item::Bytes(b) => total = total.checked_add(b.checked_mul(count)?)?,
        }
    }
    Some(if objects { Item::Objects } else { Item::Bytes(total) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_descriptors_get_numpys_verdict() {
        let mappable = |d: &str| match verdict(d) {
            DescrVerdict::Mappable { itemsize } => itemsize,
            other => panic!("{d}: {other:?}"),
        };
        assert_eq!(mappable("<c16"), 16);
        assert_eq!(mappable(">c8"), 8);
        assert_eq!(mappable("|S10"), 10);
        assert_eq!(mappable("<U3"), 12);
        assert_eq!(mappable("<M8[ns]"), 8);
        assert_eq!(mappable("[('x', '<f8'), ('y', '>i2', (2, 3))]"), 8 + 12);
        assert_eq!(mappable("[('a', [('b', '<f4'), ('c', '|u1')]), ('', '|V3')]"), 5 + 3);
        assert!(
            matches!(verdict("<q8"), DescrVerdict::Unknown(why) if why.contains("not a valid dtype descriptor: '<q8'"))
        );
        assert!(matches!(verdict("|O"), DescrVerdict::Unmappable(why) if why.contains("Python objects")));
        assert!(matches!(verdict("[('a', '<f8'), ('b', '|O')]"), DescrVerdict::Unmappable(_)));
    }
}
