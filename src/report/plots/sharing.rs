//! `sharing.svg`: K worker processes reading the whole array at once, through one shared
//! mapping or each loading a copy: the workers' total RSS and total PSS.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::style::{self, LegendItem, PSS, RSS};
use super::{Area, Plot, Raster};
use crate::results::{Results, SharingStats};

/// The sharing plot.
pub struct SharingPlot;

/// The sharing steps of a run, each experiment's in increasing K: (label, stats).
fn rows(run: &Results) -> Vec<(String, &SharingStats)> {
    crate::report::view::sharing_steps(run)
        .into_iter()
        .filter_map(|s| {
            let w = s.workers.as_ref()?;
            let how = s.id.trim_end_matches(|c: char| c.is_ascii_digit()).trim_end_matches("_k");
            let how = how.strip_prefix("sharing_").unwrap_or(how).replace('_', " ");
            Some((format!("{how}, K = {}", w.count), w))
        })
        .collect()
}

fn labels(runs: &[Results]) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for run in runs {
        for (label, _) in rows(run) {
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
    }
    labels
}

impl Plot for SharingPlot {
    fn file_name(&self) -> &'static str {
        "sharing.svg"
    }

    fn title(&self) -> &'static str {
        "K workers reading the whole array: total RSS and PSS (log scale)"
    }

    fn explanation(&self) -> &'static str {
        "K worker processes, like a data loader's, each read the whole array at once, through one file \
         mapping each (`np.load(mmap_mode='r')`) or each loading its own copy (`np.load`); their memory \
         was read from `/proc/PID/smaps_rollup` while all K were alive. RSS counts a shared page once per \
         process that maps it, so the mapped workers' total RSS grows with K although there is one copy \
         in memory; PSS divides each shared page among the processes that map it, so the mapped total \
         stays near one file while the loaded total is a file per worker. The dashed line is one \
         copy of the data."
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().any(|r| !rows(r).is_empty())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let n = labels(runs).len().max(1) as u32;
        (360 + 720 * runs.len().max(1) as u32, 230 + n * 62)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let legend = [
            LegendItem::new("total RSS of the workers", RSS),
            LegendItem::new("total PSS of the workers", PSS),
        ];
        let body = style::header(root, self.title(), &[], &legend)?.margin(0, 10, 16, 16);
        let categories = labels(runs);
        let label_width = bars::label_width(&body, &categories)?;
        let columns = bars::run_columns(&body, runs, label_width)?;
        let all = runs
            .iter()
            .flat_map(rows)
            .flat_map(|(_, w)| [w.total_rss_bytes as f64, w.total_pss_bytes as f64]);
        let range = style::log_bounds(all);
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            let mine = rows(run);
            let value = |label: &String, f: fn(&SharingStats) -> u64| {
                mine.iter().find(|(l, _)| l == label).map(|(_, w)| f(w) as f64)
            };
            let series = vec![
                Series {
                    colour: RSS,
                    values: categories.iter().map(|l| value(l, |w| w.total_rss_bytes)).collect(),
                },
                Series {
                    colour: PSS,
                    values: categories.iter().map(|l| value(l, |w| w.total_pss_bytes)).collect(),
                },
            ];
            let file = run.dataset.npy_bytes as f64;
            bars::draw(
                column,
                &Bars {
                    categories: &categories,
                    series,
                    range,
                    axis: "bytes (log scale)",
                    ticks: style::binary_ticks,
                    format: style::bytes_tick,
                    value: |v| crate::units::human_bytes(v as u64),
                    label_width: bars::labels_in(col, label_width),
                    reference: (file > 0.0).then(|| (file, "one copy of the data".to_owned())),
                },
            )?;
        }
        Ok(Vec::new())
    }
}
