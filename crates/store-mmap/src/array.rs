//! `Array<T>`: an n-dimensional array of numbers that may live in a read-only file map.

use crate::{element::name_of, payload, Element, MmapError};
use checkpointer_core::hash::nd::hash_array;
use checkpointer_core::{Bytes, Hasher, ObjectHash};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An n-dimensional array of plain numbers, row-major (C order), that derefs to `[T]`.
///
/// Returned from a function checkpointed on the `mmap` store, a hit hands back an `Array`
/// backed by a read-only map of the stored file: loading costs the same for 1 KiB and
/// 1 GiB, and pages are read from the page cache as they are touched. On every other store
/// it is stored as the same raw bytes (never CBOR-encoded element by element) and decoded
/// without copying when the bytes are aligned.
///
/// As an argument it hashes its element type, shape and elements (the elements as one byte
/// run, on all cores for large arrays), exactly as an `ndarray` array of the same shape and
/// elements does (feature `ndarray`).
///
/// Arrays are immutable values: cloning one is O(1) (the elements are shared), and
/// [`Array::make_mut`] copies them only when they are shared or mapped.
///
/// ```
/// use checkpointer_store_mmap::Array;
///
/// let a = Array::from_shape_vec([2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!(a.shape(), &[2, 3]);
/// assert_eq!(a[4], 5.0);                      // derefs to [f32]
/// assert_eq!(a.iter().sum::<f32>(), 21.0);
/// assert!(Array::from_shape_vec([4], vec![0u8; 3]).is_err());
/// ```
pub struct Array<T: Element> {
    shape: Box<[usize]>,
    data: Data<T>,
}

enum Data<T> {
    /// Elements on the heap (computed, or copied).
    Heap(Arc<Vec<T>>),
    /// Elements in shared bytes — a file map, or a buffer read from a store — aligned for
    /// `T`, a whole number of elements, in native byte order.
    Shared(Bytes),
}

impl<T> Clone for Data<T> {
    fn clone(&self) -> Self {
        match self {
            Data::Heap(v) => Data::Heap(v.clone()),
            Data::Shared(b) => Data::Shared(b.clone()),
        }
    }
}

impl<T: Element> Array<T> {
    /// An array of `shape` holding `elements` in row-major order; an error when their number
    /// is not the product of the shape (1 for the empty shape: a 0-d array).
    pub fn from_shape_vec(
        shape: impl Into<Vec<usize>>,
        elements: Vec<T>,
    ) -> Result<Self, MmapError> {
        let shape = shape.into();
        let expected = payload::element_count(&shape, size_of::<T>()).ok_or_else(|| {
            MmapError::Shape(format!(
                "the shape {shape:?} is too large to hold in memory"
            ))
        })?;
        if expected != elements.len() {
            return Err(MmapError::Shape(format!(
                "the shape {shape:?} holds {expected} elements, {} were given",
                elements.len()
            )));
        }
        if shape.len() > payload::MAX_NDIM {
            return Err(MmapError::Shape(format!(
                "{} dimensions (at most {})",
                shape.len(),
                payload::MAX_NDIM
            )));
        }
        Ok(Array {
            shape: shape.into_boxed_slice(),
            data: Data::Heap(Arc::new(elements)),
        })
    }

    /// A one-dimensional array.
    pub fn from_vec(elements: Vec<T>) -> Self {
        Array {
            shape: vec![elements.len()].into_boxed_slice(),
            data: Data::Heap(Arc::new(elements)),
        }
    }

    /// A zero-dimensional array holding one value.
    pub fn scalar(value: T) -> Self {
        Array {
            shape: Box::new([]),
            data: Data::Heap(Arc::new(vec![value])),
        }
    }

    /// The shape: the length of each dimension, outermost first. Empty for a 0-d array.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[T] {
        match &self.data {
            Data::Heap(v) => v,
            // Alignment and length were checked when the array was made.
            Data::Shared(b) => bytemuck::cast_slice(b),
        }
    }

    /// Whether the elements live in a read-only file map (a hit on the mmap store).
    pub fn is_mapped(&self) -> bool {
        match &self.data {
            Data::Heap(_) => false,
            Data::Shared(b) => checkpointer_core::mapped::is_mapped(b),
        }
    }

    /// The elements as a `Vec`, without copying when this array owns them alone.
    pub fn into_vec(self) -> Vec<T> {
        match self.data {
            Data::Heap(v) => Arc::try_unwrap(v).unwrap_or_else(|v| v.to_vec()),
            Data::Shared(b) => bytemuck::cast_slice(&b).to_vec(),
        }
    }

    /// The elements, mutably: copies them first if they are shared with a clone or live in a
    /// file map (which is read-only), like `Arc::make_mut`.
    pub fn make_mut(&mut self) -> &mut [T] {
        if let Data::Shared(b) = &self.data {
            self.data = Data::Heap(Arc::new(bytemuck::cast_slice(b).to_vec()));
        }
        match &mut self.data {
            Data::Heap(v) => Arc::make_mut(v).as_mut_slice(),
            Data::Shared(_) => unreachable!("replaced just above"),
        }
    }

    /// The raw payload of this array (see [`crate::payload`]): one copy of the elements.
    pub(crate) fn to_payload(&self) -> Bytes {
        Bytes::from(payload::build(&self.shape, self.as_slice()))
    }

    /// An array over a raw payload: without copying when the elements are aligned for `T`
    /// (always in a file map) and the target is little-endian; copied otherwise.
    pub(crate) fn from_payload(bytes: Bytes) -> Result<Self, MmapError> {
        let d = payload::parse(&bytes)?;
        if d.code != T::CODE {
            return Err(MmapError::Payload(format!(
                "the stored array holds {}, the return type {}",
                name_of(d.code),
                T::NAME
            )));
        }
        let count = payload::element_count(&d.shape, size_of::<T>())
            .ok_or_else(|| MmapError::Payload("the stored shape is too large".into()))?;
        if count * size_of::<T>() != d.data_len {
            return Err(MmapError::Payload(format!(
                "the shape {:?} needs {} bytes of {}, the payload has {}",
                d.shape,
                count * size_of::<T>(),
                T::NAME,
                d.data_len
            )));
        }
        let elements = bytes.slice(d.data_offset..d.data_offset + d.data_len);
        let aligned = bytemuck::try_cast_slice::<u8, T>(&elements).is_ok();
        let data = if aligned && cfg!(target_endian = "little") {
            Data::Shared(elements)
        } else {
            let mut v = vec![T::zeroed(); count];
            bytemuck::cast_slice_mut::<T, u8>(&mut v).copy_from_slice(&elements);
            v.iter_mut().for_each(|x| *x = x.le_to_native());
            Data::Heap(Arc::new(v))
        };
        Ok(Array {
            shape: d.shape.into_boxed_slice(),
            data,
        })
    }
}

impl<T: Element> Deref for Array<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Element> AsRef<[T]> for Array<T> {
    fn as_ref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Element> Clone for Array<T> {
    /// O(1): the elements are shared.
    fn clone(&self) -> Self {
        Array {
            shape: self.shape.clone(),
            data: self.data.clone(),
        }
    }
}

impl<T: Element> Default for Array<T> {
    /// An empty one-dimensional array.
    fn default() -> Self {
        Array::from_vec(Vec::new())
    }
}

impl<T: Element> From<Vec<T>> for Array<T> {
    fn from(v: Vec<T>) -> Self {
        Array::from_vec(v)
    }
}

impl<T: Element> PartialEq for Array<T> {
    /// Equal shapes and equal elements (`f32`/`f64` compare as numbers: NaN ≠ NaN).
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.as_slice() == other.as_slice()
    }
}

impl<T: Element> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        let s = self.as_slice();
        let mut d = f.debug_struct("Array");
        d.field("shape", &self.shape)
            .field("mapped", &self.is_mapped());
        if s.len() <= SHOWN {
            d.field("elements", &s);
        } else {
            d.field("first elements", &&s[..SHOWN]);
        }
        d.finish()
    }
}

impl<T: Element> ObjectHash for Array<T> {
    /// Element type, shape and elements (one byte run); equal to an `ndarray` array of the
    /// same shape and elements.
    fn object_hash(&self, h: &mut Hasher) {
        hash_array(h, &self.shape, self.as_slice());
    }
}
