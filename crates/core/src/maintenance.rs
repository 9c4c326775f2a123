//! Cleanup, clear and stats, written once over `Storage::list` so every backend has them.

use crate::{CheckpointError, Digest, EntryInfo, Expiry, FnPath, Scope, Storage};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

/// Entry count and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Number of entries.
    pub entries: u64,
    /// Stored bytes.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, info: &EntryInfo) {
        self.entries += 1;
        self.bytes += info.size;
    }
}

/// One function's entries, per identity version.
#[derive(Clone, Debug, Default)]
pub struct FnStats {
    /// Entries of the identity in use.
    pub current: Tally,
    /// Entries of other identities (older code), which `cleanup(invalidated)` removes.
    pub invalidated: Tally,
    /// Per identity.
    pub versions: BTreeMap<Digest, Tally>,
}

/// Statistics of one function against its current identity.
pub async fn fn_stats(storage: &dyn Storage, path: &Arc<FnPath>, current: Digest) -> Result<FnStats, CheckpointError> {
    let mut stats = FnStats::default();
    for info in storage.list(&Scope::Function(path.clone())).await? {
        stats.versions.entry(info.key.identity).or_default().add(&info);
        if info.key.identity == current {
            stats.current.add(&info);
        } else {
            stats.invalidated.add(&info);
        }
    }
    Ok(stats)
}

/// Removes a function's entries of identities other than `keep_identity` (when given) and
/// those past `expiry` (when given). Returns how many were removed.
pub async fn cleanup_fn(
    storage: &dyn Storage,
    path: &Arc<FnPath>,
    keep_identity: Option<Digest>,
    expiry: Option<&Expiry>,
) -> Result<u64, CheckpointError> {
    let now = SystemTime::now();
    let mut removed = 0;
    for info in storage.list(&Scope::Function(path.clone())).await? {
        let stale = keep_identity.is_some_and(|id| info.key.identity != id);
        let expired = match (expiry, info.created) {
            (Some(e), Some(created)) => e.is_expired(created, now),
            (Some(e), None) => storage.checkpoint_date(&info.key).await?.is_some_and(|c| e.is_expired(c, now)),
            (None, _) => false,
        };
        if (stale || expired) && storage.delete(&info.key).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes every entry in `scope`. Returns how many were removed.
pub async fn clear(storage: &dyn Storage, scope: &Scope) -> Result<u64, CheckpointError> {
    let mut removed = 0;
    for info in storage.list(scope).await? {
        if storage.delete(&info.key).await? {
            removed += 1;
        }
    }
    Ok(removed)
}
