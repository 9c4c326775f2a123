//! The contract every checkpointer storage backend passes.

use checkpointer_store_sqlite_example::SqliteStore;

#[test]
fn passes_the_conformance_suite_in_memory() {
    checkpointer_core::testing::conformance_blocking(&SqliteStore::in_memory().unwrap());
}

#[test]
fn passes_the_conformance_suite_on_disk_and_keeps_entries_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.sqlite");
    checkpointer_core::testing::conformance_blocking(&SqliteStore::open(&db).unwrap());
    // The suite leaves the store empty; a second store on the same file sees the same rows.
    let again = SqliteStore::open(&db).unwrap();
    let listed = checkpointer_core::block_on(checkpointer_core::Storage::list(
        &again,
        &checkpointer_core::Scope::All,
    ))
    .unwrap();
    assert!(listed.is_empty());
}
