//! Paths in and out, checked once and the same way everywhere:
//!
//! - every named input is opened with [`open_input`] (or read with [`read_input`]): it
//!   opens without blocking and refuses anything but a regular file (a FIFO, a device, a
//!   socket, a folder) before a single byte is read, so a named pipe never hangs a command;
//! - every folder mmap-lab writes in is held by one writer at a time with [`FolderLock`]
//!   (an advisory `flock` on a `.mmap-lab.lock` file inside it, which records who holds
//!   it); a second writer is refused at once, naming the holder, rather than waiting;
//! - everything printed goes through [`outln!`](crate::outln) and
//!   [`errln!`](crate::errln), which stop printing quietly when the reader has gone (a
//!   closed pipe, as ripgrep does) instead of panicking, so a measurement is never stopped
//!   by `| head`.

use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

use crate::error::input;

/// Name of the lock file inside a folder being written.
pub const LOCK_NAME: &str = ".mmap-lab.lock";

/// What kind of thing `meta` describes, when it is not a regular file.
fn not_regular(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// Why an input could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    /// open(2) or fstat(2) failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// It exists but is not a regular file.
    #[error(
        "this is {0}, not a regular file; give the path of a file (mmap-lab never reads pipes or devices, which could block forever)"
    )]
    NotRegular(&'static str),
}

/// Opens `path` for reading, refusing anything but a regular file before reading from
/// it. The open itself cannot block: it is made with `O_NONBLOCK` (which opens a FIFO
/// at once instead of waiting for a writer) and the file type is checked on the open
/// descriptor, so nothing can swap the file in between.
pub fn open_input(path: &Path) -> std::result::Result<(File, Metadata), InputFileError> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if let Some(kind) = not_regular(&meta) {
        return Err(InputFileError::NotRegular(kind));
    }
    Ok((file, meta))
}

/// The bytes of the input file `path`. Errors are input errors (exit 2) that say
/// `{path}: cannot read {what}: {why}; {fix}`.
pub fn read_input(path: &Path, what: &str, fix: &str) -> Result<Vec<u8>> {
    let fail =
        |e: &dyn std::fmt::Display| input(format!("{}: cannot read {what}: {e}; {fix}", path.display()));
    let (mut file, meta) = open_input(path).map_err(|e| fail(&e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes).map_err(|e| fail(&e))?;
    Ok(bytes)
}

/// [`read_input`] as UTF-8 text.
pub fn read_input_text(path: &Path, what: &str, fix: &str) -> Result<String> {
    let bytes = read_input(path, what, fix)?;
    String::from_utf8(bytes).map_err(|e| {
        input(format!("{}: cannot read {what}: it is not UTF-8 text ({e}); {fix}", path.display()))
    })
}

/// Refuses an existing path that is not a regular file (an output file mmap-lab would
/// replace, such as a baseline). A missing path is fine.
pub fn regular_or_missing(path: &Path, what: &str) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) => match not_regular(&meta) {
            None => Ok(()),
            Some(kind) => Err(input(format!(
                "{what} {}: this is {kind}, not a regular file; give a file name",
                path.display()
            ))),
        },
        Err(_) => Ok(()),
    }
}

/// One writer per folder: an exclusive `flock` on `DIR/.mmap-lab.lock`, released when
/// dropped (or when the process ends, however it ends: the kernel drops it). The file
/// records the holder's pid and command line, so a second writer can say who has it.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Takes the lock on `dir` (which must exist) or refuses at once, naming the holder.
    /// `what` names the flag for messages (`--data-dir`).
    pub fn acquire(dir: &Path, what: &str) -> Result<FolderLock> {
        use std::os::fd::AsRawFd;
        let path = dir.join(LOCK_NAME);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|e| {
                input(format!("{what} {}: cannot create its lock file {LOCK_NAME}: {e}", dir.display()))
            })?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == ErrorKind::WouldBlock {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.split_whitespace().collect::<Vec<_>>().join(" ");
                let holder = if holder.is_empty() { "another process".to_owned() } else { holder };
                return Err(input(format!(
                    "{what} {}: in use by {holder}; one mmap-lab writes a folder at a time: wait for it to finish, or give another {what}",
                    dir.display()
                )));
            }
            return Err(input(format!("{what} {}: cannot lock {LOCK_NAME}: {error}", dir.display())));
        }
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let _ = file.set_len(0);
        let _ = writeln!(file, "pid {} ({command})", std::process::id());
        Ok(FolderLock { _file: file })
    }
}

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

fn write_to(mut out: impl Write, gone: &AtomicBool, args: std::fmt::Arguments) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    if out.write_fmt(args).and_then(|()| out.flush()).is_err() {
        // A closed pipe (or a full disk behind a redirect): whoever reads has gone, and
        // the work goes on without them.
        gone.store(true, Ordering::Relaxed);
    }
}

/// Prints to stdout; after the reader has gone, prints nothing (see [`outln!`](crate::outln)).
pub fn print_out(args: std::fmt::Arguments) {
    write_to(std::io::stdout().lock(), &STDOUT_GONE, args);
}

/// Prints to stderr; after the reader has gone, prints nothing (see [`errln!`](crate::errln)).
pub fn print_err(args: std::fmt::Arguments) {
    write_to(std::io::stderr().lock(), &STDERR_GONE, args);
}

/// `println!` that never panics: a closed stdout ends output quietly.
#[macro_export]
macro_rules! outln {
    () => { $crate::fsio::print_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::fsio::print_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics: a closed stdout ends output quietly.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::fsio::print_out(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics: a closed stderr ends output quietly.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::fsio::print_err(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap_or_default()).unwrap_or_default();
        // SAFETY: c is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        match open_input(&fifo) {
            Err(InputFileError::NotRegular(kind)) => assert!(kind.contains("FIFO")),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(matches!(open_input(dir.path()), Err(InputFileError::NotRegular("a folder"))));
        assert!(
            matches!(open_input(Path::new("/dev/null")), Err(InputFileError::NotRegular(k)) if k.contains("character"))
        );
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = FolderLock::acquire(dir.path(), "--data-dir").unwrap_or_else(|e| panic!("{e}"));
        let second = FolderLock::acquire(dir.path(), "--data-dir").map(|_| ()).unwrap_err().to_string();
        assert!(second.contains(&format!("pid {}", std::process::id())), "{second}");
        drop(first);
        assert!(FolderLock::acquire(dir.path(), "--data-dir").is_ok());
    }
}
