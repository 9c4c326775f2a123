//! In-memory store (stub; being implemented).
use checkpointer_core::{async_trait, CheckpointError, Entry, EntryInfo, Key, Scope, Storage};
use std::sync::Mutex;

/// In-memory LRU store.
#[derive(Debug)]
pub struct MemoryStore {
    map: Mutex<std::collections::HashMap<Key, Entry>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { map: Mutex::new(Default::default()) }
    }
}

#[async_trait]
impl Storage for MemoryStore {
    fn name(&self) -> &str {
        "memory"
    }
    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), entry);
        Ok(())
    }
    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        Ok(self.map.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned())
    }
    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        Ok(self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(key).is_some())
    }
    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .iter()
            .filter(|(k, _)| scope.contains(k))
            .map(|(k, e)| EntryInfo { key: k.clone(), size: e.payload.len() as u64, created: Some(e.meta.created), accessed: None })
            .collect())
    }
    fn trusted(&self) -> bool {
        true
    }
}
