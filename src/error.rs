//! Two kinds of failure, two exit codes: bad input (2) and a run that failed (1).
//!
//! Anything the user can fix by changing a flag, a path or a file is an [`InputError`];
//! `main` finds one anywhere in an error's chain and exits with 2.

use std::path::Path;

pub mod open;

/// A mistake in the input: a flag, a path, a spec or a file. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// An [`InputError`] as an `anyhow::Error`.
pub fn input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputError(message.into()))
}

/// Exit code for an error: 2 for input mistakes, 1 for everything else.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|e| e.is::<InputError>() || e.is::<open::OpenError>()) { 2 } else { 1 }
}

/// Makes sure `dir` is a folder mmap-lab can write in, creating it and any missing
/// parents. `what` names the flag, for messages: `--data-dir`.
pub fn writable_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(input(format!(
                "{what} {}: this is a file, not a folder; give a folder (it is created if missing)",
                dir.display()
            )));
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dir).map_err(|e| {
            input(format!(
                "{what} {}: cannot create the folder: {e}; give a folder you can write in",
                dir.display()
            ))
        })?,
    }
    tempfile::tempfile_in(dir).map_err(|e| {
        input(format!(
            "{what} {}: cannot write in this folder: {e}; give a folder you can write in",
            dir.display()
        ))
    })?;
    Ok(())
}
