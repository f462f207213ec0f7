//! `mmap-lab`: arguments -> options -> dataset -> runner -> results -> report.

use std::process::ExitCode;

use clap::Parser;
use mmap_lab::cli::{self, Cli};

/// Large blocks get transparent huge pages, as NumPy's arrays do ([`mmap_lab::alloc`]): every
/// step, worker and library copy then allocates the way its NumPy peer does.
#[global_allocator]
static ALLOCATOR: mmap_lab::alloc::HugePageAllocator = mmap_lab::alloc::HugePageAllocator;

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
