//! What a question's explanation argues for: `explains = "b"` (a choice, by letter or text)
//! or `explains = { min = 90, max = 110 }` (a range of a number, in the question's unit).
//! The explanation is written for one outcome; `lab check` measures the lab at every shape
//! it supports and fails when the measured right answer is not that outcome, so that a
//! student is never graded right by a measurement the explanation then contradicts.

use super::choices::{Choice, Range};

/// The answer a question's explanation argues for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Explains {
    /// A choice, by its letter.
    Choice(char),
    /// A range of the number, `[min, max)` in the question's unit.
    Range(Range),
}

impl Explains {
    /// Whether a measured right answer agrees: the choice picked (by letter), or the value
    /// measured (in the question's unit).
    pub fn agrees(&self, choice: Option<char>, value: Option<f64>) -> bool {
        match self {
            Explains::Choice(letter) => choice == Some(*letter),
            Explains::Range(range) => value.is_some_and(|v| range.contains(v)),
        }
    }

    /// As written in the spec, for an answer key.
    pub fn show(&self) -> String {
        match self {
            Explains::Choice(letter) => format!("{letter})"),
            Explains::Range(r) => {
                let bound = |b: Option<f64>| b.map_or_else(String::new, crate::lab::text::format_number);
                format!("[{}, {})", bound(r.min), bound(r.max))
            }
        }
    }
}

/// Checks `explains` against the question: a choice's letter or text for a question with
/// `choices`, a range for a number (`choices` none).
pub(super) fn explains(raw: &toml::Value, choices: Option<&[Choice]>) -> Result<Explains, String> {
    match (choices, raw) {
        (Some(choices), toml::Value::String(s)) => find(choices, s.trim())
            .map(|c| Explains::Choice(c.letter))
            .ok_or_else(|| {
                let letters: String = choices.iter().map(|c| c.letter).collect();
                format!("explains = \"{s}\" is not one of the choices: give the letter ({letters}) or text of the choice the explanation argues for")
            }),
        (None, toml::Value::Table(table)) => {
            for key in table.keys() {
                if !["min", "max"].contains(&key.as_str()) {
                    return Err(format!("explains: unknown key '{key}'; give min and/or max"));
                }
            }
            let bound = |key: &str| -> Result<Option<f64>, String> {
                match table.get(key) {
                    None => Ok(None),
                    Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
                    Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
                    Some(_) => Err(format!("explains: {key} must be a finite number")),
                }
            };
            let range = Range { min: bound("min")?, max: bound("max")? };
            match (range.min, range.max) {
                (None, None) => Err("explains has neither min nor max: give the range the explanation argues for".to_owned()),
                (Some(lo), Some(hi)) if lo >= hi => Err(format!("explains: min {lo} is not below max {hi}")),
                _ => Ok(Explains::Range(range)),
            }
        }
        (Some(_), _) => {
            Err("explains must name a choice, by its letter or text: explains = \"b\"".to_owned())
        }
        (None, _) => Err(
            "explains must be the range of the number the explanation argues for: explains = { min = 90, max = 110 }"
                .to_owned(),
        ),
    }
}

fn find<'a>(choices: &'a [Choice], said: &str) -> Option<&'a Choice> {
    let mut chars = said.chars();
    let letter = match (chars.next(), chars.next()) {
        (Some(l), None) => Some(l.to_ascii_lowercase()),
        _ => None,
    };
    choices.iter().find(|c| Some(c.letter) == letter || c.text.eq_ignore_ascii_case(said))
}
