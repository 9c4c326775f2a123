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

/// What the runtime records beside entries for the `checkpointer` command.
pub use checkpointer_core::manifest;
pub use checkpointer_core::{
    block_on, config, hash, maintenance, sanitize, CachedFn, CheckpointError, Checkpointer, Codec,
    Digest, Entry, EntryInfo, EntryMeta, Expiry, FnPath, Hasher, IntoExpiry, IntoStorage, Key,
    Layered, ObjectHash, OnError, Scope, Storage,
};
/// Caches a function's results; see the crate documentation and the README.
pub use checkpointer_macros::checkpoint;
/// Derives [`ObjectHash`] for structs and enums, with `#[hash(skip)]` and `#[hash(by = path)]`.
pub use checkpointer_macros::ObjectHash;

pub use backends::open_tier;

/// Large arrays (feature `mmap`): [`Array`] values, served as read-only maps by the mmap store.
#[cfg(feature = "mmap")]
pub use checkpointer_store_mmap::{Array, Element, MmapStore};
/// `ndarray`, as the facade's `ndarray` feature uses it (for matching versions).
#[cfg(feature = "ndarray")]
pub use ndarray;

/// The storage a `#[checkpoint]` without options uses: `CHECKPOINTER_STORAGE`, else
/// `checkpointer.toml`, else the fs store in `CHECKPOINTER_DIR` (default: the user cache
/// directory + `/checkpoints`).
pub fn default_storage() -> Result<std::sync::Arc<dyn Storage>, CheckpointError> {
    Ok(Checkpointer::new().resolve(open_tier)?.storage)
}

/// Python's `cleanup_all` on the [`default_storage`]: removes every function's entries of
/// identities other than its newest (`invalidated`) and those past `expiry`. Returns how many.
///
/// ```no_run
/// let removed = checkpointer::cleanup_all(true, None)?;
/// # Ok::<(), checkpointer::CheckpointError>(())
/// ```
pub fn cleanup_all(invalidated: bool, expiry: Option<&Expiry>) -> Result<u64, CheckpointError> {
    block_on(maintenance::cleanup_all(
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
    block_on(maintenance::prune(&*default_storage()?, &Scope::All, rule))
}
#[cfg(feature = "fs")]
pub use checkpointer_store_fs::FsStore;
#[cfg(feature = "mem")]
pub use checkpointer_store_mem::MemoryStore;
#[cfg(feature = "s3")]
pub use checkpointer_store_s3::{S3Options, S3Store};

/// What generated code uses. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::backends::open_tier;
    pub use checkpointer_core::decoded::{MemoProbe, ViaClone, ViaNothing};
    pub use checkpointer_core::{
        block_on, CachedFn, CheckpointError, Checkpointer, Compression, Digest, FnInfo, Hasher,
        ObjectHash, OkOnly, OkOrRaise, OnError, Plain,
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
