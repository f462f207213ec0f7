//! `.npz` files: a zip of `.npy` members, as `np.savez` (stored) and
//! `np.savez_compressed` (deflated) write them. `np.load(npz, mmap_mode='r')` maps none of
//! them: it reads each member into memory when asked for it. A stored member's bytes are
//! the .npy itself, so `np.memmap` can map its data at the member's offset in the zip.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::Result;

use super::container::{ContainerReport, Entry, aligned, memmap_call};
use crate::error::input;
use crate::open::Order;

/// The members of the zip at `path`, with the data offset and `np.memmap` call of each
/// stored .npy member, and a refusal for each compressed one.
pub fn members(path: &Path) -> Result<Vec<Entry>> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        input(format!(
            "{}: {what}: {e}; give a .npz written by np.savez or np.savez_compressed",
            path.display()
        ))
    };
    let file = crate::fsio::open_input(path).map_err(|e| bad("cannot open", &e))?.0;
    let mut reader = crate::fsio::open_input(path).map_err(|e| bad("cannot open", &e))?.0;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad("not a zip archive mmap-lab can read", &e))?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let member = archive.by_index_raw(i).map_err(|e| bad("cannot read the zip directory", &e))?;
        let name = member.name().to_owned();
        let method = member.compression();
        let stored = method == zip::CompressionMethod::Stored;
        let (size, data_start, stored_bytes) = (member.size(), member.data_start(), member.compressed_size());
        drop(member);
        let mut entry = Entry {
            name: name.clone(),
            storage: if stored { "stored".to_owned() } else { method.to_string().to_lowercase() },
            stored_bytes,
            descr: None,
            shape: Vec::new(),
            data_offset: None,
            aligned: None,
            numpy_call: None,
            refusal: None,
        };
        if !name.ends_with(".npy") {
            entry.refusal = Some("not a .npy member: np.load does not give it as an array".to_owned());
        } else if !stored {
            // The header, inflated from the member's first bytes: what np.load would give.
            if let Ok(mut inflating) = archive.by_index(i) {
                let mut head = vec![0u8; size.min(4096) as usize];
                if let Ok(got) = read_all_up_to(&mut inflating, &mut head) {
                    if let Ok(header) = crate::npy::parse_header(&head[..got], size) {
                        entry.descr = Some(header.descr.clone());
                        entry.shape = header.shape.0.clone();
                    }
                }
            }
            entry.refusal = Some(format!(
                "cannot be mapped: compressed ({}): the bytes in the zip are not the array's, so np.load inflates \
                 the member into memory. To map it, write it uncompressed: np.save('{}', X) and \
                 np.load('{}', mmap_mode='r') (or np.savez, whose members are stored), or extract it: \
                 unzip {} {name}",
                entry.storage,
                name,
                name,
                path.display()
            ));
        } else {
            reader.seek(SeekFrom::Start(data_start)).map_err(|e| bad("cannot read", &e))?;
            let mut head = vec![0u8; size.min(crate::npy::MAX_HEADER_BYTES + 16) as usize];
            let got = read_all_up_to(&mut reader, &mut head).map_err(|e| bad("cannot read", &e))?;
            head.truncate(got);
            let header = crate::npy::parse_header(&head, size)
                .map_err(|e| bad(&format!("member {name} is not a .npy mmap-lab can read"), &e))?;
            let offset = data_start + header.data_offset;
            let order = if header.fortran_order { Order::F } else { Order::C };
            entry.descr = Some(header.descr.clone());
            entry.shape = header.shape.0.clone();
            entry.data_offset = Some(offset);
            if let Some(dtype) = header.dtype {
                entry.aligned = Some(aligned(offset, dtype.itemsize()));
                entry.numpy_call = Some(memmap_call(path, &header.descr, offset, &header.shape.0, order));
            }
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn read_all_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// `inspect` of a .npz.
pub fn inspect(path: &Path) -> Result<ContainerReport> {
    let entries = members(path)?;
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let first = entries.first().map_or("X_train".to_owned(), |e| e.name.trim_end_matches(".npy").to_owned());
    Ok(ContainerReport {
        path: path.to_owned(),
        kind: "npz",
        file_bytes,
        header_bytes: None,
        entries,
        load_call: format!("np.load({}, mmap_mode='r')['{first}']", super::py_str(path)),
        notes: vec![
            "np.load ignores mmap_mode for a .npz without a word (numpy#5976): every member it gives is read \
             into the process's own memory, stored or compressed alike. Only np.memmap at a stored member's \
             offset maps it."
                .to_owned(),
        ],
    })
}
