//! Several runs side by side: machines, verdicts and key figures in one table each, a
//! column per run (a course of many students, or a CI matrix).

use std::fmt::Write as _;

use crate::cache::CacheState;
use crate::probe::Phase;
use crate::report::{claims, view};
use crate::results::{Results, StepResult};
use crate::units::{grouped, human_bytes, human_nanos};

/// Writes the side-by-side section.
pub fn section(md: &mut String, runs: &[Results]) {
    let labels = view::run_labels(runs);
    md.push_str("## Runs side by side\n\n");
    if let Some(warning) = view::shapes_warning(runs) {
        let _ = writeln!(md, "> {warning}\n");
    }
    header(md, "", &labels);
    for (i, (what, _)) in super::machine::rows(&runs[0]).iter().enumerate() {
        let cells: Vec<String> = runs.iter().map(|r| super::machine::rows(r)[i].1.clone()).collect();
        row(md, what, &cells);
    }
    md.push_str("\n### Verdicts\n\n");
    header(md, "the tutorial says", &labels);
    let checked: Vec<Vec<claims::ClaimCheck>> = runs.iter().map(claims::check).collect();
    for (i, claim) in checked[0].iter().enumerate() {
        let cells: Vec<String> = checked.iter().map(|c| c[i].verdict.name().to_owned()).collect();
        row(md, claim.claim, &cells);
    }
    figures(md, runs, &labels);
}

/// One figure of a step, written for a table cell.
type Figure = fn(&StepResult) -> Option<String>;

fn figures(md: &mut String, runs: &[Results], labels: &[String]) {
    let ids = view::all_step_ids(runs);
    let names = view::step_labels(runs, &ids);
    let tables: [(&str, Figure); 3] = [
        ("Time of the access (a full pass for the tutorial's steps), warm / cold", |s| {
            s.phase_ns(Phase::AfterFirst, Phase::AfterAccess).map(human_nanos)
        }),
        ("Page faults over the step, minor + major, warm / cold", |s| {
            let minor = s.delta(Phase::BeforeOpen, Phase::AfterAccess, |x| x.minor_faults)?;
            let major = s.delta(Phase::BeforeOpen, Phase::AfterAccess, |x| x.major_faults)?;
            Some(grouped((minor + major).max(0) as u64))
        }),
        ("RssFile / RssAnon after the access, warm", |s| {
            let a = s.snapshot(Phase::AfterAccess)?;
            Some(format!("{} / {}", human_bytes(a.rss_file_bytes), human_bytes(a.rss_anon_bytes)))
        }),
    ];
    for (i, (title, figure)) in tables.iter().enumerate() {
        let _ = writeln!(md, "\n### {title}\n");
        header(md, "step", labels);
        for (id, name) in ids.iter().zip(&names) {
            let cells: Vec<String> = runs
                .iter()
                .map(|r| {
                    let get = |c| r.step(id, c).and_then(figure).unwrap_or_else(|| "–".to_owned());
                    if i == 2 {
                        get(CacheState::Warm)
                    } else {
                        format!("{} / {}", get(CacheState::Warm), get(CacheState::Cold))
                    }
                })
                .collect();
            row(md, &format!("`{id}`: {name}"), &cells);
        }
    }
    md.push('\n');
}

fn header(md: &mut String, first: &str, labels: &[String]) {
    let _ = writeln!(md, "| {first} | {} |", labels.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(labels.len()));
}

fn row(md: &mut String, first: &str, cells: &[String]) {
    let _ = writeln!(md, "| {first} | {} |", cells.join(" | "));
}
