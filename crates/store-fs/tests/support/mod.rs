//! What the lock tests share: taking a lock, a waiter that says when it got one, and bounding
//! a wait so that a deadlock fails a test instead of hanging the suite.

use checkpointer_core::{block_on, Key, KeyLock, Storage};
use checkpointer_store_fs::FsStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// Takes `k`'s lock, waiting as long as it takes.
pub fn lock(store: &FsStore, k: &Key) -> KeyLock {
    block_on(store.lock(k))
        .unwrap()
        .expect("the fs store locks")
}

/// Runs `f` on a thread and fails the test if it does not finish in time (a deadlock must
/// fail, not hang the suite).
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("did not finish in time")
}

/// A thread taking `k`'s lock: the flag is set once it holds it; joining returns the lock.
pub fn waiter(store: &Arc<FsStore>, k: &Key) -> (Arc<AtomicBool>, JoinHandle<KeyLock>) {
    let got = Arc::new(AtomicBool::new(false));
    let (store, k, flag) = (store.clone(), k.clone(), got.clone());
    let thread = std::thread::spawn(move || {
        let l = lock(&store, &k);
        flag.store(true, Ordering::SeqCst);
        l
    });
    (got, thread)
}
