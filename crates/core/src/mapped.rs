//! Payloads the core need not checksum again on load, and the load-time check that spares
//! them the O(n) pass.
//!
//! Two kinds are recognized:
//! - **File maps.** A backend that maps files (the mmap store) wraps each map with
//!   [`payload`]. A `RawArray` entry whose payload lies in a live map made this way is
//!   accepted on the structural checks its backend already made (header check, length
//!   against the header, and the array's own shape check when it is decoded) — reading its
//!   checksum would read the whole file, and a map hit must stay O(1). Its checksum is
//!   verified on demand instead ([`Entry::verify`], the mmap store's `verify`, maintenance).
//! - **Payloads hashed while they were read** ([`crate::read_hashed`]): the digest of exactly
//!   those bytes is recorded with them, and the load check compares it with the entry's
//!   checksum instead of hashing the bytes a second time.
//!
//! Every other entry is verified in full. Which payloads are which is tracked by address: a
//! registration lives as long as the buffer (every `Bytes` into it keeps it alive, and the
//! buffer is never written once registered), so a slice of a map is recognized, a hashed
//! payload only as the exact range that was hashed, and nothing else is.

use crate::{CheckpointError, Codec, Digest, Entry};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

/// What is known about a registered address range.
#[derive(Clone, Copy)]
enum Known {
    /// A read-only file map.
    Map,
    /// Bytes whose blake3 digest was computed as they were read.
    Hashed(Digest),
}

/// Live registrations: start address → (length, what is known).
static LIVE: RwLock<BTreeMap<usize, (usize, Known)>> = RwLock::new(BTreeMap::new());

/// A buffer with one range registered in [`LIVE`] while it lives.
struct Registered<M: AsRef<[u8]>> {
    map: M,
    /// The registered start address; `None` when nothing was registered (empty range).
    start: Option<usize>,
}

impl<M: AsRef<[u8]>> AsRef<[u8]> for Registered<M> {
    fn as_ref(&self) -> &[u8] {
        self.map.as_ref()
    }
}

impl<M: AsRef<[u8]>> Drop for Registered<M> {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            LIVE.write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&start);
        }
    }
}

/// Wraps `owner` in `Bytes`, registering `range` of it (an empty range registers nothing).
fn register<M: AsRef<[u8]> + Send + 'static>(
    owner: M,
    range: std::ops::Range<usize>,
    known: Known,
) -> Bytes {
    let bytes = &owner.as_ref()[range];
    let (start, len) = (bytes.as_ptr() as usize, bytes.len());
    let start = (len > 0).then(|| {
        LIVE.write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(start, (len, known));
        start
    });
    Bytes::from_owner(Registered { map: owner, start })
}

/// `Bytes` over a read-only file map whose backend checked it structurally; the core does
/// not checksum `RawArray` payloads made this way on load (see the module documentation).
///
/// `map` must be a read-only mapping whose address does not change while it lives (a
/// `memmap2::Mmap`).
pub fn payload<M: AsRef<[u8]> + Send + 'static>(map: M) -> Bytes {
    let len = map.as_ref().len();
    register(map, 0..len, Known::Map)
}

/// `Bytes` over `buf` whose `hashed` range has the blake3 digest `digest`, computed from
/// exactly those bytes (see [`crate::read_hashed`]); the core's load check compares that
/// digest with the entry's checksum instead of hashing the payload again.
pub(crate) fn hashed<B: AsRef<[u8]> + Send + 'static>(
    buf: B,
    hashed: std::ops::Range<usize>,
    digest: Digest,
) -> Bytes {
    register(buf, hashed, Known::Hashed(digest))
}

/// The digest recorded for exactly `bytes` by [`hashed`], if any.
pub(crate) fn recorded(bytes: &[u8]) -> Option<Digest> {
    let live = LIVE.read().unwrap_or_else(PoisonError::into_inner);
    match live.get(&(bytes.as_ptr() as usize)) {
        Some(&(len, Known::Hashed(d))) if len == bytes.len() => Some(d),
        _ => None,
    }
}

/// Whether `bytes` lie inside a live map made by [`payload`].
pub fn is_mapped(bytes: &[u8]) -> bool {
    let start = bytes.as_ptr() as usize;
    let live = LIVE.read().unwrap_or_else(PoisonError::into_inner);
    live.range(..=start)
        .next_back()
        .is_some_and(|(&s, &(len, known))| {
            matches!(known, Known::Map)
                && start
                    .checked_add(bytes.len())
                    .is_some_and(|end| end <= s + len)
                && !bytes.is_empty()
        })
}

impl Entry {
    /// The check the core runs on every entry loaded from a store that is not trusted: the
    /// full checksum ([`Entry::verify`]), except for a `RawArray` payload that is a live file
    /// map (see [`payload`]), whose checksum is verified on demand instead, and a payload
    /// hashed as it was read, whose recorded digest is compared instead of hashed again.
    pub fn check_loaded(&self) -> Result<(), CheckpointError> {
        // Small payloads are never registered: hashing them is cheaper than a lookup.
        if self.payload.len() >= crate::hash::PARALLEL_THRESHOLD {
            if self.meta.codec == Codec::RawArray && is_mapped(&self.payload) {
                return Ok(());
            }
            if let Some(digest) = recorded(&self.payload) {
                return self.compare_checksum(digest);
            }
        }
        self.verify()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_maps_are_recognized() {
        let owned = vec![7u8; 4096];
        let b = payload(owned);
        assert!(is_mapped(&b));
        assert!(is_mapped(&b.slice(100..200)));
        let copy = Bytes::copy_from_slice(&b);
        assert!(!is_mapped(&copy));
        let addr = b.as_ptr() as usize;
        drop(b);
        assert!(!LIVE.read().unwrap().contains_key(&addr));

        let big = crate::hash::PARALLEL_THRESHOLD;
        let e = Entry::new(Codec::RawArray, payload(vec![1u8; big]));
        let mut damaged = e.clone();
        damaged.meta.checksum = crate::Digest([0; 32]);
        assert!(damaged.check_loaded().is_ok(), "mapped: checked on demand");
        assert!(damaged.verify().is_err());
        let mut cbor = damaged.clone();
        cbor.meta.codec = Codec::Cbor;
        assert!(
            cbor.check_loaded().is_err(),
            "only raw arrays skip the checksum"
        );
        let heap = Entry {
            meta: damaged.meta,
            payload: Bytes::copy_from_slice(&damaged.payload),
        };
        assert!(heap.check_loaded().is_err());
    }
}
