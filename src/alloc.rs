//! Large allocations backed by transparent huge pages, as NumPy backs its arrays.
//!
//! NumPy's data allocator asks for huge pages (`madvise(MADV_HUGEPAGE)`) for every array of
//! 4 MiB or more (`numpy/_core/src/multiarray/alloc.c`, `indicate_hugepages`). Where huge
//! pages are allowed on request (`transparent_hugepage/enabled` = `madvise`, the common
//! default), a 1.38 GB array then faults in 2 MiB at a time: about 700 page faults instead
//! of 337,669. Without the same advice, every copy mmap-lab makes (a `.npz` member read into
//! memory, an Arrow buffer decompressed by arrow-rs) paid those 337,669 faults where NumPy
//! paid 700, and the comparison measured the allocators, not the formats.
//!
//! [`HugePageAllocator`] is the system allocator plus that advice; `main` installs it as the
//! global allocator, so the steps, their workers and the libraries they call allocate as
//! NumPy does. Advice only: a kernel that refuses it changes nothing but the speed.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large get `MADV_HUGEPAGE`, as in NumPy's allocator.
pub const HUGEPAGE_THRESHOLD: usize = 4 << 20;

/// The system allocator, with `MADV_HUGEPAGE` on every block of [`HUGEPAGE_THRESHOLD`] or
/// more (NumPy's policy for array data).
#[derive(Debug, Clone, Copy, Default)]
pub struct HugePageAllocator;

// SAFETY: every method forwards to `System` with the same arguments and returns its block
// unchanged; the advice only changes how the kernel backs pages inside the block.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`. A large zeroed block comes straight from `mmap` untouched,
        // so the advice still applies to every page of it.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size > layout.size() {
            advise(new, new_size);
        }
        new
    }
}

/// Asks for transparent huge pages for the whole pages inside `[ptr, ptr + len)`, when
/// `len` is at least [`HUGEPAGE_THRESHOLD`]. Null or small blocks are left alone.
pub fn advise(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len < HUGEPAGE_THRESHOLD {
        return;
    }
    let page = crate::units::page_size() as usize;
    let start = ptr as usize;
    let aligned = start.next_multiple_of(page);
    let whole = (start + len).saturating_sub(aligned) / page * page;
    // SAFETY: [aligned, aligned + whole) lies within the block the caller owns; MADV_HUGEPAGE
    // changes only how the kernel backs the range, never its contents, and an error (a kernel
    // without transparent huge pages) is ignored: the block stays as it was.
    unsafe { libc::madvise(aligned as *mut libc::c_void, whole, libc::MADV_HUGEPAGE) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_contents_through_the_allocator() {
        let a = HugePageAllocator;
        for size in [16, HUGEPAGE_THRESHOLD, HUGEPAGE_THRESHOLD + 12_345] {
            let layout = Layout::from_size_align(size, 8).expect("a valid layout");
            // SAFETY: a non-zero layout; the block is written within its size, grown with
            // realloc to a larger size of the same alignment, and freed with its last layout.
            unsafe {
                let zeroed = a.alloc_zeroed(layout);
                assert!(!zeroed.is_null());
                assert!(std::slice::from_raw_parts(zeroed, size).iter().all(|&b| b == 0));
                a.dealloc(zeroed, layout);

                let p = a.alloc(layout);
                assert!(!p.is_null());
                std::ptr::write_bytes(p, 7, size);
                let grown = a.realloc(p, layout, size * 2);
                assert!(!grown.is_null());
                assert!(std::slice::from_raw_parts(grown, size).iter().all(|&b| b == 7));
                a.dealloc(grown, Layout::from_size_align(size * 2, 8).expect("a valid layout"));
            }
        }
    }

    #[test]
    fn advice_on_null_or_small_blocks_does_nothing() {
        advise(std::ptr::null_mut(), HUGEPAGE_THRESHOLD);
        let mut small = vec![1u8; 64];
        advise(small.as_mut_ptr(), small.len());
        assert!(small.iter().all(|&b| b == 1));
    }
}
