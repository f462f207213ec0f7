//! The phase-mark protocol: the measured program writes `phase-name\n` to the descriptor
//! named by [`MARK_ENV`] and blocks reading one byte; `measure` snapshots the whole tree
//! while it waits, then writes the byte.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, Result};

/// The environment variable that names the descriptor a program marks phases on.
pub const MARK_ENV: &str = "MMAP_LAB_MARK_FD";

/// The longest phase name kept (longer ones are cut).
const MAX_NAME: usize = 200;

/// `measure`'s end of the channel.
pub struct MarkChannel {
    stream: UnixStream,
    buffer: Vec<u8>,
    open: bool,
}

/// What waiting on the channel gave.
pub enum Wait {
    /// Nothing within the time.
    Timeout,
    /// A program marked a phase and waits for the answer.
    Mark(String),
}

impl MarkChannel {
    /// A channel and the descriptor to hand to the child (inherited across exec by
    /// [`inherit`]).
    pub fn pair() -> Result<(MarkChannel, UnixStream)> {
        let (ours, theirs) = UnixStream::pair().context("cannot create the phase-mark socket pair")?;
        ours.set_nonblocking(true)?;
        Ok((MarkChannel { stream: ours, buffer: Vec::new(), open: true }, theirs))
    }

    /// Waits at most `timeout` for a mark; a channel every program has closed only waits.
    pub fn wait(&mut self, timeout: Duration) -> Result<Wait> {
        if let Some(name) = self.take_line() {
            return Ok(Wait::Mark(name));
        }
        if !self.open {
            std::thread::sleep(timeout);
            return Ok(Wait::Timeout);
        }
        let mut poll = libc::pollfd { fd: self.stream.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, for the duration of the call.
        let rc = unsafe { libc::poll(&raw mut poll, 1, ms) };
        if rc <= 0 {
            return Ok(Wait::Timeout); // the time ran out, or a signal (Ctrl-C) came
        }
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.open = false;
                    break;
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.open = false;
                    break;
                }
            }
        }
        Ok(self.take_line().map_or(Wait::Timeout, Wait::Mark))
    }

    fn take_line(&mut self) -> Option<String> {
        let end = self.buffer.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.buffer.drain(..=end).collect();
        let mut name = String::from_utf8_lossy(&line[..end]).trim().to_owned();
        name.truncate(name.char_indices().nth(MAX_NAME).map_or(name.len(), |(i, _)| i));
        Some(if name.is_empty() { "(unnamed)".to_owned() } else { name })
    }

    /// Lets the marking program go on.
    pub fn answer(&mut self) {
        // A program that died meanwhile cannot read it: not an error.
        let _ = self.stream.write_all(b"\n");
    }
}

/// Arranges for `fd` to stay open across the child's exec (it is close-on-exec here) and
/// names it in [`MARK_ENV`].
pub fn inherit(command: &mut std::process::Command, fd: RawFd) {
    inherit_as(command, fd, MARK_ENV);
}

/// Arranges for `fd` to stay open across the child's exec and names it in `env`.
pub fn inherit_as(command: &mut std::process::Command, fd: RawFd, env: &str) {
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the child between fork and exec, calling only fcntl, which is
    // async-signal-safe, on a descriptor the child inherited.
    unsafe {
        command.pre_exec(move || {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.env(env, fd.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_read_whole_and_answered() {
        let (mut ours, mut theirs) = MarkChannel::pair().unwrap();
        assert!(matches!(ours.wait(Duration::from_millis(1)).unwrap(), Wait::Timeout));
        theirs.write_all(b"load\nsum").unwrap();
        let Wait::Mark(name) = ours.wait(Duration::from_secs(5)).unwrap() else { panic!("no mark") };
        assert_eq!(name, "load");
        ours.answer();
        let mut byte = [0u8; 1];
        theirs.read_exact(&mut byte).unwrap();
        // Half a line is not a mark until its newline comes.
        assert!(matches!(ours.wait(Duration::from_millis(1)).unwrap(), Wait::Timeout));
        theirs.write_all(b"\n").unwrap();
        drop(theirs);
        let Wait::Mark(name) = ours.wait(Duration::from_secs(5)).unwrap() else { panic!("no mark") };
        assert_eq!(name, "sum");
    }
}
