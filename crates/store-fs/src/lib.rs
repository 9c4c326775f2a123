//! Filesystem store (stub; being implemented).
use checkpointer_core::{async_trait, CheckpointError, Entry, EntryInfo, Key, Scope, Storage};
use std::path::PathBuf;

/// Filesystem store.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// A store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore { root: root.into() }
    }
}

fn err(op: &'static str, e: std::io::Error) -> CheckpointError {
    CheckpointError::storage("fs", op, e)
}

#[async_trait]
impl Storage for FsStore {
    fn name(&self) -> &str {
        "fs"
    }
    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        let path = self.root.join(key.relative_path());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err("store", e))?;
        }
        let tmp = path.with_extension(format!("tmp.{}.{}", std::process::id(), fastrand::u64(..)));
        let mut bytes = entry.envelope_header().to_vec();
        bytes.extend_from_slice(&entry.payload);
        std::fs::write(&tmp, bytes).map_err(|e| err("store", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| err("store", e))
    }
    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        match std::fs::read(self.root.join(key.relative_path())) {
            Ok(b) => Ok(Entry::from_envelope(b.into()).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err("load", e)),
        }
    }
    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        match std::fs::remove_file(self.root.join(key.relative_path())) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(err("delete", e)),
        }
    }
    async fn list(&self, _scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        Ok(Vec::new())
    }
}
