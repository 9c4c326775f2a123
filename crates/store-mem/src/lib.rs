//! In-memory storage backend for [checkpointer](https://docs.rs/checkpointer): a
//! least-recently-used cache bounded by total payload bytes and by entry count.
//!
//! Entries live only as long as the process. A hit is one short mutex section that moves the
//! entry to the front of the LRU list and clones it — the payload is [`bytes::Bytes`], so the
//! clone is a reference-count bump: no copy, no re-encoding, and no checksum either
//! ([`Storage::trusted`] is true: every entry was checksummed when this process encoded it,
//! or verified by the core before it was promoted here from a lower tier).
//!
//! ```
//! use checkpointer_core::{block_on, Codec, Digest, Entry, FnPath, Key, Storage};
//! use checkpointer_store_mem::{MemoryLimits, MemoryStore};
//! use std::sync::Arc;
//!
//! let store = MemoryStore::new(MemoryLimits { max_bytes: 64 << 20, max_entries: 10_000 });
//! let key = Key {
//!     function: Arc::new(FnPath::from_module_path("demo", "square")),
//!     identity: Digest::of_bytes(b"code"),
//!     call: Digest::of_bytes(b"args"),
//! };
//! block_on(store.store(&key, Entry::new(Codec::Cbor, "sixteen".into()))).unwrap();
//! let hit = block_on(store.load(&key)).unwrap().unwrap();
//! assert_eq!(&hit.payload[..], b"sixteen");
//! ```
//!
//! [`bytes::Bytes`]: checkpointer_core::Bytes

#![warn(missing_docs)]

use checkpointer_core::{async_trait, CheckpointError, Entry, EntryInfo, Key, Scope, Storage};
use lru::LruCache;
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// The bounds of a [`MemoryStore`]. When either is exceeded the least recently used entries
/// are dropped until both hold again.
///
/// ```
/// use checkpointer_store_mem::MemoryLimits;
/// let limits = MemoryLimits { max_bytes: 256 << 20, ..MemoryLimits::default() };
/// assert_eq!(limits.max_entries, 100_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimits {
    /// Most payload bytes held at once. An entry larger than this on its own is not kept
    /// (storing it is not an error; later loads simply miss).
    pub max_bytes: u64,
    /// Most entries held at once (0 keeps nothing).
    pub max_entries: usize,
}

impl Default for MemoryLimits {
    /// 1 GiB and 100 000 entries.
    fn default() -> Self {
        MemoryLimits {
            max_bytes: 1 << 30,
            max_entries: 100_000,
        }
    }
}

/// The in-memory LRU store (storage spec `"memory"`).
///
/// ```
/// use checkpointer_store_mem::MemoryStore;
/// let store = MemoryStore::default(); // 1 GiB, 100 000 entries
/// assert!(store.is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    limits: MemoryLimits,
    /// Bumped under the lock by every store and delete (see [`Storage::generation`]).
    generation: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    // Bounded by count as `lru` knows it (see `MemoryStore::new`); the byte bound, which
    // `lru` cannot count, is enforced here.
    lru: LruCache<Key, Entry, BuildHasherDefault<DigestPrefix>>,
    bytes: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(MemoryLimits::default())
    }
}

/// What an entry counts against [`MemoryLimits::max_bytes`]: its payload.
fn cost(entry: &Entry) -> u64 {
    entry.payload.len() as u64
}

impl MemoryStore {
    /// An empty store with the given bounds.
    ///
    /// ```
    /// use checkpointer_store_mem::{MemoryLimits, MemoryStore};
    /// let small = MemoryStore::new(MemoryLimits { max_bytes: 1 << 20, max_entries: 100 });
    /// assert_eq!(small.limits().max_entries, 100);
    /// ```
    pub fn new(limits: MemoryLimits) -> Self {
        let mut lru = LruCache::unbounded_with_hasher(BuildHasherDefault::default());
        // The count bound is `lru`'s too, so a store into a full cache reuses the evicted
        // entry's node instead of allocating one (`resize` on an empty cache allocates nothing).
        if let Some(cap) = NonZeroUsize::new(limits.max_entries) {
            lru.resize(cap);
        }
        MemoryStore {
            inner: Mutex::new(Inner { lru, bytes: 0 }),
            limits,
            generation: AtomicU64::new(0),
        }
    }

    /// The bounds this store was made with.
    ///
    /// ```
    /// # use checkpointer_store_mem::{MemoryLimits, MemoryStore};
    /// assert_eq!(MemoryStore::default().limits(), MemoryLimits::default());
    /// ```
    pub fn limits(&self) -> MemoryLimits {
        self.limits
    }

    /// Number of entries held.
    ///
    /// ```
    /// # use checkpointer_store_mem::MemoryStore;
    /// assert_eq!(MemoryStore::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    /// Whether the store holds no entry.
    ///
    /// ```
    /// # use checkpointer_store_mem::MemoryStore;
    /// assert!(MemoryStore::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Payload bytes held (what [`MemoryLimits::max_bytes`] bounds).
    ///
    /// ```
    /// # use checkpointer_store_mem::MemoryStore;
    /// assert_eq!(MemoryStore::default().total_bytes(), 0);
    /// ```
    pub fn total_bytes(&self) -> u64 {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves `Inner` consistent before anything that could panic,
        // so a poisoned lock still guards valid state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `scope.contains`, skipping the path formatting when the function is the very same.
fn in_scope(scope: &Scope, key: &Key) -> bool {
    match scope {
        Scope::All => true,
        Scope::Function(f) => Arc::ptr_eq(f, &key.function) || scope.contains(key),
        Scope::Version(f, id) => {
            key.identity == *id && (Arc::ptr_eq(f, &key.function) || scope.contains(key))
        }
    }
}

impl MemoryStore {
    /// The whole hit: one lock, one hash lookup, move to front, refcount bump.
    fn get(&self, key: &Key) -> Option<Entry> {
        self.lock().lru.get(key).cloned()
    }

    /// A store: one lock, insert at the front, evict past the bounds.
    fn put(&self, key: &Key, entry: Entry) {
        let size = cost(&entry);
        // Dropped entries are released after the lock, so freeing a large payload never
        // holds up other callers.
        let mut evicted = Evicted::default();
        {
            let mut inner = self.lock();
            self.generation.fetch_add(1, Ordering::Release);
            if size > self.limits.max_bytes || self.limits.max_entries == 0 {
                // Too large to keep; drop the old entry too, since store replaces.
                if let Some(old) = inner.lru.pop(key) {
                    inner.bytes -= cost(&old);
                    evicted.push(old);
                }
                return;
            }
            // The entry it replaces, or the least recently used one when the count is full.
            if let Some((_, old)) = inner.lru.push(key.clone(), entry) {
                inner.bytes -= cost(&old);
                evicted.push(old);
            }
            inner.bytes += size;
            while inner.bytes > self.limits.max_bytes || inner.lru.len() > self.limits.max_entries {
                match inner.lru.pop_lru() {
                    Some((_, old)) => {
                        inner.bytes -= cost(&old);
                        evicted.push(old);
                    }
                    None => break,
                }
            }
        }
        drop(evicted);
    }
}

/// The entries one store drops, released after the lock: the usual one (a replaced or evicted
/// entry) without allocating.
#[derive(Default)]
struct Evicted {
    first: Option<Entry>,
    more: Vec<Entry>,
}

impl Evicted {
    fn push(&mut self, entry: Entry) {
        match self.first {
            None => self.first = Some(entry),
            Some(_) => self.more.push(entry),
        }
    }
}

#[async_trait]
impl Storage for MemoryStore {
    fn name(&self) -> &str {
        "memory"
    }

    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        self.put(key, entry);
        Ok(())
    }

    fn store_now(&self, key: &Key, entry: Entry) -> Result<Result<(), CheckpointError>, Entry> {
        self.put(key, entry);
        Ok(Ok(()))
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        Ok(self.get(key))
    }

    fn load_now(&self, key: &Key) -> Option<Result<Option<Entry>, CheckpointError>> {
        Some(Ok(self.get(key)))
    }

    async fn exists(&self, key: &Key) -> Result<bool, CheckpointError> {
        // Asking is not using: the LRU order stays.
        Ok(self.lock().lru.contains(key))
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        Ok(self.lock().lru.peek(key).map(|e| e.meta.created))
    }

    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        let removed = {
            let mut inner = self.lock();
            self.generation.fetch_add(1, Ordering::Release);
            let old = inner.lru.pop(key);
            if let Some(old) = &old {
                inner.bytes -= cost(old);
            }
            old
        };
        // The payload is dropped here, outside the lock.
        Ok(removed.is_some())
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        let inner = self.lock();
        Ok(inner
            .lru
            .iter()
            .filter(|(k, _)| in_scope(scope, k))
            .map(|(k, e)| EntryInfo {
                key: k.clone(),
                size: cost(e),
                created: Some(e.meta.created),
                accessed: None,
            })
            .collect())
    }

    /// Entries come from this process: encoded (and checksummed) here, or verified by the
    /// core before promotion from a lower tier. The core skips the checksum on a hit.
    fn trusted(&self) -> bool {
        true
    }

    fn generation(&self) -> Option<u64> {
        Some(self.generation.load(Ordering::Acquire))
    }

    /// Nothing to lock: no other process sees this store (the in-process single flight of
    /// the core is what keeps a computation single).
    fn locks(&self) -> bool {
        false
    }
}

/// `Key` hashes as the first 8 bytes of its call digest, already uniformly distributed by
/// blake3: passing them through saves re-hashing them with SipHash on every hit.
#[derive(Default)]
struct DigestPrefix(u64);

impl Hasher for DigestPrefix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if `Key`'s Hash impl changes; stay correct (if slower) then.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkpointer_core::{block_on, Bytes, Codec, Digest, FnPath};

    fn key(n: u32) -> Key {
        Key {
            function: Arc::new(FnPath::from_module_path("t", "f")),
            identity: Digest::of_bytes(b"id"),
            call: Digest::of_bytes(&n.to_le_bytes()),
        }
    }

    fn entry(len: usize) -> Entry {
        Entry::new(Codec::Cbor, Bytes::from(vec![7u8; len]))
    }

    fn has(store: &MemoryStore, n: u32) -> bool {
        block_on(store.exists(&key(n))).unwrap()
    }

    #[test]
    fn evicts_by_count_least_recently_used_first() {
        let store = MemoryStore::new(MemoryLimits {
            max_bytes: 1 << 20,
            max_entries: 3,
        });
        for n in 0..3 {
            block_on(store.store(&key(n), entry(10))).unwrap();
        }
        // Touch 0, so 1 is now the least recently used.
        assert!(block_on(store.load(&key(0))).unwrap().is_some());
        block_on(store.store(&key(3), entry(10))).unwrap();
        assert!(has(&store, 0) && !has(&store, 1) && has(&store, 2) && has(&store, 3));
        assert_eq!(store.len(), 3);
        assert_eq!(store.total_bytes(), 30);
    }

    #[test]
    fn overwriting_in_a_full_store_evicts_nothing() {
        let store = MemoryStore::new(MemoryLimits {
            max_bytes: 1 << 20,
            max_entries: 3,
        });
        for n in 0..3 {
            block_on(store.store(&key(n), entry(10))).unwrap();
        }
        // Key 0 is the least recently used: replacing it must not evict it or another.
        block_on(store.store(&key(0), entry(20))).unwrap();
        assert!(has(&store, 0) && has(&store, 1) && has(&store, 2));
        assert_eq!((store.len(), store.total_bytes()), (3, 40));
        assert_eq!(
            block_on(store.load(&key(0)))
                .unwrap()
                .unwrap()
                .payload
                .len(),
            20
        );
        // Now 1 is the least recently used, and a new key evicts exactly it.
        block_on(store.store(&key(3), entry(10))).unwrap();
        assert!(has(&store, 0) && !has(&store, 1) && has(&store, 2) && has(&store, 3));
        assert_eq!((store.len(), store.total_bytes()), (3, 40));
    }

    #[test]
    fn exists_and_dates_do_not_refresh_the_order() {
        let store = MemoryStore::new(MemoryLimits {
            max_bytes: 1 << 20,
            max_entries: 2,
        });
        block_on(store.store(&key(0), entry(1))).unwrap();
        block_on(store.store(&key(1), entry(1))).unwrap();
        assert!(has(&store, 0));
        assert!(block_on(store.checkpoint_date(&key(0))).unwrap().is_some());
        block_on(store.store(&key(2), entry(1))).unwrap();
        assert!(!has(&store, 0) && has(&store, 1) && has(&store, 2));
    }

    #[test]
    fn evicts_by_bytes() {
        let store = MemoryStore::new(MemoryLimits {
            max_bytes: 1000,
            max_entries: 100,
        });
        for n in 0..4 {
            block_on(store.store(&key(n), entry(300))).unwrap();
        }
        // 4 × 300 > 1000: the oldest went.
        assert!(!has(&store, 0) && has(&store, 1) && has(&store, 2) && has(&store, 3));
        assert_eq!(store.total_bytes(), 900);
        // A 700-byte entry pushes out two more.
        block_on(store.store(&key(9), entry(700))).unwrap();
        assert!(!has(&store, 1) && !has(&store, 2) && has(&store, 3) && has(&store, 9));
        assert_eq!(store.total_bytes(), 1000);
    }

    #[test]
    fn overwrite_and_delete_keep_the_byte_count() {
        let store = MemoryStore::new(MemoryLimits {
            max_bytes: 1000,
            max_entries: 100,
        });
        block_on(store.store(&key(0), entry(300))).unwrap();
        block_on(store.store(&key(0), entry(100))).unwrap();
        assert_eq!(store.total_bytes(), 100);
        assert!(block_on(store.delete(&key(0))).unwrap());
        assert!(!block_on(store.delete(&key(0))).unwrap());
        assert_eq!((store.total_bytes(), store.len()), (0, 0));
    }

    #[test]
    fn an_entry_larger_than_the_bound_is_not_kept() {
        let store = MemoryStore::new(MemoryLimits {
            max_bytes: 100,
            max_entries: 100,
        });
        block_on(store.store(&key(0), entry(50))).unwrap();
        block_on(store.store(&key(1), entry(50))).unwrap();
        block_on(store.store(&key(1), entry(101))).unwrap();
        // Not kept, and the smaller entry it replaced is gone too; the neighbour stays.
        assert!(!has(&store, 1) && has(&store, 0));
        assert_eq!(store.total_bytes(), 50);
    }

    #[test]
    fn a_hit_shares_the_payload() {
        let store = MemoryStore::default();
        let e = entry(1 << 20);
        let ptr = e.payload.as_ptr();
        block_on(store.store(&key(0), e)).unwrap();
        let hit = block_on(store.load(&key(0))).unwrap().unwrap();
        assert_eq!(hit.payload.as_ptr(), ptr, "a hit must not copy the payload");
    }
}
