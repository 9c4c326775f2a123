//! A read-only (`ro:`) S3 tier against a real server: hits are promoted into the writable
//! tier above it, and the read-only prefix's objects never change — not by stores, promotions,
//! locks, deletes or maintenance.

mod support;
use support::raw;

use checkpointer_core::config::{open_spec, Settings};
use checkpointer_core::{block_on, maintenance, Codec, Digest, Entry, FnPath, Key, Scope, Storage};
use checkpointer_store_s3::{S3Options, S3Store};
use futures_util::TryStreamExt;
use object_store::path::Path;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn server() -> (String, String) {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests through scripts/test, which starts an S3 server, or point it at one")
        })
    };
    (
        get("CHECKPOINTER_TEST_S3_ENDPOINT"),
        get("CHECKPOINTER_TEST_S3_BUCKET"),
    )
}

/// Opens an `s3://` tier on the test server (the `OpenTier` the facade would provide).
fn open(tier: &str, _: &Settings) -> Result<Arc<dyn Storage>, checkpointer_core::CheckpointError> {
    let mut o = S3Options::default();
    o.endpoint = Some(server().0);
    Ok(Arc::new(S3Store::open_with(tier, o).map_err(|e| {
        checkpointer_core::CheckpointError::Spec {
            spec: tier.into(),
            reason: e.to_string(),
        }
    })?))
}

/// Every object below `prefix` of the bucket, with its size and e-tag.
fn objects(store: &S3Store, prefix: &str) -> BTreeMap<String, (u64, Option<String>)> {
    let list: Vec<_> = raw(store
        .object_store()
        .list(Some(&Path::from(prefix)))
        .try_collect())
    .unwrap();
    list.into_iter()
        .map(|m| (m.location.to_string(), (m.size, m.e_tag)))
        .collect()
}

fn key(n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("ro_tests::m", "f")),
        identity: Digest::of_bytes(b"v1"),
        call: Digest::of_bytes(&n.to_le_bytes()),
    }
}

#[test]
fn a_read_only_s3_tier_is_promoted_from_and_never_modified() {
    let (_, bucket) = server();
    let run = format!("ro-tests/{}-{:08x}", std::process::id(), fastrand::u32(..));
    let (shared, local) = (format!("{run}/shared"), format!("{run}/local"));
    let shared_url = format!("s3://{bucket}/{shared}");
    let local_url = format!("s3://{bucket}/{local}");
    let settings = Settings {
        directory: std::env::temp_dir(),
    };

    // CI produces into the shared prefix.
    let producer = open(&shared_url, &settings).unwrap();
    let created = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let produced = Entry::with_created(Codec::Cbor, vec![0x18, 42].into(), created);
    block_on(producer.store(&key(1), produced.clone())).unwrap();
    let probe = S3Store::open_with(&shared_url, {
        let mut o = S3Options::default();
        o.endpoint = Some(server().0);
        o
    })
    .unwrap();
    let before = objects(&probe, &shared);
    assert_eq!(before.len(), 1, "{before:?}");

    // A laptop reads it through `local,ro:shared`.
    let stack = open_spec(&format!("{local_url},ro:{shared_url}"), &settings, open).unwrap();
    let hit = block_on(stack.load(&key(1)))
        .unwrap()
        .expect("a hit from ro");
    assert_eq!(hit.payload, produced.payload);
    // Promoted into the writable tier, with the original created time.
    let local_tier = open(&local_url, &settings).unwrap();
    let promoted = block_on(local_tier.load(&key(1)))
        .unwrap()
        .expect("promoted");
    assert_eq!(promoted.meta.created, created);

    // Every write path the stack has: store, lock, delete, maintenance.
    block_on(stack.store(&key(2), Entry::new(Codec::Cbor, vec![0x02].into()))).unwrap();
    let lock = block_on(stack.lock(&key(3))).unwrap();
    drop(lock);
    block_on(stack.delete(&key(1))).unwrap();
    block_on(maintenance::clear(&*stack, &Scope::All)).unwrap();
    assert_eq!(
        objects(&probe, &shared),
        before,
        "the read-only prefix changed"
    );

    // The read-only tier alone: maintenance refuses with a clear message.
    let ro = open_spec(&format!("ro:{shared_url}"), &settings, open).unwrap();
    let err = block_on(maintenance::clear(&*ro, &Scope::All))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ro:s3") && err.contains("read-only"), "{err}");
    assert_eq!(objects(&probe, &shared), before);
    // Still a source of hits.
    assert!(block_on(ro.load(&key(1))).unwrap().is_some());
}
