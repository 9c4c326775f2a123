//! The conformance suite: the contract every [`Storage`] backend must pass (feature `testing`).
//!
//! A storage crate runs it from its tests against a **fresh, empty** store:
//!
//! ```toml
//! [dev-dependencies]
//! checkpointer-core = { version = "0.1", features = ["testing"] }
//! ```
//!
//! ```
//! # use checkpointer_core::{async_trait, CheckpointError, Entry, EntryInfo, Key, Scope, Storage};
//! # use std::collections::HashMap;
//! # use std::sync::Mutex;
//! /// A toy backend: a map behind a mutex.
//! #[derive(Debug, Default)]
//! struct MapStore(Mutex<HashMap<String, (Key, Entry)>>);
//!
//! #[async_trait]
//! impl Storage for MapStore {
//!     fn name(&self) -> &str { "map" }
//!     async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
//!         self.0.lock().unwrap().insert(key.relative_path(), (key.clone(), entry));
//!         Ok(())
//!     }
//!     async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
//!         Ok(self.0.lock().unwrap().get(&key.relative_path()).map(|(_, e)| e.clone()))
//!     }
//!     async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
//!         Ok(self.0.lock().unwrap().remove(&key.relative_path()).is_some())
//!     }
//!     async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
//!         let map = self.0.lock().unwrap();
//!         Ok(map.values().filter(|(k, _)| scope.contains(k)).map(|(k, e)| EntryInfo {
//!             key: k.clone(),
//!             size: e.payload.len() as u64,
//!             created: Some(e.meta.created),
//!             accessed: None,
//!         }).collect())
//!     }
//! }
//!
//! // In the backend's tests (`#[test]`), or `.await` `conformance` under any executor:
//! checkpointer_core::testing::conformance_blocking(&MapStore::default());
//! ```
//!
//! # The contract
//!
//! Each property below is one check; a failure panics with the backend's name and the
//! property's name, so the message says which promise the backend broke.
//!
//! - **empty**: a fresh store lists nothing (the suite needs one to start from).
//! - **round trip**: `load` returns exactly what `store` was given: payload bytes, codec,
//!   checksum and created time to the nanosecond. The store must not recompute or "fix" the
//!   checksum, and must not replace the created time (promotion between tiers relies on it).
//!   Empty payloads count.
//! - **missing keys**: `load` is `Ok(None)`, `exists` `false`, `checkpoint_date` `Ok(None)`,
//!   `delete` `Ok(false)` — both for a function never seen and for a neighbour of a stored key.
//! - **exists and dates**: `exists` and `checkpoint_date` agree with `load`.
//! - **overwrite**: a second `store` replaces the entry; the listing shows it once, with the
//!   new size.
//! - **delete**: `Ok(true)` then `Ok(false)`; the neighbours stay.
//! - **listing**: [`Scope::All`], [`Scope::Function`] and [`Scope::Version`] give exactly
//!   the stored keys of that scope (a function `a::b` is not a prefix of `a::b::f`), each
//!   once, with `size` at least the payload length and at most a few KiB more (framing), and
//!   `created` (when the backend gives it) equal to the stored created time.
//! - **awkward names**: function, module and crate names with `..`, `/`, `\`, NUL, spaces,
//!   non-ASCII and empty segments still round-trip and list under their own function (keys
//!   are compared by [`Key::relative_path`], since listed names come back sanitized). A
//!   path-based backend must keep everything under its root; its own tests check that.
//!   Functions whose names differ only in such characters (`größe`, `gr__e`) never share an
//!   entry.
//! - **large values**: a 16 MiB entry (configurable) round-trips intact.
//! - **concurrent writers**: several threads storing different entries under one key while
//!   others load it: every load sees none or exactly one of the written entries, never a
//!   mix, and the final entry is exactly one of them.
//!
//! The suite deletes what it stored at the end, so an S3 prefix is left as it was found.
//! It drives the store from several OS threads with [`crate::block_on`]; per the
//! [`Storage`] contract a backend's futures must not need a particular executor.

use crate::{block_on, Codec, Digest, Entry, EntryInfo, FnPath, Key, Scope, Storage};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// Runs the whole suite with the default [`Suite`] settings; panics naming the first broken
/// property. `storage` must be fresh and empty.
pub async fn conformance(storage: &dyn Storage) {
    Suite::new().run(storage).await
}

/// [`conformance`] for sync tests: drives it with [`crate::block_on`].
pub fn conformance_blocking(storage: &dyn Storage) {
    block_on(conformance(storage))
}

/// Settings of the conformance suite, for backends that need bigger or smaller figures
/// (an S3 store may raise the large value above its multipart threshold).
///
/// ```
/// # use checkpointer_core::testing::Suite;
/// let suite = Suite::new().large_value_bytes(64 << 20).writer_threads(8);
/// # let _ = suite;
/// ```
#[derive(Clone, Debug)]
pub struct Suite {
    large_value_bytes: usize,
    writer_threads: usize,
    reader_threads: usize,
    rounds: usize,
}

impl Default for Suite {
    fn default() -> Self {
        Suite {
            large_value_bytes: 16 << 20,
            writer_threads: 4,
            reader_threads: 2,
            rounds: 3,
        }
    }
}

impl Suite {
    /// The default settings: a 16 MiB large value, 4 writer and 2 reader threads.
    pub fn new() -> Self {
        Self::default()
    }

    /// Size of the large-value check's payload.
    pub fn large_value_bytes(mut self, bytes: usize) -> Self {
        self.large_value_bytes = bytes;
        self
    }

    /// Number of threads writing one key at once (at least 2).
    pub fn writer_threads(mut self, n: usize) -> Self {
        self.writer_threads = n.max(2);
        self
    }

    /// [`Suite::run`] for sync tests: drives it with [`crate::block_on`].
    pub fn run_blocking(&self, storage: &dyn Storage) {
        block_on(self.run(storage))
    }

    /// Runs every check against `storage`, which must be fresh and empty.
    pub async fn run(&self, storage: &dyn Storage) {
        let mut t = Tester {
            storage,
            live: BTreeMap::new(),
        };
        t.empty().await;
        t.round_trip().await;
        t.missing().await;
        t.overwrite().await;
        t.delete().await;
        t.generation().await;
        t.answers_now().await;
        t.listing().await;
        t.awkward_names().await;
        t.large_value(self.large_value_bytes).await;
        t.concurrent_writers(self).await;
        t.list_all_and_clean().await;
    }
}

/// The suite's state: the store and the entries it should hold now, by relative path.
struct Tester<'a> {
    storage: &'a dyn Storage,
    live: BTreeMap<String, (Key, Entry)>,
}

/// Panics with the backend's name and the property.
macro_rules! ensure {
    ($t:expr, $prop:expr, $cond:expr, $($fmt:tt)+) => {
        if !$cond {
            panic!("storage conformance [{}] failed: {}: {}", $t.storage.name(), $prop, format!($($fmt)+));
        }
    };
}

/// Unwraps a storage result or panics naming the property and the operation.
macro_rules! ok {
    ($t:expr, $prop:expr, $op:literal, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!(
                "storage conformance [{}] failed: {}: {} returned an error: {e}",
                $t.storage.name(),
                $prop,
                $op
            ),
        }
    };
}

/// A function path under the suite's own crate name.
fn function(module: &str, name: &str) -> Arc<FnPath> {
    Arc::new(FnPath {
        crate_name: "conformance".into(),
        module: module.into(),
        name: name.into(),
    })
}

/// A key with a readable identity and a call digest whose first byte is `bucket`, so keys can
/// share the `<first two hex>` directory on purpose.
fn key(f: &Arc<FnPath>, identity: &str, bucket: u8, n: u32) -> Key {
    let mut call = *blake3::hash(&[identity.as_bytes(), &n.to_le_bytes()].concat()).as_bytes();
    call[0] = bucket;
    Key {
        function: f.clone(),
        identity: Digest::of_bytes(identity.as_bytes()),
        call: Digest(call),
    }
}

/// `len` incompressible bytes, reproducible from `seed`.
fn payload(seed: &str, len: usize) -> Bytes {
    let mut buf = vec![0u8; len];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut buf);
    Bytes::from(buf)
}

/// An entry with a created time that has nanoseconds, so truncation to seconds, micros or
/// millis shows.
fn entry(seed: &str, len: usize, codec: Codec) -> Entry {
    let nanos = u32::from_le_bytes(
        *blake3::hash(seed.as_bytes())
            .as_bytes()
            .first_chunk()
            .unwrap_or(&[0; 4]),
    ) % 1_000_000_000;
    let created = UNIX_EPOCH + Duration::new(1_700_000_000 + len as u64, nanos | 1);
    Entry::with_created(codec, payload(seed, len), created)
}

fn same(a: &Entry, b: &Entry) -> bool {
    a.meta == b.meta && a.payload == b.payload
}

fn describe(e: &Entry) -> String {
    format!(
        "{} bytes, codec {:?}, created {:?}, checksum {}",
        e.payload.len(),
        e.meta.codec,
        e.meta.created,
        e.meta.checksum.short(12)
    )
}

impl Tester<'_> {
    async fn put(&mut self, prop: &str, key: &Key, e: Entry) {
        ok!(
            self,
            prop,
            "store",
            self.storage.store(key, e.clone()).await
        );
        self.live.insert(key.relative_path(), (key.clone(), e));
    }

    async fn remove(&mut self, prop: &str, key: &Key) {
        let there = self.live.remove(&key.relative_path()).is_some();
        let deleted = ok!(self, prop, "delete", self.storage.delete(key).await);
        ensure!(
            self,
            prop,
            deleted == there,
            "delete returned {deleted} for a key that was {}",
            if there { "stored" } else { "absent" }
        );
    }

    /// `load`, `exists` and `checkpoint_date` all show `expected`.
    async fn expect(&self, prop: &str, key: &Key, expected: Option<&Entry>) {
        let loaded = ok!(self, prop, "load", self.storage.load(key).await);
        match (expected, &loaded) {
            (None, None) => {}
            (None, Some(e)) => ensure!(
                self,
                prop,
                false,
                "load found an entry ({}) where none should be",
                describe(e)
            ),
            (Some(_), None) => ensure!(
                self,
                prop,
                false,
                "load found nothing where an entry was stored"
            ),
            (Some(want), Some(got)) => {
                ensure!(
                    self,
                    prop,
                    got.meta.codec == want.meta.codec,
                    "codec changed: stored {:?}, loaded {:?}",
                    want.meta.codec,
                    got.meta.codec
                );
                ensure!(
                    self,
                    prop,
                    got.meta.created == want.meta.created,
                    "created time changed: stored {:?}, loaded {:?}",
                    want.meta.created,
                    got.meta.created
                );
                ensure!(
                    self,
                    prop,
                    got.meta.checksum == want.meta.checksum,
                    "checksum changed: stored {}, loaded {}",
                    want.meta.checksum,
                    got.meta.checksum
                );
                ensure!(
                    self,
                    prop,
                    got.payload.len() == want.payload.len(),
                    "payload length changed: stored {}, loaded {}",
                    want.payload.len(),
                    got.payload.len()
                );
                ensure!(
                    self,
                    prop,
                    got.payload == want.payload,
                    "payload bytes changed ({} bytes)",
                    want.payload.len()
                );
            }
        }
        let exists = ok!(self, prop, "exists", self.storage.exists(key).await);
        ensure!(
            self,
            prop,
            exists == expected.is_some(),
            "exists returned {exists} but load {}",
            if expected.is_some() {
                "found the entry"
            } else {
                "found nothing"
            }
        );
        let date = ok!(
            self,
            prop,
            "checkpoint_date",
            self.storage.checkpoint_date(key).await
        );
        ensure!(
            self,
            prop,
            date == expected.map(|e| e.meta.created),
            "checkpoint_date returned {date:?}, the entry was created {:?}",
            expected.map(|e| e.meta.created)
        );
    }

    /// A listing of `scope` matches exactly the live entries in it.
    async fn expect_listing(&self, prop: &str, scope: &Scope) {
        let listed = ok!(self, prop, "list", self.storage.list(scope).await);
        let mut seen = BTreeSet::new();
        for info in &listed {
            let path = info.key.relative_path();
            ensure!(
                self,
                prop,
                seen.insert(path.clone()),
                "list({scope:?}) gave {path} twice"
            );
            ensure!(
                self,
                prop,
                scope.contains(&info.key),
                "list({scope:?}) gave {path}, which lies outside the scope"
            );
            let Some((_, e)) = self.live.get(&path) else {
                panic!("storage conformance [{}] failed: {prop}: list({scope:?}) gave {path}, which is not stored", self.storage.name());
            };
            self.check_info(prop, info, e);
        }
        let expected: BTreeSet<&String> = self
            .live
            .iter()
            .filter(|(_, (k, _))| scope.contains(k))
            .map(|(p, _)| p)
            .collect();
        let missing: Vec<&&String> = expected.iter().filter(|p| !seen.contains(**p)).collect();
        ensure!(
            self,
            prop,
            missing.is_empty(),
            "list({scope:?}) left out {} stored entries, e.g. {:?}",
            missing.len(),
            missing.first()
        );
    }

    fn check_info(&self, prop: &str, info: &EntryInfo, e: &Entry) {
        let len = e.payload.len() as u64;
        ensure!(self, prop, info.size >= len && info.size <= len + 4096, "listed size {} for a payload of {len} bytes (expected the payload plus at most 4 KiB of framing)", info.size);
        if let Some(created) = info.created {
            ensure!(
                self,
                prop,
                created == e.meta.created,
                "listed created time {created:?}, stored {:?}",
                e.meta.created
            );
        }
    }

    async fn empty(&mut self) {
        let listed = ok!(self, "empty", "list", self.storage.list(&Scope::All).await);
        ensure!(
            self,
            "empty",
            listed.is_empty(),
            "the suite needs a fresh, empty store, but this one lists {} entries",
            listed.len()
        );
    }

    async fn round_trip(&mut self) {
        let prop = "round trip";
        let f = function("round_trip", "f");
        let cases = [
            ("small", 100, Codec::Cbor),
            ("raw", 4096 + 3, Codec::RawArray),
            ("empty", 0, Codec::Cbor),
        ];
        for (i, (seed, len, codec)) in cases.into_iter().enumerate() {
            let k = key(&f, "v1", 0x10, i as u32);
            let e = entry(seed, len, codec);
            self.put(prop, &k, e.clone()).await;
            self.expect(prop, &k, Some(&e)).await;
        }
        // A checksum that does not match the payload is stored as given: verifying is the
        // core's job, and it must see what was written.
        let k = key(&f, "v1", 0x10, 99);
        let mut e = entry("mismatched", 64, Codec::Cbor);
        e.meta.checksum = Digest::of_bytes(b"not the payload");
        self.put(prop, &k, e.clone()).await;
        self.expect(prop, &k, Some(&e)).await;
        // A time just before the epoch and one far ahead survive too.
        for (n, created) in [
            (100, UNIX_EPOCH - Duration::new(1, 5)),
            (101, UNIX_EPOCH + Duration::new(4_000_000_000, 999_999_999)),
        ] {
            let k = key(&f, "v1", 0x11, n);
            let e = Entry::with_created(Codec::Cbor, payload("time", 10), created);
            self.put(prop, &k, e.clone()).await;
            self.expect(prop, &k, Some(&e)).await;
        }
    }

    async fn missing(&mut self) {
        let prop = "missing keys";
        // A function the store has never seen.
        let never = key(&function("missing/never", "f"), "v1", 0x20, 0);
        self.expect(prop, &never, None).await;
        self.remove(prop, &never).await;
        // A neighbour of a stored key: same function, identity and first call byte.
        let f = function("missing", "f");
        let stored = key(&f, "v1", 0x20, 1);
        self.put(prop, &stored, entry("neighbour", 10, Codec::Cbor))
            .await;
        for other in [
            key(&f, "v1", 0x20, 2),
            key(&f, "v1", 0x21, 1),
            key(&f, "v2", 0x20, 1),
        ] {
            self.expect(prop, &other, None).await;
            self.remove(prop, &other).await;
        }
        let empty = ok!(
            self,
            prop,
            "list",
            self.storage
                .list(&Scope::Function(function("missing/never", "f")))
                .await
        );
        ensure!(
            self,
            prop,
            empty.is_empty(),
            "listing a function never stored gave {} entries",
            empty.len()
        );
    }

    async fn overwrite(&mut self) {
        let prop = "overwrite";
        let f = function("overwrite", "f");
        let k = key(&f, "v1", 0x30, 0);
        let first = entry("first", 5000, Codec::Cbor);
        let second = entry("second", 70, Codec::RawArray);
        self.put(prop, &k, first.clone()).await;
        self.put(prop, &k, second.clone()).await;
        self.expect(prop, &k, Some(&second)).await;
        self.expect_listing(prop, &Scope::Function(f.clone())).await;
        // And back to a larger one: no stale tail may remain.
        self.put(prop, &k, first.clone()).await;
        self.expect(prop, &k, Some(&first)).await;
        self.expect_listing(prop, &Scope::Function(f)).await;
    }

    /// A backend that reports a generation changes it on every store and delete (the core
    /// trusts an unchanged one to mean unchanged answers).
    async fn generation(&mut self) {
        let prop = "generation";
        let Some(g0) = self.storage.generation() else {
            return;
        };
        let f = function("generation", "f");
        let k = key(&f, "v1", 0x38, 0);
        self.put(prop, &k, entry("g", 10, Codec::Cbor)).await;
        let g1 = self.storage.generation();
        ensure!(self, prop, g1 != Some(g0), "a store left it at {g0}");
        self.put(prop, &k, entry("h", 10, Codec::Cbor)).await;
        let g2 = self.storage.generation();
        ensure!(self, prop, g2 != g1, "an overwrite left it at {g1:?}");
        ok!(self, prop, "delete", self.storage.delete(&k).await);
        self.live.remove(&k.relative_path());
        let g3 = self.storage.generation();
        ensure!(self, prop, g3 != g2, "a delete left it at {g2:?}");
    }

    /// What a backend does without waiting agrees with what it does by future: a store
    /// `store_now` took is loaded like any other (and moves the generation), and a backend
    /// that says it cannot lock never returns a lock.
    async fn answers_now(&mut self) {
        let prop = "answers now";
        let f = function("now", "f");
        let k = key(&f, "v1", 0x39, 0);
        for (round, seed) in ["now", "now again"].into_iter().enumerate() {
            let e = entry(seed, 20 + round, Codec::Cbor);
            let before = self.storage.generation();
            match self.storage.store_now(&k, e.clone()) {
                Err(back) => {
                    ensure!(
                        self,
                        prop,
                        back.payload == e.payload && back.meta == e.meta,
                        "store_now declined and handed back another entry"
                    );
                    self.put(prop, &k, back).await;
                }
                Ok(stored) => {
                    ok!(self, prop, "store_now", stored);
                    self.live.insert(k.relative_path(), (k.clone(), e.clone()));
                    if let Some(g) = before {
                        let after = self.storage.generation();
                        ensure!(self, prop, after != Some(g), "store_now left it at {g}");
                    }
                }
            }
            self.expect(prop, &k, Some(&e)).await;
            if let Some(now) = self.storage.load_now(&k) {
                let now = ok!(self, prop, "load_now", now);
                ensure!(
                    self,
                    prop,
                    now.as_ref().map(|n| (&n.payload, n.meta)) == Some((&e.payload, e.meta)),
                    "load_now does not answer what was stored"
                );
            }
        }
        if !self.storage.locks() {
            let lock = ok!(self, prop, "lock", self.storage.lock(&k).await);
            ensure!(
                self,
                prop,
                lock.is_none(),
                "locks() is false, yet lock returned a lock"
            );
        }
    }

    async fn delete(&mut self) {
        let prop = "delete";
        let f = function("delete", "f");
        let k = key(&f, "v1", 0x40, 0);
        let sibling = key(&f, "v1", 0x40, 1);
        let e = entry("doomed", 300, Codec::Cbor);
        let s = entry("sibling", 30, Codec::Cbor);
        self.put(prop, &k, e).await;
        self.put(prop, &sibling, s.clone()).await;
        let deleted = ok!(self, prop, "delete", self.storage.delete(&k).await);
        ensure!(
            self,
            prop,
            deleted,
            "the first delete of a stored key returned false"
        );
        self.live.remove(&k.relative_path());
        let again = ok!(self, prop, "delete", self.storage.delete(&k).await);
        ensure!(
            self,
            prop,
            !again,
            "the second delete of a key returned true"
        );
        self.expect(prop, &k, None).await;
        self.expect(prop, &sibling, Some(&s)).await;
        self.expect_listing(prop, &Scope::Function(f)).await;
        // Stored again after a delete.
        let e = entry("reborn", 20, Codec::Cbor);
        self.put(prop, &k, e.clone()).await;
        self.expect(prop, &k, Some(&e)).await;
    }

    async fn listing(&mut self) {
        let prop = "listing";
        // `a::b` (a function named b) beside `a::b::f` and `a::b::b`: a function's directory
        // is a prefix of others', so a backend must filter what it walks by scope.
        let ab = function("list/a", "b");
        let abf = function("list/a/b", "f");
        let abb = function("list/a/b", "b");
        let af = function("list/a", "f");
        let mut n = 0;
        for (f, versions) in [
            (&ab, &["v1", "v2", "v3"][..]),
            (&abf, &["v1"][..]),
            (&abb, &["v1", "v2"][..]),
            (&af, &["v1"][..]),
        ] {
            for v in versions {
                for i in 0..3u32 {
                    n += 1;
                    let k = key(f, v, 0x50 + (i as u8 % 2), i);
                    let len = 17 * n as usize;
                    self.put(prop, &k, entry(&format!("list {n}"), len, Codec::Cbor))
                        .await;
                }
            }
        }
        for f in [&ab, &abf, &abb, &af] {
            self.expect_listing(prop, &Scope::Function(f.clone())).await;
            for v in ["v1", "v2", "v3", "none"] {
                self.expect_listing(
                    prop,
                    &Scope::Version(f.clone(), Digest::of_bytes(v.as_bytes())),
                )
                .await;
            }
        }
        self.expect_listing(prop, &Scope::Function(function("list", "a")))
            .await;
        self.expect_listing(prop, &Scope::All).await;
    }

    async fn awkward_names(&mut self) {
        let prop = "awkward names";
        let names = [
            ("..", "..", ".."),
            (".", "./.", "."),
            ("", "", ""),
            ("../../escape", "../../../../etc", "../passwd"),
            ("/abs", "/root//x/", "/etc/passwd"),
            ("c:\\win", "a\\..\\b", "..\\..\\x"),
            ("nul\0byte", "new\nline", "tab\tname"),
            ("名前", "ünï/cödé", "🦀"),
            ("with space", "Type.method", "Type.method"),
            ("-dash", "~home", "$HOME"),
        ];
        let long = "x".repeat(200);
        let mut keys = Vec::new();
        for (i, (c, m, name)) in names.iter().enumerate() {
            let f = Arc::new(FnPath {
                crate_name: c.to_string(),
                module: m.to_string(),
                name: name.to_string(),
            });
            keys.push(key(&f, "v1", 0x60, i as u32));
        }
        keys.push(key(&function(&long, &long), "v1", 0x60, 100));
        for (i, k) in keys.iter().enumerate() {
            let path = k.relative_path();
            let bad = path.split('/').find(|s| {
                s.is_empty() || *s == "." || *s == ".." || s.contains('\\') || s.contains('\0')
            });
            ensure!(self, prop, bad.is_none(), "key path {path:?} has the unsafe segment {bad:?} (Key::relative_path must sanitize)");
            let e = entry(&format!("awkward {i}"), 40 + i, Codec::Cbor);
            self.put(prop, k, e.clone()).await;
            self.expect(prop, k, Some(&e)).await;
        }
        for k in &keys {
            self.expect_listing(prop, &Scope::Function(k.function.clone()))
                .await;
            self.expect_listing(prop, &Scope::Version(k.function.clone(), k.identity))
                .await;
        }
        self.expect_listing(prop, &Scope::All).await;
        for k in &keys {
            self.remove(prop, k).await;
            self.expect(prop, k, None).await;
        }
        // Distinct names are distinct functions, even those that differ only in characters
        // a path cannot hold: one identity and one call hash, one entry each.
        let twins: Vec<Key> = ["größe", "gr__e", "gr_e", "a-b", "a_b", "", "_", "-"]
            .iter()
            .map(|name| key(&function("twins", name), "v1", 0x61, 0))
            .collect();
        for (i, k) in twins.iter().enumerate() {
            self.put(prop, k, entry(&format!("twin {i}"), 30 + i, Codec::Cbor))
                .await;
        }
        for (i, k) in twins.iter().enumerate() {
            self.expect(
                prop,
                k,
                Some(&entry(&format!("twin {i}"), 30 + i, Codec::Cbor)),
            )
            .await;
        }
        for k in &twins {
            self.remove(prop, k).await;
        }
    }

    async fn large_value(&mut self, len: usize) {
        let prop = "large value";
        let k = key(&function("large", "f"), "v1", 0x70, 0);
        let e = entry("large", len, Codec::RawArray);
        self.put(prop, &k, e.clone()).await;
        self.expect(prop, &k, Some(&e)).await;
        self.expect_listing(prop, &Scope::Function(k.function.clone()))
            .await;
        // Replaced by a small one, then removed: large entries must not linger.
        let small = entry("large, then small", 10, Codec::Cbor);
        self.put(prop, &k, small.clone()).await;
        self.expect(prop, &k, Some(&small)).await;
        self.remove(prop, &k).await;
    }

    async fn concurrent_writers(&mut self, suite: &Suite) {
        let prop = "concurrent writers";
        let f = function("concurrent", "f");
        let k = key(&f, "v1", 0x80, 0);
        // Different sizes, so a torn or interleaved write cannot pass as a whole entry.
        let candidates: Vec<Entry> = (0..suite.writer_threads)
            .map(|w| entry(&format!("writer {w}"), (256 << 10) + w * 4099, Codec::Cbor))
            .collect();
        let storage = self.storage;
        let name = storage.name();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let check = |got: &Entry, when: &str| {
            if !candidates.iter().any(|c| same(c, got)) {
                panic!("storage conformance [{name}] failed: {prop}: {when} load returned an entry that no writer wrote ({})", describe(got));
            }
        };
        std::thread::scope(|s| {
            let readers: Vec<_> = (0..suite.reader_threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut loads = 0u32;
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) || loads == 0 {
                            match block_on(storage.load(&k)) {
                                Ok(Some(got)) => check(&got, "a concurrent"),
                                Ok(None) => {}
                                Err(e) => panic!("storage conformance [{name}] failed: {prop}: load during writes returned an error: {e}"),
                            }
                            loads += 1;
                        }
                    })
                })
                .collect();
            let writers: Vec<_> = candidates
                .iter()
                .map(|c| {
                    let k = &k;
                    s.spawn(move || {
                        for _ in 0..suite.rounds {
                            if let Err(e) = block_on(storage.store(k, c.clone())) {
                                panic!("storage conformance [{name}] failed: {prop}: a concurrent store returned an error: {e}");
                            }
                        }
                    })
                })
                .collect();
            for w in writers {
                if let Err(p) = w.join() {
                    std::panic::resume_unwind(p);
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for r in readers {
                if let Err(p) = r.join() {
                    std::panic::resume_unwind(p);
                }
            }
        });
        let last = ok!(self, prop, "load", self.storage.load(&k).await);
        let Some(last) = last else {
            panic!("storage conformance [{name}] failed: {prop}: after the writers finished the key is empty");
        };
        check(&last, "the final");
        self.live
            .insert(k.relative_path(), (k.clone(), last.clone()));
        self.expect(prop, &k, Some(&last)).await;
        self.expect_listing(prop, &Scope::Version(f, k.identity))
            .await;
    }

    async fn list_all_and_clean(&mut self) {
        let prop = "listing everything";
        self.expect_listing(prop, &Scope::All).await;
        let prop = "clean up";
        let keys: Vec<Key> = self.live.values().map(|(k, _)| k.clone()).collect();
        for k in &keys {
            self.remove(prop, k).await;
        }
        let left = ok!(self, prop, "list", self.storage.list(&Scope::All).await);
        ensure!(
            self,
            prop,
            left.is_empty(),
            "after deleting every stored key the store still lists {} entries",
            left.len()
        );
    }
}

#[cfg(test)]
mod tests {
    //! The suite passes a correct store and names the property each broken one breaks.
    use super::*;
    use crate::{async_trait, CheckpointError};
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Fault {
        None,
        SecondsOnly,
        DeleteAlwaysTrue,
        ListIgnoresScope,
        ForgetsEmpty,
        DropsLarge,
    }

    #[derive(Debug)]
    struct MapStore(Mutex<HashMap<String, (Key, Entry)>>, Fault);

    impl MapStore {
        fn new(fault: Fault) -> Self {
            MapStore(Mutex::new(HashMap::new()), fault)
        }
    }

    #[async_trait]
    impl Storage for MapStore {
        fn name(&self) -> &str {
            "map"
        }
        async fn store(&self, key: &Key, mut entry: Entry) -> Result<(), CheckpointError> {
            if self.1 == Fault::SecondsOnly {
                let secs = entry
                    .meta
                    .created
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                entry.meta.created = UNIX_EPOCH + Duration::from_secs(secs);
            }
            if (self.1 == Fault::ForgetsEmpty && entry.payload.is_empty())
                || (self.1 == Fault::DropsLarge && entry.payload.len() > 1 << 20)
            {
                return Ok(());
            }
            self.0
                .lock()
                .unwrap()
                .insert(key.relative_path(), (key.clone(), entry));
            Ok(())
        }
        async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(&key.relative_path())
                .map(|(_, e)| e.clone()))
        }
        async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
            let removed = self
                .0
                .lock()
                .unwrap()
                .remove(&key.relative_path())
                .is_some();
            Ok(removed || self.1 == Fault::DeleteAlwaysTrue)
        }
        async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
            let map = self.0.lock().unwrap();
            Ok(map
                .values()
                .filter(|(k, _)| self.1 == Fault::ListIgnoresScope || scope.contains(k))
                .map(|(k, e)| EntryInfo {
                    key: k.clone(),
                    size: e.payload.len() as u64,
                    created: Some(e.meta.created),
                    accessed: None,
                })
                .collect())
        }
    }

    fn failure(fault: Fault) -> String {
        let store = MapStore::new(fault);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Suite::new().large_value_bytes(2 << 20).run_blocking(&store)
        }))
        .expect_err("the suite should have failed");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn a_correct_store_passes() {
        conformance_blocking(&MapStore::new(Fault::None));
    }

    #[test]
    fn broken_stores_fail_naming_the_property() {
        for (fault, property) in [
            (Fault::SecondsOnly, "round trip: created time changed"),
            (Fault::ForgetsEmpty, "round trip: load found nothing"),
            (
                Fault::DeleteAlwaysTrue,
                "missing keys: delete returned true",
            ),
            (
                Fault::ListIgnoresScope,
                "listing a function never stored gave",
            ),
            (Fault::DropsLarge, "large value: load found nothing"),
        ] {
            let msg = failure(fault);
            assert!(
                msg.starts_with("storage conformance [map] failed: ") && msg.contains(property),
                "{fault:?}: {msg}"
            );
        }
    }
}
