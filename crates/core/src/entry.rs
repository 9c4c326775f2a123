//! What a store holds: payload bytes plus metadata, and the checksummed envelope that
//! byte-oriented backends (fs, S3) write.

use crate::{CheckpointError, Digest};
use bytes::Bytes;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a payload is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// CBOR through ciborium: the default for every serde type.
    Cbor,
    /// Raw little-endian array data with a shape header (the mmap store's format).
    RawArray,
    /// An inner codec's payload behind a MAC binding it to its key (see `seal.rs`): stored
    /// when a secret is configured.
    Signed,
    /// An inner codec's payload compressed with zstd (see `compress.rs`).
    Zstd,
}

impl Codec {
    /// The codec's byte in the envelope.
    pub fn to_byte(self) -> u8 {
        match self {
            Codec::Cbor => 1,
            Codec::RawArray => 2,
            Codec::Signed => 3,
            Codec::Zstd => 4,
        }
    }

    /// The codec for an envelope byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Codec::Cbor),
            2 => Some(Codec::RawArray),
            3 => Some(Codec::Signed),
            4 => Some(Codec::Zstd),
            _ => None,
        }
    }
}

/// Metadata stored with every entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryMeta {
    /// When the value was computed. Kept through promotion between tiers, so expiry is
    /// judged on the original time.
    pub created: SystemTime,
    /// How the payload is encoded.
    pub codec: Codec,
    /// blake3 of the payload; checked by the core on every load from bytes.
    pub checksum: Digest,
}

/// One stored value: encoded payload plus metadata.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Metadata.
    pub meta: EntryMeta,
    /// The encoded value. `Bytes` so stores can share it without copying.
    pub payload: Bytes,
}

impl Entry {
    /// An entry for `payload`, created now, with its checksum computed.
    pub fn new(codec: Codec, payload: Bytes) -> Self {
        Self::with_created(codec, payload, SystemTime::now())
    }

    /// An entry with an explicit creation time.
    pub fn with_created(codec: Codec, payload: Bytes, created: SystemTime) -> Self {
        let checksum = Digest::of_bytes(&payload);
        Entry {
            meta: EntryMeta {
                created,
                codec,
                checksum,
            },
            payload,
        }
    }

    /// Checks the payload against its checksum.
    pub fn verify(&self) -> Result<(), CheckpointError> {
        self.compare_checksum(Digest::of_bytes(&self.payload))
    }

    /// Compares the payload's `actual` digest with the recorded checksum.
    pub(crate) fn compare_checksum(&self, actual: Digest) -> Result<(), CheckpointError> {
        if actual == self.meta.checksum {
            Ok(())
        } else {
            Err(CheckpointError::Corrupt(format!(
                "checksum mismatch: expected {}, found {}",
                self.meta.checksum.short(16),
                actual.short(16)
            )))
        }
    }

    /// The envelope header to write before the payload (see [`envelope`]).
    pub fn envelope_header(&self) -> [u8; envelope::HEADER_LEN] {
        envelope::header(&self.meta, self.payload.len() as u64)
    }

    /// Parses an envelope (header + payload) without copying the payload.
    ///
    /// Checks framing and the header's own check; the payload checksum is checked by
    /// [`Entry::verify`], which the core runs on every load.
    pub fn from_envelope(bytes: Bytes) -> Result<Entry, CheckpointError> {
        let (meta, len) = envelope::parse_header(&bytes)?;
        envelope::check_size(len, bytes.len() as u64)?;
        Ok(Entry {
            meta,
            payload: bytes.slice(envelope::HEADER_LEN..),
        })
    }

    /// The stand-in a byte-oriented store returns for something that is there but is not an
    /// entry (bad framing, unreadable, a link): it always fails [`Entry::verify`] (no payload
    /// hashes to all zeros), so the core warns, recomputes and overwrites it, and
    /// [`Entry::is_damaged`] tells it apart. `created` is what the store knows (the file's
    /// or object's modification time).
    pub fn damaged(created: SystemTime) -> Entry {
        Entry {
            meta: EntryMeta {
                created,
                codec: Codec::Cbor,
                checksum: Digest([0; 32]),
            },
            payload: Bytes::new(),
        }
    }

    /// Whether this is the [`Entry::damaged`] stand-in.
    pub fn is_damaged(&self) -> bool {
        self.meta.checksum == Digest([0; 32]) && self.payload.is_empty()
    }
}

/// The on-disk and on-wire framing of an entry: a fixed 72-byte header, then the payload.
///
/// | bytes | field |
/// |---|---|
/// | 0..4 | magic `CKPT` |
/// | 4 | format version (1) |
/// | 5 | codec |
/// | 6..8 | zero |
/// | 8..16 | created, seconds since the Unix epoch (i64 LE) |
/// | 16..20 | created, nanoseconds (u32 LE) |
/// | 20..24 | zero |
/// | 24..32 | payload length (u64 LE) |
/// | 32..64 | blake3 of the payload |
/// | 64..72 | first 8 bytes of blake3 of bytes 0..64 (guards the header itself) |
pub mod envelope {
    use super::*;

    /// Length of the header.
    pub const HEADER_LEN: usize = 72;
    const MAGIC: &[u8; 4] = b"CKPT";
    const VERSION: u8 = 1;

    /// Builds the header for a payload of `len` bytes.
    pub fn header(meta: &EntryMeta, len: u64) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(MAGIC);
        h[4] = VERSION;
        h[5] = meta.codec.to_byte();
        let (secs, nanos) = split_time(meta.created);
        h[8..16].copy_from_slice(&secs.to_le_bytes());
        h[16..20].copy_from_slice(&nanos.to_le_bytes());
        h[24..32].copy_from_slice(&len.to_le_bytes());
        h[32..64].copy_from_slice(&meta.checksum.0);
        let check = blake3::hash(&h[..64]);
        h[64..72].copy_from_slice(&check.as_bytes()[..8]);
        h
    }

    /// The size of a whole entry (header and payload) whose header announces `len` payload
    /// bytes; `None` when no entry can be that large. Every backend computes sizes here, so
    /// a crafted length cannot overflow anywhere.
    pub fn entry_size(len: u64) -> Option<u64> {
        (HEADER_LEN as u64).checked_add(len)
    }

    /// Checks that an entry of `actual` bytes is as long as its header (announcing `len`
    /// payload bytes) says.
    pub fn check_size(len: u64, actual: u64) -> Result<(), CheckpointError> {
        match entry_size(len) {
            Some(expected) if expected == actual => Ok(()),
            Some(expected) => Err(CheckpointError::Corrupt(format!(
                "entry is {actual} bytes, its header says {expected}"
            ))),
            None => Err(CheckpointError::Corrupt(format!(
                "entry header announces an impossible payload of {len} bytes"
            ))),
        }
    }

    /// Parses a header: the metadata and the payload length it announces.
    pub fn parse_header(bytes: &[u8]) -> Result<(EntryMeta, u64), CheckpointError> {
        let corrupt = |what: &str| CheckpointError::Corrupt(what.to_string());
        if bytes.len() < HEADER_LEN {
            return Err(corrupt("entry is shorter than its header"));
        }
        if &bytes[0..4] != MAGIC {
            return Err(corrupt("not a checkpointer entry (bad magic)"));
        }
        if blake3::hash(&bytes[..64]).as_bytes()[..8] != bytes[64..72] {
            return Err(corrupt("header check failed"));
        }
        if bytes[4] != VERSION {
            return Err(corrupt(&format!(
                "unknown entry format version {}",
                bytes[4]
            )));
        }
        let codec = Codec::from_byte(bytes[5])
            .ok_or_else(|| corrupt(&format!("unknown codec {}", bytes[5])))?;
        let secs = i64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let nanos = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
        let len = u64::from_le_bytes(bytes[24..32].try_into().expect("8 bytes"));
        let mut checksum = [0u8; 32];
        checksum.copy_from_slice(&bytes[32..64]);
        let created = join_time(secs, nanos).ok_or_else(|| corrupt("created time out of range"))?;
        Ok((
            EntryMeta {
                created,
                codec,
                checksum: Digest(checksum),
            },
            len,
        ))
    }

    fn split_time(t: SystemTime) -> (i64, u32) {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                let (s, n) = (d.as_secs() as i64, d.subsec_nanos());
                if n == 0 {
                    (-s, 0)
                } else {
                    (-s - 1, 1_000_000_000 - n)
                }
            }
        }
    }

    fn join_time(secs: i64, nanos: u32) -> Option<SystemTime> {
        if nanos >= 1_000_000_000 {
            return None;
        }
        if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
                .checked_add(Duration::from_nanos(nanos as u64))
        }
    }
}

/// A listed entry: its key and what maintenance needs to know without loading it.
#[derive(Clone, Debug)]
pub struct EntryInfo {
    /// The entry's key.
    pub key: crate::Key,
    /// Stored size in bytes (payload plus any framing the backend adds).
    pub size: u64,
    /// When the value was computed, if the backend knows it without loading.
    pub created: Option<SystemTime>,
    /// When the entry was last read, at the backend's granularity.
    pub accessed: Option<SystemTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trip_and_damage() {
        let e = Entry::with_created(
            Codec::Cbor,
            Bytes::from_static(b"hello"),
            UNIX_EPOCH + Duration::new(1_700_000_000, 42),
        );
        let mut bytes = e.envelope_header().to_vec();
        bytes.extend_from_slice(&e.payload);
        let back = Entry::from_envelope(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(back.meta, e.meta);
        assert_eq!(&back.payload[..], b"hello");
        back.verify().unwrap();

        // Truncated.
        assert!(Entry::from_envelope(Bytes::from(bytes[..bytes.len() - 1].to_vec())).is_err());
        // A flipped payload byte passes framing but fails verify.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(Entry::from_envelope(Bytes::from(flipped))
            .unwrap()
            .verify()
            .is_err());
        // A flipped header byte fails the header check.
        let mut flipped = bytes;
        flipped[10] ^= 1;
        assert!(Entry::from_envelope(Bytes::from(flipped)).is_err());
    }

    /// Issue 9, finding 5: a header announcing a length near `u64::MAX` overflowed an
    /// unchecked add (a panic in debug builds).
    #[test]
    fn huge_announced_lengths_are_corrupt_not_a_panic() {
        for len in [u64::MAX, u64::MAX - 71, u64::MAX - 72, u64::MAX / 2] {
            let e = Entry::with_created(Codec::Cbor, Bytes::from_static(b"x"), UNIX_EPOCH);
            let mut bytes = envelope::header(&e.meta, len).to_vec();
            bytes.push(b'x');
            let err = Entry::from_envelope(Bytes::from(bytes)).unwrap_err();
            assert!(matches!(err, CheckpointError::Corrupt(_)), "{err}");
            assert!(envelope::check_size(len, 73).is_err());
        }
        assert_eq!(envelope::entry_size(u64::MAX), None);
        assert!(Entry::damaged(UNIX_EPOCH).verify().is_err());
        assert!(Entry::damaged(UNIX_EPOCH).is_damaged());
        assert!(!Entry::new(Codec::Cbor, Bytes::new()).is_damaged());
    }

    #[test]
    fn pre_epoch_times_survive() {
        let t = UNIX_EPOCH - Duration::new(5, 300);
        let e = Entry::with_created(Codec::Cbor, Bytes::new(), t);
        let (meta, _) = envelope::parse_header(&e.envelope_header()).unwrap();
        assert_eq!(meta.created, t);
    }
}
