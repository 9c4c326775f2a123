//! Regression tests for issue 9: keys that never collide, calls that never hang, bytes that
//! never panic. Each test names the finding it pins; each failed before its fix.

use checkpointer::{checkpoint, CheckpointError, Checkpointer};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

fn dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

/// Runs `f` on its own thread and fails the test if it has not returned within 60 s: a
/// hang shows as a failure, not as a stuck test run.
fn within_timeout<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} hung (no result within 60 s)"))
}

// ---- Finding 1: exact OS bytes for paths and env values -------------------------------

static PATH_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(directory = dir(), verbosity = 0)]
fn name_bytes(p: &Path) -> Vec<u8> {
    PATH_RUNS.fetch_add(1, Ordering::SeqCst);
    p.as_os_str().as_encoded_bytes().to_vec()
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_differing_in_one_byte_have_their_own_entries() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let a = Path::new(OsStr::from_bytes(b"/data/run-\xff.csv"));
    let b = Path::new(OsStr::from_bytes(b"/data/run-\xfe.csv"));
    assert_eq!(name_bytes(a), b"/data/run-\xff.csv");
    assert_eq!(name_bytes(b), b"/data/run-\xfe.csv", "a stale hit");
    assert_eq!(PATH_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(name_bytes(a), b"/data/run-\xff.csv");
    assert_eq!(PATH_RUNS.load(Ordering::SeqCst), 2);
}

#[checkpoint(directory = dir(), verbosity = 0, env("CHECKPOINTER_ADV_BYTES"))]
fn env_bytes() -> Vec<u8> {
    std::env::var_os("CHECKPOINTER_ADV_BYTES")
        .map(|v| v.as_encoded_bytes().to_vec())
        .unwrap_or_default()
}

#[cfg(unix)]
#[test]
fn non_utf8_env_values_differing_in_one_byte_have_their_own_entries() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    std::env::set_var("CHECKPOINTER_ADV_BYTES", OsStr::from_bytes(b"v\xff"));
    assert_eq!(env_bytes(), b"v\xff");
    std::env::set_var("CHECKPOINTER_ADV_BYTES", OsStr::from_bytes(b"v\xfe"));
    assert_eq!(env_bytes(), b"v\xfe", "a stale hit");
}

// ---- Finding 2: injective names, the same in every backend ------------------------------

#[checkpoint(using = Checkpointer::static_identity(), directory = dir(), verbosity = 0)]
fn größe(x: u32) -> String {
    format!("größe {x}")
}

#[allow(non_snake_case)]
#[checkpoint(using = Checkpointer::static_identity(), directory = dir(), verbosity = 0)]
fn gr__e(x: u32) -> String {
    format!("gr__e {x}")
}

#[checkpoint(using = Checkpointer::static_identity(), storage = "memory", verbosity = 0)]
fn größe_mem(x: u32) -> String {
    format!("größe {x}")
}

#[test]
fn names_that_sanitized_alike_never_share_entries() {
    assert_eq!(größe(1), "größe 1");
    assert_eq!(gr__e(1), "gr__e 1", "a stale hit from another function");
    assert_eq!(größe(1), "größe 1");
    assert_ne!(größe::handle().path().dir(), gr__e::handle().path().dir());
    assert_eq!(größe_mem(1), "größe 1");
}

// ---- Finding 3: re-entry on the same key never hangs ------------------------------------

static DEPTH_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A retry counter that is not hashed: every level has the same key.
#[checkpoint(storage = "memory", verbosity = 0)]
fn countdown(n: u64, #[no_hash] depth: u32) -> u64 {
    DEPTH_RUNS.fetch_add(1, Ordering::SeqCst);
    if depth < 3 {
        countdown(n, depth + 1) + 1
    } else {
        n
    }
}

#[test]
fn sync_reentry_computes_instead_of_hanging() {
    assert_eq!(within_timeout("sync re-entry", || countdown(10, 0)), 13);
    assert_eq!(DEPTH_RUNS.load(Ordering::SeqCst), 4);
    // The outermost value is what is cached.
    assert_eq!(countdown(10, 0), 13);
    assert_eq!(DEPTH_RUNS.load(Ordering::SeqCst), 4);
}

#[checkpoint(storage = "memory", verbosity = 0)]
async fn countdown_async(n: u64, #[no_hash] depth: u32) -> u64 {
    if depth < 3 {
        Box::pin(countdown_async(n, depth + 1)).await + 1
    } else {
        n
    }
}

#[test]
fn async_reentry_computes_instead_of_hanging() {
    let current = within_timeout("async re-entry (current thread)", || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(countdown_async(20, 0))
    });
    assert_eq!(current, 23);
    let multi = within_timeout("async re-entry (multi thread)", || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { tokio::spawn(countdown_async(30, 0)).await.unwrap() })
    });
    assert_eq!(multi, 33);
    let executor = within_timeout("async re-entry (futures executor)", || {
        futures_executor::block_on(countdown_async(40, 0))
    });
    assert_eq!(executor, 43);
}

/// The cached call runs the body, which goes through `::uncached` back to the cached call.
#[checkpoint(storage = "memory", verbosity = 0)]
fn ping(n: u64, #[no_hash] depth: u32) -> u64 {
    match depth {
        0 => ping::uncached(n, 1),
        1 => ping(n, 2) + 100,
        _ => n,
    }
}

#[test]
fn reentry_through_uncached_computes_instead_of_hanging() {
    assert_eq!(within_timeout("re-entry via uncached", || ping(5, 0)), 105);
}

/// `rerun` inside its own computation on the fs store: its cross-process lock is held by the
/// outer call, and an OS file lock taken again through another descriptor waits forever.
#[checkpoint(directory = dir(), verbosity = 0)]
fn rerun_inside(n: u64, #[no_hash] depth: u32) -> u64 {
    if depth == 0 {
        rerun_inside::rerun(n, 1) * 2
    } else {
        n
    }
}

#[test]
fn rerun_inside_its_own_computation_does_not_deadlock_on_the_lock() {
    assert_eq!(within_timeout("re-entrant rerun", || rerun_inside(4, 0)), 8);
}

#[derive(Debug)]
enum AppError {
    Cache(CheckpointError),
}

impl From<CheckpointError> for AppError {
    fn from(e: CheckpointError) -> Self {
        AppError::Cache(e)
    }
}

#[checkpoint(storage = "memory", verbosity = 0, on_error = "raise")]
fn strict(n: u64, #[no_hash] depth: u32) -> Result<u64, AppError> {
    if depth == 0 {
        strict(n, 1)
    } else {
        Ok(n)
    }
}

#[test]
fn reentry_under_raise_is_an_error() {
    let r = within_timeout("re-entry under raise", || strict(3, 0));
    assert!(
        matches!(r, Err(AppError::Cache(CheckpointError::Reentrant { .. }))),
        "{r:?}"
    );
}

// ---- Finding 6: exists means a valid entry ----------------------------------------------

#[checkpoint(directory = dir(), verbosity = 0)]
fn stored_text(x: u32) -> String {
    format!("value {x}")
}

fn entry_path<F: Fn(u32) -> checkpointer::Digest>(
    h: &checkpointer::CachedFn,
    call: F,
    x: u32,
) -> PathBuf {
    let key = checkpointer::backend::Key {
        function: h.path(),
        identity: h.identity(),
        call: call(x),
    };
    dir().join(key.relative_path())
}

#[test]
fn exists_says_no_to_a_damaged_entry() {
    assert_eq!(stored_text(1), "value 1");
    assert!(stored_text::exists(1).unwrap());
    let path = entry_path(stored_text::handle(), stored_text::call_hash, 1);
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert!(stored_text::get(1).is_err());
    assert!(
        !stored_text::exists(1).unwrap(),
        "exists on a damaged entry"
    );
    // Garbage where the header should be.
    std::fs::write(&path, b"not an entry at all").unwrap();
    assert!(!stored_text::exists(1).unwrap());
    // A recomputation repairs it.
    assert_eq!(stored_text(1), "value 1");
    assert!(stored_text::exists(1).unwrap());
}

// ---- Finding 7: what cannot be read back is not stored ----------------------------------

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
enum Nest {
    Leaf,
    Node(Box<Nest>),
}

static NEST_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(directory = dir(), verbosity = 0)]
fn deep(depth: u32) -> Nest {
    NEST_RUNS.fetch_add(1, Ordering::SeqCst);
    let mut n = Nest::Leaf;
    for _ in 0..depth {
        n = Nest::Node(Box::new(n));
    }
    n
}

#[test]
fn values_nested_deeper_than_decoding_allows_are_not_stored() {
    let v = deep(400);
    assert!(matches!(v, Nest::Node(_)));
    let stats = deep::handle().stats().unwrap();
    assert_eq!(
        stats.current.entries, 0,
        "an entry that can never be decoded was stored"
    );
    // A shallow value is stored and read back.
    assert_eq!(deep(3), deep(3));
    assert_eq!(deep::handle().stats().unwrap().current.entries, 1);
}

// ---- Finding 8: files(...) sees a rewrite whose mtime was restored ----------------------

const STAMPED: &str = "target/checkpointer-adversarial-files.txt";

#[checkpoint(directory = dir(), verbosity = 0, files("target/checkpointer-adversarial-files.txt"))]
fn read_stamped() -> String {
    std::fs::read_to_string(STAMPED).unwrap()
}

#[test]
fn files_see_an_equal_size_rewrite_with_restored_mtime() {
    std::fs::create_dir_all("target").unwrap();
    std::fs::write(STAMPED, "version one").unwrap();
    let mtime = std::fs::metadata(STAMPED).unwrap().modified().unwrap();
    // Old enough that its stamp is trusted (not "racy").
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(read_stamped(), "version one");
    assert_eq!(read_stamped(), "version one");
    // `cp -p` / `tar -x`: new content of the same size, the old mtime put back.
    std::fs::write(STAMPED, "version two").unwrap();
    std::fs::File::options()
        .write(true)
        .open(STAMPED)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(
        std::fs::metadata(STAMPED).unwrap().modified().unwrap(),
        mtime
    );
    assert_eq!(read_stamped(), "version two", "a stale hit");
    // And a rewrite right after hashing (within one timestamp tick) is seen too.
    std::fs::write(STAMPED, "version tri").unwrap();
    std::fs::File::options()
        .write(true)
        .open(STAMPED)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(read_stamped(), "version tri", "a stale hit");
}

// ---- Finding 10: rerun waits for the leader; waiters after an Err retry together --------

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static MAX_ACTIVE: AtomicUsize = AtomicUsize::new(0);

fn enter() -> impl Drop {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            ACTIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let now = ACTIVE.fetch_add(1, Ordering::SeqCst) + 1;
    MAX_ACTIVE.fetch_max(now, Ordering::SeqCst);
    Leave
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn exclusive(x: u64) -> u64 {
    let _in = enter();
    std::thread::sleep(Duration::from_millis(300));
    x + 1
}

#[test]
fn rerun_waits_for_a_computation_in_flight() {
    let leader = std::thread::spawn(|| exclusive(1));
    while ACTIVE.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let rerun = std::thread::spawn(|| exclusive::rerun(1));
    assert_eq!(leader.join().unwrap(), 2);
    assert_eq!(rerun.join().unwrap(), 2);
    assert_eq!(
        MAX_ACTIVE.load(Ordering::SeqCst),
        1,
        "rerun computed beside the leader"
    );
}

static ERR_ACTIVE: AtomicUsize = AtomicUsize::new(0);
static ERR_MAX: AtomicUsize = AtomicUsize::new(0);
static ERR_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(storage = "memory", verbosity = 0)]
fn flaky(x: u64) -> Result<u64, String> {
    let now = ERR_ACTIVE.fetch_add(1, Ordering::SeqCst) + 1;
    ERR_MAX.fetch_max(now, Ordering::SeqCst);
    let first = ERR_RUNS.fetch_add(1, Ordering::SeqCst) == 0;
    std::thread::sleep(Duration::from_millis(if first { 300 } else { 500 }));
    ERR_ACTIVE.fetch_sub(1, Ordering::SeqCst);
    Err(format!("failed {x}"))
}

#[test]
fn waiters_after_an_err_retry_together_not_one_by_one() {
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                flaky(9)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Err("failed 9".to_string()));
    }
    assert_eq!(ERR_RUNS.load(Ordering::SeqCst), 4, "an Err is never cached");
    assert!(
        ERR_MAX.load(Ordering::SeqCst) >= 2,
        "waiters retried one after another"
    );
}

#[test]
fn the_tmp_preset_is_per_user() {
    let resolved = Checkpointer::tmp()
        .resolve(checkpointer::backend::open_tier)
        .unwrap();
    let shared = std::env::temp_dir().join("checkpoints");
    assert_ne!(resolved.settings.directory, shared);
    assert!(resolved
        .settings
        .directory
        .starts_with(std::env::temp_dir()));
}

// ---- Finding 12: a lower-tier hit is verified once, and a damaged one is still a miss ---

#[test]
fn layered_verifies_lower_tiers_itself_and_never_passes_on_damage() {
    use checkpointer::backend::{block_on, Codec, Entry, FnPath, Key, Layered};
    use checkpointer::{Digest, Storage};
    use checkpointer_store_fs::FsStore;
    use checkpointer_store_mem::MemoryStore;
    let root = tempfile::tempdir().unwrap();
    let fs: Arc<dyn Storage> = Arc::new(FsStore::new(root.path()));
    let tiers = Layered::new(vec![Arc::new(MemoryStore::default()), fs.clone()]);
    // The core skips its own checksum for what Layered returns: Layered checked it.
    assert!(tiers.trusted());
    let key = Key {
        function: Arc::new(FnPath::from_module_path("adv", "f")),
        identity: Digest::of_bytes(b"id"),
        call: Digest::of_bytes(b"call"),
    };
    block_on(fs.store(&key, Entry::new(Codec::Cbor, "payload".into()))).unwrap();
    let path = root.path().join(key.relative_path());
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let loaded = block_on(tiers.load(&key)).unwrap().unwrap();
    assert!(loaded.is_damaged(), "a damaged payload passed as trusted");
    // The damaged copy was not promoted into the memory tier.
    let top = tiers.tiers().next().unwrap();
    assert!(block_on(top.load(&key)).unwrap().is_none());
}

// ---- Finding 4: valid bodies compile; probes see the body's own imports -----------------

mod limits {
    pub const LIMIT: u32 = 7;
    pub const SCALE: u32 = 3;
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn limited(x: u32) -> u32 {
    use crate::limits::LIMIT;
    x.min(LIMIT)
}

#[checkpoint(using = Checkpointer::capture().storage_spec("memory").verbosity(0))]
fn limited_captured(x: u32) -> u32 {
    use crate::limits::{LIMIT, SCALE as FACTOR};
    x.min(LIMIT) * FACTOR
}

#[checkpoint(using = Checkpointer::capture().storage_spec("memory").verbosity(0))]
fn limited_glob(x: u32) -> u32 {
    use crate::limits::*;
    x.min(LIMIT) + SCALE
}

#[checkpoint(using = Checkpointer::capture().storage_spec("memory").verbosity(0))]
fn limited_local(x: u32) -> u32 {
    mod inner {
        pub const K: u32 = 2;
    }
    use inner::K;
    {
        use crate::limits::SCALE;
        x * K + SCALE
    }
}

#[test]
fn bodies_with_local_use_compile_and_run() {
    assert_eq!(limited(10), 7);
    assert_eq!(limited_captured(10), 21);
    assert_eq!(limited_glob(1), 4);
    assert_eq!(limited_local(5), 13);
    // Under the capture preset, the imported consts are part of the call hash.
    let mut plain = checkpointer::Hasher::new();
    checkpointer::ObjectHash::object_hash(&10u32, &mut plain);
    assert_ne!(
        limited_captured::call_hash(10),
        limited_captured::handle().call_hash(plain)
    );
}
