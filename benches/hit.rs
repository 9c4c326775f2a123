//! Cache-hit cost, each beside its anchor measured in the same run:
//! - memory-store hit vs the `cached` crate's `#[cached]` in-memory hit;
//! - fs-store hit vs a plain `std::fs::read` of the entry file.
//!
//! Run: `cargo bench --bench hit`.

use cached::proc_macro::cached;
use checkpointer::checkpoint;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;

fn bench_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
        .to_path_buf()
}

#[cached]
fn cached_square(x: u64) -> u64 {
    x * x
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn memory_square(x: u64) -> u64 {
    x * x
}

#[checkpoint(directory = bench_dir(), verbosity = 0)]
fn fs_square(x: u64) -> u64 {
    x * x
}

fn hits(c: &mut Criterion) {
    let mut g = c.benchmark_group("hit");
    cached_square(7);
    memory_square(7);
    fs_square(7);
    g.bench_function(
        BenchmarkId::new("anchor: cached crate #[cached]", "u64"),
        |b| b.iter(|| cached_square(black_box(7))),
    );
    g.bench_function(BenchmarkId::new("checkpointer memory store", "u64"), |b| {
        b.iter(|| memory_square(black_box(7)))
    });

    // The anchor reads the entry file itself, at its own path (the path's depth is part of
    // what opening it costs).
    let entry = walk(&bench_dir()).expect("fs entry written");
    g.bench_function(
        BenchmarkId::new("anchor: std::fs::read of the entry file", "u64"),
        |b| b.iter(|| std::fs::read(black_box(&entry)).expect("read")),
    );
    g.bench_function(BenchmarkId::new("checkpointer fs store", "u64"), |b| {
        b.iter(|| fs_square(black_box(7)))
    });
    g.finish();
}

fn walk(dir: &std::path::Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = walk(&p) {
                return Some(f);
            }
        } else if !p.to_str()?.contains("-2dmeta") && !p.to_str()?.ends_with(".lock") {
            return Some(p);
        }
    }
    None
}

criterion_group!(benches, hits);
criterion_main!(benches);
