//! Soak (issue 9): several real processes, each with several threads, call one cached function
//! over random keys — plain calls, `rerun`, `delete`, `get`, `exists`, `set` — through a small
//! memory LRU over the fs tier (and over S3 when the suite's server is configured and the `s3`
//! feature is on), while the parent SIGKILLs random children at random instants and starts new
//! ones. Every value any call returns is checked against a recomputation; a child that sees a
//! wrong value, a damaged entry or a panic fails; a child that stops making progress (a hang)
//! fails; at the end every entry file must be complete and every stored value right.
//!
//! Length: `CHECKPOINTER_SOAK_SECS` (default 4; try 600 by hand), processes
//! `CHECKPOINTER_SOAK_PROCS` (default 3), threads per process `CHECKPOINTER_SOAK_THREADS`
//! (default 3), seed `CHECKPOINTER_SOAK_SEED` (default: from the clock, printed).

mod common;

use checkpointer::backend::{Entry, Layered};
use checkpointer::{checkpoint, CheckpointError, Storage};
use checkpointer_store_fs::FsStore;
use checkpointer_store_mem::{MemoryLimits, MemoryStore};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEYS: u64 = 48;
const CHILD: &str = "soak_child";
const DIR_VAR: &str = "CHECKPOINTER_SOAK_DIR";
const S3_VAR: &str = "CHECKPOINTER_SOAK_S3";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The tiers every process stacks: a memory LRU small enough to evict all the time, the fs
/// store in the run's directory, and the run's S3 prefix when there is one.
fn tiers() -> Layered {
    let dir = std::env::var_os(DIR_VAR).expect("the soak directory");
    #[cfg_attr(not(feature = "s3"), allow(unused_mut))]
    let mut tiers: Vec<Arc<dyn Storage>> = vec![
        Arc::new(MemoryStore::new(MemoryLimits {
            max_bytes: 6 << 10,
            max_entries: 12,
        })),
        Arc::new(FsStore::new(PathBuf::from(dir))),
    ];
    #[cfg(feature = "s3")]
    if let Ok(url) = std::env::var(S3_VAR) {
        let mut o = checkpointer::backend::S3Options::default();
        o.endpoint = std::env::var("CHECKPOINTER_TEST_S3_ENDPOINT").ok();
        // Killed holders leave leases behind: short ones keep the run short.
        o.lease_ttl = Duration::from_secs(3);
        tiers.push(Arc::new(
            checkpointer::backend::S3Store::open_with(&url, o).expect("open the soak S3 prefix"),
        ));
    }
    Layered::new(tiers)
}

/// What every key's value must be: sizes vary (1 to 240 words), so the LRU evicts by bytes.
fn expected(k: u64) -> Vec<u64> {
    let len = (k.wrapping_mul(7919) % 240 + 1) as usize;
    (0..len as u64)
        .map(|i| {
            let mut x =
                k.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x ^= x >> 31;
            x
        })
        .collect()
}

#[checkpoint(storage = tiers(), verbosity = 1)]
fn soak_value(k: u64) -> Vec<u64> {
    // A little work, so calls overlap and kills land mid-computation.
    std::thread::sleep(Duration::from_micros(200 + k % 7 * 150));
    expected(k)
}

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One child process: threads doing random operations until the deadline the parent gave.
#[test]
fn soak_child() {
    if !common::is_child(CHILD) {
        return;
    }
    let secs = env_num("CHECKPOINTER_SOAK_CHILD_SECS", 2);
    let seed = env_num("CHECKPOINTER_SOAK_SEED", 1) ^ u64::from(std::process::id()) << 20;
    let threads = env_num("CHECKPOINTER_SOAK_THREADS", 3);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = Rng(seed.wrapping_add(t * 0x9e37_79b9) | 1);
                let mut ops = 0u64;
                while Instant::now() < deadline {
                    let k = rng.below(KEYS);
                    let want = expected(k);
                    match rng.below(20) {
                        0 => assert_eq!(soak_value::rerun(k), want, "rerun({k})"),
                        1 => {
                            soak_value::delete(k).expect("delete");
                        }
                        2 => match soak_value::get(k) {
                            Ok(v) => assert_eq!(v, want, "get({k})"),
                            Err(CheckpointError::NotCached { .. }) => {}
                            Err(e) => panic!("get({k}): {e}"),
                        },
                        3 => {
                            soak_value::exists(k).expect("exists");
                        }
                        4 => soak_value::set(want.clone(), k).expect("set"),
                        _ => assert_eq!(soak_value(k), want, "call({k})"),
                    }
                    ops += 1;
                }
                ops
            })
        })
        .collect();
    let ops: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!("soak child {} did {ops} operations", std::process::id());
}

fn spawn(dir: &Path, log: &Path, secs: u64, seed: u64, s3: Option<&str>) -> Child {
    let mut cmd = common::child_command(CHILD, dir, &[]);
    cmd.env(DIR_VAR, dir)
        .env("CHECKPOINTER_SOAK_CHILD_SECS", secs.to_string())
        .env("CHECKPOINTER_SOAK_SEED", seed.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(url) = s3 {
        cmd.env(S3_VAR, url);
    }
    cmd.spawn().expect("spawn a soak child")
}

#[test]
fn soak_processes_threads_and_sigkills() {
    if common::is_child(CHILD) {
        return;
    }
    let secs = env_num("CHECKPOINTER_SOAK_SECS", 4);
    let procs = env_num("CHECKPOINTER_SOAK_PROCS", 3) as usize;
    let seed = env_num(
        "CHECKPOINTER_SOAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    println!("soak: {secs} s, {procs} processes, seed {seed}");
    let cache = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let s3 = s3_prefix();
    std::env::set_var(DIR_VAR, cache.path());
    if let Some(url) = &s3 {
        std::env::set_var(S3_VAR, url);
    }
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut children: Vec<(Child, PathBuf, Instant)> = Vec::new();
    let (mut started, mut killed, mut n) = (0u64, 0u64, 0u64);
    let child_secs = 2;
    loop {
        let now = Instant::now();
        // Reap the finished: each must have succeeded.
        let mut i = 0;
        while i < children.len() {
            let (child, log, since) = &mut children[i];
            if let Some(status) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&*log).unwrap_or_default();
                assert!(status.success(), "a soak child failed ({status}):\n{text}");
                check_log(&text);
                children.swap_remove(i);
            } else if since.elapsed() > Duration::from_secs(child_secs + 60) {
                let _ = child.kill();
                let text = std::fs::read_to_string(&*log).unwrap_or_default();
                panic!(
                    "a soak child hung (no exit {child_secs} s past its deadline + 60 s):\n{text}"
                );
            } else {
                i += 1;
            }
        }
        if now >= deadline && children.is_empty() {
            break;
        }
        if now < deadline {
            while children.len() < procs {
                n += 1;
                let log = logs.path().join(format!("child-{n}.log"));
                let left = deadline
                    .saturating_duration_since(now)
                    .as_secs()
                    .clamp(1, child_secs);
                children.push((
                    spawn(cache.path(), &log, left, rng.next(), s3.as_deref()),
                    log,
                    Instant::now(),
                ));
                started += 1;
            }
            // SIGKILL a random child at a random instant.
            if rng.below(3) == 0 && !children.is_empty() {
                let victim = rng.below(children.len() as u64) as usize;
                let (mut child, log, _) = children.swap_remove(victim);
                let _ = child.kill();
                let _ = child.wait();
                // What it said before dying must be clean too.
                check_log(&std::fs::read_to_string(&log).unwrap_or_default());
                killed += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20 + rng.below(250)));
    }
    println!("soak: {started} processes started, {killed} killed");

    // Every entry file is complete (a crash leaves entries absent or complete)…
    let mut files = 0;
    for path in common::entry_files(cache.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let entry = Entry::from_envelope(bytes.into())
            .unwrap_or_else(|e| panic!("{} is not a complete entry: {e}", path.display()));
        entry.verify().unwrap();
        files += 1;
    }
    // …and every stored value is the right one, through every tier.
    let mut stored = 0;
    for k in 0..KEYS {
        match soak_value::get(k) {
            Ok(v) => {
                assert_eq!(v, expected(k), "stored value of {k}");
                stored += 1;
            }
            Err(CheckpointError::NotCached { .. }) => {}
            Err(e) => panic!("get({k}): {e}"),
        }
    }
    println!("soak: {files} entry files, {stored} keys stored, all verified");
    assert!(started > killed, "the soak did not run");
}

/// A child's stderr: no damaged entry was ever seen, and nothing panicked.
fn check_log(text: &str) {
    for bad in ["unusable", "corrupt", "panicked", "checksum"] {
        assert!(
            !text.contains(bad),
            "a soak child reported {bad:?}:\n{text}"
        );
    }
}

/// A fresh S3 prefix when the suite's server is configured and this build has `s3`.
fn s3_prefix() -> Option<String> {
    if !cfg!(feature = "s3") {
        return None;
    }
    let bucket = std::env::var("CHECKPOINTER_TEST_S3_BUCKET").ok()?;
    std::env::var("CHECKPOINTER_TEST_S3_ENDPOINT").ok()?;
    Some(format!(
        "s3://{bucket}/soak/{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ))
}
