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
//!   9 │ cli
//!   8 │ suite
//!   7 │ report check lab measure console
//!   6 │ runner peer
//!   5 │ step child
//!   4 │ results
//!   3 │ spec dataset inspect formats
//!   2 │ open probe cache machine marks
//!   1 │ npy error fsio assets interrupt progress kernels
//!   0 │ units stats dtype shape paths
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
pub mod marks;
pub mod measure;
pub mod npy;
pub mod open;
pub mod paths;
pub mod peer;
pub mod probe;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod shape;
pub mod spec;
pub mod stats;
pub mod step;
pub mod suite;
pub mod units;
