//! Coursework labs: predict, measure, explain.
//!
//! A lab is two files in `experiments/labs/`: a handout (`01_npy_header.md`: goal,
//! background, what to run, how to read the numbers, what to write up) and a spec of its
//! questions (`01_npy_header.toml`, see [`spec`]). Each question names a measured
//! [`quantity`] and either a tolerance or choices. A student commits to answers first (an
//! answers file from `mmap-lab lab init N`, or typed in at a terminal), then `mmap-lab lab
//! run N` runs the lab's experiments through the suite, resolves every quantity in the
//! results and [`grade`]s each answer, explaining the ones that missed.
//!
//! A lab may also run a [`program`]: a short Python + NumPy script the student reads and
//! predicts, run under `mmap-lab measure` on the lab's data and graded at the phases it
//! marks (`program.<phase>.<field>`, read through [`evidence`]).
//!
//! Experiments only labs use live in `experiments/labs/specs/`, out of `run-all`'s way;
//! a lab names experiments by id, from there or from `experiments/`. Instructors add a lab
//! by adding files: everything is checked when labs are loaded, and `mmap-lab lab check`
//! runs every lab at a tiny shape to show that each quantity resolves.

pub mod answers;
pub mod args;
pub mod check;
pub mod class;
pub mod command;
pub mod evidence;
pub mod fields;
pub mod grade;
pub mod needs;
pub mod program;
pub mod quantity;
pub mod record;
pub mod run;
pub mod spec;
pub mod stats;
pub mod text;
pub mod unit;
pub mod value;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::input;
use crate::spec::LoadedSpec;
pub use spec::LabSpec;

/// The folder of lab-only experiment specs, inside the labs folder.
pub const SPECS_DIR: &str = "specs";

/// A lab file as found on disk: its number, and the lab or why it is broken.
#[derive(Debug)]
pub struct LabEntry {
    /// Its number, from the file name.
    pub number: u32,
    /// The spec file.
    pub path: PathBuf,
    /// The checked lab, or the error that refuses it.
    pub lab: Result<LabSpec>,
}

impl LabEntry {
    /// The id a broken lab can still be addressed by: its file name after the number.
    fn file_id(&self) -> &str {
        self.path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.split_once('_'))
            .map_or("", |(_, rest)| rest)
    }
}

/// Every experiment a lab may name: `experiments/*.toml` and `<labs>/specs/*.toml`, with
/// unique ids across both.
pub fn available_experiments(labs_dir: &Path, experiments_dir: &Path) -> Result<Vec<LoadedSpec>> {
    let mut all = crate::spec::load_dir(experiments_dir)?;
    let own = labs_dir.join(SPECS_DIR);
    if crate::assets::is_dir(&own) {
        all.extend(crate::spec::load_dir(&own)?);
    }
    crate::spec::check_unique(&all)?;
    Ok(all)
}

/// Every lab in `labs_dir`, in number order, each loaded on its own: one broken lab does
/// not hide the others. Two labs with one number or one id are refused together.
pub fn load_all(labs_dir: &Path, experiments_dir: &Path) -> Result<Vec<LabEntry>> {
    let paths = crate::assets::files_in(labs_dir, "toml").map_err(|e| {
        input(format!("{}: cannot read the labs folder: {e}; pass --labs DIR", labs_dir.display()))
    })?;
    let available = available_experiments(labs_dir, experiments_dir)?;
    let mut labs: Vec<LabEntry> = Vec::with_capacity(paths.len());
    for path in paths {
        let number = spec::number_from_name(&path).ok_or_else(|| {
            input(format!(
                "{}: a lab file is named NN_<name>.toml, its number first (01_npy_header.toml is lab 1)",
                path.display()
            ))
        })?;
        if let Some(other) = labs.iter().find(|l| l.number == number) {
            return Err(input(format!(
                "{} and {} are both lab {number}: give each lab its own number",
                other.path.display(),
                path.display()
            )));
        }
        let lab = LabSpec::load(&path, &available);
        labs.push(LabEntry { number, path, lab });
    }
    for (i, a) in labs.iter().enumerate() {
        let Ok(la) = &a.lab else { continue };
        if let Some(b) = labs[i + 1..].iter().find(|b| b.lab.as_ref().is_ok_and(|lb| lb.id == la.id)) {
            return Err(input(format!(
                "{} and {} both have id '{}': give each lab its own id",
                a.path.display(),
                b.path.display(),
                la.id
            )));
        }
    }
    Ok(labs)
}

/// The lab `key` names, by number (`1`, `01`) or id (`npy_header`); a broken lab's error.
pub fn find(entries: Vec<LabEntry>, key: &str) -> Result<LabSpec> {
    let key = key.trim();
    let number: Option<u32> = key.parse().ok();
    let listed: Vec<String> = entries
        .iter()
        .map(|e| match &e.lab {
            Ok(l) => format!("{} ({})", l.number, l.id),
            Err(_) => format!("{} ({}, broken)", e.number, e.file_id()),
        })
        .collect();
    let found = entries
        .into_iter()
        .find(|e| Some(e.number) == number || e.lab.as_ref().map_or(e.file_id() == key, |l| l.id == key));
    match found {
        Some(entry) => entry.lab,
        None => Err(input(format!(
            "there is no lab '{key}': give a number or an id; the labs are {}",
            if listed.is_empty() { "none".to_owned() } else { listed.join(", ") }
        ))),
    }
}

#[cfg(test)]
mod tests;
