//! A peer the fork server forked, as this process sees it: something it can signal and read
//! the end of (through the server), supervised like a child it spawned; and the pages a new
//! child must make its own before its baseline.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use rustix::process::{Pid, PidfdFlags, Signal};

use super::wire::{readable, receive};
use super::{ANSWER_TIMEOUT, Answer};
use crate::child::Started;

/// A peer the server forked: this process can signal it (through a pidfd, which cannot
/// name another process once it has ended) but only the server can wait for it.
pub(super) struct Forked {
    pid: i32,
    pidfd: Option<OwnedFd>,
    /// This process's copy of the server's control socket, where the peer's end is reported.
    control: OwnedFd,
    status: Option<ExitStatus>,
    killed: bool,
    /// Why the server was lost, if it was while this peer ran.
    pub(super) lost: Arc<Mutex<Option<String>>>,
}

impl Forked {
    pub(super) fn new(pid: i32, control: OwnedFd) -> Forked {
        let pidfd = Pid::from_raw(pid).and_then(|p| rustix::process::pidfd_open(p, PidfdFlags::empty()).ok());
        Forked { pid, pidfd, control, status: None, killed: false, lost: Arc::default() }
    }

    /// Reads the server's answer within `wait`: the peer's status, once it has ended.
    fn answer(&mut self, wait: Duration) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        match receive(&self.control, wait) {
            Ok(Some(bytes)) => {
                let answer: Answer = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
                if answer.pid == self.pid {
                    self.status = answer.status.map(ExitStatus::from_raw);
                }
                Ok(self.status)
            }
            Ok(None) => Ok(None),
            Err(e) => self.server_lost(format!("{e:#}")),
        }
    }

    /// The server is gone: a peer this process killed ended by its `SIGKILL`; any other is
    /// killed now and run again elsewhere.
    pub(super) fn server_lost(&mut self, why: String) -> std::io::Result<Option<ExitStatus>> {
        if !self.killed {
            self.kill();
            *self.lost.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why.clone());
            return Err(std::io::Error::other(why));
        }
        if let Some(fd) = &self.pidfd {
            // A pidfd turns readable when its process has ended.
            let _ = readable(fd.as_fd(), Duration::from_secs(5));
        }
        self.status = Some(ExitStatus::from_raw(libc::SIGKILL));
        Ok(self.status)
    }
}

impl Started for Forked {
    fn pid(&self) -> i32 {
        self.pid
    }
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.answer(Duration::ZERO)
    }
    fn kill(&mut self) {
        self.killed = true;
        let _ = match (&self.pidfd, Pid::from_raw(self.pid)) {
            (Some(fd), _) => rustix::process::pidfd_send_signal(fd, Signal::KILL),
            (None, Some(pid)) => rustix::process::kill_process(pid, Signal::KILL),
            (None, None) => Ok(()),
        };
    }
    fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let began = Instant::now();
        loop {
            if let Some(status) = self.answer(Duration::from_millis(200))? {
                return Ok(status);
            }
            if began.elapsed() > ANSWER_TIMEOUT {
                return self
                    .server_lost(format!("no end reported within {} s", ANSWER_TIMEOUT.as_secs()))?
                    .ok_or_else(|| std::io::Error::other("no status"));
            }
        }
    }
}

/// Pages of pagemap read at once.
const PAGEMAP_CHUNK: usize = 8 << 10;

/// The server's present pages, as (start, length, private and writable) ranges: the pages a
/// child of it must make its own before its baseline. Read with procfs from `/proc/PID/maps`
/// and `/proc/PID/pagemap` (present pages).
pub(super) fn owned_ranges(pid: i32) -> Result<Vec<(u64, u64, bool)>> {
    use procfs::process::{MMPermissions, MMapPath, MemoryPageFlags, PageInfo};
    let page = crate::units::page_size();
    let process = procfs::process::Process::new(pid)?;
    let mut pagemap = process.pagemap()?;
    let mut ranges = Vec::new();
    for map in process.maps()? {
        let kernel_pages = matches!(&map.pathname, MMapPath::Vdso | MMapPath::Vvar | MMapPath::Vsyscall)
            || matches!(&map.pathname, MMapPath::Other(name) if name == "vvar_vclock");
        if !map.perms.contains(MMPermissions::READ) || kernel_pages {
            continue;
        }
        let (start, end) = map.address;
        let write = map.perms.contains(MMPermissions::WRITE) && map.perms.contains(MMPermissions::PRIVATE);
        let mut run: Option<u64> = None;
        let mut at = start;
        while at < end {
            let pages = ((end - at) / page).min(PAGEMAP_CHUNK as u64) as usize;
            let first = (at / page) as usize;
            for (i, info) in pagemap.get_range_info(first..first + pages)?.into_iter().enumerate() {
                let present = matches!(info, PageInfo::MemoryPage(f) if f.contains(MemoryPageFlags::PRESENT));
                let addr = at + i as u64 * page;
                match (present, run) {
                    (true, None) => run = Some(addr),
                    (false, Some(from)) => {
                        ranges.push((from, addr - from, write));
                        run = None;
                    }
                    _ => {}
                }
            }
            at += pages as u64 * page;
        }
        if let Some(from) = run {
            ranges.push((from, end - from, write));
        }
    }
    Ok(ranges)
}
