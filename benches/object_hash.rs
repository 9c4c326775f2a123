//! `ObjectHash` throughput on a 256 MiB `Vec<f32>`, beside raw blake3 on the same bytes
//! (all cores via `update_rayon`, and one core). Run: `cargo bench --bench object_hash`.

use checkpointer::{Hasher, ObjectHash};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn throughput(c: &mut Criterion) {
    let n = 256 << 20 >> 2; // 256 MiB of f32
    let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
    // SAFETY: f32 has no padding; this views the same memory as bytes for the anchors.
    let bytes = unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len() * 4) };
    let mut g = c.benchmark_group("hash 256 MiB Vec<f32>");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("anchor: raw blake3 update_rayon (all cores)", |b| {
        b.iter(|| {
            blake3::Hasher::new()
                .update_rayon(black_box(bytes))
                .finalize()
        })
    });
    g.bench_function("anchor: raw blake3 update (one core)", |b| {
        b.iter(|| blake3::Hasher::new().update(black_box(bytes)).finalize())
    });
    g.bench_function("ObjectHash", |b| {
        b.iter(|| {
            let mut h = Hasher::new();
            black_box(&v).object_hash(&mut h);
            h.finish()
        })
    });
    g.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
