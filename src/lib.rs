//! # checkpointer
//!
//! Persistent, code-aware memoization for Rust. Put `#[checkpoint]` on a function and its
//! results persist across runs, keyed by the arguments *and by the code itself*.
//!
//! ```no_run
//! use checkpointer::checkpoint;
//!
//! #[checkpoint]
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! assert_eq!(square(4), 16); // computed and stored
//! assert_eq!(square(4), 16); // loaded
//! assert_eq!(square::get(4).unwrap(), 16);
//! ```
//!
//! See the README for the attribute's options, the companion functions and configuration.

#![warn(missing_docs)]

mod backends;
mod features;

// The root holds what a user of `#[checkpoint]` names; what storage authors and tools need
// is in `backend` (not `storage`: the `storage = …` option of the facade's own tests would
// name it). The core crate keeps every item at its own root (`checkpointer_core::Entry`).
pub use checkpointer_core::{
    config, hash, maintenance, CachedFn, CheckpointError, Checkpointer, Digest, Expiry, Hasher,
    IntoExpiry, ObjectHash, OnError, Storage,
};
pub use checkpointer_macros::checkpoint;
pub use checkpointer_macros::ObjectHash;

#[cfg(feature = "mmap")]
pub use checkpointer_store_mmap::{Array, Element};
/// `ndarray`, as the facade's `ndarray` feature uses it (for matching versions).
#[cfg(feature = "ndarray")]
pub use ndarray;

pub mod backend;

/// The storage a `#[checkpoint]` without options uses: `CHECKPOINTER_STORAGE`, else
/// `checkpointer.toml`, else the fs store in `CHECKPOINTER_DIR` (default: the user cache
/// directory + `/checkpoints`).
pub fn default_storage() -> Result<std::sync::Arc<dyn Storage>, CheckpointError> {
    Ok(Checkpointer::new().resolve(backend::open_tier)?.storage)
}

/// Cleans up every function in the [`default_storage`] at once: removes the entries of
/// identities other than each function's newest (when `invalidated`) and those past `expiry`
/// (when given). Returns how many entries it removed. [`CachedFn::cleanup`] does the same for
/// one function; [`maintenance::cleanup_all`] for any store.
///
/// ```no_run
/// let removed = checkpointer::cleanup_all(true, None)?;
/// # Ok::<(), checkpointer::CheckpointError>(())
/// ```
pub fn cleanup_all(invalidated: bool, expiry: Option<&Expiry>) -> Result<u64, CheckpointError> {
    backend::block_on(maintenance::cleanup_all(
        &*default_storage()?,
        invalidated,
        expiry,
    ))
}

/// Prunes the whole [`default_storage`] by age and total size, least recently used first.
///
/// ```no_run
/// use checkpointer::maintenance::PruneRule;
/// let rule = PruneRule { max_age: None, max_bytes: Some(10 << 30) };
/// let report = checkpointer::prune(rule)?;
/// println!("removed {} entries", report.removed.entries);
/// # Ok::<(), checkpointer::CheckpointError>(())
/// ```
pub fn prune(rule: maintenance::PruneRule) -> Result<maintenance::PruneReport, CheckpointError> {
    backend::block_on(maintenance::prune(
        &*default_storage()?,
        &backend::Scope::All,
        rule,
    ))
}

/// The README's Rust snippets, compiled as this crate's doctests (and run, but those marked
/// `no_run`, which would write to the user's cache directory). They use the `s3`, `azure` and
/// `mmap` features, so they are checked when all three are on, as in `scripts/test`.
#[cfg(all(doctest, feature = "s3", feature = "azure", feature = "mmap"))]
#[doc = include_str!("../README.md")]
mod readme {}

/// What generated code uses. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::backend::open_tier;
    pub use checkpointer_core::decoded::{MemoProbe, ViaClone, ViaNothing};
    pub use checkpointer_core::{
        block_on, CachedFn, CheckpointError, Checkpointer, Compression, Digest, FnInfo, Hasher,
        ObjectHash, OkOnly, OkOrRaise, OnError, Plain, Storable, ValueCodec,
    };
    pub use core::future::ready;
    pub use core::time::Duration;
    pub use std::sync::OnceLock;

    /// `Type.method`, the `FnInfo::name` of a cached method: the last path segment of
    /// `T`'s type name, without generic arguments (so every instantiation of a generic impl
    /// shares one name; the call hash still tells them apart by the full type name).
    ///
    /// Built once per method and process (the handle caches it), so leaking it is bounded.
    pub fn method_name<T: ?Sized>(method: &str) -> &'static str {
        let full = core::any::type_name::<T>();
        let base = full.split('<').next().unwrap_or(full);
        let short = base.rsplit("::").next().unwrap_or(base);
        Box::leak(format!("{short}.{method}").into_boxed_str())
    }

    /// Autoref probe for `Checkpointer::capture()`: hashes a named static or const if its type
    /// is `ObjectHash`, and skips it otherwise. Call as `(&CaptureProbe(&NAME)).capture_hash(..)`
    /// with both traits in scope.
    pub struct CaptureProbe<'a, T: ?Sized>(pub &'a T);

    /// Picked when the probed value is `ObjectHash`.
    pub trait CaptureHash {
        /// Hashes the value under its name.
        fn capture_hash(&self, name: &str, h: &mut Hasher);
    }
    impl<T: ObjectHash + ?Sized> CaptureHash for CaptureProbe<'_, T> {
        fn capture_hash(&self, name: &str, h: &mut Hasher) {
            h.write_name(name);
            self.0.object_hash(h);
        }
    }

    /// Picked otherwise: the value cannot be hashed, so it is skipped.
    pub trait CaptureSkip {
        /// Does nothing.
        fn capture_hash(&self, _name: &str, _h: &mut Hasher) {}
    }
    impl<T: ?Sized> CaptureSkip for &CaptureProbe<'_, T> {}
}
