//! The one error type of the core crate.

use std::error::Error as StdError;

/// A boxed error from a storage backend or codec.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong inside checkpointer.
///
/// Under `on_error = "warn"` (the default) none of these reaches a cached call: the call warns
/// and computes. They reach the companion functions (`get`, `set`, `delete`, …) and calls made
/// with `on_error = "raise"`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// `get` found no valid entry for these arguments.
    #[error("no cached value for {function} with call hash {call}")]
    NotCached {
        /// The function's path, `crate::module::name`.
        function: String,
        /// The call hash, hex.
        call: String,
    },
    /// A storage backend failed.
    #[error("{backend} storage failed to {op}: {source}")]
    Storage {
        /// The backend's name (`fs`, `memory`, `s3`, …).
        backend: String,
        /// What it was doing (`load`, `store`, …).
        op: &'static str,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// An entry's bytes failed their checksum or their framing.
    #[error("corrupt entry: {0}")]
    Corrupt(String),
    /// With a secret configured, an entry lacked a MAC or failed it (see `Checkpointer::secrets`):
    /// it was never decoded.
    #[error("entry failed authentication: {0}")]
    Unauthenticated(String),
    /// A write, delete or lock was asked of a read-only (`ro:`) tier.
    #[error("storage tier {tier} is read-only: it is never written, locked or deleted from (refused to {op}); modify it where it is written, through a spec without `ro:`")]
    ReadOnly {
        /// The tier's name (`ro:s3`, `ro:fs`, …).
        tier: String,
        /// What was refused (`store`, `delete`).
        op: &'static str,
    },
    /// A value could not be encoded.
    #[error("could not encode the value: {0}")]
    Encode(String),
    /// Stored bytes could not be decoded into the return type.
    #[error("could not decode the cached value: {0}")]
    Decode(String),
    /// A configuration value (environment, `checkpointer.toml`, option) was invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A call re-entered itself with the same key while computing it (a recursion whose
    /// hashed arguments repeat, e.g. a `#[no_hash]` depth counter). It cannot wait for its own
    /// result, so it computes without the cache (this error only under `on_error = "raise"`).
    #[error("{function} called itself with the same call hash {call} while computing it; the inner call runs uncached")]
    Reentrant {
        /// The function's path, `crate::module::name`.
        function: String,
        /// The call hash, hex.
        call: String,
    },
    /// A storage spec named something no enabled backend provides.
    #[error("invalid storage spec {spec:?}: {reason}")]
    Spec {
        /// The spec as written.
        spec: String,
        /// Why it was rejected.
        reason: String,
    },
}

impl CheckpointError {
    /// Wraps a backend error.
    pub fn storage(
        backend: impl Into<String>,
        op: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        CheckpointError::Storage {
            backend: backend.into(),
            op,
            source: source.into(),
        }
    }
}
