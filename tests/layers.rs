//! The layers of the house, guarded: every `crate::` and `super::` path in `src/` is read, and
//! the test fails on a module cycle (at any depth: siblings under one parent form no loop) or on
//! a lower layer reaching up into a higher one. The layers are the picture in `src/lib.rs`'s doc
//! comment, read from there, so the picture and the guard cannot drift apart.
//!
//! Test code (`tests.rs` files and everything after a file's `#[cfg(test)]`) may reach anywhere
//! and is not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Upward edges not yet moved (from, to): the guard fails on any other, and on an entry here that
/// no longer occurs, so the list only shrinks.
const NOT_YET_MOVED: &[(&str, &str)] = &[];

#[path = "layers/text.rs"]
mod text;

use text::{code_of, paths_at};

/// One source file: where it is and what it says.
struct Source {
    path: String,
    text: String,
}

/// A module path such as `["report", "claims"]`; the crate root is empty.
type Module = Vec<String>;

/// An import of one module by another, with the first place it is written.
#[derive(Clone)]
struct Edge {
    from: Module,
    to: Module,
    at: String,
}

fn module_of(path: &str) -> Module {
    let rel = path.strip_prefix("src/").unwrap_or(path).trim_end_matches(".rs");
    let mut parts: Module = rel.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The module edges of `sources`, lifted to siblings: `report::claims` using
/// `report::markdown::x` is the edge `report::claims -> report::markdown`; `report` using
/// `results` is `report -> results`; a module using its own parent or child is no edge.
fn edges(sources: &[Source]) -> Vec<Edge> {
    let modules: BTreeSet<Module> = sources.iter().map(|s| module_of(&s.path)).collect();
    let mut found: BTreeMap<(Module, Module), Edge> = BTreeMap::new();
    for source in sources {
        let here = module_of(&source.path);
        if here.iter().any(|p| p == "tests") {
            continue;
        }
        let code = code_of(&source.text);
        for keyword in ["crate::", "super::"] {
            for (pos, _) in code.match_indices(keyword) {
                let before = code[..pos].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let line = code[..pos].matches('\n').count() + 1;
                for mut path in paths_at(&code, pos + keyword.len()) {
                    if keyword == "super::" {
                        let mut base = here[..here.len().saturating_sub(1)].to_vec();
                        while path.first().is_some_and(|p| p == "super") {
                            path.remove(0);
                            base.pop();
                        }
                        path = base.into_iter().chain(path).collect();
                    }
                    let to = longest_module(&modules, &path);
                    let common = here.iter().zip(&to).take_while(|(a, b)| a == b).count();
                    if common == here.len() || common == to.len() {
                        continue;
                    }
                    let (from, to) = (here[..=common].to_vec(), to[..=common].to_vec());
                    let at = format!("{}:{line}", source.path);
                    found.entry((from.clone(), to.clone())).or_insert(Edge { from, to, at });
                }
            }
        }
    }
    found.into_values().collect()
}

fn longest_module(modules: &BTreeSet<Module>, path: &[String]) -> Module {
    let mut best = Vec::new();
    for k in 1..=path.len() {
        if modules.contains(&path[..k].to_vec()) {
            best = path[..k].to_vec();
        } else {
            break;
        }
    }
    best
}

/// The layers written in `src/lib.rs`: lines `//! N │ a b c` inside its picture, N from 0 up.
fn layers_of(lib: &str) -> BTreeMap<String, usize> {
    let mut layers = BTreeMap::new();
    for line in lib.lines() {
        let Some(body) = line.strip_prefix("//!") else { continue };
        let Some((number, names)) = body.split_once('│') else { continue };
        let Ok(layer) = number.trim().parse::<usize>() else { continue };
        for name in names.split_whitespace() {
            layers.insert(name.trim_matches(',').to_owned(), layer);
        }
    }
    layers
}

fn name(module: &[String]) -> String {
    if module.is_empty() { "crate".to_owned() } else { module.join("::") }
}

/// Everything wrong with the house: cycles, upward imports, modules with no layer.
fn problems(sources: &[Source], layers: &BTreeMap<String, usize>, allowed: &[(&str, &str)]) -> Vec<String> {
    let edges = edges(sources);
    let mut out = Vec::new();
    let tops: BTreeSet<String> = sources.iter().filter_map(|s| module_of(&s.path).first().cloned()).collect();
    for top in &tops {
        if !layers.contains_key(top) {
            out.push(format!("module `{top}` has no layer: add it to the picture in src/lib.rs"));
        }
    }
    let mut used = BTreeSet::new();
    for e in edges.iter().filter(|e| e.from.len() == 1) {
        let (Some(&low), Some(&high)) = (layers.get(&e.from[0]), layers.get(&e.to[0])) else { continue };
        if low < high {
            if allowed.contains(&(e.from[0].as_str(), e.to[0].as_str())) {
                used.insert((e.from[0].clone(), e.to[0].clone()));
                continue;
            }
            out.push(format!(
                "{}: `{}` (layer {low}) imports `{}` (layer {high}): a lower layer may not reach up; \
                 move what it needs down to its layer or below",
                e.at, e.from[0], e.to[0]
            ));
        }
    }
    for (from, to) in allowed {
        if !used.contains(&(from.to_string(), to.to_string())) {
            out.push(format!("`{from}` -> `{to}` is moved: delete it from NOT_YET_MOVED"));
        }
    }
    out.extend(cycles(&edges));
    out
}

/// Each cycle among sibling modules, written as the loop with the file and line of every step.
fn cycles(edges: &[Edge]) -> Vec<String> {
    let mut next: BTreeMap<&Module, Vec<&Edge>> = BTreeMap::new();
    for e in edges {
        next.entry(&e.from).or_default().push(e);
    }
    let mut out = Vec::new();
    let mut reported: BTreeSet<BTreeSet<Module>> = BTreeSet::new();
    for start in next.keys() {
        if let Some(path) = loop_from(start, &next) {
            let members: BTreeSet<Module> = path.iter().map(|e| e.from.clone()).collect();
            if reported.insert(members) {
                let steps: Vec<String> =
                    path.iter().map(|e| format!("{} -> {} ({})", name(&e.from), name(&e.to), e.at)).collect();
                out.push(format!("module cycle: {}", steps.join(", ")));
            }
        }
    }
    out
}

/// The shortest loop back to `start`, breadth first.
fn loop_from<'a>(start: &'a Module, next: &BTreeMap<&'a Module, Vec<&'a Edge>>) -> Option<Vec<&'a Edge>> {
    let mut seen: BTreeSet<&Module> = BTreeSet::new();
    let mut queue: std::collections::VecDeque<(&Module, Vec<&Edge>)> = [(start, Vec::new())].into();
    while let Some((at, path)) = queue.pop_front() {
        for e in next.get(at).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(e);
            if &e.to == start {
                return Some(longer);
            }
            if seen.insert(&e.to) {
                queue.push_back((&e.to, longer));
            }
        }
    }
    None
}

fn sources_in(dir: &Path, root: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources_in(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under the crate").to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            out.push(Source { path: rel, text });
        }
    }
}

fn src(path: &str, text: &str) -> Source {
    Source { path: path.to_owned(), text: text.to_owned() }
}

#[test]
fn the_crate_keeps_its_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    sources_in(&root.join("src"), root, &mut sources);
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let layers = layers_of(&lib);
    assert!(layers.len() > 10, "the layer picture in src/lib.rs was not found (lines `//! N │ modules`)");
    let problems = problems(&sources, &layers, NOT_YET_MOVED);
    assert!(problems.is_empty(), "the house is out of order:\n{}", problems.join("\n"));
}

const PICTURE: &str = "//! 2 │ top\n//! 1 │ mid other\n//! 0 │ base\n";

#[test]
fn a_deliberate_cycle_fails_the_guard_naming_file_and_line() {
    let files = [
        src("src/lib.rs", "pub mod top; pub mod mid; pub mod other; pub mod base;"),
        src("src/mid.rs", "use crate::base::X;\nuse crate::other::Y;\n"),
        src("src/other.rs", "// crate::mid in a comment is no import\n\nfn f() { crate::mid::g() }\n"),
        src("src/base.rs", "pub struct X;"),
        src("src/top.rs", "use crate::{mid, base::X};"),
    ];
    let problems = problems(&files, &layers_of(PICTURE), &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("module cycle:"), "{}", problems[0]);
    assert!(problems[0].contains("mid -> other (src/mid.rs:2)"), "{}", problems[0]);
    assert!(problems[0].contains("other -> mid (src/other.rs:3)"), "{}", problems[0]);
}

#[test]
fn a_lower_layer_reaching_up_fails_the_guard() {
    let files = [
        src("src/base.rs", "fn f() {}\n\nuse crate::{top::{self, Thing}};\n"),
        src("src/top/mod.rs", "pub struct Thing;"),
        src(
            "src/mid.rs",
            "#[cfg(test)]\nmod tests { use crate::top::Thing; }\n#[cfg(test)]\nuse crate::top;\n",
        ),
    ];
    let problems = problems(&files, &layers_of(PICTURE), &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("src/base.rs:3: `base` (layer 0) imports `top` (layer 2)"),
        "{}",
        problems[0]
    );
}

#[test]
fn code_after_a_test_helper_is_still_read() {
    let files = [
        src("src/top.rs", ""),
        src("src/base.rs", "#[cfg(test)]\nfn helper() { crate::top::f() }\n\nfn g() { crate::top::g() }\n"),
    ];
    let problems = problems(&files, &layers_of(PICTURE), &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("src/base.rs:4: `base`"), "{}", problems[0]);
}

#[test]
fn a_cycle_between_submodules_fails_and_parent_child_use_does_not() {
    let files = [
        src("src/top/mod.rs", "mod a; mod b; pub use a::A;"),
        src("src/top/a.rs", "use super::b::B; use super::Thing;"),
        src("src/top/b.rs", "pub fn f() { let _ = crate::top::a::A; }"),
    ];
    let problems = problems(&files, &layers_of(PICTURE), &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("top::a -> top::b (src/top/a.rs:1)"), "{}", problems[0]);
}

#[test]
fn a_module_missing_from_the_picture_and_a_stale_exception_are_named() {
    let files = [src("src/stray.rs", "use crate::base::X;"), src("src/base.rs", "")];
    let problems = problems(&files, &layers_of(PICTURE), &[("mid", "top")]);
    assert!(problems.iter().any(|p| p.contains("module `stray` has no layer")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.contains("`mid` -> `top` is moved")), "{problems:#?}");
}
