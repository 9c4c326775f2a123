//! A large fs-store cache made fast: entry files written straight in the store's documented
//! layout (`Key::relative_path`, envelope header then payload), without the per-entry fsync
//! of `FsStore::store`, which would make 100 000 entries take minutes. Shared by
//! `tests/fs_maintenance.rs` and `benches/maintenance.rs`.
#![allow(dead_code)]

use checkpointer::backend::{Codec, Entry, FnPath, Key};
use checkpointer::Digest;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What [`build`] made.
pub struct Fixture {
    /// The functions, each with every identity.
    pub functions: Vec<Arc<FnPath>>,
    /// Identity versions, oldest first (the last is each function's current one).
    pub identities: Vec<Digest>,
    /// Entries per function and identity.
    pub per_version: usize,
    /// All entries.
    pub entries: u64,
    /// All stored bytes.
    pub bytes: u64,
}

impl Fixture {
    /// The key of entry `j` of function `f`, identity `v`.
    pub fn key(&self, f: usize, v: usize, j: usize) -> Key {
        Key {
            function: self.functions[f].clone(),
            identity: self.identities[v],
            call: Digest::of_bytes(
                &[f as u64, v as u64, j as u64]
                    .map(u64::to_le_bytes)
                    .concat(),
            ),
        }
    }
}

/// When identity `v` of the fixture was created: version `v` is `v` days after the oldest,
/// the newest is a day old.
pub fn created(versions: usize, v: usize, j: usize) -> SystemTime {
    let day = Duration::from_secs(86_400);
    SystemTime::now() - day * (versions - v) as u32 + Duration::from_secs(j as u64 % 3600)
}

/// When entry `j` of version `v` was last used: spread over the hours after its creation,
/// in an order unrelated to `j`.
pub fn last_use(versions: usize, v: usize, j: usize) -> SystemTime {
    created(versions, v, j) + Duration::from_secs((j as u64 * 7919) % 20_000)
}

/// Writes `functions × versions × per_version` entries below `root`.
pub fn build(root: &Path, functions: usize, versions: usize, per_version: usize) -> Fixture {
    let mut fx = Fixture {
        functions: (0..functions)
            .map(|f| {
                Arc::new(FnPath::from_module_path(
                    "bench::maintenance",
                    &format!("f{f}"),
                ))
            })
            .collect(),
        identities: (0..versions)
            .map(|v| Digest::of_bytes(format!("identity {v}").as_bytes()))
            .collect(),
        per_version,
        entries: 0,
        bytes: 0,
    };
    let mut made = std::collections::HashSet::new();
    for f in 0..functions {
        for v in 0..versions {
            for j in 0..per_version {
                let key = fx.key(f, v, j);
                let path = root.join(key.relative_path());
                let dir = path.parent().unwrap();
                if made.insert(dir.to_path_buf()) {
                    std::fs::create_dir_all(dir).unwrap();
                }
                let payload = vec![(j % 251) as u8; 32 + j % 64];
                let entry =
                    Entry::with_created(Codec::Cbor, payload.into(), created(versions, v, j));
                let mut file = std::fs::File::create(&path).unwrap();
                file.write_all(&entry.envelope_header()).unwrap();
                file.write_all(&entry.payload).unwrap();
                file.set_modified(last_use(versions, v, j)).unwrap();
                fx.entries += 1;
                fx.bytes += 72 + entry.payload.len() as u64;
            }
        }
    }
    fx
}
