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
pub async fn fn_stats(
    storage: &dyn Storage,
    path: &Arc<FnPath>,
    current: Digest,
) -> Result<FnStats, CheckpointError> {
    let mut stats = FnStats::default();
    for info in storage.list(&Scope::Function(path.clone())).await? {
        stats
            .versions
            .entry(info.key.identity)
            .or_default()
            .add(&info);
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
        let expired = is_expired(storage, &info, expiry, now).await?;
        if (stale || expired) && storage.delete(&info.key).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether a listed entry has expired; a listing without created times (a backend told not
/// to read headers while listing) costs one `checkpoint_date` per entry.
async fn is_expired(
    storage: &dyn Storage,
    info: &EntryInfo,
    expiry: Option<&Expiry>,
    now: SystemTime,
) -> Result<bool, CheckpointError> {
    let Some(expiry) = expiry else {
        return Ok(false);
    };
    let created = match info.created {
        Some(c) => Some(c),
        None => storage.checkpoint_date(&info.key).await?,
    };
    Ok(created.is_some_and(|c| expiry.is_expired(c, now)))
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

/// Statistics of a whole store: every function, every identity version.
///
/// Without the running program the store cannot know which identity is "current"; here the
/// current identity of a function is the one with the most recently created entry.
#[derive(Clone, Debug, Default)]
pub struct StoreStats {
    /// Per function.
    pub functions: BTreeMap<FnPath, FnStats>,
    /// All entries.
    pub total: Tally,
}

/// Groups a listing per function, then per identity.
fn group(infos: Vec<EntryInfo>) -> BTreeMap<FnPath, Vec<EntryInfo>> {
    let mut by_fn: BTreeMap<FnPath, Vec<EntryInfo>> = BTreeMap::new();
    for info in infos {
        by_fn
            .entry((*info.key.function).clone())
            .or_default()
            .push(info);
    }
    by_fn
}

/// The identity with the most recently created entry.
fn newest_identity(entries: &[EntryInfo]) -> Option<Digest> {
    entries
        .iter()
        .max_by_key(|e| (e.created.unwrap_or(SystemTime::UNIX_EPOCH), e.key.identity))
        .map(|e| e.key.identity)
}

/// Statistics of everything in `scope`.
pub async fn store_stats(
    storage: &dyn Storage,
    scope: &Scope,
) -> Result<StoreStats, CheckpointError> {
    let mut stats = StoreStats::default();
    for (path, entries) in group(storage.list(scope).await?) {
        let current = newest_identity(&entries);
        let mut f = FnStats::default();
        for info in &entries {
            stats.total.add(info);
            f.versions.entry(info.key.identity).or_default().add(info);
            if Some(info.key.identity) == current {
                f.current.add(info);
            } else {
                f.invalidated.add(info);
            }
        }
        stats.functions.insert(path, f);
    }
    Ok(stats)
}

/// `cleanup` for every function in the store (Python's `cleanup_all`): removes entries of
/// identities other than each function's newest (`invalidated`) and entries past `expiry`.
pub async fn cleanup_all(
    storage: &dyn Storage,
    invalidated: bool,
    expiry: Option<&Expiry>,
) -> Result<u64, CheckpointError> {
    let now = SystemTime::now();
    let mut removed = 0;
    for (_, entries) in group(storage.list(&Scope::All).await?) {
        let current = newest_identity(&entries);
        for info in entries {
            let stale = invalidated && Some(info.key.identity) != current;
            let expired = is_expired(storage, &info, expiry, now).await?;
            if (stale || expired) && storage.delete(&info.key).await? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// What [`prune`] removes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneRule {
    /// Remove entries not used (read or written) for longer than this.
    pub max_age: Option<std::time::Duration>,
    /// Then remove least recently used entries until the scope holds at most this many bytes.
    pub max_bytes: Option<u64>,
}

/// What [`prune`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Entries and bytes removed.
    pub removed: Tally,
    /// Entries and bytes left.
    pub kept: Tally,
}

/// Removes entries by age and by total size, least recently used first. An entry's last use
/// is its recorded access time (coarse, backend-dependent) or else its created time.
pub async fn prune(
    storage: &dyn Storage,
    scope: &Scope,
    rule: PruneRule,
) -> Result<PruneReport, CheckpointError> {
    let now = SystemTime::now();
    let mut entries = storage.list(scope).await?;
    let last_use = |e: &EntryInfo| e.accessed.max(e.created).unwrap_or(SystemTime::UNIX_EPOCH);
    // Most recently used first: the tail is what goes.
    entries.sort_by_key(|e| std::cmp::Reverse(last_use(e)));
    let mut report = PruneReport::default();
    let mut kept_bytes = 0u64;
    // Strictly LRU: once the budget is spent, everything used less recently goes too.
    let mut full = false;
    for info in entries {
        let too_old = rule
            .max_age
            .is_some_and(|age| now.duration_since(last_use(&info)).is_ok_and(|d| d > age));
        full |= rule
            .max_bytes
            .is_some_and(|max| kept_bytes + info.size > max);
        if (too_old || full) && storage.delete(&info.key).await? {
            report.removed.add(&info);
        } else {
            kept_bytes += info.size;
            report.kept.add(&info);
        }
    }
    Ok(report)
}
