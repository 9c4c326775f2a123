//! Typed encoding above the byte-moving `Storage`: CBOR through ciborium.
//!
//! CBOR decoding builds plain data only: nothing a cache file contains can run code.

use crate::{CheckpointError, Codec, Entry};
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

/// Encodes `value` as an entry created now: CBOR, or the value's raw payload for a raw value
/// (`checkpointer::Array<T>`; see [`crate::raw`]).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Entry, CheckpointError> {
    if let Some(payload) = crate::raw::encode(value) {
        return Ok(Entry::new(Codec::RawArray, payload));
    }
    let mut buf = Vec::with_capacity(64);
    ciborium::into_writer(value, &mut buf).map_err(|e| CheckpointError::Encode(e.to_string()))?;
    Ok(Entry::new(Codec::Cbor, Bytes::from(buf)))
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
    let reused = SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut buf) => Some((f.take().expect("called once"))(&mut buf)),
        // A Deserialize impl that itself decodes an entry: give the inner one its own buffer.
        Err(_) => None,
    });
    match reused {
        Some(r) => r,
        None => (f.take().expect("called once"))(&mut [0u8; 4096]),
    }
}
