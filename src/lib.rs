//! mmap-lab: a reproducible experiment suite around NumPy's memory-mapping tutorial.
//!
//! The tutorial opens a (4002, 120, 120, 3) float64 training array four ways and "measures"
//! memory with `sys.getsizeof`. mmap-lab generates that array ([`dataset`]), opens it the
//! same ways ([`open`]), each step in its own process ([`runner`], [`step`]), measures what
//! really happens ([`probe`], [`cache`]) and writes it up ([`results`], [`report`]).
//!
//! # The house
//!
//! The modules stand in layers, like the floors of a house: a module uses its own floor
//! (without a loop) and the floors below it, never one above. `tests/layers.rs` reads every
//! `crate::` and `super::` path of `src/` against the picture below (it parses these lines)
//! and fails on a cycle between modules or an upward import, naming the file and line.
//!
//! ```text
//!  10 │ cli
//!   9 │ lab
//!   8 │ suite
//!   7 │ report check measure observe console
//!   6 │ runner peer
//!   5 │ step child
//!   4 │ results
//!   3 │ spec dataset inspect formats
//!   2 │ open probe cache machine marks
//!   1 │ npy error fsio assets interrupt progress kernels alloc
//!   0 │ units stats dtype shape paths examples
//! ```
//!
//! From the bottom: names and formats of units ([`units`]: bytes, times and counts, said
//! once), the one median ([`stats`]), dtypes and shapes; the .npy format ([`npy`]) and the
//! error types, large allocations on huge pages ([`alloc`]); the openers ([`open`]) and what a process sees ([`probe`], [`cache`]); the
//! experiment specs ([`spec`], parsed into types once) and the data they read ([`dataset`],
//! [`formats`]); the record of a run ([`results`], the schema of `results.json`, which every
//! step writes); one step in its own process ([`step`], its sharing workers in
//! [`step::sharing`]) and the processes that carry it ([`child`], read from outside by
//! [`child::outside`]); the runner that starts them with their NumPy peers ([`runner`],
//! [`peer`]), and its headline rounds ([`runner::rounds`]); everything that reads results
//! ([`report`], [`check`], [`measure`]), and what a run tells as it goes ([`observe`], shown on
//! the terminal by [`console`]); the whole run ([`suite`], its stages); the labs
//! ([`lab`], which run the suite and grade its results); the command line ([`cli`]); `main`.
//!
//! The run itself reads as its diagram: `main` parses the command line ([`cli`]) into checked
//! options; [`suite::run`] is the stages in order (check, dataset, plan, steps with their
//! NumPy peers, headline rounds, results, report), each a function that prints nothing and
//! tells a [`observe::RunObserver`] what happened ([`console::Terminal`] on a terminal).
//!
//! Where a new thing goes: a new experiment group is a spec file in `experiments/` (and, for
//! a new access pattern, a variant of [`spec::AccessSpec`] and its reading in `step/access.rs`);
//! a new kind of step (like sharing) is a [`step::StepKind`] with its child command; a new plot
//! is one file in `report/plots/`; a new probe field is a field of [`probe::Snapshot`], filled
//! in [`child::outside`] (or of [`probe::tree::ProcessSnapshot`] for `measure`); a new lab
//! question is a field in `lab/fields/` or a question in a lab's TOML file; a new sink for a
//! run's progress is an impl of [`observe::RunObserver`].
//!
//! Linux only: the measurements read `/proc`, ask the page cache with `cachestat` or
//! `mincore`, and advise mappings with Linux's `madvise` flags.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "mmap-lab measures Linux's page cache and /proc, and builds on Linux only (WSL2 works: it runs a \
     Linux kernel). On macOS or Windows, run it in a Linux VM, a container or WSL2."
);

pub mod alloc;
pub mod assets;
pub mod cache;
pub mod check;
pub mod child;
pub mod cli;
pub mod console;
pub mod dataset;
pub mod dtype;
pub mod error;
pub mod examples;
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
pub mod observe;
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
