//! The machine a run was made on: enough to reproduce a result or explain a difference.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sysinfo::System;

use crate::units::Bytes;

/// What the report says about the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Operating system name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// CPU brand string.
    pub cpu: String,
    /// Logical CPU cores.
    pub cores: usize,
    /// Total memory.
    pub memory_bytes: Bytes,
    /// Host name.
    #[serde(default)]
    pub hostname: String,
    /// Memory page size.
    #[serde(default)]
    pub page_size: Bytes,
    /// Transparent huge pages mode (`/sys/kernel/mm/transparent_hugepage/enabled`).
    #[serde(default)]
    pub thp_enabled: Option<String>,
    /// Read-ahead of the data folder's block device, in KiB.
    #[serde(default)]
    pub read_ahead_kb: Option<u64>,
    /// File system type of the data folder.
    #[serde(default)]
    pub filesystem: Option<String>,
    /// Swap size.
    #[serde(default)]
    pub swap_bytes: Bytes,
    /// The system call that measured page-cache residency: `cachestat` (Linux 6.5+) or
    /// `mincore`; `None` in results written before it was recorded (and left out of them,
    /// so such results are written back as they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency_tool: Option<String>,
    /// A reclaimer that pages out idle page cache with no memory pressure (a DAMON
    /// `pageout` scheme running), in words, or [`NO_RECLAIMER`]; `None` in results written
    /// before it was recorded.
    /// Such a machine drops pages of a file a run filled a minute earlier, and a warm step
    /// then finds holes in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_page_reclaim: Option<String>,
    /// Free page reporting to a host (a virtio balloon that takes free guest memory back),
    /// in words, or [`NO_REPORTING`]; `None` in results written before it was recorded.
    /// Memory handed back is backed again, slowly, at the next write: a cold read that
    /// refills memory a reporting pass just handed over is slower
    /// ([`crate::cache::reporting`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_page_reporting: Option<String>,
}

impl Machine {
    /// Reads the machine's description; `data_dir` is the folder whose disk is measured.
    pub fn detect(data_dir: &Path) -> Machine {
        let system = System::new().ok().map(|mut s| {
            s.refresh_memory();
            s.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
            s
        });
        let cpu = system
            .as_ref()
            .and_then(|s| s.cpus().first().map(|c| c.brand().trim().to_owned()))
            .unwrap_or_default();
        Machine {
            os: System::long_os_version().unwrap_or_else(|_| "unknown".to_owned()),
            kernel: System::kernel_version().unwrap_or_else(|_| "unknown".to_owned()),
            cpu: if cpu.is_empty() { "unknown".to_owned() } else { cpu },
            cores: system.as_ref().map_or(0, |s| s.cpus().len()).max(1),
            memory_bytes: system.as_ref().map_or(0, System::total_memory),
            hostname: System::host_name().unwrap_or_default(),
            page_size: crate::units::page_size(),
            thp_enabled: read_selected("/sys/kernel/mm/transparent_hugepage/enabled"),
            read_ahead_kb: read_ahead_kb(data_dir),
            filesystem: filesystem_of(data_dir),
            swap_bytes: system.as_ref().map_or(0, System::total_swap),
            residency_tool: residency_tool(),
            idle_page_reclaim: Some(idle_page_reclaimer().unwrap_or_else(|| NO_RECLAIMER.to_owned())),
            free_page_reporting: Some(
                free_page_reporting(
                    Path::new(BALLOON_DRIVER),
                    Path::new(crate::cache::reporting::PARAMETERS),
                )
                .unwrap_or_else(|| NO_REPORTING.to_owned()),
            ),
        }
    }

    /// How residency was measured, for a sentence: `` `cachestat` ``, or both tools named
    /// when the results do not say.
    pub fn residency_tool_md(&self) -> String {
        match &self.residency_tool {
            Some(tool) => format!("`{tool}`"),
            None => "`cachestat` (or `mincore` on kernels before 6.5)".to_owned(),
        }
    }

    /// One line: `Debian 12, kernel 6.18, 2 × Intel Xeon, 23.5 GiB`.
    pub fn summary(&self) -> String {
        format!(
            "{}, kernel {}, {} × {}, {} memory",
            self.os,
            self.kernel,
            self.cores,
            self.cpu,
            crate::units::human_bytes(self.memory_bytes)
        )
    }
}

/// The tool the probe picks on this kernel, tried on this program's own file (any file
/// answers the question: `cachestat` exists or it does not).
fn residency_tool() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let tool = crate::probe::Residency::new(&exe).ok()?.method();
    (tool != "none").then(|| tool.to_owned())
}

/// [`Machine::idle_page_reclaim`] when no DAMON `pageout` scheme runs.
pub const NO_RECLAIMER: &str = "none seen";

/// The reclaimer that pages out idle page cache on this machine, in words
/// ([`Machine::idle_page_reclaim`]), or `None` when none runs.
pub fn idle_page_reclaimer() -> Option<String> {
    damon_pageout(Path::new(DAMON_ADMIN))
}

/// Where DAMON's sysfs interface lives.
const DAMON_ADMIN: &str = "/sys/kernel/mm/damon/admin";

/// The DAMON `pageout` schemes running under `admin` (DAMON's sysfs folder), in words:
/// `DAMON pageout of pages idle for 60 s or more, up to 128 MiB/s`. DAMON ages regions of
/// memory in aggregation intervals: a scheme's minimum age times the interval is how long
/// a page must go unread before it is paged out; a clean page-cache page is simply dropped.
fn damon_pageout(admin: &Path) -> Option<String> {
    let read = |p: &Path| std::fs::read_to_string(p).ok().map(|t| t.trim().to_owned());
    let number = |p: &Path| read(p).and_then(|t| t.parse::<u64>().ok());
    let mut found = Vec::new();
    for kdamond in std::fs::read_dir(admin.join("kdamonds")).ok()?.flatten() {
        if read(&kdamond.path().join("state")).as_deref() != Some("on") {
            continue;
        }
        let Ok(contexts) = std::fs::read_dir(kdamond.path().join("contexts")) else { continue };
        for context in contexts.flatten().filter(|e| e.path().is_dir()) {
            let aggr_us = number(&context.path().join("monitoring_attrs/intervals/aggr_us"));
            let Ok(schemes) = std::fs::read_dir(context.path().join("schemes")) else { continue };
            for scheme in schemes.flatten().filter(|e| e.path().is_dir()) {
                let s = scheme.path();
                if read(&s.join("action")).as_deref() != Some("pageout") {
                    continue;
                }
                let mut words = "DAMON pageout of pages".to_owned();
                if let (Some(age), Some(aggr)) = (number(&s.join("access_pattern/age/min")), aggr_us) {
                    let secs = age.saturating_mul(aggr) as f64 / 1e6;
                    words.push_str(&format!(" idle for {secs:.0} s or more"));
                }
                let bytes = number(&s.join("quotas/bytes")).filter(|&b| b > 0);
                let every_ms = number(&s.join("quotas/reset_interval_ms")).filter(|&m| m > 0);
                if let (Some(bytes), Some(ms)) = (bytes, every_ms) {
                    let per_s = (bytes as f64 * 1000.0 / ms as f64) as Bytes;
                    words.push_str(&format!(", up to {}/s", crate::units::human_bytes(per_s)));
                }
                found.push(words);
            }
        }
    }
    (!found.is_empty()).then(|| found.join("; "))
}

/// [`Machine::free_page_reporting`] when no device takes free memory back.
pub const NO_REPORTING: &str = "none seen";

/// Where the virtio balloon driver lists its devices.
const BALLOON_DRIVER: &str = "/sys/bus/virtio/drivers/virtio_balloon";

/// `VIRTIO_BALLOON_F_REPORTING`: the balloon takes reported free pages back.
const BALLOON_F_REPORTING: usize = 5;

/// Free page reporting, in words, when a balloon device under `driver` (the virtio balloon
/// driver's sysfs folder) offers it: the smallest block reported (from `page_reporting`'s
/// `page_reporting_order` under `counters`), and whether the kernel counts the memory it
/// reported (then each side's share is recorded, [`crate::cache::reporting`]).
fn free_page_reporting(driver: &Path, counters: &Path) -> Option<String> {
    let reporting = std::fs::read_dir(driver).ok()?.flatten().any(|device| {
        std::fs::read_to_string(device.path().join("features"))
            .is_ok_and(|bits| bits.as_bytes().get(BALLOON_F_REPORTING) == Some(&b'1'))
    });
    if !reporting {
        return None;
    }
    let read = |name: &str| std::fs::read_to_string(counters.join(name)).ok().map(|t| t.trim().to_owned());
    let mut words = "virtio balloon: free blocks".to_owned();
    if let Some(order) = read("page_reporting_order").and_then(|o| o.parse::<u32>().ok()) {
        let bytes = (crate::units::page_size() as Bytes) << order;
        words.push_str(&format!(" of {} and more", crate::units::human_bytes(bytes)));
    }
    words.push_str(" handed to the host 2 s after a free");
    if read("reported_kib").is_some() {
        words.push_str("; this kernel counts what it reported");
    }
    Some(words)
}

/// The bracketed choice of a sysfs selector file: `always [madvise] never` -> `madvise`.
fn read_selected(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(text[start + 1..end].to_owned())
}

fn read_ahead_kb(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let base = format!("/sys/dev/block/{major}:{minor}");
    // A partition has no queue of its own: its parent disk's applies.
    for candidate in [format!("{base}/queue/read_ahead_kb"), format!("{base}/../queue/read_ahead_kb")] {
        if let Ok(text) = std::fs::read_to_string(&candidate) {
            return text.trim().parse().ok();
        }
    }
    None
}

fn filesystem_of(dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let mounts = procfs::process::Process::myself().and_then(|p| p.mountinfo()).ok()?;
    mounts
        .into_iter()
        .filter(|m| dir.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .map(|m| m.fs_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` at `root/rel`, making its folders.
    fn put(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("{text}\n")).unwrap();
    }

    #[test]
    fn a_running_damon_pageout_scheme_is_told_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let ctx = "kdamonds/0/contexts/0";
        put(root, "kdamonds/0/state", "on");
        put(root, &format!("{ctx}/monitoring_attrs/intervals/aggr_us"), "5000000");
        put(root, &format!("{ctx}/schemes/0/action"), "pageout");
        put(root, &format!("{ctx}/schemes/0/access_pattern/age/min"), "12");
        put(root, &format!("{ctx}/schemes/0/quotas/bytes"), "134217728");
        put(root, &format!("{ctx}/schemes/0/quotas/reset_interval_ms"), "1000");
        put(root, &format!("{ctx}/schemes/1/action"), "stat");
        assert_eq!(
            damon_pageout(root).as_deref(),
            Some("DAMON pageout of pages idle for 60 s or more, up to 128.00 MiB/s")
        );

        // Stopped, it reclaims nothing.
        put(root, "kdamonds/0/state", "off");
        assert_eq!(damon_pageout(root), None);
        // No DAMON at all.
        assert_eq!(damon_pageout(&root.join("missing")), None);
    }

    #[test]
    fn a_balloon_that_takes_free_pages_back_is_told_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let (driver, counters) = (dir.path().join("driver"), dir.path().join("counters"));
        // Bit 5, VIRTIO_BALLOON_F_REPORTING, is on.
        put(&driver, "virtio0/features", "0110010100000000");
        put(&counters, "page_reporting_order", "9");
        let huge = crate::units::human_bytes((crate::units::page_size() as Bytes) << 9);
        assert_eq!(
            free_page_reporting(&driver, &counters),
            Some(format!(
                "virtio balloon: free blocks of {huge} and more handed to the host 2 s after a free"
            ))
        );
        put(&counters, "reported_kib", "616439");
        assert!(free_page_reporting(&driver, &counters).unwrap().ends_with("counts what it reported"));
        // A balloon without the feature, or none at all, reports nothing.
        put(&driver, "virtio0/features", "0110000100000000");
        assert_eq!(free_page_reporting(&driver, &counters), None);
        assert_eq!(free_page_reporting(&dir.path().join("missing"), &counters), None);
    }
}
