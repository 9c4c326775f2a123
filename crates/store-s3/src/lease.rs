//! Leases: single flight across machines through conditional PUTs (see the crate docs).

use crate::{runtime, Inner, S3Error};
use checkpointer_core::{Key, KeyLock};
use object_store::path::Path;
use object_store::{PutMode, PutOptions, PutPayload, UpdateVersion};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a lease object's name adds to its entry's.
pub(crate) const SUFFIX: &str = ".lease";

const SUPPORTED: u8 = 1;
const UNSUPPORTED: u8 = 2;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn body(owner: &str, ttl: Duration) -> PutPayload {
    PutPayload::from(format!(
        "checkpointer lease\nowner={owner}\nexpires_ms={}\n",
        now_ms() + ttl.as_millis()
    ))
}

fn create() -> PutOptions {
    PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    }
}

fn update(e_tag: Option<String>, version: Option<String>) -> PutOptions {
    PutOptions {
        mode: PutMode::Update(UpdateVersion { e_tag, version }),
        ..Default::default()
    }
}

fn refused(e: &S3Error) -> bool {
    matches!(
        e,
        S3Error::ObjectStore(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }
        )
    )
}

fn unsupported(e: &S3Error) -> bool {
    matches!(
        e,
        S3Error::ObjectStore(
            object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }
        )
    )
}

/// Records that this store has no conditional writes, warning once.
fn no_conditional_writes(inner: &Inner, why: &str) {
    if inner.conditional.swap(UNSUPPORTED, Ordering::Relaxed) != UNSUPPORTED {
        let msg = format!(
            "{} does not support conditional writes ({why}); computing without a cross-machine lock, so machines may compute the same value concurrently",
            inner.url
        );
        tracing::warn!(target: "checkpointer", "{msg}");
        checkpointer_core::warn_line(&msg);
    }
}

/// Checks once per store (state 0: not yet known) that the server refuses a second conditional create of one object.
async fn supports_conditional_writes(inner: &Inner) -> Result<bool, S3Error> {
    match inner.conditional.load(Ordering::Relaxed) {
        SUPPORTED => return Ok(true),
        UNSUPPORTED => return Ok(false),
        _ => {}
    }
    let probe = inner.path(&format!(".checkpointer/probe-{}{SUFFIX}", inner.owner));
    let first = inner
        .put_opts(&probe, PutPayload::from_static(b"probe"), create())
        .await;
    let verdict = match first {
        Ok(_) => match inner
            .put_opts(&probe, PutPayload::from_static(b"probe"), create())
            .await
        {
            Err(e) if refused(&e) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) if unsupported(&e) => Ok(false),
            Err(e) => Err(e),
        },
        Err(e) if unsupported(&e) => Ok(false),
        Err(e) => Err(e),
    };
    let _ = inner.delete_object(&probe).await;
    match verdict? {
        true => {
            inner.conditional.store(SUPPORTED, Ordering::Relaxed);
            Ok(true)
        }
        false => {
            no_conditional_writes(
                inner,
                "a conditional create of an existing object succeeded or was rejected",
            );
            Ok(false)
        }
    }
}

/// Takes the lease of `key`, waiting while another process holds it (see the crate docs).
pub(crate) async fn acquire(inner: Arc<Inner>, key: Key) -> Result<Option<KeyLock>, S3Error> {
    inner.check_health()?;
    if !supports_conditional_writes(&inner).await? {
        return Ok(None);
    }
    let entry = inner.entry_path(&key);
    let lease = Path::from(format!("{entry}{SUFFIX}"));
    let ttl = inner.options.lease_ttl;
    let mut pause = Duration::from_millis(50);
    // The lease version seen and since when: unchanged for a whole TTL means its holder is gone,
    // whatever the clocks of the machines say.
    let mut seen: Option<(Option<String>, Instant)> = None;
    loop {
        match inner
            .put_opts(&lease, body(&inner.owner, ttl), create())
            .await
        {
            Ok(r) => return Ok(Some(Lease::start(inner, lease, r.e_tag, r.version)?)),
            Err(e) if refused(&e) => {}
            Err(e) if unsupported(&e) => {
                no_conditional_writes(&inner, &e.to_string());
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        // Someone holds it.
        let Some(held) = inner.head(&lease).await? else {
            continue;
        };
        let (e_tag, version) = (held.e_tag.clone(), held.version.clone());
        // Done already? Only an entry written since the lease was last renewed (both times
        // are the server's) is its holder's result; an older one (expired, damaged, the
        // value being recomputed) must not let this caller compute unleased.
        if let Some(done) = inner.head(&entry).await? {
            if done.last_modified >= held.last_modified {
                return Ok(Some(KeyLock::new(())));
            }
        }
        // The expiry the holder wrote is on the holder's clock: a waiter whose clock runs
        // ahead would take over a live lease. Only the waiter's own clock decides: a lease
        // whose version stays unchanged for a whole TTL (its holder renews every third of
        // one) is dead.
        let stale = match &seen {
            Some((tag, since)) if *tag == e_tag => since.elapsed() >= ttl,
            _ => {
                seen = Some((e_tag.clone(), Instant::now()));
                false
            }
        };
        if stale {
            // Take it over, conditional on the version we judged: one waiter wins.
            match inner
                .put_opts(&lease, body(&inner.owner, ttl), update(e_tag, version))
                .await
            {
                Ok(r) => {
                    tracing::debug!(target: "checkpointer", %lease, "took over an expired lease");
                    return Ok(Some(Lease::start(inner, lease, r.e_tag, r.version)?));
                }
                Err(e) if refused(&e) => continue,
                Err(e) if unsupported(&e) => {
                    // No conditional update: remove the dead lease and race on create again.
                    inner.delete_object(&lease).await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let jitter = Duration::from_millis(fastrand::u64(0..=pause.as_millis() as u64 / 4));
        tokio::time::sleep(pause + jitter).await;
        pause = (pause * 2).min(inner.options.lease_poll_max);
    }
}

/// A held lease: renewed in the background, deleted on drop.
struct Lease {
    inner: Arc<Inner>,
    path: Path,
    version: Arc<Mutex<(Option<String>, Option<String>)>>,
    renewal: tokio::task::JoinHandle<()>,
}

impl Lease {
    fn start(
        inner: Arc<Inner>,
        path: Path,
        e_tag: Option<String>,
        version: Option<String>,
    ) -> Result<KeyLock, S3Error> {
        let current = Arc::new(Mutex::new((e_tag, version)));
        let renewal = runtime::handle()?.spawn(renew(inner.clone(), path.clone(), current.clone()));
        Ok(KeyLock::new(Lease {
            inner,
            path,
            version: current,
            renewal,
        }))
    }
}

async fn renew(
    inner: Arc<Inner>,
    path: Path,
    current: Arc<Mutex<(Option<String>, Option<String>)>>,
) {
    let ttl = inner.options.lease_ttl;
    loop {
        tokio::time::sleep(ttl / 3).await;
        let (e_tag, version) = current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match inner
            .put_opts(&path, body(&inner.owner, ttl), update(e_tag, version))
            .await
        {
            Ok(r) => *current.lock().unwrap_or_else(PoisonError::into_inner) = (r.e_tag, r.version),
            Err(e) if refused(&e) => {
                tracing::warn!(target: "checkpointer", %path, "lost the lease (another process took it over after it expired)");
                return;
            }
            Err(e) => {
                tracing::warn!(target: "checkpointer", %path, "could not renew the lease: {e}")
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        let Ok(handle) = runtime::handle() else {
            return;
        };
        let (inner, path) = (self.inner.clone(), self.path.clone());
        let ours = self
            .version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone();
        // Released in the background: dropping a guard never blocks its thread (often an
        // executor's). A lease a process leaves behind by exiting first costs nothing when it
        // stored its value (waiters see an entry newer than the lease) and one TTL otherwise.
        handle.spawn(async move {
            // Delete only our own lease, not one taken over after ours expired.
            if let Ok(Some(meta)) = inner.head(&path).await {
                if ours.is_none() || meta.e_tag == ours {
                    let _ = inner.delete_object(&path).await;
                }
            }
        });
    }
}
