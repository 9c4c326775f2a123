//! Workload 6, the `cached` crate: a whole program whose one call is a hit in its disk store
//! (`DiskCache`, sled) under `$PEERS_TMP/cached-cold`. The body reports on stderr when it
//! runs, so the driver can tell a hit from a recompute.
//!
//! `sync_to_disk_on_cache_change`: without it sled flushes on a timer (every 500 ms) and a
//! program that exits sooner never persists its entry — every run would recompute.

use cached::proc_macro::io_cached;

fn dir() -> std::path::PathBuf {
    let base = std::env::var_os("PEERS_TMP").expect("PEERS_TMP: set by benches/peers/run");
    std::path::PathBuf::from(base).join("cached-cold")
}

#[io_cached(
    disk = true,
    create = r##"{ cached::DiskCache::new("cold").set_disk_directory(dir()).set_sync_to_disk_on_cache_change(true).build().expect("DiskCache") }"##,
    map_error = r##"|e| format!("{e:?}")"##
)]
fn square(x: u64) -> Result<u64, String> {
    eprintln!("computed");
    Ok(x * x)
}

fn main() {
    match square(7) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("cached disk store: {e}");
            std::process::exit(1);
        }
    }
}
