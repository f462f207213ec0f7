//! A student's answers: a TOML file written from a template (`mmap-lab lab init N`), or typed
//! in at a terminal before anything is measured.
//!
//! ```toml
//! lab = "npy_header"
//!
//! [answers]
//! header_bytes = 128       # a number question: a TOML number
//! dtype = "uint8"          # a choice question: the choice's text, or its letter ("b")
//! ndim = ""                # "" is not answered yet
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::spec::{LabSpec, Question, QuestionKind};
use super::text::wrap;
use crate::error::input;

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// A number, in the question's unit.
    Number(f64),
    /// The index of a choice.
    Choice(usize),
}

/// A student's answers, by question id (a question without an entry is not answered), and
/// the student's id from the file's `student = "..."`, if given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers(pub BTreeMap<String, Answer>, pub Option<String>);

/// What a question expects, in words: `a number, in bytes`, `a letter (a-d) or a choice's text`.
pub fn expects(q: &Question) -> String {
    match &q.kind {
        QuestionKind::Number { .. } if q.unit.label.is_empty() => "a number".to_owned(),
        QuestionKind::Number { .. } if q.unit.label == "%" => "a number, in percent".to_owned(),
        QuestionKind::Number { .. } => format!("a number, in {}", q.unit.label),
        QuestionKind::Choice { choices } => {
            let last = choices.last().map_or('a', |c| c.letter);
            format!("a letter (a-{last}) or a choice's text")
        }
    }
}

/// Reads a typed or written answer to `q`; `Ok(None)` for an empty one.
pub fn parse_text(q: &Question, text: &str) -> Result<Option<Answer>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match &q.kind {
        QuestionKind::Number { .. } => {
            // "1,389,312,000" and "128 bytes" (the question's own unit) read as numbers.
            let without_unit = match q.unit.label.as_str() {
                "" => t,
                label => t.strip_suffix(label).unwrap_or(t),
            };
            without_unit
                .trim()
                .replace(['_', ','], "")
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| Some(Answer::Number(n)))
                .ok_or_else(|| format!("'{t}' is not a number; give {}", expects(q)))
        }
        QuestionKind::Choice { choices } => {
            let by_text = choices.iter().position(|c| c.text.eq_ignore_ascii_case(t));
            let by_letter = || {
                let mut chars = t.chars();
                match (chars.next(), chars.next()) {
                    (Some(l), None) => choices.iter().position(|c| c.letter == l.to_ascii_lowercase()),
                    _ => None,
                }
            };
            by_text.or_else(by_letter).map(|i| Some(Answer::Choice(i))).ok_or_else(|| {
                let listed: Vec<String> =
                    choices.iter().map(|c| format!("{}) {}", c.letter, c.text)).collect();
                format!("'{t}' is not one of the choices: {}", listed.join(", "))
            })
        }
    }
}

/// Reads and checks an answers file for `lab`: unknown question ids, answers of the wrong
/// type and choices that do not exist are errors naming the file and the question.
pub fn read(path: &Path, lab: &LabSpec) -> Result<Answers> {
    let fix = format!("write one with `mmap-lab lab init {}`", lab.number);
    let text = crate::fsio::read_input_text(path, "the answers", &fix)?;
    parse(&text, path, lab)
}

/// [`read`] on text already read. Every problem in the file is reported at once, one per
/// line, each naming the file and the question.
pub fn parse(text: &str, path: &Path, lab: &LabSpec) -> Result<Answers> {
    let at = |why: String| input(format!("{}: {why}", path.display()));
    let doc: toml::Table = toml::from_str(text).map_err(|e| at(e.to_string().trim_end().to_owned()))?;
    let mut problems: Vec<String> = Vec::new();
    for key in doc.keys() {
        if !["lab", "student", "answers"].contains(&key.as_str()) {
            problems.push(format!(
                "unknown key '{key}': an answers file has `lab = \"...\"`, `student = \"...\"` and an [answers] table"
            ));
        }
    }
    match doc.get("lab") {
        None => {}
        Some(toml::Value::String(id)) if *id == lab.id => {}
        Some(other) => {
            return Err(at(format!(
                "these are answers for lab {other}, not for lab {} ({}); run the lab they belong to",
                lab.number, lab.id
            )));
        }
    }
    let student = match doc.get("student") {
        None => None,
        Some(toml::Value::String(s)) if s.trim().is_empty() => None,
        Some(toml::Value::String(s)) => Some(s.trim().to_owned()),
        Some(other) => {
            problems.push(format!("student = {other}: give the student's id in quotes, student = \"s1234\""));
            None
        }
    };
    let empty = toml::Table::new();
    let table = match doc.get("answers") {
        None => {
            problems.push("no [answers] table: start from `mmap-lab lab init` to get one".to_owned());
            &empty
        }
        Some(toml::Value::Table(t)) => t,
        Some(_) => {
            problems.push("`answers` must be a table: [answers]".to_owned());
            &empty
        }
    };
    let mut answers = Answers(BTreeMap::new(), student);
    for (key, value) in table {
        let Some(q) = lab.questions.iter().find(|q| q.id == *key) else {
            let ids: Vec<&str> = lab.questions.iter().map(|q| q.id.as_str()).collect();
            let hint = super::text::closest(key, &ids)
                .map(|c| format!(" (did you mean '{c}'?)"))
                .unwrap_or_default();
            problems.push(format!(
                "[answers] {key}: lab {} has no question '{key}'{hint}; its questions are {}",
                lab.number,
                ids.join(", ")
            ));
            continue;
        };
        let answer = match (&q.kind, value) {
            (_, toml::Value::String(s)) if s.trim().is_empty() => Ok(None),
            (QuestionKind::Number { .. }, toml::Value::Integer(n)) => Ok(Some(Answer::Number(*n as f64))),
            (QuestionKind::Number { .. }, toml::Value::Float(f)) if f.is_finite() => {
                Ok(Some(Answer::Number(*f)))
            }
            // "147" in quotes reads as the terminal reads it.
            (QuestionKind::Number { .. }, toml::Value::String(s)) => parse_text(q, s).map_err(|_| {
                format!("[answers] {key} = \"{s}\": this question takes {}, e.g. {key} = 128", expects(q))
            }),
            (QuestionKind::Number { .. }, other) => Err(format!(
                "[answers] {key} = {other}: this question takes {}, written without quotes (e.g. {key} = 128)",
                expects(q)
            )),
            (QuestionKind::Choice { .. }, toml::Value::String(s)) => {
                parse_text(q, s).map_err(|why| format!("[answers] {key}: {why}"))
            }
            (QuestionKind::Choice { .. }, other) => Err(format!(
                "[answers] {key} = {other}: this question takes {}, in quotes (e.g. {key} = \"a\")",
                expects(q)
            )),
        };
        match answer {
            Ok(Some(a)) => {
                answers.0.insert(key.clone(), a);
            }
            Ok(None) => {}
            Err(why) => problems.push(why),
        }
    }
    match problems.len() {
        0 => Ok(answers),
        1 => Err(at(problems.remove(0))),
        n => Err(at(format!("{n} problems:\n  {}", problems.join("\n  ")))),
    }
}

/// The answers as an answers file: what `lab run` saves of answers typed at a terminal.
pub fn to_toml(lab: &LabSpec, answers: &Answers) -> String {
    let mut out = format!(
        "# Answers for lab {}: {}, typed in at a terminal before measuring.\nlab = \"{}\"\n",
        lab.number, lab.title, lab.id
    );
    if let Some(student) = &answers.1 {
        out.push_str(&format!("student = {}\n", toml::Value::String(student.clone())));
    }
    out.push_str("\n[answers]\n");
    for q in &lab.questions {
        let value = match (answers.0.get(&q.id), &q.kind) {
            (None, _) => "\"\"".to_owned(),
            (Some(Answer::Number(n)), _) => format!("{n:?}"),
            (Some(Answer::Choice(i)), QuestionKind::Choice { choices }) => {
                format!("\"{}\"", choices.get(*i).map_or('?', |c| c.letter))
            }
            (Some(Answer::Choice(_)), _) => "\"\"".to_owned(),
        };
        out.push_str(&format!("{} = {value}\n", q.id));
    }
    out
}

/// Each answer as written, by question id: a lab record's predictions.
pub fn as_written(lab: &LabSpec, answers: &Answers) -> BTreeMap<String, String> {
    lab.questions
        .iter()
        .filter_map(|q| {
            let a = answers.0.get(&q.id)?;
            Some((
                q.id.clone(),
                match (a, &q.kind) {
                    (Answer::Number(n), _) => super::text::format_number(*n),
                    (Answer::Choice(i), QuestionKind::Choice { choices }) => {
                        choices.get(*i).map(|c| c.letter.to_string()).unwrap_or_default()
                    }
                    (Answer::Choice(i), _) => i.to_string(),
                },
            ))
        })
        .collect()
}

/// The name of a lab's answers template: `lab01-answers.toml`.
pub fn template_name(lab: &LabSpec) -> String {
    format!("{}-answers.toml", lab.stem())
}

fn comment(text: &str, indent: &str) -> String {
    text.lines().map(|l| format!("# {indent}{l}").trim_end().to_owned()).collect::<Vec<_>>().join("\n")
}

/// The answers template: every question, with its text and choices as comments and an
/// empty answer.
pub fn template(lab: &LabSpec) -> String {
    let name = template_name(lab);
    let mut out = format!(
        "# Answers for lab {n}: {title}\n\
         #\n\
         # Read the handout first:  mmap-lab lab show {n}\n\
         # Predict before you measure: fill in every answer below, a number (no quotes) or one\n\
         # of the choices (its letter or its text, in quotes). \"\" means not answered yet.\n\
         # Then measure and grade:  mmap-lab lab run {n} --answers {name}\n\
         \n\
         lab = \"{id}\"\n\
         student = \"\"   # your student id, for your instructor\n\
         \n\
         [answers]\n",
        n = lab.number,
        title = lab.title,
        id = lab.id,
    );
    for (i, q) in lab.questions.iter().enumerate() {
        out.push('\n');
        out.push_str(&comment(&wrap(&q.text, &format!("{}. ", i + 1), "   ", 88), ""));
        out.push('\n');
        match &q.kind {
            QuestionKind::Number { .. } => {
                out.push_str(&comment(&format!("Answer with {}.", expects(q)), "   "));
            }
            QuestionKind::Choice { choices } => {
                for c in choices {
                    out.push_str(&comment(&format!("{}) {}", c.letter, c.text), "   "));
                    out.push('\n');
                }
                out.push_str(&comment(&format!("Answer with {}.", expects(q)), "   "));
            }
        }
        out.push('\n');
        out.push_str(&format!("{} = \"\"\n", q.id));
    }
    out
}

/// Writes the template into `dir` and returns its path; never replaces an existing file.
pub fn write_template(lab: &LabSpec, dir: &Path) -> Result<PathBuf> {
    let name = template_name(lab);
    let path = if dir == Path::new(".") { PathBuf::from(name) } else { dir.join(name) };
    if path.exists() {
        return Err(input(format!(
            "{}: already exists; it may hold your answers, so it is left alone. Use it, or move it away to start afresh",
            path.display()
        )));
    }
    let mut staging = tempfile::Builder::new()
        .prefix(".lab-answers-")
        .tempfile_in(dir)
        .map_err(|e| input(format!("{}: cannot write here: {e}", dir.display())))?;
    staging.write_all(template(lab).as_bytes()).context("writing the answers template")?;
    staging.persist_noclobber(&path).map_err(|e| {
        input(format!("{}: cannot create it: {}; it may have appeared meanwhile", path.display(), e.error))
    })?;
    Ok(path)
}

/// Asks every question on `output` and reads the answers from `input`, one line each: an
/// empty line skips a question, a bad answer is asked again, the end of input stops.
pub fn ask(lab: &LabSpec, input: &mut impl BufRead, output: &mut impl Write) -> Result<Answers> {
    writeln!(
        output,
        "Lab {}: {}\nPredict first: answer each question before anything is measured (Enter skips one).\n",
        lab.number, lab.title
    )?;
    let mut answers = Answers::default();
    for (i, q) in lab.questions.iter().enumerate() {
        let head = format!("{}/{} [{}] ", i + 1, lab.questions.len(), q.id);
        writeln!(output, "{}", wrap(&q.text, &head, "    ", 92))?;
        if let QuestionKind::Choice { choices } = &q.kind {
            for c in choices {
                writeln!(output, "    {}) {}", c.letter, c.text)?;
            }
        }
        loop {
            write!(output, "  your answer ({}): ", expects(q))?;
            output.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                writeln!(output)?;
                return Ok(answers);
            }
            match parse_text(q, &line) {
                Ok(Some(a)) => {
                    answers.0.insert(q.id.clone(), a);
                    break;
                }
                Ok(None) => break,
                Err(why) => writeln!(output, "  {why}")?,
            }
        }
        writeln!(output)?;
    }
    Ok(answers)
}
