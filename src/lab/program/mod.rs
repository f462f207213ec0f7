//! A lab's program: a short Python + NumPy script the student reads and predicts, run under
//! `mmap-lab measure` (the same binary, the same probe: [`crate::measure`] over
//! [`crate::probe::tree`]) on the lab's data, measured at the phases it marks.
//!
//! ```toml
//! [program]
//! script = "programs/explain_memory.py"   # beside the lab's spec (built in, or on disk)
//! args = ["{npy}", "--workers", "4"]      # {npy}: the lab's X_train.npy, {raw}: X_train_raw.rbf
//! phases = ["start", "read", "allocated"] # the phases it marks, in order
//! file = "npy"                            # the data file the file_* fields read (npy or raw)
//! timeout = 300                           # seconds before the whole process tree is killed
//! ```
//!
//! The script runs from the lab's report folder (`labNN-report/program/`, with
//! `mmap_lab_mark.py` beside it), its output and measure's report kept there. It must mark
//! from one process only (forked workers share the mark descriptor): workers signal the
//! parent that they are ready and hold still until it has marked.

pub mod record;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::peer::PeerChoice;
use record::ProgramRecord;

/// The phase-mark helper every program may import, written beside it.
const MARK_HELPER: &str = include_str!("../../../python/mmap_lab_mark.py");

/// How long a program may run unless its lab says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The `[program]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramFile {
    script: PathBuf,
    #[serde(default)]
    args: Vec<String>,
    phases: Vec<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    timeout: Option<u64>,
}

/// Which of the lab's data files the `file_*` fields read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFile {
    /// `X_train.npy`.
    Npy,
    /// `X_train_raw.rbf`.
    Raw,
}

impl DataFile {
    /// Its path in `data_dir`.
    pub fn path(self, data_dir: &Path) -> PathBuf {
        data_dir.join(match self {
            DataFile::Npy => crate::dataset::NPY_NAME,
            DataFile::Raw => crate::dataset::RAW_NAME,
        })
    }
}

/// A checked program.
#[derive(Debug, Clone)]
pub struct ProgramSpec {
    /// The script (built in, or on disk).
    pub script: PathBuf,
    /// Its arguments, `{npy}` and `{raw}` not yet filled in.
    pub args: Vec<String>,
    /// The phases it marks, in order: what `program.<phase>.<field>` may name.
    pub phases: Vec<String>,
    /// The data file its `file_*` fields read.
    pub file: DataFile,
    /// How long it may run.
    pub timeout: Duration,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl ProgramSpec {
    /// Checks the `[program]` table of a lab whose spec is in `dir`.
    pub fn check(file: ProgramFile, dir: &Path) -> Result<ProgramSpec, String> {
        let script = dir.join(&file.script);
        if script.extension().is_none_or(|e| e != "py") || !crate::assets::is_file(&script) {
            return Err(format!(
                "program: script {} is not a Python file beside the lab: give its path from the labs folder, e.g. script = \"programs/explain_memory.py\"",
                script.display()
            ));
        }
        if file.phases.is_empty() {
            return Err("program: phases is empty: list the phases the script marks, in order".to_owned());
        }
        for (i, phase) in file.phases.iter().enumerate() {
            if !valid_name(phase) {
                return Err(format!("program: phase '{phase}' must be letters, digits, '_' or '-'"));
            }
            if file.phases[..i].contains(phase) {
                return Err(format!("program: phase '{phase}' is listed twice"));
            }
        }
        for arg in &file.args {
            let mut rest = arg.as_str();
            while let Some(start) = rest.find('{') {
                let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
                let name = &rest[start..end];
                if !["{npy}", "{raw}"].contains(&name) {
                    return Err(format!(
                        "program: argument '{arg}' holds {name}: only {{npy}} (X_train.npy) and {{raw}} (X_train_raw.rbf) are filled in"
                    ));
                }
                rest = &rest[end..];
            }
        }
        let data = match file.file.as_deref() {
            None | Some("npy") => DataFile::Npy,
            Some("raw") => DataFile::Raw,
            Some(other) => return Err(format!("program: file = \"{other}\": give \"npy\" or \"raw\"")),
        };
        let timeout = match file.timeout {
            None => DEFAULT_TIMEOUT,
            Some(s) if (1..=3600).contains(&s) => Duration::from_secs(s),
            Some(s) => return Err(format!("program: timeout = {s}: give 1 to 3600 seconds")),
        };
        Ok(ProgramSpec { script, args: file.args, phases: file.phases, file: data, timeout })
    }

    /// Its arguments for the data in `data_dir`.
    fn arguments(&self, data_dir: &Path) -> Vec<String> {
        let npy = DataFile::Npy.path(data_dir).display().to_string();
        let raw = DataFile::Raw.path(data_dir).display().to_string();
        self.args.iter().map(|a| a.replace("{npy}", &npy).replace("{raw}", &raw)).collect()
    }
}

/// The Python a program runs with: `explicit`, else the one the NumPy column would use;
/// with `off`, none. Without one, the reason (the program's questions are not gradable).
pub fn choose_python(explicit: Option<&Path>, off: bool) -> Result<PeerChoice> {
    if off {
        return Ok(PeerChoice::Without("--no-python was given, so the lab's program is not run".to_owned()));
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    crate::peer::python::find(explicit, &crate::peer::python::candidates(&cwd))
}

/// Kills the process group `pgid`: `measure` and everything the program started.
fn kill_group(pgid: i32) {
    // SAFETY: kill takes a process group id (negated) and a signal number; no memory.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// How the wait for `measure` ended.
enum Ended {
    /// It exited.
    Exited,
    /// It ran past the timeout: its process group was killed.
    TimedOut,
    /// mmap-lab was interrupted: its process group was killed.
    Interrupted,
}

/// Writes the script and the mark helper into `dir`, removes an earlier run's records, and
/// writes the data file's pages back to the disk; returns the script and the data file.
fn stage(spec: &ProgramSpec, dir: &Path, data_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let name = spec.script.file_name().context("the program's script has no file name")?;
    let script = dir.join(name);
    let text = crate::assets::read_input_text(&spec.script, "the lab's program", "check the lab's files")?;
    std::fs::write(&script, text).with_context(|| format!("{}: cannot write", script.display()))?;
    std::fs::write(dir.join("mmap_lab_mark.py"), MARK_HELPER)?;
    for old in ["measure.json", "measure.jsonl"] {
        match std::fs::remove_file(dir.join(old)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e)
                    .with_context(|| format!("{}: cannot remove the last run's", dir.join(old).display()));
            }
            _ => {}
        }
    }
    let data_file = std::fs::canonicalize(spec.file.path(data_dir))
        .with_context(|| format!("{}: the lab's data file is missing", spec.file.path(data_dir).display()))?;
    // Data generated moments ago sits in the page cache as dirty pages until written back,
    // and a dirty page is memory the kernel cannot drop: measured, the program would seem
    // to own the file it only maps. A training script reads a dataset written long before.
    std::fs::File::open(&data_file)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("{}: cannot write its pages back to the disk", data_file.display()))?;
    Ok((script, data_file))
}

/// Waits for `child` (the leader of its own process group) at most `timeout`, or until
/// mmap-lab is interrupted; then kills the whole group.
fn wait_for(child: &mut std::process::Child, timeout: Duration) -> Result<Ended> {
    let pgid = child.id() as i32;
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait()?.is_some() {
            return Ok(Ended::Exited);
        }
        let ended = if crate::interrupt::interrupted() {
            Ended::Interrupted
        } else if Instant::now() >= deadline {
            Ended::TimedOut
        } else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        // Killed before it is reaped, so that the group's id is still its own.
        kill_group(pgid);
        child.wait()?;
        return Ok(ended);
    }
}

/// Runs `spec` with `python` under `mmap-lab measure` on the data in `data_dir`, its files
/// in `out`/program; `None` when interrupted (the program is killed).
pub fn run(
    spec: &ProgramSpec,
    python: &PeerChoice,
    data_dir: &Path,
    out: &Path,
) -> Result<Option<ProgramRecord>> {
    let python = match python {
        PeerChoice::Use(p) => p,
        PeerChoice::Without(why) => return Ok(Some(ProgramRecord::not_run(why.clone()))),
    };
    let dir = out.join("program");
    let (script, data_file) = stage(spec, &dir, data_dir)?;
    let mut command_line = vec![python.path.display().to_string(), script.display().to_string()];
    command_line.extend(spec.arguments(data_dir));
    let output_path = dir.join("output.txt");
    let output = std::fs::File::create(&output_path)
        .with_context(|| format!("{}: cannot create", output_path.display()))?;
    let exe = crate::paths::own_exe().context("cannot find mmap-lab's own binary to run `measure`")?;
    let mut command = Command::new(exe);
    command.arg("measure").arg("--out").arg(&dir).arg("--").args(&command_line);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.stdin(Stdio::null()).stdout(output.try_clone()?).stderr(output);
    let mut child = command.spawn().context("cannot start `mmap-lab measure` for the lab's program")?;
    let timed_out = match wait_for(&mut child, spec.timeout)? {
        Ended::Interrupted => return Ok(None),
        Ended::TimedOut => Some(spec.timeout),
        Ended::Exited => None,
    };
    // measure.json at the end; measure.jsonl, written as it goes, when measure was killed.
    let measured = [dir.join("measure.json"), dir.join("measure.jsonl")]
        .iter()
        .find(|p| p.exists())
        .map(|p| crate::measure::record::load(p))
        .transpose()?
        .unwrap_or_default();
    Ok(Some(ProgramRecord {
        command: command_line,
        not_run: None,
        failed: failure(&measured, timed_out, &output_path),
        phases: ProgramRecord::phases_of(&measured, &data_file),
        explained: crate::measure::explain::explain(&measured),
        data_file,
        report: Some(dir),
    }))
}

/// Why the program did not end well, with the last lines it wrote; none when it exited 0.
fn failure(
    measured: &crate::measure::record::MeasureRecord,
    timed_out: Option<Duration>,
    output: &Path,
) -> Option<String> {
    let exit = measured.exit.clone().unwrap_or_default();
    let how = match (timed_out, exit.code, &exit.signal_name) {
        (Some(limit), ..) => format!("it was killed after its timeout of {} s", limit.as_secs()),
        (None, Some(0), _) => return None,
        (None, Some(code), _) => format!("it exited with status {code}"),
        (None, None, Some(signal)) => format!("it was killed by {signal}"),
        (None, None, None) => "it ended without an exit status".to_owned(),
    };
    let text = std::fs::read_to_string(output).unwrap_or_default();
    // The program's own words come before measure's summary, which ends the file.
    let text = text.rfind("\nmmap-lab measure: ").map_or(text.as_str(), |at| &text[..at]);
    let last: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).rev().take(3).collect();
    let said = last.into_iter().rev().collect::<Vec<_>>().join(" / ");
    Some(format!(
        "{how}{}; its output is in {}",
        if said.is_empty() { String::new() } else { format!(": {said}") },
        output.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(table: &str) -> Result<ProgramSpec, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("programs")).unwrap();
        std::fs::write(dir.path().join("programs/p.py"), "print()\n").unwrap();
        let file: ProgramFile = toml::from_str(table).unwrap();
        ProgramSpec::check(file, dir.path())
    }

    #[test]
    fn a_program_table_is_checked_before_anything_runs() {
        let good =
            check("script = \"programs/p.py\"\nargs = [\"{npy}\", \"-k\", \"4\"]\nphases = [\"a\", \"b\"]")
                .unwrap();
        assert_eq!((good.file, good.timeout, good.phases.len()), (DataFile::Npy, DEFAULT_TIMEOUT, 2));
        assert_eq!(good.arguments(Path::new("/d"))[0], "/d/X_train.npy");
        for (table, says) in [
            ("script = \"programs/q.py\"\nphases = [\"a\"]", "not a Python file"),
            ("script = \"programs/p.py\"\nphases = []", "phases is empty"),
            ("script = \"programs/p.py\"\nphases = [\"a\", \"a\"]", "listed twice"),
            ("script = \"programs/p.py\"\nphases = [\"a b\"]", "letters, digits"),
            ("script = \"programs/p.py\"\nphases = [\"a\"]\nargs = [\"{data}\"]", "only {npy}"),
            ("script = \"programs/p.py\"\nphases = [\"a\"]\nfile = \"csv\"", "\"npy\" or \"raw\""),
            ("script = \"programs/p.py\"\nphases = [\"a\"]\ntimeout = 0", "1 to 3600"),
        ] {
            let err = check(table).unwrap_err();
            assert!(err.starts_with("program: ") && err.contains(says), "{table}: {err}");
        }
    }

    #[test]
    fn without_python_the_program_is_not_run_and_says_why() {
        let why = "no Python with NumPy was found".to_owned();
        let spec = check("script = \"programs/p.py\"\nphases = [\"a\"]").unwrap();
        let record = run(
            &spec,
            &PeerChoice::Without(why.clone()),
            Path::new("/nonexistent"),
            Path::new("/nonexistent"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(record.not_run, Some(why));
        assert!(record.phases.is_empty());
        let off = choose_python(None, true).unwrap();
        assert!(matches!(off, PeerChoice::Without(w) if w.contains("--no-python")));
    }
}
