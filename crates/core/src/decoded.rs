//! Decoded values of recent hits: a repeated hit in an in-memory tier returns a clone of the
//! value instead of decoding its bytes again.
//!
//! **Why it can never be stale.** A slot is keyed by the very payload buffer the store handed
//! out (address and length, with the buffer kept alive by the slot, so the address cannot be
//! reused), plus the key it was loaded under. A `Bytes` buffer is immutable, and decoding is a
//! function of the bytes, so the value remembered for that buffer is the value decoding it
//! again would give. Nothing about *which* entry is current is cached here: every call still
//! asks the store, which answers with the current buffer — after a `set`, `rerun`, `delete`,
//! eviction or expiry the store returns another buffer or none, and the slot simply does not
//! match. Expiry and `when` are judged before this is consulted, as for any hit.
//!
//! **Repeated calls with the same arguments** skip even the store's lookup: a second table
//! maps a call's exact argument bytes (as written to the call hash, when they fit inline)
//! for one function state to the value, together with the store's
//! [`generation`](crate::Storage::generation) read *before* the load that produced it. Every
//! store and delete in that store changes the generation, so while it is unchanged the store
//! would answer that call with the same entry — and decoding it would give the same value.
//! Only functions whose call hash is the arguments alone (no `env`/`files`, whose values are
//! read on every call) use it, and expiry is judged on every hit from the entry's creation
//! time.
//!
//! **Bounds.** One small direct-mapped table per thread ([`SLOTS`] slots), holding only values
//! whose payload is at most [`MAX_PAYLOAD`] bytes, so it holds at most that many small
//! buffers and their values per thread. Values stay on the thread that decoded them, so they
//! need not be `Send` or `Sync`.
//!
//! **Which types.** Only `Clone + 'static` values can be returned twice; the macro chooses
//! with [`MemoProbe`] (autoref specialization: `(&&MemoProbe::<T>::NEW).memo()` is
//! `Some` exactly when `T: Clone + 'static`), and passes `None` for anything it cannot prove
//! `'static` (types with lifetimes or generic parameters).

use crate::hash::Hasher;
use crate::{Digest, Entry, Key};
use bytes::Bytes;
use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::time::SystemTime;

/// Slots per thread.
pub const SLOTS: usize = 64;

/// The largest payload whose value is remembered: a hit on a large value is dominated by
/// copying it anyway, and the bound keeps the table small.
pub const MAX_PAYLOAD: usize = 4096;

struct Slot {
    payload: Bytes,
    call: Digest,
    identity: Digest,
    value: Box<dyn Any>,
}

/// A remembered call: one function state, the exact argument bytes, the store's generation.
struct ArgSlot {
    site: usize,
    state: usize,
    len: usize,
    args: [u8; Hasher::INLINE],
    generation: u64,
    created: SystemTime,
    value: Box<dyn Any>,
}

thread_local! {
    static TABLE: RefCell<Vec<Option<Slot>>> = RefCell::new((0..SLOTS).map(|_| None).collect());
    static CALLS: RefCell<Vec<Option<ArgSlot>>> = RefCell::new((0..SLOTS).map(|_| None).collect());
}

/// One call of one function, as the argument table keys it.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    /// The function's runtime (its address).
    pub site: usize,
    /// Its resolved state (its address: a `reinit` makes a new one, with a new identity).
    pub state: usize,
    /// The hasher's inline buffer: the argument bytes written to the call hash are its first
    /// `len` bytes. The rest is read too, in fixed-size blocks (no variable-length copy or
    /// compare on the hit path); it is zero in a fresh hasher, and were it not, a lookup would
    /// only miss, since equal blocks imply equal arguments.
    pub buf: &'a [u8; Hasher::INLINE],
    /// How many bytes of `buf` were written.
    pub len: usize,
}

/// Bytes compared at a time.
const BLOCK: usize = 16;

impl Call<'_> {
    fn index(&self) -> usize {
        // FxHash-style mixing of the first and the last block; a collision only costs a slot.
        let len = self.len.min(Hasher::INLINE);
        let tail = len.saturating_sub(BLOCK);
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.buf[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let mut h = (self.site as u64) ^ (self.state as u64).rotate_left(17) ^ len as u64;
        for w in [word(0), word(8), word(tail), word(tail + 8)] {
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        (h >> 32) as usize % SLOTS
    }

    fn matches(&self, slot: &ArgSlot) -> bool {
        if slot.site != self.site || slot.state != self.state || slot.len != self.len {
            return false;
        }
        // Whole blocks covering the arguments: equal blocks imply equal arguments.
        let blocks = self.len.div_ceil(BLOCK).min(Hasher::INLINE / BLOCK);
        (0..blocks).all(|i| {
            let at = i * BLOCK;
            slot.args[at..at + BLOCK] == self.buf[at..at + BLOCK]
        })
    }
}

/// The slot a payload buffer lives in.
fn index(payload: &Bytes) -> usize {
    let addr = payload.as_ptr() as usize;
    ((addr >> 4) ^ (addr >> 12)) % SLOTS
}

/// How to remember and recall values of one type: function pointers made where `T: Clone +
/// 'static` is known, so the core's generic code needs no such bound.
pub struct Memo<T> {
    recall: fn(&Entry, &Key) -> Option<T>,
    remember: fn(&Entry, &Key, &T),
    recall_call: fn(&Call<'_>, u64) -> Option<(T, SystemTime)>,
    remember_call: fn(&Call<'_>, u64, &Entry, &T),
}

impl<T> Clone for Memo<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Memo<T> {}

impl<T> Memo<T> {
    /// The value remembered for exactly this entry's payload under `key`, cloned.
    #[inline]
    pub(crate) fn recall(&self, entry: &Entry, key: &Key) -> Option<T> {
        (self.recall)(entry, key)
    }

    /// Remembers `value`, just decoded from `entry`'s payload under `key`.
    #[inline]
    pub(crate) fn remember(&self, entry: &Entry, key: &Key, value: &T) {
        (self.remember)(entry, key, value)
    }

    /// The value remembered for `call` while the store's generation is `generation`, cloned,
    /// with its entry's creation time.
    #[inline]
    pub(crate) fn recall_call(&self, call: &Call<'_>, generation: u64) -> Option<(T, SystemTime)> {
        (self.recall_call)(call, generation)
    }

    /// Remembers `value`, decoded from `entry`, which the store answered for `call` after its
    /// generation was read as `generation`.
    #[inline]
    pub(crate) fn remember_call(&self, call: &Call<'_>, generation: u64, entry: &Entry, value: &T) {
        (self.remember_call)(call, generation, entry, value)
    }
}

fn recall_call<T: Clone + 'static>(call: &Call<'_>, generation: u64) -> Option<(T, SystemTime)> {
    CALLS
        .try_with(|table| {
            let table = table.try_borrow().ok()?;
            let slot = table[call.index()].as_ref()?;
            if slot.generation != generation || !call.matches(slot) {
                return None;
            }
            let value = slot.value.downcast_ref::<T>()?.clone();
            Some((value, slot.created))
        })
        .ok()
        .flatten()
}

fn remember_call<T: Clone + 'static>(call: &Call<'_>, generation: u64, entry: &Entry, value: &T) {
    if entry.payload.len() > MAX_PAYLOAD || call.len > Hasher::INLINE {
        return;
    }
    let slot = ArgSlot {
        site: call.site,
        state: call.state,
        len: call.len,
        args: *call.buf,
        generation,
        created: entry.meta.created,
        value: Box::new(value.clone()),
    };
    // Dropped after the borrow ends, as in `remember`.
    let old = CALLS
        .try_with(|table| {
            let mut table = table.try_borrow_mut().ok()?;
            table[call.index()].replace(slot)
        })
        .ok()
        .flatten();
    drop(old);
}

fn recall<T: Clone + 'static>(entry: &Entry, key: &Key) -> Option<T> {
    let payload = &entry.payload;
    if payload.len() > MAX_PAYLOAD || payload.is_empty() {
        return None;
    }
    // `try_`: during thread teardown (a value's `Drop` calling a cached function) the table
    // may be gone; that is a plain miss.
    TABLE
        .try_with(|table| {
            let table = table.try_borrow().ok()?;
            let slot = table[index(payload)].as_ref()?;
            let same = slot.payload.as_ptr() == payload.as_ptr()
                && slot.payload.len() == payload.len()
                && slot.call == key.call
                && slot.identity == key.identity;
            if !same {
                return None;
            }
            slot.value.downcast_ref::<T>().cloned()
        })
        .ok()
        .flatten()
}

fn remember<T: Clone + 'static>(entry: &Entry, key: &Key, value: &T) {
    let payload = &entry.payload;
    if payload.len() > MAX_PAYLOAD || payload.is_empty() {
        return;
    }
    let slot = Slot {
        payload: payload.clone(),
        call: key.call,
        identity: key.identity,
        value: Box::new(value.clone()),
    };
    // The old occupant is dropped after the borrow ends: its drop runs user code (the
    // value's `Drop`), which could call a cached function and reach this table again.
    let old = TABLE
        .try_with(|table| {
            let mut table = table.try_borrow_mut().ok()?;
            table[index(payload)].replace(slot)
        })
        .ok()
        .flatten();
    drop(old);
}

/// The autoref probe the macro uses to pick a [`Memo`] for a return type (see the module
/// documentation). Call `(&&MemoProbe::<T>::NEW).memo()` with [`ViaClone`] and
/// [`ViaNothing`] in scope.
pub struct MemoProbe<T>(PhantomData<fn() -> T>);

impl<T> MemoProbe<T> {
    /// The probe.
    pub const NEW: Self = MemoProbe(PhantomData);
}

/// Chosen when `T: Clone + 'static`: remember values.
pub trait ViaClone<T> {
    /// The memo for `T`.
    fn memo(&self) -> Option<Memo<T>>;
}

impl<T: Clone + 'static> ViaClone<T> for &MemoProbe<T> {
    #[inline]
    fn memo(&self) -> Option<Memo<T>> {
        Some(Memo {
            recall: recall::<T>,
            remember: remember::<T>,
            recall_call: recall_call::<T>,
            remember_call: remember_call::<T>,
        })
    }
}

/// Chosen otherwise: decode every hit.
pub trait ViaNothing<T> {
    /// No memo.
    fn memo(&self) -> Option<Memo<T>>;
}

impl<T> ViaNothing<T> for MemoProbe<T> {
    #[inline]
    fn memo(&self) -> Option<Memo<T>> {
        None
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the probe's `&&` is the point
mod tests {
    use super::*;
    use crate::{Codec, FnPath};
    use std::sync::Arc;

    fn key(call: &[u8]) -> Key {
        Key {
            function: Arc::new(FnPath::from_module_path("m", "f")),
            identity: Digest::of_bytes(b"id"),
            call: Digest::of_bytes(call),
        }
    }

    struct NotClone;

    #[test]
    fn the_probe_picks_clone_types_only() {
        assert!((&&MemoProbe::<u64>::NEW).memo().is_some());
        assert!((&&MemoProbe::<Vec<String>>::NEW).memo().is_some());
        assert!((&&MemoProbe::<NotClone>::NEW).memo().is_none());
        fn generic<T>() -> bool {
            (&&MemoProbe::<T>::NEW).memo().is_some()
        }
        assert!(
            !generic::<u64>(),
            "an unbounded parameter is not assumed Clone"
        );
    }

    #[test]
    fn only_the_same_buffer_under_the_same_key_is_recalled() {
        let memo = (&&MemoProbe::<String>::NEW).memo().unwrap();
        let entry = Entry::new(Codec::Cbor, Bytes::from_static(b"\x63abc"));
        let k = key(b"1");
        assert_eq!(memo.recall(&entry, &k), None);
        memo.remember(&entry, &k, &"abc".to_string());
        assert_eq!(memo.recall(&entry, &k).as_deref(), Some("abc"));
        // Equal bytes in another buffer: not recalled (the store handed out something else).
        let copy = Entry::new(Codec::Cbor, Bytes::copy_from_slice(&entry.payload));
        assert_eq!(memo.recall(&copy, &k), None);
        // The same buffer under another key or identity: not recalled.
        assert_eq!(memo.recall(&entry, &key(b"2")), None);
        let mut other = k.clone();
        other.identity = Digest::of_bytes(b"other code");
        assert_eq!(memo.recall(&entry, &other), None);
        // Another type for the same buffer: not recalled.
        let as_vec = (&&MemoProbe::<Vec<u8>>::NEW).memo().unwrap();
        assert_eq!(as_vec.recall(&entry, &k), None);
        // Other threads have their own table.
        let e2 = entry.clone();
        let k2 = k.clone();
        std::thread::spawn(move || {
            let memo = (&&MemoProbe::<String>::NEW).memo().unwrap();
            assert_eq!(memo.recall(&e2, &k2), None);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_call_matches_only_its_exact_bytes() {
        let memo = (&&MemoProbe::<u32>::NEW).memo().unwrap();
        let entry = Entry::new(Codec::Cbor, Bytes::from_static(b"\x01"));
        let at = |bytes: &[u8]| {
            let mut buf = [0u8; Hasher::INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            buf
        };
        let long: Vec<u8> = (0..100u8).collect();
        let buf = at(&long);
        fn call(buf: &[u8; Hasher::INLINE], len: usize) -> Call<'_> {
            Call {
                site: 1,
                state: 2,
                buf,
                len,
            }
        }
        memo.remember_call(&call(&buf, 100), 7, &entry, &5);
        assert_eq!(memo.recall_call(&call(&buf, 100), 7).map(|v| v.0), Some(5));
        // The same bytes and zero padding, another length: the written bytes differ (both
        // the index and the compare must tell).
        assert_eq!(memo.recall_call(&call(&buf, 99), 7), None);
        let slot = ArgSlot {
            site: 1,
            state: 2,
            len: 100,
            args: buf,
            generation: 7,
            created: SystemTime::UNIX_EPOCH,
            value: Box::new(5u32),
        };
        assert!(call(&buf, 100).matches(&slot));
        assert!(!call(&buf, 99).matches(&slot));
        let mut tail = buf;
        tail[99] ^= 1;
        assert!(!call(&tail, 100).matches(&slot));
        let padded = at(&[long.as_slice(), &[0]].concat());
        assert_eq!(memo.recall_call(&call(&padded, 101), 7), None);
        // One byte changed in the middle (neither the first nor the last block).
        let mut middle = buf;
        middle[50] ^= 1;
        assert_eq!(memo.recall_call(&call(&middle, 100), 7), None);
        // Another generation, site or state.
        assert_eq!(memo.recall_call(&call(&buf, 100), 8), None);
        let mut other = call(&buf, 100);
        other.site = 3;
        assert_eq!(memo.recall_call(&other, 7), None);
        let mut other = call(&buf, 100);
        other.state = 3;
        assert_eq!(memo.recall_call(&other, 7), None);
    }

    #[test]
    fn large_payloads_are_not_remembered() {
        let memo = (&&MemoProbe::<u8>::NEW).memo().unwrap();
        let entry = Entry::new(Codec::Cbor, Bytes::from(vec![0u8; MAX_PAYLOAD + 1]));
        let k = key(b"big");
        memo.remember(&entry, &k, &1);
        assert_eq!(memo.recall(&entry, &k), None);
    }
}
