//! Attacks on the miss and hit paths made fast for issue 14: user code (`Serialize`, `Drop`
//! in a thread-local destructor, a panicking body) re-entering the cache while the core holds
//! per-thread buffers, flight state or the parent slot. Each must neither hang, abort, nor
//! mix one value's bytes into another's.

use checkpointer::checkpoint;
use serde::{Deserialize, Serialize, Serializer};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

fn dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

/// Runs `f` on a thread of its own and waits for it; `None` if it has not finished after a
/// minute (a deadlock: nothing here sleeps).
fn finishes<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}

// --- A value whose `Serialize` calls its own function with the same arguments ----------------

static SELF_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Serializing it asks `self_serializing` for the same key: the store of that very key is
/// what is running.
#[derive(Clone, Debug, PartialEq, Deserialize)]
struct AsksItself(u64);

impl Serialize for AsksItself {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let again = self_serializing(self.0);
        s.serialize_u64(again.0)
    }
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn self_serializing(x: u64) -> AsksItself {
    SELF_RUNS.fetch_add(1, Ordering::SeqCst);
    AsksItself(x)
}

#[test]
fn a_serialize_impl_calling_its_own_key_does_not_hang() {
    let got = finishes(|| self_serializing(5));
    assert_eq!(
        got,
        Some(AsksItself(5)),
        "the nested call waited for the store it is part of"
    );
}

// --- Nested encodes: a `Serialize` impl calling other cached functions ----------------------

static INNER_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(directory = dir(), verbosity = 0)]
fn inner_text(x: u64) -> String {
    INNER_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("inner-{x}-").repeat(x as usize % 7 + 1)
}

/// Serialized as its own text followed by what `inner_text` returns (a store of another
/// entry, and its encode, inside this one's encode).
#[derive(Clone, Debug, PartialEq)]
struct Outer(u64, String);

impl Serialize for Outer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.0)?;
        // Fresh keys every time, so the inner call misses and stores.
        t.serialize_element(&inner_text(
            self.0 * 1000 + INNER_RUNS.load(Ordering::SeqCst) as u64,
        ))?;
        t.serialize_element(&self.1)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Outer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (n, _inner, text): (u64, String, String) = Deserialize::deserialize(d)?;
        Ok(Outer(n, text))
    }
}

#[checkpoint(directory = dir(), verbosity = 0)]
fn outer(x: u64) -> Outer {
    Outer(x, "o".repeat(x as usize * 37))
}

#[test]
fn nested_encodes_keep_their_bytes_apart() {
    for x in 0..150u64 {
        let first = outer(x);
        assert_eq!(first, Outer(x, "o".repeat(x as usize * 37)));
        // Read back from the file: the bytes stored are this value's alone.
        let back = outer::get(x).unwrap();
        assert_eq!(back, first, "{x}");
    }
}

// --- Cached calls from a thread-local destructor --------------------------------------------

static TEARDOWN_RUNS: AtomicU64 = AtomicU64::new(0);

#[checkpoint(storage = "memory", verbosity = 0)]
fn at_teardown_mem(x: u64) -> Vec<u64> {
    TEARDOWN_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![x; 3]
}

#[checkpoint(directory = dir(), verbosity = 0)]
fn at_teardown_fs(x: u64) -> Vec<u64> {
    TEARDOWN_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![x; 4]
}

#[checkpoint(storage = "memory", verbosity = 0)]
async fn at_teardown_async(x: u64) -> u64 {
    x + 1
}

static TEARDOWN_OK: AtomicBool = AtomicBool::new(false);

/// Calls cached functions (hits and misses, sync and async) when dropped.
struct CallsOnDrop;

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        let ok = at_teardown_mem(1) == vec![1; 3]
            && at_teardown_mem(2) == vec![2; 3]
            && at_teardown_mem(1_000_001) == vec![1_000_001; 3]
            && at_teardown_fs(1) == vec![1; 4]
            && at_teardown_fs(1_000_002) == vec![1_000_002; 4]
            && checkpointer::backend::block_on(at_teardown_async(7)) == 8;
        TEARDOWN_OK.store(ok, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: CallsOnDrop = const { CallsOnDrop };
}

/// Remembered by the thread's decoded-value tables; dropping one (also when those tables are
/// destroyed at thread exit) calls a cached function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct DropsLoudly(u64);

impl Drop for DropsLoudly {
    fn drop(&mut self) {
        assert_eq!(at_teardown_mem(self.0 + 500), vec![self.0 + 500; 3]);
    }
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn remembered_at_exit(x: u64) -> DropsLoudly {
    DropsLoudly(x)
}

/// Run in a process of its own by the test below: a panic in a thread-local destructor
/// aborts the process.
#[test]
#[ignore = "run by cached_calls_in_thread_local_destructors_work"]
fn teardown_child() {
    std::thread::spawn(|| {
        // Registered first, so destroyed last: after every thread-local of the cache.
        ON_EXIT.with(|_| {});
        assert_eq!(at_teardown_mem(1), vec![1; 3]);
        assert_eq!(at_teardown_mem(1), vec![1; 3]);
        assert_eq!(at_teardown_fs(1), vec![1; 4]);
        assert_eq!(at_teardown_fs(1), vec![1; 4]);
        assert_eq!(checkpointer::backend::block_on(at_teardown_async(7)), 8);
        for _ in 0..3 {
            for x in 0..100 {
                assert_eq!(remembered_at_exit(x), DropsLoudly(x));
            }
        }
    })
    .join()
    .unwrap();
    assert!(
        TEARDOWN_OK.load(Ordering::SeqCst),
        "a call at teardown went wrong"
    );
}

#[test]
fn cached_calls_in_thread_local_destructors_work() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "teardown_child", "--ignored", "--nocapture"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

// --- A panicking body leaves nothing behind -------------------------------------------------

static PANICS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(storage = "memory", verbosity = 0)]
fn panics_once(x: u64) -> u64 {
    if PANICS.fetch_add(1, Ordering::SeqCst) == 0 {
        panic!("the first run panics");
    }
    x * 11
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn calls_the_panicker(x: u64) -> (u64, u64) {
    let inner = std::panic::catch_unwind(|| panics_once(x)).unwrap_or(0);
    (inner, panics_once(x))
}

#[test]
fn a_panicking_nested_body_releases_its_flight_and_parent() {
    let got = finishes(|| calls_the_panicker(3));
    assert_eq!(got, Some((0, 33)));
    assert_eq!(panics_once(3), 33);
    assert_eq!(PANICS.load(Ordering::SeqCst), 2);
}

// --- Single flight on a stack, bodies that return at once ---------------------------------

fn stack_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

static STACK_RUNS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

#[checkpoint(storage = "memory,fs", directory = stack_dir(), verbosity = 0)]
fn stacked_instant(x: u32) -> u64 {
    STACK_RUNS.lock().unwrap().push(x);
    u64::from(x) * 3
}

/// Four threads over the same 1 500 fresh keys of a `memory,fs` stack (whose leader always
/// loads again under the fs lock): each key's body runs once.
#[test]
fn four_threads_racing_fresh_keys_on_a_stack_run_each_once() {
    const KEYS: u32 = 1_500;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                for i in 0..KEYS {
                    // Half the threads go up, half down: they meet on every key.
                    let x = if t % 2 == 0 { i } else { KEYS - 1 - i };
                    assert_eq!(stacked_instant(x), u64::from(x) * 3);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut runs = STACK_RUNS.lock().unwrap().clone();
    runs.sort_unstable();
    let n = runs.len();
    runs.dedup();
    assert_eq!(runs.len(), KEYS as usize);
    assert_eq!(n, KEYS as usize, "{} extra runs", n - KEYS as usize);
}

// --- A re-entry at thread exit --------------------------------------------------------------

static SELF_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Calls itself with the same arguments once: a re-entry, computed without the cache.
#[checkpoint(storage = "memory", verbosity = 0)]
fn calls_itself(x: u64) -> u64 {
    if SELF_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        calls_itself(x) + 1
    } else {
        x
    }
}

struct ReentersOnDrop;

impl Drop for ReentersOnDrop {
    fn drop(&mut self) {
        TEARDOWN_OK.store(calls_itself(40) == 41, Ordering::SeqCst);
    }
}

thread_local! {
    static REENTERS: ReentersOnDrop = const { ReentersOnDrop };
}

#[test]
#[ignore = "run by a_reentry_at_thread_exit_does_not_hang"]
fn reentry_child() {
    std::thread::spawn(|| {
        REENTERS.with(|_| {});
        // The cache's thread-locals, made after (so destroyed before) the one above.
        assert_eq!(at_teardown_mem(3), vec![3; 3]);
        assert_eq!(calls_itself(0), 1);
        SELF_CALLS.store(0, Ordering::SeqCst);
    })
    .join()
    .unwrap();
    assert!(TEARDOWN_OK.load(Ordering::SeqCst));
}

#[test]
fn a_reentry_at_thread_exit_does_not_hang() {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "reentry_child", "--ignored"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = finishes(move || child.wait_with_output().unwrap());
    if status.is_none() {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    let out = status.expect("the re-entry at thread exit hung");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- Single flight of async callers, bodies that return at once -----------------------------

static ASYNC_FAST_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(storage = "memory", verbosity = 0)]
async fn async_fast(x: u64) -> u64 {
    ASYNC_FAST_RUNS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

/// Four tasks on four worker threads walk the same 20 000 fresh keys in the same order (so
/// they meet on every key): each key's body runs once.
#[test]
fn four_tasks_racing_fresh_keys_run_each_once() {
    const KEYS: u64 = 20_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    rt.block_on(async {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(4));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let b = barrier.clone();
                tokio::spawn(async move {
                    b.wait().await;
                    for k in 0..KEYS {
                        assert_eq!(async_fast(k).await, k + 1);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(ASYNC_FAST_RUNS.load(Ordering::SeqCst) as u64, KEYS);
}

// --- Eviction racing misses on a store of two entries ---------------------------------------

fn two_entries() -> checkpointer::backend::MemoryStore {
    checkpointer::backend::MemoryStore::new(checkpointer_store_mem::MemoryLimits {
        max_bytes: 1 << 20,
        max_entries: 2,
    })
}

static TINY_RUNS: AtomicU64 = AtomicU64::new(0);

#[checkpoint(storage = two_entries(), verbosity = 0)]
fn on_two_entries(x: u64) -> (u64, u64) {
    (x, TINY_RUNS.fetch_add(1, Ordering::SeqCst))
}

/// Four threads over few keys of a store that keeps two: entries are evicted between every
/// miss, store and reload. Every answer is its own key's, and never older than one the same
/// thread saw before for that key (runs of one key are single-flight, so they are stored in
/// order: an older one coming back would be a stale hit, say from the argument table).
#[test]
fn eviction_racing_misses_answers_each_key_with_its_own_value() {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut newest = [0u64; 5];
                for i in 0..20_000u64 {
                    let x = (i * 7 + t) % 5;
                    let (got, run) = on_two_entries(x);
                    assert_eq!(got, x);
                    let seen = &mut newest[x as usize];
                    assert!(run >= *seen, "key {x}: run {run} after run {seen}");
                    *seen = run;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
