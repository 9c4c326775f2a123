//! Expiry by duration and by predicate, and `when`.

use checkpointer::checkpoint;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

static DURATION_RUNS: AtomicUsize = AtomicUsize::new(0);
static PREDICATE_RUNS: AtomicUsize = AtomicUsize::new(0);
static WHEN_RUNS: AtomicUsize = AtomicUsize::new(0);
static EXPIRE_NOW: AtomicBool = AtomicBool::new(false);
static ENABLED: AtomicBool = AtomicBool::new(true);

#[checkpoint(storage = "memory", expiry = "1s")]
fn short_lived(x: u32) -> u32 {
    DURATION_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

fn expire_now(_created: SystemTime) -> bool {
    EXPIRE_NOW.load(Ordering::SeqCst)
}

#[checkpoint(storage = "memory", expiry = expire_now)]
fn by_predicate(x: u32) -> u32 {
    PREDICATE_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[checkpoint(storage = "memory", when = ENABLED.load(Ordering::SeqCst))]
fn switchable(x: u32) -> u32 {
    WHEN_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn expiry_by_duration() {
    assert_eq!(short_lived(1), 1);
    assert_eq!(short_lived(1), 1);
    assert_eq!(DURATION_RUNS.load(Ordering::SeqCst), 1);
    assert!(short_lived::exists(1).unwrap());
    std::thread::sleep(Duration::from_millis(1100));
    assert!(
        !short_lived::exists(1).unwrap(),
        "expired entries are not valid"
    );
    assert!(short_lived::get(1).is_err());
    assert_eq!(short_lived(1), 1);
    assert_eq!(DURATION_RUNS.load(Ordering::SeqCst), 2);
}

#[test]
fn expiry_by_predicate() {
    assert_eq!(by_predicate(5), 5);
    assert_eq!(by_predicate(5), 5);
    assert_eq!(PREDICATE_RUNS.load(Ordering::SeqCst), 1);
    EXPIRE_NOW.store(true, Ordering::SeqCst);
    assert_eq!(by_predicate(5), 5);
    assert_eq!(PREDICATE_RUNS.load(Ordering::SeqCst), 2);
    EXPIRE_NOW.store(false, Ordering::SeqCst);
    assert_eq!(by_predicate(5), 5);
    assert_eq!(
        PREDICATE_RUNS.load(Ordering::SeqCst),
        2,
        "the fresh entry is valid again"
    );
}

#[test]
fn when_false_runs_the_body_and_stores_nothing() {
    ENABLED.store(false, Ordering::SeqCst);
    assert_eq!(switchable(3), 3);
    assert_eq!(switchable(3), 3);
    assert_eq!(WHEN_RUNS.load(Ordering::SeqCst), 2);
    ENABLED.store(true, Ordering::SeqCst);
    assert_eq!(switchable(3), 3);
    assert_eq!(switchable(3), 3);
    assert_eq!(
        WHEN_RUNS.load(Ordering::SeqCst),
        3,
        "caching resumes when `when` is true"
    );
}
