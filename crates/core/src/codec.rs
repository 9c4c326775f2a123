//! Typed encoding above the byte-moving `Storage`: CBOR through ciborium.
//!
//! CBOR decoding builds plain data only: nothing a cache file contains can run code.

use crate::{CheckpointError, Codec, Entry};
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

/// Encodes `value` as a CBOR entry created now.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Entry, CheckpointError> {
    let mut buf = Vec::with_capacity(64);
    ciborium::into_writer(value, &mut buf).map_err(|e| CheckpointError::Encode(e.to_string()))?;
    Ok(Entry::new(Codec::Cbor, Bytes::from(buf)))
}

/// Decodes an entry's payload into `T`.
pub fn decode<T: DeserializeOwned>(entry: &Entry) -> Result<T, CheckpointError> {
    match entry.meta.codec {
        Codec::Cbor => ciborium::from_reader(&entry.payload[..]).map_err(|e| CheckpointError::Decode(e.to_string())),
        other => Err(CheckpointError::Decode(format!("entry has codec {other:?}, expected CBOR"))),
    }
}
