//! Fields of the run as a whole: `dataset.*` (the array measured) and `machine.*`.

use super::{RunField, u};
use crate::lab::value::{Dimension, Value};

/// Fields of `dataset.*`.
pub static DATASET_FIELDS: &[RunField] = &[
    RunField {
        name: "npy_header_bytes",
        dimension: Dimension::Bytes,
        doc: "length of the .npy header: where the data starts in X_train.npy",
        get: |r| u(r.dataset.npy_header_bytes),
    },
    RunField {
        name: "npy_bytes",
        dimension: Dimension::Bytes,
        doc: "size of X_train.npy",
        get: |r| u(r.dataset.npy_bytes),
    },
    RunField {
        name: "raw_bytes",
        dimension: Dimension::Bytes,
        doc: "size of X_train_raw.rbf: the array's data alone",
        get: |r| u(r.dataset.raw_bytes),
    },
    RunField {
        name: "formats_data_bytes",
        dimension: Dimension::Bytes,
        doc: "bytes of the array the formats group's files hold: the dataset's first 400 samples (all of a smaller one)",
        get: |r| u(r.dataset.formats_data_bytes()),
    },
    RunField {
        name: "elements",
        dimension: Dimension::Count,
        doc: "elements of the array (the product of its shape)",
        get: |r| u(r.dataset.shape.len()),
    },
    RunField {
        name: "samples",
        dimension: Dimension::Count,
        doc: "samples: the first dimension of the shape",
        get: |r| u(r.dataset.shape.0.first().copied().unwrap_or(0) as u64),
    },
    RunField {
        name: "ndim",
        dimension: Dimension::Count,
        doc: "dimensions of the array",
        get: |r| u(r.dataset.shape.ndim() as u64),
    },
    RunField {
        name: "itemsize",
        dimension: Dimension::Bytes,
        doc: "bytes per element",
        get: |r| u(r.dataset.dtype.itemsize()),
    },
    RunField {
        name: "dtype",
        dimension: Dimension::Text,
        doc: "element type, as NumPy names it (float64)",
        get: |r| Ok(Value::Text(r.dataset.dtype.name())),
    },
    RunField {
        name: "shape",
        dimension: Dimension::Text,
        doc: "shape in Python's notation: (400, 120, 120, 3)",
        get: |r| Ok(Value::Text(r.dataset.shape.python())),
    },
];

/// Fields of `machine.*`.
pub static MACHINE_FIELDS: &[RunField] = &[
    RunField {
        name: "page_size",
        dimension: Dimension::Bytes,
        doc: "size of a memory page: the unit of page faults and of mincore",
        get: |r| u(r.machine.page_size),
    },
    RunField {
        name: "memory_bytes",
        dimension: Dimension::Bytes,
        doc: "total memory",
        get: |r| u(r.machine.memory_bytes),
    },
    RunField {
        name: "cores",
        dimension: Dimension::Count,
        doc: "logical CPU cores",
        get: |r| u(r.machine.cores as u64),
    },
    RunField {
        name: "read_ahead_bytes",
        dimension: Dimension::Bytes,
        doc: "read-ahead of the data folder's block device",
        get: |r| {
            r.machine
                .read_ahead_kb
                .map(|kb| Value::Number((kb * 1024) as f64))
                .ok_or_else(|| "the run could not read the disk's read-ahead".to_owned())
        },
    },
    RunField {
        name: "thp_enabled",
        dimension: Dimension::Text,
        doc: "transparent huge pages mode: always, madvise or never",
        get: |r| {
            r.machine
                .thp_enabled
                .clone()
                .map(Value::Text)
                .ok_or_else(|| "the run could not read the transparent huge pages mode".to_owned())
        },
    },
];
