//! Maintenance on 100 000 fs-store entries (2 functions × 5 identity versions × 10 000):
//! listing, stats, prune and cleanup_all. Throughput is entries examined per second.
//!
//! `cargo bench --bench maintenance`; the cache lives in the system temp directory (a disk),
//! or in `CHECKPOINTER_BENCH_DIR` when set. Figures are recorded in BENCHMARKS.md.

#[path = "../tests/fs_support/fixture.rs"]
mod fixture;
use checkpointer::backend::{block_on, FsStore, Scope};
use checkpointer::maintenance::{self, PruneRule};
use checkpointer::Storage;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::time::{Duration, Instant};

const FUNCTIONS: usize = 2;
const VERSIONS: usize = 5;
const PER_VERSION: usize = 10_000;

fn scratch() -> tempfile::TempDir {
    match std::env::var_os("CHECKPOINTER_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("bench dir"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

fn maintenance_100k(c: &mut Criterion) {
    let dir = scratch();
    let build = || fixture::build(dir.path(), FUNCTIONS, VERSIONS, PER_VERSION);
    let fx = build();
    let store = FsStore::new(dir.path());

    let mut g = c.benchmark_group("maintenance_100k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(fx.entries));

    g.bench_function("list", |b| {
        b.iter(|| {
            assert_eq!(
                block_on(store.list(&Scope::All)).unwrap().len() as u64,
                fx.entries
            )
        })
    });
    g.bench_function("stats", |b| {
        b.iter(|| {
            let s = block_on(maintenance::store_stats(&store, &Scope::All)).unwrap();
            assert_eq!(s.total.entries, fx.entries);
        })
    });
    // The destructive ones time only the operation; the fixture is written again before each.
    g.bench_function("prune_to_half_size", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                build();
                let start = Instant::now();
                let rule = PruneRule {
                    max_age: None,
                    max_bytes: Some(fx.bytes / 2),
                };
                let r = block_on(maintenance::prune(&store, &Scope::All, rule)).unwrap();
                spent += start.elapsed();
                assert!(r.removed.entries > 0);
            }
            spent
        })
    });
    g.bench_function("cleanup_all_invalidated", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                build();
                let start = Instant::now();
                let removed = block_on(maintenance::cleanup_all(&store, true, None)).unwrap();
                spent += start.elapsed();
                assert_eq!(removed, (FUNCTIONS * (VERSIONS - 1) * PER_VERSION) as u64);
            }
            spent
        })
    });
    g.finish();
}

criterion_group!(benches, maintenance_100k);
criterion_main!(benches);
