//! A small parser of Python literals, as far as .npy headers use them: strings, integers,
//! `True`/`False`/`None`, tuples, lists and dicts. It refuses, with a reason and a position,
//! anything else, and follows nesting only [`MAX_DEPTH`] deep.

use super::{MAX_DEPTH, NpyError};

/// Parses one Python literal (a structured dtype's description, for example).
pub(crate) fn parse_literal(text: &str) -> Result<Py, NpyError> {
    let mut parser = Literal::new(text);
    let value = parser.value(0)?;
    parser.skip_ws();
    if !parser.at_end() {
        return Err(parser.error("unexpected text after the value"));
    }
    Ok(value)
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
    pub(crate) fn repr(&self) -> String {
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

/// A parser over one literal's text.
pub(super) struct Literal<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    text: &'a str,
}

impl<'a> Literal<'a> {
    /// A parser at the start of `text`.
    pub(super) fn new(text: &'a str) -> Literal<'a> {
        Literal { chars: text.char_indices().collect(), pos: 0, text }
    }

    /// Whether all of the text was read.
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    pub(super) fn error(&self, reason: &str) -> NpyError {
        self.error_at(reason, self.pos)
    }

    pub(super) fn error_at(&self, reason: &str, at: usize) -> NpyError {
        let shown: String = self.text.chars().take(120).collect();
        NpyError::Malformed { reason: reason.to_owned(), at, text: shown }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    pub(super) fn skip_ws(&mut self) {
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

    pub(super) fn value(&mut self, depth: usize) -> Result<Py, NpyError> {
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
