//! The explanation in words, computed from the numbers of one record: every sentence is
//! chosen and filled in by what was measured.

use std::path::Path;

use super::record::{MeasureRecord, Sample};
use crate::probe::tree::{FileSnapshot, ProcessSnapshot};
use crate::units::{Bytes, human_bytes};

/// Two values within this fraction of each other are "about" the same.
const ABOUT: f64 = 0.10;
/// Own memory moving less than this share of its peak "stayed flat".
const FLAT: f64 = 0.10;
/// Files or workers below this share of the peak are not worth a sentence.
const NOTABLE: f64 = 0.02;
/// Files shared by several processes below this share of the tree's PSS are not named.
const SHARED_NOTABLE: f64 = 0.05;

/// The numbers the sentences are made of, at the sample whose summed PSS was largest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Peak {
    /// Index of the sample.
    pub index: usize,
    /// Summed PSS.
    pub pss: Bytes,
    /// Summed RSS.
    pub rss: Bytes,
    /// Own memory: anonymous + shared memory + dirty file pages (PSS).
    pub own: Bytes,
    /// Clean file pages (PSS): reclaimable.
    pub clean_file: Bytes,
    /// Processes alive.
    pub processes: usize,
}

/// The peak of a record (`None` without samples).
pub fn peak(record: &MeasureRecord) -> Option<Peak> {
    let (index, sample) =
        record.samples.iter().enumerate().max_by_key(|(_, s)| s.tree.sum(|p| p.pss_bytes))?;
    let tree = &sample.tree;
    let pss_file = tree.sum(|p| p.pss_file_bytes);
    let dirty = tree.sum(|p| p.file_dirty_bytes);
    Some(Peak {
        index,
        pss: tree.sum(|p| p.pss_bytes),
        rss: tree.sum(ProcessSnapshot::rss_bytes),
        own: tree.sum(ProcessSnapshot::own_bytes),
        clean_file: pss_file.saturating_sub(dirty),
        processes: tree.processes.len(),
    })
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

fn share(part: Bytes, whole: Bytes) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// The sentences, in order: reclaimable file pages, own memory and its trend, sharing or
/// copying between processes, RSS against PSS.
pub fn explain(record: &MeasureRecord) -> Vec<String> {
    let Some(peak) = peak(record) else {
        return vec!["No sample was taken: the command ended before the first one.".to_owned()];
    };
    let sample = &record.samples[peak.index];
    let at = sample.t_ns as f64 / 1e9;
    let mut out = vec![reclaimable(&peak, sample, at)];
    out.push(own_trend(record, &peak));
    out.extend(sharing(record));
    out.extend(copies(record));
    out.push(overstatement(&peak));
    out
}

fn reclaimable(peak: &Peak, sample: &Sample, at: f64) -> String {
    let mut files: Vec<(&FileSnapshot, Bytes)> = sample
        .tree
        .files
        .iter()
        .map(|f| (f, f.pss_bytes().saturating_sub(f.dirty_bytes())))
        .filter(|(_, clean)| share(*clean, peak.pss) >= NOTABLE)
        .collect();
    files.sort_by_key(|(_, clean)| std::cmp::Reverse(*clean));
    let head = format!(
        "At the peak ({at:.1} s, {} process{}), the tree's PSS was {}: {} of it ({:.0}%) was clean pages of mapped files, which the kernel can reclaim (drop, and read again from the file) when memory is short",
        peak.processes,
        if peak.processes == 1 { "" } else { "es" },
        human_bytes(peak.pss),
        human_bytes(peak.clean_file),
        share(peak.clean_file, peak.pss) * 100.0
    );
    if files.is_empty() {
        return format!("{head}; no single mapped file held a notable part of it.");
    }
    let list: Vec<String> = files
        .iter()
        .take(3)
        .map(|(f, clean)| format!("{} ({})", name(&f.path), human_bytes(*clean)))
        .collect();
    format!("{head}; they belong to {}.", list.join(", "))
}

fn own_trend(record: &MeasureRecord, peak: &Peak) -> String {
    let own: Vec<Bytes> = record.samples.iter().map(|s| s.tree.sum(ProcessSnapshot::own_bytes)).collect();
    let (first, last) = (own[0], own[own.len() - 1]);
    let (lo, hi) = (own.iter().copied().min().unwrap_or(0), own.iter().copied().max().unwrap_or(0));
    let head = format!(
        "The tree's own memory (anonymous + shared memory + dirty file pages: what cannot be reclaimed without swap) was {} at the peak",
        human_bytes(peak.own)
    );
    if own.len() < 3 || share(hi - lo, hi) < FLAT {
        return format!(
            "{head} and stayed flat, between {} and {} over {} samples.",
            human_bytes(lo),
            human_bytes(hi),
            own.len()
        );
    }
    let steps: Vec<i64> = own.windows(2).map(|w| w[1] as i64 - w[0] as i64).filter(|d| *d != 0).collect();
    let rising = steps.iter().filter(|d| **d > 0).count();
    let duration = record.samples[own.len() - 1].t_ns.saturating_sub(record.samples[0].t_ns) as f64 / 1e9;
    if last == hi && share(rising as u64, steps.len() as u64) >= 0.7 && own.len() >= 5 {
        return format!(
            "{head}; it grew steadily, from {} to {} in {duration:.1} s, rising in {rising} of {} changes: a program that grows like this until it ends keeps what it allocates (in a long run, look for a leak or a cache without a bound).",
            human_bytes(first),
            human_bytes(last),
            steps.len()
        );
    }
    format!(
        "{head}; it went from {} at the start to a high of {} and ended at {}: it grew in steps, not steadily.",
        human_bytes(first),
        human_bytes(hi),
        human_bytes(last)
    )
}

/// Files mapped by several processes at once: their PSS of a file counts each of its
/// mapped pages once, so it sums to one copy of what they hold however many map it.
fn sharing(record: &MeasureRecord) -> Vec<String> {
    let Some(sample) = record.samples.iter().max_by_key(|s| s.tree.processes.len()) else {
        return Vec::new();
    };
    let tree_pss = sample.tree.sum(|p| p.pss_bytes).max(1);
    let mut files: Vec<&FileSnapshot> = sample
        .tree
        .files
        .iter()
        .filter(|f| f.uses.iter().filter(|u| u.rss_bytes > 0).count() >= 2)
        .filter(|f| share(f.pss_bytes(), tree_pss) >= SHARED_NOTABLE)
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.pss_bytes()));
    let mut out = Vec::new();
    for file in files.into_iter().take(3) {
        let holding = file.uses.iter().filter(|u| u.rss_bytes > 0).count();
        let rss = file.rss_bytes();
        let pss = file.pss_bytes();
        let whole = if share(pss, file.size_bytes) >= 1.0 - ABOUT {
            format!("about one copy of the whole file ({})", human_bytes(file.size_bytes))
        } else {
            format!(
                "{:.0}% of the file's {}",
                share(pss, file.size_bytes) * 100.0,
                human_bytes(file.size_bytes)
            )
        };
        let dirty = file.dirty_bytes();
        let dirty_note = if share(dirty, pss) > ABOUT {
            format!(" {} of it is dirty: written and not yet written back to the file.", human_bytes(dirty))
        } else {
            String::new()
        };
        out.push(format!(
            "{holding} processes share {}: their RSS of it adds up to {}, but their PSS of it sums to {}, {whole}: one copy in the page cache, mapped by all of them, not {holding} copies.{dirty_note}",
            name(&file.path),
            human_bytes(rss),
            human_bytes(pss),
        ));
    }
    out
}

/// Several processes each holding a similar amount of private, modified memory: copies.
fn copies(record: &MeasureRecord) -> Option<String> {
    let sample = record.samples.iter().max_by_key(|s| s.tree.processes.len())?;
    let own = sample.tree.sum(ProcessSnapshot::own_bytes).max(1);
    let root = sample.tree.processes.first()?.pid;
    let mut private: Vec<Bytes> =
        sample.tree.processes.iter().filter(|p| p.pid != root).map(|p| p.private_dirty_bytes).collect();
    if private.len() < 2 {
        return None;
    }
    private.sort_unstable();
    let median = private[private.len() / 2];
    let similar =
        private.iter().filter(|&&v| (v as f64 - median as f64).abs() <= 0.25 * median as f64).count();
    if similar < 2 || share(median, own) < 0.05 || median < (1 << 20) {
        return Some(format!(
            "The {} processes started by the first hold little private memory of their own (median {}): they do not each copy the data.",
            private.len(),
            human_bytes(median)
        ));
    }
    Some(format!(
        "{similar} of the {} processes started by the first each hold about {} of private, modified memory ({} together, {similar} copies): each has its own copy of its data, where one mapping shared by all would hold it once.",
        private.len(),
        human_bytes(median),
        human_bytes(private.iter().sum::<Bytes>())
    ))
}

fn overstatement(peak: &Peak) -> String {
    let ratio = share(peak.rss, peak.pss);
    if ratio <= 1.0 + ABOUT {
        format!(
            "RSS ({}) and PSS ({}) agree within {:.0}%: no notable memory is counted twice.",
            human_bytes(peak.rss),
            human_bytes(peak.pss),
            ABOUT * 100.0
        )
    } else if peak.processes > 1 {
        format!(
            "Summed over the processes, RSS was {} against a PSS of {}: RSS overstates the tree's memory {ratio:.1}-fold, because a page mapped by several processes is counted once in each; PSS divides it among them.",
            human_bytes(peak.rss),
            human_bytes(peak.pss)
        )
    } else {
        format!(
            "RSS ({}) is {ratio:.1} times the PSS ({}): other processes on the machine map some of the same pages (shared libraries, files), and PSS counts only this process's share of them.",
            human_bytes(peak.rss),
            human_bytes(peak.pss)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peak(rss: Bytes, pss: Bytes, processes: usize) -> Peak {
        Peak { rss, pss, processes, ..Peak::default() }
    }

    #[test]
    fn rss_and_pss_are_said_to_agree_only_when_they_do() {
        assert!(overstatement(&peak(105, 100, 1)).contains("agree within"));
        assert!(overstatement(&peak(105, 100, 4)).contains("agree within"));
        // One process whose pages other processes map too: not "agree", and not the tree's doing.
        let alone = overstatement(&peak(1_700_000, 650_000, 1));
        assert!(!alone.contains("agree") && alone.contains("other processes on the machine"), "{alone}");
        let tree = overstatement(&peak(4_000, 1_000, 4));
        assert!(tree.contains("overstates the tree's memory 4.0-fold"), "{tree}");
    }
}
