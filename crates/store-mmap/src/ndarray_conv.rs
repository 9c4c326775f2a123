//! Conversions between [`Array`] and `ndarray` arrays (feature `ndarray`).
//!
//! - `ndarray` → `Array`: without copying when the array is in standard (row-major,
//!   contiguous) layout and starts at its buffer's start; copied in logical order otherwise.
//! - `Array` → `ndarray`: [`Array::view`] borrows without copying (also for a mapped array);
//!   [`Array::into_ndarray`] moves the elements without copying when the array owns them
//!   alone, and copies a mapped or shared one.

use crate::{Array, Element};
use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn};

/// Moves a row-major array without copying; copies any other layout in logical order.
///
/// # Panics
///
/// If the array has more than 255 dimensions (the stored format's limit).
impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for Array<T> {
    fn from(a: ndarray::Array<T, D>) -> Self {
        let shape = a.shape().to_vec();
        let n = a.len();
        let elements = if a.is_standard_layout() {
            let (mut v, offset) = a.into_raw_vec_and_offset();
            match offset.unwrap_or(0) {
                0 if v.len() == n => v,
                off => {
                    v.truncate(off + n);
                    v.drain(..off);
                    v
                }
            }
        } else {
            a.iter().copied().collect()
        };
        Array::from_shape_vec(shape, elements)
            .expect("an ndarray's shape matches its number of elements")
    }
}

impl<T: Element> Array<T> {
    /// A dynamic-dimensional `ndarray` view of the elements, without copying.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        ArrayViewD::from_shape(IxDyn(self.shape()), self.as_slice())
            .expect("an Array's shape matches its number of elements")
    }

    /// An owned `ndarray` array: the elements move without copying when this array owns them
    /// alone, and are copied when they are shared or mapped.
    pub fn into_ndarray(self) -> ArrayD<T> {
        let shape = self.shape().to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), self.into_vec())
            .expect("an Array's shape matches its number of elements")
    }
}

impl<'a, T: Element> From<&'a Array<T>> for ArrayViewD<'a, T> {
    fn from(a: &'a Array<T>) -> Self {
        a.view()
    }
}
