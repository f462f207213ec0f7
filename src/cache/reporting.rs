//! Free page reporting: a guest kernel that tells its host which free memory it may take
//! back (`virtio_balloon`'s `VIRTIO_BALLOON_F_REPORTING`, kernel `page_reporting`), and
//! how much it handed over while a side of a step ran.
//!
//! The kernel reports in passes. A free block of 2 MiB or more arms a pass two seconds
//! later (`PAGE_REPORTING_DELAY`), if none is armed; the pass hands every free block not yet
//! reported to the host, which drops the memory behind it, and a pass that ran out of budget
//! arms the next at its end. Memory the host dropped is backed again at the next write,
//! slowly. Measured on the project's machine kind, a 2-vCPU Firecracker guest whose kernel
//! counts passes and reported memory in `/sys/module/page_reporting/parameters/`:
//! - after a quiet spell, the pass armed by an eviction began 2.006-2.012 s after it,
//!   whatever the size evicted (600-1,300 MiB), and handed ~900 MiB over in 0.25 s;
//! - a cold mapped pass over the full-size .npy took 0.90-0.92 s when no pass came during
//!   it, 1.4-2.6 s when one handed back 300-1,100 MiB of the memory just evicted;
//! - two sides of a cold round, about 0.9 s each, hardly fit in the two seconds: the pass
//!   the first side's eviction armed fell on the second side in most rounds.
//!
//! Pacing every cold side by the passes (starting a side only when the next pass could not
//! come before it ended) was tried and dropped: the waits cost more than the passes they
//! avoided (a full-size run-all took 77-95 s paced, 64 s not), and foreign frees (a
//! reclaimer paging out idle page cache) still armed passes it could not see coming. The
//! runner records instead how much each side had handed back while it ran, and the report
//! names it beside a step that is behind. Waiting for a pass before each side of a
//! load (a load that took 0.9 s took 5.6-7.3 s when a pass handed back 680-750 MiB of
//! its memory) was tried too: it spared the loads the passes, not the host's other delays
//! (loads with nothing reported still took 0.35-1.9 s), and cost 5-8 s a run. Pacing
//! rounds instead of sides was tried last: before each round of a cold mapped step that
//! reads its whole file, the runner waited for the pass its own first free since the last
//! pass had armed (two cold sides of 0.9 s fit in the two seconds). In two of three runs of
//! `npy_load_mmap`, `access_channel` and `policy_populate` cold every side came clean
//! (0.76-0.90 s) and the steps took 11.9-12.8 s, against 12.1 s unpaced; in the third the
//! passes did not come when the frees said, the waits ran out (2.4 s each), sides met passes
//! all the same, and the steps took 20.3 s. The same wait before lending a cold `np.load`
//! its memory (and, between rounds, the memory taken back first) made its first side take
//! 8.4-9.0 s with nothing reported, against 0.76-1.73 s unpaced when no pass came: memory
//! the reserve touched and held a second before lending it was no help.

use crate::units::Bytes;

/// The kernel's `page_reporting` parameters: `page_reporting_order` (the smallest block
/// reported), and on a kernel that counts it `reported_kib` (upstream kernels do not).
pub const PARAMETERS: &str = "/sys/module/page_reporting/parameters";

/// Memory reported to the host since boot, on a kernel that counts it (`reported_kib`).
pub fn reported_bytes() -> Option<Bytes> {
    let path = std::path::Path::new(PARAMETERS).join("reported_kib");
    let kib: Bytes = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    Some(kib * 1024)
}
