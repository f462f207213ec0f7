//! What `check` measures: named metrics, each with a kind that decides how it is compared.
//!
//! A metric's name is `step.kind` (`npy_load_mmap.rss_after_open`) or, for the run as a
//! whole, the kind alone (`npy_header_bytes`, `in_memory_pass`). Step ids are letters,
//! digits, `_` and `-` (the spec parser checks), so the last `.` always splits a name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::units::{Bytes, Nanos};

/// What a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Bytes the .npy file has beyond the raw one: its header (128 for the tutorial).
    NpyHeaderBytes,
    /// Time of one pass over an in-memory buffer of the data's size: the reference that
    /// step times are divided by.
    InMemoryPass,
    /// How a step ended, and what it opened: status, dtype, shape, whether it is the
    /// original.
    Outcome,
    /// The opened array's object size (the analogue of `sys.getsizeof`).
    ObjectBytes,
    /// RSS growth from `before_open` to `after_open`: what opening costs in memory.
    RssAfterOpen,
    /// RSS growth from `before_open` to `after_first`: opening plus the first element.
    RssAfterFirst,
    /// File-backed bytes resident in the process after the first element (`RssFile`
    /// growth from `before_open` to `after_first`): how much of the file one element maps.
    ResidentAfterFirst,
    /// Time to open (parse the header if any, map).
    OpenTime,
    /// Time to read the first element of a fresh mapping.
    FirstTime,
    /// Time of a full pass over a fresh mapping, warm cache.
    PassTime,
}

/// How a kind of metric is compared with its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Must equal the baseline.
    Equal,
    /// Must not exceed the baseline plus a slack in bytes (see [`super::Tolerances`]).
    AtMostBytes,
    /// A time, compared as a ratio to the run's [`MetricKind::InMemoryPass`].
    Time,
    /// Shown, never compared.
    Info,
}

impl MetricKind {
    /// Every kind, in table order.
    pub const ALL: [MetricKind; 10] = [
        MetricKind::NpyHeaderBytes,
        MetricKind::InMemoryPass,
        MetricKind::Outcome,
        MetricKind::ObjectBytes,
        MetricKind::RssAfterOpen,
        MetricKind::RssAfterFirst,
        MetricKind::ResidentAfterFirst,
        MetricKind::OpenTime,
        MetricKind::FirstTime,
        MetricKind::PassTime,
    ];

    /// The name used in metric names, tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::NpyHeaderBytes => "npy_header_bytes",
            MetricKind::InMemoryPass => "in_memory_pass",
            MetricKind::Outcome => "outcome",
            MetricKind::ObjectBytes => "object_bytes",
            MetricKind::RssAfterOpen => "rss_after_open",
            MetricKind::RssAfterFirst => "rss_after_first",
            MetricKind::ResidentAfterFirst => "resident_after_first",
            MetricKind::OpenTime => "open_time",
            MetricKind::FirstTime => "first_time",
            MetricKind::PassTime => "pass_time",
        }
    }

    /// Whether the metric belongs to one step (rather than to the run).
    pub fn per_step(self) -> bool {
        !matches!(self, MetricKind::NpyHeaderBytes | MetricKind::InMemoryPass)
    }

    /// How it is compared.
    pub fn rule(self) -> Rule {
        match self {
            MetricKind::NpyHeaderBytes | MetricKind::Outcome => Rule::Equal,
            MetricKind::ObjectBytes
            | MetricKind::RssAfterOpen
            | MetricKind::RssAfterFirst
            | MetricKind::ResidentAfterFirst => Rule::AtMostBytes,
            MetricKind::OpenTime | MetricKind::FirstTime | MetricKind::PassTime => Rule::Time,
            MetricKind::InMemoryPass => Rule::Info,
        }
    }

    /// Whether a value has the form this kind needs.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            MetricKind::Outcome => matches!(value, Value::Text { .. }),
            MetricKind::NpyHeaderBytes
            | MetricKind::ObjectBytes
            | MetricKind::RssAfterOpen
            | MetricKind::RssAfterFirst
            | MetricKind::ResidentAfterFirst => matches!(value, Value::Bytes { .. }),
            MetricKind::InMemoryPass
            | MetricKind::OpenTime
            | MetricKind::FirstTime
            | MetricKind::PassTime => {
                matches!(value, Value::Time { ratio, .. } if ratio.is_finite() && *ratio >= 0.0)
            }
        }
    }
}

/// A metric's name: the step it belongs to, if any, and its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricName {
    /// The step's id, for per-step metrics.
    pub step: Option<String>,
    /// What it measures.
    pub kind: MetricKind,
}

impl MetricName {
    /// A metric of the run as a whole.
    pub fn run(kind: MetricKind) -> MetricName {
        MetricName { step: None, kind }
    }

    /// A metric of step `id`.
    pub fn step(id: &str, kind: MetricKind) -> MetricName {
        MetricName { step: Some(id.to_owned()), kind }
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(f, "{step}.{}", self.kind.name()),
            None => f.write_str(self.kind.name()),
        }
    }
}

impl FromStr for MetricName {
    type Err = String;
    fn from_str(text: &str) -> Result<MetricName, String> {
        let (step, kind_name) = match text.rsplit_once('.') {
            Some((step, kind)) => (Some(step), kind),
            None => (None, text),
        };
        let kind = MetricKind::ALL
            .into_iter()
            .find(|k| k.name() == kind_name)
            .ok_or_else(|| format!("unknown metric '{text}'"))?;
        match step {
            Some(s) if kind.per_step() && !s.is_empty() => Ok(MetricName::step(s, kind)),
            None if !kind.per_step() => Ok(MetricName::run(kind)),
            _ => Err(format!(
                "metric '{text}': '{kind_name}' belongs {}",
                if kind.per_step() { "to a step" } else { "to the run, not a step" }
            )),
        }
    }
}

impl Serialize for MetricName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MetricName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A time, with its ratio to an in-memory reference pass timed beside it.
    Time {
        /// Median duration.
        ns: Nanos,
        /// `ns` divided by `reference_ns`.
        ratio: f64,
        /// Median reference time: for a pass, the same kernel over the same number of
        /// bytes in memory; for opens and first elements, the run's `in_memory_pass`.
        reference_ns: Nanos,
    },
    /// A byte count.
    Bytes {
        /// The count.
        bytes: Bytes,
    },
    /// A description that must stay the same.
    Text {
        /// The description.
        text: String,
    },
}

impl Value {
    /// The byte count, for byte metrics.
    pub fn bytes(&self) -> Option<Bytes> {
        match self {
            Value::Bytes { bytes } => Some(*bytes),
            _ => None,
        }
    }

    /// Duration, ratio and reference duration, for time metrics.
    pub fn time(&self) -> Option<(Nanos, f64, Nanos)> {
        match self {
            Value::Time { ns, ratio, reference_ns } => Some((*ns, *ratio, *reference_ns)),
            _ => None,
        }
    }
}

/// One metric and its value (read by [`super::metric_de`], whose errors name the metric,
/// the key and the type expected).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Its name.
    pub metric: MetricName,
    /// Its value.
    #[serde(flatten)]
    pub value: Value,
}

impl Metric {
    /// A byte metric.
    pub fn bytes(metric: MetricName, bytes: Bytes) -> Metric {
        Metric { metric, value: Value::Bytes { bytes } }
    }

    /// A time metric from `(time, reference time)` samples, one per repetition: the
    /// median time, the median reference, and their ratio. `None` without samples.
    pub fn time(metric: MetricName, samples: &[(Nanos, Nanos)]) -> Option<Metric> {
        let ns = median(&samples.iter().map(|s| s.0).collect::<Vec<_>>())?;
        let reference_ns = median(&samples.iter().map(|s| s.1).collect::<Vec<_>>())?;
        let ratio = if reference_ns == 0 { 0.0 } else { ns as f64 / reference_ns as f64 };
        Some(Metric { metric, value: Value::Time { ns, ratio, reference_ns } })
    }

    /// A text metric.
    pub fn text(metric: MetricName, text: impl Into<String>) -> Metric {
        Metric { metric, value: Value::Text { text: text.into() } }
    }
}

/// The median of `values` ([`crate::stats`]'s one definition); `None` when empty.
pub fn median(values: &[u64]) -> Option<u64> {
    crate::stats::median(values)
}
