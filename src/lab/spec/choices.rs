//! A question's choices: words standing for a measured value, or ranges of a number, each
//! with its letter and its own feedback; checked for duplicates, overlaps and gaps.

use crate::lab::text::reflow;
use crate::lab::value::Dimension;

/// Most choices a question may offer (one letter each).
pub const MAX_CHOICES: usize = 26;

/// A half-open range `[min, max)` of a numeric quantity, in the question's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound (included); none means no lower bound.
    pub min: Option<f64>,
    /// Upper bound (excluded); none means no upper bound.
    pub max: Option<f64>,
}

impl Range {
    /// Whether `value` lies in the range.
    pub fn contains(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value < m)
    }

    fn overlaps(&self, other: &Range) -> bool {
        let lo = |r: &Range| r.min.unwrap_or(f64::NEG_INFINITY);
        let hi = |r: &Range| r.max.unwrap_or(f64::INFINITY);
        lo(self) < hi(other) && lo(other) < hi(self)
    }
}

/// One choice of a multiple-choice question.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// `a`, `b`, ...
    pub letter: char,
    /// What the student reads (and may answer with).
    pub text: String,
    /// For a numeric quantity: the values that make this choice right.
    pub range: Option<Range>,
    /// For a word or yes/no quantity: the value that makes this choice right, when it is
    /// not the text itself (`{ text = "the process dies of a signal", value = "crashed" }`).
    pub value: Option<String>,
    /// Feedback for a student who picked this choice, with `{measured}` and
    /// `{machine.<field>}` / `{dataset.<field>}` filled in from the measurement.
    pub explain: Option<String>,
}

impl Choice {
    /// The value of a word or yes/no quantity that makes this choice right.
    pub fn matches(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.text)
    }
}

pub(super) fn choices(raw: &[toml::Value], dimension: Dimension) -> Result<Vec<Choice>, String> {
    if raw.len() < 2 || raw.len() > MAX_CHOICES {
        return Err(format!("give between 2 and {MAX_CHOICES} choices, not {}", raw.len()));
    }
    let mut out: Vec<Choice> = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let letter = char::from(b'a' + i as u8);
        let choice = if dimension.is_numeric() {
            range_choice(value, letter)?
        } else {
            word_choice(value, letter, dimension)?
        };
        if choice.text.is_empty() {
            return Err(format!("choice {letter} has no text"));
        }
        if out.iter().any(|c| c.text.eq_ignore_ascii_case(&choice.text)) {
            return Err(format!("choice {letter} '{}' is offered twice", choice.text));
        }
        if choice.range.is_none() {
            if let Some(other) = out.iter().find(|c| c.matches().eq_ignore_ascii_case(choice.matches())) {
                return Err(format!(
                    "choices {} and {letter} both stand for '{}': only one choice may be right",
                    other.letter,
                    choice.matches()
                ));
            }
        }
        if let Some(range) = choice.range {
            if let Some(other) = out.iter().find(|c| c.range.is_some_and(|r| r.overlaps(&range))) {
                return Err(format!(
                    "choices {} and {letter} overlap: ranges are [min, max), and only one choice may hold a value",
                    other.letter
                ));
            }
        }
        out.push(choice);
    }
    check_gaps(&out)?;
    Ok(out)
}

/// Ranges must meet: a value between two choices would be graded by no choice.
fn check_gaps(choices: &[Choice]) -> Result<(), String> {
    let mut ranged: Vec<(&Choice, Range)> = choices.iter().filter_map(|c| c.range.map(|r| (c, r))).collect();
    ranged.sort_by(|a, b| {
        a.1.min.unwrap_or(f64::NEG_INFINITY).total_cmp(&b.1.min.unwrap_or(f64::NEG_INFINITY))
    });
    for pair in ranged.windows(2) {
        let ((a, ra), (b, rb)) = (pair[0], pair[1]);
        if let (Some(hi), Some(lo)) = (ra.max, rb.min) {
            if hi < lo {
                return Err(format!(
                    "choices {} and {} leave a gap: nothing answers a value from {hi} up to {lo}; let one range end where the next begins",
                    a.letter, b.letter
                ));
            }
        }
    }
    Ok(())
}

fn word_choice(value: &toml::Value, letter: char, dimension: Dimension) -> Result<Choice, String> {
    let mut explain = None;
    let (text, matches) = match value {
        toml::Value::String(text) => (text.trim().to_owned(), None),
        toml::Value::Table(table) => {
            for key in table.keys() {
                if !["text", "value", "explain"].contains(&key.as_str()) {
                    return Err(format!(
                        "choice {letter}: unknown key '{key}'; a choice here has text, value and explain"
                    ));
                }
            }
            explain = table.get("explain").and_then(toml::Value::as_str).map(reflow);
            let text = table.get("text").and_then(toml::Value::as_str);
            let matches = table.get("value").and_then(toml::Value::as_str);
            match (text, matches) {
                (Some(t), Some(v)) => (t.trim().to_owned(), Some(v.trim().to_owned())),
                (Some(t), None) if explain.is_some() => (t.trim().to_owned(), None),
                _ => {
                    return Err(format!(
                        "choice {letter} must be a string, or a table {{ text = \"...\", value = \"...\" }} whose value is what the quantity measures"
                    ));
                }
            }
        }
        _ => {
            return Err(format!(
                "choice {letter} must be a string or {{ text = ..., value = ... }}: the quantity is {}",
                dimension.name()
            ));
        }
    };
    let choice = Choice { letter, text, range: None, value: matches, explain };
    if dimension == Dimension::Bool && crate::lab::text::bool_word(choice.matches()).is_none() {
        return Err(format!(
            "choice {letter} '{}': the quantity is yes or no; its value must be \"yes\" or \"no\"",
            choice.matches()
        ));
    }
    Ok(choice)
}

fn range_choice(value: &toml::Value, letter: char) -> Result<Choice, String> {
    let bad = || {
        format!(
            "choice {letter} must be a table {{ text = \"...\", min = ..., max = ... }}: the quantity is a number, and each choice holds a range of it"
        )
    };
    let table = value.as_table().ok_or_else(bad)?;
    for key in table.keys() {
        if !["text", "min", "max", "explain"].contains(&key.as_str()) {
            return Err(format!(
                "choice {letter}: unknown key '{key}'; a choice has text, min, max and explain"
            ));
        }
    }
    let text = table.get("text").and_then(toml::Value::as_str).ok_or_else(bad)?;
    let bound = |key: &str| -> Result<Option<f64>, String> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(_) => Err(format!("choice {letter}: {key} must be a finite number")),
        }
    };
    let range = Range { min: bound("min")?, max: bound("max")? };
    if range.min.is_none() && range.max.is_none() {
        return Err(format!("choice {letter} has neither min nor max: give its range"));
    }
    if let (Some(lo), Some(hi)) = (range.min, range.max) {
        if lo >= hi {
            return Err(format!("choice {letter}: min {lo} is not below max {hi}"));
        }
    }
    let explain = table.get("explain").and_then(toml::Value::as_str).map(reflow);
    Ok(Choice { letter, text: text.trim().to_owned(), range: Some(range), value: None, explain })
}
