//! Large-value throughput of the S3 store beside raw object_store put/get of the same bytes
//! against the same server (issue target: ≥ 90% of raw).
//!
//! Needs a server: `eval "$(scripts/s3-server start /tmp/s3)"`, then
//! `cargo bench -p checkpointer-store-s3 --bench s3_throughput`.

use checkpointer_core::{block_on, Bytes, Codec, Digest, Entry, FnPath, Key, Storage};
use checkpointer_store_s3::{S3Options, S3Store};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use object_store::{ObjectStoreExt, PutPayload};
use std::sync::Arc;
use std::time::Duration;

fn server() -> (String, String) {
    let get = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: start a server with scripts/s3-server"))
    };
    (
        get("CHECKPOINTER_TEST_S3_ENDPOINT"),
        get("CHECKPOINTER_TEST_S3_BUCKET"),
    )
}

fn throughput(c: &mut Criterion) {
    let (endpoint, bucket) = server();
    let mut o = S3Options::default();
    o.endpoint = Some(endpoint);
    let prefix = format!("bench-{}", std::process::id());
    let store = S3Store::open_with(&format!("s3://{bucket}/{prefix}"), o).unwrap();
    let raw: Arc<dyn object_store::ObjectStore> = store.object_store().clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut g = c.benchmark_group("s3_large_value");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    for mib in [32usize, 128] {
        let len = mib << 20;
        let mut buf = vec![0u8; len];
        blake3::Hasher::new()
            .update(b"bench")
            .finalize_xof()
            .fill(&mut buf);
        let payload = Bytes::from(buf);
        let entry = Entry::new(Codec::RawArray, payload.clone());
        let key = Key {
            function: Arc::new(FnPath::from_module_path("bench", "large")),
            identity: Digest::of_bytes(b"v1"),
            call: Digest::of_bytes(&len.to_le_bytes()),
        };
        let raw_path = object_store::path::Path::from(format!("{prefix}/raw-{mib}"));
        g.throughput(Throughput::Bytes(len as u64));

        g.bench_with_input(BenchmarkId::new("raw_put", mib), &len, |b, _| {
            b.iter(|| {
                rt.block_on(raw.put(&raw_path, PutPayload::from(payload.clone())))
                    .unwrap()
            })
        });
        g.bench_with_input(BenchmarkId::new("store", mib), &len, |b, _| {
            b.iter(|| block_on(store.store(&key, entry.clone())).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("raw_get", mib), &len, |b, _| {
            b.iter(|| {
                let got =
                    rt.block_on(async { raw.get(&raw_path).await.unwrap().bytes().await.unwrap() });
                assert_eq!(got.len(), len);
            })
        });
        g.bench_with_input(BenchmarkId::new("load", mib), &len, |b, _| {
            b.iter(|| {
                let got = block_on(store.load(&key)).unwrap().unwrap();
                assert_eq!(got.payload.len(), len);
            })
        });
        block_on(store.delete(&key)).unwrap();
        rt.block_on(raw.delete(&raw_path)).unwrap();
    }
    g.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
