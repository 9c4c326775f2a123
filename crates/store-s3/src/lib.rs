//! S3 storage backend for [checkpointer](https://docs.rs/checkpointer): one cache shared by
//! every machine that can reach a bucket (storage spec `"s3://bucket/prefix"`, usually as the
//! bottom tier of `"memory,fs,s3://bucket/prefix"`).
//!
//! It speaks to any S3-compatible server (AWS S3, MinIO, SeaweedFS, Ceph, R2, …) through the
//! [`object_store`] crate, to Google Cloud Storage (`gs://bucket/prefix`, feature `gcs`) and
//! Azure Blob Storage (`az://container/prefix`, `abfs[s]://…`, feature `azure`) through its
//! other clients, and to any other [`ObjectStore`] given to [`S3Store::from_object_store`]. One
//! implementation serves them all; the name stays `S3Store`.
//!
//! # Configuration
//!
//! Each store reads its standard environment as object_store's `from_env()` builders do, over
//! this crate's timeouts and retries: `GOOGLE_*` and `SERVICE_ACCOUNT` for `gs://`; `AZURE_*`
//! and `IDENTITY_ENDPOINT` for `az://` (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
//! `AZURE_STORAGE_USE_EMULATOR=true` for Azurite, …). [`S3Options::config`] adds object_store
//! keys in code. For S3:
//!
//! [`S3Store::open`] takes `s3://bucket/prefix` and reads the standard environment, as
//! `object_store` reads it: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION` (default `us-east-1`), `AWS_ENDPOINT_URL` (a non-AWS server),
//! `AWS_ALLOW_HTTP=true` (plain HTTP, e.g. a local server), `AWS_CONDITIONAL_PUT=disabled`
//! (a server without conditional writes), and the other `AWS_*` keys `object_store` knows.
//! Environment values override this crate's defaults ([`S3Options`]).
//!
//! # Layout
//!
//! The same as the fs store, below the prefix: each entry is one object at
//! `<prefix>/<Key::relative_path()>` holding the core's envelope (the 72-byte header of
//! [`checkpointer_core::envelope`], then the payload). A lease (see *Single flight*) is the
//! object `<entry>.lease`; listings skip it.
//!
//! # Behaviour
//!
//! - **Any executor**: every operation runs on the store's own tokio runtime (one per process,
//!   created on first use); callers only await a join handle, so sync functions (through the
//!   core's `block_on`), async functions under tokio or any other executor, and calls from
//!   inside another tokio runtime all work.
//! - **Atomic**: an entry is written by one PUT, or by a multipart upload that becomes visible
//!   only when completed, so readers see the old entry or the new one. Large entries are read
//!   in concurrent ranges pinned to one ETag (`If-Match`); if the entry is replaced mid-read
//!   the read starts over, so a load never mixes two versions.
//! - **Large values**: above [`S3Options::multipart_threshold`] an entry is uploaded as a
//!   multipart upload of [`S3Options::part_size`] parts, [`S3Options::concurrency`] at a
//!   time; reads fetch the first part and then the rest in concurrent ranged GETs.
//! - **Fails fast**: connections time out after [`S3Options::connect_timeout`], requests are
//!   retried [`S3Options::max_retries`] times within [`S3Options::retry_timeout`], and after a
//!   transport failure the store answers with an error at once for a cool-down (1 s, doubling
//!   up to [`S3Options::max_cooldown`]) instead of waiting on the network again; the first
//!   success ends it. Under `Layered` that makes an unreachable server a fast miss with one
//!   warning, and caching resumes by itself when the server is back.
//! - **Dates and listings**: `checkpoint_date` reads only the 72-byte header (a ranged GET);
//!   `exists` is a HEAD; `list` lists the scope's prefix and (unless
//!   [`S3Options::list_created`] is off) reads each entry's header, 16 at a time, for its
//!   created time.
//!
//! # Single flight across machines
//!
//! [`Storage::lock`] takes a lease: the object `<entry>.lease` created with a conditional PUT
//! (`If-None-Match: *`, object_store's [`PutMode::Create`](object_store::PutMode::Create)) holding its owner and an expiry
//! ([`S3Options::lease_ttl`], 30 s by default). While the guard lives, a background task
//! renews it every third of the TTL with a PUT conditional on the lease's ETag; dropping the
//! guard deletes it. Other callers poll (50 ms doubling to 1 s) until the entry appears, the
//! lease disappears, or the lease expires — judged by the expiry it carries, or by seeing the
//! same lease version unchanged for a whole TTL on their own clock, so a holder that died
//! blocks others for at most one TTL. An expired lease is taken over with a PUT conditional
//! on its ETag, so exactly one waiter wins.
//!
//! **Servers without conditional writes.** On first use the store checks that a second
//! conditional create of one object is refused. If the server ignores the condition, or
//! rejects conditional writes, or `AWS_CONDITIONAL_PUT=disabled` is set, the store prints one
//! warning and has no lock (`lock` returns `Ok(None)`): processes on different machines may
//! then compute the same value concurrently and each store it. That costs time, never
//! correctness: both write a complete entry for the same key, and the last one wins.

#![warn(missing_docs)]

mod lease;
mod open;
mod runtime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use checkpointer_core::{
    envelope, CheckpointError, Entry, EntryInfo, Key, KeyLock, Scope, Storage,
};
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
};
use std::fmt;
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The one error type of this crate. The `Storage` methods wrap it in
/// [`CheckpointError::Storage`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// The storage URL is not one of the forms [`S3Store::open`] takes.
    #[error("invalid object store URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client could not be configured (bad environment value, missing region, …).
    #[error("cannot configure the object store client: {0}")]
    Config(#[source] object_store::Error),
    /// The URL names an object store this build of the crate was compiled without.
    #[error("{url:?} needs the `{feature}` feature of checkpointer (or of checkpointer-store-s3), which this build lacks")]
    Feature {
        /// The URL as given.
        url: String,
        /// The Cargo feature to enable.
        feature: &'static str,
    },
    /// A request failed.
    #[error(transparent)]
    ObjectStore(#[from] object_store::Error),
    /// The store's I/O runtime could not be started.
    #[error("cannot start the S3 I/O runtime: {0}")]
    Runtime(String),
    /// An I/O task ended without an answer.
    #[error("{0}")]
    Task(String),
    /// The server failed recently; the store is not trying it again yet.
    #[error("{store} is unreachable ({last}); next attempt in {}", fmt_secs(*retry_in))]
    Unavailable {
        /// The store, for messages.
        store: String,
        /// The failure that started the cool-down.
        last: String,
        /// How long until the next attempt.
        retry_in: Duration,
    },
    /// An entry kept changing while it was read in ranges.
    #[error("{path} was replaced {attempts} times while it was being read")]
    Unstable {
        /// The object.
        path: String,
        /// How many reads were started.
        attempts: u32,
    },
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Tuning of an [`S3Store`]. Start from [`S3Options::default()`] and change fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct S3Options {
    /// Objects at least this large (envelope included) are uploaded in parts. Default 64 MiB
    /// (below it one PUT is as fast: measured in BENCHMARKS.md).
    pub multipart_threshold: usize,
    /// Size of an upload part and of a ranged read. Default 16 MiB (S3's minimum part is 5 MiB).
    pub part_size: usize,
    /// Parts uploaded or ranges read at once per entry. Default 8.
    pub concurrency: usize,
    /// How long a lease lasts without renewal. Default 30 s; renewed every third of it.
    pub lease_ttl: Duration,
    /// Longest pause between two looks at a held lease. Default 1 s.
    pub lease_poll_max: Duration,
    /// TCP connect timeout. Default 2 s.
    pub connect_timeout: Duration,
    /// Timeout of one request, body included. Default 30 s (parts keep requests small).
    pub request_timeout: Duration,
    /// Retries of a failed request. Default 2.
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt. Default 5 s.
    pub retry_timeout: Duration,
    /// Longest cool-down after transport failures, during which calls fail at once. Default 30 s.
    pub max_cooldown: Duration,
    /// Whether `list` reads each entry's header to report its created time. Default true.
    pub list_created: bool,
    /// The server's URL, overriding the environment's (`AWS_ENDPOINT_URL`,
    /// `AZURE_STORAGE_ENDPOINT`, `GOOGLE_BASE_URL`); `None`: the environment's, or the cloud's.
    pub endpoint: Option<String>,
    /// object_store configuration keys of the URL's store, applied over the environment and
    /// `endpoint`: `("aws_region", "eu-west-1")`, `("azure_storage_account_key", …)`,
    /// `("google_service_account_key", …)` — the names object_store's `*ConfigKey` types parse.
    pub config: Vec<(String, String)>,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            multipart_threshold: 64 << 20,
            part_size: 16 << 20,
            concurrency: 8,
            lease_ttl: Duration::from_secs(30),
            lease_poll_max: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            max_retries: 2,
            retry_timeout: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(30),
            list_created: true,
            endpoint: None,
            config: Vec::new(),
        }
    }
}

/// A checkpointer store in an S3 bucket (or any [`ObjectStore`]); see the crate documentation.
///
/// Cheap to clone: clones share the client, the cool-down state and the lease support check.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// `s3`, `gcs` or `azure`: the store's name.
    kind: &'static str,
    /// The key prefix as an object path (may be empty). Its characters are literal: a `%` or
    /// `#` in the URL's prefix is part of the object names, encoded as object_store encodes.
    pub(crate) root: Path,
    /// `s3://bucket/prefix`, for messages.
    pub(crate) url: String,
    pub(crate) options: S3Options,
    health: Mutex<Health>,
    /// Conditional-create support: 0 unknown, 1 yes, 2 no.
    pub(crate) conditional: AtomicU8,
    /// An id for this store's leases.
    pub(crate) owner: String,
}

#[derive(Default)]
struct Health {
    /// While `Some`, calls fail at once until the instant.
    down_until: Option<Instant>,
    cooldown: Duration,
    last: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Opens `s3://bucket[/prefix]`, `gs://bucket[/prefix]` (feature `gcs`) or
    /// `az://container[/prefix]` / `abfs[s]://…` (feature `azure`) with that store's standard
    /// environment (see the crate documentation) and default options.
    ///
    /// Does no network I/O: an unreachable server shows on the first operation.
    pub fn open(url: &str) -> Result<Self, S3Error> {
        Self::open_with(url, S3Options::default())
    }

    /// [`S3Store::open`] with explicit options.
    pub fn open_with(url: &str, options: S3Options) -> Result<Self, S3Error> {
        let loc = open::parse(url)?;
        let prefix = validate_prefix(loc.prefix).map_err(|reason| S3Error::Url {
            url: url.to_string(),
            reason,
        })?;
        let store = open::client(url, &loc, &options)?;
        let url = format!(
            "{}://{}/{}",
            loc.scheme,
            loc.authority,
            prefix_display(prefix)
        );
        Ok(Self::build(store, prefix, url, options, loc.kind.name()))
    }

    /// Whether `url` names an object store this crate opens (`s3://`, `s3a://`, `gs://`,
    /// `az://`, `abfs://`, `abfss://`), and the Cargo feature that store needs (`s3` for S3,
    /// which is always built; `gcs`; `azure`), whether or not this build has it.
    pub fn scheme_feature(url: &str) -> Option<&'static str> {
        let (scheme, _) = url.split_once("://")?;
        open::Kind::of_scheme(scheme).map(|k| k.feature())
    }

    /// A store over any [`ObjectStore`] (GCS, Azure, local files, a pre-configured S3 client),
    /// with its entries below `prefix`.
    pub fn from_object_store(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        options: S3Options,
    ) -> Result<Self, S3Error> {
        let prefix = validate_prefix(prefix).map_err(|reason| S3Error::Url {
            url: prefix.to_string(),
            reason,
        })?;
        let url = format!("{store}/{}", prefix_display(prefix));
        Ok(Self::build(store, prefix, url, options, "s3"))
    }

    fn build(
        store: Arc<dyn ObjectStore>,
        root: &str,
        url: String,
        mut options: S3Options,
        kind: &'static str,
    ) -> Self {
        options.part_size = options.part_size.max(5 << 20);
        options.multipart_threshold = options.multipart_threshold.max(options.part_size);
        options.concurrency = options.concurrency.max(1);
        let owner = format!(
            "{}-{}-{:016x}",
            hostname(),
            std::process::id(),
            fastrand::u64(..)
        );
        S3Store {
            inner: Arc::new(Inner {
                store,
                kind,
                root: Path::from(root),
                url,
                options,
                health: Mutex::new(Health::default()),
                conditional: AtomicU8::new(0),
                owner,
            }),
        }
    }

    /// `s3://bucket/prefix` (or the store's description and prefix).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.store
    }

    /// The object path of `key`'s entry.
    pub fn entry_path(&self, key: &Key) -> Path {
        self.inner.entry_path(key)
    }
}

fn validate_prefix(prefix: &str) -> Result<&str, String> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Ok(prefix);
    }
    Path::parse(prefix).map_err(|e| format!("bad prefix {prefix:?}: {e}"))?;
    Ok(prefix)
}

fn prefix_display(prefix: &str) -> &str {
    prefix
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string())
}

/// Whether an error says something about the object rather than about the server's health.
fn is_answer(e: &object_store::Error) -> bool {
    use object_store::Error as E;
    matches!(
        e,
        E::NotFound { .. }
            | E::AlreadyExists { .. }
            | E::Precondition { .. }
            | E::NotModified { .. }
            | E::NotImplemented { .. }
            | E::NotSupported { .. }
    )
}

impl Inner {
    pub(crate) fn entry_path(&self, key: &Key) -> Path {
        self.path(&key.relative_path())
    }

    pub(crate) fn path(&self, relative: &str) -> Path {
        // Joined as parts, so the root's encoding is not applied twice.
        self.root
            .parts()
            .chain(Path::from(relative).parts())
            .collect()
    }

    /// Fails at once while a cool-down is running.
    pub(crate) fn check_health(&self) -> Result<(), S3Error> {
        let h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match h.down_until {
            Some(until) if Instant::now() < until => Err(S3Error::Unavailable {
                store: self.url.clone(),
                last: h.last.clone(),
                retry_in: until - Instant::now(),
            }),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a request for the cool-down.
    pub(crate) fn note<T>(
        &self,
        r: Result<T, object_store::Error>,
    ) -> Result<T, object_store::Error> {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match &r {
            Ok(_) => {
                h.down_until = None;
                h.cooldown = Duration::ZERO;
            }
            Err(e) if is_answer(e) => h.down_until = None,
            Err(e) => {
                h.cooldown = (h.cooldown * 2).clamp(
                    Duration::from_secs(1),
                    self.options.max_cooldown.max(Duration::from_secs(1)),
                );
                h.down_until = Some(Instant::now() + h.cooldown);
                h.last = e.to_string();
            }
        }
        r
    }

    async fn put(
        &self,
        path: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<object_store::PutResult, object_store::Error> {
        self.note(self.store.put_opts(path, payload, opts).await)
    }

    pub(crate) async fn head(
        &self,
        path: &Path,
    ) -> Result<Option<object_store::ObjectMeta>, S3Error> {
        self.check_health()?;
        match self.note(self.store.head(path).await) {
            Ok(m) => Ok(Some(m)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn get_opts(
        &self,
        path: &Path,
        opts: GetOptions,
    ) -> Result<object_store::GetResult, object_store::Error> {
        self.note(self.store.get_opts(path, opts).await)
    }

    pub(crate) async fn delete_object(&self, path: &Path) -> Result<(), S3Error> {
        self.check_health()?;
        match self.note(self.store.delete(path).await) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn put_opts(
        &self,
        path: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<object_store::PutResult, S3Error> {
        self.check_health()?;
        Ok(self.put(path, payload, opts).await?)
    }

    async fn store_entry(&self, path: Path, entry: Entry) -> Result<(), S3Error> {
        self.check_health()?;
        let header = Bytes::copy_from_slice(&entry.envelope_header());
        let total = header.len() + entry.payload.len();
        let o = &self.options;
        if total < o.multipart_threshold {
            let payload = PutPayload::from_iter([header, entry.payload]);
            self.put(&path, payload, PutOptions::default()).await?;
            return Ok(());
        }
        let mut upload = self.note(
            self.store
                .put_multipart_opts(&path, PutMultipartOptions::default())
                .await,
        )?;
        // Part i covers bytes [i*part, (i+1)*part) of header ‖ payload, without copying.
        let part = o.part_size;
        let mut parts = Vec::with_capacity(total.div_ceil(part));
        let mut start = 0;
        while start < total {
            let end = (start + part).min(total);
            let chunk = if start == 0 {
                PutPayload::from_iter([header.clone(), entry.payload.slice(..end - header.len())])
            } else {
                PutPayload::from(
                    entry
                        .payload
                        .slice(start - header.len()..end - header.len()),
                )
            };
            parts.push(upload.put_part(chunk));
            start = end;
        }
        let uploaded: Result<Vec<()>, _> = futures_util::stream::iter(parts)
            .buffer_unordered(o.concurrency)
            .try_collect()
            .await;
        match self.note(uploaded) {
            Ok(_) => {
                self.note(upload.complete().await)?;
                Ok(())
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e.into())
            }
        }
    }

    async fn load_entry(&self, path: Path) -> Result<Option<Entry>, S3Error> {
        const ATTEMPTS: u32 = 5;
        for _ in 0..ATTEMPTS {
            self.check_health()?;
            let part = self.options.part_size as u64;
            let opts = GetOptions {
                range: Some(GetRange::Bounded(0..part)),
                ..Default::default()
            };
            let first = match self.get_opts(&path, opts).await {
                Ok(r) => r,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let size = first.meta.size;
            let e_tag = first.meta.e_tag.clone();
            let modified = SystemTime::from(first.meta.last_modified);
            if size <= part {
                let bytes = self.note(first.bytes().await)?;
                return Ok(Some(parse(&path, bytes, modified)));
            }
            // Larger: nothing is allocated for it before its header says it is that large.
            let mut body = first.into_stream();
            let mut head = BytesMut::new();
            while head.len() < envelope::HEADER_LEN {
                match body.next().await {
                    Some(chunk) => head.extend_from_slice(&self.note(chunk)?),
                    None => break,
                }
            }
            let framed =
                envelope::parse_header(&head).and_then(|(_, len)| envelope::check_size(len, size));
            if let Err(e) = framed {
                tracing::warn!(target: "checkpointer", %path, "damaged cache entry: {e}");
                return Ok(Some(Entry::damaged(modified)));
            }
            // The rest is fetched in ranges while the first part's body streams in.
            match self.read_all(&path, head.freeze(), body, size, e_tag).await {
                Ok(bytes) => return Ok(Some(parse(&path, bytes, modified))),
                Err(
                    object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
                ) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(S3Error::Unstable {
            path: path.to_string(),
            attempts: ATTEMPTS,
        })
    }

    /// Reads the whole object of `size` bytes (checked against its header): `read` (the start
    /// of the response to a ranged GET of its first part) and the rest of that body, and the
    /// other parts in concurrent ranged GETs, all pinned to `e_tag`.
    async fn read_all(
        &self,
        path: &Path,
        read: Bytes,
        first: futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
        size: u64,
        e_tag: Option<String>,
    ) -> Result<Bytes, object_store::Error> {
        let size = usize::try_from(size).map_err(|e| object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        })?;
        let part = self.options.part_size;
        if read.len() > part.min(size) {
            return Err(short_read(path, "longer"));
        }
        let mut buf = BytesMut::zeroed(size);
        let (head, rest) = buf.split_at_mut(part.min(size));
        head[..read.len()].copy_from_slice(&read);
        let head = &mut head[read.len()..];
        let mut reads = Vec::with_capacity(rest.len().div_ceil(part) + 1);
        reads.push(fill(path, first, head).boxed());
        for (i, dst) in rest.chunks_mut(part).enumerate() {
            let start = (part + i * part) as u64;
            reads.push(self.read_range(path, start, dst, e_tag.clone()).boxed());
        }
        let done: Result<Vec<()>, _> = futures_util::stream::iter(reads)
            .buffer_unordered(self.options.concurrency)
            .try_collect()
            .await;
        self.note(done)?;
        Ok(buf.freeze())
    }

    /// Reads `dst.len()` bytes at `start` into `dst`, if the object still has `e_tag`.
    async fn read_range(
        &self,
        path: &Path,
        start: u64,
        dst: &mut [u8],
        e_tag: Option<String>,
    ) -> Result<(), object_store::Error> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..start + dst.len() as u64)),
            if_match: e_tag,
            ..Default::default()
        };
        let stream = self.get_opts(path, opts).await?.into_stream();
        fill(path, stream, dst).await
    }

    /// An entry's listing, with its created time from its header; `None` if it is gone.
    async fn info(
        &self,
        key: Key,
        meta: object_store::ObjectMeta,
    ) -> Result<Option<EntryInfo>, S3Error> {
        Ok(self
            .created(&meta.location)
            .await?
            .map(|created| EntryInfo {
                key,
                size: meta.size,
                created: Some(created),
                accessed: None,
            }))
    }

    async fn created(&self, path: &Path) -> Result<Option<SystemTime>, S3Error> {
        self.check_health()?;
        let opts = GetOptions {
            range: Some(GetRange::Bounded(0..envelope::HEADER_LEN as u64)),
            ..Default::default()
        };
        let r = match self.get_opts(path, opts).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let modified = SystemTime::from(r.meta.last_modified);
        let bytes = self.note(r.bytes().await)?;
        // Damaged: the same created time `load` reports for it.
        Ok(Some(
            envelope::parse_header(&bytes).map_or(modified, |(meta, _)| meta.created),
        ))
    }

    async fn list_scope(self: Arc<Self>, scope: Scope) -> Result<Vec<EntryInfo>, S3Error> {
        self.check_health()?;
        let dir = scope.relative_dir();
        let prefix = Some(self.path(&dir)).filter(|p| !p.as_ref().is_empty());
        let metas: Vec<object_store::ObjectMeta> =
            self.note(self.store.list(prefix.as_ref()).try_collect().await)?;
        let strip = if self.root.as_ref().is_empty() {
            String::new()
        } else {
            format!("{}/", self.root)
        };
        let found: Vec<(Key, object_store::ObjectMeta)> = metas
            .into_iter()
            .filter_map(|m| {
                let rel = m.location.as_ref().strip_prefix(strip.as_str())?;
                if rel.ends_with(lease::SUFFIX) {
                    return None;
                }
                let key = Key::parse_relative_path(rel)?;
                scope.contains(&key).then_some((key, m))
            })
            .collect();
        if !self.options.list_created {
            return Ok(found
                .into_iter()
                .map(|(key, m)| EntryInfo {
                    key,
                    size: m.size,
                    created: None,
                    accessed: None,
                })
                .collect());
        }
        let reads: Vec<_> = found
            .into_iter()
            .map(|(key, m)| self.info(key, m))
            .collect();
        let infos: Vec<Option<EntryInfo>> = futures_util::stream::iter(reads)
            .buffer_unordered(16)
            .try_collect()
            .await?;
        Ok(infos.into_iter().flatten().collect())
    }
}

/// Copies a response body into `dst`, which it must fill exactly.
async fn fill(
    path: &Path,
    mut stream: futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
    dst: &mut [u8],
) -> Result<(), object_store::Error> {
    let mut at = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let end = at + chunk.len();
        if end > dst.len() {
            return Err(short_read(path, "longer"));
        }
        dst[at..end].copy_from_slice(&chunk);
        at = end;
    }
    if at != dst.len() {
        return Err(short_read(path, "shorter"));
    }
    Ok(())
}

fn short_read(path: &Path, what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: format!("a ranged read of {path} returned {what} than asked").into(),
    }
}

/// Parses an object into an entry. A damaged object (bad framing) loads as an entry that fails
/// [`Entry::verify`], as the fs store does, so the core warns, recomputes and overwrites it.
fn parse(path: &Path, bytes: Bytes, modified: SystemTime) -> Entry {
    Entry::from_envelope(bytes).unwrap_or_else(|e| {
        tracing::warn!(target: "checkpointer", %path, "damaged cache entry: {e}");
        Entry::damaged(modified)
    })
}

impl S3Store {
    fn storage_err(&self, op: &'static str) -> impl Fn(S3Error) -> CheckpointError {
        let kind = self.inner.kind;
        move |e| CheckpointError::storage(kind, op, e)
    }
}

#[async_trait]
impl Storage for S3Store {
    fn name(&self) -> &str {
        self.inner.kind
    }

    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        let inner = self.inner.clone();
        let path = inner.entry_path(key);
        runtime::run(async move { inner.store_entry(path, entry).await })
            .await
            .map_err(self.storage_err("store"))
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        let inner = self.inner.clone();
        let path = inner.entry_path(key);
        runtime::run(async move { inner.load_entry(path).await })
            .await
            .map_err(self.storage_err("load"))
    }

    async fn exists(&self, key: &Key) -> Result<bool, CheckpointError> {
        let inner = self.inner.clone();
        let path = inner.entry_path(key);
        runtime::run(async move { Ok(inner.head(&path).await?.is_some()) })
            .await
            .map_err(self.storage_err("check"))
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        let inner = self.inner.clone();
        let path = inner.entry_path(key);
        runtime::run(async move { inner.created(&path).await })
            .await
            .map_err(self.storage_err("stat"))
    }

    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        let inner = self.inner.clone();
        let path = inner.entry_path(key);
        runtime::run(async move {
            // S3 deletes answer the same whether or not the object was there.
            let there = inner.head(&path).await?.is_some();
            if there {
                inner.delete_object(&path).await?;
            }
            Ok(there)
        })
        .await
        .map_err(self.storage_err("delete"))
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        let inner = self.inner.clone();
        let scope = scope.clone();
        runtime::run(inner.list_scope(scope))
            .await
            .map_err(self.storage_err("list"))
    }

    async fn lock(&self, key: &Key) -> Result<Option<KeyLock>, CheckpointError> {
        let inner = self.inner.clone();
        let key = key.clone();
        runtime::run(lease::acquire(inner, key))
            .await
            .map_err(self.storage_err("lock"))
    }
}
