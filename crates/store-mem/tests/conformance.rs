use checkpointer_store_mem::MemoryStore;

#[test]
fn memory_store_passes_the_conformance_suite() {
    checkpointer_core::testing::conformance_blocking(&MemoryStore::default());
}
