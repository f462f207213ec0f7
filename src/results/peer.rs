//! The NumPy peer of a step: the same step performed by NumPy itself
//! (`experiments/tutorial.py`), in its own Python process, after the same cache
//! preparation, measured with the same probes.

use serde::{Deserialize, Serialize};

use crate::cache::CacheReport;
use crate::dtype::Dtype;
use crate::probe::Snapshot;
use crate::shape::Shape;
use crate::spec::Status;
use crate::units::{Bytes, Nanos};

/// What NumPy did for one step, with the fields of [`super::StepResult`]'s measurements
/// plus the interpreter's and NumPy's versions and `sys.getsizeof`.
///
/// Times and snapshots mean what they mean for the Rust step: `elapsed_ns` counts from
/// the step's own start with probing excluded, fault counts are the Python process's since
/// it started. `process_ns` is the whole Python process, spawn to exit, so it includes
/// starting the interpreter and `import numpy` (`import_ns` of it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerResult {
    /// Python's version (`3.11.7`).
    pub python_version: String,
    /// NumPy's version (`2.4.6`).
    pub numpy_version: String,
    /// The call NumPy ran, as the tutorial writes it.
    pub call: String,
    /// What preparing the cache achieved before the Python process started.
    pub cache_report: Option<CacheReport>,
    /// Outcome.
    pub status: Status,
    /// The Python exception (`ValueError: mmap length is greater than file size`), or why
    /// the process gave no answer.
    pub error: Option<String>,
    /// The signal that ended the Python process, if one did.
    pub signal: Option<i32>,
    /// `X.shape`.
    pub shape: Option<Shape>,
    /// `X.dtype`.
    pub dtype: Option<Dtype>,
    /// `X.flat[:24]`.
    #[serde(serialize_with = "super::finite_or_null", deserialize_with = "super::null_as_nan")]
    pub first_values: Vec<f64>,
    /// The object size, as for the Rust step: here `sys.getsizeof(X)` itself.
    pub object_bytes: Option<Bytes>,
    /// `sys.getsizeof(X)`: the number the tutorial quotes (184 on its author's Python).
    pub getsizeof_bytes: Option<Bytes>,
    /// `X.sum()`, for a full pass.
    pub sum: Option<f64>,
    /// `X.size`, for a full pass.
    pub elements_read: Option<u64>,
    /// `X.nbytes`, for a full pass.
    pub bytes_touched: Option<Bytes>,
    /// Snapshots in phase order.
    pub snapshots: Vec<Snapshot>,
    /// Time `import numpy` took in the Python process.
    pub import_ns: Option<Nanos>,
    /// Wall time of the Python process, spawn to exit.
    pub process_ns: Nanos,
    /// Whether NumPy agrees with the Rust step: same outcome and, when both opened the
    /// array, the same shape, dtype and first values.
    pub agrees: bool,
    /// What differs, one sentence each (empty when `agrees`).
    pub disagreements: Vec<String>,
}
