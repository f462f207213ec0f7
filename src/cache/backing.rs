//! Backed memory for the steps that copy or load the array: on a virtual machine that hands
//! free memory back to its host, the first process to touch memory left free waits for the
//! host to back it again, so the runner keeps such memory in use between those steps.

use std::os::fd::AsRawFd;

use anyhow::{Context, Result};

use crate::units::Bytes;

/// What a [`MemoryReserve::hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackedMemory {
    /// Bytes touched (capped by the memory available, less a margin).
    pub bytes: Bytes,
    /// Time it took, the child's start and end included.
    pub ns: crate::units::Nanos,
}

/// Memory a [`MemoryReserve`] leaves to everything else, beyond what it holds.
const BACKING_MARGIN: Bytes = 1 << 30;

/// `MemAvailable` of `/proc/meminfo`, in bytes (0 when it cannot be read).
pub(super) fn available_memory() -> Bytes {
    use procfs::Current;
    procfs::Meminfo::current().ok().and_then(|m| m.mem_available).unwrap_or(0)
}

/// Backed memory held for the run's memory-hungry steps between them, in child processes of
/// its own, and lent to each such step just before it.
///
/// Touching memory in a child just before a step (as the runner once did) backs it for that
/// step, but a step's memory goes free when its processes exit, and memory left free for
/// about 2 s is handed back to the host (free page reporting): the next step that loads the
/// array paid for backing it all again. Measured
/// here (full-size array, 1.38 GB, this 2-vCPU VM): touching memory freed 0.2-1 s before took
/// 0.23 s; freed 2 s before, 6-12 s. The reserve keeps that memory in use between the steps
/// that need it: [`MemoryReserve::hold`] grows it (touching the new pages once a run) or
/// shrinks it (the pages go back to the kernel at once), so a step is lent memory freed
/// just before it and the reserve takes it back right after the step's last process
/// exited. The memory is the children's, not the runner's: the runner's peak RSS does not
/// grow by it. The children exit when the reserve is dropped, or when the runner dies.
///
/// The reserve is split among [`super::pieces_at_once`] children, one per core up to four, that
/// grow and shrink their shares at once: a host backs memory touched from two vCPUs at once
/// far faster than from one (here, two processes touching 0.69 GB each took 2.5-3.3 s
/// together where one process took 8-16 s for 1.38 GB).
#[derive(Debug, Default)]
pub struct MemoryReserve {
    parts: Vec<ReserveChild>,
    held: Bytes,
}

/// `total` split into `parts` shares of whole 2 MiB pages, the first ones larger by a page
/// where it does not divide evenly.
fn shares(total: Bytes, parts: usize) -> Vec<Bytes> {
    super::even_counts(total / HUGE_PAGE, parts).into_iter().map(|pages| pages * HUGE_PAGE).collect()
}

#[derive(Debug)]
struct ReserveChild {
    pid: libc::pid_t,
    /// Orders: the bytes to hold, as 8 little-endian bytes; closed to end the child.
    orders: Option<std::os::fd::OwnedFd>,
    /// One byte per order: `1` when carried out, `0` when the pages could not be given back
    /// (growing always succeeds: every new page is written).
    replies: std::os::fd::OwnedFd,
    /// Bytes the child's mapping spans: the most it can hold.
    span: Bytes,
}

impl MemoryReserve {
    /// A reserve holding nothing; its child starts at the first [`MemoryReserve::hold`] of
    /// more than nothing.
    pub fn new() -> MemoryReserve {
        MemoryReserve::default()
    }

    /// Bytes held now.
    pub fn held(&self) -> Bytes {
        self.held
    }

    /// Holds `bytes` (rounded up to 2 MiB, and growing only as far as the memory available
    /// less a margin allows): pages beyond what it held are touched, pages beyond `bytes`
    /// are given back to the kernel. Returns what changed: the bytes newly touched and the
    /// time it took.
    pub fn hold(&mut self, bytes: Bytes) -> Result<BackedMemory> {
        let started = std::time::Instant::now();
        let mut target = bytes.next_multiple_of(HUGE_PAGE);
        if target > self.held {
            let room = available_memory().saturating_sub(BACKING_MARGIN);
            target = target.min(self.held + room / HUGE_PAGE * HUGE_PAGE);
        }
        if target == self.held {
            return Ok(BackedMemory { bytes: 0, ns: 0 });
        }
        let count = super::pieces_at_once();
        let wanted = shares(target, count);
        if self.parts.is_empty() || self.parts.iter().zip(&wanted).any(|(c, w)| c.span < *w) {
            // First children, or ones whose mappings are too small: new ones, holding nothing.
            self.parts.clear();
            self.held = 0;
            let span =
                target.max(available_memory().saturating_sub(BACKING_MARGIN)).next_multiple_of(HUGE_PAGE);
            for each in shares(span, count) {
                match ReserveChild::start(each.max(HUGE_PAGE)) {
                    Ok(child) => self.parts.push(child),
                    Err(e) => {
                        self.parts.clear();
                        return Err(e);
                    }
                }
            }
        }
        // Every part is told first and answers after: they touch their shares at once.
        let sent: Result<()> = self.parts.iter_mut().zip(&wanted).try_for_each(|(c, w)| c.send(*w));
        let done = sent.and_then(|()| self.parts.iter_mut().zip(&wanted).try_for_each(|(c, w)| c.reply(*w)));
        if let Err(e) = done {
            // A child that is gone (killed for memory, say) holds nothing: the next hold
            // starts new ones.
            self.parts.clear();
            self.held = 0;
            return Err(e);
        }
        let touched = target.saturating_sub(self.held);
        self.held = target;
        Ok(BackedMemory { bytes: touched, ns: started.elapsed().as_nanos() as crate::units::Nanos })
    }
}

impl Drop for ReserveChild {
    fn drop(&mut self) {
        // Closing the orders pipe ends the child; its memory goes back with it. A child that
        // has not ended within a second is killed: dropping never hangs.
        drop(self.orders.take());
        let mut status = 0;
        for attempt in 0..=100 {
            // SAFETY: polls this reserve's own child; `status` is a valid out-pointer.
            let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            if rc != 0 {
                return;
            }
            if attempt == 100 {
                // SAFETY: signals this reserve's own child, not yet waited for.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                // SAFETY: as above; a killed child ends at once.
                unsafe { libc::waitpid(self.pid, &mut status, 0) };
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// 2 MiB: the size of a transparent huge page, the unit the reserve grows and shrinks by.
const HUGE_PAGE: Bytes = 2 << 20;

impl ReserveChild {
    fn start(span: Bytes) -> Result<ReserveChild> {
        use rustix::pipe::{PipeFlags, pipe_with};
        let len = usize::try_from(span).context("more memory than this process can address")?;
        let (orders_read, orders_write) = pipe_with(PipeFlags::CLOEXEC).context("cannot create a pipe")?;
        let (replies_read, replies_write) = pipe_with(PipeFlags::CLOEXEC).context("cannot create a pipe")?;
        let parent = std::process::id() as libc::pid_t;
        let (orders_fd, replies_fd) = (orders_read.as_raw_fd(), replies_write.as_raw_fd());
        // SAFETY: the child runs only system calls (`close_range` or `close`, `prctl`,
        // `getppid`, `mmap`, `madvise`, `read`, `write`, `_exit`) and plain stores into memory
        // it mapped itself: nothing that allocates or could need a lock another thread of this
        // process held at the fork. It never returns into Rust code.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                close_all_but([orders_fd, replies_fd]);
                libc::_exit(hold_until_closed(parent, orders_fd, replies_fd, len))
            }
        }
        if pid < 0 {
            return Err(std::io::Error::last_os_error()).context("cannot fork a process to hold memory");
        }
        drop(orders_read);
        drop(replies_write);
        Ok(ReserveChild { pid, orders: Some(orders_write), replies: replies_read, span })
    }

    /// Sends one order: hold `bytes`.
    fn send(&mut self, bytes: Bytes) -> Result<()> {
        let sent = self.orders.as_ref().map(|fd| rustix::io::write(fd, &bytes.to_le_bytes()));
        if sent != Some(Ok(8)) {
            anyhow::bail!(
                "the process holding memory for the run is gone (it could not be told to hold {bytes} bytes)"
            );
        }
        Ok(())
    }

    /// Waits for the order [`ReserveChild::send`] sent to be carried out.
    fn reply(&mut self, bytes: Bytes) -> Result<()> {
        let mut reply = [0u8; 1];
        loop {
            match rustix::io::read(&self.replies, &mut reply) {
                Ok(1) if reply[0] == 1 => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                _ => anyhow::bail!("the process holding memory for the run could not hold {bytes} bytes"),
            }
        }
    }
}

/// In the forked reserve child: closes every descriptor it inherited but standard input,
/// output and error and `keep`. The child lives as long as the run: holding a copy of the
/// write end of its own orders pipe, it would never see the end of it, and holding the
/// runner's other pipes (a NumPy fork server's input, a step's output) it would keep the
/// process at their other end waiting for an end that never comes.
///
/// # Safety
/// Only to be called in a freshly forked child: it closes descriptors behind any owner.
unsafe fn close_all_but(keep: [libc::c_int; 2]) {
    // No allocation here: another thread of the runner may have held the allocator's lock
    // at the fork.
    let (a, b) = (keep[0].min(keep[1]) as libc::c_uint, keep[0].max(keep[1]) as libc::c_uint);
    let mut from: libc::c_uint = 3;
    for fd in [a, b, libc::c_uint::MAX] {
        if fd > from {
            // SAFETY: closes descriptors of this child only; `close_range` takes no lock
            // another thread could have held at the fork.
            let rc = unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0) };
            if rc != 0 {
                // Kernels before 5.9: one by one, as far as descriptors usually go.
                for each in from..fd.min(4096) {
                    // SAFETY: as above.
                    unsafe { libc::close(each as libc::c_int) };
                }
            }
        }
        from = fd.saturating_add(1);
    }
}

/// In the forked reserve child: maps `len` bytes (reserved, not yet backed), then carries out
/// each order read from `orders` until it is closed or the runner is gone. Returns the exit
/// code.
///
/// # Safety
/// Only to be called in a freshly forked child, with descriptors it owns.
unsafe fn hold_until_closed(
    parent: libc::pid_t,
    orders: libc::c_int,
    replies: libc::c_int,
    len: usize,
) -> libc::c_int {
    // SAFETY: system calls on descriptors and memory this child owns; the stores stay within
    // the mapping of `len` bytes made here.
    unsafe {
        // Ends with the runner, whatever way the runner ends.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            return 0;
        }
        let map = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if map == libc::MAP_FAILED {
            return 1;
        }
        libc::madvise(map, len, libc::MADV_HUGEPAGE);
        let base = map.cast::<u8>();
        let mut held = 0usize;
        loop {
            let mut order = [0u8; 8];
            let mut got = 0usize;
            while got < 8 {
                let n = libc::read(orders, order.as_mut_ptr().add(got).cast(), 8 - got);
                if n > 0 {
                    got += n as usize;
                } else if n < 0 && *libc::__errno_location() == libc::EINTR {
                    continue;
                } else {
                    return 0;
                }
            }
            let target = (u64::from_le_bytes(order) as usize).min(len);
            let mut ok = true;
            if target > held {
                let (at, n) = (base.add(held), target - held);
                // Kernels before 5.14 cannot populate: the writes below fault the pages in.
                libc::madvise(at.cast(), n, libc::MADV_POPULATE_WRITE);
                // A word of its own at the start of every 4 KiB page (this child's pid and the
                // page's address): no two pages the reserve holds are alike. A host that
                // merges identical guest pages (zeroed ones above all) merges pages held
                // idle for a few seconds, and the next process to write them waits for the
                // host to copy each apart again: a 1.38 GB block of identical pages held 5-30
                // s, then freed, took 12-15 s to touch again; filled with distinct pages,
                // 0.6 s.
                let mark = (libc::getpid() as u64) << 48;
                for off in (0..n).step_by(4096) {
                    std::ptr::write_volatile(at.add(off).cast::<u64>(), mark ^ (at.add(off) as u64));
                }
            } else if target < held {
                ok = libc::madvise(base.add(target).cast(), held - target, libc::MADV_DONTNEED) == 0;
            }
            held = target;
            let reply = [u8::from(ok)];
            if libc::write(replies, reply.as_ptr().cast(), 1) != 1 {
                return 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The resident memory of process `pid` (`VmRSS`), or `None` once it is gone.
    fn rss_of(pid: libc::pid_t) -> Option<Bytes> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: Bytes = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    #[test]
    fn a_reserve_holds_memory_in_its_child_grows_and_shrinks_on_order_and_ends_when_dropped() {
        // A process's RSS counts every test thread's memory: the test runs again alone, in a
        // process of its own, where only its own allocations count.
        if !crate::cache::tests::alone(
            "cache::backing::tests::a_reserve_holds_memory_in_its_child_grows_and_shrinks_on_order_and_ends_when_dropped",
        ) {
            return;
        }
        const MIB: Bytes = 1 << 20;
        let test_pipe = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap().1;
        let mut reserve = MemoryReserve::new();
        assert_eq!(reserve.hold(0).unwrap().bytes, 0);
        assert!(reserve.parts.is_empty(), "holding nothing starts no process");
        let own_before = rss_of(std::process::id() as libc::pid_t).unwrap();
        let grown = reserve.hold(48 * MIB + 1).unwrap();
        assert_eq!(reserve.held(), 50 * MIB, "rounded up to whole 2 MiB pages");
        assert_eq!(grown.bytes, 50 * MIB, "every byte touched");
        let pids: Vec<libc::pid_t> = reserve.parts.iter().map(|c| c.pid).collect();
        assert_eq!(pids.len(), crate::cache::pieces_at_once(), "one child per part");
        let rss_of_parts = || pids.iter().map(|&p| rss_of(p).unwrap()).sum::<Bytes>();
        assert!(rss_of_parts() >= 50 * MIB, "the children hold it: {}", rss_of_parts());
        // Each keeps its two pipe ends and the standard streams, none of this process's other
        // descriptors (the test's pipe, made before they started, shows in this process only;
        // the first child's pipe ends, made before the second started, show in neither).
        let fds = |p: libc::pid_t| -> Vec<String> {
            std::fs::read_dir(format!("/proc/{p}/fd"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        };
        for &pid in &pids {
            let held: Vec<String> =
                fds(pid).into_iter().filter(|fd| !["0", "1", "2"].contains(&fd.as_str())).collect();
            assert_eq!(held.len(), 2, "the reserve's child {pid} holds {held:?}");
        }
        assert!(fds(std::process::id() as libc::pid_t).contains(&test_pipe.as_raw_fd().to_string()));
        // No two pages alike, within a child or across them: a host that merges identical
        // pages has nothing to merge. The first word of the first pages each child holds,
        // read through /proc/PID/mem.
        let mut words = Vec::new();
        for &pid in &pids {
            let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
            let span = reserve.parts.iter().find(|c| c.pid == pid).unwrap().span;
            let start = maps
                .lines()
                .filter_map(|l| {
                    let (a, b) = l.split_whitespace().next()?.split_once('-')?;
                    let (a, b) = (u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?);
                    (b - a == span).then_some(a)
                })
                .next()
                .expect("the reserve's mapping in the child's maps");
            let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
            for page in 0..4u64 {
                let mut word = [0u8; 8];
                std::os::unix::fs::FileExt::read_exact_at(&mem, &mut word, start + page * 4096).unwrap();
                words.push(u64::from_ne_bytes(word));
            }
        }
        let distinct: std::collections::HashSet<u64> = words.iter().copied().collect();
        assert!(!words.contains(&0) && distinct.len() == words.len(), "{words:x?}");
        // The memory is the children's: this process's side stays far below what is held.
        let own_after = rss_of(std::process::id() as libc::pid_t).unwrap();
        assert!(own_after < own_before + 25 * MIB, "{own_before} -> {own_after}");
        let lent = reserve.hold(10 * MIB).unwrap();
        assert_eq!((lent.bytes, reserve.held()), (0, 10 * MIB), "shrinking touches nothing");
        assert!(rss_of_parts() < 40 * MIB, "the pages went back: {}", rss_of_parts());
        assert_eq!(reserve.hold(30 * MIB).unwrap().bytes, 20 * MIB, "growing touches the new pages only");
        assert!(rss_of_parts() >= 30 * MIB, "the children hold it again: {}", rss_of_parts());
        assert_eq!(
            reserve.parts.iter().map(|c| c.pid).collect::<Vec<_>>(),
            pids,
            "the same children throughout"
        );
        drop(reserve);
        for pid in pids {
            assert_eq!(rss_of(pid), None, "the child {pid} ended with the reserve");
        }
    }

    #[test]
    fn shares_are_whole_huge_pages_that_add_up_and_differ_by_one_page_at_most() {
        for parts in 1..=4 {
            for pages in [0, 1, 2, 3, 7, 660] {
                let total = pages * HUGE_PAGE;
                let s = shares(total, parts);
                assert_eq!(s.len(), parts);
                assert_eq!(s.iter().sum::<Bytes>(), total, "{pages} pages in {parts} parts");
                assert!(s.iter().all(|b| b % HUGE_PAGE == 0));
                assert!(s.iter().max().unwrap() - s.iter().min().unwrap() <= HUGE_PAGE);
            }
        }
    }
}
