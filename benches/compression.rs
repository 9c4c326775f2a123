//! zstd compression of entries: ratio and throughput on a large mixed value, and the fixed
//! per-entry cost at small sizes (which sets `compress::THRESHOLD`).
//!
//! `cargo bench --bench compression`; ratios are printed to stderr once per input.

use checkpointer_core::{compress, Codec, Compression, Entry};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

/// Mixed data like a real cached value: blocks of CBOR-ish text records, f32 arrays of
/// smooth measurements, small integers, and incompressible bytes (hashes, embeddings).
fn mixed(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut noise = blake3::Hasher::new().finalize_xof();
    let mut block = 0u64;
    while out.len() < len {
        match block % 4 {
            0 => {
                for i in 0..1000u64 {
                    let row = format!(
                        "{{\"id\":{},\"name\":\"sample-{}\",\"label\":\"{}\"}}",
                        block * 1000 + i,
                        (block * 31 + i * 7) % 5000,
                        ["cat", "dog", "bird", "fish"][(i % 4) as usize]
                    );
                    out.extend_from_slice(row.as_bytes());
                }
            }
            1 => {
                for i in 0..16_384u32 {
                    let v = ((block as f32) * 0.01 + i as f32 * 0.001).sin() * 100.0;
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            2 => {
                for i in 0..16_384u32 {
                    out.extend_from_slice(&(i % 300).to_le_bytes());
                }
            }
            _ => {
                let mut buf = vec![0u8; 32 * 1024];
                noise.fill(&mut buf);
                out.extend_from_slice(&buf);
            }
        }
        block += 1;
    }
    out.truncate(len);
    out
}

fn ratio(name: &str, c: Compression, payload: &[u8]) {
    let e = Entry::new(Codec::Cbor, payload.to_vec().into());
    let packed = c.apply(e).unwrap();
    eprintln!(
        "ratio {name} level {}: {} -> {} bytes ({:.2}x)",
        c.level,
        payload.len(),
        packed.payload.len(),
        payload.len() as f64 / packed.payload.len() as f64
    );
}

fn large(c: &mut Criterion) {
    let payload = mixed(256 << 20);
    let mut g = c.benchmark_group("zstd_256MiB_mixed");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Bytes(payload.len() as u64));
    for level in [1, 3, 9] {
        let z = Compression { level };
        ratio("256MiB", z, &payload);
        let entry = Entry::new(Codec::Cbor, payload.clone().into());
        g.bench_function(BenchmarkId::new("compress", level), |b| {
            b.iter(|| z.apply(entry.clone()).unwrap())
        });
        let packed = z.apply(entry.clone()).unwrap();
        g.bench_function(BenchmarkId::new("decompress", level), |b| {
            b.iter(|| compress::expand(packed.clone()).unwrap())
        });
    }
    // The anchor: what a store hashes anyway (the envelope checksum), same bytes, same run.
    g.bench_function("anchor_blake3_checksum", |b| {
        b.iter(|| blake3::hash(&payload))
    });
    g.finish();
}

fn small(c: &mut Criterion) {
    let mut g = c.benchmark_group("zstd_small_mixed");
    let z = Compression { level: 3 };
    for size in [1024usize, 4096, 16_384, 65_536] {
        let payload = mixed(size);
        // The compressor's own ratio (`apply` stores payloads under the threshold as they are).
        let packed = zstd::bulk::compress(&payload, z.level).unwrap();
        eprintln!(
            "ratio {size}B level {}: {size} -> {} bytes ({:.2}x)",
            z.level,
            packed.len(),
            size as f64 / packed.len() as f64
        );
        // Below the threshold `apply` passes through; bench the compressor itself here.
        let entry = Entry::new(Codec::Cbor, payload.clone().into());
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("compress_and_expand", size), |b| {
            b.iter(|| {
                let packed = zstd::bulk::compress(&entry.payload, 3).unwrap();
                zstd::bulk::decompress(&packed, size).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, small, large);
criterion_main!(benches);
