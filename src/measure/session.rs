//! One run of `measure`: start the command (or attach to a PID), sample its tree on the
//! timer and at every phase mark, until it ends, its duration runs out or Ctrl-C.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::record::{ExitRecord, MeasureRecord, RecordWriter, SCHEMA_VERSION, Sample};
use super::{MeasureOptions, Target, gate, live};
use crate::marks::{MARK_ENV, MarkChannel, Wait};
use crate::probe::tree::{TreeProbe, check_attach};
use crate::units::Nanos;

/// The shortest default interval.
const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// The longest default interval.
const MAX_INTERVAL: Duration = Duration::from_secs(1);
/// The default interval is this many times one snapshot's cost: the probe then takes
/// about 1/20 of one core.
const COST_FACTOR: u32 = 20;
/// After Ctrl-C, how long the command gets to end before it is killed.
const GRACE: Duration = Duration::from_secs(2);

/// The interval chosen from a snapshot's cost, when none is given.
pub fn default_interval(cost: Duration) -> Duration {
    (cost * COST_FACTOR).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// The measured process: a child of ours, or one we attached to.
struct Measured {
    pid: i32,
    child: bool,
    marks: Option<MarkChannel>,
}

/// Runs the session; returns the record (already written when `--out` was given).
pub fn run(options: &MeasureOptions) -> Result<MeasureRecord> {
    crate::interrupt::install();
    let started = Instant::now();
    let mut measured = start(&options.target)?;
    let mut probe = if measured.child {
        // Workers whose parent exits are re-parented to us, and stay in the tree.
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag and nothing else.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
        TreeProbe::under_this_process()
    } else {
        TreeProbe::new(vec![measured.pid])
    };
    let first = probe.snapshot();
    let interval = options.interval.unwrap_or_else(|| default_interval(Duration::from_nanos(first.probe_ns)));
    let mut record = MeasureRecord {
        version: SCHEMA_VERSION,
        machine: Some(crate::machine::Machine::detect(std::path::Path::new("."))),
        command: match &options.target {
            Target::Command(args) => args.clone(),
            Target::Pid { .. } => Vec::new(),
        },
        pid: measured.pid,
        started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        interval_ns: interval.as_nanos() as Nanos,
        mark_env: measured.child.then(|| MARK_ENV.to_owned()),
        ..MeasureRecord::default()
    };
    let mut writer = options.out.as_deref().map(|dir| RecordWriter::create(dir, &record)).transpose()?;
    let mut gates = gate::Gates::new(options.max_own, options.max_pss);
    let mut line = live::LiveLine::new(options.live);
    let mut push = |record: &mut MeasureRecord, sample: Sample| -> Result<()> {
        gates.check(&sample);
        line.show(&sample);
        if let Some(w) = writer.as_mut() {
            w.sample(&sample)?;
        }
        record.samples.push(sample);
        Ok(())
    };
    push(
        &mut record,
        Sample { t_ns: started.elapsed().as_nanos() as Nanos, tree: first, ..Sample::default() },
    )?;
    let deadline = match options.target {
        Target::Pid { duration, .. } => duration.map(|d| started + d),
        Target::Command(_) => None,
    };
    let mut next = Instant::now() + interval;
    let mut interrupted_at: Option<Instant> = None;
    let exit = loop {
        if let Some(exit) = ended(&measured) {
            break exit;
        }
        if crate::interrupt::interrupted() {
            match (interrupted_at, measured.child) {
                (_, false) => {
                    break ExitRecord { interrupted: true, still_running: true, ..ExitRecord::default() };
                }
                (None, true) => {
                    interrupted_at = Some(Instant::now());
                    // A Ctrl-C on the terminal reached the command too; a SIGINT sent to
                    // `measure` alone is passed on.
                    // SAFETY: kill takes a pid and a signal number.
                    unsafe { libc::kill(measured.pid, libc::SIGINT) };
                }
                (Some(at), true) if at.elapsed() > GRACE => {
                    // SAFETY: as above.
                    unsafe { libc::kill(measured.pid, libc::SIGKILL) };
                }
                _ => {}
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break ExitRecord { still_running: true, ..ExitRecord::default() };
        }
        let wait = next.saturating_duration_since(Instant::now()).min(Duration::from_millis(100));
        let mark = match measured.marks.as_mut() {
            Some(marks) => marks.wait(wait)?,
            None => {
                std::thread::sleep(wait);
                Wait::Timeout
            }
        };
        match mark {
            Wait::Mark(name) => {
                let asked = Instant::now();
                let tree = probe.snapshot();
                if let Some(marks) = measured.marks.as_mut() {
                    marks.answer();
                }
                let pause = asked.elapsed().as_nanos() as Nanos;
                let t_ns = asked.duration_since(started).as_nanos() as Nanos;
                push(&mut record, Sample { t_ns, phase: Some(name), pause_ns: Some(pause), tree })?;
                next = Instant::now() + interval;
            }
            Wait::Timeout if Instant::now() >= next => {
                let t_ns = started.elapsed().as_nanos() as Nanos;
                let tree = probe.snapshot();
                if !tree.processes.is_empty() {
                    push(&mut record, Sample { t_ns, tree, ..Sample::default() })?;
                }
                next += interval;
                if next < Instant::now() {
                    next = Instant::now() + interval;
                }
            }
            Wait::Timeout => {}
        }
    };
    line.finish();
    record.exit = Some(ExitRecord { interrupted: exit.interrupted || interrupted_at.is_some(), ..exit });
    record.breaches = gates.breaches();
    if let Some(w) = writer {
        w.finish(&record)?;
    }
    Ok(record)
}

/// Starts the command with the phase-mark descriptor, or checks the PID.
fn start(target: &Target) -> Result<Measured> {
    match target {
        Target::Pid { pid, .. } => {
            check_attach(*pid).map_err(|e| crate::error::input(e.to_string()))?;
            Ok(Measured { pid: *pid, child: false, marks: None })
        }
        Target::Command(args) => {
            let (program, rest) = args.split_first().ok_or_else(|| {
                crate::error::input("no command to measure: give one after --, e.g. `mmap-lab measure -- python3 train.py`, or --pid PID")
            })?;
            let (marks, theirs) = MarkChannel::pair()?;
            let mut command = std::process::Command::new(program);
            command.args(rest);
            crate::marks::inherit(&mut command, theirs.as_raw_fd());
            let child = command.spawn().map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => crate::error::input(format!(
                    "{program}: command not found (not a file, and not in any folder of PATH); check its name"
                )),
                std::io::ErrorKind::PermissionDenied => crate::error::input(format!(
                    "{program}: permission denied: it is not executable by you (chmod +x it, or run it through its interpreter)"
                )),
                _ => anyhow::Error::new(e).context(format!("cannot start {program}")),
            })?;
            drop(theirs);
            let pid = child.id() as i32;
            // Reaped by `ended` through waitpid, with the other children a subreaper gets.
            drop(child);
            Ok(Measured { pid, child: true, marks: Some(marks) })
        }
    }
}

/// How the measured process ended, if it has; reaps every finished child of ours.
fn ended(measured: &Measured) -> Option<ExitRecord> {
    if !measured.child {
        let gone = procfs::process::Process::new(measured.pid)
            .and_then(|p| p.stat())
            .map_or(true, |s| s.state == 'Z' || s.state == 'X');
        return gone.then(ExitRecord::default);
    }
    let mut found = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a live integer.
        let pid = unsafe { libc::waitpid(-1, &raw mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
        if pid == measured.pid {
            found = Some(exit_record(status));
        }
    }
    found
}

/// The exit record of a `waitpid` status.
fn exit_record(status: libc::c_int) -> ExitRecord {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        ExitRecord {
            signal: Some(signal),
            signal_name: Some(crate::child::signal_name(signal)),
            ..ExitRecord::default()
        }
    } else {
        ExitRecord { code: Some(libc::WEXITSTATUS(status)), ..ExitRecord::default() }
    }
}
