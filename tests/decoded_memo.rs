//! The decoded-value memo of memory hits (`checkpointer_core::decoded`) must never make a hit
//! stale: every way an entry changes — `set`, `rerun`, `delete`, eviction, expiry, another
//! thread's write, a lower tier's promotion — is seen on the very next call, and a caller
//! mutating what it got never changes what the next call returns.

use checkpointer::backend::MemoryStore;
use checkpointer::checkpoint;
use checkpointer_store_mem::MemoryLimits;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

/// Each test has its own function and counter; `VERSION` makes every computation distinct.
static VERSION: AtomicU32 = AtomicU32::new(0);

fn next() -> u32 {
    VERSION.fetch_add(1, Ordering::SeqCst)
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn listed(x: u32) -> Vec<String> {
    vec![format!("{x}"), format!("v{}", next())]
}

#[test]
fn set_rerun_delete_are_seen_at_once() {
    let first = listed(1);
    assert_eq!(listed(1), first, "a hit");
    assert_eq!(listed(1), first, "a remembered hit");

    listed::set(vec!["set".to_string()], 1).unwrap();
    assert_eq!(listed(1), vec!["set".to_string()]);
    assert_eq!(listed(1), vec!["set".to_string()]);

    let rerun = listed::rerun(1);
    assert_ne!(rerun, first);
    assert_eq!(listed(1), rerun);
    assert_eq!(listed(1), rerun);

    assert!(listed::delete(1).unwrap());
    let after = listed(1);
    assert_ne!(after, rerun, "deleted: computed again");
    assert_eq!(listed(1), after);
}

#[test]
fn a_callers_mutation_is_its_own() {
    let mut got = listed(2);
    got.push("mine".into());
    got[0].push('!');
    let again = listed(2);
    assert_eq!(again.len(), 2);
    assert_eq!(again[0], "2");
}

fn tiny() -> MemoryStore {
    MemoryStore::new(MemoryLimits {
        max_bytes: 1 << 20,
        max_entries: 1,
    })
}

static EVICT_RUNS: AtomicU32 = AtomicU32::new(0);

#[checkpoint(storage = tiny(), verbosity = 0)]
fn evicted(x: u32) -> (u32, u32) {
    EVICT_RUNS.fetch_add(1, Ordering::SeqCst);
    (x, next())
}

#[test]
fn an_evicted_entry_is_computed_again() {
    let a = evicted(1);
    assert_eq!(evicted(1), a);
    assert_eq!(evicted(1), a);
    assert_eq!(EVICT_RUNS.load(Ordering::SeqCst), 1);
    evicted(2); // the store holds one entry: 1 is evicted
    let a2 = evicted(1);
    assert_eq!(
        EVICT_RUNS.load(Ordering::SeqCst),
        3,
        "evicted: not served from the memo"
    );
    assert_ne!(a2, a);
}

static EXPIRE: AtomicBool = AtomicBool::new(false);

fn expired(_: std::time::SystemTime) -> bool {
    EXPIRE.load(Ordering::SeqCst)
}

#[checkpoint(storage = "memory", expiry = expired, verbosity = 0)]
fn expiring(x: u32) -> (u32, u32) {
    (x, next())
}

#[test]
fn an_expired_entry_is_computed_again() {
    let a = expiring(1);
    assert_eq!(expiring(1), a);
    assert_eq!(expiring(1), a);
    EXPIRE.store(true, Ordering::SeqCst);
    let b = expiring(1);
    assert_ne!(b, a);
    EXPIRE.store(false, Ordering::SeqCst);
    assert_eq!(expiring(1), b);
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn shared(x: u32) -> (u32, u32) {
    (x, next())
}

#[test]
fn another_threads_write_is_seen() {
    let a = shared(1);
    assert_eq!(shared(1), a);
    std::thread::spawn(|| shared::set((7, 7), 1).unwrap())
        .join()
        .unwrap();
    assert_eq!(shared(1), (7, 7));
    std::thread::spawn(|| assert_eq!(shared(1), (7, 7)))
        .join()
        .unwrap();
}

#[checkpoint(storage = "memory", verbosity = 0)]
async fn fetched(x: u32) -> Vec<u32> {
    vec![x, next()]
}

#[test]
fn async_hits_are_remembered_and_never_stale() {
    let a = checkpointer::backend::block_on(fetched(1));
    assert_eq!(checkpointer::backend::block_on(fetched(1)), a);
    checkpointer::backend::block_on(fetched::set(vec![0], 1)).unwrap();
    assert_eq!(checkpointer::backend::block_on(fetched(1)), vec![0]);
}

/// Cloning and dropping it call a cached function: the memo runs user code while it works.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Loud(u32);

static LOUD_LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

impl Clone for Loud {
    fn clone(&self) -> Self {
        LOUD_LOG.lock().unwrap().push("clone");
        let _ = shared(99);
        Loud(self.0)
    }
}

impl Drop for Loud {
    fn drop(&mut self) {
        let _ = shared(98);
    }
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn loud(x: u32) -> Loud {
    Loud(x)
}

#[test]
fn user_code_in_clone_and_drop_may_call_cached_functions() {
    for round in 0..3 {
        for x in 0..200 {
            assert_eq!(loud(x), Loud(x), "round {round}");
        }
    }
    assert!(!LOUD_LOG.lock().unwrap().is_empty(), "hits were remembered");
}

fn tier_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    dir.path().to_path_buf()
}

#[checkpoint(storage = "memory,fs", directory = tier_dir(), verbosity = 0)]
fn tiered(x: u32) -> (u32, u32) {
    (x, next())
}

#[test]
fn tiers_stay_coherent() {
    let a = tiered(1);
    assert_eq!(tiered(1), a);
    tiered::set((5, 5), 1).unwrap();
    assert_eq!(tiered(1), (5, 5));
    assert!(tiered::delete(1).unwrap());
    assert_ne!(tiered(1), (5, 5));
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn first_of(x: u32) -> (u32, String) {
    (x, "first".into())
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn second_of(x: u32) -> (u32, String) {
    (x, "second".into())
}

#[test]
fn equal_arguments_of_two_functions_never_mix() {
    for _ in 0..3 {
        assert_eq!(first_of(1), (1, "first".to_string()));
        assert_eq!(second_of(1), (1, "second".to_string()));
    }
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn raced(x: u32) -> u64 {
    u64::from(x)
}

/// A writer sets ever larger values while a reader hits the same call: the reader must never
/// see a value older than one whose `set` had returned before its call began.
#[test]
fn a_concurrent_set_is_never_outlived() {
    use std::sync::atomic::AtomicU64;
    static DONE: AtomicU64 = AtomicU64::new(0);
    const ROUNDS: u64 = 20_000;
    raced(1);
    raced::set(0, 1).unwrap();
    let writer = std::thread::spawn(|| {
        for i in 1..=ROUNDS {
            raced::set(i, 1).unwrap();
            DONE.store(i, Ordering::SeqCst);
        }
    });
    let mut seen = 0;
    loop {
        let before = DONE.load(Ordering::SeqCst);
        let v = raced(1);
        assert!(v >= before, "stale: got {v} after set({before}) returned");
        seen += 1;
        if before == ROUNDS {
            break;
        }
    }
    writer.join().unwrap();
    assert!(seen > 0);
    assert_eq!(raced(1), ROUNDS);
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn reinitialized(x: u32) -> (u32, u32) {
    (x, next())
}

#[test]
fn reinit_starts_afresh_but_keeps_the_store() {
    let a = reinitialized(1);
    assert_eq!(reinitialized(1), a);
    reinitialized::handle().reinit();
    // The store is resolved again (a new memory store): computed again, then remembered.
    let b = reinitialized(1);
    assert_eq!(reinitialized(1), b);
    assert!(reinitialized::delete(1).unwrap());
    assert_ne!(reinitialized(1), b);
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn spelled(text: &str) -> (String, u32) {
    (text.to_string(), next())
}

/// The argument table compares whole 16-byte blocks and indexes by the first and last ones:
/// arguments that differ only in the middle, only in length, or only by a trailing zero byte
/// (the padding past the written bytes is zero) must never answer for each other.
#[test]
fn arguments_differing_anywhere_never_answer_for_each_other() {
    let base = "a".repeat(90);
    let mut middle = base.clone().into_bytes();
    middle[45] = b'b';
    let middle = String::from_utf8(middle).unwrap();
    let cases = [
        base.clone(),
        middle,
        "a".repeat(89),
        "a".repeat(91),
        format!("{}\0", "a".repeat(89)),
        format!("{base}\0"),
        String::new(),
        "\0".to_string(),
    ];
    for round in 0..3 {
        for text in &cases {
            let (got, _) = spelled(text);
            assert_eq!(&got, text, "round {round}: another call's value answered");
        }
    }
    // Each was computed once and then remembered.
    let first: Vec<_> = cases.iter().map(|t| spelled(t).1).collect();
    let again: Vec<_> = cases.iter().map(|t| spelled(t).1).collect();
    assert_eq!(first, again);
}
