//! Concurrent callers of one new key in one process run the body once.

use checkpointer::checkpoint;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

fn dir() -> std::path::PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

static MEM_RUNS: AtomicUsize = AtomicUsize::new(0);
static FS_RUNS: AtomicUsize = AtomicUsize::new(0);
static ASYNC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(storage = "memory")]
fn slow_mem(x: u64) -> u64 {
    MEM_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    x * 2
}

#[checkpoint(directory = dir())]
fn slow_fs(x: u64) -> u64 {
    FS_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    x * 3
}

#[checkpoint(storage = "memory")]
async fn slow_async(x: u64) -> u64 {
    ASYNC_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    x * 4
}

fn eight_threads(f: fn(u64) -> u64) -> Vec<u64> {
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                f(7)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn eight_threads_one_body_run_memory() {
    assert_eq!(eight_threads(slow_mem), vec![14; 8]);
    assert_eq!(MEM_RUNS.load(Ordering::SeqCst), 1);
}

#[test]
fn eight_threads_one_body_run_fs() {
    assert_eq!(eight_threads(slow_fs), vec![21; 8]);
    assert_eq!(FS_RUNS.load(Ordering::SeqCst), 1);
}

#[test]
fn eight_tasks_one_body_run_async() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let values = rt.block_on(async {
        let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(slow_async(7))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(values, vec![28; 8]);
    assert_eq!(ASYNC_RUNS.load(Ordering::SeqCst), 1);
}

static FAST_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(storage = "memory", verbosity = 0)]
fn fast_mem(x: u64) -> u64 {
    FAST_RUNS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

/// A body that returns at once: callers of one key miss, join and lead in every interleaving
/// (a leader that finished and left between another caller's miss and its join included).
/// Each key's body still runs once.
#[test]
fn racing_callers_of_fast_bodies_run_each_key_once() {
    const KEYS: u64 = 50_000;
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                for k in 0..KEYS {
                    // Two threads walk up, two walk down: they meet on every key.
                    let k = if t % 2 == 0 { k } else { KEYS - 1 - k };
                    assert_eq!(fast_mem(1_000_000 + k), 1_000_001 + k);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(FAST_RUNS.load(Ordering::SeqCst) as u64, KEYS);
}
