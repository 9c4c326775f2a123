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
        reason: format!(
            "this build of checkpointer lacks the `{feature}` feature (enable it: {})",
            format_args!("checkpointer = {{ version = \"0.1\", features = [\"{feature}\"] }}")
        ),
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
        t if object_store_feature(t).is_some() => {
            let feature = object_store_feature(t).unwrap_or("s3");
            const ENABLED: &[(&str, bool)] = &[
                ("s3", cfg!(feature = "s3")),
                ("gcs", cfg!(feature = "gcs")),
                ("azure", cfg!(feature = "azure")),
            ];
            let enabled = ENABLED.iter().any(|(f, on)| *f == feature && *on);
            if !enabled {
                return Err(unavailable(feature));
            }
            #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
            return checkpointer_store_s3::S3Store::open(t)
                .map(|s| Arc::new(s) as Arc<dyn Storage>)
                .map_err(|e| CheckpointError::Spec { spec: t.to_string(), reason: e.to_string() });
            #[cfg(not(any(feature = "s3", feature = "gcs", feature = "azure")))]
            return Err(unavailable(feature));
        }
        _ => Err(CheckpointError::Spec {
            spec: tier.to_string(),
            reason: "expected \"fs\", \"memory\", \"mmap\" or an object store URL (s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, abfs://container/prefix), or tiers of these joined by commas".to_string(),
        }),
    }
}

/// Object store URL schemes, and the facade feature each needs (all open through
/// `checkpointer-store-s3`, which is built over `object_store`).
pub(crate) const OBJECT_STORE_SCHEMES: &[(&str, &str)] = &[
    ("s3://", "s3"),
    ("gs://", "gcs"),
    ("az://", "azure"),
    ("abfs://", "azure"),
    ("abfss://", "azure"),
];

/// The feature an object store URL needs, or `None` when `tier` is not such a URL.
fn object_store_feature(tier: &str) -> Option<&'static str> {
    OBJECT_STORE_SCHEMES
        .iter()
        .find(|(scheme, _)| tier.starts_with(scheme))
        .map(|(_, feature)| *feature)
}
