//! The element types an [`Array`](crate::Array) holds: plain numbers.

use checkpointer_core::hash::nd::NumElement;
use std::fmt::Debug;

/// A plain number type an [`Array`](crate::Array) can hold: every integer width from 8 to 128
/// bits, signed and unsigned, `f32` and `f64`. Sealed.
///
/// Stored little-endian; [`Element::CODE`] names the type in the stored array's header, so
/// an array is never read back as another element type.
pub trait Element:
    NumElement + bytemuck::Pod + Debug + PartialEq + Send + Sync + 'static + sealed::Sealed
{
    /// The element type's code in a stored array's header (frozen).
    const CODE: u8;
    /// The element type's name (`"f32"`, …), for messages and the portable serde form.
    const NAME: &'static str;
    /// Converts from little-endian (a no-op on little-endian targets).
    fn le_to_native(self) -> Self;
    /// Converts to little-endian (a no-op on little-endian targets).
    fn native_to_le(self) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! int {
    ($($t:ty => $code:expr),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const CODE: u8 = $code;
            const NAME: &'static str = stringify!($t);
            fn le_to_native(self) -> Self { <$t>::from_le(self) }
            fn native_to_le(self) -> Self { <$t>::to_le(self) }
        }
    )*};
}
int!(
    u8 => 1, u16 => 2, u32 => 3, u64 => 4, u128 => 5,
    i8 => 6, i16 => 7, i32 => 8, i64 => 9, i128 => 10,
);

macro_rules! float {
    ($($t:ty => $code:expr),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const CODE: u8 = $code;
            const NAME: &'static str = stringify!($t);
            fn le_to_native(self) -> Self { <$t>::from_bits(<$t>::to_bits(self).to_le()) }
            fn native_to_le(self) -> Self { <$t>::from_bits(<$t>::to_bits(self).to_le()) }
        }
    )*};
}
float!(f32 => 11, f64 => 12);

/// The name of the element type with header code `code`, for messages.
pub(crate) fn name_of(code: u8) -> &'static str {
    match code {
        1 => "u8",
        2 => "u16",
        3 => "u32",
        4 => "u64",
        5 => "u128",
        6 => "i8",
        7 => "i16",
        8 => "i32",
        9 => "i64",
        10 => "i128",
        11 => "f32",
        12 => "f64",
        _ => "an unknown type",
    }
}
