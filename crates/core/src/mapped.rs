//! Payloads that are read-only file maps, and the load-time check that spares them an O(n)
//! checksum.
//!
//! A backend that maps files (the mmap store) wraps each map with [`payload`]. The core
//! checks every loaded entry with [`Entry::check_loaded`]: a `RawArray` entry whose payload
//! lies in a live map made this way is accepted on the structural checks its backend already
//! made (header check, length against the header, and the array's own shape check when it is
//! decoded) — reading its checksum would read the whole file, and a map hit must stay O(1).
//! Its checksum is verified on demand instead ([`Entry::verify`], the mmap store's `verify`,
//! maintenance). Every other entry is verified in full, as before.
//!
//! Which payloads are maps is tracked by address: [`payload`] records the map's address
//! range while the map lives (every `Bytes` into it keeps it alive), so a slice of a map is
//! recognized and nothing else is.

use crate::{CheckpointError, Codec, Entry};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

/// Live maps: start address → length.
static LIVE: RwLock<BTreeMap<usize, usize>> = RwLock::new(BTreeMap::new());

/// A map registered in [`LIVE`] while it lives.
struct Registered<M: AsRef<[u8]>> {
    map: M,
    start: usize,
}

impl<M: AsRef<[u8]>> AsRef<[u8]> for Registered<M> {
    fn as_ref(&self) -> &[u8] {
        self.map.as_ref()
    }
}

impl<M: AsRef<[u8]>> Drop for Registered<M> {
    fn drop(&mut self) {
        if self.map.as_ref().is_empty() {
            return;
        }
        LIVE.write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.start);
    }
}

/// `Bytes` over a read-only file map whose backend checked it structurally; the core does
/// not checksum `RawArray` payloads made this way on load (see the module documentation).
///
/// `map` must be a read-only mapping whose address does not change while it lives (a
/// `memmap2::Mmap`).
pub fn payload<M: AsRef<[u8]> + Send + 'static>(map: M) -> Bytes {
    let bytes = map.as_ref();
    let (start, len) = (bytes.as_ptr() as usize, bytes.len());
    if len > 0 {
        LIVE.write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(start, len);
    }
    Bytes::from_owner(Registered { map, start })
}

/// Whether `bytes` lie inside a live map made by [`payload`].
pub fn is_mapped(bytes: &[u8]) -> bool {
    let start = bytes.as_ptr() as usize;
    let live = LIVE.read().unwrap_or_else(PoisonError::into_inner);
    live.range(..=start).next_back().is_some_and(|(&s, &len)| {
        start
            .checked_add(bytes.len())
            .is_some_and(|end| end <= s + len)
            && !bytes.is_empty()
    })
}

impl Entry {
    /// The check the core runs on every entry loaded from a store that is not trusted: the
    /// full checksum ([`Entry::verify`]), except for a `RawArray` payload that is a live file
    /// map (see [`payload`]), whose checksum is verified on demand instead.
    pub fn check_loaded(&self) -> Result<(), CheckpointError> {
        if self.meta.codec == Codec::RawArray && is_mapped(&self.payload) {
            return Ok(());
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

        let e = Entry::new(Codec::RawArray, payload(vec![1u8; 64]));
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
