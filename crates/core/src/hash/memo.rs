//! A per-thread, direct-mapped memo of blake3 digests of short inputs (call hashes).
//!
//! Slots are chosen by a cheap hash of the bytes, and a slot answers only when its stored
//! bytes are exactly the input: a collision of the cheap hash costs a recomputation, never a
//! wrong digest.

use super::Hasher;
use crate::Digest;
use std::cell::RefCell;

const SLOTS: usize = 32;

struct Slot {
    len: usize,
    bytes: [u8; Hasher::INLINE],
    digest: Digest,
}

const EMPTY: Slot = Slot {
    len: usize::MAX,
    bytes: [0; Hasher::INLINE],
    digest: Digest([0; 32]),
};

thread_local! {
    static MEMO: RefCell<Box<[Slot; SLOTS]>> = RefCell::new(Box::new([EMPTY; SLOTS]));
}

/// blake3 of `bytes` (at most [`Hasher::INLINE`] long), from the memo when it holds them.
pub(super) fn digest(bytes: &[u8]) -> Digest {
    debug_assert!(bytes.len() <= Hasher::INLINE);
    let index = slot_of(bytes);
    // `try_with`: during thread teardown (a `Drop` calling a cached function) the memo may be
    // gone; then the digest is computed.
    let found = MEMO
        .try_with(|memo| {
            let memo = memo.try_borrow().ok()?;
            let slot = &memo[index];
            (slot.len == bytes.len() && slot.bytes[..bytes.len()] == *bytes).then_some(slot.digest)
        })
        .ok()
        .flatten();
    if let Some(d) = found {
        return d;
    }
    let d = Digest(*blake3::hash(bytes).as_bytes());
    let _ = MEMO.try_with(|memo| {
        if let Ok(mut memo) = memo.try_borrow_mut() {
            let slot = &mut memo[index];
            slot.len = bytes.len();
            slot.bytes[..bytes.len()].copy_from_slice(bytes);
            slot.digest = d;
        }
    });
    d
}

/// A fast, well-mixed slot index (not a security property: equality is checked in full).
fn slot_of(bytes: &[u8]) -> usize {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(K);
        h ^= h >> 32;
    }
    (h as usize) % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_matches_blake3_including_slot_collisions() {
        // Far more inputs than slots: every slot is reused many times.
        for round in 0..3 {
            for i in 0..500u32 {
                let bytes: Vec<u8> = (0..(i % 97) as usize)
                    .map(|j| (i as usize * 31 + j) as u8)
                    .collect();
                assert_eq!(
                    digest(&bytes),
                    Digest::of_bytes(&bytes),
                    "input {i}, round {round}"
                );
            }
        }
    }
}
