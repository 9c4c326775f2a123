//! n-dimensional arrays as arguments: `checkpointer::Array<T>` and (feature `ndarray`)
//! `ndarray` arrays and views hash alike, by element type, shape and logical elements.
//!
//! Framing: a struct named [`ARRAY_NAME`] of two fields, the shape as a `[u64]` sequence and
//! the elements in logical (row-major) order as a `[T]` sequence — one number run. So a
//! view hashes only the elements it shows, in the order it shows them: two overlapping
//! slices of one buffer differ, and a transposed copy equals a transposed view. Never
//! change this framing (it is part of the stable hash format).

use super::{tag, Hasher, ObjectHash};

/// The struct name arrays hash under.
pub const ARRAY_NAME: &str = "checkpointer::Array";

/// A plain number type that arrays hold: the tag of its number runs and its wire bytes.
pub trait NumElement: ObjectHash + Copy + sealed::Sealed {
    /// Appends the elements' wire bytes (little-endian, `usize`/`isize` as 64-bit).
    fn put_wire(items: &[Self], out: &mut Vec<u8>);
    /// The run's element tag.
    #[doc(hidden)]
    const TAG: u8;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! num {
    ($($t:ty => $tag:ident as $wire:ty),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl NumElement for $t {
            const TAG: u8 = tag::$tag;
            fn put_wire(items: &[Self], out: &mut Vec<u8>) {
                for x in items {
                    out.extend_from_slice(&(*x as $wire).to_le_bytes());
                }
            }
        }
    )*};
}
num!(
    u8 => U8 as u8, u16 => U16 as u16, u32 => U32 as u32, u64 => U64 as u64,
    u128 => U128 as u128, usize => USIZE as u64,
    i8 => I8 as i8, i16 => I16 as i16, i32 => I32 as i32, i64 => I64 as i64,
    i128 => I128 as i128, isize => ISIZE as i64,
);

macro_rules! float {
    ($($t:ty => $tag:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl NumElement for $t {
            const TAG: u8 = tag::$tag;
            fn put_wire(items: &[Self], out: &mut Vec<u8>) {
                for x in items {
                    out.extend_from_slice(&x.to_bits().to_le_bytes());
                }
            }
        }
    )*};
}
float!(f32 => F32, f64 => F64);

/// Writes the header of an array: the struct frame and the shape.
fn begin(h: &mut Hasher, shape: &[usize]) {
    h.begin_struct(ARRAY_NAME, 2);
    h.write_header(tag::SEQ, shape.len());
    h.write_tagged(tag::NUM_RUN, &[tag::U64]);
    for d in shape {
        h.write_raw(&(*d as u64).to_le_bytes());
    }
}

/// Hashes a contiguous row-major array (what `Array<T>` is).
pub fn hash_array<T: NumElement>(h: &mut Hasher, shape: &[usize], elements: &[T]) {
    begin(h, shape);
    elements.object_hash(h);
}

/// Writes an array's elements given piece by piece in logical order (the lanes of a strided
/// view), buffering them into runs large enough that long arrays still hash on all cores.
/// The digest is the same as [`hash_array`]'s for the same shape and elements.
pub struct ArrayWriter<'h, T: NumElement> {
    h: &'h mut Hasher,
    buf: Vec<u8>,
    _t: std::marker::PhantomData<T>,
}

/// Large enough for blake3's multi-threaded path (`PARALLEL_THRESHOLD`).
const CHUNK: usize = 2 * super::PARALLEL_THRESHOLD;

impl<'h, T: NumElement> ArrayWriter<'h, T> {
    /// Starts an array of `shape` holding `len` elements (the product of `shape`).
    pub fn new(h: &'h mut Hasher, shape: &[usize], len: usize) -> Self {
        begin(h, shape);
        h.write_header(tag::SEQ, len);
        h.write_tagged(tag::NUM_RUN, &[T::TAG]);
        let cap = CHUNK.min(len.saturating_mul(size_of::<T>()));
        ArrayWriter {
            h,
            buf: Vec::with_capacity(cap),
            _t: std::marker::PhantomData,
        }
    }

    /// Appends the next elements.
    pub fn push(&mut self, elements: &[T]) {
        for part in elements.chunks(CHUNK / size_of::<T>().max(1)) {
            T::put_wire(part, &mut self.buf);
            if self.buf.len() >= CHUNK {
                self.h.write_raw(&self.buf);
                self.buf.clear();
            }
        }
    }

    /// Writes what is buffered.
    pub fn finish(self) {
        self.h.write_raw(&self.buf);
    }
}

#[cfg(feature = "ndarray")]
mod ndarray_impl {
    use super::*;
    use ndarray::{ArrayBase, Axis, Data, Dimension};

    /// `ndarray` arrays, views and slices hash by element type, shape and their logical
    /// elements in logical order — never by the buffer they borrow from — exactly as a
    /// `checkpointer::Array` of the same shape and elements does.
    impl<S, D> ObjectHash for ArrayBase<S, D>
    where
        S: Data,
        S::Elem: NumElement,
        D: Dimension,
    {
        fn object_hash(&self, h: &mut Hasher) {
            if let Some(elements) = self.as_slice() {
                return hash_array(h, self.shape(), elements);
            }
            let view = self.view().into_dyn();
            let mut w = ArrayWriter::new(h, view.shape(), view.len());
            if view.ndim() == 0 || view.is_empty() {
                view.iter().for_each(|x| w.push(std::slice::from_ref(x)));
                return w.finish();
            }
            // Lanes along the last axis, in logical order; a lane with a stride is gathered.
            let mut gathered = Vec::new();
            for lane in view.lanes(Axis(view.ndim() - 1)) {
                match lane.to_slice() {
                    Some(s) => w.push(s),
                    None => {
                        gathered.clear();
                        gathered.extend(lane.iter().copied());
                        w.push(&gathered);
                    }
                }
            }
            w.finish()
        }
    }
}
