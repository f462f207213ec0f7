//! mmap-lab: a reproducible experiment suite around NumPy's memory-mapping tutorial.
//!
//! The tutorial opens a (4002, 120, 120, 3) float64 training array four ways and "measures"
//! memory with `sys.getsizeof`. mmap-lab generates that array ([`dataset`]), opens it the
//! same ways ([`open`]), each step in its own process ([`runner`], [`step`]), measures what
//! really happens ([`probe`], [`cache`]) and writes it up ([`results`], [`report`]).
//!
//! # The house
//!
//! The modules stand in layers. A module uses only its own layer (without a loop) and the
//! layers below it; `tests/layers.rs` reads every `crate::` path against this picture and fails
//! the build on a cycle or an upward import, naming the file and line.
//!
//! ```text
//!   8 │ cli
//!   7 │ suite
//!   6 │ report check lab measure console
//!   5 │ runner peer
//!   4 │ step child formats sharing
//!   3 │ results
//!   2 │ spec dataset inspect
//!   1 │ npy open probe cache machine kernels
//!   0 │ units error fsio assets interrupt progress shape dtype
//! ```
//!
//! Linux only: the measurements read `/proc`, ask the page cache with `cachestat` or
//! `mincore`, and advise mappings with Linux's `madvise` flags.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "mmap-lab measures Linux's page cache and /proc, and builds on Linux only (WSL2 works: it runs a \
     Linux kernel). On macOS or Windows, run it in a Linux VM, a container or WSL2."
);

pub mod assets;
pub mod cache;
pub mod check;
pub mod child;
pub mod cli;
pub mod console;
pub mod dataset;
pub mod dtype;
pub mod error;
pub mod formats;
pub mod fsio;
pub mod inspect;
pub mod interrupt;
pub mod kernels;
pub mod lab;
pub mod machine;
pub mod measure;
pub mod npy;
pub mod open;
pub mod peer;
pub mod probe;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod shape;
pub mod sharing;
pub mod spec;
pub mod step;
pub mod suite;
pub mod units;
