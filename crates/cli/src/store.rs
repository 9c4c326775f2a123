//! Opening the storage the library would use, with the command's flags on top.

use crate::args::Global;
use checkpointer::{Checkpointer, Storage};
use std::sync::Arc;

/// The storage to work on, and a short description of it for messages.
pub fn open(global: &Global) -> Result<(Arc<dyn Storage>, String), checkpointer::CheckpointError> {
    let mut options = Checkpointer::new();
    if let Some(spec) = &global.storage {
        options = options.storage_spec(spec.clone());
    }
    if let Some(dir) = &global.dir {
        options = options.directory(dir.clone());
    }
    let resolved = options.resolve(checkpointer::backend::open_tier)?;
    let what = match resolved.storage.name() {
        "fs" => format!("fs store at {}", resolved.settings.directory.display()),
        name => format!("{name} store"),
    };
    Ok((resolved.storage, what))
}
