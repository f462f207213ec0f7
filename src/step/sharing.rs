//! Sharing between processes: K workers, like a data loader's, each reading the whole
//! array at once, either through one shared file mapping or each loading its own copy.
//!
//! The step's process coordinates: it starts K `mmap-lab __worker` processes, each opens
//! the array as the spec says and makes a full pass, reports, and then waits. Once all K
//! have reported, the coordinator marks `workers` and the runner reads every worker's
//! `/proc/PID/smaps_rollup` from outside (RSS, and PSS: each shared page divided among the
//! processes that map it); then the coordinator lets them exit.
//! Mapped, the K workers share one copy in the page cache and their total PSS stays near
//! one file; loaded, each holds its own copy and the total is a file per worker.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::probe::{Phase, Probe};
use crate::results::{SharingStats, StepResult, WorkerSample};
use crate::spec::Status;
use crate::step::{StepPlan, open_array};
use crate::units::Nanos;

/// The hidden subcommand a worker runs.
pub const WORKER_COMMAND: &str = "__worker";

/// What a worker tells the coordinator when its pass is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Time to open the array.
    pub open_ns: Nanos,
    /// Time of the full pass.
    pub pass_ns: Nanos,
    /// The sum of the pass (`null` if not finite).
    pub sum: Option<f64>,
    /// The error, if opening failed.
    pub error: Option<String>,
}

/// Worker side: reads a plan line on stdin, opens and reads the array, prints a
/// [`WorkerReport`] line, then holds the array until stdin closes.
pub fn worker() -> Result<()> {
    let mut stdin = BufReader::new(std::io::stdin().lock());
    let mut line = String::new();
    stdin.read_line(&mut line).context("reading the worker plan from stdin")?;
    let plan: StepPlan = serde_json::from_str(&line).context("the worker plan on stdin is not valid")?;
    let started = Instant::now();
    let report = match open_array(&plan) {
        Ok(array) => {
            let open_ns = started.elapsed().as_nanos() as Nanos;
            let pass = Instant::now();
            let sum = black_box(array.sum());
            let report = WorkerReport {
                open_ns,
                pass_ns: pass.elapsed().as_nanos() as Nanos,
                sum: sum.is_finite().then_some(sum),
                error: None,
            };
            send_and_hold(&report, &mut stdin)?;
            drop(array);
            return Ok(());
        }
        Err(e) => WorkerReport { open_ns: 0, pass_ns: 0, sum: None, error: Some(e.to_string()) },
    };
    send_and_hold(&report, &mut stdin)
}

fn send_and_hold(report: &WorkerReport, stdin: &mut impl Read) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, report)?;
    out.write_all(b"\n")?;
    out.flush()?;
    // Hold everything until the coordinator has measured all workers and closes our stdin.
    let mut rest = Vec::new();
    let _ = stdin.read_to_end(&mut rest);
    Ok(())
}

/// Coordinator side, inside the step's process: runs `plan.workers` workers and fills the
/// step's result with what each held while all were alive.
pub fn coordinate(
    plan: &StepPlan,
    mut probe: Probe,
    mut result: StepResult,
    started: Instant,
) -> Result<StepResult> {
    let count = plan.workers.unwrap_or(1).max(1);
    let exe = crate::paths::own_exe().context("cannot find mmap-lab's own executable to start workers")?;
    let line = serde_json::to_string(plan)?;
    let mut children: Vec<Child> = Vec::new();
    for _ in 0..count {
        let mut child = Command::new(&exe)
            .arg(WORKER_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a worker process")?;
        if let Some(stdin) = child.stdin.as_mut() {
            writeln!(stdin, "{line}").context("cannot send the plan to a worker")?;
        }
        children.push(child);
    }
    let outcome = collect(&mut children);
    // Every worker holds its pass now: the runner reads them all from outside at this mark.
    let marked = probe.mark("workers");
    for child in &mut children {
        drop(child.stdin.take()); // lets the worker exit
    }
    for child in &mut children {
        let _ = child.wait();
    }
    match outcome {
        Ok(stats) => {
            marked?;
            result.snapshots.push(probe.snapshot(Phase::AfterAccess)?);
            if let Some(e) = stats.1 {
                result.status = Status::Error;
                result.error = Some(e);
            }
            result.workers = Some(stats.0);
        }
        Err(e) => {
            result.status = Status::Error;
            result.error = Some(format!("{e:#}"));
        }
    }
    result.process_ns = started.elapsed().as_nanos() as Nanos;
    Ok(result)
}

/// Waits for every worker's report, then measures all of them; returns the stats and the
/// first worker error, if any.
fn collect(children: &mut [Child]) -> Result<(SharingStats, Option<String>)> {
    let mut reports = Vec::with_capacity(children.len());
    for child in children.iter_mut() {
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("worker stdout missing"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).context("reading a worker's report")?;
        let report: WorkerReport = serde_json::from_str(&line).map_err(|_| {
            anyhow!("a worker ended without a report (killed? out of memory?): {}", line.trim())
        })?;
        reports.push(report);
    }
    let per_worker: Vec<WorkerSample> =
        children.iter().zip(&reports).map(|(child, report)| sample(child.id() as i32, report)).collect();
    let first_error = reports.iter().find_map(|r| r.error.clone());
    let sums_agree = per_worker.windows(2).all(|w| w[0].sum.to_bits() == w[1].sum.to_bits());
    let stats = SharingStats {
        count: per_worker.len() as u32,
        total_rss_bytes: per_worker.iter().map(|w| w.rss_bytes).sum(),
        total_pss_bytes: per_worker.iter().map(|w| w.pss_bytes).sum(),
        per_worker,
        sums_agree,
    };
    Ok((stats, first_error))
}

/// One worker's own report; its memory is filled in by the runner, which reads every
/// worker from outside at the coordinator's `workers` mark.
fn sample(pid: i32, report: &WorkerReport) -> WorkerSample {
    WorkerSample {
        pid: Some(pid),
        rss_bytes: 0,
        rss_anon_bytes: 0,
        rss_file_bytes: 0,
        pss_bytes: 0,
        pss_anon_bytes: 0,
        pss_file_bytes: 0,
        open_ns: report.open_ns,
        pass_ns: report.pass_ns,
        sum: report.sum.unwrap_or(f64::NAN),
    }
}
