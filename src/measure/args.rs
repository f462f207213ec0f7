//! The `measure` subcommand's arguments, checked into [`MeasureOptions`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::{MeasureOptions, Target, parse_size};
use crate::units::Bytes;

/// Options of `measure`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  mmap-lab measure -- python3 train.py --epochs 1
      run a command and measure it and every process it starts
  mmap-lab measure --pid 4242 --duration 30s
      attach to a running process tree for 30 seconds
  mmap-lab measure --out runs/train --max-own 2GiB -- python3 train.py
      write measure.json and a report; exit 1 if own memory passes 2 GiB

Phase marks: the command finds a descriptor number in $MMAP_LAB_MARK_FD; writing
`name\\n` to it and reading one byte back takes a snapshot named `name` while it waits
(python/mmap_lab_mark.py does it in Python). See docs/measure.md.

Exit status: 1 when a gate (--max-own, --max-pss) was passed; otherwise the command's
own status (128+N if signal N killed it; 130 if measure was interrupted); 2 for bad input.")]
pub struct MeasureArgs {
    /// Attach to this running process (and its descendants) instead of running a command.
    #[arg(long, conflicts_with = "command")]
    pub pid: Option<i32>,
    /// With --pid: stop after this long, e.g. 30s or 5min [default: until it exits].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "pid")]
    pub duration: Option<Duration>,
    /// Time between samples, e.g. 100ms [default: 20 × one snapshot's measured cost, 50 ms to 1 s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,
    /// Write measure.jsonl (as it goes), then measure.json, measure.md and plots, into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 1 if the tree's own memory (anonymous + shared memory + dirty file pages,
    /// PSS-weighted) passes SIZE at any sample, e.g. 2GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_own: Option<Bytes>,
    /// Exit 1 if the tree's summed PSS passes SIZE at any sample.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_pss: Option<Bytes>,
    /// No live line on the terminal.
    #[arg(long)]
    pub quiet: bool,
    /// The command to run, after `--`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    pub command: Vec<String>,
}

impl MeasureArgs {
    /// Checks the arguments into options.
    pub fn options(self) -> Result<MeasureOptions> {
        let target = match self.pid {
            Some(pid) => Target::Pid { pid, duration: self.duration },
            None if self.command.is_empty() => {
                return Err(crate::error::input(
                    "no command to measure: give one after --, e.g. `mmap-lab measure -- python3 train.py`, or attach with --pid PID",
                ));
            }
            None => Target::Command(self.command),
        };
        if self.interval.is_some_and(|i| i < Duration::from_millis(1)) {
            return Err(crate::error::input(
                "--interval below 1ms would only measure the probe; give 1ms or more",
            ));
        }
        Ok(MeasureOptions {
            target,
            interval: self.interval,
            out: self.out,
            max_own: self.max_own,
            max_pss: self.max_pss,
            live: !self.quiet,
        })
    }
}
