//! What the object-store test files share: S3 and Azure pass the same conformance suite and
//! run the same lease protocol.
#![allow(dead_code)] // each test file uses its part

use checkpointer_core::{block_on, Key, Storage};
use checkpointer_store_s3::{S3Options, S3Store};
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

/// Runs `f` on a runtime of its own (calls on the raw `object_store` client).
pub fn raw<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The conformance suite with large values of `large_mib` MiB: 80 is above the multipart
/// threshold, several parts and ranged reads.
pub fn conformance(store: &S3Store, large_mib: usize) {
    block_on(
        checkpointer_core::testing::Suite::new()
            .large_value_bytes(large_mib << 20)
            .run(store),
    );
}

/// Small multipart parts, and listings without created dates (read from each object instead).
pub fn small_parts_no_listed_dates(o: &mut S3Options) {
    o.part_size = 5 << 20;
    o.multipart_threshold = 5 << 20;
    o.list_created = false;
}

/// The conformance suite on a store opened with [`small_parts_no_listed_dates`]: 12 MiB values
/// over several small parts, eight writer threads racing.
pub fn conformance_small_parts(store: &S3Store) {
    block_on(
        checkpointer_core::testing::Suite::new()
            .large_value_bytes(12 << 20)
            .writer_threads(8)
            .run(store),
    );
}

/// An object at `k`'s path that is not an entry loads as an entry failing verification, is
/// dated, and can be deleted.
pub fn a_damaged_object_fails_verification(store: &S3Store, k: &Key) {
    let path = store.entry_path(k);
    raw(async {
        object_store::ObjectStoreExt::put(
            store.object_store().as_ref(),
            &path,
            object_store::PutPayload::from_static(b"not an entry"),
        )
        .await
    })
    .unwrap();
    let got = block_on(store.load(k))
        .unwrap()
        .expect("the damaged object is there");
    assert!(got.verify().is_err());
    assert!(block_on(store.checkpoint_date(k)).unwrap().is_some());
    assert!(block_on(store.delete(k)).unwrap());
}
