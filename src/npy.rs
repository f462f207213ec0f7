//! The .npy format: the header NumPy writes in front of the data, byte for byte.
//!
//! A .npy file is `\x93NUMPY`, two version bytes, the header length (2 bytes in version
//! 1.0, 4 in 2.0 and 3.0), then a Python dict literal padded with spaces to a multiple of
//! 64 bytes and ended by `\n`, then the data. For the tutorial's array the data starts at
//! byte 128: the 128 bytes that `np.memmap` without `offset` reads as data.
//!
//! Writing follows NumPy's `format._write_array_header` exactly, so a file mmap-lab writes
//! is byte-identical to `np.save`'s. Reading parses the dict with a small literal parser
//! that refuses, with a reason, anything it does not understand.

use std::fmt::Write as _;

use crate::dtype::Dtype;
use crate::shape::Shape;
use crate::units::Bytes;

mod literal;

use self::literal::Literal;
pub(crate) use self::literal::{Py, parse_literal};

/// The six bytes every .npy file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy pads headers so that the data starts on a multiple of this.
pub const ARRAY_ALIGN: usize = 64;
/// NumPy leaves room in the header for the growing axis to reach this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Largest header mmap-lab will read (NumPy's own default limit is 10,000 bytes).
pub const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Deepest nesting the header parser follows (a defence against hostile files).
const MAX_DEPTH: usize = 16;

/// Why bytes are not a .npy header mmap-lab can read. Paths are added by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    /// Fewer bytes than the fixed part of a header.
    #[error("the file is {len} bytes long, too short for a .npy header (at least 10 bytes)")]
    TooShort {
        /// Bytes available.
        len: u64,
    },
    /// The first six bytes are not `\x93NUMPY`.
    #[error(
        "wrong magic: a .npy file starts with \\x93NUMPY (147 78 85 77 80 89), this one starts with {found}; it is not a .npy file (for raw bytes, give --dtype and --shape)"
    )]
    BadMagic {
        /// The bytes found, as decimal numbers.
        found: String,
    },
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("unsupported .npy format version {major}.{minor} (NumPy writes 1.0, 2.0 and 3.0)")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The header length field points past the end of the file.
    #[error(
        "the header length field says {header_len} bytes, but only {available} bytes follow it: the file is truncated or not a .npy file"
    )]
    HeaderBeyondFile {
        /// Header length from the file.
        header_len: u64,
        /// Bytes actually after the length field.
        available: u64,
    },
    /// A header larger than mmap-lab will read.
    #[error("the header length field says {0} bytes, more than the {MAX_HEADER_BYTES} mmap-lab reads")]
    HeaderTooLarge(u64),
    /// The header is not text in the version's encoding.
    #[error("the header is not valid {0} text")]
    NotText(&'static str),
    /// The header text is not the dict NumPy writes.
    #[error("malformed header dict at character {at}: {reason} (header: {text})")]
    Malformed {
        /// What was wrong.
        reason: String,
        /// Character position in the header text.
        at: usize,
        /// The header text, shortened.
        text: String,
    },
    /// The dict lacks a key or has one NumPy does not write.
    #[error("the header dict must have exactly the keys 'descr', 'fortran_order' and 'shape'; {0}")]
    Keys(String),
    /// A shape whose element count or byte size overflows 64 bits.
    #[error("the header's shape {0} is too large: its size in bytes does not fit in 64 bits")]
    ShapeOverflow(String),
}

/// A parsed .npy header, every field a student may want to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version, `(1, 0)` for NumPy's usual files.
    pub version: (u8, u8),
    /// Bytes of the dict text, padding and final newline included.
    pub header_len: u64,
    /// The dict text as stored (padding trimmed).
    pub dict: String,
    /// The `descr` value as written: `<f8`, or a structured description.
    pub descr: String,
    /// The element type, when mmap-lab can read it (plain numbers and bool).
    pub dtype: Option<Dtype>,
    /// Whether the data is stored column-major (Fortran order).
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Shape,
    /// Where the data starts: magic + version + length field + header.
    pub data_offset: Bytes,
}

impl NpyHeader {
    /// Bytes of data the header promises, when the dtype is known.
    pub fn data_bytes(&self) -> Option<Bytes> {
        self.shape.checked_nbytes(self.dtype?)
    }

    /// Bytes of the length field: 2 in version 1.0, 4 in 2.0 and 3.0.
    pub fn length_field_bytes(&self) -> u64 {
        if self.version.0 == 1 { 2 } else { 4 }
    }
}

/// The header NumPy's `np.save` writes for a C-order array of `shape` and `dtype`.
pub fn header_bytes(shape: &Shape, dtype: Dtype) -> Vec<u8> {
    let mut dict = String::from("{");
    let _ =
        write!(dict, "'descr': '{}', 'fortran_order': False, 'shape': {}, }}", dtype.descr(), shape.python());
    if let Some(first) = shape.0.first() {
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.to_string().len())));
    }
    let (version, length_bytes) = if dict.len() + 1 + 10 < 65536 { (1u8, 2) } else { (2u8, 4) };
    let hlen = dict.len() + 1;
    let prefix_len = MAGIC.len() + 2 + length_bytes;
    let padlen = ARRAY_ALIGN - ((prefix_len + hlen) % ARRAY_ALIGN);
    let total_hlen = hlen + padlen;
    let mut out = Vec::with_capacity(prefix_len + total_hlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(total_hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total_hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}

/// Bytes needed to know the header's length: magic, version and the length field.
pub fn prefix_len(bytes: &[u8]) -> Result<usize, NpyError> {
    if bytes.len() < 10 {
        return Err(NpyError::TooShort { len: bytes.len() as u64 });
    }
    check_magic(bytes)?;
    match (bytes[6], bytes[7]) {
        (1, 0) => Ok(10),
        (2 | 3, 0) => Ok(12),
        (major, minor) => Err(NpyError::UnsupportedVersion { major, minor }),
    }
}

fn check_magic(bytes: &[u8]) -> Result<(), NpyError> {
    if &bytes[..6] != MAGIC {
        let found: Vec<String> = bytes[..6].iter().map(u8::to_string).collect();
        return Err(NpyError::BadMagic { found: found.join(" ") });
    }
    Ok(())
}

/// Reads the header length field; `bytes` must hold at least [`prefix_len`] bytes.
pub fn declared_header_len(bytes: &[u8]) -> Result<u64, NpyError> {
    let prefix = prefix_len(bytes)?;
    if bytes.len() < prefix {
        return Err(NpyError::TooShort { len: bytes.len() as u64 });
    }
    Ok(if prefix == 10 {
        u64::from(u16::from_le_bytes([bytes[8], bytes[9]]))
    } else {
        u64::from(u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]))
    })
}

/// Parses a header from the first bytes of a file whose total length is `file_len`.
///
/// `bytes` must hold the whole header ([`prefix_len`] + [`declared_header_len`] bytes)
/// when the file is that long; shorter input is reported as a truncated file.
pub fn parse_header(bytes: &[u8], file_len: u64) -> Result<NpyHeader, NpyError> {
    if file_len < 10 || bytes.len() < 10 {
        return Err(NpyError::TooShort { len: file_len.min(bytes.len() as u64) });
    }
    let prefix = prefix_len(bytes)? as u64;
    let header_len = declared_header_len(bytes)?;
    if header_len > MAX_HEADER_BYTES {
        return Err(NpyError::HeaderTooLarge(header_len));
    }
    let available = file_len.min(bytes.len() as u64).saturating_sub(prefix);
    if header_len > available {
        return Err(NpyError::HeaderBeyondFile { header_len, available });
    }
    let raw = &bytes[prefix as usize..(prefix + header_len) as usize];
    let version = (bytes[6], bytes[7]);
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(raw) {
        // ASCII reads the same in latin-1 and UTF-8: no copy needed.
        Ok(text) if version.0 == 3 || text.is_ascii() => text.into(),
        Err(_) if version.0 == 3 => return Err(NpyError::NotText("UTF-8")),
        // latin-1: every byte is the code point of the same value.
        _ => raw.iter().map(|&b| char::from(b)).collect::<String>().into(),
    };
    let dict_text = text.trim_end_matches(['\n', ' ', '\0']).to_owned();
    let fields = match parse_fields_as_saved(&dict_text) {
        Some(fields) => fields,
        None => parse_fields(&dict_text)?,
    };
    let shape = Shape(fields.shape);
    let dtype = Dtype::parse(&fields.descr).ok();
    if shape.checked_nbytes(dtype.unwrap_or(Dtype::U1)).is_none() {
        return Err(NpyError::ShapeOverflow(shape.python()));
    }
    Ok(NpyHeader {
        version,
        header_len,
        dict: dict_text,
        descr: fields.descr,
        dtype,
        fortran_order: fields.fortran_order,
        shape,
        data_offset: prefix + header_len,
    })
}

#[derive(Debug, PartialEq, Eq)]
struct Fields {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// The dict exactly as `np.save` (and mmap-lab) writes it — `{'descr': '<f8',
/// 'fortran_order': False, 'shape': (4002, 120, 120, 3), }` — read in one scan, without
/// the general parser's allocations and code: opening an array is timed in microseconds,
/// and on its first run in a process every instruction of the parser is a cache miss.
/// Anything else, however slightly different, gives `None` and goes to [`parse_fields`],
/// which accepts or refuses it; where this accepts, the two agree (a property test).
fn parse_fields_as_saved(text: &str) -> Option<Fields> {
    let rest = text.strip_prefix("{'descr': '")?;
    let (descr, rest) = rest.split_once('\'')?;
    if descr.contains('\\') {
        return None;
    }
    let rest = rest.strip_prefix(", 'fortran_order': ")?;
    let (fortran_order, rest) = match rest.strip_prefix("False") {
        Some(rest) => (false, rest),
        None => (true, rest.strip_prefix("True")?),
    };
    let (dims, rest) = rest.strip_prefix(", 'shape': (")?.split_once(')')?;
    if rest != ", }" && rest != "}" {
        return None;
    }
    let mut shape = Vec::with_capacity(4);
    if !dims.is_empty() {
        // `(5,)` for one dimension, `(4002, 120, 120, 3)` for more.
        for (i, part) in dims.strip_suffix(',').unwrap_or(dims).split(',').enumerate() {
            let digits = if i == 0 { part } else { part.strip_prefix(' ')? };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            shape.push(digits.parse().ok()?);
        }
    }
    Some(Fields { descr: descr.to_owned(), fortran_order, shape })
}

fn parse_fields(text: &str) -> Result<Fields, NpyError> {
    let mut parser = Literal::new(text);
    let value = parser.value(0)?;
    parser.skip_ws();
    if !parser.at_end() {
        return Err(parser.error("unexpected text after the dict"));
    }
    let Py::Dict(entries) = value else {
        return Err(parser.error_at("the header is not a dict", 0));
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, value) in entries {
        let Py::Str(key) = key else {
            return Err(NpyError::Keys("found a key that is not a string".to_owned()));
        };
        match key.as_str() {
            "descr" => {
                descr = Some(match value {
                    Py::Str(s) => s,
                    other => other.repr(),
                })
            }
            "fortran_order" => match value {
                Py::Bool(b) => fortran = Some(b),
                other => {
                    return Err(NpyError::Keys(format!(
                        "'fortran_order' must be True or False, found {}",
                        other.repr()
                    )));
                }
            },
            "shape" => match value {
                Py::Tuple(items) => {
                    let mut dims = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Py::Int(n) => dims.push(
                                usize::try_from(n)
                                    .map_err(|_| NpyError::ShapeOverflow(format!("with dimension {n}")))?,
                            ),
                            other => {
                                return Err(NpyError::Keys(format!(
                                    "'shape' must be a tuple of non-negative integers, found {}",
                                    other.repr()
                                )));
                            }
                        }
                    }
                    shape = Some(dims);
                }
                other => {
                    return Err(NpyError::Keys(format!("'shape' must be a tuple, found {}", other.repr())));
                }
            },
            other => return Err(NpyError::Keys(format!("found an unexpected key '{other}'"))),
        }
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(Fields { descr, fortran_order, shape }),
        (d, f, s) => {
            let missing: Vec<&str> =
                [("'descr'", d.is_none()), ("'fortran_order'", f.is_none()), ("'shape'", s.is_none())]
                    .into_iter()
                    .filter_map(|(name, gone)| gone.then_some(name))
                    .collect();
            Err(NpyError::Keys(format!("missing {}", missing.join(", "))))
        }
    }
}

#[cfg(test)]
mod tests;
