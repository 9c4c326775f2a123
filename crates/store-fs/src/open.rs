//! Opening an entry's file for a store built on this one (the mmap store maps it).

use crate::{io_err, open_entry, split_rel, FsStore, TOUCH_AFTER};
use checkpointer_core::{CheckpointError, Key};
use std::fs::{File, Metadata};
use std::io;
use std::time::SystemTime;

impl FsStore {
    /// Opens the file of the entry under `key` for reading, with the same checks as `load`
    /// (no symbolic links below the root): `Ok(None)` when there is no file. For stores that
    /// read entries their own way; the file may be damaged — parse it, and fall back to
    /// [`Storage::load`](checkpointer_core::Storage::load) to report damage uniformly.
    pub fn open_entry_file(&self, key: &Key) -> Result<Option<File>, CheckpointError> {
        const OP: &str = "load";
        let rel = key.relative_path();
        if !self.check_dirs(OP, split_rel(&rel).0, false)? {
            return Ok(None);
        }
        let path = self.root().join(&rel);
        match open_entry(&path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(OP, "open", &path)(e).into()),
        }
    }

    /// Records a hit on an open entry file, as `load` does: its modification time (last use,
    /// which `prune` orders by) moves to now when it is more than [`TOUCH_AFTER`] old.
    pub fn note_use(file: &File, meta: &Metadata) {
        let now = SystemTime::now();
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if now.duration_since(modified).unwrap_or_default() > TOUCH_AFTER {
            let _ = file.set_modified(now);
        }
    }
}
