//! The `gs://` store against fake-gcs-server: `CHECKPOINTER_TEST_GCS_ENDPOINT` and
//! `CHECKPOINTER_TEST_GCS_BUCKET`, with `GOOGLE_SERVICE_ACCOUNT_KEY` (no OAuth, the server's
//! URL) and `GOOGLE_ALLOW_HTTP=true` — what `scripts/gcs-server` exports. `scripts/test` starts
//! one; these tests fail when it is missing.

use checkpointer_core::{block_on, Bytes, Codec, Digest, Entry, FnPath, Key, Storage};
use checkpointer_store_s3::{S3Options, S3Store};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

fn bucket() -> String {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests through scripts/test, which starts fake-gcs-server (scripts/gcs-server), or point it at one")
        })
    };
    get("CHECKPOINTER_TEST_GCS_ENDPOINT");
    get("GOOGLE_SERVICE_ACCOUNT_KEY");
    get("CHECKPOINTER_TEST_GCS_BUCKET")
}

fn unique(test: &str) -> String {
    format!(
        "store-tests/{test}-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

/// A store on a fresh prefix of the test bucket, configured by the environment alone.
fn fresh(test: &str, tweak: impl FnOnce(&mut S3Options)) -> S3Store {
    let mut o = S3Options::default();
    tweak(&mut o);
    S3Store::open_with(&format!("gs://{}/{}", bucket(), unique(test)), o)
        .expect("open the test store")
}

fn key(name: &str, n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("gcs_tests::m", name)),
        identity: Digest::of_bytes(b"v1"),
        call: Digest::of_bytes(&n.to_le_bytes()),
    }
}

fn entry(payload: &'static [u8]) -> Entry {
    Entry::with_created(
        Codec::Cbor,
        Bytes::from_static(payload),
        UNIX_EPOCH + Duration::new(1_700_000_000, 7),
    )
}

#[test]
fn conformance() {
    // 80 MiB: above the multipart threshold, several parts and ranges.
    let store = fresh("conformance", |_| {});
    assert_eq!(store.name(), "gcs");
    block_on(
        checkpointer_core::testing::Suite::new()
            .large_value_bytes(80 << 20)
            .run(&store),
    );
}

#[test]
fn leases_serialize_writers() {
    let prefix = unique("lease");
    let open = || {
        let mut o = S3Options::default();
        o.lease_ttl = Duration::from_secs(3);
        S3Store::open_with(&format!("gs://{}/{prefix}", bucket()), o).unwrap()
    };
    let (a, b) = (open(), open());
    let k = key("lease", 0);
    let held = block_on(a.lock(&k))
        .unwrap()
        .expect("the server supports conditional writes");
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let lock = block_on(b.lock(&k)).unwrap().expect("a lease");
        tx.send(()).unwrap();
        drop(lock);
    });
    std::thread::sleep(Duration::from_secs(5));
    assert!(rx.try_recv().is_err(), "the waiter got a held, renewed lease");
    drop(held);
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the waiter gets the lease after release");
    waiter.join().unwrap();
}

#[test]
fn an_unreachable_endpoint_fails_fast_then_at_once() {
    let mut o = S3Options::default();
    o.endpoint = Some("http://127.0.0.1:9".into());
    let store = S3Store::open_with(&format!("gs://{}/unreachable", bucket()), o).unwrap();
    let t = Instant::now();
    assert!(block_on(store.load(&key("down", 0))).is_err());
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
    let t = Instant::now();
    let err = block_on(store.store(&key("down", 1), entry(b""))).unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(100), "{:?}", t.elapsed());
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn a_missing_bucket_is_an_error_on_write() {
    let store = S3Store::open(&format!("gs://no-such-bucket-{:08x}/p", fastrand::u32(..))).unwrap();
    let k = key("nobucket", 0);
    assert!(block_on(store.load(&k)).unwrap().is_none());
    assert!(block_on(store.store(&k, entry(b"x"))).is_err());
}
