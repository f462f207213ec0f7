//! The opened array: its bytes (mapped, read into memory, or held by another library's
//! object), dtype, shape and order, and what a step reads through it.

use memmap2::Mmap;

use super::Order;
use crate::dtype::Dtype;
use crate::kernels;
use crate::shape::Shape;
use crate::units::Bytes;

/// Where an array's bytes live.
#[derive(Debug)]
pub(super) enum Data {
    /// A read-only mapping whose first byte is the first element.
    Mapped(Mmap),
    /// A read-write mapping (`mode='r+'`, scratch copies only).
    MappedMut(memmap2::MmapMut),
    /// Bytes read into memory (8-byte aligned), and how many of them are data.
    Owned(Vec<u64>, usize),
    /// Bytes another library's object holds: part of a mapping it made, or a buffer it
    /// decoded into ([`Array::from_held`]). Boxed so that the array object stays as small
    /// as a mapped one (its size is what the tutorial's `sys.getsizeof` lesson measures).
    Held(Box<HeldBytes>),
    /// No elements.
    Empty,
}

/// The bytes of an array that another library's object owns: a mapping of a whole file
/// (safetensors, Arrow IPC) of which the array is a part, or a buffer the library decoded.
pub struct HeldBytes {
    owner: Box<dyn AsRef<[u8]> + Send + Sync>,
    start: usize,
    len: usize,
    mapped: bool,
}

impl std::fmt::Debug for HeldBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldBytes")
            .field("start", &self.start)
            .field("len", &self.len)
            .field("mapped", &self.mapped)
            .finish_non_exhaustive()
    }
}

/// An opened array: bytes, dtype, shape and order, like a NumPy array or memmap.
#[derive(Debug)]
pub struct Array {
    pub(super) data: Data,
    pub(super) dtype: Dtype,
    pub(super) shape: Shape,
    pub(super) order: Order,
}

impl Array {
    /// Element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Memory order.
    pub fn order(&self) -> Order {
        self.order
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.shape.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the data is a mapping of the file (rather than a copy in memory).
    pub fn is_mapped(&self) -> bool {
        match &self.data {
            Data::Mapped(_) | Data::MappedMut(_) => true,
            Data::Held(held) => held.mapped,
            Data::Owned(..) | Data::Empty => false,
        }
    }

    /// An array over `len` bytes from `start` of what `owner` holds: `mapped` when those
    /// bytes are a mapping of the file (not a copy). `None` when the range lies outside
    /// the owner's bytes or does not hold `shape` of `dtype`.
    pub fn from_held(
        owner: Box<dyn AsRef<[u8]> + Send + Sync>,
        start: usize,
        mapped: bool,
        dtype: Dtype,
        shape: Shape,
    ) -> Option<Array> {
        let len = usize::try_from(shape.nbytes(dtype)).ok()?;
        if start.checked_add(len)? > (*owner).as_ref().len() {
            return None;
        }
        let held = HeldBytes { owner, start, len, mapped };
        Some(Array { data: Data::Held(Box::new(held)), dtype, shape, order: Order::C })
    }

    /// The array's bytes, in memory order.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(map) => map,
            Data::MappedMut(map) => map,
            Data::Owned(words, n) => &bytemuck::cast_slice::<u64, u8>(words)[..*n],
            Data::Held(h) => &(*h.owner).as_ref()[h.start..h.start + h.len],
            Data::Empty => &[],
        }
    }

    /// Size of the array object as the process holds it, the analogue of `sys.getsizeof`:
    /// the struct itself, plus the data only when the array owns it (a loaded array), not
    /// when the data is a mapping of the file.
    pub fn object_bytes(&self) -> Bytes {
        let owned = match &self.data {
            Data::Owned(words, _) => std::mem::size_of_val(words.as_slice()),
            Data::Held(h) if !h.mapped => std::mem::size_of::<HeldBytes>() + h.len,
            Data::Held(_) => std::mem::size_of::<HeldBytes>(),
            _ => 0,
        };
        (std::mem::size_of_val(self) + owned) as Bytes
    }

    /// Byte position of the element at C-order flat index `index`.
    fn byte_at(&self, index: u64) -> usize {
        let item = self.dtype.size as usize;
        match self.order {
            Order::C => index as usize * item,
            Order::F => {
                // Unravel the C index, then ravel it in Fortran order.
                let dims = &self.shape.0;
                let mut rest = index;
                let mut f_index = 0u64;
                let mut stride = 1u64;
                let mut coords = vec![0u64; dims.len()];
                for (k, &d) in dims.iter().enumerate().rev() {
                    coords[k] = rest % d as u64;
                    rest /= d as u64;
                }
                for (k, &d) in dims.iter().enumerate() {
                    f_index += coords[k] * stride;
                    stride *= d as u64;
                }
                f_index as usize * item
            }
        }
    }

    /// The element at C-order flat index `index` (as `X.flat[index]`), widened to `f64`.
    pub fn get(&self, index: u64) -> Option<f64> {
        if index >= self.len() {
            return None;
        }
        let at = self.byte_at(index);
        let size = self.dtype.size as usize;
        self.bytes().get(at..at + size).map(|b| self.dtype.decode(b))
    }

    /// The first `n` elements in C-order flat order (`X.flat[:n]`).
    pub fn first_values(&self, n: usize) -> Vec<f64> {
        (0..(n as u64).min(self.len())).filter_map(|i| self.get(i)).collect()
    }

    /// Elements `start..start + count` in C-order flat order.
    pub fn values(&self, start: u64, count: u64) -> Vec<f64> {
        let end = (start + count).min(self.len());
        if self.order == Order::C || self.shape.ndim() <= 1 {
            let item = self.dtype.size as usize;
            let bytes = &self.bytes()[start as usize * item..end as usize * item];
            return bytes.chunks_exact(item).map(|b| self.dtype.decode(b)).collect();
        }
        (start..end).filter_map(|i| self.get(i)).collect()
    }

    /// Sum of all elements (`X.sum()`): a full pass over the data.
    pub fn sum(&self) -> f64 {
        kernels::sum_bytes(self.dtype, self.bytes())
    }

    /// Sum of the elements at C-order flat `indices` (`X.flat[idx].sum()`); an index past
    /// the end adds nothing.
    pub fn sum_at(&self, indices: &[u64]) -> f64 {
        if self.order == Order::C || self.shape.ndim() <= 1 {
            kernels::sum_gather(self.dtype, self.bytes(), indices)
        } else {
            indices.iter().filter_map(|&i| self.get(i)).sum()
        }
    }

    /// A typed `ndarray` view, when the elements are native `f64` and aligned.
    pub fn view_f64(&self) -> Option<ndarray::ArrayViewD<'_, f64>> {
        use ndarray::ShapeBuilder;
        if self.dtype != Dtype::F8 {
            return None;
        }
        let values = bytemuck::try_cast_slice::<u8, f64>(self.bytes()).ok()?;
        let dims = ndarray::IxDyn(&self.shape.0);
        match self.order {
            Order::C => ndarray::ArrayViewD::from_shape(dims, values).ok(),
            Order::F => ndarray::ArrayViewD::from_shape(dims.f(), values).ok(),
        }
    }
}
