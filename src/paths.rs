//! Paths as people read them: absolute on the terminal, relative in a committed report.

use std::path::Path;

/// A path as the terminal shows it: absolute, so a user sees where files go.
pub fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string()
}

/// A path as a committed report may show it: relative to the current folder when inside
/// it (`data`, `.venv/bin/python`), else as given.
pub fn portable(path: &Path) -> String {
    let shown = std::env::current_dir().ok().and_then(|cwd| {
        std::path::absolute(path).ok().and_then(|p| p.strip_prefix(&cwd).ok().map(Path::to_owned))
    });
    match shown {
        Some(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
        Some(rel) => rel.display().to_string(),
        None => path.display().to_string(),
    }
}

/// The command as typed, with the program named `mmap-lab` rather than by the path it was
/// started from (a report should not name this machine's folders).
pub fn command_line() -> String {
    std::iter::once("mmap-lab".to_owned())
        .chain(std::env::args().skip(1))
        .map(|a| if a.contains(char::is_whitespace) { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Names the mmap-lab executable that child processes (steps, workers, the formats writer)
/// are started from, for programs that run the suite as a library (tests among them), whose
/// own executable is not mmap-lab.
pub const EXE_ENV: &str = "MMAP_LAB_EXE";

/// The mmap-lab executable children are started from: `$MMAP_LAB_EXE` when set, else this
/// program's own.
pub fn own_exe() -> std::io::Result<std::path::PathBuf> {
    match std::env::var_os(EXE_ENV) {
        Some(exe) if !exe.is_empty() => Ok(exe.into()),
        _ => std::env::current_exe(),
    }
}
