//! LZ4 frames decoded straight into their buffer, a block per core where the frame allows.
//!
//! Arrow IPC compresses each buffer as one LZ4 frame behind its uncompressed length.
//! arrow-rs decodes a frame through `lz4_flex::frame::FrameDecoder` and `read_to_end`: each
//! block is decoded into the decoder's own buffer and copied out. On the full-size formats
//! file (138 MB in 33 blocks of 4 MiB) that took 47 ms per decode into memory already
//! touched, where pyarrow's liblz4 (`LZ4F_decompress`, decoding into the output) took 28 ms.
//!
//! A frame of independent blocks (arrow-rs's and liblz4's default) can do better than
//! either: every block but the last fills the frame's block size, so block `i` decodes into
//! its own slice of the output, `i * block size` on. [`decode_into`] walks the block
//! headers (the frame format is four fields and a list of sized blocks), then decodes the
//! blocks on every core with `lz4_flex::block::decompress_into`: 28 ms on one core, 14 ms on
//! two, for that file. A frame it cannot split so (linked blocks, checksums, a dictionary,
//! a block that stops short) is decoded by `FrameDecoder` as arrow-rs does, which checks
//! what it has to.
//!
//! Frame layout (<https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md>):
//! magic `04 22 4D 18`, FLG, BD, the content size (8 bytes, when FLG says), the dictionary
//! id (4 bytes, when FLG says), a header checksum byte; then blocks, each a little-endian
//! `u32` size (high bit set: stored uncompressed) and its bytes, up to a size of 0; then the
//! content checksum when FLG says.

use std::io::Read;

use rayon::prelude::*;

/// The LZ4 frame magic number, little-endian on disk.
const MAGIC: u32 = 0x184D_2204;

/// FLG bits.
const FLG_INDEPENDENT: u8 = 1 << 5;
const FLG_BLOCK_CHECKSUM: u8 = 1 << 4;
const FLG_CONTENT_SIZE: u8 = 1 << 3;
const FLG_CONTENT_CHECKSUM: u8 = 1 << 2;
const FLG_DICT_ID: u8 = 1;

/// A block's size field: the high bit marks a block stored uncompressed.
const STORED: u32 = 1 << 31;

/// How [`decode_into`] decoded a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Block by block, in parallel, each into its own slice of the output.
    Blocks,
    /// Through `lz4_flex::frame::FrameDecoder`, one block after another.
    Stream,
}

#[cfg(test)]
thread_local! {
    /// Frames this thread decoded block by block: the formats tests check that the reader
    /// takes that path for the files the writer makes.
    pub static SPLIT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Decodes the LZ4 frame `frame` into `out`, which must be exactly as long as the frame's
/// content. Fails when the frame is not LZ4, is damaged, or holds more or fewer bytes.
pub fn decode_into(frame: &[u8], out: &mut [u8]) -> Result<Decoded, String> {
    if let Some(blocks) = independent_blocks(frame, out.len()) {
        let ok = out
            .par_chunks_mut(blocks.block_size.max(1))
            .zip(blocks.blocks.par_iter())
            .all(|(dst, block)| decode_block(block, dst));
        if ok {
            #[cfg(test)]
            SPLIT.with(|n| n.set(n.get() + 1));
            return Ok(Decoded::Blocks);
        }
    }
    decode_stream(frame, out)?;
    Ok(Decoded::Stream)
}

/// `FrameDecoder` over the whole frame, which must fill `out` and end there.
fn decode_stream(frame: &[u8], out: &mut [u8]) -> Result<(), String> {
    let mut decoder = lz4_flex::frame::FrameDecoder::new(frame);
    decoder
        .read_exact(out)
        .map_err(|e| format!("the LZ4 frame does not decode to {} bytes: {e}", out.len()))?;
    let mut more = [0u8; 1];
    match decoder.read(&mut more) {
        Ok(0) => Ok(()),
        Ok(_) => {
            Err(format!("the LZ4 frame holds more than the {} bytes its buffer's length says", out.len()))
        }
        Err(e) => Err(format!("the LZ4 frame's end does not decode: {e}")),
    }
}

/// One block of a frame: its bytes, and whether they are stored uncompressed.
struct Block<'a> {
    stored: bool,
    bytes: &'a [u8],
}

/// A frame's blocks, when each can be decoded on its own into its slice of the output.
struct Blocks<'a> {
    block_size: usize,
    blocks: Vec<Block<'a>>,
}

/// The blocks of `frame` when it is one frame of independent blocks with no checksum and
/// no dictionary, ending exactly at the end of `frame`, whose block count fits `len` bytes
/// in blocks of its block size. `None` for anything else (the stream decoder's case).
fn independent_blocks(frame: &[u8], len: usize) -> Option<Blocks<'_>> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(frame.get(at..at.checked_add(4)?)?.try_into().ok()?));
    if u32_at(0)? != MAGIC {
        return None;
    }
    let (flg, bd) = (*frame.get(4)?, *frame.get(5)?);
    let simple = flg >> 6 == 0b01
        && flg & FLG_INDEPENDENT != 0
        && flg & (FLG_BLOCK_CHECKSUM | FLG_CONTENT_CHECKSUM | FLG_DICT_ID) == 0;
    if !simple {
        return None;
    }
    let block_size = match (bd >> 4) & 0b111 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return None,
    };
    let mut at = 6 + if flg & FLG_CONTENT_SIZE != 0 { 8 } else { 0 } + 1;
    let mut blocks = Vec::with_capacity(len.div_ceil(block_size));
    loop {
        let size = u32_at(at)?;
        at += 4;
        if size == 0 {
            break;
        }
        let n = (size & !STORED) as usize;
        let bytes = frame.get(at..at.checked_add(n)?)?;
        blocks.push(Block { stored: size & STORED != 0, bytes });
        at += n;
    }
    (at == frame.len() && blocks.len() == len.div_ceil(block_size)).then_some(Blocks { block_size, blocks })
}

/// Decodes one block into `dst`, which it must fill exactly.
fn decode_block(block: &Block<'_>, dst: &mut [u8]) -> bool {
    if block.stored {
        if block.bytes.len() != dst.len() {
            return false;
        }
        dst.copy_from_slice(block.bytes);
        return true;
    }
    matches!(lz4_flex::block::decompress_into(block.bytes, dst), Ok(n) if n == dst.len())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};

    use super::*;

    /// Bytes LZ4 shrinks somewhat, as the dataset's pictures: a ramp with noise.
    fn content(len: usize) -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 8 < 5 { (i / 64) as u8 } else { x as u8 }
            })
            .collect()
    }

    fn frame(data: &[u8], info: FrameInfo) -> Vec<u8> {
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn decode(frame: &[u8], len: usize) -> (Result<Decoded, String>, Vec<u8>) {
        let mut out = vec![0u8; len];
        (decode_into(frame, &mut out), out)
    }

    #[test]
    fn independent_blocks_decode_in_parallel_into_the_original_bytes() {
        let data = content(64 * 1024 * 5 + 123);
        let info = FrameInfo::new().block_size(BlockSize::Max64KB).block_mode(BlockMode::Independent);
        let (how, out) = decode(&frame(&data, info), data.len());
        assert_eq!(how, Ok(Decoded::Blocks));
        assert!(out == data, "the decoded bytes differ from the original");
    }

    #[test]
    fn blocks_stored_uncompressed_are_copied_into_place() {
        // Noise does not shrink: lz4_flex stores such blocks as they are (high bit set).
        let mut x = 1u64;
        let data: Vec<u8> = (0..256 * 1024 + 7)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (x >> 56) as u8
            })
            .collect();
        let framed = frame(&data, FrameInfo::new().block_size(BlockSize::Max64KB));
        let blocks = independent_blocks(&framed, data.len()).expect("independent blocks");
        assert!(blocks.blocks.iter().any(|b| b.stored), "expected a stored block");
        let (how, out) = decode(&framed, data.len());
        assert_eq!(how, Ok(Decoded::Blocks));
        assert!(out == data);
    }

    #[test]
    fn frames_it_cannot_split_are_decoded_as_a_stream() {
        let data = content(64 * 1024 * 3 + 5);
        for info in [
            FrameInfo::new().block_size(BlockSize::Max64KB).block_mode(BlockMode::Linked),
            FrameInfo::new().block_size(BlockSize::Max64KB).content_checksum(true),
            FrameInfo::new().block_size(BlockSize::Max64KB).block_checksums(true),
            FrameInfo::new().block_size(BlockSize::Max64KB).content_size(Some(data.len() as u64)),
        ] {
            let framed = frame(&data, info.clone());
            let (how, out) = decode(&framed, data.len());
            let split =
                info.block_mode == BlockMode::Independent && !info.content_checksum && !info.block_checksums;
            assert_eq!(how, Ok(if split { Decoded::Blocks } else { Decoded::Stream }), "{info:?}");
            assert!(out == data, "{info:?}: the decoded bytes differ");
        }
    }

    #[test]
    fn a_frame_whose_blocks_stop_short_is_decoded_as_a_stream() {
        // Flushing after the first 1,000 bytes ends the frame's first block there, short of 64 KiB.
        let data = content(100_000);
        let mut encoder = FrameEncoder::with_frame_info(
            FrameInfo::new().block_size(BlockSize::Max64KB).block_mode(BlockMode::Independent),
            Vec::new(),
        );
        encoder.write_all(&data[..1000]).unwrap();
        encoder.flush().unwrap();
        encoder.write_all(&data[1000..]).unwrap();
        let framed = encoder.finish().unwrap();
        let (how, out) = decode(&framed, data.len());
        assert_eq!(how, Ok(Decoded::Stream));
        assert!(out == data);
    }

    #[test]
    fn a_wrong_length_or_a_damaged_frame_is_an_error_not_a_panic() {
        let data = content(64 * 1024 * 2 + 9);
        let framed = frame(&data, FrameInfo::new().block_size(BlockSize::Max64KB));
        let (short, _) = decode(&framed, data.len() - 1);
        assert!(short.unwrap_err().contains("more than"));
        let (long, _) = decode(&framed, data.len() + 1);
        assert!(long.is_err());
        // Cut inside the header or a block (lz4_flex takes a frame whose end mark alone is
        // missing as ended: every byte is there).
        for cut in [0, 3, 7, 20, framed.len() / 2, framed.len() - 6] {
            let (how, _) = decode(&framed[..cut], data.len());
            assert!(how.is_err(), "a frame cut at {cut} decoded");
        }
        let mut flipped = framed.clone();
        for b in &mut flipped[40..200] {
            *b ^= 0x5A;
        }
        // A damaged block may still decode to some bytes; it must not panic or overrun.
        let _ = decode(&flipped, data.len());
        let (not_lz4, _) = decode(b"PK\x03\x04 not a frame", 4);
        assert!(not_lz4.is_err());
    }
}
