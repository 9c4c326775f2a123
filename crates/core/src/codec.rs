//! Typed encoding above the byte-moving `Storage`: CBOR through ciborium.
//!
//! CBOR decoding builds plain data only: nothing a cache file contains can run code.

use crate::{CheckpointError, Codec, Entry};
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

/// How deep [`decode`] follows nested arrays, maps, tags and enums (ciborium's default):
/// deeper input is refused rather than risking the stack.
pub const DECODE_DEPTH: usize = 256;

/// Encodes `value` as an entry created now: CBOR, or the value's raw payload for a raw value
/// (`checkpointer::Array<T>`; see [`crate::raw`]).
///
/// Refuses (`CheckpointError::Encode`) a value nested too deeply for [`decode`] to read back:
/// storing it would only make every later call load, fail and recompute.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Entry, CheckpointError> {
    if let Some(payload) = crate::raw::encode(value) {
        return Ok(Entry::new(Codec::RawArray, payload));
    }
    let payload = with_out_buf(|buf| {
        ciborium::into_writer(value, &mut *buf)
            .map_err(|e| CheckpointError::Encode(e.to_string()))?;
        check_depth(buf)?;
        Ok(payload_of(buf))
    })?;
    Ok(Entry::new(Codec::Cbor, payload))
}

/// Payloads up to this size are copied out of the thread's encode buffer into an allocation
/// of their exact size; larger ones take the buffer with them (no copy).
const COPY_OUT: usize = 4096;

/// The encoded bytes in `buf` as a payload, leaving `buf` empty.
fn payload_of(buf: &mut Vec<u8>) -> Bytes {
    if buf.len() <= COPY_OUT {
        let payload = Bytes::copy_from_slice(buf);
        buf.clear();
        payload
    } else {
        Bytes::from(std::mem::take(buf))
    }
}

/// Runs `f` with the thread's empty encode buffer: a small value is encoded with one
/// allocation (its payload) instead of a growing `Vec` and then `Bytes`' own header.
fn with_out_buf<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let mut f = Some(f);
    let reused = OUT
        .try_with(|out| match out.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                let r = (f.take().expect("called once"))(&mut buf);
                // An encoding that failed half-way leaves bytes behind; a large one, capacity.
                buf.clear();
                if buf.capacity() > COPY_OUT {
                    *buf = Vec::new();
                }
                Some(r)
            }
            // A Serialize impl that itself encodes an entry: the inner one gets its own buffer.
            Err(_) => None,
        })
        // During thread teardown (a `Drop` calling a cached function) the buffer may be gone.
        .ok()
        .flatten();
    match reused {
        Some(r) => r,
        None => (f.take().expect("called once"))(&mut Vec::with_capacity(64)),
    }
}

/// Walks encoded CBOR without building anything, one level short of [`DECODE_DEPTH`]: a
/// typed decode nests at most one level deeper than this untyped walk (a unit enum variant
/// is a plain string here), so what passes decodes.
fn check_depth(cbor: &[u8]) -> Result<(), CheckpointError> {
    if one_number(cbor) {
        return Ok(());
    }
    // Every level of nesting takes at least one byte, so a shorter encoding cannot reach the
    // limit: walk it with the thread's scratch buffer (ciborium's default limit, above ours)
    // rather than have ciborium zero a fresh 4 KiB one, which was most of a small miss.
    let walked = if cbor.len() < DECODE_DEPTH - 1 {
        with_scratch(|scratch| {
            ciborium::de::from_reader_with_buffer::<serde::de::IgnoredAny, _>(cbor, scratch)
        })
    } else {
        ciborium::de::from_reader_with_recursion_limit::<serde::de::IgnoredAny, _>(
            cbor,
            DECODE_DEPTH - 1,
        )
    };
    match walked {
        Ok(_) => Ok(()),
        Err(ciborium::de::Error::RecursionLimitExceeded) => Err(CheckpointError::Encode(format!(
            "the value is nested more than {} levels deep, deeper than the cache decodes; it is not cached",
            DECODE_DEPTH - 1
        ))),
        Err(e) => Err(CheckpointError::Encode(format!(
            "the encoding does not read back: {e}"
        ))),
    }
}

/// Whether `cbor` is exactly one number (an integer or a float: a header and nothing else),
/// the encoding of every numeric return value. It nests nothing and reads back, so the walk
/// of [`check_depth`] has nothing to find (and would cost more than the rest of encoding it).
fn one_number(cbor: &[u8]) -> bool {
    use ciborium_ll::{Decoder, Header};
    let mut decoder = Decoder::from(cbor);
    matches!(
        decoder.pull(),
        Ok(Header::Positive(_) | Header::Negative(_) | Header::Float(_))
    ) && decoder.offset() == cbor.len()
}

/// Decodes an entry's payload into `T`.
pub fn decode<T: DeserializeOwned>(entry: &Entry) -> Result<T, CheckpointError> {
    match entry.meta.codec {
        Codec::Cbor => with_scratch(|scratch| {
            ciborium::de::from_reader_with_buffer(&entry.payload[..], scratch)
        })
        .map_err(|e| CheckpointError::Decode(e.to_string())),
        Codec::RawArray => crate::raw::decode(&entry.payload),
        #[allow(unreachable_patterns)]
        other => Err(CheckpointError::Decode(format!(
            "entry has codec {other:?}, expected CBOR"
        ))),
    }
}

/// Runs `f` with a per-thread scratch buffer for ciborium: `from_reader` zeroes a fresh
/// 4 KiB buffer on every call, which was most of the cost of a memory-store hit.
fn with_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; 4096].into_boxed_slice());
    }
    let mut f = Some(f);
    let reused = SCRATCH
        .try_with(|s| match s.try_borrow_mut() {
            Ok(mut buf) => Some((f.take().expect("called once"))(&mut buf)),
            // A Deserialize impl that itself decodes an entry: give the inner one its own buffer.
            Err(_) => None,
        })
        // During thread teardown (a `Drop` calling a cached function) the buffer may be gone.
        .ok()
        .flatten();
    match reused {
        Some(r) => r,
        None => (f.take().expect("called once"))(&mut [0u8; 4096]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nested `Vec`s `depth` deep around a unit enum variant (the typed decode's deepest case).
    fn nested(depth: usize) -> serde_json_like::V {
        let mut v = serde_json_like::V::Leaf(serde_json_like::Unit::A);
        for _ in 0..depth {
            v = serde_json_like::V::List(vec![v]);
        }
        v
    }

    mod serde_json_like {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub enum Unit {
            A,
        }
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        #[serde(untagged)]
        pub enum V {
            Leaf(Unit),
            List(Vec<V>),
        }
    }

    /// Issue 9, finding 7: a value nested deeper than the decoder reads was stored anyway,
    /// and every later call failed to decode it and recomputed.
    #[test]
    fn what_encodes_decodes() {
        for depth in [0, 1, 100, 200, 253, 254, 255, 256, 300, 1000] {
            let value = nested(depth);
            match encode(&value) {
                Ok(entry) => {
                    let back: serde_json_like::V = decode(&entry).unwrap_or_else(|e| {
                        panic!("depth {depth} encoded but does not decode: {e}")
                    });
                    assert_eq!(back, value);
                }
                Err(e) => {
                    assert!(depth >= 250, "depth {depth} refused: {e}");
                    assert!(matches!(e, CheckpointError::Encode(_)));
                }
            }
        }
        // Typed nesting through derived (externally tagged) enums and structs.
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        enum Tree {
            Leaf,
            Node(Box<Tree>),
        }
        for depth in [10, 200, 254, 255, 256, 400] {
            let mut t = Tree::Leaf;
            for _ in 0..depth {
                t = Tree::Node(Box::new(t));
            }
            if let Ok(entry) = encode(&t) {
                let back: Tree = decode(&entry).unwrap_or_else(|e| {
                    panic!("tree depth {depth} encoded but does not decode: {e}")
                });
                assert_eq!(back, t);
            }
        }
        assert!(encode(&nested(1000)).is_err());
    }
}

#[cfg(test)]
mod buffers {
    use super::*;
    use serde::ser::{Error as _, SerializeSeq, Serializer};

    /// Announces two items and writes one: CBOR that does not read back.
    struct Short;
    impl Serialize for Short {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(2))?;
            seq.serialize_element(&1u8)?;
            seq.end()
        }
    }

    /// Writes some items, then fails.
    struct FailsHalfWay;
    impl Serialize for FailsHalfWay {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(None)?;
            seq.serialize_element(&"written before the failure")?;
            Err(S::Error::custom("refused half-way"))
        }
    }

    /// Encodes another value while being encoded (as a `Serialize` impl may, through a cached
    /// call): the inner encoding must not write into the outer one's buffer.
    struct Nests;
    impl Serialize for Nests {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let inner = encode(&"inner").map_err(S::Error::custom)?;
            s.serialize_bytes(&inner.payload)
        }
    }

    #[test]
    fn a_short_encoding_that_does_not_read_back_is_refused() {
        // Short values take the scratch-buffer walk: it must refuse what the other refuses.
        let e = encode(&Short).expect_err("stored CBOR that does not decode");
        assert!(matches!(e, CheckpointError::Encode(_)), "{e}");
        let long: Vec<Short> = (0..300).map(|_| Short).collect();
        assert!(encode(&long).is_err());
    }

    #[test]
    fn every_encoding_starts_from_an_empty_buffer() {
        assert!(encode(&FailsHalfWay).is_err());
        let after: u64 = decode(&encode(&7u64).unwrap()).unwrap();
        assert_eq!(after, 7);

        let nested = encode(&Nests).unwrap();
        let outer: serde_bytes_like::Bytes = decode(&nested).unwrap();
        let inner: String = decode(&Entry::new(Codec::Cbor, Bytes::from(outer.0))).unwrap();
        assert_eq!(inner, "inner");

        // Around the copy-out bound: each payload is exactly the value's encoding.
        for n in [
            0,
            1,
            COPY_OUT - 3,
            COPY_OUT - 2,
            COPY_OUT,
            COPY_OUT + 1,
            100_000,
        ] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let entry = encode(&serde_bytes_like::Bytes(v.clone())).unwrap();
            let back: serde_bytes_like::Bytes = decode(&entry).unwrap();
            assert_eq!(back.0, v, "{n} bytes");
            let small: u64 = decode(&encode(&(n as u64)).unwrap()).unwrap();
            assert_eq!(small, n as u64);
        }
    }

    /// Writes `n` bytes, then panics (a `Serialize` impl may).
    struct PanicsAfter(usize);
    impl Serialize for PanicsAfter {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(None)?;
            seq.serialize_element(&serde_bytes_like::Bytes(vec![0xAB; self.0]))?;
            panic!("the Serialize impl panics half-way");
        }
    }

    #[test]
    fn an_encoding_after_a_panicking_one_holds_only_its_own_bytes() {
        for n in [0, 10, COPY_OUT - 8, COPY_OUT + 100, 70_000] {
            let caught = std::panic::catch_unwind(|| encode(&PanicsAfter(n)));
            assert!(caught.is_err());
            for (v, len) in [(1u64, 1usize), (300, 3)] {
                let entry = encode(&v).unwrap();
                assert_eq!(entry.payload.len(), len, "after a panic at {n} bytes");
                assert_eq!(decode::<u64>(&entry).unwrap(), v);
            }
            let text = "x".repeat(n % 5000);
            let entry = encode(&text).unwrap();
            assert_eq!(decode::<String>(&entry).unwrap(), text);
            assert!(
                !entry.payload.contains(&0xAB),
                "bytes of the panicked value"
            );
        }
    }

    #[test]
    fn numbers_skip_the_walk_and_nothing_else_does() {
        assert!(one_number(&[0x17]));
        assert!(one_number(&[0x1b, 1, 2, 3, 4, 5, 6, 7, 8]));
        assert!(one_number(&[
            0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]));
        assert!(one_number(&[0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0])); // NaN
        assert!(!one_number(&[]));
        assert!(!one_number(&[0x1b, 1, 2])); // cut short
        assert!(!one_number(&[0x01, 0x01])); // something after it
        assert!(!one_number(&[0x81, 0x01])); // an array of one number
        assert!(!one_number(&[0xc1, 0x01])); // a tagged number
        assert!(!one_number(&[0xf5])); // `true`: a simple value, walked
        assert!(!one_number(&[0x61, b'a']));
        // Every numeric type, at its bounds, still reads back as itself.
        fn back<T>(v: T)
        where
            T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            assert_eq!(decode::<T>(&encode(&v).unwrap()).unwrap(), v);
        }
        back(0u8);
        back(u64::MAX);
        back(i64::MIN);
        back(u128::MAX);
        back(i128::MIN);
        back(-1.5f32);
        back(f64::MAX);
        back(f64::INFINITY);
        let nan: f64 = decode(&encode(&f64::NAN).unwrap()).unwrap();
        assert!(nan.is_nan());
    }

    mod serde_bytes_like {
        /// A byte string (CBOR major type 2), not an array of numbers.
        #[derive(Debug, PartialEq)]
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                        Ok(Bytes(v))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    /// A checksummed entry whose CBOR announces huge lengths: decoding fails without
    /// allocating what the header claims (the payload is all the bytes there are).
    #[test]
    fn announced_lengths_do_not_allocate() {
        let cases: [&[u8]; 5] = [
            &[0x7b, 0x40, 0, 0, 0, 0, 0, 0, 0, b'a'], // text of 2^62 bytes
            &[0x5b, 0x40, 0, 0, 0, 0, 0, 0, 0, 1],    // bytes of 2^62
            &[0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0, 1],    // array of 2^62 items
            &[0xbb, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2], // map of 2^62 pairs
            &[0x7f, 0x7b, 0x40, 0, 0, 0, 0, 0, 0, 0], // indefinite text, huge chunk
        ];
        for bytes in cases {
            let e = Entry::new(Codec::Cbor, Bytes::copy_from_slice(bytes));
            assert!(decode::<String>(&e).is_err());
            assert!(decode::<Vec<u8>>(&e).is_err());
            assert!(decode::<std::collections::BTreeMap<u8, u8>>(&e).is_err());
            assert!(decode::<serde::de::IgnoredAny>(&e).is_err());
        }
    }
}
