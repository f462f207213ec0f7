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
    #[serde(serialize_with = "super::json::finite_or_null", deserialize_with = "super::json::null_as_nan")]
    pub first_values: Vec<f64>,
    /// The object size, as for the Rust step: here `sys.getsizeof(X)` itself.
    pub object_bytes: Option<Bytes>,
    /// `sys.getsizeof(X)`: the number the tutorial quotes (184 on its author's Python).
    pub getsizeof_bytes: Option<Bytes>,
    /// The sum of what the access read (`X.sum()` for a full pass).
    pub sum: Option<f64>,
    /// Elements the access read (`X.size` for a full pass).
    pub elements_read: Option<u64>,
    /// Bytes the access covered, counted as the Rust step counts them.
    pub bytes_touched: Option<Bytes>,
    /// For random batches: each batch's time and faults, as for the Rust step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<super::BatchStats>,
    /// For a sharing step: what each NumPy worker process held while all were alive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<super::SharingStats>,
    /// Snapshots in phase order.
    pub snapshots: Vec<Snapshot>,
    /// Time `import numpy` took in the Python process (in the fork server's, measured once,
    /// when the process was forked from it).
    pub import_ns: Option<Nanos>,
    /// Wall time of the Python process, spawn (or fork) to exit.
    pub process_ns: Nanos,
    /// Whether the process was forked from the fork server, an interpreter that had imported
    /// NumPy ([`crate::peer::server`]), rather than started fresh: then `process_ns` holds no
    /// interpreter start and no `import numpy`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forked: bool,
    /// Whether NumPy agrees with the Rust step: same outcome and, when both opened the
    /// array, the same shape, dtype and first values.
    pub agrees: bool,
    /// What differs, one sentence each (empty when `agrees`).
    pub disagreements: Vec<String>,
    /// Whether the peer was stopped by an interruption of the run: then there is no
    /// verdict, neither agreement nor disagreement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_python_parse_to_the_exact_doubles() {
        // Python's repr and Rust's shortest form name each double exactly; the parse must
        // give it back to the last bit, or equal arrays would seem to disagree.
        let text =
            r#"{"first_values": [0.09090909090909091, 0.30000000000000004, 1e-300, null], "status": "ok"}"#;
        let peer: PeerResult = serde_json::from_str(text).unwrap();
        let want: [f64; 3] = [1.0 / 11.0, 0.1 + 0.2, 1e-300];
        for (got, want) in peer.first_values.iter().zip(want) {
            assert_eq!(got.to_bits(), want.to_bits());
        }
        assert!(peer.first_values[3].is_nan());
        let again: PeerResult = serde_json::from_str(&serde_json::to_string(&peer).unwrap()).unwrap();
        assert_eq!(again.first_values[..3], peer.first_values[..3]);
    }
}
