//! What the lock tests share: taking a lock, and bounding a wait so that a deadlock fails a
//! test instead of hanging the suite.

use checkpointer_core::{block_on, Key, KeyLock, Storage};
use checkpointer_store_fs::FsStore;
use std::sync::mpsc;
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
