//! `Layered`: storage tiers, top (fastest) to bottom (shared).

use crate::tier_stats::{Counters, TierEvent, TierStats};
use crate::{CheckpointError, Entry, EntryInfo, Key, Scope, Storage};
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// Tiers of storage, top first (`memory,fs,s3://…`).
///
/// - load: the first tier with the entry answers; the entry is promoted into the tiers above
///   it with its original created time, so expiry stays right;
/// - store writes every tier; delete removes from every tier; read-only (`ro:`) tiers are
///   skipped by both, by promotion and by locking: they are only read;
/// - a failing tier degrades to a miss with one warning (repeated only after it recovered),
///   never to a wrong answer; an operation fails only when every tier fails.
#[derive(Debug)]
pub struct Layered {
    tiers: Vec<Tier>,
    name: String,
}

#[derive(Debug)]
struct Tier {
    storage: Arc<dyn Storage>,
    failing: AtomicBool,
    counters: Counters,
}

impl Layered {
    /// Stacks `tiers`, top first.
    pub fn new(tiers: Vec<Arc<dyn Storage>>) -> Self {
        let name = tiers
            .iter()
            .map(|t| t.name().to_string())
            .collect::<Vec<_>>()
            .join(",");
        Layered {
            tiers: tiers
                .into_iter()
                .map(|storage| Tier {
                    storage,
                    failing: AtomicBool::new(false),
                    counters: Counters::default(),
                })
                .collect(),
            name,
        }
    }

    /// Each tier's hit, miss, promotion and error counters since the stack was opened, top
    /// first.
    pub fn tier_stats(&self) -> Vec<TierStats> {
        self.tiers
            .iter()
            .map(|t| t.counters.snapshot(t.storage.name()))
            .collect()
    }

    /// The tiers, top first.
    pub fn tiers(&self) -> impl Iterator<Item = &Arc<dyn Storage>> {
        self.tiers.iter().map(|t| &t.storage)
    }
}

impl Layered {
    /// The tiers that are written (all but `ro:` ones), top first.
    fn writable(&self) -> impl DoubleEndedIterator<Item = &Tier> {
        self.tiers.iter().filter(|t| !t.storage.read_only())
    }
}

impl Tier {
    /// Records a tier result: warns on the first failure after a success, logs every one.
    fn note<T>(&self, op: &str, r: Result<T, CheckpointError>) -> Result<T, CheckpointError> {
        match &r {
            Ok(_) => self.failing.store(false, Ordering::Relaxed),
            Err(e) => {
                self.counters.record(self.storage.name(), TierEvent::Error);
                tracing::warn!(target: "checkpointer", tier = self.storage.name(), "{op} failed: {e}");
                if !self.failing.swap(true, Ordering::Relaxed) {
                    crate::report::warn_line(&format!(
                        "storage tier {} failed ({e}); treating it as a miss until it recovers",
                        self.storage.name()
                    ));
                }
            }
        }
        r
    }
}

#[async_trait]
impl Storage for Layered {
    fn name(&self) -> &str {
        &self.name
    }

    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        let mut last_err = None;
        let mut stored = false;
        for tier in self.writable() {
            match tier.note("store", tier.storage.store(key, entry.clone()).await) {
                Ok(()) => stored = true,
                Err(e) => last_err = Some(e),
            }
        }
        match (stored, last_err) {
            (false, Some(e)) => Err(e),
            (false, None) => Err(CheckpointError::ReadOnly {
                tier: self.name.clone(),
                op: "store",
            }),
            _ => Ok(()),
        }
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        Ok(self.load_from(key).await?.map(|(entry, _)| entry))
    }

    async fn load_from(
        &self,
        key: &Key,
    ) -> Result<Option<(Entry, crate::Source)>, CheckpointError> {
        let mut errors = 0;
        let mut damaged = None;
        for (i, tier) in self.tiers.iter().enumerate() {
            match tier.note("load", tier.storage.load(key).await) {
                Ok(Some(mut entry)) => {
                    let intact = tier.storage.trusted() || entry.check_loaded().is_ok();
                    if !intact {
                        tier.counters.record(tier.storage.name(), TierEvent::Miss);
                        // A damaged copy must not hide a good one below; the core recomputes
                        // and overwrites every tier if none is intact.
                        damaged.get_or_insert((entry, tier.storage.name()));
                        continue;
                    }
                    tier.counters.record(tier.storage.name(), TierEvent::Hit);
                    let mut source = crate::Source::new(tier.storage.name());
                    // Promote, keeping the original created time so expiry stays right. Nearest
                    // tier first: each may hand back its own copy (the mmap store: its map of
                    // the file it just wrote), which the tiers above and the caller then get.
                    // Read-only tiers are skipped.
                    for upper in self.tiers[..i]
                        .iter()
                        .rev()
                        .filter(|t| !t.storage.read_only())
                    {
                        if let Ok(promoted) =
                            upper.note("promote", upper.storage.promote(key, entry.clone()).await)
                        {
                            upper
                                .counters
                                .record(upper.storage.name(), TierEvent::Promotion);
                            source.promoted.insert(0, upper.storage.name().to_string());
                            entry = promoted;
                        }
                    }
                    return Ok(Some((entry, source)));
                }
                Ok(None) => tier.counters.record(tier.storage.name(), TierEvent::Miss),
                Err(_) => errors += 1,
            }
        }
        if let Some((entry, tier)) = damaged {
            // Only the stand-in leaves here: an unverified payload never reaches a caller
            // that trusts this store's loads (see `trusted`).
            return Ok(Some((
                Entry::damaged(entry.meta.created),
                crate::Source::new(tier),
            )));
        }
        if errors == self.tiers.len() {
            return Err(CheckpointError::storage(
                self.name.clone(),
                "load",
                "every tier failed",
            ));
        }
        Ok(None)
    }

    /// A hit in the top tier, answered without waiting when that tier can; anything else
    /// (a miss, an error, a tier that must wait) goes through `load` and its promotion rules.
    fn load_now(&self, key: &Key) -> Option<Result<Option<Entry>, CheckpointError>> {
        let top = self.tiers.first()?;
        if !top.storage.trusted() {
            // Its entries would need verifying: `load` does that.
            return None;
        }
        match top.storage.load_now(key)? {
            Ok(Some(entry)) => {
                top.counters.record(top.storage.name(), TierEvent::Hit);
                Some(Ok(Some(entry)))
            }
            _ => None,
        }
    }

    /// Loads are verified here (an untrusted tier's copy is checked before it is returned or
    /// promoted) or are the [`Entry::damaged`] stand-in, so the core checks nothing twice.
    fn trusted(&self) -> bool {
        true
    }

    /// The top tier's, when `load_now` answers from it (see [`Layered::load_now`]).
    fn generation(&self) -> Option<u64> {
        let top = self.tiers.first()?;
        if !top.storage.trusted() {
            return None;
        }
        top.storage.generation()
    }

    fn read_only(&self) -> bool {
        self.writable().next().is_none()
    }

    fn tier_stats(&self) -> Vec<TierStats> {
        Layered::tier_stats(self)
    }

    async fn list_tiers(&self, scope: &Scope) -> Vec<Result<Vec<EntryInfo>, CheckpointError>> {
        let mut out = Vec::with_capacity(self.tiers.len());
        for tier in &self.tiers {
            out.push(tier.note("list", tier.storage.list(scope).await));
        }
        out
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        for tier in &self.tiers {
            if let Ok(Some(t)) = tier.note("stat", tier.storage.checkpoint_date(key).await) {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        let mut any = false;
        let mut last_err = None;
        for tier in self.writable() {
            match tier.note("delete", tier.storage.delete(key).await) {
                Ok(d) => any |= d,
                Err(e) => last_err = Some(e),
            }
        }
        // A delete that missed a tier must not pass silently: the entry could come back.
        match last_err {
            Some(e) => Err(e),
            None => Ok(any),
        }
    }

    /// The lowest tier that locks decides: it is the one shared most widely (S3 across
    /// machines, fs across processes). A failing tier falls back to the next one up.
    async fn lock(&self, key: &Key) -> Result<Option<crate::KeyLock>, CheckpointError> {
        for tier in self.writable().rev() {
            if let Ok(Some(lock)) = tier.note("lock", tier.storage.lock(key).await) {
                return Ok(Some(lock));
            }
        }
        Ok(None)
    }

    /// Whether a tier `lock` asks may lock.
    fn locks(&self) -> bool {
        self.writable().any(|t| t.storage.locks())
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut last_err = None;
        for tier in &self.tiers {
            // Like every other operation, a failing tier degrades: list what the others hold.
            match tier.note("list", tier.storage.list(scope).await) {
                Ok(infos) => {
                    for info in infos {
                        if seen.insert(info.key.clone()) {
                            out.push(info);
                        }
                    }
                }
                Err(e) => last_err = Some(e),
            }
        }
        match last_err {
            Some(e)
                if seen.is_empty()
                    && self.tiers.iter().all(|t| t.failing.load(Ordering::Relaxed)) =>
            {
                Err(e)
            }
            _ => Ok(out),
        }
    }
}
