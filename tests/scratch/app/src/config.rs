//! A const and a static read by `uses_config`, and the runtime-set static `captured` captures.

use checkpointer::{Hasher, ObjectHash};
use std::sync::atomic::{AtomicU64, Ordering};

pub const LIMIT: u64 = 10;

pub static START: &str = "abc";

/// A value set at startup (from `APP_THRESHOLD`), so it differs between runs of one build.
pub struct Threshold(AtomicU64);

impl Threshold {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed)
    }
}

impl ObjectHash for Threshold {
    fn object_hash(&self, hasher: &mut Hasher) {
        self.get().object_hash(hasher)
    }
}

pub static THRESHOLD: Threshold = Threshold(AtomicU64::new(0));
