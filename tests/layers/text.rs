//! Reading Rust source as far as the guard needs: the code without comments, literals and
//! test items, and the module paths written after `crate::` or `super::`.

/// The text without comments, string and char literals (so `"crate::x"` is no import), and
/// without test code (the item after each `#[cfg(test)]`); line breaks stay where they were.
pub fn code_of(text: &str) -> String {
    without_test_items(&without_literals(text))
}

/// `code` with each item marked `#[cfg(test)]` blanked out: up to its `;`, or through its
/// braces.
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let mut depth = 0;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.extend(item[..end].chars().filter(|&c| c == '\n'));
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

fn without_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            out.extend(rest[..end].chars().filter(|&c| c == '\n'));
            i += end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let open = 2 + hashes;
            let end = rest[open..].find(&close).map_or(rest.len(), |e| open + e + close.len());
            out.extend(rest[..end].chars().filter(|&c| c == '\n'));
            i += end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.extend(text[i..j.min(b.len())].chars().filter(|&c| c == '\n'));
            i = j + 1;
        } else if b[i] == b'\'' && char_literal_len(rest) > 0 {
            i += char_literal_len(rest);
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn raw_string_start(s: &str) -> Option<usize> {
    let s = s.strip_prefix('b').unwrap_or(s);
    let after = s.strip_prefix('r')?;
    let hashes = after.bytes().take_while(|&c| c == b'#').count();
    after[hashes..].starts_with('"').then_some(hashes)
}

/// Length of a char literal at the start of `s` (`'a'`, `'\n'`, `'\''`), 0 for a lifetime.
fn char_literal_len(s: &str) -> usize {
    let mut chars = s.char_indices().skip(1);
    match chars.next() {
        Some((_, '\\')) => s[2..].find('\'').map_or(0, |e| e + 3),
        Some((_, _)) => match chars.next() {
            Some((j, '\'')) => j + 1,
            _ => 0,
        },
        None => 0,
    }
}

/// Every path that starts at `start` in `code`: `a::b::{c, d::e}` gives `[a,b,c]`, `[a,b,d,e]`.
pub fn paths_at(code: &str, start: usize) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut i = start;
    loop {
        let rest = &code[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        let word: String = trimmed.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !word.is_empty() {
            i += word.len();
            segments.push(word);
            if code[i..].trim_start().starts_with("::") {
                i += code[i..].find("::").unwrap_or(0) + 2;
                continue;
            }
            return vec![segments];
        }
        if !trimmed.starts_with('{') {
            return vec![segments];
        }
        let mut depth = 0;
        let mut item_start = i + 1;
        let mut out = Vec::new();
        for (j, c) in code[i + 1..].char_indices() {
            let at = i + 1 + j;
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 0 => {
                    if !code[item_start..at].trim().is_empty() {
                        for tail in paths_at(&code[..at], item_start) {
                            out.push(segments.iter().cloned().chain(tail).collect());
                        }
                    }
                    item_start = at + 1;
                    if c == '}' {
                        break;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        return out;
    }
}
