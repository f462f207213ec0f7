//! `mmap-lab`: arguments -> options -> dataset -> runner -> results -> report.

use std::process::ExitCode;

use clap::Parser;
use mmap_lab::cli::{self, Cli};

fn main() -> ExitCode {
    let args = Cli::parse();
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            mmap_lab::errln!("error: {error:#}");
            ExitCode::from(mmap_lab::error::exit_code(&error) as u8)
        }
    }
}
