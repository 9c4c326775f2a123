//! Raw payloads: values that are one byte run (`checkpointer::Array<T>`) skip CBOR.
//!
//! The cached-function runtime only knows `Serialize + DeserializeOwned`, so the protocol runs
//! through serde and needs no special case anywhere else:
//!
//! - **Encoding.** [`crate::encode`] first serializes the value into a *probe* serializer that
//!   accepts exactly one call, `serialize_newtype_struct(RAW_NAME, …)`, and fails every other
//!   one at once (so probing a struct, a `Vec` or a number costs one failed call). While the
//!   probe runs, [`probing`] is true and a raw value hands its payload over with [`offer`]
//!   before making that call. If the probe saw the call and a payload was offered, the entry
//!   is [`Codec::RawArray`](crate::Codec::RawArray) with that payload; otherwise the value is
//!   CBOR, where the raw value writes a portable form of itself (so an `Array` nested in a
//!   struct, or stored by an older reader, still works).
//! - **Decoding.** A `RawArray` entry is decoded by a deserializer that answers only
//!   `deserialize_newtype_struct(RAW_NAME, …)`; inside that call [`take`] returns the entry's
//!   payload `Bytes` — possibly a read-only map of a file, which the value keeps without
//!   copying. Asking for any other type is a decode error, so the entry is a miss.
//!
//! Only a value at the top of a return type (through references, `Box`, `Arc`) is raw: the
//! probe fails on `Option`, tuples and structs before reaching what they contain.

use crate::CheckpointError;
use bytes::Bytes;
use serde::de::{self, DeserializeOwned, Visitor};
use serde::ser::{self, Impossible, Serialize};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;

/// The newtype-struct name a raw value serializes under (private to the protocol).
pub const RAW_NAME: &str = "$checkpointer::raw";

thread_local! {
    static PROBING: Cell<bool> = const { Cell::new(false) };
    static OFFERED: RefCell<Option<Bytes>> = const { RefCell::new(None) };
    static LOADING: RefCell<Option<Bytes>> = const { RefCell::new(None) };
}

/// Whether the value being serialized is being probed for a raw payload (see the module
/// documentation): only then should a raw value build its payload and [`offer`] it.
pub fn probing() -> bool {
    // `try_with` throughout: during thread teardown (a `Drop` calling a cached function) the
    // protocol's slots may be gone, and values then take their portable form.
    PROBING.try_with(Cell::get).unwrap_or(false)
}

/// Hands the probe the payload of the raw value being serialized; call just before
/// `serialize_newtype_struct(RAW_NAME, …)`, and only while [`probing`].
pub fn offer(payload: Bytes) {
    let _ = OFFERED.try_with(|o| *o.borrow_mut() = Some(payload));
}

/// Inside `deserialize_newtype_struct(RAW_NAME, …)` of a raw entry: its payload. `None` when
/// the value is being decoded from CBOR (decode the portable form then).
pub fn take() -> Option<Bytes> {
    LOADING.try_with(|l| l.borrow_mut().take()).ok().flatten()
}

/// The raw payload of `value`, if it is a raw value; `None` means "encode as CBOR".
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Option<Bytes> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = PROBING.try_with(|p| p.set(self.0));
            let _ = OFFERED.try_with(|o| o.borrow_mut().take());
        }
    }
    let _reset = Reset(PROBING.try_with(|p| p.replace(true)).unwrap_or(false));
    let _ = OFFERED.try_with(|o| o.borrow_mut().take());
    match value.serialize(Probe) {
        Ok(()) => OFFERED.try_with(|o| o.borrow_mut().take()).ok().flatten(),
        Err(_) => None,
    }
}

/// Decodes a `RawArray` entry's payload as `T` (which must be a raw value).
pub(crate) fn decode<T: DeserializeOwned>(payload: &Bytes) -> Result<T, CheckpointError> {
    T::deserialize(RawDeserializer {
        payload: payload.clone(),
    })
    .map_err(|e| CheckpointError::Decode(e.0.into_owned()))
}

/// The error of the probe and of the raw deserializer: a message. Borrowed when fixed, so the
/// probe's refusal of every non-raw value (every miss encodes through it) allocates nothing.
#[derive(Debug)]
struct Error(Cow<'static, str>);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string().into())
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string().into())
    }
}

fn not_raw() -> Error {
    Error("not a raw value".into())
}

/// Accepts `serialize_newtype_struct(RAW_NAME, _)` and nothing else.
struct Probe;

macro_rules! refuse {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {$(
        fn $name(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
            Err(not_raw())
        }
    )*};
}

impl ser::Serializer for Probe {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn collect_str<T: fmt::Display + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(not_raw())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(not_raw())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        // The raw value offered its payload just before this call; the portable form is not
        // serialized at all.
        let offered = OFFERED.try_with(|o| o.borrow().is_some());
        if name == RAW_NAME && offered.unwrap_or(false) {
            Ok(())
        } else {
            Err(not_raw())
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(not_raw())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_raw())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_raw())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_raw())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_raw())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_raw())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_raw())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_raw())
    }
}

/// Answers `deserialize_newtype_struct(RAW_NAME, …)` with the payload; refuses the rest.
struct RawDeserializer {
    payload: Bytes,
}

impl<'de> de::Deserializer<'de> for RawDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error(
            "the entry holds a raw array, but the return type is not `Array`".into(),
        ))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name != RAW_NAME {
            return self.deserialize_any(visitor);
        }
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                let _ = LOADING.try_with(|l| l.borrow_mut().take());
            }
        }
        let _clear = Clear;
        let _ = LOADING.try_with(|l| *l.borrow_mut() = Some(self.payload));
        visitor.visit_newtype_struct(Refuse)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// What a raw value's visitor gets as its inner deserializer: it must [`take`] the payload
/// instead of reading from this.
struct Refuse;

impl<'de> de::Deserializer<'de> for Refuse {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error(
            "a raw payload is read with `raw::take`, not deserialized".into(),
        ))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal raw value: its payload is its bytes.
    #[derive(Debug, PartialEq)]
    struct Blob(Bytes);

    impl Serialize for Blob {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if probing() {
                offer(self.0.clone());
            }
            s.serialize_newtype_struct(RAW_NAME, &self.0[..])
        }
    }

    impl<'de> de::Deserialize<'de> for Blob {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Blob;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a blob")
                }
                fn visit_newtype_struct<D: de::Deserializer<'de>>(
                    self,
                    d: D,
                ) -> Result<Blob, D::Error> {
                    match take() {
                        Some(b) => Ok(Blob(b)),
                        None => Vec::<u8>::deserialize(d).map(|v| Blob(Bytes::from(v))),
                    }
                }
            }
            use serde::Deserialize as _;
            d.deserialize_newtype_struct(RAW_NAME, V)
        }
    }

    #[test]
    fn raw_values_round_trip_without_copying() {
        let blob = Blob(Bytes::from_static(b"raw bytes"));
        let payload = encode(&blob).expect("a raw value");
        assert_eq!(
            payload.as_ptr(),
            blob.0.as_ptr(),
            "the payload is not copied"
        );
        let back: Blob = decode(&payload).unwrap();
        assert_eq!(
            back.0.as_ptr(),
            payload.as_ptr(),
            "decoding keeps the payload"
        );
        assert!(!probing());
    }

    #[test]
    fn other_values_are_not_raw_and_raw_entries_refuse_other_types() {
        assert!(encode(&5u32).is_none());
        assert!(encode(&Some(Blob(Bytes::new()))).is_none());
        assert!(encode(&(Blob(Bytes::new()), 1)).is_none());
        assert!(decode::<u32>(&Bytes::from_static(b"x")).is_err());
        assert!(decode::<Vec<u8>>(&Bytes::from_static(b"x")).is_err());
        assert!(take().is_none(), "nothing lingers after a failed decode");
    }
}
