//! Backing memory before a copying step: on a virtual machine that hands free memory back to
//! its host, the first process to touch memory left free waits for the host to back it again.

use anyhow::{Context, Result};

use crate::units::Bytes;

/// Fresh anonymous memory, touched and freed just before a step that copies the array into
/// its own memory, so that the step finds memory as a second process would.
///
/// On a virtual machine whose guest reports free memory to its host (virtio-balloon free
/// page reporting, as here), memory that stayed free for a second or two is given back to
/// the host, and the next process to touch it waits for the host to back it again. Measured
/// here (full-size .npy, busy 2-vCPU VM): `load` took 4.0-5.1 s after 3 s without large
/// allocations, and 0.32-0.57 s when a process had touched and freed 1.4 GB just before (that
/// touch took 1.3-1.7 s); `np.load` the same, 2.7-6.2 s against 0.31-0.54 s. Whichever
/// side of a paired round ran first paid it. [`back_memory`] pays it before the step
/// instead, in a child of its own, so both sides find backed memory. On a machine without
/// free page reporting it costs a touch of the memory (about 0.2 s per GB) and changes
/// nothing else.
pub fn back_memory(bytes: Bytes) -> Result<BackedMemory> {
    let started = std::time::Instant::now();
    let bytes = bytes.min(available_memory().saturating_sub(BACKING_MARGIN));
    if bytes == 0 {
        return Ok(BackedMemory { bytes, ns: 0 });
    }
    let len = usize::try_from(bytes).context("more memory than this process can address")?;
    // SAFETY: the child runs only system calls (`mmap`, `madvise`, `_exit`) and plain stores
    // into memory it mapped itself: nothing that could need a lock another thread of this
    // process held at the fork. It never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; `_exit` ends the child without running this process's exit code.
        unsafe { libc::_exit(touch_and_exit_code(len)) }
    }
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot fork a process to back memory");
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child forked above; `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("cannot wait for the process backing memory");
        }
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        anyhow::bail!("the process backing {bytes} bytes of memory failed (wait status {status})");
    }
    Ok(BackedMemory { bytes, ns: started.elapsed().as_nanos() as crate::units::Nanos })
}

/// What [`back_memory`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackedMemory {
    /// Bytes touched (capped by the memory available, less a margin).
    pub bytes: Bytes,
    /// Time it took, the child's start and end included.
    pub ns: crate::units::Nanos,
}

/// Memory [`back_memory`] leaves to everything else, beyond what it touches.
const BACKING_MARGIN: Bytes = 1 << 30;

/// `MemAvailable` of `/proc/meminfo`, in bytes (0 when it cannot be read).
pub(super) fn available_memory() -> Bytes {
    use procfs::Current;
    procfs::Meminfo::current().ok().and_then(|m| m.mem_available).unwrap_or(0)
}

/// In the forked child: maps `len` bytes of anonymous memory advised `MADV_HUGEPAGE` (as a
/// loaded array is), writes every page, and returns the exit code (0 when done). The
/// memory goes back to the kernel when the child exits.
fn touch_and_exit_code(len: usize) -> libc::c_int {
    // SAFETY: a new private anonymous mapping; nothing else points into it.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return 1;
    }
    // SAFETY: `map` is the writable mapping of `len` bytes made above; advice changes only
    // how it is backed, and the stores stay within it.
    unsafe {
        libc::madvise(map, len, libc::MADV_HUGEPAGE);
        if libc::madvise(map, len, libc::MADV_POPULATE_WRITE) != 0 {
            // Kernels before 5.14: write one byte of each page instead.
            let page = 4096;
            let base = map.cast::<u8>();
            for at in (0..len).step_by(page) {
                std::ptr::write_volatile(base.add(at), 1);
            }
        }
    }
    0
}
