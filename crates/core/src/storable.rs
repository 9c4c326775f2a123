//! What a cached function may return: the one compile-time check of the serde bound.
//!
//! The macro asks for `<Stored as Storable>::CODEC` once, spanned on the return type, and
//! hands the codec to [`crate::CachedFn`], whose methods carry no serde bound themselves: a
//! return type without serde is then one error at the return type, not one per generated
//! call naming the runtime's internals.

use crate::{codec, CheckpointError, Entry};
use serde::{de::DeserializeOwned, Serialize};

/// A type `#[checkpoint]` can store and load back: every `Serialize + DeserializeOwned` type.
#[diagnostic::on_unimplemented(
    message = "`#[checkpoint]` cannot cache `{Self}`: it does not implement `serde::Serialize` and `serde::de::DeserializeOwned`",
    label = "the cached value must implement `Serialize` and `Deserialize`",
    note = "for your own type, add `#[derive(serde::Serialize, serde::Deserialize)]` to it (serde with its `derive` feature); for another crate's type, cache a newtype of your own that derives them (`#[serde(with = …)]` on its field), or turn on that crate's `serde` feature",
    note = "a `Result<T, E>` return caches only `Ok(T)`, so only `T` needs them; any other return type (`Option<T>` included) is cached whole",
    note = "in a generic function, bound the type parameters the return type holds: `T: serde::Serialize + serde::de::DeserializeOwned`"
)]
pub trait Storable: Sized {
    /// How values of this type are encoded and decoded.
    const CODEC: ValueCodec<Self>;
}

// `do_not_recommend`: a type without serde is reported as "not `Storable`", with the notes
// above, rather than as the first of serde's bounds it misses.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> Storable for T {
    const CODEC: ValueCodec<T> = ValueCodec {
        encode: codec::encode::<T>,
        decode: codec::decode::<T>,
    };
}

/// The encoder and decoder of one stored type, as plain function pointers (see the module
/// documentation for why they are not trait bounds).
pub struct ValueCodec<T> {
    encode: fn(&T) -> Result<Entry, CheckpointError>,
    decode: fn(&Entry) -> Result<T, CheckpointError>,
}

impl<T> ValueCodec<T> {
    /// Encodes `value` as an entry created now ([`crate::encode`]).
    #[inline]
    pub fn encode(&self, value: &T) -> Result<Entry, CheckpointError> {
        (self.encode)(value)
    }

    /// Decodes an entry's payload ([`crate::decode`]).
    #[inline]
    pub fn decode(&self, entry: &Entry) -> Result<T, CheckpointError> {
        (self.decode)(entry)
    }
}

// By hand: derived impls would require `T: Clone`.
impl<T> Clone for ValueCodec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ValueCodec<T> {}

impl<T> std::fmt::Debug for ValueCodec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueCodec<{}>", std::any::type_name::<T>())
    }
}
