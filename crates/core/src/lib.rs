//! Core runtime of [checkpointer](https://docs.rs/checkpointer): persistent, code-aware
//! memoization for Rust.
//!
//! This crate holds what every part shares: [`ObjectHash`] (the typed blake3 hash of
//! arguments), the [`Storage`] trait backends implement, [`Entry`] and its checksummed
//! envelope, [`Layered`] tiers, configuration ([`Checkpointer`]) and [`CachedFn`], the
//! runtime behind each `#[checkpoint]` function. Most users depend on the `checkpointer`
//! facade instead; backend authors depend on this crate and run `testing`'s conformance
//! suite (feature `testing`).

#![warn(missing_docs)]

mod block_on;
mod cached_fn;
mod codec;
pub mod compress;
pub mod config;
pub mod decoded;
mod digest;
mod entry;
mod error;
mod file_stamp;
mod flight;
pub mod hash;
mod key;
mod layered;
pub mod maintenance;
pub mod manifest;
pub mod mapped;
mod outcome;
mod parent;
pub mod raw;
pub mod read_hashed;
mod read_only;
mod report;
pub mod seal;
mod storable;
mod storage;
#[cfg(feature = "testing")]
pub mod testing;
mod tier_stats;

pub use block_on::block_on;
pub use cached_fn::{CachedFn, FnInfo};
pub use codec::{decode, encode};
pub use compress::Compression;
pub use config::{Checkpointer, Expiry, IntoExpiry, OnError, Resolved, Settings, StorageChoice};
pub use digest::Digest;
pub use entry::{envelope, Codec, Entry, EntryInfo, EntryMeta};
pub use error::{BoxError, CheckpointError};
pub use hash::{Hasher, ObjectHash};
pub use key::{sanitize, unsanitize, FnPath, Key, Scope};
pub use layered::Layered;
pub use outcome::{OkOnly, OkOrRaise, Outcome, Plain};
pub use read_only::ReadOnly;
pub use report::warn_line;
pub use storable::{Storable, ValueCodec};
pub use storage::{IntoStorage, KeyLock, Storage};
pub use tier_stats::{Source, TierStats};

/// Re-exported for backends and generated code.
pub use async_trait::async_trait;
pub use bytes::Bytes;
