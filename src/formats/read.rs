//! Opening each format the way its own library opens it for reading, without a copy where
//! the library can: the array comes back as an [`Array`], mapped or held in memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use super::{ARRAY_NAME, Format};
use crate::dtype::Dtype;
use crate::open::{Array, OpenError, OpenErrorKind};
use crate::shape::Shape;
use crate::units::Bytes;

/// An opened file: the array, and where its bytes start in the file when they are a
/// mapping of it.
#[derive(Debug)]
pub struct Opened {
    /// The array.
    pub array: Array,
    /// The byte offset of the first element in the file, when the array maps the file.
    pub data_offset: Option<Bytes>,
}

fn fail(path: &Path, action: &'static str, e: impl std::fmt::Display) -> OpenError {
    let source = std::io::Error::other(e.to_string());
    OpenError { path: path.to_owned(), kind: OpenErrorKind::Io { action, source } }
}

/// Opens `path`, a file of `format`, as its library does; the step's `open` phase.
pub fn open(path: &Path, format: Format) -> Result<Array, OpenError> {
    open_with_offset(path, format).map(|o| o.array)
}

/// [`open`], with the data's offset in the file when it is mapped.
pub fn open_with_offset(path: &Path, format: Format) -> Result<Opened, OpenError> {
    match format {
        Format::NpzStored | Format::NpzDeflated => npz(path),
        Format::Safetensors => safetensors(path),
        Format::ArrowIpc | Format::ArrowIpcLz4 => arrow(path),
    }
}

fn map(path: &Path) -> Result<Mmap, OpenError> {
    let file = File::open(path).map_err(|e| fail(path, "open the file", e))?;
    // SAFETY: the mapping is read-only; the data folder's files are not changed while a
    // step runs (a file truncated under it would be a SIGBUS, which the runner reports).
    unsafe { Mmap::map(&file) }.map_err(|e| fail(path, "map the file", e))
}

/// `.npz`: the zip crate finds the member from the central directory and reads it (stored)
/// or inflates it (deflated) into memory, as `np.load(npz)["X_train"]` does.
fn npz(path: &Path) -> Result<Opened, OpenError> {
    let file = File::open(path).map_err(|e| fail(path, "open the file", e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| fail(path, "read the zip directory", e))?;
    let mut member = archive
        .by_name(&format!("{ARRAY_NAME}.npy"))
        .map_err(|e| fail(path, "find X_train.npy in the zip", e))?;
    let member_len = member.size();
    // The .npy prefix (magic, version, header length) is 10 or 12 bytes; its header at
    // least 64: 12 bytes never read past it.
    let mut head = vec![0u8; 12];
    member.read_exact(&mut head).map_err(|e| fail(path, "read the member's .npy header", e))?;
    let fixed = crate::npy::prefix_len(&head).map_err(|e| fail(path, "read the member's .npy header", e))?;
    let declared =
        crate::npy::declared_header_len(&head).map_err(|e| fail(path, "read the member's .npy header", e))?;
    let total = fixed + declared.min(crate::npy::MAX_HEADER_BYTES) as usize;
    head.resize(total.max(12), 0);
    member.read_exact(&mut head[12..]).map_err(|e| fail(path, "read the member's .npy header", e))?;
    let header = crate::npy::parse_header(&head, member_len)
        .map_err(|e| fail(path, "parse the member's .npy header", e))?;
    let dtype = header.dtype.ok_or_else(|| fail(path, "read the member", "unsupported dtype"))?;
    let n = header.shape.nbytes(dtype) as usize;
    let mut data = vec![0u8; n];
    if member.compression() == zip::CompressionMethod::Stored && !member.encrypted() {
        // Stored: the member's bytes lie in the archive as they are, so they are read as
        // `open::load` reads a .npy, one piece per core at once, and checked against the
        // member's CRC-32 as the zip crate (and Python's zipfile) would at its end.
        if member.size() < (head.len() + n) as u64 || member.compressed_size() != member.size() {
            return Err(fail(
                path,
                "read the member",
                "the stored member is shorter than its .npy header says",
            ));
        }
        let at = member.data_start() + head.len() as u64;
        let want = member.crc32();
        drop(member);
        let file = archive.into_inner();
        crate::open::read_in_pieces(&file, &mut data, at, crate::open::load_readers(n))
            .map_err(|e| fail(path, "read the member's data", e))?;
        let found = crc32_of(&[&head, &data], CRC_CHUNK);
        if found != want {
            return Err(fail(
                path,
                "check the member's CRC-32",
                format!(
                    "the data gives {found:08x}, the zip directory says {want:08x}: the file is damaged; delete it and run again to write it anew"
                ),
            ));
        }
    } else {
        member.read_exact(&mut data).map_err(|e| fail(path, "read the member's data", e))?;
    }
    let array = Array::from_held(Box::new(data), 0, false, dtype, header.shape)
        .ok_or_else(|| fail(path, "read the member", "the data does not fill the shape"))?;
    Ok(Opened { array, data_offset: None })
}

/// Bytes of each CRC-32 computed on its own by [`crc32_of`] before they are combined.
const CRC_CHUNK: usize = 8 << 20;

/// The CRC-32 of `parts` one after another, computed `chunk` bytes at a time on every core
/// and combined in order (`crc32fast::Hasher::combine`): the same value as one pass.
pub(super) fn crc32_of(parts: &[&[u8]], chunk: usize) -> u32 {
    use rayon::prelude::*;
    let chunks: Vec<&[u8]> = parts.iter().flat_map(|p| p.chunks(chunk.max(1))).collect();
    let hashers: Vec<crc32fast::Hasher> = chunks
        .par_iter()
        .map(|c| {
            let mut h = crc32fast::Hasher::new();
            h.update(c);
            h
        })
        .collect();
    let mut all = crc32fast::Hasher::new();
    for h in &hashers {
        all.combine(h);
    }
    all.finalize()
}

/// The dataset dtype of a safetensors dtype.
pub fn dtype_of_safetensors(dtype: safetensors::Dtype) -> Option<Dtype> {
    match dtype {
        safetensors::Dtype::F64 => Some(Dtype::F8),
        safetensors::Dtype::F32 => Some(Dtype::F4),
        safetensors::Dtype::U8 => Some(Dtype::U1),
        _ => None,
    }
}

/// safetensors: map the file, let the crate parse and check the header, and take the
/// tensor's bytes where they lie in the mapping.
fn safetensors(path: &Path) -> Result<Opened, OpenError> {
    let map = map(path)?;
    let (start, dtype, shape) = {
        let tensors = safetensors::SafeTensors::deserialize(&map)
            .map_err(|e| fail(path, "read the safetensors header", format!("{e:?}")))?;
        let view = tensors
            .tensor(ARRAY_NAME)
            .map_err(|e| fail(path, "find the tensor X_train", format!("{e:?}")))?;
        let start = view.data().as_ptr() as usize - map.as_ptr() as usize;
        let dtype = dtype_of_safetensors(view.dtype())
            .ok_or_else(|| fail(path, "read the tensor", format!("unsupported dtype {:?}", view.dtype())))?;
        (start, dtype, Shape(view.shape().to_vec()))
    };
    let array = Array::from_held(Box::new(map), start, true, dtype, shape)
        .ok_or_else(|| fail(path, "read the tensor", "the data does not fill the shape"))?;
    Ok(Opened { array, data_offset: Some(start as Bytes) })
}

/// An Arrow buffer as the bytes an [`Array`] holds.
struct ArrowBytes(arrow_buffer::Buffer);

impl AsRef<[u8]> for ArrowBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// Arrow IPC: the whole file mapped as one `Buffer` (arrow-rs's zero-copy example), the
/// footer and schema read from it, and the record batch decoded by `FileDecoder`:
/// uncompressed buffers are slices of the mapping. An LZ4 batch of one tensor column is
/// decoded into new memory a block per core ([`lz4_values`]), any other by `FileDecoder`.
fn arrow(path: &Path) -> Result<Opened, OpenError> {
    let map = Arc::new(map(path)?);
    let base = map.as_ptr() as usize;
    let len = map.len();
    if len < 10 {
        return Err(fail(path, "read the Arrow footer", "the file is too short for an Arrow IPC file"));
    }
    let ptr =
        std::ptr::NonNull::new(map.as_ptr().cast_mut()).ok_or_else(|| fail(path, "map the file", "null"))?;
    // SAFETY: the buffer covers exactly the read-only mapping, which it keeps alive
    // through its owner; nothing writes through it.
    let buffer = unsafe { arrow_buffer::Buffer::from_custom_allocation(ptr, len, map.clone()) };
    let decode = |what: &'static str| move |e: arrow_schema::ArrowError| fail(path, what, e);
    let trailer: [u8; 10] =
        buffer[len - 10..].try_into().map_err(|e| fail(path, "read the Arrow footer", e))?;
    let footer_len =
        arrow_ipc::reader::read_footer_length(trailer).map_err(decode("read the Arrow footer"))?;
    let footer_start = (len - 10).checked_sub(footer_len).ok_or_else(|| {
        fail(path, "read the Arrow footer", format!("a footer of {footer_len} bytes does not fit the file"))
    })?;
    let footer = arrow_ipc::root_as_footer(&buffer[footer_start..len - 10])
        .map_err(|e| fail(path, "read the Arrow footer", e))?;
    let schema = footer.schema().ok_or_else(|| fail(path, "read the Arrow schema", "the footer has none"))?;
    let schema = Arc::new(arrow_ipc::convert::fb_to_schema(schema));
    let field = schema.field(0).clone();
    let blocks =
        footer.recordBatches().ok_or_else(|| fail(path, "read the Arrow footer", "no record batches"))?;
    if blocks.len() != 1 {
        return Err(fail(
            path,
            "read the record batch",
            format!("{} record batches, one expected", blocks.len()),
        ));
    }
    let block = blocks.get(0);
    let (values_buffer, dtype, rows) = match lz4_values(path, &buffer, block, &field) {
        Some(decoded) => decoded?,
        None => decoded_values(path, &buffer, block, schema, footer.version())?,
    };
    let shape = arrow_shape(&field, rows).ok_or_else(|| {
        fail(path, "read the tensor shape", "no arrow.fixed_shape_tensor shape in the field")
    })?;
    let at = values_buffer.as_ptr() as usize;
    let data_offset = (base..base + len).contains(&at).then(|| (at - base) as Bytes);
    let array = Array::from_held(Box::new(ArrowBytes(values_buffer)), 0, data_offset.is_some(), dtype, shape)
        .ok_or_else(|| fail(path, "read the column", "the data does not fill the shape"))?;
    Ok(Opened { array, data_offset })
}

/// The record batch decoded by arrow-rs's `FileDecoder`: its values buffer (a slice of the
/// mapping when uncompressed), their dtype and the rows.
fn decoded_values(
    path: &Path,
    buffer: &arrow_buffer::Buffer,
    block: &arrow_ipc::Block,
    schema: Arc<arrow_schema::Schema>,
    version: arrow_ipc::MetadataVersion,
) -> Result<(arrow_buffer::Buffer, Dtype, usize), OpenError> {
    use arrow_array::Array as _;
    let decode = |what: &'static str| move |e: arrow_schema::ArrowError| fail(path, what, e);
    let decoder = arrow_ipc::reader::FileDecoder::new(schema, version);
    let block_len = block.bodyLength() as usize + block.metaDataLength() as usize;
    let data = buffer.slice_with_length(block.offset() as usize, block_len);
    let batch = decoder
        .read_record_batch(block, &data)
        .map_err(decode("decode the record batch"))?
        .ok_or_else(|| fail(path, "decode the record batch", "empty"))?;
    let list = batch
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::FixedSizeListArray>()
        .ok_or_else(|| fail(path, "read the column", "X_train is not a fixed-size list"))?;
    let values = list.values();
    let dtype = arrow_dtype(values.data_type())
        .ok_or_else(|| fail(path, "read the column", format!("unsupported type {}", values.data_type())))?;
    let values_data = values.to_data();
    let item = dtype.itemsize() as usize;
    Ok((values_data.buffers()[0].slice(values_data.offset() * item), dtype, list.len()))
}

/// The dtype of an Arrow primitive type the formats use.
fn arrow_dtype(data_type: &arrow_schema::DataType) -> Option<Dtype> {
    match data_type {
        arrow_schema::DataType::Float64 => Some(Dtype::F8),
        arrow_schema::DataType::Float32 => Some(Dtype::F4),
        arrow_schema::DataType::UInt8 => Some(Dtype::U1),
        _ => None,
    }
}

/// The values of an LZ4-compressed record batch of one fixed-size-list column without
/// nulls (what the formats writer and pyarrow write for a tensor), decoded by
/// [`super::lz4::decode_into`] into new memory: each LZ4 block on a core of its own, where
/// arrow-rs decodes block after block and copies each out of its decoder (47 ms against
/// 14 ms for the full-size formats file, see [`super::lz4`]). `None` for any other record
/// batch, left to arrow-rs's `FileDecoder`.
fn lz4_values(
    path: &Path,
    buffer: &arrow_buffer::Buffer,
    block: &arrow_ipc::Block,
    field: &arrow_schema::Field,
) -> Option<Result<(arrow_buffer::Buffer, Dtype, usize), OpenError>> {
    let arrow_schema::DataType::FixedSizeList(item, per) = field.data_type() else { return None };
    let dtype = arrow_dtype(item.data_type())?;
    let start = usize::try_from(block.offset()).ok()?;
    let meta_len = usize::try_from(block.metaDataLength()).ok()?;
    let body_len = usize::try_from(block.bodyLength()).ok()?;
    let meta = buffer.get(start..start.checked_add(meta_len)?)?;
    let body_start = start + meta_len;
    let body = buffer.get(body_start..body_start.checked_add(body_len)?)?;
    let flatbuffer = if meta.get(..4)? == [0xFF; 4] { meta.get(8..)? } else { meta.get(4..)? };
    let message = arrow_ipc::root_as_message(flatbuffer).ok()?;
    let batch = message.header_as_record_batch()?;
    if batch.compression()?.codec() != arrow_ipc::CompressionType::LZ4_FRAME {
        return None;
    }
    let (nodes, buffers) = (batch.nodes()?, batch.buffers()?);
    let rows = usize::try_from(batch.length()).ok()?;
    let elements = rows.checked_mul(usize::try_from(*per).ok()?)?;
    let simple = nodes.len() == 2
        && nodes.iter().all(|n| n.null_count() == 0)
        && usize::try_from(nodes.get(1).length()).ok()? == elements
        && buffers.len() == 3
        && buffers.iter().take(2).all(|b| b.length() == 0);
    if !simple {
        return None;
    }
    let values = buffers.get(2);
    let at = usize::try_from(values.offset()).ok()?;
    let compressed = body.get(at..at.checked_add(usize::try_from(values.length()).ok()?)?)?;
    let (prefix, frame) = compressed.split_first_chunk::<8>()?;
    // A length of -1 says the buffer is stored uncompressed (LZ4 did not shrink it):
    // FileDecoder slices it from the mapping.
    let len = usize::try_from(i64::from_le_bytes(*prefix)).ok()?;
    if Some(len) != elements.checked_mul(dtype.itemsize() as usize) {
        return None;
    }
    // `vec!` asks for zeroed memory with the alignment of `u8`: a block that large comes
    // straight from `mmap`, untouched, so the allocator's huge-page advice
    // ([`crate::alloc`]) holds for every page the decode faults in. (`MutableBuffer`'s
    // 64-byte alignment made the system allocator write the zeros itself: 4 KiB pages, a
    // pass 14 ms instead of 8 ms.)
    let mut out = vec![0u8; len];
    Some(
        super::lz4::decode_into(frame, &mut out)
            .map(|_| (arrow_buffer::Buffer::from_vec(out), dtype, rows))
            .map_err(|e| fail(path, "decompress the LZ4 buffer", e)),
    )
}

/// The array's shape: the rows, then the sample shape of the field's
/// `arrow.fixed_shape_tensor` metadata.
fn arrow_shape(field: &arrow_schema::Field, rows: usize) -> Option<Shape> {
    let text = field.metadata().get("ARROW:extension:metadata")?;
    let meta: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut dims = vec![rows];
    for d in meta.get("shape")?.as_array()? {
        dims.push(usize::try_from(d.as_u64()?).ok()?);
    }
    Some(Shape(dims))
}
