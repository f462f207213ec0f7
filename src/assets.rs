//! The files mmap-lab carries inside its binary: the tutorial's specs, the experiments
//! beyond it, the labs with their handouts and specs, and the NumPy script (everything in
//! the project's `experiments/` folder when it was built).
//!
//! They are addressed by paths under [`BUILT_IN`] (`<built-in>/experiments/01_npy_load_mmap.toml`),
//! so the loaders take a path either way: a folder on disk (`--experiments DIR`) or the
//! built-in one. A binary therefore runs the same experiments from any folder, and a binary
//! built in one checkout never reads another checkout's files by accident.

use std::io;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

/// The project's `experiments/` folder, as it was when this binary was built.
static EXPERIMENTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/experiments");

/// The first component of every built-in path.
pub const BUILT_IN: &str = "<built-in>";

/// The built-in `experiments/` folder: the default of every `--experiments`.
pub fn experiments_dir() -> PathBuf {
    Path::new(BUILT_IN).join("experiments")
}

/// The built-in labs folder (`experiments/labs`): the default of `lab --labs`.
pub fn labs_dir() -> PathBuf {
    experiments_dir().join("labs")
}

/// The built-in specs of `larger-than-memory`.
pub fn larger_than_memory_dir() -> PathBuf {
    experiments_dir().join("larger_than_memory")
}

/// Whether `path` names a built-in file or folder (it starts with [`BUILT_IN`]).
pub fn is_built_in(path: &Path) -> bool {
    path.starts_with(BUILT_IN)
}

/// `path` inside the embedded folder, or `None` when it is not a built-in path.
fn inside(path: &Path) -> Option<&Path> {
    path.strip_prefix(Path::new(BUILT_IN).join("experiments")).ok()
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} is not among the files built into mmap-lab", path.display()),
    )
}

/// Reads a file, built in or on disk.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let Some(rel) = inside(path) else { return std::fs::read_to_string(path) };
    let file = EXPERIMENTS.get_file(rel).ok_or_else(|| not_found(path))?;
    file.contents_utf8()
        .map(str::to_owned)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{}: not UTF-8", path.display())))
}

/// Reads a text input, built in or on disk: a file on disk goes through
/// [`crate::fsio::read_input_text`] (which refuses pipes and devices and names the fix).
pub fn read_input_text(path: &Path, what: &str, fix: &str) -> anyhow::Result<String> {
    if inside(path).is_none() {
        return crate::fsio::read_input_text(path, what, fix);
    }
    read_to_string(path)
        .map_err(|e| crate::error::input(format!("{}: cannot read {what}: {e}; {fix}", path.display())))
}

/// Whether `path` is a folder, built in or on disk.
pub fn is_dir(path: &Path) -> bool {
    match inside(path) {
        Some(rel) if rel.as_os_str().is_empty() => true,
        Some(rel) => EXPERIMENTS.get_dir(rel).is_some(),
        None => path.is_dir(),
    }
}

/// Whether `path` is a file, built in or on disk.
pub fn is_file(path: &Path) -> bool {
    match inside(path) {
        Some(rel) => EXPERIMENTS.get_file(rel).is_some(),
        None => path.is_file(),
    }
}

/// The files directly in `dir` whose names end in `.extension`, sorted by name.
pub fn files_in(dir: &Path, extension: &str) -> io::Result<Vec<PathBuf>> {
    let with_extension = |p: &Path| p.extension().is_some_and(|x| x == extension);
    let mut paths: Vec<PathBuf> = match inside(dir) {
        Some(rel) => {
            let folder =
                if rel.as_os_str().is_empty() { Some(&EXPERIMENTS) } else { EXPERIMENTS.get_dir(rel) };
            let folder = folder.ok_or_else(|| not_found(dir))?;
            folder
                .files()
                .filter(|f| with_extension(f.path()))
                .filter_map(|f| f.path().file_name().map(|name| dir.join(name)))
                .collect()
        }
        None => std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && with_extension(p))
            .collect(),
    };
    paths.sort();
    Ok(paths)
}

/// How a run names its experiments folder: "built into mmap-lab 0.1.0" or the folder's
/// absolute path.
pub fn describe(dir: &Path) -> String {
    if is_built_in(dir) {
        format!("built into mmap-lab {} ({})", env!("CARGO_PKG_VERSION"), dir.display())
    } else {
        std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_folder_holds_every_spec_of_the_project_folder() {
        let on_disk = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        for sub in ["", "labs", "labs/specs", "larger_than_memory"] {
            let names = |dir: &Path| -> Vec<String> {
                files_in(dir, "toml")
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                    .iter()
                    .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned())
                    .collect()
            };
            let built_in = names(&experiments_dir().join(sub));
            assert!(!built_in.is_empty(), "no specs built in under '{sub}'");
            assert_eq!(built_in, names(&on_disk.join(sub)), "under '{sub}'");
        }
        let spec = experiments_dir().join("01_npy_load_mmap.toml");
        assert!(is_file(&spec) && !is_dir(&spec) && is_dir(&labs_dir()));
        let text = read_to_string(&spec).unwrap_or_default();
        assert_eq!(text, std::fs::read_to_string(on_disk.join("01_npy_load_mmap.toml")).unwrap_or_default());
    }

    #[test]
    fn a_file_that_is_not_built_in_is_not_found_and_says_so() {
        let missing = experiments_dir().join("99_nothing.toml");
        let e = read_to_string(&missing).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("<built-in>/experiments/99_nothing.toml"), "{e}");
        assert!(files_in(&experiments_dir().join("nowhere"), "toml").is_err());
        assert!(!is_file(&missing) && !is_built_in(Path::new("experiments")));
    }
}
