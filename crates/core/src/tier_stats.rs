//! Per-tier figures of a [`crate::Layered`] stack: hits, misses, promotions, errors, and what
//! each tier holds; and [`Source`], which tier answered a load.
//!
//! Counted on every load through the stack (relaxed atomics: a hit costs one increment) and
//! reported by `handle().stats()` (see [`crate::maintenance::FnStats::tiers`]); each event is
//! also a `tracing` event at debug level, target `checkpointer`, field `tier`.

use crate::maintenance::Tally;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// One tier's counters since the stack was opened, and what it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierStats {
    /// The tier's name (`memory`, `fs`, `ro:s3`, …).
    pub tier: String,
    /// The function's entries in this tier, every identity, and the bytes this tier counts
    /// for them (filled by `handle().stats()`; zero when the tier could not be listed). Over
    /// the tiers these bytes add up to `FnStats::current.bytes + FnStats::invalidated.bytes`.
    pub stored: Tally,
    /// Loads this tier answered with an intact entry.
    pub hits: u64,
    /// Loads this tier was asked and did not answer (absent or damaged).
    pub misses: u64,
    /// Entries copied into this tier from a lower one.
    pub promotions: u64,
    /// Failed operations (load, store, promote, delete, lock, list).
    pub errors: u64,
}

/// The live counters of one tier.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    promotions: AtomicU64,
    errors: AtomicU64,
}

/// What happened in a tier.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TierEvent {
    Hit,
    Miss,
    Promotion,
    Error,
}

impl Counters {
    pub(crate) fn record(&self, tier: &str, event: TierEvent) {
        let (counter, what) = match event {
            TierEvent::Hit => (&self.hits, "hit"),
            TierEvent::Miss => (&self.misses, "miss"),
            TierEvent::Promotion => (&self.promotions, "promotion"),
            TierEvent::Error => (&self.errors, "error"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "checkpointer", tier, event = what, "tier {what}");
    }

    pub(crate) fn snapshot(&self, tier: &str) -> TierStats {
        TierStats {
            tier: tier.to_string(),
            stored: Tally::default(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            promotions: self.promotions.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// Where a loaded entry came from: the tier that answered, and the tiers above it the entry
/// was copied into on the way (top first). Displays as `fs` or `s3, promoted to memory,fs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// The tier that answered (`memory`, `fs`, `ro:s3`, …; a single backend's own name).
    pub tier: String,
    /// The tiers the entry was promoted into, top first (read-only tiers and failed
    /// promotions are not among them).
    pub promoted: Vec<String>,
}

impl Source {
    /// An answer from `tier`, promoted nowhere.
    pub fn new(tier: &str) -> Self {
        Source {
            tier: tier.to_string(),
            promoted: Vec::new(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tier)?;
        if !self.promoted.is_empty() {
            write!(f, ", promoted to {}", self.promoted.join(","))?;
        }
        Ok(())
    }
}
