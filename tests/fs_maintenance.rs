//! Stats, prune and cleanup over a cache of 100 000 entries: 2 functions × 5 identity
//! versions × 10 000 calls, on the fs store. Behaviour only; the timings are in
//! `benches/maintenance.rs` and BENCHMARKS.md.

mod common;
#[path = "fs_support/fixture.rs"]
mod fixture;
use checkpointer::backend::{block_on, FsStore, Scope};
use checkpointer::maintenance::{self, PruneRule};
use checkpointer::{checkpoint, Storage};
use common::{is_child, run_child};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

const FUNCTIONS: usize = 2;
const VERSIONS: usize = 5;
const PER_VERSION: usize = 10_000;

/// A tmpfs directory where there is one: the test is about behaviour, and 100 000 creations
/// and deletions on a disk shared with parallel builds can take minutes. The figures in
/// BENCHMARKS.md come from the bench, on a disk.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

#[test]
fn stats_prune_and_cleanup_on_100_000_entries() {
    let dir = scratch_dir();
    let fx = fixture::build(dir.path(), FUNCTIONS, VERSIONS, PER_VERSION);
    assert_eq!(fx.entries, 100_000);
    let store = FsStore::new(dir.path());

    // Leftovers of a dead writer and a dead locker: the first listing sweeps them.
    let some = store.path_of(&fx.key(0, 0, 0));
    let name = some.file_name().unwrap().to_str().unwrap().to_string();
    let temp = some.with_file_name(format!(".{name}.tmp.999999999.00000000000000aa"));
    let lock = some.with_file_name(format!(".{name}.lock"));
    for p in [&temp, &lock] {
        std::fs::write(p, b"x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
    }

    // Store-wide stats: every function, every version; the newest version is current.
    let stats = block_on(maintenance::store_stats(&store, &Scope::All)).unwrap();
    assert_eq!(stats.total.entries, fx.entries);
    assert_eq!(stats.total.bytes, fx.bytes);
    assert_eq!(stats.functions.len(), FUNCTIONS);
    for f in stats.functions.values() {
        assert_eq!(f.versions.len(), VERSIONS);
        assert!(f.versions.values().all(|t| t.entries == PER_VERSION as u64));
        assert_eq!(f.current.entries, PER_VERSION as u64);
        assert_eq!(f.invalidated.entries, ((VERSIONS - 1) * PER_VERSION) as u64);
        assert_eq!(f.current, f.versions[&fx.identities[VERSIONS - 1]]);
    }
    assert!(
        !temp.exists() && !lock.exists(),
        "listing did not sweep leftovers"
    );

    // One function against an identity the program names as current.
    let f0 = block_on(maintenance::fn_stats(
        &store,
        &fx.functions[0],
        fx.identities[2],
    ))
    .unwrap();
    assert_eq!(f0.current.entries, PER_VERSION as u64);
    assert_eq!(
        f0.invalidated.entries,
        ((VERSIONS - 1) * PER_VERSION) as u64
    );

    // Prune by size, least recently used first: what goes was used no later than what stays.
    let newest = Scope::Version(fx.functions[1].clone(), fx.identities[VERSIONS - 1]);
    let before = block_on(store.list(&newest)).unwrap();
    let budget = before.iter().map(|i| i.size).sum::<u64>() / 2;
    let report = block_on(maintenance::prune(
        &store,
        &newest,
        PruneRule {
            max_age: None,
            max_bytes: Some(budget),
        },
    ))
    .unwrap();
    assert!(
        report.kept.bytes <= budget && report.kept.bytes + 200 > budget,
        "{report:?}"
    );
    assert_eq!(
        report.kept.entries + report.removed.entries,
        PER_VERSION as u64
    );
    let after = block_on(store.list(&newest)).unwrap();
    assert_eq!(after.len() as u64, report.kept.entries);
    let oldest_kept = after.iter().map(|i| i.accessed.unwrap()).min().unwrap();
    let kept: std::collections::HashSet<_> = after.iter().map(|i| i.key.call).collect();
    let newest_removed = before
        .iter()
        .filter(|i| !kept.contains(&i.key.call))
        .map(|i| i.accessed.unwrap())
        .max()
        .unwrap();
    assert!(
        newest_removed <= oldest_kept,
        "pruned a more recently used entry"
    );

    // Prune by age: in function 0's newest version, entries last used over 21 hours ago go
    // (last uses there spread over 1 day ago to 17.5 hours ago).
    let scope = Scope::Version(fx.functions[0].clone(), fx.identities[VERSIONS - 1]);
    let age = Duration::from_secs(21 * 3600);
    let report = block_on(maintenance::prune(
        &store,
        &scope,
        PruneRule {
            max_age: Some(age),
            max_bytes: None,
        },
    ))
    .unwrap();
    let now = SystemTime::now();
    let expected_removed = (0..PER_VERSION)
        .filter(|&j| {
            now.duration_since(fixture::last_use(VERSIONS, VERSIONS - 1, j))
                .unwrap()
                > age
        })
        .count();
    // A few entries sit right at the boundary while the test runs.
    assert!(
        report.removed.entries.abs_diff(expected_removed as u64) < 50,
        "{report:?} vs {expected_removed}"
    );
    assert!(
        report.removed.entries > 0 && report.kept.entries > 0,
        "{report:?}"
    );

    // cleanup_all: every function keeps only its newest identity, whose directories stay;
    // the old identities' directories are gone with their entries.
    let left_newest: HashMap<usize, u64> = (0..FUNCTIONS)
        .map(|f| {
            let s = Scope::Version(fx.functions[f].clone(), fx.identities[VERSIONS - 1]);
            (f, block_on(store.list(&s)).unwrap().len() as u64)
        })
        .collect();
    let removed = block_on(maintenance::cleanup_all(&store, true, None)).unwrap();
    assert_eq!(removed, (FUNCTIONS * (VERSIONS - 1) * PER_VERSION) as u64);
    let stats = block_on(maintenance::store_stats(&store, &Scope::All)).unwrap();
    assert_eq!(stats.total.entries, left_newest.values().sum::<u64>());
    for f in 0..FUNCTIONS {
        let id_dir = |v: usize| {
            dir.path()
                .join(Scope::Version(fx.functions[f].clone(), fx.identities[v]).relative_dir())
        };
        assert!(
            (0..VERSIONS - 1).all(|v| !id_dir(v).exists()),
            "old identity directories left"
        );
        assert!(id_dir(VERSIONS - 1).exists());
    }

    // clear: nothing left.
    let cleared = block_on(maintenance::clear(&store, &Scope::All)).unwrap();
    assert_eq!(cleared, stats.total.entries);
    assert!(block_on(store.list(&Scope::All)).unwrap().is_empty());
}

#[checkpoint]
fn item(x: u64) -> Vec<u8> {
    vec![x as u8; 1000]
}

#[test]
fn child_prune_helpers() {
    if !is_child("child_prune_helpers") {
        return;
    }
    for x in 0..10 {
        item(x);
    }
    let h = item::handle();
    assert_eq!(h.stats().unwrap().current.entries, 10);
    // About 1 075 bytes an entry: five fit.
    let r = h
        .prune(PruneRule {
            max_age: None,
            max_bytes: Some(5_500),
        })
        .unwrap();
    println!("\nKEPT={}", r.kept.entries);
    // The whole-store helpers work on the default storage (here CHECKPOINTER_DIR).
    assert_eq!(checkpointer::cleanup_all(true, None).unwrap(), 0);
    let r = checkpointer::prune(PruneRule {
        max_age: None,
        max_bytes: Some(0),
    })
    .unwrap();
    println!("\nREMOVED={}", r.removed.entries);
}

#[test]
fn per_function_prune_and_default_storage_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child("child_prune_helpers", dir.path(), &[]);
    out.assert_ok();
    assert_eq!(out.count("KEPT=5"), 1, "{}", out.stdout);
    assert_eq!(out.count("REMOVED=5"), 1, "{}", out.stdout);
}
