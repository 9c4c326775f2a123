//! Opening storage tiers from spec strings, with the backends this build enables.

use checkpointer_core::config::Settings;
use checkpointer_core::{CheckpointError, Storage};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Tiers opened so far in this process, by tier spec and settings.
type OpenTiers = HashMap<(String, Settings), Arc<dyn Storage>>;

/// Opens one tier of a storage spec: `"fs"`, `"memory"`, and those of enabled features.
///
/// Instances are shared per process: every function naming `"memory"` uses one LRU (so its
/// bounds are global), and every function naming `"fs"` with the same directory one store.
pub fn open_tier(tier: &str, settings: &Settings) -> Result<Arc<dyn Storage>, CheckpointError> {
    static OPEN: OnceLock<Mutex<OpenTiers>> = OnceLock::new();
    let key = (tier.to_string(), settings.clone());
    let mut open = OPEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = open.get(&key) {
        return Ok(s.clone());
    }
    let storage = create(tier, settings)?;
    open.insert(key, storage.clone());
    Ok(storage)
}

fn create(tier: &str, settings: &Settings) -> Result<Arc<dyn Storage>, CheckpointError> {
    let unavailable = |feature: &str| CheckpointError::Spec {
        spec: tier.to_string(),
        reason: format!("this build of checkpointer lacks the `{feature}` feature"),
    };
    let _ = (settings, &unavailable);
    match tier {
        "fs" => {
            #[cfg(feature = "fs")]
            return Ok(Arc::new(checkpointer_store_fs::FsStore::new(settings.directory.clone())));
            #[cfg(not(feature = "fs"))]
            return Err(unavailable("fs"));
        }
        "memory" | "mem" => {
            #[cfg(feature = "mem")]
            return Ok(Arc::new(checkpointer_store_mem::MemoryStore::default()));
            #[cfg(not(feature = "mem"))]
            return Err(unavailable("mem"));
        }
        "mmap" => {
            #[cfg(feature = "mmap")]
            return Ok(Arc::new(checkpointer_store_mmap::MmapStore::new(settings.directory.clone())));
            #[cfg(not(feature = "mmap"))]
            return Err(unavailable("mmap"));
        }
        t if t.starts_with("s3://") => {
            #[cfg(feature = "s3")]
            return checkpointer_store_s3::S3Store::open(t)
                .map(|s| Arc::new(s) as Arc<dyn Storage>)
                .map_err(|e| CheckpointError::Spec { spec: t.to_string(), reason: e.to_string() });
            #[cfg(not(feature = "s3"))]
            return Err(unavailable("s3"));
        }
        _ => Err(CheckpointError::Spec {
            spec: tier.to_string(),
            reason: "expected \"fs\", \"memory\", \"mmap\" or an s3:// URL, or tiers of these joined by commas".to_string(),
        }),
    }
}
