//! `access.svg` and `policies.svg`: what each access pattern or mapping policy cost, warm
//! and cold: the time from opening to the end of the access, and the page faults taken.

use anyhow::Result;

use super::bars::{self, Bars, Series};
use super::style;
use super::{Area, Plot, Raster};
use crate::probe::Phase;
use crate::report::view;
use crate::results::{Results, StepResult};

/// Time and faults of every step of one experiment group.
pub struct GroupPlot {
    /// The group drawn (`access`, `policies`).
    pub group: &'static str,
    /// File name.
    pub file: &'static str,
    /// Title.
    pub title: &'static str,
    /// Explanation for the markdown.
    pub explanation: &'static str,
}

/// The access-patterns plot.
pub const ACCESS: GroupPlot = GroupPlot {
    group: "access",
    file: "access.svg",
    title: "Access patterns: time and page faults, warm vs cold (log scale)",
    explanation: "Each bar is one step of the access group: the time from opening the mapping to the end \
        of its access (a subset of samples, one channel of every image, random mini-batches, random \
        single values), and the page faults it took, with the file in the page cache (warm) and evicted \
        from it (cold). Random access is cheap warm; cold, its cost depends on how much of what the \
        kernel reads ahead is used, which `MADV_RANDOM` turns off.",
};

/// The mapping-policies plot.
pub const POLICIES: GroupPlot = GroupPlot {
    group: "policies",
    file: "policies.svg",
    title: "Mapping policies: time and page faults, warm vs cold (log scale)",
    explanation: "Each bar is one step of the policies group: the same read of the first samples through \
        `np.load(mmap_mode='r')` after a different `madvise` advice or with `MAP_POPULATE`, warm and cold.",
};

/// One panel of a group plot: what it measures and how it writes it.
struct Panel {
    caption: &'static str,
    measure: fn(&StepResult) -> Option<f64>,
    axis: &'static str,
    tick: fn(f64) -> String,
    value: fn(f64) -> String,
}

fn total_ns(s: &StepResult) -> Option<f64> {
    s.phase_ns(Phase::BeforeOpen, Phase::AfterAccess).map(|ns| ns as f64)
}

fn faults(s: &StepResult) -> Option<f64> {
    let (a, b) = (s.snapshot(Phase::BeforeOpen)?, s.snapshot(Phase::AfterAccess)?);
    Some(((b.minor_faults + b.major_faults) - (a.minor_faults + a.major_faults)) as f64)
}

/// The ids of a group's steps across runs, each once, with labels (the id less its group).
pub fn ids_and_labels<'a>(runs: &'a [Results], group: &str) -> (Vec<&'a str>, Vec<String>) {
    let mut ids: Vec<&str> = Vec::new();
    for run in runs {
        for s in run.steps.iter().filter(|s| s.group == group) {
            if !ids.contains(&s.id.as_str()) {
                ids.push(&s.id);
            }
        }
    }
    let prefix = match group {
        "policies" => "policy_".to_owned(),
        other => format!("{other}_"),
    };
    let labels =
        ids.iter().map(|id| id.strip_prefix(prefix.as_str()).unwrap_or(id).replace('_', " ")).collect();
    (ids, labels)
}

impl Plot for GroupPlot {
    fn file_name(&self) -> &'static str {
        self.file
    }

    fn title(&self) -> &'static str {
        self.title
    }

    fn explanation(&self) -> &'static str {
        self.explanation
    }

    fn caption(&self, runs: &[Results]) -> String {
        match self.group {
            "access" => crate::report::sentences::access_caption(runs),
            "policies" => crate::report::sentences::policies_caption(runs),
            _ => self.explanation.to_owned(),
        }
    }

    fn has_data(&self, runs: &[Results]) -> bool {
        runs.iter().flat_map(|r| view::group_steps(r, self.group)).any(|s| total_ns(s).is_some())
    }

    fn size(&self, runs: &[Results]) -> (u32, u32) {
        let steps = ids_and_labels(runs, self.group).0.len().max(1) as u32;
        let caches = view::caches(runs).len().max(1) as u32;
        let panel = 90 + steps * (caches * 22 + 12);
        (360 + 720 * runs.len().max(1) as u32, 150 + 2 * panel)
    }

    fn draw(&self, root: &Area, runs: &[Results]) -> Result<Vec<Raster>> {
        let caches = view::caches(runs);
        let legend = style::cache_legend(&caches);
        let body = style::header(root, self.title, &[], &legend)?.margin(0, 10, 16, 16);
        let (ids, labels) = ids_and_labels(runs, self.group);
        let label_width = bars::label_width(&body, &labels)?;
        let columns = bars::run_columns(&body, runs, label_width)?;
        let panels = [
            Panel {
                caption: "Time from opening to the end of the access",
                measure: total_ns,
                axis: "time (log scale)",
                tick: style::nanos_tick,
                value: |v| crate::units::human_nanos(v as u64),
            },
            Panel {
                caption: "Page faults (minor + major)",
                measure: faults,
                axis: "faults (log scale)",
                tick: style::count_tick,
                value: |v| crate::units::grouped(v as u64),
            },
        ];
        for (col, (column, run)) in columns.iter().zip(runs).enumerate() {
            for (area, p) in column.split_evenly((panels.len(), 1)).iter().zip(&panels) {
                let measure = p.measure;
                let all = runs.iter().flat_map(|r| view::group_steps(r, self.group)).filter_map(measure);
                let range = style::log_bounds(all);
                let series = caches
                    .iter()
                    .map(|c| Series {
                        colour: style::cache_colour(*c),
                        values: ids.iter().map(|id| run.step(id, *c).and_then(measure)).collect(),
                    })
                    .collect();
                let panel = style::caption(area, p.caption)?;
                bars::draw(
                    &panel,
                    &Bars {
                        categories: &labels,
                        series,
                        range,
                        axis: p.axis,
                        ticks: style::decades,
                        format: p.tick,
                        value: p.value,
                        label_width: bars::labels_in(col, label_width),
                        reference: None,
                    },
                )?;
            }
        }
        Ok(Vec::new())
    }
}
