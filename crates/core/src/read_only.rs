//! Read-only tiers (`ro:SPEC`): read and promoted from, never written, locked or deleted.
//!
//! The laptop that consumes what CI produced: `"memory,fs,ro:s3://team-cache/ck"`. A
//! [`crate::Layered`] stack skips a read-only tier for stores, promotions, deletes and locks
//! (see [`Storage::read_only`]); used on its own (the `checkpointer` command, maintenance),
//! every write is refused with [`CheckpointError::ReadOnly`].

use crate::{CheckpointError, Entry, EntryInfo, Key, KeyLock, Scope, Storage};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::SystemTime;

/// The prefix that marks a tier of a storage spec read-only.
pub const PREFIX: &str = "ro:";

/// A backend that is only read from.
#[derive(Debug)]
pub struct ReadOnly {
    inner: Arc<dyn Storage>,
    name: String,
}

impl ReadOnly {
    /// Wraps `inner`; its name becomes `ro:<name>`.
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        let name = format!("{PREFIX}{}", inner.name());
        ReadOnly { inner, name }
    }

    fn refuse<T>(&self, op: &'static str) -> Result<T, CheckpointError> {
        Err(CheckpointError::ReadOnly {
            tier: self.name.clone(),
            op,
        })
    }
}

#[async_trait]
impl Storage for ReadOnly {
    fn name(&self) -> &str {
        &self.name
    }

    async fn store(&self, _key: &Key, _entry: Entry) -> Result<(), CheckpointError> {
        self.refuse("store")
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        self.inner.load(key).await
    }

    fn load_now(&self, key: &Key) -> Option<Result<Option<Entry>, CheckpointError>> {
        self.inner.load_now(key)
    }

    async fn exists(&self, key: &Key) -> Result<bool, CheckpointError> {
        self.inner.exists(key).await
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        self.inner.checkpoint_date(key).await
    }

    async fn delete(&self, _key: &Key) -> Result<bool, CheckpointError> {
        self.refuse("delete")
    }

    /// Lists without tidying: a read-only tier is never modified, leftovers included.
    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        self.inner.list_read_only(scope).await
    }

    async fn list_read_only(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        self.inner.list_read_only(scope).await
    }

    /// Never locks: a lock is a write (a lease object, a lock file).
    async fn lock(&self, _key: &Key) -> Result<Option<KeyLock>, CheckpointError> {
        Ok(None)
    }

    fn locks(&self) -> bool {
        false
    }

    fn trusted(&self) -> bool {
        self.inner.trusted()
    }

    fn read_only(&self) -> bool {
        true
    }
}

/// Opens one tier of a spec, honouring the `ro:` prefix.
pub fn open_tier(
    tier: &str,
    settings: &crate::Settings,
    open: crate::config::OpenTier,
) -> Result<Arc<dyn Storage>, CheckpointError> {
    match tier.strip_prefix(PREFIX) {
        Some(inner) => {
            let inner = inner.trim();
            if inner.is_empty() || inner.starts_with(PREFIX) {
                return Err(CheckpointError::Spec {
                    spec: tier.to_string(),
                    reason: "`ro:` must be followed by one tier, such as `ro:fs` or `ro:s3://bucket/prefix`".into(),
                });
            }
            Ok(Arc::new(ReadOnly::new(open(inner, settings)?)))
        }
        None => open(tier, settings),
    }
}
