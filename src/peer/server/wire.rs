//! What crosses between this process and the fork server: pipes, the control socket, one
//! message at a time, and descriptors passed with `SCM_RIGHTS` (through rustix's safe calls).

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use anyhow::{Context, Result};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

/// A close-on-exec pipe: (read end, write end).
pub(super) fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).context("cannot create a pipe for a NumPy peer")
}

/// A close-on-exec `SOCK_SEQPACKET` socket pair: messages keep their boundaries.
pub(super) fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd)> {
    rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)
        .context("cannot create the fork server's socket pair")
}

/// Waits at most `wait` for `fd` to turn readable; whether it did.
pub(super) fn readable(fd: BorrowedFd<'_>, wait: Duration) -> std::io::Result<bool> {
    let timeout = Timespec { tv_sec: wait.as_secs() as _, tv_nsec: wait.subsec_nanos() as _ };
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    match rustix::event::poll(&mut fds, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        Err(Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The largest message either side sends.
const MESSAGE_BYTES: usize = 1 << 16;

/// One message from `fd` within `wait`: `None` when none came; an error when the other end
/// closed or the socket failed.
pub(super) fn receive(fd: impl AsFd, wait: Duration) -> Result<Option<Vec<u8>>> {
    if !readable(fd.as_fd(), wait)? {
        return Ok(None);
    }
    let mut buf = vec![0u8; MESSAGE_BYTES];
    match rustix::net::recv(fd, &mut buf[..], RecvFlags::DONTWAIT) {
        Ok((0, _)) => anyhow::bail!("the server closed its socket (it ended)"),
        Ok((n, _)) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(Errno::AGAIN | Errno::INTR) => Ok(None),
        Err(e) => Err(std::io::Error::from(e).into()),
    }
}

/// Sends `bytes` as one message with copies of `fds` (`SCM_RIGHTS`). `MSG_NOSIGNAL` turns a
/// closed peer into `EPIPE` rather than a signal.
pub(super) fn send_with_fds(socket: impl AsFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
    let mut space = vec![MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(std::io::Error::other("the descriptors do not fit their control buffer"));
    }
    rustix::net::sendmsg(socket, &[IoSlice::new(bytes)], &mut control, SendFlags::NOSIGNAL)?;
    Ok(())
}

/// The largest request the server reads (`REQUEST_BYTES` in `tutorial.py`).
pub(super) const REQUEST_BYTES: usize = MESSAGE_BYTES;

/// The request for one peer: the ranges its child makes its own, the largest first when they
/// do not all fit (the server's few hundred ranges take about 10 KiB).
pub(super) fn request_of(mut own: Vec<(u64, u64, bool)>) -> Vec<u8> {
    let encode = |own: &[(u64, u64, bool)]| {
        let own: Vec<(u64, u64, u8)> = own.iter().map(|&(a, n, w)| (a, n, u8::from(w))).collect();
        serde_json::to_vec(&serde_json::json!({ "own": own })).unwrap_or_default()
    };
    let mut request = encode(&own);
    if request.len() > REQUEST_BYTES {
        own.sort_by_key(|&(_, n, _)| std::cmp::Reverse(n));
        while request.len() > REQUEST_BYTES && !own.is_empty() {
            own.truncate(own.len() * 9 / 10);
            request = encode(&own);
        }
    }
    request
}
