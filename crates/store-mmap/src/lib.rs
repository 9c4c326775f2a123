//! Large arrays at memory speed for [checkpointer](https://docs.rs/checkpointer):
//! [`Array<T>`] and the mmap store (storage spec `"mmap"`).
//!
//! A function returning an [`Array`] checkpointed on the mmap store gets, on a hit, an array
//! backed by a read-only map of the stored file: O(1) in the array's size, no byte of the
//! elements read until it is touched, and the pages shared through the page cache by every
//! process that maps them.
//!
//! ```
//! use checkpointer_core::{block_on, encode, decode, Digest, FnPath, Key, Storage};
//! use checkpointer_store_mmap::{Array, MmapStore};
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = MmapStore::new(dir.path());
//! let key = Key {
//!     function: Arc::new(FnPath::from_module_path("demo", "grid")),
//!     identity: Digest::of_bytes(b"code"),
//!     call: Digest::of_bytes(b"args"),
//! };
//! let grid = Array::from_shape_vec([2, 2], vec![1.5f64, 2.5, 3.5, 4.5]).unwrap();
//! block_on(store.store(&key, encode(&grid).unwrap())).unwrap();
//!
//! let entry = block_on(store.load(&key)).unwrap().unwrap();
//! let back: Array<f64> = decode(&entry).unwrap();
//! assert!(back.is_mapped());
//! assert_eq!(back, grid);
//! ```
//!
//! # Integrity policy
//!
//! - Entries are published whole (temporary file, fsync, rename): a reader sees the old file
//!   or the new one. Checkpointer never writes or truncates a published file in place, and
//!   replacing or deleting one (a recompute, `delete`, `cleanup`, `prune`) leaves the inode
//!   of every live map intact: an `Array` already handed out keeps its values.
//! - Every hit checks the envelope header (its own checksum, version, codec), the file's
//!   length against it (before and after mapping) and, when decoding, the array descriptor
//!   (element type, shape × element size = length). A truncated, short or mislabelled file
//!   is a miss, recomputed and overwritten; a map shorter than its header says is never
//!   handed out.
//! - The blake3 checksum of an array's elements is checked when the array is written (it is
//!   computed from them) and on demand: [`MmapStore::verify`], and every reader that calls
//!   `Entry::verify` (maintenance tools). A hit does not read the elements, so a byte
//!   changed in place *after* publication by another program is not noticed until then.
//! - Array files are read-only (`0400`) below a root the store made private (`0700`), so
//!   only their owner — deliberately, after a `chmod` — or root can truncate one in place.
//!   Doing that to a file another process has mapped makes that process fault (`SIGBUS`)
//!   when it touches the lost pages, as with any memory map (numpy's `memmap`, joblib's
//!   `mmap_mode`, LMDB); no mapping library can prevent it short of copying.
//! - Every value that is not an array is an ordinary checksummed entry, verified on every
//!   hit as in the fs store.

#![warn(missing_docs)]

mod array;
mod element;
#[cfg(feature = "ndarray")]
mod ndarray_conv;
pub mod payload;
mod serde_impl;
mod store;

pub use array::Array;
pub use element::Element;
pub use store::{MmapStore, VerifyReport};

/// What went wrong making or reading an array.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MmapError {
    /// A shape does not match the number of elements, or is too large.
    #[error("bad array shape: {0}")]
    Shape(String),
    /// A stored array payload is malformed or holds another element type.
    #[error("unusable array payload: {0}")]
    Payload(String),
}
