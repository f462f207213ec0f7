//! The lab's record beside a measurement's results.json: when the predictions were made and
//! what they were, the timed questions' repeated runs, the lab's program as measured at its
//! phase marks, and a checksum of the measured section (results.json, the runs and the
//! program's phases), so that results edited by hand are refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::program::record::ProgramRecord;
use super::stats::Repeated;
use crate::error::input;

/// The record's file name, beside results.json.
pub const RECORD_FILE: &str = "lab-record.json";

/// What a lab run records besides results.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabRecord {
    /// The lab's id.
    pub lab: String,
    /// The shape measured.
    pub shape: String,
    /// When the predictions were read or typed in, before anything was measured (RFC 3339);
    /// none for a measurement made without answers (`lab grade` over a class).
    pub predicted_at: Option<String>,
    /// The predictions as given, by question id (none answered: empty).
    pub predictions: BTreeMap<String, String>,
    /// Who predicted, from the answers file.
    pub student: Option<String>,
    /// When the measurement ended.
    pub measured_at: String,
    /// Timed questions' runs, by question id, in base units.
    pub repeats: BTreeMap<String, Repeated>,
    /// The lab's program as run, for a lab with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<ProgramRecord>,
    /// xxh3 of results.json's bytes, the repeats and the program's run, hex.
    pub checksum: String,
}

/// The checksum of a measured section: results.json's bytes, then the repeats and the
/// program's run (for a lab with one) as JSON.
pub fn checksum(
    results_bytes: &[u8],
    repeats: &BTreeMap<String, Repeated>,
    program: Option<&ProgramRecord>,
) -> Result<String> {
    let mut all = results_bytes.to_vec();
    all.extend(serde_json::to_vec(repeats)?);
    if let Some(program) = program {
        all.extend(serde_json::to_vec(program)?);
    }
    Ok(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&all)))
}

/// The record's path for `results_path`.
pub fn path_for(results_path: &Path) -> PathBuf {
    results_path.with_file_name(RECORD_FILE)
}

impl LabRecord {
    /// Writes the record beside `results_path`, its checksum computed from the file.
    pub fn write(mut self, results_path: &Path) -> Result<LabRecord> {
        let bytes = std::fs::read(results_path)
            .map_err(|e| input(format!("{}: cannot read what was measured: {e}", results_path.display())))?;
        self.checksum = checksum(&bytes, &self.repeats, self.program.as_ref())?;
        write_replacing(&path_for(results_path), &serde_json::to_vec_pretty(&self)?)?;
        Ok(self)
    }

    /// Reads the record beside `results_path` and checks that neither results.json, the runs
    /// nor the program's phases were changed since they were measured; refuses otherwise.
    pub fn read_verified(results_path: &Path, lab_id: &str) -> Result<LabRecord> {
        let path = path_for(results_path);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            input(format!(
                "{}: cannot read the lab's record of this measurement ({e}): only results measured by `mmap-lab lab run` or `lab grade` can be graded; measure again",
                path.display()
            ))
        })?;
        let record: LabRecord = serde_json::from_str(&text)
            .map_err(|e| input(format!("{}: not a lab record: {e}; measure again", path.display())))?;
        if record.lab != lab_id {
            return Err(input(format!(
                "{}: this measurement is of lab '{}', not '{lab_id}'; grade it with the lab it belongs to",
                results_path.display(),
                record.lab
            )));
        }
        let bytes = crate::fsio::read_input(results_path, "the results", "measure again")?;
        if checksum(&bytes, &record.repeats, record.program.as_ref())? != record.checksum {
            return Err(input(format!(
                "{}: changed after it was measured (its checksum does not match {}): results edited by hand are not graded; measure again",
                results_path.display(),
                path.display()
            )));
        }
        Ok(record)
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, replacing what was there.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut staging = tempfile::Builder::new()
        .prefix(".lab-")
        .tempfile_in(dir)
        .map_err(|e| input(format!("{}: cannot write here: {e}", dir.display())))?;
    staging.write_all(bytes)?;
    staging.persist(path).map_err(|e| input(format!("{}: cannot write it: {}", path.display(), e.error)))?;
    Ok(())
}
