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

/// Bytes compared and mixed at a time.
const BLOCK: usize = 16;

/// blake3 of the first `len` bytes of `buf` (a hasher's inline buffer), from the memo when it
/// holds them. The rest of `buf` is read too, in fixed-size blocks, as in `decoded.rs`: no
/// variable-length copy or compare. It is zero in a fresh hasher; were it not, the memo would
/// only miss more, since equal lengths and equal blocks imply equal bytes.
pub(super) fn digest(buf: &[u8; Hasher::INLINE], len: usize) -> Digest {
    let len = len.min(Hasher::INLINE);
    let index = slot_of(buf, len);
    let blocks = len.div_ceil(BLOCK);
    let same = |slot: &Slot| {
        slot.len == len
            && (0..blocks).all(|i| {
                let at = i * BLOCK;
                slot.bytes[at..at + BLOCK] == buf[at..at + BLOCK]
            })
    };
    // `try_with`: during thread teardown (a `Drop` calling a cached function) the memo may be
    // gone; then the digest is computed.
    let found = MEMO
        .try_with(|memo| {
            let memo = memo.try_borrow().ok()?;
            let slot = &memo[index];
            same(slot).then_some(slot.digest)
        })
        .ok()
        .flatten();
    if let Some(d) = found {
        return d;
    }
    let d = Digest(*blake3::hash(&buf[..len]).as_bytes());
    let _ = MEMO.try_with(|memo| {
        if let Ok(mut memo) = memo.try_borrow_mut() {
            let slot = &mut memo[index];
            slot.len = len;
            slot.bytes = *buf;
            slot.digest = d;
        }
    });
    d
}

/// A fast, well-mixed slot index from the first and the last block (not a security property:
/// equality is checked in full).
fn slot_of(buf: &[u8; Hasher::INLINE], len: usize) -> usize {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let tail = len.saturating_sub(BLOCK);
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&buf[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut h = (len as u64).wrapping_mul(K);
    for w in [word(0), word(8), word(tail), word(tail + 8)] {
        h = (h ^ w).wrapping_mul(K);
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
                let bytes: Vec<u8> = (0..(i % 129) as usize)
                    .map(|j| (i as usize * 31 + j) as u8)
                    .collect();
                let mut buf = [0u8; Hasher::INLINE];
                buf[..bytes.len()].copy_from_slice(&bytes);
                assert_eq!(
                    digest(&buf, bytes.len()),
                    Digest::of_bytes(&bytes),
                    "input {i}, round {round}"
                );
            }
        }
        // Inputs that differ only in length, or only past a block, or only in a middle block
        // (the slot index reads the first and last blocks only).
        let mut buf = [0u8; Hasher::INLINE];
        for len in 0..=Hasher::INLINE {
            assert_eq!(
                digest(&buf, len),
                Digest::of_bytes(&buf[..len]),
                "zeros, {len}"
            );
        }
        for at in 0..Hasher::INLINE {
            buf = [7u8; Hasher::INLINE];
            let before = digest(&buf, Hasher::INLINE);
            buf[at] = 8;
            assert_eq!(
                digest(&buf, Hasher::INLINE),
                Digest::of_bytes(&buf),
                "byte {at}"
            );
            assert_ne!(digest(&buf, Hasher::INLINE), before);
        }
    }
}
