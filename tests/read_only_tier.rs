//! Read-only (`ro:`) tiers: hits are read and promoted into the writable tiers above, and the
//! read-only tier is never written, locked or deleted from — by calls or by maintenance.

mod common;

use checkpointer::{checkpoint, Checkpointer};
use common::{all_files, child_command, is_child, Child};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

/// The storage spec comes from the parent, so one function is both producer and consumer.
static SPEC: LazyLock<Checkpointer> = LazyLock::new(|| {
    Checkpointer::new().storage_spec(std::env::var("RO_TEST_SPEC").unwrap_or("fs".into()))
});

#[checkpoint(using = SPEC)]
fn shared(x: u64) -> u64 {
    println!("\nBODY {x}");
    x * 10
}

/// Every file below `dir` with its length and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    all_files(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::symlink_metadata(&p).unwrap();
            (p, (m.len(), m.modified().unwrap()))
        })
        .collect()
}

#[test]
fn child_produce() {
    if !is_child("child_produce") {
        return;
    }
    assert_eq!(shared(1), 10);
}

/// With `memory,ro:fs`: the fs entry is loaded and promoted into memory, a miss is stored in
/// memory only, and nothing below the fs directory changes.
#[test]
fn child_consume() {
    if !is_child("child_consume") {
        return;
    }
    let dir = PathBuf::from(std::env::var_os("CHECKPOINTER_DIR").unwrap());
    let before = snapshot(&dir);
    assert_eq!(shared(1), 10); // from ro:fs
    assert_eq!(shared(2), 20); // computed: memory only
    assert_eq!(shared(2), 20); // memory
    assert_eq!(snapshot(&dir), before, "the read-only tier changed");
    // A store through the read-only tier alone is refused, naming it.
    let ro = checkpointer::config::open_spec(
        "ro:fs",
        &checkpointer::config::Settings {
            directory: dir.clone(),
        },
        checkpointer::backend::open_tier,
    )
    .unwrap();
    let key = checkpointer::backend::block_on(ro.list(&checkpointer::backend::Scope::All)).unwrap()
        [0]
    .key
    .clone();
    let refused = checkpointer::backend::block_on(ro.store(
        &key,
        checkpointer::backend::Entry::new(checkpointer::backend::Codec::Cbor, vec![0x0a].into()),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("ro:fs") && refused.contains("read-only"),
        "{refused}"
    );
    // The value was promoted: with the read-only copy gone, memory still answers.
    for f in all_files(&dir) {
        std::fs::remove_file(f).unwrap();
    }
    assert_eq!(shared(1), 10);
    // A delete through the stack leaves the read-only tier alone (and does not fail).
    shared::delete(1).unwrap();
    println!("\nCONSUMED");
}

fn run(test: &str, dir: &Path, spec: &str) -> Child {
    let c = Child::from(
        child_command(test, dir, &[("RO_TEST_SPEC", spec)])
            .output()
            .expect("spawn child"),
    );
    c.assert_ok();
    c
}

#[test]
fn a_read_only_fs_tier_is_read_and_promoted_from_but_never_written() {
    let cache = tempfile::tempdir().unwrap();
    let produced = run("child_produce", cache.path(), "fs");
    assert_eq!(produced.count("BODY 1"), 1);
    let before = snapshot(cache.path());
    assert!(!before.is_empty());
    let c = run("child_consume", cache.path(), "memory,ro:fs");
    assert_eq!(c.count("CONSUMED"), 1);
    assert_eq!(c.count("BODY 1"), 0, "the read-only hit was not used");
    assert_eq!(c.count("BODY 2"), 1);
    // Skipping the read-only tier is by design, not a failure to warn about.
    assert!(!c.stderr.contains("failed"), "{}", c.stderr);
}

#[test]
fn maintenance_refuses_to_modify_a_read_only_tier() {
    let cache = tempfile::tempdir().unwrap();
    run("child_produce", cache.path(), "fs");
    let before = snapshot(cache.path());
    let ro = checkpointer::config::open_spec(
        "ro:fs",
        &checkpointer::config::Settings {
            directory: cache.path().to_path_buf(),
        },
        checkpointer::backend::open_tier,
    )
    .unwrap();
    let err = checkpointer::backend::block_on(checkpointer::maintenance::clear(
        &*ro,
        &checkpointer::backend::Scope::All,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("ro:fs") && err.contains("read-only"), "{err}");
    assert_eq!(snapshot(cache.path()), before);
    // Stats (a read) still work.
    let listed =
        checkpointer::backend::block_on(ro.list(&checkpointer::backend::Scope::All)).unwrap();
    assert!(!listed.is_empty());
}

#[test]
fn bad_read_only_specs_are_refused() {
    let settings = checkpointer::config::Settings {
        directory: std::env::temp_dir(),
    };
    for spec in ["ro:", "memory,ro:", "ro:ro:fs", "ro:nonsense"] {
        let err =
            checkpointer::config::open_spec(spec, &settings, checkpointer::backend::open_tier)
                .map(|_| ())
                .unwrap_err()
                .to_string();
        assert!(err.contains("spec"), "{spec}: {err}");
    }
}
