//! safetensors files: an 8-byte little-endian header length, a JSON header naming each
//! tensor's dtype, shape and byte range, then the tensors' bytes. Nothing is compressed:
//! every tensor maps at `8 + header length + its begin offset`.

use std::path::Path;

use anyhow::Result;

use super::container::{ContainerReport, Entry, aligned, memmap_call};
use crate::error::input;

/// NumPy's dtype text for a safetensors dtype, when NumPy has one.
pub fn numpy_descr(dtype: safetensors::Dtype) -> Option<(&'static str, u64)> {
    use safetensors::Dtype as D;
    Some(match dtype {
        D::BOOL => ("|b1", 1),
        D::U8 => ("|u1", 1),
        D::I8 => ("|i1", 1),
        D::U16 => ("<u2", 2),
        D::I16 => ("<i2", 2),
        D::F16 => ("<f2", 2),
        D::U32 => ("<u4", 4),
        D::I32 => ("<i4", 4),
        D::F32 => ("<f4", 4),
        D::U64 => ("<u8", 8),
        D::I64 => ("<i8", 8),
        D::F64 => ("<f8", 8),
        _ => return None,
    })
}

/// `inspect` of a safetensors file.
pub fn inspect(path: &Path) -> Result<ContainerReport> {
    let bad = |what: &str, e: &dyn std::fmt::Debug| {
        input(format!("{}: {what}: {e:?}; give a file written by safetensors (save_file)", path.display()))
    };
    let file = crate::fsio::open_input(path).map_err(|e| bad("cannot open", &e))?.0;
    // SAFETY: read-only mapping of a file inspect only reads; the header is read from it.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| bad("cannot map", &e))?;
    let (n, metadata) = safetensors::SafeTensors::read_metadata(&map)
        .map_err(|e| bad("not a safetensors file mmap-lab can read", &e))?;
    let start = 8 + n as u64;
    let mut tensors: Vec<(String, &safetensors::tensor::TensorInfo)> =
        metadata.tensors().into_iter().collect();
    tensors.sort_by_key(|(_, info)| info.data_offsets.0);
    let entries = tensors
        .into_iter()
        .map(|(name, info)| {
            let offset = start + info.data_offsets.0 as u64;
            let known = numpy_descr(info.dtype);
            Entry {
                name,
                storage: "stored (safetensors never compresses)".to_owned(),
                stored_bytes: (info.data_offsets.1 - info.data_offsets.0) as u64,
                descr: known.map(|(d, _)| d.to_owned()),
                shape: info.shape.clone(),
                data_offset: Some(offset),
                aligned: known.map(|(_, size)| aligned(offset, size)),
                numpy_call: known.map(|(d, _)| memmap_call(path, d, offset, &info.shape, crate::open::Order::C)),
                refusal: known.is_none().then(|| {
                    format!(
                        "{:?} has no NumPy dtype: map the bytes as the unsigned integer of the same size and convert",
                        info.dtype
                    )
                }),
            }
        })
        .collect();
    let first = metadata.offset_keys().into_iter().next().unwrap_or_else(|| "X_train".to_owned());
    Ok(ContainerReport {
        path: path.to_owned(),
        kind: "safetensors",
        file_bytes: map.len() as u64,
        header_bytes: Some(n as u64),
        entries,
        load_call: format!(
            "with safetensors.safe_open({}, framework='np') as f: X = f.get_tensor('{first}')",
            super::py_str(path)
        ),
        notes: vec![format!(
            "the data starts at byte 8 + {n} = {start}: safetensors pads its header to a multiple of 8, so 8-byte \
             dtypes are aligned, but the offset is not a multiple of 64 in general"
        )],
    })
}
