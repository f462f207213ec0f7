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

/// Parses one Python literal (a structured dtype's description, for example).
pub(crate) fn parse_literal(text: &str) -> Result<Py, NpyError> {
    let mut parser = Literal { chars: text.char_indices().collect(), pos: 0, text };
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos < parser.chars.len() {
        return Err(parser.error("unexpected text after the value"));
    }
    Ok(value)
}

fn parse_fields(text: &str) -> Result<Fields, NpyError> {
    let mut parser = Literal { chars: text.char_indices().collect(), pos: 0, text };
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos < parser.chars.len() {
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

/// A Python literal, as far as .npy headers use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Py {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    Tuple(Vec<Py>),
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Py {
    fn repr(&self) -> String {
        let join = |items: &[Py]| items.iter().map(Py::repr).collect::<Vec<_>>().join(", ");
        match self {
            Py::Str(s) => format!("'{s}'"),
            Py::Int(n) => n.to_string(),
            Py::Bool(true) => "True".to_owned(),
            Py::Bool(false) => "False".to_owned(),
            Py::None => "None".to_owned(),
            Py::Tuple(items) if items.len() == 1 => format!("({},)", items[0].repr()),
            Py::Tuple(items) => format!("({})", join(items)),
            Py::List(items) => format!("[{}]", join(items)),
            Py::Dict(entries) => {
                let parts: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{}: {}", k.repr(), v.repr())).collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

struct Literal<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    text: &'a str,
}

impl Literal<'_> {
    fn error(&self, reason: &str) -> NpyError {
        self.error_at(reason, self.pos)
    }

    fn error_at(&self, reason: &str, at: usize) -> NpyError {
        let shown: String = self.text.chars().take(120).collect();
        NpyError::Malformed { reason: reason.to_owned(), at, text: shown }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, want: char) -> Result<(), NpyError> {
        self.skip_ws();
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{want}'")))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Py, NpyError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            Some('{') => self.dict(depth),
            Some('(') => self.sequence('(', ')', depth).map(|(items, _)| Py::Tuple(items)),
            Some('[') => self.sequence('[', ']', depth).map(|(items, _)| Py::List(items)),
            Some(q @ ('\'' | '"')) => self.string(q),
            Some(c) if c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            Some(c) => Err(self.error(&format!("unexpected character '{c}'"))),
            None => Err(self.error("the header ends too early")),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Py, NpyError> {
        self.expect('{')?;
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Py::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            self.expect(':')?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected ',' or '}' in the dict")),
            }
        }
    }

    fn sequence(&mut self, open: char, close: char, depth: usize) -> Result<(Vec<Py>, bool), NpyError> {
        self.expect(open)?;
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, trailing_comma));
            }
            items.push(self.value(depth + 1)?);
            trailing_comma = false;
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    trailing_comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(self.error(&format!("expected ',' or '{close}'"))),
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<Py, NpyError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at("unterminated string", start)),
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => out.push(c),
                        None => return Err(self.error_at("unterminated string", start)),
                    }
                    self.pos += 1;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(Py::Str(out));
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> Result<Py, NpyError> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d)))
                .ok_or_else(|| self.error_at("integer too large", start))?;
            self.pos += 1;
        }
        // Python 2 wrote long integers as `10L`.
        if self.peek() == Some('L') {
            self.pos += 1;
        }
        Ok(Py::Int(value))
    }

    fn word(&mut self) -> Result<Py, NpyError> {
        let start = self.pos;
        let mut word = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
            word.push(c);
            self.pos += 1;
        }
        match word.as_str() {
            "True" => Ok(Py::Bool(true)),
            "False" => Ok(Py::Bool(false)),
            "None" => Ok(Py::None),
            _ => Err(self.error_at(&format!("unknown name '{word}'"), start)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Headers as np.save writes them: the scan reads them, and the general parser
        /// reads the same.
        #[test]
        fn saved_dicts_read_the_same_both_ways(
            descr in "[<>|=]?[a-zA-Z][0-9]{0,3}",
            fortran_order: bool,
            shape in prop::collection::vec(0usize..1 << 40, 0..6),
        ) {
            let dims = match shape.as_slice() {
                [one] => format!("{one},"),
                more => more.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
            };
            let py_bool = if fortran_order { "True" } else { "False" };
            let text = format!("{{'descr': '{descr}', 'fortran_order': {py_bool}, 'shape': ({dims}), }}");
            let want = Fields { descr, fortran_order, shape };
            prop_assert_eq!(parse_fields_as_saved(&text), Some(want));
            prop_assert_eq!(parse_fields(&text).ok(), parse_fields_as_saved(&text));
        }

        /// Anything the scan accepts, the general parser accepts with the same fields.
        #[test]
        fn the_scan_never_accepts_what_the_parser_reads_otherwise(
            text in "\\{'descr': '[<f8\\\\' ]{0,5}', 'fortran_order': (True|False|Tru), 'shape': \\([0-9, L]{0,12}\\)(, \\}|\\}| \\}|,\\})"
        ) {
            if let Some(fields) = parse_fields_as_saved(&text) {
                prop_assert_eq!(parse_fields(&text).ok(), Some(fields), "{}", text);
            }
        }
    }

    #[test]
    fn the_scan_leaves_anything_unusual_to_the_parser() {
        let dict = |shape: &str| format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        assert_eq!(parse_fields_as_saved(&dict("(3, 4)")).map(|f| f.shape), Some(vec![3, 4]));
        assert_eq!(parse_fields_as_saved(&dict("(7,)")).map(|f| f.shape), Some(vec![7]));
        assert_eq!(parse_fields_as_saved(&dict("()")).map(|f| f.shape), Some(vec![]));
        for odd in
            ["(,)", "(1,,)", "(1 ,2)", "(1,  2)", "(2L,)", "( 1,)", "(-1,)", "(99999999999999999999999,)"]
        {
            assert_eq!(parse_fields_as_saved(&dict(odd)), None, "{odd}");
        }
        for odd in [
            "{\"descr\": '<f8', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f\\8', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
            "{'fortran_order': False, 'descr': '<f8', 'shape': (1,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,),  }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1, }",
        ] {
            assert_eq!(parse_fields_as_saved(odd), None, "{odd}");
        }
    }

    #[test]
    fn tutorial_header_is_128_bytes_like_numpy() {
        let header = header_bytes(&Shape::tutorial(), Dtype::F8);
        assert_eq!(header.len(), 128);
        assert_eq!(&header[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(header[127], b'\n');
        let text = std::str::from_utf8(&header[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (4002, 120, 120, 3), }"));
    }

    #[test]
    fn written_headers_parse_back() {
        for (shape, dtype) in
            [(Shape::tutorial(), Dtype::F8), (Shape(vec![7]), Dtype::U1), (Shape(vec![3, 5]), Dtype::F4)]
        {
            let bytes = header_bytes(&shape, dtype);
            assert_eq!(bytes.len() % ARRAY_ALIGN, 0);
            let header = parse_header(&bytes, bytes.len() as u64).unwrap();
            assert_eq!(header.shape, shape);
            assert_eq!(header.dtype, Some(dtype));
            assert!(!header.fortran_order);
            assert_eq!(header.data_offset, bytes.len() as u64);
            assert_eq!(header.version, (1, 0));
        }
    }

    fn with_dict(dict: &str) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes
    }

    #[test]
    fn parses_numpy_variants() {
        let b = with_dict("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }\n");
        let h = parse_header(&b, b.len() as u64).unwrap();
        assert!(h.fortran_order);
        assert_eq!(h.descr, ">f8");
        let b = with_dict("{'descr': '<i2', 'fortran_order': False, 'shape': (0,), }\n");
        assert_eq!(parse_header(&b, b.len() as u64).unwrap().shape, Shape(vec![0]));
        let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n");
        assert_eq!(parse_header(&b, b.len() as u64).unwrap().shape, Shape(vec![]));
        let b = with_dict("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2L,), }\n");
        let h = parse_header(&b, b.len() as u64).unwrap();
        assert_eq!(h.dtype, None);
        assert_eq!(h.descr, "[('a', '<f8')]");
    }

    #[test]
    fn refuses_broken_headers_with_reasons() {
        assert!(matches!(parse_header(b"\x93NUM", 5), Err(NpyError::TooShort { .. })));
        assert!(matches!(parse_header(b"PK\x03\x04xxxxxxxx", 12), Err(NpyError::BadMagic { .. })));
        let mut b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n");
        b[6] = 9;
        assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::UnsupportedVersion { .. })));
        let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n");
        assert!(matches!(parse_header(&b[..30], 30), Err(NpyError::HeaderBeyondFile { .. })));
        let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,) \n");
        assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::Malformed { .. })));
        let b = with_dict("{'descr': '<f8', 'shape': (2,), }\n");
        assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::Keys(_))));
        let b = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n");
        assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::ShapeOverflow(_))));
        let b =
            with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n");
        assert!(matches!(parse_header(&b, b.len() as u64), Err(NpyError::Malformed { .. })));
    }
}
