//! Writing the array in each format, from a mapping of the dataset's .npy: the bytes come
//! from the page cache, never from a second copy of the array in memory. (The Arrow IPC
//! writer encodes a record batch's body into one buffer before writing it: one copy,
//! compressed or not, for the time of the write.)

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use memmap2::Mmap;

use super::{ARRAY_NAME, Format};
use crate::dataset::DatasetSpec;
use crate::dtype::Dtype;

/// Bytes written at a time into a zip member.
const PIECE: usize = 4 << 20;

/// The bytes of the array the files hold (the dataset's first samples), mapped from the
/// dataset's .npy: `map[offset..offset + len]`.
pub struct Source {
    /// The mapping of the whole .npy file.
    pub map: Arc<Mmap>,
    /// Where the data starts (the header's length).
    pub offset: usize,
    /// What the array is ([`super::subset`] of the dataset).
    pub spec: DatasetSpec,
    /// The xxh3-64 checksum of its bytes, as the dataset's manifest writes one.
    pub checksum: String,
}

impl Source {
    /// The array's bytes: the first `spec.data_bytes()` of the dataset's data.
    pub fn data(&self) -> &[u8] {
        let len = self.spec.data_bytes() as usize;
        &self.map[self.offset..self.offset + len]
    }
}

/// Writes `format` of `source` to `target` (callers write to a temporary name).
pub fn write(format: Format, source: &Source, target: &Path) -> Result<()> {
    let file = File::create(target).with_context(|| format!("{}: cannot create", target.display()))?;
    let out = BufWriter::with_capacity(PIECE, file);
    let done = match format {
        Format::NpzStored => npz(source, out, false),
        Format::NpzDeflated => npz(source, out, true),
        Format::Safetensors => {
            drop(out);
            safetensors(source, target)
        }
        Format::ArrowIpc => arrow(source, out, false),
        Format::ArrowIpcLz4 => arrow(source, out, true),
    };
    done.with_context(|| format!("{}: cannot write {}", target.display(), format.label()))
}

/// A zip with one member, `X_train.npy`, as `np.savez` (stored) or `np.savez_compressed`
/// (deflated; level 1, the fastest, since the point is that it is compressed at all).
fn npz(source: &Source, out: BufWriter<File>, deflate: bool) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let header = source.spec.npy_header();
    let member_bytes = header.len() as u64 + source.spec.data_bytes();
    let options = SimpleFileOptions::default()
        .compression_method(if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        })
        .compression_level(deflate.then_some(1))
        .large_file(member_bytes >= u64::from(u32::MAX));
    let mut zip = zip::ZipWriter::new(out);
    zip.start_file(format!("{ARRAY_NAME}.npy"), options)?;
    zip.write_all(&header)?;
    for piece in source.data().chunks(PIECE) {
        zip.write_all(piece)?;
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// The safetensors dtype of a dataset dtype.
pub fn safetensors_dtype(dtype: Dtype) -> Option<safetensors::Dtype> {
    match dtype {
        Dtype::F8 => Some(safetensors::Dtype::F64),
        Dtype::F4 => Some(safetensors::Dtype::F32),
        Dtype::U1 => Some(safetensors::Dtype::U8),
        _ => None,
    }
}

/// The tensor's bytes, borrowed from the mapping: the writer streams them to the file.
struct MappedView<'a> {
    dtype: safetensors::Dtype,
    shape: Vec<usize>,
    data: &'a [u8],
}

impl safetensors::View for MappedView<'_> {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn safetensors(source: &Source, target: &Path) -> Result<()> {
    let Some(dtype) = safetensors_dtype(source.spec.dtype) else {
        bail!("safetensors has no dtype for {}", source.spec.dtype);
    };
    let view = MappedView { dtype, shape: source.spec.shape.0.clone(), data: source.data() };
    safetensors::serialize_to_file([(ARRAY_NAME, view)], None, target)?;
    Ok(())
}

/// The Arrow field of the array: one row per sample, a fixed-size list of its elements,
/// tagged as the canonical `arrow.fixed_shape_tensor` extension so that pyarrow gives the
/// sample shape back (`to_numpy_ndarray()`).
pub fn arrow_field(spec: &DatasetSpec) -> Result<(arrow_schema::Field, arrow_schema::FieldRef, i32)> {
    use arrow_schema::{DataType, Field};
    let item_type = match spec.dtype {
        Dtype::F8 => DataType::Float64,
        Dtype::F4 => DataType::Float32,
        Dtype::U1 => DataType::UInt8,
        other => bail!("Arrow IPC is written here for float64, float32 and uint8, not {other}"),
    };
    let per = i32::try_from(spec.shape.sample_len()).context("a sample has too many elements")?;
    let item = Arc::new(Field::new("item", item_type, false));
    let sample_shape: Vec<usize> = spec.shape.0.iter().skip(1).copied().collect();
    let metadata = [
        ("ARROW:extension:name".to_owned(), "arrow.fixed_shape_tensor".to_owned()),
        ("ARROW:extension:metadata".to_owned(), serde_json::json!({ "shape": sample_shape }).to_string()),
    ];
    let field = Field::new(ARRAY_NAME, DataType::FixedSizeList(item.clone(), per), false)
        .with_metadata(metadata.into_iter().collect());
    Ok((field, item, per))
}

/// Arrow IPC, one record batch. With LZ4, arrow-rs keeps a buffer uncompressed when LZ4
/// makes it larger (tiny or noise-only arrays): the reader then maps it like an
/// uncompressed file, and the measurements say so.
fn arrow(source: &Source, out: BufWriter<File>, lz4: bool) -> Result<()> {
    use arrow_array::{ArrayRef, FixedSizeListArray, RecordBatch, types};
    use arrow_buffer::{Buffer, ScalarBuffer};
    let (field, item, per) = arrow_field(&source.spec)?;
    let data = source.data();
    let ptr = std::ptr::NonNull::new(data.as_ptr().cast_mut()).context("empty data")?;
    // SAFETY: `ptr..ptr + len` lies inside the read-only mapping `source.map`, which the
    // buffer keeps alive through its owner; nothing writes through it.
    let buffer = unsafe { Buffer::from_custom_allocation(ptr, data.len(), source.map.clone()) };
    let n = data.len() / source.spec.dtype.itemsize() as usize;
    let values: ArrayRef = match source.spec.dtype {
        Dtype::F8 => Arc::new(arrow_array::PrimitiveArray::<types::Float64Type>::new(
            ScalarBuffer::new(buffer, 0, n),
            None,
        )),
        Dtype::F4 => Arc::new(arrow_array::PrimitiveArray::<types::Float32Type>::new(
            ScalarBuffer::new(buffer, 0, n),
            None,
        )),
        _ => Arc::new(arrow_array::PrimitiveArray::<types::UInt8Type>::new(
            ScalarBuffer::new(buffer, 0, n),
            None,
        )),
    };
    let list = FixedSizeListArray::try_new(item, per, values, None)?;
    let schema = Arc::new(arrow_schema::Schema::new(vec![field]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)])?;
    let options = arrow_ipc::writer::IpcWriteOptions::default()
        .try_with_compression(lz4.then_some(arrow_ipc::CompressionType::LZ4_FRAME))?;
    let mut writer = arrow_ipc::writer::FileWriter::try_new_with_options(out, &schema, options)?;
    writer.write(&batch)?;
    writer.finish()?;
    writer.into_inner()?.flush()?;
    Ok(())
}
