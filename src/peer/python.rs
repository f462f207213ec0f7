//! Finding a Python that can `import numpy`: the one asked for with `--python`, else
//! `.venv/bin/python` in the current folder, else the `.venv` of the project folder the
//! binary was built in (when that folder still exists: `cargo install --path .` after
//! `just venv` keeps the NumPy column), else `python3` on the `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use crate::child::spawn_and_wait;

/// How long asking an interpreter for its versions may take (a first `import numpy` on a
/// cold disk can take seconds).
const VERSION_TIMEOUT: Duration = Duration::from_secs(60);

/// What the interpreter is asked to print.
const VERSION_CODE: &str = "import json, sys, numpy; print(json.dumps({'python_version': sys.version.split()[0], \
     'numpy_version': numpy.__version__, 'executable': sys.executable}))";

/// A Python interpreter that can import NumPy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Python {
    /// The interpreter, as given or found (`python3` is looked up on the `PATH`).
    #[serde(skip)]
    pub path: PathBuf,
    /// The interpreter's own idea of its path (`sys.executable`).
    pub executable: String,
    /// `3.11.7`.
    pub python_version: String,
    /// `2.4.6`.
    pub numpy_version: String,
}

impl Python {
    /// `/path/python (Python 3.11.7, NumPy 2.4.6)`.
    pub fn describe(&self) -> String {
        format!("{} (Python {}, NumPy {})", self.path.display(), self.python_version, self.numpy_version)
    }
}

/// Whether run-all runs the NumPy peer, and with which Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerChoice {
    /// Run it with this interpreter.
    Use(Python),
    /// Run without it, for the reason given (shown to the reader).
    Without(String),
}

impl Default for PeerChoice {
    fn default() -> Self {
        PeerChoice::Without("no Python was asked for".to_owned())
    }
}

/// Asks `path` for its Python and NumPy versions; `Err` says, in words, why it cannot serve.
pub fn probe(path: &Path) -> std::result::Result<Python, String> {
    let mut command = Command::new(path);
    command.args(["-c", VERSION_CODE]);
    let out = match spawn_and_wait(command, &[], VERSION_TIMEOUT) {
        Ok(out) => out,
        Err(e) => return Err(format!("cannot run it ({})", e.root_cause())),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(format!("it cannot import numpy ({})", last.trim()));
    }
    let mut python: Python = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("its answer is not the version report asked for ({e})"))?;
    python.path = path.to_owned();
    Ok(python)
}

/// The interpreters tried when none is given, in order: `.venv/bin/python` under `cwd`,
/// under the project folder this binary was built in (skipped when it is the same folder
/// or no longer has one), then `python3` on the `PATH`.
pub fn candidates(cwd: &Path) -> Vec<PathBuf> {
    let venv = |dir: &Path| dir.join(".venv").join("bin").join("python");
    let mut list = vec![venv(cwd)];
    let built_in = venv(Path::new(env!("CARGO_MANIFEST_DIR")));
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if built_in.exists() && !same(&built_in, &list[0]) {
        list.push(built_in);
    }
    list.push(PathBuf::from("python3"));
    list
}

/// The Python to run the NumPy peer with: `explicit` (an input error if it cannot import
/// numpy), else the first of `candidates` that can; none is a [`PeerChoice::Without`]
/// that says what was tried and how to get one.
pub fn find(explicit: Option<&Path>, candidates: &[PathBuf]) -> Result<PeerChoice> {
    if let Some(path) = explicit {
        return probe(path).map(PeerChoice::Use).map_err(|why| {
            crate::error::input(format!(
                "--python {}: {why}; install NumPy into it (`{} -m pip install numpy`) or give another Python",
                path.display(),
                path.display()
            ))
        });
    }
    let mut tried = Vec::new();
    for path in candidates {
        match probe(path) {
            Ok(python) => return Ok(PeerChoice::Use(python)),
            Err(why) => tried.push(format!("{}: {why}", path.display())),
        }
    }
    Ok(PeerChoice::Without(format!(
        "no Python with NumPy was found, so the NumPy column is empty (tried {}); run `just venv` or give --python PATH",
        tried.join("; ")
    )))
}

/// How a report names the Python of the NumPy column without naming this machine's
/// folders: `.venv/bin/python (Python 3.11.7, NumPy 2.4.6)` for the current folder's
/// `.venv`, "the .venv of the project mmap-lab was built from" for that one.
pub fn python_for_report(python: &Python) -> String {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = match python.path.strip_prefix(built) {
        Ok(rel) if !python.path.starts_with(std::env::current_dir().unwrap_or_default()) => {
            format!("the project's {} (the folder mmap-lab was built in)", rel.display())
        }
        _ => crate::paths::portable(&python.path),
    };
    format!("{path} (Python {}, NumPy {})", python.python_version, python.numpy_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_folder_comes_first_and_python3_last() {
        let dir = tempfile::tempdir().unwrap();
        let list = candidates(dir.path());
        assert_eq!(list[0], dir.path().join(".venv/bin/python"));
        assert_eq!(list.last(), Some(&PathBuf::from("python3")));
        let here = candidates(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert_eq!(here.len(), 2, "the build folder is not tried twice: {here:?}");
    }

    #[test]
    fn missing_interpreters_are_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-python");
        let choice = find(None, std::slice::from_ref(&missing)).unwrap();
        let PeerChoice::Without(why) = choice else { panic!("found a Python that does not exist") };
        assert!(why.contains("no-such-python"), "{why}");
        assert!(why.contains("--python"), "{why}");
    }

    #[test]
    fn an_explicit_python_that_cannot_serve_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("python");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'numpy'\" >&2\nexit 1\n",
        )
        .unwrap();
        let mut perms = std::fs::metadata(&fake).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&fake, perms).unwrap();
        let err = find(Some(&fake), &[]).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        let text = format!("{err:#}");
        assert!(text.contains("No module named 'numpy'") && text.contains("pip install numpy"), "{text}");
    }
}
