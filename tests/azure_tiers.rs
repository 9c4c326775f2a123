//! Azure (`az://`) as a tier, against Azurite (`scripts/azure-server`, started by
//! `scripts/test`; `CHECKPOINTER_TEST_AZURE_CONTAINER` with `AZURE_STORAGE_USE_EMULATOR` and
//! `AZURITE_BLOB_STORAGE_URL`): processes share results through it, hits are promoted into the
//! local tiers, and a read-only `ro:az://` tier is never written. Fails, never skips, without
//! a server.

mod common;
mod s3_support;

use checkpointer::backend::{block_on, Codec, Entry, FnPath, Key};
use checkpointer::backend::{S3Store, Scope};
use checkpointer::config::{open_spec, Settings};
use checkpointer::Storage;
use checkpointer::{checkpoint, maintenance, Digest};
use common::{entry_files, is_child, run_child};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn container() -> String {
    for name in [
        "CHECKPOINTER_TEST_AZURE_ENDPOINT",
        "AZURITE_BLOB_STORAGE_URL",
    ] {
        if std::env::var(name).is_err() {
            panic!("{name} is not set: run the tests through scripts/test, which starts Azurite (scripts/azure-server), or point it at one");
        }
    }
    std::env::var("CHECKPOINTER_TEST_AZURE_CONTAINER")
        .expect("CHECKPOINTER_TEST_AZURE_CONTAINER is set with CHECKPOINTER_TEST_AZURE_ENDPOINT")
}

fn fresh_url(test: &str) -> String {
    format!(
        "az://{}/facade-tests/{test}-{}-{:08x}",
        container(),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    )
}

#[checkpoint(verbosity = 0)]
fn shared_cube(x: u64) -> u64 {
    println!("BODY");
    x * x * x
}

#[test]
fn child_shared_cube() {
    if !is_child("child_shared_cube") {
        return;
    }
    println!("VALUE={}", shared_cube(3));
}

#[test]
fn two_processes_with_separate_local_dirs_share_results_through_azure() {
    let spec = format!("memory,fs,{}", fresh_url("share"));
    let env = [("CHECKPOINTER_STORAGE", spec.as_str())];
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = run_child("child_shared_cube", a.path(), &env);
    first.assert_ok();
    assert_eq!(first.count("BODY"), 1, "{}", first.stdout);
    assert_eq!(first.count("VALUE=27"), 1);
    assert!(!first.stderr.contains("warning"), "{}", first.stderr);

    let second = run_child("child_shared_cube", b.path(), &env);
    second.assert_ok();
    assert_eq!(
        second.count("BODY"),
        0,
        "the second machine recomputed:\n{}\n{}",
        second.stdout,
        second.stderr
    );
    assert_eq!(second.count("VALUE=27"), 1);
    assert!(!second.stderr.contains("warning"), "{}", second.stderr);
    // The hit was promoted into the second process's own fs tier.
    assert_eq!(entry_files(b.path()).len(), 1);
}

#[checkpoint(verbosity = 0)]
fn slow_square(x: u64) -> u64 {
    println!("BODY");
    std::thread::sleep(Duration::from_secs(2));
    x * x
}

#[test]
fn child_race() {
    if !is_child("child_race") {
        return;
    }
    // Start together: say ready, wait for the parent's go.
    s3_support::race_start();
    println!("VALUE={}", slow_square(9));
}

#[test]
fn processes_racing_on_one_key_through_azure_leases_run_the_body_once() {
    let barrier = tempfile::tempdir().unwrap();
    let env = vec![
        (
            "CHECKPOINTER_STORAGE".to_string(),
            format!("fs,{}", fresh_url("race")),
        ),
        (
            "RACE_BARRIER".to_string(),
            barrier.path().to_string_lossy().into_owned(),
        ),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<_> = dirs
        .iter()
        .map(|d| s3_support::spawn_child("child_race", d.path(), &env))
        .collect();
    s3_support::race_go(barrier.path(), dirs.len());
    let mut bodies = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed\n{stdout}\n{stderr}");
        let said = |m: &str| stdout.lines().filter(|l| l.trim_end().ends_with(m)).count();
        assert_eq!(said("VALUE=81"), 1, "{stdout}");
        assert!(!stderr.contains("warning"), "{stderr}");
        bodies += said("BODY");
    }
    assert_eq!(bodies, 1, "the body ran in more than one process");
}

fn key(n: u32) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("azure_ro::m", "f")),
        identity: Digest::of_bytes(b"v1"),
        call: Digest::of_bytes(&n.to_le_bytes()),
    }
}

/// Every object below the store's prefix, with its size and e-tag.
fn objects(store: &S3Store) -> BTreeMap<String, (u64, Option<String>)> {
    use futures_util::TryStreamExt;
    let prefix = object_store::path::Path::from(
        store
            .url()
            .split_once("/facade-tests/")
            .map(|(_, p)| format!("facade-tests/{p}"))
            .unwrap(),
    );
    let list: Vec<_> = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(store.object_store().list(Some(&prefix)).try_collect())
        .unwrap();
    list.into_iter()
        .map(|m| (m.location.to_string(), (m.size, m.e_tag)))
        .collect()
}

#[test]
fn a_read_only_azure_tier_is_promoted_from_and_never_written() {
    let url = fresh_url("ro");
    let writer = S3Store::open(&url).unwrap();
    let planted = Entry::with_created(
        Codec::Cbor,
        b"from CI".to_vec().into(),
        UNIX_EPOCH + Duration::new(1_700_000_000, 5),
    );
    block_on(writer.store(&key(0), planted.clone())).unwrap();
    let before = objects(&writer);
    assert_eq!(before.len(), 1);

    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        directory: dir.path().to_path_buf(),
    };
    let tiers = open_spec(
        &format!("fs,ro:{url}"),
        &settings,
        checkpointer::backend::open_tier,
    )
    .unwrap();
    // A hit from the read-only tier, promoted into fs with its created time.
    let got = block_on(tiers.load(&key(0))).unwrap().expect("a hit");
    assert_eq!(got.payload, planted.payload);
    assert_eq!(entry_files(dir.path()).len(), 1, "promoted into fs");
    // Stores, deletes and locks go to the writable tier only.
    block_on(tiers.store(&key(1), planted.clone())).unwrap();
    block_on(tiers.delete(&key(0))).unwrap();
    drop(block_on(tiers.lock(&key(2))).unwrap());
    assert_eq!(objects(&writer), before, "the read-only tier changed");
    // On its own (as the command opens it), every write is refused with a clear error.
    let ro = open_spec(
        &format!("ro:{url}"),
        &settings,
        checkpointer::backend::open_tier,
    )
    .unwrap();
    let err = block_on(ro.store(&key(3), planted.clone())).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = block_on(maintenance::clear(&*ro, &Scope::All)).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(block_on(ro.list(&Scope::All)).unwrap().len(), 1);
    assert_eq!(objects(&writer), before, "the read-only tier changed");
    assert!(block_on(writer.delete(&key(0))).unwrap());
}
