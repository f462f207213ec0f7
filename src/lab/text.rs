//! Text helpers of the labs, a leaf every other lab module may use: wrapping, reflowing
//! TOML text, yes/no words and numbers as a student reads them.

/// A number as a student reads it: whole numbers grouped (`1,383,091,200`), others with a
/// precision that suits their size (`131.84`, `0.0289`, `0.000029`).
pub fn format_number(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    if n.fract() == 0.0 && n.abs() < 1e18 {
        let grouped = crate::units::grouped(n.abs() as u64);
        return if n < 0.0 { format!("-{grouped}") } else { grouped };
    }
    let a = n.abs();
    if a >= 1000.0 {
        format_number(n.round())
    } else if a >= 100.0 {
        format!("{n:.1}")
    } else if a >= 1.0 {
        format!("{n:.2}")
    } else {
        // Three significant digits for small values.
        let digits = (-a.log10().floor()) as usize + 2;
        format!("{n:.digits$}")
    }
}

/// Wraps `text` at `width` columns: the first line after `first`, the others after `rest`;
/// blank lines keep paragraphs apart. Words are never broken or hyphenated.
pub fn wrap(text: &str, first: &str, rest: &str, width: usize) -> String {
    let paragraph = |(i, p): (usize, &str)| {
        let options = textwrap::Options::new(width)
            .initial_indent(if i == 0 { first } else { rest })
            .subsequent_indent(rest)
            .break_words(false)
            .word_separator(textwrap::WordSeparator::AsciiSpace)
            .word_splitter(textwrap::WordSplitter::NoHyphenation)
            .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
        textwrap::fill(&p.split_whitespace().collect::<Vec<_>>().join(" "), options)
    };
    text.split("\n\n").enumerate().map(paragraph).collect::<Vec<_>>().join("\n\n")
}

/// `yes`/`true` -> true, `no`/`false` -> false.
pub fn bool_word(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Text as written in TOML, its line breaks only there for the source's sake: lines joined
/// with single spaces, blank lines kept as paragraph breaks. Output wraps it again.
pub fn reflow(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The candidate closest to `name` by edit distance, if close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let best = candidates.iter().map(|c| (distance(name, c), *c)).min_by_key(|(d, _)| *d)?;
    (best.0 <= (name.chars().count() / 3).max(2)).then_some(best.1)
}

/// Levenshtein distance between `a` and `b`, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_word() {
        assert_eq!(
            closest("minor_fault_access", &["minor_faults_access", "major_faults_access"]),
            Some("minor_faults_access")
        );
        assert_eq!(closest("xyz", &["minor_faults_access"]), None);
    }

    /// The hand-written wrapping `wrap` replaced, kept to show the output did not change.
    fn wrap_by_hand(text: &str, first: &str, rest: &str, width: usize) -> String {
        let mut out: Vec<String> = Vec::new();
        for paragraph in text.split("\n\n") {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let prefix = if out.is_empty() { first } else { rest };
                let len = prefix.chars().count() + line.chars().count() + 1 + word.chars().count();
                if !line.is_empty() && len > width {
                    out.push(format!("{prefix}{line}"));
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if !line.is_empty() {
                let prefix = if out.is_empty() { first } else { rest };
                out.push(format!("{prefix}{line}"));
            }
            out.push(String::new());
        }
        out.pop();
        out.join("\n")
    }

    #[test]
    fn wrapping_is_as_it_was_by_hand_for_every_shipped_text() {
        let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/labs");
        let mut texts = vec![
            "one two three four five six seven eight nine ten".to_owned(),
            "a-hyphenated-word-longer-than-the-line and more\n\nsecond paragraph, with ±0 bytes".to_owned(),
        ];
        for entry in std::fs::read_dir(labs).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(path).unwrap();
                texts.extend(text.split("\"\"\"").skip(1).step_by(2).map(reflow));
            }
        }
        assert!(texts.len() > 40, "{}", texts.len());
        for text in &texts {
            for (first, rest, width) in [("    ", "    ", 92), ("1. **id** ", "   ", 92), ("> ", "  ", 16)] {
                assert_eq!(wrap(text, first, rest, width), wrap_by_hand(text, first, rest, width), "{text}");
            }
        }
    }
}
