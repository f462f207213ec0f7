//! Time in a run: the machine's limits measured in it, the paired rounds of a step beside
//! its NumPy peer, the headline's rounds and where a step's wall time went.

use serde::{Deserialize, Serialize};

use super::{PeerResult, StepResult};
use crate::cache::CacheState;
use crate::probe::{Phase, Snapshot};
use crate::units::{Bytes, Nanos};

/// The machine's limits, measured in the run they judge: warm passes against an in-memory
/// pass over the same bytes, cold passes against a plain sequential read of the file after
/// the same eviction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// The step whose pass over memory it owns is the in-memory reference (`npy_load[warm]`).
    pub in_memory_step: Option<String>,
    /// That pass's time: the median of the passes it timed over the loaded array
    /// (`memory_passes`, in every Rust round), or of its Rust rounds' passes.
    pub in_memory_pass_ns: Option<Nanos>,
    /// Bytes it summed.
    pub in_memory_bytes: Option<Bytes>,
    /// The in-memory pass over each span the run's warm passes read (bytes from the start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_memory_spans: Vec<SpanLimit>,
    /// The file read sequentially after an eviction (`read` in 8 MiB blocks).
    pub cold_read_file: Option<String>,
    /// Time of that read (the faster, in runs that timed one before and one after the cold steps).
    pub cold_read_ns: Option<Nanos>,
    /// Every read timed, in run order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cold_reads_ns: Vec<Nanos>,
    /// Bytes it read.
    pub cold_read_bytes: Option<Bytes>,
}

impl Limits {
    /// Bytes per second of the in-memory pass.
    pub fn warm_rate(&self) -> Option<f64> {
        rate(self.in_memory_bytes?, self.in_memory_pass_ns?)
    }

    /// Bytes per second of the sequential read after an eviction.
    pub fn cold_rate(&self) -> Option<f64> {
        rate(self.cold_read_bytes?, self.cold_read_ns?)
    }

    /// The limit for a pass of `bytes` under `cache`: warm, the in-memory pass over the span
    /// nearest in size (the whole array's when no span was timed).
    pub fn rate_for(&self, cache: CacheState, bytes: Bytes) -> Option<f64> {
        match cache {
            CacheState::Warm => {
                self.span_for(bytes).and_then(|s| rate(s.bytes, s.pass_ns)).or_else(|| self.warm_rate())
            }
            CacheState::Cold => self.cold_rate(),
        }
    }

    /// The span of the in-memory pass nearest in size to `bytes`, when spans were timed.
    pub fn span_for(&self, bytes: Bytes) -> Option<&SpanLimit> {
        self.in_memory_spans.iter().min_by_key(|s| s.bytes.abs_diff(bytes))
    }

    /// The warm limit's spread for a pass of `bytes`, as a share of its time: the median
    /// distance of the in-memory passes over the nearest span from their median.
    pub fn warm_spread_for(&self, bytes: Bytes) -> Option<f64> {
        self.span_for(bytes).filter(|s| s.pass_ns > 0).map(|s| s.spread_ns as f64 / s.pass_ns as f64)
    }
}

/// `bytes` in `ns`, per second; `None` for an empty time.
pub fn rate(bytes: Bytes, ns: Nanos) -> Option<f64> {
    (ns > 0).then(|| bytes as f64 * 1e9 / ns as f64)
}

/// Passes over the first `bytes` of an array in memory, each timed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPasses {
    /// Bytes each pass read, from the array's start.
    pub bytes: Bytes,
    /// Each pass's time.
    pub passes_ns: Vec<Nanos>,
}

/// One span of the in-memory limit: the median of its passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanLimit {
    /// Bytes of the span.
    pub bytes: Bytes,
    /// The median pass over it.
    pub pass_ns: Nanos,
    /// The median distance of its passes from that median: how much the memory's own speed
    /// moved while the in-memory passes ran (0 in results written before it was recorded).
    #[serde(default)]
    pub spread_ns: Nanos,
    /// How many passes were timed over it, over all the reference step's Rust rounds.
    #[serde(default)]
    pub passes: u32,
}

/// One round of a step beside its NumPy peer: both sides in fresh processes, one after the
/// other, each after the same cache preparation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedRound {
    /// Whether the Rust step ran first in this round (rounds alternate).
    pub rust_first: bool,
    /// The Rust step's times.
    pub rust: RoundTimes,
    /// NumPy's times.
    pub numpy: RoundTimes,
    /// Whether NumPy agreed with the Rust step in this round.
    pub agrees: bool,
}

impl PairedRound {
    /// The round's times, from both sides' snapshots.
    pub fn of(rust_first: bool, rust: &StepResult, numpy: &PeerResult) -> PairedRound {
        PairedRound {
            rust_first,
            rust: RoundTimes::of(&rust.snapshots),
            numpy: RoundTimes::of(&numpy.snapshots),
            agrees: numpy.agrees,
        }
    }

    /// The round with the memory reported to the host during each side.
    pub fn with_reported(mut self, rust: Option<Bytes>, numpy: Option<Bytes>) -> PairedRound {
        self.rust.reported_bytes = rust;
        self.numpy.reported_bytes = numpy;
        self
    }
}

/// Where one step's wall time went, in the runner: cache preparations, the Rust processes
/// and the NumPy processes, over all its rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTiming {
    /// Everything the runner spent on the step, copies and rounds included.
    pub wall_ns: Nanos,
    /// Writing the step's scratch copy, if it has one.
    pub copy_ns: Nanos,
    /// Preparing the page cache (warming or evicting, and checking), both sides.
    pub prepare_ns: Nanos,
    /// The Rust step's processes, spawn to exit.
    pub rust_ns: Nanos,
    /// NumPy's processes, spawn to exit.
    pub numpy_ns: Nanos,
    /// Rounds run (the first included).
    pub rounds: u32,
    /// Page cache dropped just before the step, of data files no later step reads, so that
    /// the step finds backed memory ([`crate::runner::memory`]); 0 when none was dropped.
    #[serde(default)]
    pub released_bytes: crate::units::Bytes,
    /// Memory the run's reserve touched just before the step, growing beyond what it held
    /// ([`crate::cache::MemoryReserve`]).
    #[serde(default)]
    pub backed_bytes: crate::units::Bytes,
}

/// One step run several times beside its NumPy peer, each time in fresh processes after
/// the same cache preparation: the spread of short times, not one draw of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideBySide {
    /// The step's key (`npy_load_mmap[warm]`).
    pub step: String,
    /// Rust's figures, one per round (the first is the step's own run).
    pub rust: Vec<RoundTimes>,
    /// NumPy's figures, one per round, run right after Rust's.
    pub numpy: Vec<RoundTimes>,
}

/// The times of one round on one side, taken from its snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTimes {
    /// From `before_open` to `after_first`: opening plus reading the first element.
    pub open_first_ns: Option<Nanos>,
    /// From `after_first` to `after_access`: the full pass (`X.sum()`).
    pub pass_ns: Option<Nanos>,
    /// From `before_open` to `after_open`: the open alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_ns: Option<Nanos>,
    /// Free memory the guest kernel handed back to its host (free page reporting) from
    /// this side's cache preparation to its process's end: memory the side may have had
    /// to have backed again ([`crate::cache::reporting`]). `None` where the kernel does not
    /// count it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_bytes: Option<Bytes>,
}

impl RoundTimes {
    /// The times in `snapshots` (a Rust step's or a NumPy peer's).
    pub fn of(snapshots: &[Snapshot]) -> RoundTimes {
        let at = |phase: Phase| snapshots.iter().find(|s| s.phase == phase).map(|s| s.elapsed_ns);
        let span = |from: Phase, to: Phase| Some(at(to)?.saturating_sub(at(from)?));
        RoundTimes {
            open_first_ns: span(Phase::BeforeOpen, Phase::AfterFirst),
            pass_ns: span(Phase::AfterFirst, Phase::AfterAccess),
            open_ns: span(Phase::BeforeOpen, Phase::AfterOpen),
            reported_bytes: None,
        }
    }

    /// The time a step is judged by: its access pattern's, or for a step that reads
    /// nothing beyond the first element, open plus first, or the open alone.
    pub fn judged(&self) -> Option<Nanos> {
        self.pass_ns.or(self.open_first_ns).or(self.open_ns)
    }
}
