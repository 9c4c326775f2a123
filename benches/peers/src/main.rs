//! The Rust side of `benches/peers/run`: our `#[checkpoint]` and the `cached` crate, one
//! workload group per invocation (`peers hit|miss|hash|big|many`), one JSON object per line
//! on stdout (`python/table.py` reads them; the Python side prints the same shape).
//!
//! Ours runs through the public API only: `#[checkpoint]` with the storage specs `"memory"`,
//! `"fs"` and `"mmap"`, the fs directory from `CHECKPOINTER_DIR` (set by `run` to a temp dir).
//! `cached`'s disk store goes to `$PEERS_TMP/cached`. Every function body counts its
//! executions, so a "hit" that computed is caught, not timed.

use cached::proc_macro::{cached, io_cached};
use checkpointer::{checkpoint, Array};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

mod measure;
use measure::{batches, Stats};

/// 256 MiB of `f32`: the array of workloads 3 and 4, the same bytes as the Python side's
/// `np.arange(n, dtype=np.uint32).astype(np.float32)`.
const BIG_LEN: usize = 64 << 20;
/// Workload 5's entry count.
const MANY: u64 = 10_000;

static COMPUTED: AtomicU64 = AtomicU64::new(0);

fn computed() -> u64 {
    COMPUTED.load(Ordering::Relaxed)
}

fn square(x: u64) -> u64 {
    COMPUTED.fetch_add(1, Ordering::Relaxed);
    x.wrapping_mul(x)
}

fn ramp(n: usize) -> Vec<f32> {
    COMPUTED.fetch_add(1, Ordering::Relaxed);
    (0..n as u32).map(|i| i as f32).collect()
}

/// Where `cached`'s `DiskCache` (sled) keeps its databases: one per function.
fn disk_dir() -> PathBuf {
    let base = std::env::var_os("PEERS_TMP").expect("PEERS_TMP: set by benches/peers/run");
    PathBuf::from(base).join("cached")
}

// ---- ours ----------------------------------------------------------------------------

#[checkpoint(storage = "memory", verbosity = 0)]
fn ours_hit_mem(x: u64) -> u64 {
    square(x)
}

#[checkpoint(storage = "fs", verbosity = 0)]
fn ours_hit_fs(x: u64) -> u64 {
    square(x)
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn ours_miss_mem(x: u64) -> u64 {
    square(x)
}

#[checkpoint(storage = "fs", verbosity = 0)]
fn ours_miss_fs(x: u64) -> u64 {
    square(x)
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn ours_hash(v: &[f32]) -> u64 {
    square(v.len() as u64)
}

#[checkpoint(storage = "fs", verbosity = 0)]
fn ours_big_fs(n: usize) -> Array<f32> {
    Array::from_vec(ramp(n))
}

#[checkpoint(storage = "mmap", verbosity = 0)]
fn ours_big_mmap(n: usize) -> Array<f32> {
    Array::from_vec(ramp(n))
}

#[checkpoint(storage = "fs", verbosity = 0)]
fn ours_many(x: u64) -> u64 {
    square(x)
}

// ---- the cached crate ----------------------------------------------------------------

#[cached]
fn cached_hit_mem(x: u64) -> u64 {
    square(x)
}

#[cached]
fn cached_miss_mem(x: u64) -> u64 {
    square(x)
}

#[io_cached(
    disk = true,
    create = r##"{ cached::DiskCache::new("hit").set_disk_directory(crate::disk_dir()).build().expect("DiskCache") }"##,
    map_error = r##"|e| format!("{e:?}")"##
)]
fn cached_hit_disk(x: u64) -> Result<u64, String> {
    Ok(square(x))
}

#[io_cached(
    disk = true,
    create = r##"{ cached::DiskCache::new("miss").set_disk_directory(crate::disk_dir()).build().expect("DiskCache") }"##,
    map_error = r##"|e| format!("{e:?}")"##
)]
fn cached_miss_disk(x: u64) -> Result<u64, String> {
    Ok(square(x))
}

#[io_cached(
    disk = true,
    create = r##"{ cached::DiskCache::new("many").set_disk_directory(crate::disk_dir()).build().expect("DiskCache") }"##,
    map_error = r##"|e| format!("{e:?}")"##
)]
fn cached_many(x: u64) -> Result<u64, String> {
    Ok(square(x))
}

#[io_cached(
    disk = true,
    create = r##"{ cached::DiskCache::new("big").set_disk_directory(crate::disk_dir()).build().expect("DiskCache") }"##,
    map_error = r##"|e| format!("{e:?}")"##
)]
fn cached_big_disk(n: usize) -> Result<Vec<f32>, String> {
    Ok(ramp(n))
}

// `#[cached]` wants an owned key of a `Hash` type: `f32` is not `Hash`, and an owned 256 MiB
// key would be a copy per call. What a Rust user writes instead is a map keyed by the bits,
// looked up by borrowed slice: `cached`'s own `UnboundCache`, hashed and compared in full.
static CACHED_HASH: std::sync::LazyLock<std::sync::Mutex<cached::UnboundCache<Vec<u32>, u64>>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(cached::UnboundCache::new()));

fn cached_hash(bits: &[u32]) -> u64 {
    use cached::Cached;
    let mut cache = CACHED_HASH.lock().expect("lock");
    if let Some(v) = cache.cache_get(bits) {
        return *v;
    }
    let v = square(bits.len() as u64);
    cache.cache_set(bits.to_vec(), v);
    v
}

// ---- output ----------------------------------------------------------------------------

fn emit(w: &str, sys: &str, s: &Stats) {
    println!(
        "{{\"w\":\"{w}\",\"sys\":\"{sys}\",\"median_ns\":{},\"min_ns\":{},\"max_ns\":{},\"reps\":{},\"iters\":{}}}",
        s.median, s.min, s.max, s.reps, s.iters
    );
}

fn na(w: &str, sys: &str, why: &str) {
    println!("{{\"w\":\"{w}\",\"sys\":\"{sys}\",\"na\":\"{why}\"}}");
}

/// Runs `op` as a timed workload after checking, around a warm-up, that it never computes.
fn hits(w: &str, sys: &str, mut op: impl FnMut()) {
    op(); // the first call may compute and store
    let before = computed();
    let s = batches(&mut op);
    assert_eq!(computed(), before, "{w}/{sys}: a timed hit computed");
    emit(w, sys, &s);
}

/// Runs `op` as a timed workload that must compute on every call.
fn misses(w: &str, sys: &str, mut op: impl FnMut()) {
    let before = computed();
    let mut calls = 0u64;
    let s = batches(&mut || {
        calls += 1;
        op()
    });
    assert_eq!(
        computed() - before,
        calls,
        "{w}/{sys}: a timed miss was a hit"
    );
    emit(w, sys, &s);
}

/// A block of `n` keys never used before in this process (nor, as the base is the start
/// time in nanoseconds, by an earlier run on the same directory).
fn fresh_block(n: u64) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos() as u64
    });
    base + NEXT.fetch_add(n, Ordering::Relaxed)
}

fn fresh() -> u64 {
    fresh_block(1)
}

fn main() {
    let group = std::env::args().nth(1).unwrap_or_default();
    match group.as_str() {
        "hit" => {
            hits("hit_mem", "ours", || {
                black_box(ours_hit_mem(black_box(7)));
            });
            hits("hit_mem", "cached", || {
                black_box(cached_hit_mem(black_box(7)));
            });
            hits("hit_disk", "ours", || {
                black_box(ours_hit_fs(black_box(7)));
            });
            hits("hit_disk", "cached", || {
                black_box(cached_hit_disk(black_box(7)).expect("cached disk"));
            });
        }
        "miss" => {
            misses("miss_mem", "ours", || {
                black_box(ours_miss_mem(fresh()));
            });
            misses("miss_mem", "cached", || {
                black_box(cached_miss_mem(fresh()));
            });
            misses("miss_disk", "ours", || {
                black_box(ours_miss_fs(fresh()));
            });
            misses("miss_disk", "cached", || {
                black_box(cached_miss_disk(fresh()).expect("cached disk"));
            });
        }
        "hash" => {
            let v = {
                let v = ramp(BIG_LEN);
                COMPUTED.fetch_sub(1, Ordering::Relaxed);
                v
            };
            hits("hash", "ours", || {
                black_box(ours_hash(black_box(&v)));
            });
            let bits: Vec<u32> = v.iter().map(|f| f.to_bits()).collect();
            drop(v);
            hits("hash", "cached", || {
                black_box(cached_hash(black_box(&bits)));
            });
        }
        "big" => {
            hits("big_disk", "ours", || {
                let a = ours_big_fs(BIG_LEN);
                assert!(a.len() == BIG_LEN && a[12_345] == 12_345.0);
                drop(black_box(a));
            });
            if std::env::var_os("PEERS_SKIP_CACHED_BIG").is_some() {
                na("big_disk", "cached", "skipped: PEERS_SKIP_CACHED_BIG");
            } else {
                hits("big_disk", "cached", || {
                    let a = cached_big_disk(BIG_LEN).expect("cached disk");
                    assert!(a.len() == BIG_LEN && a[12_345] == 12_345.0);
                    drop(black_box(a));
                });
            }
            // The call that computes returns the array it computed; the hits are maps.
            drop(ours_big_mmap(BIG_LEN));
            hits("big_mmap", "ours", || {
                let a = ours_big_mmap(BIG_LEN);
                assert!(a.is_mapped() && a.len() == BIG_LEN);
                drop(black_box(a));
            });
            na("big_mmap", "cached", "no mmap store");
        }
        "many" => {
            many("ours", ours_many);
            many("cached", |x| cached_many(x).expect("cached disk"));
        }
        other => {
            eprintln!("peers: unknown workload group {other:?} (hit|miss|hash|big|many)");
            std::process::exit(2);
        }
    }
}

/// Workload 5: `MANY` distinct entries written, then read back, per repetition (fresh keys
/// each time); one figure for all writes, one for all reads.
fn many(sys: &str, mut f: impl FnMut(u64) -> u64) {
    let reps = measure::reps_many();
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let base = fresh_block(MANY);
        let before = computed();
        let t = Instant::now();
        for i in 0..MANY {
            black_box(f(base + i));
        }
        writes.push(t.elapsed().as_nanos() as f64);
        assert_eq!(computed() - before, MANY, "many/{sys}: a write was a hit");
        let t = Instant::now();
        for i in 0..MANY {
            black_box(f(base + i));
        }
        reads.push(t.elapsed().as_nanos() as f64);
        assert_eq!(computed() - before, MANY, "many/{sys}: a read computed");
    }
    emit("many_write", sys, &Stats::of(writes, 1));
    emit("many_read", sys, &Stats::of(reads, 1));
}
