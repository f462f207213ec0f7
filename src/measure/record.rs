//! What `measure` records: `measure.json`, and `measure.jsonl` written line by line as the
//! run goes, so that an interrupted or crashed run keeps every sample taken.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::probe::tree::TreeSnapshot;
use crate::units::{Bytes, Nanos};

/// Version of the `measure.json` schema (docs/measure.md).
pub const SCHEMA_VERSION: u32 = 1;

/// One sample of the tree: on the timer, or at a phase mark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Time since the command started (or since attaching).
    pub t_ns: Nanos,
    /// The phase's name, for a snapshot taken at a mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// For a phase snapshot: how long the marking process waited for the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ns: Option<Nanos>,
    /// The tree's numbers.
    #[serde(flatten)]
    pub tree: TreeSnapshot,
}

/// How the measured command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// Its exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// The signal's name (`SIGKILL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_name: Option<String>,
    /// Whether `measure` was interrupted (Ctrl-C) before the command ended.
    #[serde(default)]
    pub interrupted: bool,
    /// For `--pid`: whether the process was still running when the duration ran out.
    #[serde(default)]
    pub still_running: bool,
}

/// A gate passed at some sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateBreach {
    /// `max_own` or `max_pss`.
    pub gate: String,
    /// The limit.
    pub limit_bytes: Bytes,
    /// The first sample past it.
    pub first_t_ns: Nanos,
    /// The largest value seen.
    pub peak_bytes: Bytes,
}

/// Everything a run of `measure` recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasureRecord {
    /// [`SCHEMA_VERSION`].
    pub version: u32,
    /// The machine.
    pub machine: Option<Machine>,
    /// The command, as given (empty with `--pid`).
    pub command: Vec<String>,
    /// The root process.
    pub pid: i32,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The timer's interval.
    pub interval_ns: Nanos,
    /// The environment variable naming the phase-mark descriptor (absent with `--pid`).
    #[serde(default)]
    pub mark_env: Option<String>,
    /// Every sample, in time order.
    pub samples: Vec<Sample>,
    /// How the command ended (absent while it runs).
    pub exit: Option<ExitRecord>,
    /// Gates passed.
    #[serde(default)]
    pub breaches: Vec<GateBreach>,
}

/// One line of `measure.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    /// The record without samples, first.
    Start(Box<MeasureRecord>),
    /// One sample.
    Sample(Box<Sample>),
    /// The end.
    End { exit: ExitRecord, breaches: Vec<GateBreach> },
}

/// Writes `measure.jsonl` as the run goes and `measure.json` at its end.
pub struct RecordWriter {
    dir: PathBuf,
    lines: std::io::BufWriter<std::fs::File>,
}

impl RecordWriter {
    /// Starts `DIR/measure.jsonl` with the record's header.
    pub fn create(dir: &Path, header: &MeasureRecord) -> Result<RecordWriter> {
        let path = dir.join("measure.jsonl");
        let file =
            std::fs::File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut writer = RecordWriter { dir: dir.to_owned(), lines: std::io::BufWriter::new(file) };
        writer.line(&Line::Start(Box::new(header.clone())))?;
        Ok(writer)
    }

    fn line(&mut self, line: &Line) -> Result<()> {
        serde_json::to_writer(&mut self.lines, line)?;
        self.lines.write_all(b"\n")?;
        // Flushed at once: a crash of `measure` itself loses no sample.
        self.lines.flush().context("writing measure.jsonl")
    }

    /// Appends a sample.
    pub fn sample(&mut self, sample: &Sample) -> Result<()> {
        self.line(&Line::Sample(Box::new(sample.clone())))
    }

    /// Appends the end and writes the whole record as `measure.json`.
    pub fn finish(mut self, record: &MeasureRecord) -> Result<()> {
        let exit = record.exit.clone().unwrap_or_default();
        self.line(&Line::End { exit, breaches: record.breaches.clone() })?;
        write_json(&self.dir.join("measure.json"), record)
    }
}

/// Writes `record` to `path` under a temporary name, then renames it.
pub fn write_json(path: &Path, record: &MeasureRecord) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut buffered = std::io::BufWriter::new(&mut tmp);
    serde_json::to_writer(&mut buffered, record)?;
    buffered.flush()?;
    drop(buffered);
    // Readable like any file the user writes (a temporary file starts private).
    tmp.as_file()
        .set_permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644))?;
    tmp.persist(path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// Reads a record: `measure.json`, or a `measure.jsonl` (also one cut short by a crash).
pub fn load(path: &Path) -> Result<MeasureRecord> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if path.extension().is_some_and(|e| e == "jsonl") {
        return Ok(from_lines(&text));
    }
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a measure.json this version of mmap-lab reads", path.display()))
}

/// The record in `measure.jsonl`'s lines; a last line cut in half is left out.
pub fn from_lines(text: &str) -> MeasureRecord {
    let mut record = MeasureRecord::default();
    for line in text.lines() {
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Start(header)) => record = *header,
            Ok(Line::Sample(sample)) => record.samples.push(*sample),
            Ok(Line::End { exit, breaches }) => {
                record.exit = Some(exit);
                record.breaches = breaches;
            }
            Err(_) => {}
        }
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_cut_short_keep_every_whole_sample() {
        let dir = tempfile::tempdir().unwrap();
        let header = MeasureRecord { version: SCHEMA_VERSION, pid: 7, ..MeasureRecord::default() };
        let mut writer = RecordWriter::create(dir.path(), &header).unwrap();
        for t in [1, 2, 3] {
            writer.sample(&Sample { t_ns: t, ..Sample::default() }).unwrap();
        }
        drop(writer);
        let mut text = std::fs::read_to_string(dir.path().join("measure.jsonl")).unwrap();
        text.push_str("{\"kind\":\"sample\",\"t_ns\":4,\"proc"); // a crash mid-line
        let record = from_lines(&text);
        assert_eq!(record.pid, 7);
        assert_eq!(record.samples.iter().map(|s| s.t_ns).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(record.exit, None);
    }
}
