//! Cleanup, clear and stats, written once over `Storage::list` so every backend has them.
//!
//! Counts and budgets cover entries only. The metadata objects the runtime keeps beside them
//! ([`crate::manifest`]: version manifests and call records) live exactly as long as what they
//! describe: every operation here that removes entries also removes a manifest whose version
//! has no entries left and a call record whose entry is gone.

mod display;

use crate::manifest::{self, MANIFEST_CALL};
use crate::{CheckpointError, Digest, EntryInfo, Expiry, FnPath, Scope, Storage};
use std::collections::{BTreeMap, HashSet};
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
///
/// Through a stack of tiers an entry counts once however many tiers hold a copy of it, and
/// its bytes are what every tier holding it stores: `current.bytes + invalidated.bytes` is
/// the sum of `tiers[i].stored.bytes`, and each tier's `stored` is what that tier alone holds.
#[derive(Clone, Debug, Default)]
pub struct FnStats {
    /// Entries of the identity in use.
    pub current: Tally,
    /// Entries of other identities (older code), which `cleanup(invalidated)` removes.
    pub invalidated: Tally,
    /// Per identity.
    pub versions: BTreeMap<Digest, Tally>,
    /// For a stack of tiers, each tier's entries and bytes (`stored`) and its hit, miss,
    /// promotion and error counters in this process, top first; empty for a single backend.
    pub tiers: Vec<crate::TierStats>,
}

impl FnStats {
    /// Counts one listed copy of an entry: its bytes always, the entry itself only on its
    /// first copy (`first`).
    fn count(&mut self, info: &EntryInfo, current: Digest, first: bool) {
        let entries = u64::from(first);
        let tallies = [
            self.versions.entry(info.key.identity).or_default(),
            if info.key.identity == current {
                &mut self.current
            } else {
                &mut self.invalidated
            },
        ];
        for t in tallies {
            t.entries += entries;
            t.bytes += info.size;
        }
    }
}

/// Statistics of one function against its current identity; for a stack of tiers, per tier
/// as well (see [`FnStats`]).
pub async fn fn_stats(
    storage: &dyn Storage,
    path: &Arc<FnPath>,
    current: Digest,
) -> Result<FnStats, CheckpointError> {
    let scope = Scope::Function(path.clone());
    let mut stats = FnStats::default();
    let listings = if storage.tier_stats().is_empty() {
        Vec::new()
    } else {
        storage.list_tiers(&scope).await
    };
    // Taken after listing, so a tier that failed to list shows it in `errors`.
    let mut tiers = storage.tier_stats();
    if listings.is_empty() || listings.len() != tiers.len() {
        for info in storage.list(&scope).await? {
            stats.count(&info, current, true);
        }
        stats.tiers = tiers;
        return Ok(stats);
    }
    let mut seen = HashSet::new();
    let mut failed = None;
    let mut listed = false;
    for (tier, listing) in tiers.iter_mut().zip(listings) {
        match listing {
            Ok(infos) => {
                listed = true;
                for info in infos {
                    tier.stored.add(&info);
                    let first = seen.insert(info.key.clone());
                    stats.count(&info, current, first);
                }
            }
            // Like a listing through the stack: a failing tier degrades (its `stored` stays
            // zero and its `errors` counter says why); every tier failing is an error.
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) if !listed => Err(e),
        _ => {
            stats.tiers = tiers;
            Ok(stats)
        }
    }
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
    let listing = Listing::of(storage, &Scope::Function(path.clone())).await?;
    let mut remaining = Remaining::default();
    for info in listing.entries {
        let stale = keep_identity.is_some_and(|id| info.key.identity != id);
        let expired = is_expired(storage, &info, expiry, now).await?;
        if (stale || expired) && storage.delete(&info.key).await? {
            removed += 1;
        } else {
            remaining.add(&info);
        }
    }
    tidy_meta(storage, listing.meta, &remaining).await?;
    Ok(removed)
}

/// A listing split into entries and metadata objects (with the functions they belong to).
#[derive(Default)]
struct Listing {
    entries: Vec<EntryInfo>,
    meta: Vec<(FnPath, EntryInfo)>,
}

impl Listing {
    /// Lists `scope` and, for one function's scope, its metadata scope too.
    async fn of(storage: &dyn Storage, scope: &Scope) -> Result<Listing, CheckpointError> {
        let mut listing = Listing::default();
        listing.split(storage.list(scope).await?);
        let meta_scope = match scope {
            Scope::All => None,
            Scope::Function(f) => manifest::owner(f)
                .is_none()
                .then(|| Scope::Function(Arc::new(manifest::meta_path(f)))),
            Scope::Version(f, id) => manifest::owner(f)
                .is_none()
                .then(|| Scope::Version(Arc::new(manifest::meta_path(f)), *id)),
        };
        if let Some(meta_scope) = meta_scope {
            listing.split(storage.list(&meta_scope).await?);
        }
        Ok(listing)
    }

    fn split(&mut self, infos: Vec<EntryInfo>) {
        for info in infos {
            match manifest::owner(&info.key.function) {
                Some(owner) => self.meta.push((owner, info)),
                None => self.entries.push(info),
            }
        }
    }
}

/// The entries left after an operation, for [`tidy_meta`]: function directory, identity, call.
#[derive(Default)]
struct Remaining {
    versions: HashSet<(String, Digest)>,
    entries: HashSet<(String, Digest, Digest)>,
}

impl Remaining {
    fn add(&mut self, info: &EntryInfo) {
        let dir = info.key.function.dir();
        self.versions.insert((dir.clone(), info.key.identity));
        self.entries.insert((dir, info.key.identity, info.key.call));
    }
}

/// Removes manifests of versions without entries and call records without their entry.
async fn tidy_meta(
    storage: &dyn Storage,
    meta: Vec<(FnPath, EntryInfo)>,
    remaining: &Remaining,
) -> Result<(), CheckpointError> {
    for (owner, info) in meta {
        let dir = owner.dir();
        let keep = if info.key.call == MANIFEST_CALL {
            remaining.versions.contains(&(dir, info.key.identity))
        } else {
            remaining
                .entries
                .contains(&(dir, info.key.identity, info.key.call))
        };
        if !keep {
            storage.delete(&info.key).await?;
        }
    }
    Ok(())
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

/// Removes every entry in `scope` (and the metadata kept beside them). Returns how many
/// entries were removed.
pub async fn clear(storage: &dyn Storage, scope: &Scope) -> Result<u64, CheckpointError> {
    let listing = Listing::of(storage, scope).await?;
    let mut removed = 0;
    for info in listing.entries {
        if storage.delete(&info.key).await? {
            removed += 1;
        }
    }
    for (_, info) in listing.meta {
        storage.delete(&info.key).await?;
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

/// The identity with the most recently created entry: without the running program a store
/// cannot know which identity is current, so this is the one taken as current.
pub fn newest_identity(entries: &[EntryInfo]) -> Option<Digest> {
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
    for (path, entries) in group(Listing::of(storage, scope).await?.entries) {
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

/// [`CachedFn::cleanup`](crate::CachedFn::cleanup) for every function in the store at once:
/// removes the entries of identities other than each function's newest (when `invalidated`)
/// and the entries past `expiry` (when given). Returns how many entries it removed.
pub async fn cleanup_all(
    storage: &dyn Storage,
    invalidated: bool,
    expiry: Option<&Expiry>,
) -> Result<u64, CheckpointError> {
    let listing = Listing::of(storage, &Scope::All).await?;
    let (remove, keep) = cleanup_plan(storage, listing.entries, invalidated, expiry).await?;
    let mut removed = 0;
    let mut remaining = Remaining::default();
    keep.iter().for_each(|info| remaining.add(info));
    for info in remove {
        if storage.delete(&info.key).await? {
            removed += 1;
        }
    }
    tidy_meta(storage, listing.meta, &remaining).await?;
    Ok(removed)
}

/// The entries [`cleanup_all`] would remove, removing nothing.
pub async fn plan_cleanup_all(
    storage: &dyn Storage,
    invalidated: bool,
    expiry: Option<&Expiry>,
) -> Result<Vec<EntryInfo>, CheckpointError> {
    let listing = Listing::of(storage, &Scope::All).await?;
    Ok(cleanup_plan(storage, listing.entries, invalidated, expiry)
        .await?
        .0)
}

/// Splits entries into what [`cleanup_all`] removes and what it keeps.
async fn cleanup_plan(
    storage: &dyn Storage,
    entries: Vec<EntryInfo>,
    invalidated: bool,
    expiry: Option<&Expiry>,
) -> Result<(Vec<EntryInfo>, Vec<EntryInfo>), CheckpointError> {
    let now = SystemTime::now();
    let (mut remove, mut keep) = (Vec::new(), Vec::new());
    for (_, entries) in group(entries) {
        let current = newest_identity(&entries);
        for info in entries {
            let stale = invalidated && Some(info.key.identity) != current;
            if stale || is_expired(storage, &info, expiry, now).await? {
                remove.push(info);
            } else {
                keep.push(info);
            }
        }
    }
    Ok((remove, keep))
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

/// What [`prune`] would remove: [`plan_prune`]'s answer, for a dry run.
#[derive(Clone, Debug, Default)]
pub struct PrunePlan {
    /// The entries to remove, least recently used last.
    pub remove: Vec<EntryInfo>,
    /// The entries to keep, most recently used first.
    pub keep: Vec<EntryInfo>,
}

/// An entry's last use: its recorded access time (coarse, backend-dependent) or else its
/// created time.
pub fn last_use(e: &EntryInfo) -> SystemTime {
    e.accessed.max(e.created).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Decides what [`prune`] removes, removing nothing.
pub async fn plan_prune(
    storage: &dyn Storage,
    scope: &Scope,
    rule: PruneRule,
) -> Result<PrunePlan, CheckpointError> {
    Ok(plan(Listing::of(storage, scope).await?.entries, rule))
}

fn plan(mut entries: Vec<EntryInfo>, rule: PruneRule) -> PrunePlan {
    let now = SystemTime::now();
    // Most recently used first: the tail is what goes.
    entries.sort_by_key(|e| std::cmp::Reverse(last_use(e)));
    let mut plan = PrunePlan::default();
    let mut kept_bytes = 0u64;
    // Strictly LRU: once the budget is spent, everything used less recently goes too.
    let mut full = false;
    for info in entries {
        let too_old = rule
            .max_age
            .is_some_and(|age| now.duration_since(last_use(&info)).is_ok_and(|d| d > age));
        full |= rule
            .max_bytes
            .is_some_and(|max| kept_bytes.saturating_add(info.size) > max);
        if too_old || full {
            plan.remove.push(info);
        } else {
            kept_bytes += info.size;
            plan.keep.push(info);
        }
    }
    plan
}

/// Removes entries by age and by total size, least recently used first (see [`last_use`]).
pub async fn prune(
    storage: &dyn Storage,
    scope: &Scope,
    rule: PruneRule,
) -> Result<PruneReport, CheckpointError> {
    let listing = Listing::of(storage, scope).await?;
    let PrunePlan { remove, keep } = plan(listing.entries, rule);
    let mut report = PruneReport::default();
    let mut remaining = Remaining::default();
    for info in keep {
        remaining.add(&info);
        report.kept.add(&info);
    }
    for info in remove {
        if storage.delete(&info.key).await? {
            report.removed.add(&info);
        } else {
            // Already gone (a concurrent prune): counted as before, with what was not removed.
            report.kept.add(&info);
        }
    }
    tidy_meta(storage, listing.meta, &remaining).await?;
    Ok(report)
}
