//! What the runtime records beside a function's entries for the `checkpointer` command: a
//! manifest per identity version (the identity's items, so `why` can tell what changed
//! between two versions) and, for a call computed inside another cached call, a call record
//! naming that parent (so `graph` can draw the nesting).
//!
//! # Layout
//!
//! Both are ordinary entries (envelope, checksum, CBOR) of a reserved sibling function:
//! `<crate>/<module>/<fn>-meta/…`. No Rust identifier contains `-`, so no user function can
//! own that directory; listings of a function's own scope never see it, and maintenance
//! (in [`crate::maintenance`]) keeps these objects with the version and entry they describe.
//!
//! - manifest: key `(<fn>-meta, identity, MANIFEST_CALL)`, a [`Manifest`];
//! - call record: key `(<fn>-meta, identity, call)` of the entry it describes, a [`CallRecord`],
//!   written only when the call had a cached parent.
//!
//! Recording is best effort: a failure is a `tracing` debug event, never the caller's error,
//! and costs the call nothing on a hit (only computed values record anything). A trusted
//! store (the in-process memory store) records nothing: no other process can read it.

use crate::{codec, CheckpointError, Digest, FnPath, Key, Storage};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Appended to a function's name to form its metadata directory.
pub const META_SUFFIX: &str = "-meta";

/// The call hash under which a version's manifest is stored (no real call hashes to zero).
pub const MANIFEST_CALL: Digest = Digest([0; 32]);

/// The identity's items for one version of a function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The function as users write it (`crate::module::name`).
    pub function: String,
    /// The identity this manifest describes, hex.
    pub identity: String,
    /// The identity the code compiled to, hex; differs from `identity` under `fn_hash_from`.
    pub compiled: String,
    /// `(path, short hash)` of every item the identity is made of.
    pub items: Vec<(String, String)>,
}

/// The call a cached value was computed inside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The parent call.
    pub parent: CallRef,
}

/// One cached call, by function directory, identity and call hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallRef {
    /// The function as users write it (`crate::module::name`).
    pub function: String,
    /// The function's relative directory in the store ([`FnPath::dir`]).
    pub dir: String,
    /// Identity hash, hex.
    pub identity: String,
    /// Call hash, hex.
    pub call: String,
}

impl CallRef {
    /// The reference to `key`.
    pub fn of(key: &Key) -> Self {
        CallRef {
            function: key.function.to_string(),
            dir: key.function.dir(),
            identity: key.identity.to_hex(),
            call: key.call.to_hex(),
        }
    }
}

/// The metadata directory's function path of `f`.
pub fn meta_path(f: &FnPath) -> FnPath {
    FnPath {
        name: format!("{}{META_SUFFIX}", f.name),
        ..f.clone()
    }
}

/// The function a metadata path belongs to, or `None` for a user function's path.
pub fn owner(f: &FnPath) -> Option<FnPath> {
    let name = f.name.strip_suffix(META_SUFFIX)?;
    (!name.is_empty()).then(|| FnPath {
        name: name.to_string(),
        ..f.clone()
    })
}

/// Where the manifest of `function`'s version `identity` lives.
pub fn manifest_key(function: &FnPath, identity: Digest) -> Key {
    Key {
        function: Arc::new(meta_path(function)),
        identity,
        call: MANIFEST_CALL,
    }
}

/// Where the call record of the entry `key` lives.
pub fn record_key(key: &Key) -> Key {
    Key {
        function: Arc::new(meta_path(&key.function)),
        identity: key.identity,
        call: key.call,
    }
}

/// The manifest of a version, if recorded and sound.
pub async fn load_manifest(
    storage: &dyn Storage,
    function: &FnPath,
    identity: Digest,
) -> Result<Option<Manifest>, CheckpointError> {
    load(storage, &manifest_key(function, identity)).await
}

/// The call record of an entry, if one was recorded and is sound.
pub async fn load_record(
    storage: &dyn Storage,
    key: &Key,
) -> Result<Option<CallRecord>, CheckpointError> {
    load(storage, &record_key(key)).await
}

async fn load<T: serde::de::DeserializeOwned>(
    storage: &dyn Storage,
    key: &Key,
) -> Result<Option<T>, CheckpointError> {
    let Some(entry) = storage.load(key).await? else {
        return Ok(None);
    };
    entry.verify()?;
    codec::decode(&entry).map(Some)
}

/// Records what a freshly stored entry needs: its version's manifest (once per process and
/// version, and only if the store lacks it) and, when it was computed inside another cached
/// call, its call record.
pub(crate) async fn record(
    storage: &dyn Storage,
    key: &Key,
    compiled: &str,
    items: &[(&str, &str)],
    parent: Option<&Key>,
) {
    // A store this process alone sees (memory) has no reader for them; nor should they take
    // its room.
    if storage.trusted() {
        return;
    }
    if let Some(parent) = parent {
        let rec = CallRecord {
            parent: CallRef::of(parent),
        };
        if let Err(e) = store(storage, &record_key(key), &rec).await {
            tracing::debug!(target: "checkpointer", function = %key.function, "could not record the parent call: {e}");
        }
    }
    if !first_in_process(key) {
        return;
    }
    let mkey = manifest_key(&key.function, key.identity);
    if storage.exists(&mkey).await.unwrap_or(false) {
        return;
    }
    let manifest = Manifest {
        function: key.function.to_string(),
        identity: key.identity.to_hex(),
        compiled: compiled.to_string(),
        items: items
            .iter()
            .map(|(p, h)| (p.to_string(), h.to_string()))
            .collect(),
    };
    if let Err(e) = store(storage, &mkey, &manifest).await {
        tracing::debug!(target: "checkpointer", function = %key.function, "could not record the manifest: {e}");
    }
}

async fn store<T: Serialize>(
    storage: &dyn Storage,
    key: &Key,
    value: &T,
) -> Result<(), CheckpointError> {
    storage.store(key, codec::encode(value)?).await
}

/// Whether this is the first store of `key`'s function version in this process.
fn first_in_process(key: &Key) -> bool {
    /// Function versions whose manifest this process has seen to.
    type Seen = HashSet<(Arc<FnPath>, Digest)>;
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    thread_local! {
        /// The last version this thread found in `SEEN`: a run of stores of one function asks
        /// the shared set (a lock, and a hash of the whole path) once. The `Arc` it holds
        /// keeps its address from being reused by another path.
        static LAST: std::cell::RefCell<Option<(Arc<FnPath>, Digest)>> =
            const { std::cell::RefCell::new(None) };
    }
    let seen_here = |last: &Option<(Arc<FnPath>, Digest)>| matches!(last, Some((f, id)) if Arc::ptr_eq(f, &key.function) && *id == key.identity);
    if LAST
        .try_with(|l| l.try_borrow().is_ok_and(|l| seen_here(&l)))
        .unwrap_or(false)
    {
        return false;
    }
    let first = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert((key.function.clone(), key.identity));
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = Some((key.function.clone(), key.identity));
        }
    });
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_paths_round_trip_and_never_name_a_user_function() {
        let f = FnPath::from_module_path("app::features", "Model.predict");
        let m = meta_path(&f);
        // The stores escape the `-` (an injective name): never a Rust identifier either way.
        assert_eq!(m.dir(), "app/features/Model.predict-2dmeta");
        assert_eq!(owner(&m), Some(f.clone()));
        assert_eq!(owner(&f), None);
        let key = manifest_key(&f, Digest::of_bytes(b"id"));
        let parsed = Key::parse_relative_path(&key.relative_path()).unwrap();
        assert_eq!(owner(&parsed.function), Some(f));
        assert_eq!(parsed.call, MANIFEST_CALL);
    }
}
