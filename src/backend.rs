//! Storage backends and the plumbing beneath them: the stores as values, tiers, entries and
//! keys, for code that builds a storage by hand, writes a backend or inspects a cache.
//!
//! A `#[checkpoint]` user rarely needs this module: a spec string (`storage = "memory,fs"`)
//! opens the stores. Name them here to pass a configured one (`storage = MY_STORE.clone()`),
//! to stack them yourself ([`Layered`]), or to run the [`crate::maintenance`] functions on a
//! store that is not the default one (they are async: [`block_on`] drives them from sync code).
//! A backend crate depends on `checkpointer-core`, which has all of these at its root.
//!
//! ```no_run
//! use checkpointer::backend::{block_on, FsStore, Scope};
//! use checkpointer::maintenance;
//!
//! let store = FsStore::new("/var/cache/team-checkpoints");
//! let stats = block_on(maintenance::store_stats(&store, &Scope::All))?;
//! # let _ = stats;
//! # Ok::<(), checkpointer::CheckpointError>(())
//! ```

pub use crate::backends::open_tier;
pub use checkpointer_core::{
    async_trait, block_on, envelope, manifest, sanitize, unsanitize, Bytes, Codec, Entry,
    EntryInfo, EntryMeta, FnPath, IntoStorage, Key, KeyLock, Layered, ReadOnly, Scope, Storage,
    TierStats,
};

#[cfg(feature = "fs")]
pub use checkpointer_store_fs::{FsStore, STORE_LOCK_FILE};
#[cfg(feature = "mem")]
pub use checkpointer_store_mem::MemoryStore;
#[cfg(feature = "mmap")]
pub use checkpointer_store_mmap::MmapStore;
#[cfg(feature = "s3")]
pub use checkpointer_store_s3::{S3Options, S3Store};
