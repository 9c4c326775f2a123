//! The `az://` store against Azurite, Azure's blob emulator: `CHECKPOINTER_TEST_AZURE_ENDPOINT`
//! and `CHECKPOINTER_TEST_AZURE_CONTAINER`, with `AZURE_STORAGE_USE_EMULATOR=true` and
//! `AZURITE_BLOB_STORAGE_URL` (what `scripts/azure-server` exports). `scripts/test` starts one;
//! these tests fail when it is missing.

mod support;

use checkpointer_core::{block_on, Bytes, Codec, Digest, Entry, FnPath, Key, Storage};
use checkpointer_store_s3::{S3Options, S3Store};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Azurite's published development account and key.
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn server() -> (String, String) {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests through scripts/test, which starts Azurite (scripts/azure-server), or point it at one")
        })
    };
    let endpoint = get("CHECKPOINTER_TEST_AZURE_ENDPOINT");
    let container = get("CHECKPOINTER_TEST_AZURE_CONTAINER");
    assert_eq!(
        std::env::var("AZURE_STORAGE_USE_EMULATOR").as_deref(),
        Ok("true"),
        "AZURE_STORAGE_USE_EMULATOR=true must be set with CHECKPOINTER_TEST_AZURE_ENDPOINT"
    );
    (endpoint, container)
}

fn unique(test: &str) -> String {
    format!(
        "store-tests/{test}-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

/// A store on a fresh prefix of the test container, configured by the environment alone.
fn fresh(test: &str, tweak: impl FnOnce(&mut S3Options)) -> S3Store {
    let (_, container) = server();
    let mut o = S3Options::default();
    tweak(&mut o);
    S3Store::open_with(&format!("az://{container}/{}", unique(test)), o)
        .expect("open the test store")
}

/// Options naming the account explicitly (not the emulator switch): `endpoint` and `key`.
fn explicit(endpoint: &str, key: &str) -> S3Options {
    let mut o = S3Options::default();
    o.endpoint = Some(format!("{endpoint}/{ACCOUNT}"));
    o.config = vec![
        ("azure_storage_use_emulator".into(), "false".into()),
        ("azure_storage_account_name".into(), ACCOUNT.into()),
        ("azure_storage_account_key".into(), key.into()),
    ];
    o
}

fn key(name: &str, n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("azure_tests::m", name)),
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
    // 80 MiB: above the multipart threshold (Azure block uploads), several parts and ranges.
    let store = fresh("conformance", |_| {});
    assert_eq!(store.name(), "azure");
    support::conformance(&store, 80);
}

#[test]
fn conformance_with_small_parts_and_no_listed_dates() {
    let store = fresh(
        "conformance-small-parts",
        support::small_parts_no_listed_dates,
    );
    support::conformance_small_parts(&store);
}

#[test]
fn abfs_urls_and_explicit_accounts_reach_the_same_container() {
    let (endpoint, container) = server();
    let prefix = unique("abfs");
    let az = S3Store::open(&format!("az://{container}/{prefix}")).unwrap();
    let abfs = S3Store::open(&format!("abfs://{container}/{prefix}")).unwrap();
    let named = S3Store::open_with(
        &format!("abfss://{container}/{prefix}"),
        explicit(&endpoint, KEY),
    )
    .unwrap();
    assert_eq!(abfs.url(), format!("abfs://{container}/{prefix}"));
    let k = key("abfs", 0);
    block_on(az.store(&k, entry(b"from az"))).unwrap();
    for s in [&abfs, &named] {
        let got = block_on(s.load(&k)).unwrap().expect("the same object");
        assert_eq!(&got.payload[..], b"from az");
    }
    assert!(block_on(named.delete(&k)).unwrap());
    assert!(block_on(abfs.load(&k)).unwrap().is_none());
}

#[test]
fn prefixes_with_unusual_characters_round_trip_and_stay_apart() {
    let (_, container) = server();
    let base = unique("chars");
    let prefixes = [
        format!("{base}/with space"),
        format!("{base}/plus+percent%25"),
        format!("{base}/größe/日本"),
        format!("{base}/q?hash#amp&eq="),
        format!("{base}/with space2"),
    ];
    let stores: Vec<S3Store> = prefixes
        .iter()
        .map(|p| S3Store::open(&format!("az://{container}/{p}")).unwrap())
        .collect();
    let k = key("chars", 1);
    for (i, s) in stores.iter().enumerate() {
        let payload: &'static [u8] =
            Box::leak(format!("value {i}").into_bytes().into_boxed_slice());
        block_on(s.store(&k, entry(payload))).unwrap();
    }
    for (i, s) in stores.iter().enumerate() {
        let got = block_on(s.load(&k)).unwrap().expect("stored");
        assert_eq!(got.payload, format!("value {i}").as_bytes(), "{}", s.url());
        got.verify().unwrap();
        let listed = block_on(s.list(&checkpointer_core::Scope::All)).unwrap();
        assert_eq!(listed.len(), 1, "{} lists only its own entry", s.url());
    }
    for s in &stores {
        assert!(block_on(s.delete(&k)).unwrap());
    }
}

#[test]
fn a_damaged_object_loads_as_an_entry_that_fails_verification() {
    let store = fresh("damaged", |_| {});
    support::a_damaged_object_fails_verification(&store, &key("damaged", 0));
}

#[test]
fn wrong_credentials_are_an_error_never_a_miss() {
    let (endpoint, container) = server();
    // A well-formed key that is not the account's.
    let wrong = "d3JvbmcgYXp1cml0ZSBrZXkgd3Jvbmcgd3Jvbmcgd3Jvbmcgd3Jvbmcgd3Jvbmcgd3Jvbmc=";
    let store = S3Store::open_with(
        &format!("az://{container}/{}", unique("creds")),
        explicit(&endpoint, wrong),
    )
    .unwrap();
    let t = Instant::now();
    let err = block_on(store.load(&key("creds", 0))).expect_err("a refused read is not a miss");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    let msg = err.to_string();
    assert!(msg.contains("azure"), "{msg}");
    assert!(
        msg.contains("403") || msg.to_lowercase().contains("authent"),
        "the message says the server refused the credentials: {msg}"
    );
    // Writes are refused too (possibly at once, during the cool-down).
    assert!(block_on(store.store(&key("creds", 1), entry(b"x"))).is_err());
    // A key that is not base64 is a configuration error at open, naming the problem.
    let err = S3Store::open_with(
        &format!("az://{container}/p"),
        explicit(&endpoint, "not base64!"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("configure"), "{err}");
}

#[test]
fn a_missing_container_is_a_clear_error_on_write() {
    server();
    let store = S3Store::open(&format!(
        "az://no-such-container-{:08x}/p",
        fastrand::u32(..)
    ))
    .unwrap();
    let k = key("nocontainer", 0);
    // Reading finds nothing (Azure answers 404 for the container as for the blob) …
    assert!(block_on(store.load(&k)).unwrap().is_none());
    // … and writing fails with the server's reason, rather than pretending to store.
    let err = block_on(store.store(&k, entry(b"x"))).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ContainerNotFound") || msg.contains("container"),
        "{msg}"
    );
    // Listing fails or finds nothing; it never invents entries.
    if let Ok(listed) = block_on(store.list(&checkpointer_core::Scope::All)) {
        assert!(listed.is_empty());
    }
}

#[test]
fn an_unreachable_endpoint_fails_fast_then_at_once() {
    let (_, container) = server();
    // Nothing listens on port 9 of loopback.
    let store = S3Store::open_with(
        &format!("az://{container}/unreachable"),
        explicit("http://127.0.0.1:9", KEY),
    )
    .unwrap();
    let t = Instant::now();
    assert!(block_on(store.load(&key("down", 0))).is_err());
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "first failure took {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let err = block_on(store.store(&key("down", 1), entry(b""))).unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "during the cool-down calls fail at once ({:?})",
        t.elapsed()
    );
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn leases_serialize_writers_and_release_on_drop() {
    let (_, container) = server();
    let prefix = unique("lease");
    let open = || {
        let mut o = S3Options::default();
        o.lease_ttl = Duration::from_secs(3);
        S3Store::open_with(&format!("az://{container}/{prefix}"), o).unwrap()
    };
    // Two store instances: two owners, as two processes would be.
    let (a, b) = (open(), open());
    support::renewed_lease_excludes_until_released(a, b, key("lease", 0));
}

#[test]
fn concurrent_lockers_of_one_key_hold_the_lease_one_at_a_time() {
    let (_, container) = server();
    let prefix = unique("lockers");
    let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let store = S3Store::open(&format!("az://{container}/{prefix}")).unwrap();
            let (inside, most) = (inside.clone(), most.clone());
            std::thread::spawn(move || {
                let k = key("lockers", 0);
                for _ in 0..3 {
                    let lock = block_on(store.lock(&k)).unwrap().expect("a lease");
                    let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    drop(lock);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
}
