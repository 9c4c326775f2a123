//! The mmap store in tiers: `"memory,mmap"` through real processes, an array found in a
//! lower (fs) tier promoted into mmap and served from the map, and maintenance over it.

mod common;

use checkpointer::backend::{block_on, Entry, FnPath, FsStore, Key, Layered, MmapStore, Scope};
use checkpointer::maintenance::{self, PruneRule};
use checkpointer::{checkpoint, Array, Digest, Storage};
use common::{entry_files, is_child, run_child};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn values(n: usize) -> Array<f32> {
    Array::from_shape_vec([n, 4], (0..n * 4).map(|i| i as f32).collect()).unwrap()
}

/// No storage option: the spec comes from `CHECKPOINTER_STORAGE`.
#[checkpoint]
fn grid(n: usize) -> Array<f32> {
    println!("\nBODY");
    values(n)
}

#[test]
fn child_grid_twice() {
    if !is_child("child_grid_twice") {
        return;
    }
    for _ in 0..2 {
        let g = grid(1000);
        assert_eq!(g, values(1000));
        println!("\n{}", if g.is_mapped() { "MAPPED" } else { "HEAP" });
    }
}

#[test]
fn memory_over_mmap_serves_maps_in_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("CHECKPOINTER_STORAGE", "memory,mmap")];
    let first = run_child("child_grid_twice", dir.path(), &env);
    first.assert_ok();
    assert_eq!(first.count("BODY"), 1, "{}", first.stdout);
    // Computed in this process: the memory tier holds the computed bytes.
    assert_eq!(first.count("HEAP"), 2, "{}", first.stdout);
    assert_eq!(entry_files(dir.path()).len(), 1);

    let second = run_child("child_grid_twice", dir.path(), &env);
    second.assert_ok();
    assert_eq!(second.count("BODY"), 0, "{}", second.stdout);
    // The mmap hit is promoted into memory as the map itself; the memory hit is that map.
    assert_eq!(
        second.count("MAPPED"),
        2,
        "{}\n{}",
        second.stdout,
        second.stderr
    );
}

fn key(call: &str) -> Key {
    Key {
        function: Arc::new(FnPath::from_module_path("tiers::demo", "grid")),
        identity: Digest::of_bytes(b"v1"),
        call: Digest::of_bytes(call.as_bytes()),
    }
}

#[test]
fn an_array_in_the_fs_tier_is_promoted_into_mmap_and_mapped() {
    let (top, bottom) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mmap: Arc<dyn Storage> = Arc::new(MmapStore::new(top.path().join("c")));
    let fs: Arc<dyn Storage> = Arc::new(FsStore::new(bottom.path().join("c")));
    let created = UNIX_EPOCH + Duration::new(1_700_000_000, 7);
    let array = values(5000);
    let encoded = checkpointer_core_encode(&array);
    let entry = Entry::with_created(encoded.meta.codec, encoded.payload, created);
    block_on(fs.store(&key("a"), entry)).unwrap();
    let other = checkpointer_core_encode(&vec!["not", "an", "array"]);
    block_on(fs.store(&key("b"), other)).unwrap();

    let layered = Layered::new(vec![mmap.clone(), fs.clone()]);
    let hit = block_on(layered.load(&key("a"))).unwrap().unwrap();
    assert_eq!(
        hit.meta.created, created,
        "promotion keeps the created time"
    );
    let back: Array<f32> = checkpointer_core_decode(&hit);
    assert!(back.is_mapped(), "served from the map of the promoted file");
    assert_eq!(back, array);
    let in_mmap = block_on(mmap.load(&key("a"))).unwrap().unwrap();
    assert_eq!(in_mmap.meta, hit.meta);

    // Non-array values are promoted as ordinary entries.
    let hit = block_on(layered.load(&key("b"))).unwrap().unwrap();
    let words: Vec<String> = checkpointer_core_decode(&hit);
    assert_eq!(words, ["not", "an", "array"]);
    assert!(block_on(mmap.exists(&key("b"))).unwrap());
}

#[test]
fn maintenance_lists_prunes_and_clears_the_mmap_store_and_live_maps_survive() {
    let dir = tempfile::tempdir().unwrap();
    let store = MmapStore::new(dir.path().join("c"));
    for i in 0..6 {
        let a = values(1000 + i);
        block_on(store.store(&key(&i.to_string()), checkpointer_core_encode(&a))).unwrap();
    }
    let stats = block_on(maintenance::store_stats(&store, &Scope::All)).unwrap();
    assert_eq!(stats.total.entries, 6);
    assert!(stats.total.bytes > 6 * 16_000);

    let held: Array<f32> =
        checkpointer_core_decode(&block_on(store.load(&key("0"))).unwrap().unwrap());
    assert!(held.is_mapped());
    let rule = PruneRule {
        max_age: None,
        max_bytes: Some(stats.total.bytes / 2),
    };
    let report = block_on(maintenance::prune(&store, &Scope::All, rule)).unwrap();
    assert!(report.removed.entries >= 3, "{report:?}");
    let removed = block_on(maintenance::clear(&store, &Scope::All)).unwrap();
    assert_eq!(removed + report.removed.entries, 6);
    assert!(entry_files(dir.path()).is_empty());
    // The file is gone; the map handed out before keeps its values.
    assert_eq!(held, values(1000));
}

fn checkpointer_core_encode<T: serde::Serialize>(v: &T) -> Entry {
    checkpointer_core::encode(v).unwrap()
}

fn checkpointer_core_decode<T: serde::de::DeserializeOwned>(e: &Entry) -> T {
    checkpointer_core::decode(e).unwrap()
}
