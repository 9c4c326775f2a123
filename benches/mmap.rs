//! Large arrays, each figure beside its anchor measured in the same run:
//! - mmap-store hit of a 256 MiB and a 1 GiB `Array<f32>` (target: under 1 ms and flat in
//!   size) vs opening and mapping the same file with memmap2 directly;
//! - fs-store hit of the same 256 MiB array vs `std::fs::read` of its file (target ≥ 4 GiB/s);
//! - `ObjectHash` of a 256 MiB `ndarray` view vs raw blake3 on all cores over the same bytes
//!   (target ≥ 90 %); and of a strided view (every other column), for information.
//!
//! Run: `cargo bench --bench mmap --features ndarray`. Needs ~3 GiB of RAM and disk; set
//! `CHECKPOINTER_BENCH_DIR` to put the files elsewhere than the system temp dir.

use checkpointer::ndarray::{s, Array2};
use checkpointer::{checkpoint, Array, ObjectHash};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const MIB: usize = 1 << 20;

fn bench_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("CHECKPOINTER_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("tempdir"),
        None => tempfile::tempdir().expect("tempdir"),
    })
    .path()
    .to_path_buf()
}

fn mmap_dir() -> PathBuf {
    bench_dir().join("mmap")
}

fn fs_dir() -> PathBuf {
    bench_dir().join("fs")
}

fn ramp(bytes: usize) -> Array<f32> {
    Array::from_vec((0..bytes / 4).map(|i| i as f32).collect())
}

#[checkpoint(storage = "mmap", directory = mmap_dir(), verbosity = 0)]
fn big(bytes: usize) -> Array<f32> {
    ramp(bytes)
}

#[checkpoint(storage = "fs", directory = fs_dir(), verbosity = 0)]
fn big_fs(bytes: usize) -> Array<f32> {
    ramp(bytes)
}

/// The one entry file below `dir`.
fn entry_file(dir: &Path) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                return p;
            }
        }
    }
    panic!("no entry below {}", dir.display())
}

fn mmap_hits(c: &mut Criterion) {
    let mut g = c.benchmark_group("mmap hit");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    for size in [256 * MIB, 1024 * MIB] {
        let label = format!("{} MiB Array<f32>", size / MIB);
        assert_eq!(big(size).len(), size / 4); // computed and stored
        let hit = big(size);
        assert!(hit.is_mapped(), "a hit is a map");
        drop(hit);
        let file = entry_file(&mmap_dir());
        g.bench_function(BenchmarkId::new("checkpointer mmap store", &label), |b| {
            b.iter(|| {
                let a = big(black_box(size));
                black_box(a[a.len() / 2])
            })
        });
        g.bench_function(
            BenchmarkId::new("anchor: open + memmap2::Mmap::map", &label),
            |b| {
                b.iter(|| {
                    let f = std::fs::File::open(black_box(&file)).expect("open");
                    // SAFETY: a benchmark's private file, not modified while mapped.
                    let m = unsafe { memmap2::Mmap::map(&f) }.expect("map");
                    black_box(m[m.len() / 2])
                })
            },
        );
        // Next size: one entry file at a time keeps `entry_file` unambiguous.
        big::handle().clear().expect("clear");
    }
    g.finish();
}

fn fs_hit(c: &mut Criterion) {
    let size = 256 * MIB;
    let mut g = c.benchmark_group("fs hit 256 MiB");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(size as u64));
    assert_eq!(big_fs(size).len(), size / 4);
    let file = entry_file(&fs_dir());
    g.bench_function("anchor: std::fs::read of the entry file", |b| {
        b.iter(|| std::fs::read(black_box(&file)).expect("read").len())
    });
    g.bench_function("checkpointer fs store, Array<f32>", |b| {
        b.iter(|| big_fs(black_box(size)).len())
    });
    g.finish();
    // The bench's temporary directory outlives the run (a static): leave it empty.
    big_fs::handle().clear().expect("clear");
}

fn hash_views(c: &mut Criterion) {
    let cols = 1024;
    let rows = 256 * MIB / 4 / cols;
    // One row more than the view, so the view starts inside its buffer.
    let base = Array2::from_shape_fn((rows + 1, cols), |(i, j)| (i * cols + j) as f32);
    let view = base.slice(s![1.., ..]);
    let bytes: &[u8] = bytemuck_bytes(view.as_slice().expect("rows of a row-major array"));
    let mut g = c.benchmark_group("hash 256 MiB ndarray view");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("anchor: blake3 update_rayon, all cores", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new();
            h.update_rayon(black_box(bytes));
            h.finalize()
        })
    });
    g.bench_function("ObjectHash of the view", |b| {
        b.iter(|| black_box(&view).digest())
    });
    g.finish();

    let strided = base.slice(s![1.., ..;2]);
    let gathered = strided.to_owned();
    let bytes = bytemuck_bytes(gathered.as_slice().expect("owned"));
    let mut g = c.benchmark_group("hash 128 MiB strided ndarray view (every other column)");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("anchor: blake3 update_rayon over the gathered bytes", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new();
            h.update_rayon(black_box(bytes));
            h.finalize()
        })
    });
    g.bench_function("ObjectHash of the strided view", |b| {
        b.iter(|| black_box(&strided).digest())
    });
    g.finish();
}

fn bytemuck_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and every bit pattern is a valid byte.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

criterion_group!(benches, mmap_hits, fs_hit, hash_views);
criterion_main!(benches);
