//! S3 as the shared bottom tier, against the test server (`CHECKPOINTER_TEST_S3_ENDPOINT`):
//! processes share results through S3 only; promotion keeps the created time; expiry is judged
//! on it in every tier; delete reaches every tier.

mod common;
mod s3_support;

use checkpointer::backend::{FsStore, Key, Layered};
use checkpointer::{checkpoint, Storage};
use common::{entry_files, is_child, run_child};
use s3_support::{child_env, fresh_url, server, store};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

#[checkpoint(verbosity = 0)]
fn shared_square(x: u64) -> u64 {
    println!("BODY");
    x * x
}

#[test]
fn child_shared_square() {
    if !is_child("child_shared_square") {
        return;
    }
    println!("VALUE={}", shared_square(7));
}

/// Lines ending in `marker` (the test harness may print the test's name before the first one).
fn count(stdout: &str, marker: &str) -> usize {
    stdout
        .lines()
        .filter(|l| l.trim_end().ends_with(marker))
        .count()
}

#[test]
fn two_processes_with_separate_local_dirs_share_results_through_s3() {
    let url = fresh_url("share");
    let mut env: Vec<(String, String)> = child_env();
    env.push(("CHECKPOINTER_STORAGE".into(), format!("memory,fs,{url}")));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let first = run_child("child_shared_square", a.path(), &env);
    first.assert_ok();
    assert_eq!(count(&first.stdout, "BODY"), 1, "{}", first.stdout);
    assert_eq!(count(&first.stdout, "VALUE=49"), 1);

    let second = run_child("child_shared_square", b.path(), &env);
    second.assert_ok();
    assert_eq!(
        count(&second.stdout, "BODY"),
        0,
        "the second machine recomputed:\n{}\n{}",
        second.stdout,
        second.stderr
    );
    assert_eq!(count(&second.stdout, "VALUE=49"), 1);
    assert!(!second.stderr.contains("warning"), "{}", second.stderr);
    // The hit was promoted into the second process's own fs tier.
    assert_eq!(entry_files(b.path()).len(), 1);
}

/// fs over S3, on a fresh prefix and a fresh directory, built once for this test binary.
struct Tiers {
    _dir: tempfile::TempDir,
    fs: Arc<dyn Storage>,
    s3: Arc<dyn Storage>,
    layered: Arc<dyn Storage>,
}

static TIERS: LazyLock<Tiers> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let fs: Arc<dyn Storage> = Arc::new(FsStore::new(dir.path().to_path_buf()));
    let s3: Arc<dyn Storage> = Arc::new(store(&fresh_url("tiers"), &server().0, |_| {}));
    let layered: Arc<dyn Storage> = Arc::new(Layered::new(vec![fs.clone(), s3.clone()]));
    Tiers {
        _dir: dir,
        fs,
        s3,
        layered,
    }
});

/// The arguments the body ran for (tests in this binary run in parallel).
static RAN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn runs(x: u64) -> usize {
    RAN.lock().unwrap().iter().filter(|&&r| r == x).count()
}

#[checkpoint(storage = TIERS.layered.clone(), expiry = "1h", verbosity = 0)]
fn tiered(x: u64) -> u64 {
    RAN.lock().unwrap().push(x);
    x + 1000
}

fn tiered_key(x: u64) -> Key {
    let handle = tiered::handle();
    Key {
        function: handle.path(),
        identity: handle.identity(),
        call: tiered::call_hash(x),
    }
}

fn date(s: &Arc<dyn Storage>, k: &Key) -> Option<SystemTime> {
    checkpointer::backend::block_on(s.checkpoint_date(k)).unwrap()
}

/// An entry holding `value`, created `age` ago, put into S3 alone (as another machine would).
fn plant_in_s3(x: u64, value: u64, age: Duration) -> SystemTime {
    let created = SystemTime::now() - age;
    let e = checkpointer_core::encode(&value).unwrap();
    let e = checkpointer::backend::Entry::with_created(e.meta.codec, e.payload, created);
    checkpointer::backend::block_on(TIERS.s3.store(&tiered_key(x), e)).unwrap();
    created
}

#[test]
fn promotion_keeps_the_created_time_and_expiry_is_judged_on_it() {
    // Computed 30 minutes ago elsewhere: valid under a 1 h expiry. The hit comes from S3
    // (the planted value, not the body's) and is promoted with its original time.
    let created = plant_in_s3(1, 555, Duration::from_secs(30 * 60));
    assert_eq!(tiered(1), 555);
    assert_eq!(runs(1), 0);
    let k = tiered_key(1);
    assert_eq!(
        date(&TIERS.fs, &k),
        Some(created),
        "promotion must keep the created time"
    );

    // Computed 2 hours ago elsewhere: expired in S3, and the promoted copy is just as old, so
    // the fs tier cannot make it look fresh. The body runs and overwrites every tier.
    let old = plant_in_s3(2, 777, Duration::from_secs(2 * 3600));
    assert_eq!(tiered(2), 1002);
    assert_eq!(runs(2), 1);
    let k = tiered_key(2);
    for tier in [&TIERS.fs, &TIERS.s3] {
        let d = date(tier, &k).expect("stored in every tier");
        assert!(
            d > old + Duration::from_secs(3600),
            "the recomputed entry is fresh in every tier"
        );
    }
    assert_eq!(tiered(2), 1002);
    assert_eq!(runs(2), 1);
}

#[test]
fn delete_reaches_every_tier() {
    assert_eq!(tiered(3), 1003);
    let k = tiered_key(3);
    assert!(
        date(&TIERS.fs, &k).is_some() && date(&TIERS.s3, &k).is_some(),
        "stored in both tiers"
    );
    assert!(tiered::delete(3).unwrap());
    assert!(date(&TIERS.fs, &k).is_none(), "still in fs");
    assert!(date(&TIERS.s3, &k).is_none(), "still in S3");
    assert!(!tiered::exists(3).unwrap());
}

/// Storage and verbosity from the environment (`memory,fs,s3://…`, verbosity 2).
#[checkpoint]
fn reported(x: u64) -> Vec<u64> {
    println!("BODY");
    vec![x; 64]
}

#[test]
fn child_reported() {
    if !is_child("child_reported") {
        return;
    }
    assert_eq!(reported(3).len(), 64);
    assert_eq!(reported(3).len(), 64);
    let stats = reported::handle().stats().unwrap();
    let tier_bytes: u64 = stats.tiers.iter().map(|t| t.stored.bytes).sum();
    assert_eq!(tier_bytes, stats.current.bytes + stats.invalidated.bytes);
    assert_eq!(stats.current.entries, 1, "{stats:?}");
    println!("STATS\n{stats}\nEND");
}

/// The `remembered` lines of a child, without the call hash prefix.
fn hit_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("[checkpointer] remembered"))
        .map(|l| l.split(']').next_back().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn hits_from_s3_name_it_and_every_tier_counts_its_bytes() {
    let url = fresh_url("reported");
    let mut env: Vec<(String, String)> = child_env();
    env.push(("CHECKPOINTER_STORAGE".into(), format!("memory,fs,{url}")));
    env.push(("CHECKPOINTER_VERBOSITY".into(), "2".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let first = run_child("child_reported", a.path(), &env);
    first.assert_ok();
    assert_eq!(count(&first.stdout, "BODY"), 1, "{}", first.stdout);
    assert_eq!(
        hit_lines(&first.stderr),
        [" from memory"],
        "{}",
        first.stderr
    );

    // Another machine: its memory and fs are empty, S3 answers and fills both.
    let second = run_child("child_reported", b.path(), &env);
    second.assert_ok();
    assert_eq!(count(&second.stdout, "BODY"), 0, "{}", second.stdout);
    assert_eq!(
        hit_lines(&second.stderr),
        [" from s3, promoted to memory,fs", " from memory"],
        "{}",
        second.stderr
    );
    let stats: Vec<&str> = second
        .stdout
        .lines()
        .skip_while(|l| !l.ends_with("STATS"))
        .skip(1)
        .take_while(|l| *l != "END")
        .collect();
    assert_eq!(stats.len(), 4, "{stats:?}");
    for (line, tier) in stats[1..].iter().zip(["memory", "fs", "s3"]) {
        assert!(
            line.starts_with(&format!("  {tier}: 1 entry, ")),
            "{stats:?}"
        );
    }
}
