//! Key locks, in both schemes (a byte of the store's lock file on 64-bit Linux, a lock file
//! per key elsewhere): mutual exclusion (also against lock files removed under waiters),
//! waiting off the executor's thread, abandoned waits, and leftovers swept.

mod support;
use support::{lock, waiter, within};

use checkpointer_core::{block_on, Bytes, Codec, Digest, Entry, FnPath, Key, Storage};
use checkpointer_store_fs::FsStore;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

fn key(n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("tests::lock", "f")),
        identity: Digest::of_bytes(b"code"),
        call: Digest::of_bytes(&n.to_le_bytes()),
    }
}

/// Opens a store on a root, locking one way.
type Make = fn(&Path) -> FsStore;

/// The two ways a store may lock: each test runs both.
const SCHEMES: [(&str, Make); 2] = [
    ("default", |p| FsStore::new(p)),
    ("a file per key", |p| FsStore::new(p).lock_files_per_key()),
];

/// Whether the default scheme is byte ranges of one file here.
const RANGES: bool = cfg!(all(target_os = "linux", target_pointer_width = "64"));

fn lock_file(store: &FsStore, k: &Key) -> PathBuf {
    let p = store.path_of(k);
    let name = p.file_name().unwrap().to_str().unwrap().to_string();
    p.with_file_name(format!(".{name}.lock"))
}

#[test]
fn a_second_taker_waits_until_the_first_releases() {
    for (scheme, make) in SCHEMES {
        let per_key = scheme != "default" || !RANGES;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new");
        let store = Arc::new(make(&root));
        let k = key(0);
        let first = lock(&store, &k);
        let file = if per_key {
            lock_file(&store, &k)
        } else {
            root.join(checkpointer_store_fs::STORE_LOCK_FILE)
        };
        assert!(file.exists(), "{scheme}");
        #[cfg(unix)]
        {
            // A new root is private: lock files too.
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{scheme}");
        }
        let (got, waiter) = waiter(&store, &k);
        std::thread::sleep(Duration::from_millis(300));
        assert!(!got.load(Ordering::SeqCst), "{scheme}: took a held lock");
        drop(first);
        let second = within(10, move || waiter.join().unwrap());
        assert!(got.load(Ordering::SeqCst));
        drop(second);
        // Released locks leave no file per key behind; the store's lock file stays.
        assert!(!lock_file(&store, &k).exists(), "{scheme}");
        assert_eq!(file.exists(), !per_key, "{scheme}");
        // Other keys never wait on each other.
        let _a = lock(&store, &key(1));
        let _b = lock(&store, &key(2));
    }
}

#[test]
fn waiting_does_not_block_the_executor_thread() {
    for (_, make) in SCHEMES {
        waiting_does_not_block(make);
    }
}

fn waiting_does_not_block(make: Make) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(make(dir.path()));
    let k = key(0);
    let held = lock(&store, &k);
    let done = within(20, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let waiter = {
                let (store, k) = (store.clone(), k.clone());
                tokio::spawn(async move { store.lock(&k).await.unwrap().unwrap() })
            };
            // The one executor thread keeps running other tasks while the waiter waits.
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(!waiter.is_finished());
            drop(held);
            let l = tokio::time::timeout(Duration::from_secs(10), waiter)
                .await
                .expect("woken after release")
                .unwrap();
            drop(l);
            true
        })
    });
    assert!(done);
}

#[test]
fn an_abandoned_wait_leaves_the_lock_free() {
    for (_, make) in SCHEMES {
        abandoned_wait(make);
    }
}

fn abandoned_wait(make: Make) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(make(dir.path()));
    let k = key(0);
    let held = lock(&store, &k);
    let s = store.clone();
    let k2 = k.clone();
    within(20, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let timed_out = tokio::time::timeout(Duration::from_millis(100), s.lock(&k2)).await;
            assert!(timed_out.is_err(), "got a held lock");
        });
    });
    drop(held);
    // The helper thread of the abandoned wait may take the lock for a moment, never keep it.
    let again = within(10, move || lock(&store, &k));
    drop(again);
}

#[test]
fn mutual_exclusion_holds_while_lock_files_are_removed_and_swept() {
    for (_, make) in SCHEMES {
        // One store per thread, as separate processes would have, and one store shared by
        // all threads (each lock is its own open file, so threads exclude each other too).
        mutual_exclusion(make, false);
        mutual_exclusion(make, true);
    }
}

fn mutual_exclusion(make: Make, shared: bool) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let k = key(7);
    let inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let (root, stop) = (root.clone(), stop.clone());
        std::thread::spawn(move || {
            let store = make(&root);
            while !stop.load(Ordering::SeqCst) {
                store.sweep().unwrap();
            }
        })
    };
    let common = Arc::new(make(&root));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (root, k, inside, entered) =
                (root.clone(), k.clone(), inside.clone(), entered.clone());
            let common = common.clone();
            std::thread::spawn(move || {
                let store = if shared {
                    common
                } else {
                    Arc::new(make(&root))
                };
                for _ in 0..40 {
                    let l = lock(&store, &k);
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                    entered.fetch_add(1, Ordering::SeqCst);
                    std::thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(l);
                }
            })
        })
        .collect();
    within(120, move || {
        for w in workers {
            w.join().unwrap();
        }
    });
    stop.store(true, Ordering::SeqCst);
    sweeper.join().unwrap();
    assert_eq!(entered.load(Ordering::SeqCst), 240);
}

#[test]
fn a_lock_file_left_by_a_dead_holder_is_taken_and_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path()).lock_files_per_key();
    let k = key(0);
    // What a killed holder leaves: the file, no lock (the kernel dropped it).
    drop(lock(&store, &k));
    let path = lock_file(&store, &k);
    std::fs::write(&path, b"").unwrap();
    drop(lock(&store, &k));
    assert!(!path.exists());

    std::fs::write(&path, b"").unwrap();
    let held = lock(&store, &k);
    assert_eq!(store.sweep().unwrap().lock_files, 0, "swept a held lock");
    assert!(path.exists());
    drop(held);
    std::fs::write(&path, b"").unwrap();
    assert_eq!(store.sweep().unwrap().lock_files, 1);
    assert!(!path.exists());
}

fn set_mtime(path: &Path, ago: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}

#[test]
fn temporary_files_of_dead_writers_are_swept_by_listing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let k = key(0);
    block_on(store.store(&k, Entry::new(Codec::Cbor, Bytes::from_static(b"x")))).unwrap();
    let entry = store.path_of(&k);
    let name = entry.file_name().unwrap().to_str().unwrap().to_string();
    let here = checkpointer_store_fs::sweep::host_tag();
    let tmp = |pid: u32, n: u8| entry.with_file_name(format!(".{name}.tmp.{pid}-{here}.{n:016x}"));
    let foreign = |pid: u32, n: u8| {
        entry.with_file_name(format!(".{name}.tmp.{pid}-0123456789abcdef.{n:016x}"))
    };
    let old = |pid: u32, n: u8| entry.with_file_name(format!(".{name}.tmp.{pid}.{n:016x}"));
    let dead = 999_999_999;
    let me = std::process::id();
    let minute = Duration::from_secs(61);
    let hours = Duration::from_secs(2 * 3600);
    let cases = [
        (tmp(dead, 1), minute, true),          // dead writer, idle
        (tmp(dead, 2), Duration::ZERO, false), // dead pid, but just written
        (tmp(me, 3), minute, false),           // a live writer
        (tmp(me, 4), hours, true),             // idle for hours: gone anyway
        // Issue 9, finding 10: a pid from another host sharing the volume means nothing
        // here; its writer may be alive, so only the hour rule applies.
        (foreign(dead, 5), minute, false),
        (foreign(dead, 6), hours, true),
        (old(dead, 7), minute, false),
        (old(dead, 8), hours, true),
    ];
    for (p, ago, _) in &cases {
        std::fs::write(p, b"partial").unwrap();
        set_mtime(p, *ago);
    }
    let listed = block_on(store.list(&checkpointer_core::Scope::All)).unwrap();
    assert_eq!(listed.len(), 1);
    for (p, _, swept) in &cases {
        assert_eq!(!p.exists(), *swept, "{}", p.display());
    }
    assert!(entry.exists());
}

#[test]
fn listing_a_read_only_fs_tier_sweeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(FsStore::new(dir.path()));
    let k = key(0);
    block_on(store.store(&k, Entry::new(Codec::Cbor, Bytes::from_static(b"x")))).unwrap();
    let entry = store.path_of(&k);
    let name = entry.file_name().unwrap().to_str().unwrap().to_string();
    let here = checkpointer_store_fs::sweep::host_tag();
    // Leftovers any writable listing removes: a dead writer's idle temp file, an hours-old
    // temp file, a lock file nobody holds.
    let leftovers = [
        (
            entry.with_file_name(format!(".{name}.tmp.999999999-{here}.{:016x}", 1)),
            Duration::from_secs(61),
        ),
        (
            entry.with_file_name(format!(".{name}.tmp.{}.{:016x}", std::process::id(), 2)),
            Duration::from_secs(2 * 3600),
        ),
        (
            entry.with_file_name(format!(".{name}.lock")),
            Duration::ZERO,
        ),
    ];
    for (p, ago) in &leftovers {
        std::fs::write(p, b"partial").unwrap();
        set_mtime(p, *ago);
    }
    let snapshot = |root: &Path| {
        let mut all: Vec<_> = walk(root)
            .into_iter()
            .map(|p| {
                let m = std::fs::metadata(&p).unwrap();
                (p, m.len(), m.modified().unwrap())
            })
            .collect();
        all.sort();
        all
    };
    let before = snapshot(dir.path());
    let ro = checkpointer_core::ReadOnly::new(store.clone());
    for scope in [
        checkpointer_core::Scope::All,
        checkpointer_core::Scope::Function(k.function.clone()),
    ] {
        let listed = block_on(ro.list(&scope)).unwrap();
        assert_eq!(listed.len(), 1);
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a read-only listing changed the store"
    );
    // The same listing through the writable store does sweep them (the test can fail).
    block_on(store.list(&checkpointer_core::Scope::All)).unwrap();
    for (p, _) in &leftovers {
        assert!(!p.exists(), "{}", p.display());
    }
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hits_record_their_use_at_most_hourly() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let k = key(0);
    block_on(store.store(&k, Entry::new(Codec::Cbor, Bytes::from_static(b"x")))).unwrap();
    let path = store.path_of(&k);
    let mtime = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let accessed = || {
        block_on(store.list(&checkpointer_core::Scope::All)).unwrap()[0]
            .accessed
            .unwrap()
    };

    set_mtime(&path, Duration::from_secs(1800));
    let before = mtime(&path);
    block_on(store.load(&k)).unwrap().unwrap();
    assert_eq!(mtime(&path), before, "a recent use is not rewritten");
    assert_eq!(accessed(), before);

    set_mtime(&path, Duration::from_secs(2 * 3600));
    let t0 = SystemTime::now() - Duration::from_secs(1);
    block_on(store.load(&k)).unwrap().unwrap();
    assert!(mtime(&path) >= t0, "an old use is advanced");
    assert!(accessed() >= t0);
    // Listing and dating are not uses.
    set_mtime(&path, Duration::from_secs(2 * 3600));
    let old = mtime(&path);
    block_on(store.list(&checkpointer_core::Scope::All)).unwrap();
    block_on(store.checkpoint_date(&k)).unwrap();
    assert_eq!(mtime(&path), old);
}

#[test]
fn deleting_the_last_entry_removes_its_directories_and_storing_brings_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let k = key(0);
    let e = Entry::new(Codec::Cbor, Bytes::from_static(b"x"));
    block_on(store.store(&k, e.clone())).unwrap();
    let identity_dir = store
        .path_of(&k)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(block_on(store.delete(&k)).unwrap());
    assert!(!identity_dir.exists());
    // This store remembered the directory as checked: it must notice and make it again,
    // for storing and for locking alike.
    drop(lock(&store, &k));
    block_on(store.store(&k, e.clone())).unwrap();
    assert!(block_on(store.delete(&k)).unwrap());
    block_on(store.store(&k, e)).unwrap();
    assert!(block_on(store.load(&k)).unwrap().is_some());
}

#[test]
fn a_taker_for_a_removed_directory_recreates_it() {
    for (scheme, make) in SCHEMES {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let store = make(&root);
        let k = key(0);
        drop(lock(&store, &k));
        std::fs::remove_dir_all(root.join("tests")).ok();
        let t = Instant::now();
        drop(lock(&store, &k));
        assert!(t.elapsed() < Duration::from_secs(5), "{scheme}");
        // The whole root, lock file included.
        std::fs::remove_dir_all(&root).unwrap();
        let held = lock(&store, &k);
        assert!(t.elapsed() < Duration::from_secs(5), "{scheme}");
        // And it still excludes: a second store on the same root waits.
        let (tx, rx) = mpsc::channel();
        let (root2, k2) = (root.clone(), k.clone());
        let waiter = std::thread::spawn(move || {
            let l = lock(&make(&root2), &k2);
            tx.send(()).unwrap();
            drop(l);
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "{scheme}: took a held lock"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(10)).expect("released");
        waiter.join().unwrap();
    }
}

/// The store's lock file is not an entry and not a leftover: listing skips it, sweeping keeps
/// it, and many keys held at once share it (no file per key).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn the_store_lock_file_is_neither_listed_nor_swept() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let held: Vec<_> = (0..50).map(|i| lock(&store, &key(i))).collect();
    block_on(store.store(&key(0), Entry::new(Codec::Cbor, Bytes::from_static(b"x")))).unwrap();
    let files = walk(dir.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let lock_file = dir.path().join(checkpointer_store_fs::STORE_LOCK_FILE);
    assert!(files.contains(&lock_file));
    assert_eq!(store.sweep().unwrap(), Default::default());
    let listed = block_on(store.list(&checkpointer_core::Scope::All)).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(lock_file.exists());
    drop(held);
    assert!(lock_file.exists());
}
