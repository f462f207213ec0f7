//! `mmap-lab measure`: any program's memory, explained. Runs a command (or attaches to a
//! PID) and samples its whole process tree from outside with [`crate::probe::tree`], on a
//! timer and at the phases the program marks ([`marks`]); writes `measure.json` as it goes
//! and a report, explains the numbers in words, and checks the gates for CI.
//!
//! Exit codes: 1 when a gate was passed; otherwise the command's own exit status (128 + N
//! when signal N killed it, 130 when `measure` was interrupted); 2 for bad input.

pub mod args;
pub mod explain;
pub mod gate;
mod live;
pub mod plots;
pub mod record;
pub mod report;
mod session;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

pub use self::session::default_interval;
pub use crate::marks::{self, MARK_ENV};
use crate::units::Bytes;
use record::MeasureRecord;

/// What to measure.
#[derive(Debug, Clone)]
pub enum Target {
    /// Run this command and measure it and its descendants.
    Command(Vec<String>),
    /// Attach to a running process tree.
    Pid {
        /// Its root.
        pid: i32,
        /// Stop after this long (default: until it exits).
        duration: Option<Duration>,
    },
}

/// Checked options of one run.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    /// What to measure.
    pub target: Target,
    /// The timer's interval (default: from the probe's measured cost).
    pub interval: Option<Duration>,
    /// Where to write measure.json and the report.
    pub out: Option<PathBuf>,
    /// Gate on own memory.
    pub max_own: Option<Bytes>,
    /// Gate on summed PSS.
    pub max_pss: Option<Bytes>,
    /// Draw the live line (when stderr is a terminal).
    pub live: bool,
}

/// Runs `measure`; returns the exit code.
pub fn run(options: &MeasureOptions) -> Result<u8> {
    if let Some(dir) = &options.out {
        crate::error::writable_dir(dir, "--out")?;
    }
    let record = session::run(options)?;
    if let Some(dir) = &options.out {
        report::write(dir, &record)?;
    }
    eprint!("{}", summary(&record, options.out.as_deref()));
    Ok(exit_code(&record))
}

/// The exit code for a finished record.
pub fn exit_code(record: &MeasureRecord) -> u8 {
    if !record.breaches.is_empty() {
        return 1;
    }
    let Some(exit) = &record.exit else { return 1 };
    if exit.interrupted {
        return 130;
    }
    match (exit.code, exit.signal) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        (None, Some(signal)) => (128 + signal).clamp(0, 255) as u8,
        (None, None) => 0,
    }
}

/// What the terminal shows at the end: how it ended, the explanation, the gates.
pub fn summary(record: &MeasureRecord, out: Option<&std::path::Path>) -> String {
    let mut text = String::from("\nmmap-lab measure: ");
    let exit = record.exit.clone().unwrap_or_default();
    text.push_str(&match (exit.code, &exit.signal_name) {
        _ if exit.interrupted => "interrupted (Ctrl-C); the samples so far are kept".to_owned(),
        _ if exit.still_running => format!("stopped watching process {} (still running)", record.pid),
        (Some(code), _) => format!("the command exited with status {code}"),
        (None, Some(name)) => format!(
            "the command was killed by {name} (signal {}); the samples up to then are kept",
            exit.signal.unwrap_or(0)
        ),
        (None, None) => format!("process {} exited", record.pid),
    });
    let phases = record.samples.iter().filter(|s| s.phase.is_some()).count();
    text.push_str(&format!(", {} samples ({phases} at phase marks)\n\n", record.samples.len()));
    for sentence in explain::explain(record) {
        text.push_str(&format!("- {sentence}\n"));
    }
    if !record.breaches.is_empty() {
        text.push_str("\nGATE PASSED (exit status 1):\n");
        text.push_str(&gate::table(&record.breaches));
    }
    if let Some(dir) = out {
        text.push_str(&format!(
            "\nWrote {}/measure.json and the report {}/measure.md\n",
            dir.display(),
            dir.display()
        ));
    }
    text
}

/// Parses a size: `2GiB`, `512MiB`, `1.5G`, `4096` (bytes). K, M, G, T are powers of
/// 1024, with or without `iB`; `kB`, `MB`, `GB`, `TB` are powers of 1000.
pub fn parse_size(text: &str) -> std::result::Result<Bytes, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("'{text}' is not a size; write e.g. 2GiB, 512MiB or 4096"))?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KiB" | "k" => 1024.0,
        "M" | "MiB" => 1024.0 * 1024.0,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TiB" => 1024f64.powi(4),
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        other => {
            return Err(format!(
                "'{other}' is not a unit of size; use B, KiB, MiB, GiB, TiB (or kB, MB, GB, TB)"
            ));
        }
    };
    Ok((value * scale).round() as Bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert_eq!(parse_size("3MB").unwrap(), 3_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn exit_codes_follow_gates_then_the_command() {
        use record::{ExitRecord, GateBreach};
        let mut record = MeasureRecord {
            exit: Some(ExitRecord { code: Some(3), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(exit_code(&record), 3);
        record.exit = Some(ExitRecord { signal: Some(9), ..Default::default() });
        assert_eq!(exit_code(&record), 137);
        record.breaches.push(GateBreach {
            gate: "max_own".into(),
            limit_bytes: 1,
            first_t_ns: 0,
            peak_bytes: 2,
        });
        assert_eq!(exit_code(&record), 1);
    }
}
