//! `Serialize`/`Deserialize` for `Array<T>`: the raw payload through the core's raw protocol
//! (`checkpointer_core::raw`), and a portable form for every other serializer.
//!
//! The portable form is a struct `{ dtype: "f32", shape: [2, 3], data: <bytes, LE> }`, which
//! is what an `Array` nested inside another value becomes in CBOR (or JSON, …).

use crate::{payload, Array, Element};
use checkpointer_core::raw;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;

impl<T: Element> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if raw::probing() {
            raw::offer(self.to_payload());
        }
        s.serialize_newtype_struct(raw::RAW_NAME, &Portable(self))
    }
}

struct Portable<'a, T: Element>(&'a Array<T>);

impl<T: Element> Serialize for Portable<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let elements = self.0.as_slice();
        let le: std::borrow::Cow<'_, [u8]> = if cfg!(target_endian = "little") {
            bytemuck::cast_slice(elements).into()
        } else {
            elements
                .iter()
                .flat_map(|x| bytemuck::bytes_of(&x.native_to_le()).to_vec())
                .collect::<Vec<u8>>()
                .into()
        };
        let mut st = s.serialize_struct("Array", 3)?;
        st.serialize_field("dtype", T::NAME)?;
        st.serialize_field("shape", self.0.shape())?;
        st.serialize_field("data", &AsBytes(&le))?;
        st.end()
    }
}

struct AsBytes<'a>(&'a [u8]);

impl Serialize for AsBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

#[derive(Deserialize)]
struct PortableOwned {
    dtype: String,
    shape: Vec<usize>,
    data: ByteVec,
}

struct ByteVec(Vec<u8>);

impl<'de> Deserialize<'de> for ByteVec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteVec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the array's elements as bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteVec, E> {
                Ok(ByteVec(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteVec, E> {
                Ok(ByteVec(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ByteVec, A::Error> {
                // Formats without a byte string type (JSON) give a sequence of numbers.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(ByteVec(out))
            }
        }
        d.deserialize_bytes(V)
    }
}

impl<'de, T: Element> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(raw::RAW_NAME, ArrayVisitor(PhantomData))
    }
}

struct ArrayVisitor<T>(PhantomData<T>);

impl<'de, T: Element> Visitor<'de> for ArrayVisitor<T> {
    type Value = Array<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {}", T::NAME)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Array<T>, D::Error> {
        if let Some(payload) = raw::take() {
            return Array::from_payload(payload).map_err(de::Error::custom);
        }
        from_portable(PortableOwned::deserialize(d)?)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Array<T>, A::Error> {
        // Formats that drop newtype wrappers hand the struct over directly.
        from_portable(PortableOwned::deserialize(
            de::value::MapAccessDeserializer::new(map),
        )?)
    }
}

fn from_portable<T: Element, E: de::Error>(p: PortableOwned) -> Result<Array<T>, E> {
    if p.dtype != T::NAME {
        return Err(E::custom(format!(
            "the array holds {}, the type {}",
            p.dtype,
            T::NAME
        )));
    }
    let count = payload::element_count(&p.shape, size_of::<T>())
        .ok_or_else(|| E::custom("the array's shape is too large"))?;
    if count * size_of::<T>() != p.data.0.len() {
        return Err(E::custom(format!(
            "the shape {:?} needs {} bytes, the array has {}",
            p.shape,
            count * size_of::<T>(),
            p.data.0.len()
        )));
    }
    let mut v = vec![T::zeroed(); count];
    bytemuck::cast_slice_mut::<T, u8>(&mut v).copy_from_slice(&p.data.0);
    v.iter_mut().for_each(|x| *x = x.le_to_native());
    Array::from_shape_vec(p.shape, v).map_err(E::custom)
}
