//! Byte-range key locks (64-bit Linux) under attack: nested locks of colliding keys, real
//! processes (exclusion, a holder killed mid-hold), abandoned waits on many keys (no leaked
//! descriptors or threads), a lock file that cannot be opened, and stores that lock the two
//! ways on one root (no exclusion between them: a computation may run twice, an entry is
//! never torn).
#![cfg(all(target_os = "linux", target_pointer_width = "64"))]

mod support;
use support::{lock, waiter, within};

use checkpointer_core::{block_on, Bytes, Codec, Digest, Entry, FnPath, Key, KeyLock, Storage};
use checkpointer_store_fs::{FsStore, STORE_LOCK_FILE};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const CHILD: &str = "FS_LOCK_RANGE_CHILD";

fn key_of(function: &str, n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("tests::range", function)),
        identity: Digest::of_bytes(b"fn_hash_from"),
        call: Digest::of_bytes(&n.to_le_bytes()),
    }
}

fn wait_for(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a second taker gets `k` (within 10 s: a loaded machine is slow).
fn free_now(store: &Arc<FsStore>, k: &Key) -> bool {
    taken_within(store, k, Duration::from_secs(10))
}

/// Whether a second taker fails to get `k` for half a second (someone holds it).
fn held_now(store: &Arc<FsStore>, k: &Key) -> bool {
    !taken_within(store, k, Duration::from_millis(500))
}

fn taken_within(store: &Arc<FsStore>, k: &Key, patience: Duration) -> bool {
    let (store, k) = (store.clone(), k.clone());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let l = lock(&store, &k);
        let _ = tx.send(());
        // Keep it until the asker has looked, then release.
        std::thread::sleep(Duration::from_millis(50));
        drop(l);
    });
    rx.recv_timeout(patience).is_ok()
}

// Nested locks: the core holds a key's lock while its function runs, and a cached function
// it calls takes its own. Two functions with one identity (`fn_hash_from`, the
// `static_identity` preset) called with equal arguments have equal identity and call
// digests: their keys differ only in the function. Their bytes must differ, or the nested
// lock waits on the outer one, a lock of the same process, forever.

#[test]
fn keys_differing_only_in_function_nest_without_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    within(10, move || {
        let outer = lock(&store, &key_of("load", 1));
        let inner = lock(&store, &key_of("process", 1));
        drop(inner);
        drop(outer);
    });
}

// A lock file that cannot be opened for writing (a directory or a link where the file
// should be, or a file of another user's): keys are still locked, each with a file of its
// own, and still exclude each other.

#[test]
fn a_lock_file_that_cannot_be_opened_falls_back_to_a_file_per_key() {
    for what in ["directory", "symlink"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        std::fs::create_dir(&root).unwrap();
        let lock_path = root.join(STORE_LOCK_FILE);
        match what {
            "directory" => std::fs::create_dir(&lock_path).unwrap(),
            _ => {
                let target = dir.path().join("elsewhere");
                std::fs::write(&target, b"").unwrap();
                std::os::unix::fs::symlink(&target, &lock_path).unwrap();
            }
        }
        let store = Arc::new(FsStore::new(&root));
        let k = key_of("f", 3);
        let held = block_on(store.lock(&k))
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .expect("the fs store locks");
        assert!(
            held_now(&store, &k),
            "{what}: a second taker got a held key"
        );
        drop(held);
        assert!(free_now(&store, &k), "{what}: a released key stayed held");
    }
}

// Abandoned waits on many keys: every helper thread ends and every descriptor closes once
// the holder releases; the keys are free afterwards.

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn abandoned_waits_on_many_keys_leak_no_descriptors_or_threads() {
    // Alone in a process of its own: other tests' threads and files would blur the counts.
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["child_abandons_waits", "--exact", "--test-threads=1"])
        .env(CHILD, dir.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn child_abandons_waits() {
    let Ok(root) = std::env::var(CHILD) else {
        return;
    };
    let dir = Path::new(&root);
    let store = Arc::new(FsStore::new(dir));
    // One warm-up lock: the store makes its root and lock file.
    drop(lock(&store, &key_of("warm", 0)));
    let (fds, threads) = (fd_count(), thread_count());
    let keys: Vec<Key> = (0..64).map(|n| key_of("many", n)).collect();
    let held: Vec<KeyLock> = keys.iter().map(|k| lock(&store, k)).collect();
    assert_eq!(fd_count(), fds + 64, "one descriptor per held lock");
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    for _ in 0..4 {
        for k in &keys {
            let mut wait = Box::pin(store.lock(k));
            assert!(wait.as_mut().poll(&mut cx).is_pending(), "got a held lock");
            drop(wait);
        }
    }
    // 256 helper threads are blocked, each on a descriptor of its own.
    assert!(thread_count() >= threads + 256);
    drop(held);
    wait_for(20, "helper threads and descriptors to go", || {
        fd_count() == fds && thread_count() == threads
    });
    for k in &keys {
        assert!(free_now(&store, k), "a key stayed held");
    }
}

use std::future::Future as _;

// Real processes. A child (this test binary run again) takes a key's lock, says so on
// stdout, and keeps it until killed or told to go (its stdin closes).

#[test]
fn child_holds_a_key() {
    let Ok(root) = std::env::var(CHILD) else {
        return;
    };
    let mut store = FsStore::new(Path::new(&root));
    if std::env::var_os("FS_LOCK_RANGE_PER_KEY").is_some() {
        store = store.lock_files_per_key();
    }
    let n: u32 = std::env::var("FS_LOCK_RANGE_KEY").unwrap().parse().unwrap();
    let k = key_of("f", n);
    let held = lock(&store, &k);
    println!("\nHELD");
    std::io::stdout().flush().unwrap();
    // Hold until stdin closes (or a kill).
    let _ = std::io::stdin().lines().count();
    if std::env::var_os("FS_LOCK_RANGE_STORE").is_some() {
        block_on(store.store(&k, entry(b"child"))).unwrap();
    }
    drop(held);
}

fn spawn_holder(root: &Path, n: u32, per_key: bool, store: bool) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_holds_a_key",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, root)
    .env("FS_LOCK_RANGE_KEY", n.to_string())
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if per_key {
        cmd.env("FS_LOCK_RANGE_PER_KEY", "1");
    }
    if store {
        cmd.env("FS_LOCK_RANGE_STORE", "1");
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended before holding"
        );
        if line.trim_end().ends_with("HELD") {
            break;
        }
        assert!(Instant::now() < end, "the child never held the key");
    }
    // Keep reading: the child's later output must not meet a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

#[test]
fn a_key_held_by_another_process_is_waited_for_and_a_killed_holder_frees_it_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let k = key_of("f", 5);
    let mut child = spawn_holder(dir.path(), 5, false, false);
    assert!(held_now(&store, &k), "took a key another process holds");
    // Another key is not held.
    assert!(free_now(&store, &key_of("f", 6)));
    // A waiter blocked in the kernel when the holder dies gets the key at once.
    let (got, waiter) = waiter(&store, &k);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!got.load(Ordering::SeqCst));
    let killed = Instant::now();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    wait_for(10, "the waiter to take over", || got.load(Ordering::SeqCst));
    waiter.join().unwrap();
    eprintln!("took over {:?} after the kill", killed.elapsed());
}

#[test]
fn a_key_held_by_another_process_with_a_file_per_key_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()).lock_files_per_key());
    let k = key_of("f", 8);
    let mut child = spawn_holder(dir.path(), 8, true, false);
    assert!(held_now(&store, &k), "took a key another process holds");
    drop(child.stdin.take());
    child.wait().unwrap();
    assert!(free_now(&store, &k));
}

fn entry(payload: &[u8]) -> Entry {
    Entry::new(Codec::Cbor, Bytes::from(payload.to_vec()))
}

/// A process locking with a file per key (where the file system refused byte-range locks
/// once, or another build) and one locking bytes do not exclude each other on one root: both
/// compute. What they store is still whole: each write is a rename of a complete file, so a
/// later load finds one of the two values, checksum intact.
#[test]
fn mixed_schemes_do_not_exclude_each_other_and_never_tear_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let k = key_of("f", 9);
    let mut child = spawn_holder(dir.path(), 9, true, true);
    // The child holds its lock file; this process gets the byte all the same.
    assert!(free_now(&store, &k), "the schemes excluded each other");
    let held = lock(&store, &k);
    block_on(store.store(&k, entry(b"parent"))).unwrap();
    // The child stores while this process still holds its lock: a second computation.
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    drop(held);
    let got = block_on(store.load(&k)).unwrap().expect("an entry");
    got.verify().expect("a whole entry");
    assert_eq!(&got.payload[..], b"child");
}

/// A child that adds one to a counter file `FS_LOCK_RANGE_COUNT` times, each read and write
/// under the key's lock (a lost update means two holders at once).
#[test]
fn child_counts() {
    let Ok(root) = std::env::var(CHILD) else {
        return;
    };
    let mut store = FsStore::new(Path::new(&root));
    if std::env::var_os("FS_LOCK_RANGE_PER_KEY").is_some() {
        store = store.lock_files_per_key();
    }
    let times: u32 = std::env::var("FS_LOCK_RANGE_COUNT")
        .unwrap()
        .parse()
        .unwrap();
    let counter = Path::new(&root).join("counter");
    let k = key_of("counted", 0);
    for _ in 0..times {
        let held = lock(&store, &k);
        let n: u64 = std::fs::read_to_string(&counter)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        std::thread::yield_now();
        std::fs::write(&counter, (n + 1).to_string()).unwrap();
        drop(held);
    }
}

#[test]
fn processes_exclude_each_other_under_contention() {
    for per_key in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let children: Vec<Child> = (0..4)
            .map(|_| {
                let mut cmd = Command::new(std::env::current_exe().unwrap());
                cmd.args(["child_counts", "--exact", "--test-threads=1"])
                    .env(CHILD, dir.path())
                    .env("FS_LOCK_RANGE_COUNT", "150")
                    .stdout(Stdio::null());
                if per_key {
                    cmd.env("FS_LOCK_RANGE_PER_KEY", "1");
                }
                cmd.spawn().unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let n = std::fs::read_to_string(dir.path().join("counter")).unwrap();
        assert_eq!(n, "600", "per key: {per_key}: lost updates");
    }
}

// The root removed, or its lock file replaced by a directory, while a key is held and
// awaited: nobody waits forever. (A taker that opens the new lock file does not exclude the
// holder of the old one: a computation may run twice.)
#[test]
fn a_root_removed_or_its_lock_file_replaced_under_held_and_awaited_locks_blocks_nobody() {
    for what in ["removed", "replaced by a directory"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = Arc::new(FsStore::new(&root));
        let k = key_of("f", 11);
        let held = lock(&store, &k);
        let (got, waiter) = waiter(&store, &k);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!got.load(Ordering::SeqCst), "{what}");
        std::fs::remove_dir_all(&root).unwrap();
        if what != "removed" {
            std::fs::create_dir_all(root.join(STORE_LOCK_FILE)).unwrap();
        }
        // A new taker is not blocked by the old file's holder.
        let s = store.clone();
        let k2 = k.clone();
        within(10, move || drop(lock(&s, &k2)));
        drop(held);
        wait_for(10, "the waiter on the old file", || {
            got.load(Ordering::SeqCst)
        });
        waiter.join().unwrap();
        // And the key locks as usual afterwards.
        assert!(free_now(&store, &k), "{what}");
    }
}
