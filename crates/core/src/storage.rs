//! The `Storage` trait every backend implements.

use crate::{CheckpointError, Entry, EntryInfo, Key, Scope};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// A place entries live: moves bytes plus metadata, nothing typed.
///
/// Typed encoding, checksum verification, expiry and maintenance sit above it in the core,
/// so a backend is only these operations. Every backend must pass the conformance suite in
/// `checkpointer_core::testing` (feature `testing`).
///
/// Futures returned by a backend must not need a particular executor: the core drives them
/// with its own `block_on` for sync functions and under any executor for async ones. A backend
/// that needs a runtime (S3) runs its own.
#[async_trait]
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// A short name for messages (`fs`, `memory`, `s3`, …).
    fn name(&self) -> &str;

    /// Stores `entry` under `key`, replacing any entry there. Atomic: a concurrent or later
    /// `load` sees the old entry or the new one, never a mix.
    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError>;

    /// Stores without waiting, when the backend can (an in-memory store): `Err(entry)` hands
    /// the entry back, meaning "use [`Storage::store`]" (the default). The core tries this
    /// first on every miss, so storing in such a store costs no future. Must agree with
    /// `store`.
    #[allow(clippy::result_large_err)]
    fn store_now(&self, key: &Key, entry: Entry) -> Result<Result<(), CheckpointError>, Entry> {
        let _ = key;
        Err(entry)
    }

    /// Loads the entry under `key`; `Ok(None)` when there is none.
    ///
    /// A backend that reads bytes returns what it read (see [`Entry::from_envelope`]); the core
    /// verifies the checksum.
    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError>;

    /// Answers a load without waiting, when the backend can (an in-memory store): `None`
    /// means "ask [`Storage::load`]". The core tries this first on every call, so a hit in
    /// such a store costs no future and no allocation. Must agree with `load`.
    fn load_now(&self, key: &Key) -> Option<Result<Option<Entry>, CheckpointError>> {
        let _ = key;
        None
    }

    /// [`Storage::load`], also saying where the entry came from: a single backend answers
    /// itself (this default); [`crate::Layered`] names the tier that answered and the tiers
    /// it promoted the entry into. The core uses it for its `remembered … from TIER` lines.
    async fn load_from(
        &self,
        key: &Key,
    ) -> Result<Option<(Entry, crate::Source)>, CheckpointError> {
        Ok(self
            .load(key)
            .await?
            .map(|entry| (entry, crate::Source::new(self.name()))))
    }

    /// Whether an entry exists under `key`.
    async fn exists(&self, key: &Key) -> Result<bool, CheckpointError> {
        Ok(self.checkpoint_date(key).await?.is_some())
    }

    /// When the entry under `key` was created; `Ok(None)` when there is none.
    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        Ok(self.load(key).await?.map(|e| e.meta.created))
    }

    /// Removes the entry under `key`; `Ok(true)` if there was one.
    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError>;

    /// Lists the entries in `scope`. Order is unspecified.
    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError>;

    /// Lists as [`Storage::list`] does while changing nothing in the store: how a read-only
    /// tier (`ro:SPEC`) lists. A backend whose listing also tidies up (the fs store sweeps
    /// crashed writers' temp files and unheld lock files) overrides it; the default is `list`.
    async fn list_read_only(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        self.list(scope).await
    }

    /// Takes the cross-process lock for computing `key`, waiting while another process or
    /// machine holds it; the lock is released when the guard drops. A holder that dies must
    /// not block others for long (OS file locks die with the process; leases expire).
    ///
    /// `Ok(None)`: this backend has no cross-process locking (the core then relies on the
    /// in-process single flight only). After acquiring, the core loads again before computing,
    /// because the previous holder has usually just stored the value.
    async fn lock(&self, key: &Key) -> Result<Option<KeyLock>, CheckpointError> {
        let _ = key;
        Ok(None)
    }

    /// Whether [`Storage::lock`] may return a lock. `false` promises it always answers
    /// `Ok(None)`, so the core need not build its future on every miss (an in-memory store
    /// has nothing to lock across processes). The default, `true`, is always correct.
    fn locks(&self) -> bool {
        true
    }

    /// Stores `entry`, promoted from a lower tier by [`crate::Layered`], and returns the entry
    /// to hand out in its place: by default `entry` itself. A store that serves entries in a
    /// form of its own returns that (the mmap store maps the file it just wrote, so a promoted
    /// array lives in the page cache like any other hit instead of on the heap).
    async fn promote(&self, key: &Key, entry: Entry) -> Result<Entry, CheckpointError> {
        self.store(key, entry.clone()).await?;
        Ok(entry)
    }

    /// Whether loads return only verified entries (an in-memory store holding what this
    /// process stored, or [`crate::Layered`], which verifies lower tiers itself) or the
    /// [`Entry::damaged`] stand-in. The core then skips the checksum on a hit.
    fn trusted(&self) -> bool {
        false
    }

    /// A number that changes whenever what [`Storage::load_now`] answers for any key could
    /// change (a store, a delete, an eviction), read before the load it vouches for; `None`
    /// when the backend cannot tell (the default). While it is unchanged, the core may answer
    /// a repeated call from values it decoded from this store's earlier answers without
    /// asking again (see `decoded.rs`).
    fn generation(&self) -> Option<u64> {
        None
    }

    /// Whether this storage is only read from (an `ro:` tier, see [`crate::ReadOnly`]): tiers
    /// skip it for stores, promotions, deletes and locks.
    fn read_only(&self) -> bool {
        false
    }

    /// Per-tier hit, miss, promotion and error counters, for a stack of tiers
    /// ([`crate::Layered`]); empty for a single backend.
    fn tier_stats(&self) -> Vec<crate::TierStats> {
        Vec::new()
    }

    /// For a stack of tiers, each tier's own listing of `scope` (or its error), in the order
    /// of [`Storage::tier_stats`]; empty for a single backend. `handle().stats()` counts
    /// entries and bytes per tier with it.
    async fn list_tiers(&self, scope: &Scope) -> Vec<Result<Vec<EntryInfo>, CheckpointError>> {
        let _ = scope;
        Vec::new()
    }
}

/// A held cross-process lock on one key (see [`Storage::lock`]); dropping it releases it.
pub struct KeyLock {
    _guard: Box<dyn Send + Sync>,
}

impl KeyLock {
    /// Wraps whatever releases the lock on drop (a locked file, a lease-renewal task, …).
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        KeyLock {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for KeyLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyLock")
    }
}

/// Anything that can be given as `storage = …`: a backend value or a shared one.
pub trait IntoStorage {
    /// The shared backend.
    fn into_storage(self) -> Arc<dyn Storage>;
}

impl<S: Storage> IntoStorage for S {
    fn into_storage(self) -> Arc<dyn Storage> {
        Arc::new(self)
    }
}

impl IntoStorage for Arc<dyn Storage> {
    fn into_storage(self) -> Arc<dyn Storage> {
        self
    }
}
