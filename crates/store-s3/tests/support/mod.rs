//! Checks shared by the object-store test files (S3 and Azure run the same lease protocol).

use checkpointer_core::{block_on, Key, Storage};
use checkpointer_store_s3::S3Store;
use std::time::{Duration, Instant};

/// `a` holds the lease on `k` past its TTL (3 s): renewal must keep `b`, a second owner as a
/// second process would be, waiting until `a` releases it.
pub fn renewed_lease_excludes_until_released(a: S3Store, b: S3Store, k: Key) {
    let held = block_on(a.lock(&k))
        .unwrap()
        .expect("the server supports conditional writes");
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let lock = block_on(b.lock(&k)).unwrap().expect("a lease");
        tx.send(t.elapsed()).unwrap();
        drop(lock);
    });
    // Held past its TTL: renewal (a conditional update on the ETag) keeps the waiter out.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        rx.try_recv().is_err(),
        "the waiter got the lease while it was held and renewed"
    );
    drop(held);
    let waited = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the waiter gets the lease after release");
    assert!(waited >= Duration::from_secs(5));
    waiter.join().unwrap();
}
